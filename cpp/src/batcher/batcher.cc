// Batcher: inputs become per-field sources (column_source), wait in a RowPool (in order, or in
// the shuffling buffer), and leave as TrainingBatches assembled field by field (assembly).
#include "petastorm/batcher.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "batcher/assembly_internal.h"
#include "batcher/column_source_internal.h"
#include "batcher/row_pool_internal.h"

namespace petastorm {

using internal::ArraySource;
using internal::Assemble;
using internal::CheckPlan;
using internal::Chunk;
using internal::FieldPlan;
using internal::Selection;
using internal::Source;
using internal::SourceKind;
using internal::StackedSource;
using internal::TensorsSource;

class Batcher::Impl {
 public:
  Impl(std::vector<std::string> names, BatcherOptions options)
      : names_(std::move(names)), options_(options), plans_(names_.size()), collate_(names_.size()),
        rows_(internal::DeriveSeed(options.seed, kShuffleBufferTag)) {
    for (const auto& [name, collate] : options_.collate) {
      const auto f = std::find(names_.begin(), names_.end(), name) - names_.begin();
      collate_[static_cast<size_t>(f)] = collate;
      collate_[static_cast<size_t>(f)]->promote_for_torch = options_.promote_for_torch;
    }
  }

  const std::vector<std::string>& names() const { return names_; }
  const BatcherOptions& options() const { return options_; }
  int64_t rows_held() const { return rows_.pending_rows() + rows_.buffered_rows(); }
  bool finished() const { return finished_; }
  int64_t shuffle_ns() const { return shuffle_ns_; }
  void Finish() { finished_ = true; }

  arrow::Status Add(std::shared_ptr<const DecodedRowGroup> batch) {
    if (finished_) return arrow::Status::Invalid("Batcher: Add after Finish");
    if (!batch || batch->num_rows == 0) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto chunk, ChunkOf(*batch));
    return Enqueue(std::move(chunk));
  }

  arrow::Status AddPlaceholder(int64_t num_rows) {
    if (finished_) return arrow::Status::Invalid("Batcher: AddPlaceholder after Finish");
    if (num_rows < 0) return arrow::Status::Invalid("Batcher: a placeholder of ", num_rows, " rows");
    auto chunk = std::make_shared<Chunk>();
    chunk->num_rows = num_rows;
    chunk->placeholder = true;
    if (num_rows > 0) {
      rows_.Push(chunk);
      ++unfilled_;
    }
    placeholders_.push_back(std::move(chunk));
    return arrow::Status::OK();
  }

  std::vector<int64_t> LivePlaceholders() const {
    std::set<const Chunk*> live;
    rows_.Visit([&](const Chunk* chunk) { if (chunk->placeholder) live.insert(chunk); });
    std::vector<int64_t> out;
    for (size_t i = 0; i < placeholders_.size(); ++i) {
      if (live.count(placeholders_[i].get())) out.push_back(static_cast<int64_t>(i));
    }
    return out;
  }

  std::vector<std::pair<int64_t, std::vector<int64_t>>> HeldPlaceholderRows() const {
    std::map<const Chunk*, int64_t> index;
    for (size_t i = 0; i < placeholders_.size(); ++i) {
      if (placeholders_[i]->placeholder) index.emplace(placeholders_[i].get(), static_cast<int64_t>(i));
    }
    std::map<int64_t, std::vector<int64_t>> held;
    rows_.VisitRows([&](const Chunk* chunk, int64_t row) {
      if (auto it = index.find(chunk); it != index.end()) held[it->second].push_back(row);
    });
    std::vector<std::pair<int64_t, std::vector<int64_t>>> out;
    for (auto& [placeholder, rows] : held) {
      std::sort(rows.begin(), rows.end());
      out.emplace_back(placeholder, std::move(rows));
    }
    return out;
  }

  arrow::Status Fill(int64_t index, std::shared_ptr<const DecodedRowGroup> batch) {
    if (index < 0 || index >= static_cast<int64_t>(placeholders_.size()) ||
        !placeholders_[static_cast<size_t>(index)]->placeholder) {
      return arrow::Status::Invalid("Batcher: no unfilled placeholder ", index);
    }
    Chunk& target = *placeholders_[static_cast<size_t>(index)];
    const int64_t rows = batch ? batch->num_rows : -1;
    if (rows != target.num_rows) {
      return arrow::Status::Invalid("Batcher: placeholder ", index, " stands for ", target.num_rows,
                                    " rows, its input has ", rows, " (the data changed since the state was saved?)");
    }
    ARROW_ASSIGN_OR_RAISE(auto chunk, ChunkOf(*batch));
    ARROW_RETURN_NOT_OK(CheckPlans(*chunk));
    target = std::move(*chunk);  // the rows that refer to the placeholder now see the data
    return arrow::Status::OK();
  }

 private:
  arrow::Result<std::shared_ptr<Chunk>> ChunkOf(const DecodedRowGroup& batch) {
    auto chunk = std::make_shared<Chunk>();
    chunk->num_rows = batch.num_rows;
    chunk->lends_buffers = true;
    for (size_t f = 0; f < names_.size(); ++f) {
      const std::string& name = names_[f];
      const DecodedColumn* column = batch.column(name);
      if (!column) return arrow::Status::Invalid("Batcher: the input has no field '", name, "'");
      const Field& field = *column->field;
      Source source;
      if (field.is_tensor()) {
        if (static_cast<int64_t>(column->tensors.size()) != batch.num_rows) {
          return arrow::Status::Invalid("Batcher: field '", name, "' has ", column->tensors.size(),
                                        " tensors for ", batch.num_rows, " rows");
        }
        ARROW_ASSIGN_OR_RAISE(source, TensorsSource(name, column->tensors, field.dtype));
      } else {
        if (!column->values || column->values->length() != batch.num_rows) {
          return arrow::Status::Invalid("Batcher: field '", name, "' does not have ", batch.num_rows,
                                        " values");
        }
        ARROW_ASSIGN_OR_RAISE(source, ArraySource(name, column->values, field.dtype,
                                                  options_.float_nulls_as_nan, collate_[f].has_value()));
      }
      chunk->sources.push_back(std::move(source));
    }
    return chunk;
  }

 public:
  arrow::Status AddColumns(int64_t num_rows, std::vector<ColumnInput> columns) {
    if (finished_) return arrow::Status::Invalid("Batcher: AddColumns after Finish");
    if (columns.size() != names_.size()) {
      return arrow::Status::Invalid("Batcher: ", columns.size(), " columns for ", names_.size(), " fields");
    }
    if (num_rows == 0) return arrow::Status::OK();
    auto chunk = std::make_shared<Chunk>();
    chunk->num_rows = num_rows;
    for (size_t f = 0; f < columns.size(); ++f) {
      const std::string& name = names_[f];
      ColumnInput& column = columns[f];
      Source source;
      switch (column.kind) {
        case ColumnInput::Kind::kStacked: {
          if (!column.stacked) return arrow::Status::Invalid("Batcher: field '", name, "': no stacked tensor");
          ARROW_ASSIGN_OR_RAISE(source, StackedSource(name, std::move(*column.stacked), num_rows));
          break;
        }
        case ColumnInput::Kind::kArray: {
          if (!column.array || column.array->length() != num_rows) {
            return arrow::Status::Invalid("Batcher: field '", name, "' does not have ", num_rows, " values");
          }
          ARROW_ASSIGN_OR_RAISE(source, ArraySource(name, column.array, std::nullopt,
                                                    options_.float_nulls_as_nan, collate_[f].has_value()));
          break;
        }
        case ColumnInput::Kind::kTensors: {
          if (static_cast<int64_t>(column.tensors.size()) != num_rows) {
            return arrow::Status::Invalid("Batcher: field '", name, "' has ", column.tensors.size(),
                                          " tensors for ", num_rows, " rows");
          }
          ARROW_ASSIGN_OR_RAISE(source, TensorsSource(name, std::move(column.tensors), std::nullopt));
          break;
        }
      }
      chunk->sources.push_back(std::move(source));
    }
    return Enqueue(std::move(chunk));
  }

  // Draws the next batch's rows: false when more input is needed first or, after Finish(),
  // at the end. The draws depend on row counts only (Skip() on placeholders repeats them).
  bool Select(Selection* selection) {
    if (options_.shuffling_queue_capacity > 0) {
      // Petastorm's BatchedRandomShufflingBuffer(capacity - 1 + batch_size, min_after=capacity - 1).
      ShuffleTimer timer(&shuffle_ns_);
      const int64_t threshold = options_.shuffling_queue_capacity - 1 + options_.batch_size;
      rows_.Refill(threshold);
      const int64_t size = rows_.buffered_rows();
      if (size == 0 || (size < threshold && !finished_)) return false;
      const int64_t n = std::min(options_.batch_size, size);
      if (n < options_.batch_size && options_.drop_last) {
        rows_.ClearBuffer();
        return false;
      }
      rows_.Pick(n, selection);
      return true;
    }
    const int64_t pending = rows_.pending_rows();
    if (pending == 0 || (pending < options_.batch_size && !finished_)) return false;
    const int64_t n = std::min(options_.batch_size, pending);
    if (n < options_.batch_size && options_.drop_last) {
      rows_.ClearPending();
      return false;
    }
    rows_.TakeInOrder(n, selection);
    return true;
  }

  arrow::Result<std::unique_ptr<TrainingBatch>> Next() {
    if (unfilled_ > 0) {  // resuming: no batch before the live placeholders are filled
      for (int64_t index : LivePlaceholders()) {
        if (placeholders_[static_cast<size_t>(index)]->placeholder) {
          return arrow::Status::Invalid("Batcher: placeholder ", index, " holds rows and is not filled yet");
        }
      }
      unfilled_ = 0;  // those left unfilled hold no rows, and never will again
    }
    Selection selection;
    if (!Select(&selection)) return nullptr;
    ARROW_ASSIGN_OR_RAISE(auto batch, Assemble(names_, plans_, selection));
    for (size_t f = 0; f < names_.size(); ++f) {
      if (!collate_[f]) continue;
      BatchColumn& column = batch->columns[f];
      ARROW_ASSIGN_OR_RAISE(auto parts, Collate(names_[f], column, *collate_[f]));
      column = BatchColumn{};
      column.kind = BatchColumn::Kind::kCollated;
      column.parts = std::move(parts);
    }
    if (options_.shuffling_queue_capacity > 0) {
      ShuffleTimer timer(&shuffle_ns_);
      internal::RowPool::ReleaseTensors(selection);
    }
    return batch;
  }

  bool Skip() {
    Selection selection;
    if (!Select(&selection)) return false;
    internal::RowPool::ReleaseTensors(selection);
    return true;
  }

 private:
  static constexpr uint64_t kShuffleBufferTag = 101;

  // Adds the time of its scope to a counter (the shuffling buffer's share of the batcher's time).
  class ShuffleTimer {
   public:
    explicit ShuffleTimer(int64_t* ns) : ns_(ns), begin_(std::chrono::steady_clock::now()) {}
    ~ShuffleTimer() {
      *ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin_)
                  .count();
    }
    ShuffleTimer(const ShuffleTimer&) = delete;
    ShuffleTimer& operator=(const ShuffleTimer&) = delete;

   private:
    int64_t* ns_;
    std::chrono::steady_clock::time_point begin_;
  };

  arrow::Status CheckPlans(Chunk& chunk) {
    for (size_t f = 0; f < names_.size(); ++f) {
      Source& source = chunk.sources[f];
      ARROW_RETURN_NOT_OK(CheckPlan(names_[f], source, options_.promote_for_torch, &plans_[f]));
      if (source.kind == SourceKind::kTensors) chunk.has_tensors = true;
    }
    return arrow::Status::OK();
  }

  arrow::Status Enqueue(std::shared_ptr<Chunk> chunk) {
    ARROW_RETURN_NOT_OK(CheckPlans(*chunk));
    rows_.Push(std::move(chunk));
    return arrow::Status::OK();
  }

  const std::vector<std::string> names_;
  const BatcherOptions options_;
  std::vector<FieldPlan> plans_;
  std::vector<std::optional<CollateOptions>> collate_;  // per field
  internal::RowPool rows_;
  bool finished_ = false;
  std::vector<std::shared_ptr<Chunk>> placeholders_;  // every AddPlaceholder() input, in order
  int64_t unfilled_ = 0;  // placeholders with rows added since Next() last found none live
  int64_t shuffle_ns_ = 0;
};

arrow::Result<std::unique_ptr<Batcher>> Batcher::Make(std::vector<std::string> field_names,
                                                      BatcherOptions options) {
  if (options.batch_size <= 0) {
    return arrow::Status::Invalid("batch_size must be positive, got ", options.batch_size);
  }
  if (options.shuffling_queue_capacity < 0) {
    return arrow::Status::Invalid("shuffling_queue_capacity must not be negative, got ",
                                  options.shuffling_queue_capacity);
  }
  if (field_names.empty()) return arrow::Status::Invalid("Batcher: no fields to batch");
  std::set<std::string> seen;
  for (const auto& name : field_names) {
    if (name.empty()) return arrow::Status::Invalid("Batcher: empty field name");
    if (!seen.insert(name).second) return arrow::Status::Invalid("Batcher: field '", name, "' appears twice");
  }
  std::set<std::string> collated;
  for (const auto& [name, collate] : options.collate) {
    if (!seen.count(name)) {
      return arrow::Status::Invalid("Batcher: collate names field '", name, "', which is not batched");
    }
    if (!collated.insert(name).second) {
      return arrow::Status::Invalid("Batcher: collate names field '", name, "' twice");
    }
    ARROW_RETURN_NOT_OK(ValidateCollateOptions(name, collate));
  }
  return std::unique_ptr<Batcher>(
      new Batcher(std::make_unique<Impl>(std::move(field_names), options)));
}

Batcher::Batcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Batcher::~Batcher() = default;

const std::vector<std::string>& Batcher::field_names() const { return impl_->names(); }
const BatcherOptions& Batcher::options() const { return impl_->options(); }
arrow::Status Batcher::Add(std::shared_ptr<const DecodedRowGroup> batch) { return impl_->Add(std::move(batch)); }
arrow::Status Batcher::AddColumns(int64_t num_rows, std::vector<ColumnInput> columns) {
  return impl_->AddColumns(num_rows, std::move(columns));
}
void Batcher::Finish() { impl_->Finish(); }
arrow::Result<std::unique_ptr<TrainingBatch>> Batcher::Next() { return impl_->Next(); }
arrow::Status Batcher::AddPlaceholder(int64_t num_rows) { return impl_->AddPlaceholder(num_rows); }
bool Batcher::Skip() { return impl_->Skip(); }
std::vector<int64_t> Batcher::LivePlaceholders() const { return impl_->LivePlaceholders(); }
std::vector<std::pair<int64_t, std::vector<int64_t>>> Batcher::HeldPlaceholderRows() const {
  return impl_->HeldPlaceholderRows();
}
arrow::Status Batcher::Fill(int64_t placeholder, std::shared_ptr<const DecodedRowGroup> batch) {
  return impl_->Fill(placeholder, std::move(batch));
}
int64_t Batcher::rows_held() const { return impl_->rows_held(); }
bool Batcher::finished() const { return impl_->finished(); }
int64_t Batcher::shuffle_nanos() const { return impl_->shuffle_ns(); }

}  // namespace petastorm
