#include "petastorm/reader.h"


#include <algorithm>
#include <iterator>

#include <arrow/array/util.h>
#include <arrow/scalar.h>
#include <atomic>
#include <chrono>
#include <deque>
#include <random>
#include <set>

#include "petastorm/codec.h"
#include "petastorm/plan.h"
#include "petastorm/predicate.h"
#include "petastorm/row_group_cache.h"
#include "exec/ordered_executor_internal.h"
#include "plan/partition_pruning_internal.h"
#include "read/work_item_processor_internal.h"
#include "util/random_internal.h"

namespace petastorm {

namespace {

using RowGroupPtr = std::shared_ptr<const DecodedRowGroup>;

using internal::PredicateReadsOnlyPartitionKeys;
using internal::RowGroupsOfMatchingPartitions;
using WorkProcessor = internal::WorkItemProcessor;

}  // namespace

class Reader::Impl {
 public:
  using Executor = internal::OrderedExecutor<WorkItem, RowGroupPtr>;

  Impl(WorkProcessor::Config config, std::shared_ptr<const Plan> plan, ReaderOptions options, ItemSlice slice)
      : read_ahead_(MakeReadAhead(config)),
        config_(WithReadAhead(std::move(config), read_ahead_.get())),
        plan_(std::move(plan)),
        options_(std::move(options)),
        slice_(slice) {}

  ~Impl() {
    Stop();
    Join();
  }

  void Start() {
    first_items_ = options_.start.first_items;
    first_pos_ = 0;
    epoch_cursor_ = options_.start.epoch;
    start_item_ = options_.start.item;
    plan_position_ = 0;
    epoch_items_.clear();
    epoch_pos_ = 0;
    upcoming_.clear();
    if (read_ahead_) read_ahead_->Clear();
    const bool threads = options_.pool == PoolType::kThread;
    processors_.clear();
    for (int w = 0; w < (threads ? options_.workers_count : 1); ++w) {
      processors_.push_back(std::make_unique<WorkProcessor>(&config_, options_.stage_times ? &stats_ : nullptr));
    }
    if (executor_) {
      const internal::ExecutorStats before = executor_->stats();
      blocked_ns_before_ += before.blocked_ns;
      waited_ns_before_ += before.waited_ns;
      peak_bytes_before_ = std::max(peak_bytes_before_, before.peak_bytes);
    }
    internal::ExecutorOptions exec_options;
    exec_options.use_threads = threads;
    exec_options.num_workers = options_.workers_count;
    exec_options.max_in_flight = std::max(1, options_.results_queue_size);
    exec_options.max_bytes_in_flight = options_.results_queue_bytes;
    exec_options.min_in_flight = ReaderOptions::kMinReadAheadItems;
    if (const std::shared_ptr<MemoryBudget> budget = options_.memory_budget) {
      exec_options.max_bytes_in_flight = budget->limit();
      exec_options.min_in_flight = 1;
      exec_options.bytes_outside = [budget] { return budget->held(); };
      exec_options.on_bytes = [budget](int64_t bytes) { budget->SetReading(bytes); };
    }
    executor_ = std::make_unique<Executor>(
        exec_options, [this] { return TakeNextItem(); },
        [this](const WorkItem& item, int worker) -> arrow::Result<RowGroupPtr> {
          auto result = processors_[static_cast<size_t>(worker)]->Process(item);
          ++items_processed_;
          return result;
        },
        [](const RowGroupPtr& batch) { return batch ? batch->MemoryBytes() : int64_t{0}; });
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

  arrow::Status Restart(ReaderPosition start, std::optional<uint64_t> seed) {
    Stop();
    Join();
    if (seed && *seed != config_.seed) {
      PlanOptions plan_options = plan_->options();
      plan_options.seed = *seed;
      const auto begin = std::chrono::steady_clock::now();
      ARROW_ASSIGN_OR_RAISE(plan_, Plan::Make(*config_.dataset, std::move(plan_options)));
      plan_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin)
                      .count();
      config_.seed = *seed;
      options_.seed = seed;
    }
    options_.start = std::move(start);
    Start();
    return arrow::Status::OK();
  }

  ReaderPosition PositionAt(const ReaderPosition& from, int64_t k) const {
    ReaderPosition at;
    const auto first = static_cast<int64_t>(from.first_items.size());
    if (k < first) {
      at.first_items.assign(from.first_items.begin() + k, from.first_items.end());
      at.epoch = from.epoch;
      at.item = from.item;
      return at;
    }
    const int64_t per_epoch = plan_->items_per_epoch();
    const int64_t index = from.item + (k - first);
    at.epoch = per_epoch > 0 ? from.epoch + index / per_epoch : from.epoch;
    at.item = per_epoch > 0 ? index % per_epoch : from.item;
    return at;
  }

  std::vector<WorkItem> ItemsAt(const ReaderPosition& from, const std::vector<int64_t>& ks) const {
    std::vector<WorkItem> out;
    int64_t cached_epoch = -1;
    std::vector<WorkItem> epoch_items;
    for (int64_t k : ks) {
      if (k < static_cast<int64_t>(from.first_items.size())) {
        out.push_back(from.first_items[static_cast<size_t>(k)]);
        continue;
      }
      const ReaderPosition at = PositionAt(from, k);
      if (at.epoch != cached_epoch) {
        epoch_items = plan_->ItemsForEpoch(at.epoch);
        cached_epoch = at.epoch;
      }
      if (at.item < static_cast<int64_t>(epoch_items.size())) out.push_back(epoch_items[static_cast<size_t>(at.item)]);
    }
    return out;
  }

  arrow::Result<std::vector<int64_t>> ItemRows(const ReaderPosition& from, int64_t n) const {
    std::vector<int64_t> ks(static_cast<size_t>(std::max<int64_t>(0, n)));
    for (int64_t k = 0; k < n; ++k) ks[static_cast<size_t>(k)] = k;
    std::vector<int64_t> rows;
    for (const WorkItem& item : ItemsAt(from, ks)) {
      ARROW_ASSIGN_OR_RAISE(const int64_t group_rows, config_.dataset->RowGroupNumRows(item.row_group));
      rows.push_back(RowsOfItem(item, group_rows, config_.partition_overlap_rows));
    }
    return rows;
  }

  arrow::Result<std::optional<int64_t>> RowsPerEpoch() const {
    if (config_.predicate) return std::optional<int64_t>();
    int64_t total = 0;
    for (const WorkItem& item : plan_->ItemsForEpoch(0)) {
      ARROW_ASSIGN_OR_RAISE(const int64_t group_rows, config_.dataset->RowGroupNumRows(item.row_group));
      total += RowsOfItem(item, group_rows, config_.partition_overlap_rows);
    }
    return std::optional<int64_t>(total);
  }

  const ReaderPosition& start() const { return options_.start; }
  void AddPlanTime(int64_t ns) { plan_ns_ += ns; }

  void Stop() {
    if (executor_) executor_->Stop();
    if (read_ahead_) read_ahead_->Clear();
  }

  void Join() {
    if (executor_) executor_->Join();
  }

  ReaderDiagnostics Diagnostics() const {
    ReaderDiagnostics d;
    const internal::ExecutorStats exec = executor_->stats();
    d.output_queue_size = exec.ready;
    d.output_queue_bytes = exec.ready_bytes;
    d.items_in_flight = exec.in_flight;
    d.epoch = last_epoch_.load();
    d.items_processed = items_processed_;
    d.rows_delivered = rows_delivered_;
    d.io_seconds = stats_.io_ns * 1e-9;
    d.parquet_decode_seconds = stats_.read_ns * 1e-9;
    d.read_seconds = d.io_seconds + d.parquet_decode_seconds;
    d.decode_seconds = stats_.decode_ns * 1e-9;
    d.predicate_seconds = stats_.predicate_ns * 1e-9;
    d.plan_seconds = plan_ns_ * 1e-9;
    d.worker_blocked_seconds = (blocked_ns_before_ + exec.blocked_ns) * 1e-9;
    d.consumer_wait_seconds = (waited_ns_before_ + exec.waited_ns) * 1e-9;
    d.peak_bytes = std::max(peak_bytes_before_, exec.peak_bytes);
    if (options_.memory_budget) d.peak_bytes = std::max(d.peak_bytes, options_.memory_budget->peak());
    d.footers_read = config_.dataset->footers_read();
    d.items_consumed = exec.delivered;
    return d;
  }

  const WorkProcessor::Config& config() const { return config_; }
  ItemSlice slice() const { return slice_; }
  const Plan& plan() const { return *plan_; }

 private:
  // No rows, every field (empty tensors, or an empty array of the field's storage type).
  arrow::Result<RowGroupPtr> EmptyBatch() const {
    return EmptyRowGroup(config_.output_schema);
  }

  // Work items whose column chunks are requested ahead (remote storage), beyond those the
  // workers have.
  static constexpr size_t kReadAheadItems = 2;

  // Read-ahead on remote storage only (locally a read costs no latency to hide), and not with
  // a cache (an item found there reads nothing).
  static std::unique_ptr<internal::ReadAhead> MakeReadAhead(const WorkProcessor::Config& config) {
    if (config.cache || config.dataset->filesystem()->type_name() == "local") return nullptr;
    return std::make_unique<internal::ReadAhead>(config.dataset,
                                                 config.load_schema ? config.load_schema : config.output_schema);
  }
  static WorkProcessor::Config WithReadAhead(WorkProcessor::Config config, internal::ReadAhead* read_ahead) {
    config.read_ahead = read_ahead;
    return config;
  }

  // The next work item of the plan for this reader; with read-ahead, the next kReadAheadItems
  // items are started. Called by the executor, one call at a time.
  std::optional<WorkItem> TakeNextItem() {
    std::optional<WorkItem> item;
    if (!read_ahead_) {
      item = PullItem();
    } else {
      while (upcoming_.size() <= kReadAheadItems) {
        std::optional<WorkItem> next = PullItem();
        if (!next) break;
        upcoming_.push_back(*next);
      }
      if (!upcoming_.empty()) {
        item = upcoming_.front();
        upcoming_.pop_front();
        for (const WorkItem& ahead : upcoming_) read_ahead_->Start(ahead);
      }
    }
    if (item) last_epoch_ = item->epoch;
    return item;
  }

  // The next work item of the plan for this reader (those of its slice), epoch after epoch.
  std::optional<WorkItem> PullItem() {
    while (true) {
      WorkItem item;
      if (first_pos_ < first_items_.size()) {
        item = first_items_[first_pos_++];
      } else {
        while (epoch_pos_ == epoch_items_.size()) {
          if (options_.num_epochs && epoch_cursor_ >= *options_.num_epochs) return std::nullopt;
          epoch_items_ = plan_->ItemsForEpoch(epoch_cursor_++);
          epoch_pos_ = static_cast<size_t>(std::clamp<int64_t>(start_item_, 0, static_cast<int64_t>(epoch_items_.size())));
          start_item_ = 0;
          if (epoch_items_.empty()) return std::nullopt;
        }
        item = epoch_items_[epoch_pos_++];
      }
      const int64_t position = plan_position_++;
      if (position % slice_.count == slice_.index) return item;
    }
  }

  std::unique_ptr<internal::ReadAhead> read_ahead_;  // before config_, which points at it
  // Changed only by Restart, while no worker runs.
  WorkProcessor::Config config_;
  std::shared_ptr<const Plan> plan_;
  ReaderOptions options_;
  const ItemSlice slice_;
  internal::StageStats stats_;
  std::atomic<int64_t> items_processed_{0};
  std::atomic<int64_t> rows_delivered_{0};
  std::atomic<int64_t> last_epoch_{0};

  std::atomic<int64_t> plan_ns_{0};
  // The executor's counters of the executors before the current one (Reset, Restart).
  int64_t blocked_ns_before_ = 0;
  int64_t waited_ns_before_ = 0;
  int64_t peak_bytes_before_ = 0;

  // The position in the plan: touched only by TakeNextItem, which the executor serializes.
  std::vector<WorkItem> first_items_;
  size_t first_pos_ = 0;
  int64_t start_item_ = 0;  // of the first epoch built
  int64_t epoch_cursor_ = 0;
  int64_t plan_position_ = 0;
  std::vector<WorkItem> epoch_items_;
  size_t epoch_pos_ = 0;
  std::deque<WorkItem> upcoming_;  // pulled from the plan, started ahead, not yet taken

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
  if (!options.decode_options.empty()) {
    for (const auto& [name, _] : options.decode_options) {
      if (!options.schema->GetField(name)) break;  // SchemaWithImageDecodeOptions says so
      if (!options.fields.empty() &&
          std::find(options.fields.begin(), options.fields.end(), name) == options.fields.end()) {
        return arrow::Status::Invalid("decode_options name the field '", name,
                                      "', which is not among the fields read");
      }
    }
    ARROW_ASSIGN_OR_RAISE(options.schema,
                          SchemaWithImageDecodeOptions(*options.schema, options.decode_options));
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
  plan_options.shard_mode = options.shard_mode;
  plan_options.shard_remainder = options.shard_remainder;
  if (options.shard_mode == ShardMode::kRows && config.predicate) {
    return arrow::Status::Invalid(
        "shard_mode='rows' gives every shard the same number of rows, which a predicate (known only by "
        "reading) would not keep: filter with `filters` (row groups) or after reading");
  }
  const auto plan_begin = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto plan, Plan::Make(*dataset, std::move(plan_options)));
  const int64_t plan_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - plan_begin).count();

  auto impl = std::make_unique<Impl>(std::move(config), std::move(plan), std::move(options), slice);
  impl->AddPlanTime(plan_ns);
  impl->Start();
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

const std::shared_ptr<const Unischema>& Reader::schema() const { return impl_->config().output_schema; }
arrow::Result<std::shared_ptr<const DecodedRowGroup>> Reader::Next() { return impl_->Next(); }
arrow::Status Reader::Reset() { return impl_->Reset(); }
arrow::Status Reader::Restart(ReaderPosition start, std::optional<uint64_t> seed) {
  return impl_->Restart(std::move(start), seed);
}
ReaderPosition Reader::PositionAt(const ReaderPosition& from, int64_t k) const { return impl_->PositionAt(from, k); }
std::vector<WorkItem> Reader::ItemsAt(const ReaderPosition& from, const std::vector<int64_t>& ks) const {
  return impl_->ItemsAt(from, ks);
}
arrow::Result<std::vector<int64_t>> Reader::ItemRows(const ReaderPosition& from, int64_t n) const {
  return impl_->ItemRows(from, n);
}
arrow::Result<std::optional<int64_t>> Reader::RowsPerEpoch() const { return impl_->RowsPerEpoch(); }
const ReaderPosition& Reader::start() const { return impl_->start(); }
int64_t Reader::items_per_epoch() const { return impl_->plan().items_per_epoch(); }
const PlanOptions& Reader::plan_options() const { return impl_->plan().options(); }
const std::shared_ptr<const Dataset>& Reader::dataset() const { return impl_->config().dataset; }
int64_t Reader::partition_overlap_rows() const { return impl_->config().partition_overlap_rows; }
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
