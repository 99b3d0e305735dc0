// Batcher: inputs become per-field sources (column_source), wait in a RowPool (in order, or in
// the shuffling buffer), and leave as TrainingBatches assembled field by field (assembly).
#include "petastorm/batcher.h"

#include <algorithm>
#include <set>

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
      : names_(std::move(names)), options_(options), plans_(names_.size()),
        rows_(internal::DeriveSeed(options.seed, kShuffleBufferTag)) {}

  const std::vector<std::string>& names() const { return names_; }
  const BatcherOptions& options() const { return options_; }
  int64_t rows_held() const { return rows_.pending_rows() + rows_.buffered_rows(); }
  bool finished() const { return finished_; }
  void Finish() { finished_ = true; }

  arrow::Status Add(std::shared_ptr<const DecodedRowGroup> batch) {
    if (finished_) return arrow::Status::Invalid("Batcher: Add after Finish");
    if (!batch || batch->num_rows == 0) return arrow::Status::OK();
    auto chunk = std::make_shared<Chunk>();
    chunk->num_rows = batch->num_rows;
    chunk->lends_buffers = true;
    for (const std::string& name : names_) {
      const DecodedColumn* column = batch->column(name);
      if (!column) return arrow::Status::Invalid("Batcher: the input has no field '", name, "'");
      const Field& field = *column->field;
      Source source;
      if (field.is_tensor()) {
        if (static_cast<int64_t>(column->tensors.size()) != batch->num_rows) {
          return arrow::Status::Invalid("Batcher: field '", name, "' has ", column->tensors.size(),
                                        " tensors for ", batch->num_rows, " rows");
        }
        ARROW_ASSIGN_OR_RAISE(source, TensorsSource(name, column->tensors, field.dtype));
      } else {
        if (!column->values || column->values->length() != batch->num_rows) {
          return arrow::Status::Invalid("Batcher: field '", name, "' does not have ", batch->num_rows,
                                        " values");
        }
        ARROW_ASSIGN_OR_RAISE(source, ArraySource(name, column->values, field.dtype,
                                                  options_.float_nulls_as_nan));
      }
      chunk->sources.push_back(std::move(source));
    }
    return Enqueue(std::move(chunk));
  }

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
                                                    options_.float_nulls_as_nan));
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

  arrow::Result<std::unique_ptr<TrainingBatch>> Next() {
    Selection selection;
    if (options_.shuffling_queue_capacity > 0) {
      // Petastorm's BatchedRandomShufflingBuffer(capacity - 1 + batch_size, min_after=capacity - 1).
      const int64_t threshold = options_.shuffling_queue_capacity - 1 + options_.batch_size;
      rows_.Refill(threshold);
      const int64_t size = rows_.buffered_rows();
      if (size == 0 || (size < threshold && !finished_)) return nullptr;
      const int64_t n = std::min(options_.batch_size, size);
      if (n < options_.batch_size && options_.drop_last) {
        rows_.ClearBuffer();
        return nullptr;
      }
      rows_.Pick(n, &selection);
      ARROW_ASSIGN_OR_RAISE(auto batch, Assemble(names_, plans_, selection));
      internal::RowPool::ReleaseTensors(selection);
      return batch;
    }
    const int64_t pending = rows_.pending_rows();
    if (pending == 0 || (pending < options_.batch_size && !finished_)) return nullptr;
    const int64_t n = std::min(options_.batch_size, pending);
    if (n < options_.batch_size && options_.drop_last) {
      rows_.ClearPending();
      return nullptr;
    }
    rows_.TakeInOrder(n, &selection);
    return Assemble(names_, plans_, selection);
  }

 private:
  static constexpr uint64_t kShuffleBufferTag = 101;

  arrow::Status Enqueue(std::shared_ptr<Chunk> chunk) {
    for (size_t f = 0; f < names_.size(); ++f) {
      Source& source = chunk->sources[f];
      ARROW_RETURN_NOT_OK(CheckPlan(names_[f], source, options_.promote_for_torch, &plans_[f]));
      if (source.kind == SourceKind::kTensors) chunk->has_tensors = true;
    }
    rows_.Push(std::move(chunk));
    return arrow::Status::OK();
  }

  const std::vector<std::string> names_;
  const BatcherOptions options_;
  std::vector<FieldPlan> plans_;
  internal::RowPool rows_;
  bool finished_ = false;
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
int64_t Batcher::rows_held() const { return impl_->rows_held(); }
bool Batcher::finished() const { return impl_->finished(); }

}  // namespace petastorm
