#include "petastorm/reader.h"

#include <algorithm>
#include <iterator>

#include <arrow/array/util.h>
#include <arrow/scalar.h>
#include <atomic>
#include <chrono>
#include <random>
#include <set>

#include "petastorm/codec.h"
#include "petastorm/plan.h"
#include "petastorm/predicate.h"
#include "petastorm/row_group_cache.h"
#include "exec/ordered_executor_internal.h"
#include "read/row_group_loader_internal.h"
#include "util/random_internal.h"

namespace petastorm {

namespace {

using RowGroupPtr = std::shared_ptr<const DecodedRowGroup>;

// Turns one work item into the rows it delivers. One per worker thread (it keeps the last
// opened file); the shared configuration is immutable.
class WorkProcessor {
 public:
  struct Config {
    std::shared_ptr<const Dataset> dataset;
    std::shared_ptr<const Unischema> output_schema;     // what the reader delivers
    std::shared_ptr<const Unischema> predicate_schema;  // the predicate's fields, or null
    std::shared_ptr<const Unischema> load_schema;       // output plus predicate fields
    std::shared_ptr<const Predicate> predicate;
    std::shared_ptr<RowGroupCache> cache;
    bool shuffle_rows = false;
    int64_t partition_overlap_rows = 0;
    uint64_t seed = 0;
  };

  WorkProcessor(const Config* config, internal::StageStats* stats) : config_(config), stats_(stats) {}

  // nullptr when no row of the item is selected.
  arrow::Result<RowGroupPtr> Process(const WorkItem& item) {
    const Dataset& dataset = *config_->dataset;
    const RowGroupRef ref = dataset.row_groups()[static_cast<size_t>(item.row_group)];
    ARROW_ASSIGN_OR_RAISE(parquet::arrow::FileReader* file, OpenFile(ref.file_index));
    ARROW_ASSIGN_OR_RAISE(const int64_t num_rows, dataset.RowGroupNumRows(item.row_group));

    RowGroupPtr full;       // every loaded field decoded for every row (cache path)
    RowGroupPtr predicate;  // the predicate's fields (no-cache path)
    std::vector<bool> keep;
    if (config_->cache) {
      const std::string key = config_->dataset->url() + "|" + dataset.files()[ref.file_index] + "|" +
                              std::to_string(ref.row_group) + "|" + config_->load_schema->ToJson();
      const RowGroupCache::Loader load = [&]() {
        return internal::LoadRowGroup(dataset, config_->load_schema, ref, file, Options(nullptr));
      };
      ARROW_ASSIGN_OR_RAISE(full, config_->cache->GetOrLoad(key, config_->load_schema, load));
      if (config_->predicate) {
        ARROW_ASSIGN_OR_RAISE(keep, Evaluate(*full));
      }
    } else if (config_->predicate) {
      ARROW_ASSIGN_OR_RAISE(predicate, internal::LoadRowGroup(dataset, config_->predicate_schema,
                                                              ref, file, Options(nullptr)));
      ARROW_ASSIGN_OR_RAISE(keep, Evaluate(*predicate));
      if (std::none_of(keep.begin(), keep.end(), [](bool b) { return b; })) return nullptr;
    }

    std::vector<int64_t> rows = SelectRows(item, num_rows, keep);
    if (rows.empty()) return nullptr;
    if (full) return TakeRows(*full, rows, config_->output_schema);

    // Read the fields the predicate did not, decoding only the selected rows.
    std::vector<std::string> rest;
    for (const Field& f : config_->output_schema->fields()) {
      if (!predicate || !predicate->column(f.name)) rest.push_back(f.name);
    }
    DecodedRowGroup merged;
    if (predicate) merged.columns = predicate->columns;
    RowGroupPtr loaded;
    if (!rest.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto rest_schema, config_->load_schema->View(rest));
      ARROW_ASSIGN_OR_RAISE(loaded, internal::LoadRowGroup(dataset, rest_schema, ref, file, Options(&rows)));
      merged.columns.insert(merged.columns.end(), loaded->columns.begin(), loaded->columns.end());
    }
    merged.num_rows = num_rows;
    merged.source = ref;
    return TakeRows(merged, rows, config_->output_schema);
  }

 private:
  internal::LoadOptions Options(const std::vector<int64_t>* rows) const {
    internal::LoadOptions options;
    options.decode_rows = rows;
    options.stats = stats_;
    return options;
  }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) {
    const auto start = std::chrono::steady_clock::now();
    auto keep = config_->predicate->Evaluate(batch);
    stats_->predicate_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start).count();
    if (keep.ok() && static_cast<int64_t>(keep->size()) != batch.num_rows) {
      return arrow::Status::Invalid("Predicate ", config_->predicate->ToString(), " returned ",
                                    keep->size(), " flags for ", batch.num_rows, " rows");
    }
    return keep;
  }

  // The item's rows, in delivery order: the row group's rows (permuted when shuffle_rows, the
  // same permutation for every drop partition of the row group in an epoch), the item's
  // slice of them, those the predicate keeps.
  std::vector<int64_t> SelectRows(const WorkItem& item, int64_t num_rows,
                                  const std::vector<bool>& keep) const {
    std::vector<int64_t> order(static_cast<size_t>(num_rows));
    for (int64_t i = 0; i < num_rows; ++i) order[static_cast<size_t>(i)] = i;
    if (config_->shuffle_rows) {
      internal::Rng rng(internal::DeriveSeed(config_->seed, internal::kRowOrderTag,
                                             static_cast<uint64_t>(item.epoch),
                                             static_cast<uint64_t>(item.row_group)));
      internal::Shuffle(&order, &rng);
    }
    const int64_t begin = item.partition * num_rows / item.num_partitions;
    const int64_t end = std::min(
        num_rows, (item.partition + 1) * num_rows / item.num_partitions + config_->partition_overlap_rows);
    std::vector<int64_t> rows;
    rows.reserve(static_cast<size_t>(end - begin));
    for (int64_t pos = begin; pos < end; ++pos) {
      const int64_t row = order[static_cast<size_t>(pos)];
      if (keep.empty() || keep[static_cast<size_t>(row)]) rows.push_back(row);
    }
    return rows;
  }

  arrow::Result<parquet::arrow::FileReader*> OpenFile(int file_index) {
    if (file_index != open_file_index_) {
      open_file_.reset();
      open_file_index_ = -1;
      ARROW_ASSIGN_OR_RAISE(open_file_, config_->dataset->OpenFile(file_index));
      open_file_index_ = file_index;
    }
    return open_file_.get();
  }

  const Config* config_;
  internal::StageStats* stats_;
  int open_file_index_ = -1;
  std::unique_ptr<parquet::arrow::FileReader> open_file_;
};

bool PredicateReadsOnlyPartitionKeys(const Dataset& dataset, const Unischema& predicate_fields) {
  if (dataset.partition_keys().empty()) return false;
  for (const Field& f : predicate_fields.fields()) {
    if (dataset.PartitionKeyIndex(f.name) < 0) return false;
  }
  return true;
}

// The row groups of the files whose partition values the predicate accepts.
arrow::Result<std::vector<int64_t>> RowGroupsOfMatchingPartitions(const Dataset& dataset,
                                                                  const Unischema& fields,
                                                                  const Predicate& predicate) {
  std::vector<bool> file_kept(dataset.files().size(), false);
  for (size_t f = 0; f < dataset.files().size(); ++f) {
    DecodedRowGroup one_row;
    one_row.num_rows = 1;
    for (const Field& field : fields.fields()) {
      ARROW_ASSIGN_OR_RAISE(auto value,
                            dataset.PartitionValue(static_cast<int>(f), dataset.PartitionKeyIndex(field.name)));
      ARROW_ASSIGN_OR_RAISE(auto type, field.StorageType());
      ARROW_ASSIGN_OR_RAISE(auto cast, value->CastTo(type));
      DecodedColumn column;
      column.field = &field;
      ARROW_ASSIGN_OR_RAISE(column.values, arrow::MakeArrayFromScalar(*cast, 1));
      one_row.columns.push_back(std::move(column));
    }
    ARROW_ASSIGN_OR_RAISE(auto keep, predicate.Evaluate(one_row));
    file_kept[f] = !keep.empty() && keep[0];
  }
  std::vector<int64_t> kept;
  for (size_t i = 0; i < dataset.row_groups().size(); ++i) {
    if (file_kept[static_cast<size_t>(dataset.row_groups()[i].file_index)]) kept.push_back(static_cast<int64_t>(i));
  }
  return kept;
}

}  // namespace

class Reader::Impl {
 public:
  using Executor = internal::OrderedExecutor<WorkItem, RowGroupPtr>;

  Impl(WorkProcessor::Config config, std::shared_ptr<const Plan> plan, ReaderOptions options, ItemSlice slice)
      : config_(std::move(config)), plan_(std::move(plan)), options_(std::move(options)), slice_(slice) {}

  ~Impl() {
    Stop();
    Join();
  }

  void Start() {
    epoch_cursor_ = 0;
    plan_position_ = 0;
    epoch_items_.clear();
    epoch_pos_ = 0;
    const bool threads = options_.pool == PoolType::kThread;
    processors_.clear();
    for (int w = 0; w < (threads ? options_.workers_count : 1); ++w) {
      processors_.push_back(std::make_unique<WorkProcessor>(&config_, &stats_));
    }
    internal::ExecutorOptions exec_options;
    exec_options.use_threads = threads;
    exec_options.num_workers = options_.workers_count;
    exec_options.max_in_flight = std::max(1, options_.results_queue_size);
    executor_ = std::make_unique<Executor>(
        exec_options, [this] { return TakeNextItem(); },
        [this](const WorkItem& item, int worker) -> arrow::Result<RowGroupPtr> {
          auto result = processors_[static_cast<size_t>(worker)]->Process(item);
          ++items_processed_;
          return result;
        });
    executor_->Start();
  }

  arrow::Result<RowGroupPtr> Next() {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(std::optional<RowGroupPtr> result, executor_->Next());
      if (!result) return nullptr;  // the end
      RowGroupPtr batch = std::move(*result);
      if (!batch || batch->num_rows == 0) {
        if (slice_.count > 1) return EmptyBatch();  // ItemSlice: every item is delivered
        continue;
      }
      rows_delivered_ += batch->num_rows;
      return batch;
    }
  }

  arrow::Status Reset() {
    Stop();
    Join();
    Start();
    return arrow::Status::OK();
  }

  void Stop() {
    if (executor_) executor_->Stop();
  }

  void Join() {
    if (executor_) executor_->Join();
  }

  ReaderDiagnostics Diagnostics() const {
    ReaderDiagnostics d;
    const internal::ExecutorStats exec = executor_->stats();
    d.output_queue_size = exec.ready;
    d.items_in_flight = exec.in_flight;
    d.epoch = last_epoch_.load();
    d.items_processed = items_processed_;
    d.rows_delivered = rows_delivered_;
    d.read_seconds = stats_.read_ns * 1e-9;
    d.decode_seconds = stats_.decode_ns * 1e-9;
    d.predicate_seconds = stats_.predicate_ns * 1e-9;
    d.footers_read = config_.dataset->footers_read();
    return d;
  }

  const WorkProcessor::Config& config() const { return config_; }
  ItemSlice slice() const { return slice_; }
  const Plan& plan() const { return *plan_; }

 private:
  // No rows, every field (empty tensors, or an empty array of the field's storage type).
  arrow::Result<RowGroupPtr> EmptyBatch() const {
    auto empty = std::make_shared<DecodedRowGroup>();
    empty->schema = config_.output_schema;
    for (const Field& field : config_.output_schema->fields()) {
      DecodedColumn column;
      column.field = &field;
      if (!field.is_tensor()) {
        ARROW_ASSIGN_OR_RAISE(auto type, field.StorageType());
        ARROW_ASSIGN_OR_RAISE(column.values, arrow::MakeEmptyArray(type));
      }
      empty->columns.push_back(std::move(column));
    }
    return RowGroupPtr(std::move(empty));
  }

  // The next work item of the plan for this reader (those of its slice), epoch after epoch.
  // Called by the executor, one call at a time.
  std::optional<WorkItem> TakeNextItem() {
    while (true) {
      while (epoch_pos_ == epoch_items_.size()) {
        if (options_.num_epochs && epoch_cursor_ >= *options_.num_epochs) return std::nullopt;
        epoch_items_ = plan_->ItemsForEpoch(epoch_cursor_++);
        epoch_pos_ = 0;
        if (epoch_items_.empty()) return std::nullopt;
      }
      const int64_t position = plan_position_++;
      const WorkItem& item = epoch_items_[epoch_pos_++];
      if (position % slice_.count == slice_.index) {
        last_epoch_ = item.epoch;
        return item;
      }
    }
  }

  const WorkProcessor::Config config_;
  const std::shared_ptr<const Plan> plan_;
  const ReaderOptions options_;
  const ItemSlice slice_;
  internal::StageStats stats_;
  std::atomic<int64_t> items_processed_{0};
  std::atomic<int64_t> rows_delivered_{0};
  std::atomic<int64_t> last_epoch_{0};

  // The position in the plan: touched only by TakeNextItem, which the executor serializes.
  int64_t epoch_cursor_ = 0;
  int64_t plan_position_ = 0;
  std::vector<WorkItem> epoch_items_;
  size_t epoch_pos_ = 0;

  std::vector<std::unique_ptr<WorkProcessor>> processors_;  // one per worker
  std::unique_ptr<Executor> executor_;
};

arrow::Result<std::unique_ptr<Reader>> Reader::Open(std::shared_ptr<const Dataset> dataset,
                                                    ReaderOptions options) {
  return OpenSlice(std::move(dataset), std::move(options), ItemSlice{});
}

arrow::Result<std::unique_ptr<Reader>> Reader::OpenSlice(std::shared_ptr<const Dataset> dataset,
                                                         ReaderOptions options, ItemSlice slice) {
  if (!options.schema) options.schema = dataset->schema();
  if (!options.schema) {
    return arrow::Status::Invalid(
        "'", dataset->url(), "' is not a Petastorm dataset (no Unischema in its metadata). "
        "make_reader reads only Petastorm datasets; to read a plain Parquet store use "
        "make_batch_reader");
  }
  if (options.num_epochs && *options.num_epochs <= 0) {
    return arrow::Status::Invalid("iterations must be positive integer or None (num_epochs=",
                                  *options.num_epochs, ")");
  }
  if (slice.count < 1 || slice.index < 0 || slice.index >= slice.count) {
    return arrow::Status::Invalid("ItemSlice: index must be in [0, count), got index=", slice.index,
                                  " count=", slice.count);
  }
  if (options.workers_count < 1) {
    return arrow::Status::Invalid("workers_count must be a positive integer, got ",
                                  options.workers_count);
  }
  const Unischema& stored = *options.schema;
  WorkProcessor::Config config;
  config.dataset = dataset;
  if (options.fields.empty()) {
    config.output_schema = options.schema;
  } else {
    ARROW_ASSIGN_OR_RAISE(config.output_schema, stored.View(options.fields));
  }
  std::vector<std::string> load_fields;
  for (const Field& f : config.output_schema->fields()) load_fields.push_back(f.name);
  if (options.predicate) {
    std::vector<std::string> names = options.predicate->fields();
    if (names.empty()) {
      return arrow::Status::Invalid("The predicate ", options.predicate->ToString(),
                                    " reads no fields");
    }
    std::vector<std::string> unknown;
    for (const auto& n : names) {
      if (!stored.GetField(n)) unknown.push_back(n);
    }
    if (!unknown.empty()) {
      std::string list;
      for (const auto& n : unknown) list += (list.empty() ? "" : ", ") + n;
      return arrow::Status::Invalid("At least some column names requested by the predicate (",
                                    list, ") are not valid schema names");
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    ARROW_ASSIGN_OR_RAISE(config.predicate_schema, stored.View(names));
    for (const auto& n : names) {
      if (std::find(load_fields.begin(), load_fields.end(), n) == load_fields.end()) {
        load_fields.push_back(n);
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(config.load_schema, stored.View(load_fields));
  config.predicate = options.predicate;
  if (options.predicate && PredicateReadsOnlyPartitionKeys(*dataset, *config.predicate_schema)) {
    // Decided per file at plan time; workers then read only matching files.
    ARROW_ASSIGN_OR_RAISE(auto kept, RowGroupsOfMatchingPartitions(*dataset, *config.predicate_schema,
                                                                  *options.predicate));
    if (options.selected_row_groups) {
      std::vector<int64_t> both;
      std::set_intersection(kept.begin(), kept.end(), options.selected_row_groups->begin(),
                            options.selected_row_groups->end(), std::back_inserter(both));
      kept = std::move(both);
    }
    options.selected_row_groups = std::move(kept);
    config.predicate = nullptr;
    config.predicate_schema = nullptr;
    std::vector<std::string> output_names;
    for (const Field& f : config.output_schema->fields()) output_names.push_back(f.name);
    ARROW_ASSIGN_OR_RAISE(config.load_schema, stored.View(output_names));
  }
  config.cache = options.cache;
  config.shuffle_rows = options.shuffle_rows;
  if (options.partition_overlap_rows < 0) {
    return arrow::Status::Invalid("partition_overlap_rows must not be negative");
  }
  config.partition_overlap_rows = options.partition_overlap_rows;
  if (!options.seed) {
    std::random_device rd;
    options.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  config.seed = *options.seed;

  PlanOptions plan_options;
  plan_options.seed = *options.seed;
  plan_options.shuffle_row_groups = options.shuffle_row_groups;
  plan_options.shuffle_row_drop_partitions = options.shuffle_row_drop_partitions;
  plan_options.cur_shard = options.cur_shard;
  plan_options.shard_count = options.shard_count;
  plan_options.shard_seed = options.shard_seed;
  plan_options.selected_row_groups = options.selected_row_groups;
  ARROW_ASSIGN_OR_RAISE(auto plan, Plan::Make(*dataset, std::move(plan_options)));

  auto impl = std::make_unique<Impl>(std::move(config), std::move(plan), std::move(options), slice);
  impl->Start();
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

const std::shared_ptr<const Unischema>& Reader::schema() const { return impl_->config().output_schema; }
arrow::Result<std::shared_ptr<const DecodedRowGroup>> Reader::Next() { return impl_->Next(); }
arrow::Status Reader::Reset() { return impl_->Reset(); }
void Reader::Stop() { impl_->Stop(); }
void Reader::Join() { impl_->Join(); }
ReaderDiagnostics Reader::diagnostics() const { return impl_->Diagnostics(); }
uint64_t Reader::seed() const { return impl_->config().seed; }
ItemSlice Reader::item_slice() const { return impl_->slice(); }
const std::vector<int64_t>& Reader::planned_row_groups() const { return impl_->plan().row_groups(); }
int64_t Reader::num_row_groups_planned() const {
  return static_cast<int64_t>(impl_->plan().row_groups().size());
}

}  // namespace petastorm
