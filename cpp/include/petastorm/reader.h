// Reader: reads a Petastorm dataset row group by row group, decoding codec fields into tensors,
// through the reader engine (plan, shards, shuffles, worker threads, ordered bounded queue).
// Errors: arrow::Status naming the file, row group and field.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/array.h>
#include <arrow/result.h>

#include "petastorm/codec.h"
#include "petastorm/dataset.h"
#include "petastorm/decoded_row_group.h"
#include "petastorm/memory_budget.h"
#include "petastorm/plan.h"
#include "petastorm/schema.h"
#include "petastorm/tensor.h"

namespace petastorm {
class Predicate;
class RowGroupCache;
}  // namespace petastorm

namespace petastorm {

// Reads `fields` of one row group and decodes them; decoding runs on Arrow's CPU thread pool.
arrow::Result<std::shared_ptr<const DecodedRowGroup>> LoadRowGroup(
    const Dataset& dataset, const std::shared_ptr<const Unischema>& fields, RowGroupRef row_group,
    parquet::arrow::FileReader* file);

enum class PoolType { kThread, kDummy };

// Where a reader's sequence of work items starts: `first_items` in their order (a resume that
// splits the rest of an epoch among shards), then the plan's items from item `item` of epoch
// `epoch` on. The default is the plan's beginning.
struct ReaderPosition {
  std::vector<WorkItem> first_items;
  int64_t epoch = 0;
  int64_t item = 0;
};

// What one shard had delivered when its state was saved: the next item of its sequence, and
// how many rows of that item it had delivered already.
struct ShardProgress {
  ReaderPosition position;
  int64_t rows_delivered = 0;
};

// Elastic resume: the work items of the epoch the old shards were in that they had not
// delivered (rows_delivered of each one's next item skipped), shared out among new shards:
// the share of new shard `cur_shard` of `shard_count` (both in `options`). `old` is the plan
// options the old shards ran with (any cur_shard; shard_count = progress.size()), `progress`
// indexed by old shard. kRows: the remaining rows split into shares that differ by at most one
// row (each remaining row exactly once); kRowGroups: remaining items dealt round-robin. Sets
// *epoch to that epoch. Invalid when the old shards were not in the same epoch (a shard at the
// very start of the next one counts as done with it).
arrow::Result<std::vector<WorkItem>> ElasticShare(const Dataset& dataset, const PlanOptions& old,
                                                  const std::vector<ShardProgress>& progress,
                                                  const PlanOptions& options, int64_t overlap_rows,
                                                  int64_t* epoch);

struct ReaderOptions {
  // The schema to read by; null reads by the dataset's stored Unischema. A plain Parquet store
  // has none: pass an inferred one (its fields carry their arrow_type).
  std::shared_ptr<const Unischema> schema;
  // Field names to deliver; empty delivers every field.
  std::vector<std::string> fields;
  // CompressedImageCodec fields decoded scaled and/or cropped, by field name (each one read):
  // schema() then has their decoded codecs and shapes (SchemaWithImageDecodeOptions).
  std::map<std::string, ImageDecodeOptions> decode_options;
  // Passes over the data; std::nullopt repeats forever.
  std::optional<int64_t> num_epochs = 1;
  // Seeds every shuffle; drawn at random when unset (then runs differ).
  std::optional<uint64_t> seed;
  bool shuffle_rows = false;
  bool shuffle_row_groups = true;
  int64_t shuffle_row_drop_partitions = 1;
  // Each drop partition also takes this many rows past its end (n-grams spanning the cut).
  int64_t partition_overlap_rows = 0;
  std::optional<int64_t> cur_shard;
  std::optional<int64_t> shard_count;
  // Decides shard membership; defaults to `seed` when that is set.
  std::optional<uint64_t> shard_seed;
  ShardMode shard_mode = ShardMode::kRowGroups;
  ShardRemainder shard_remainder = ShardRemainder::kDrop;
  // Where the sequence of work items starts (resume).
  ReaderPosition start;
  // Rows to keep; its fields are read and evaluated before the others.
  std::shared_ptr<const Predicate> predicate;
  // Row groups to read (indexes into Dataset::row_groups()); std::nullopt reads all.
  std::optional<std::vector<int64_t>> selected_row_groups;
  // Decoded row groups are kept here; nullptr reads from the source every time.
  std::shared_ptr<RowGroupCache> cache;
  PoolType pool = PoolType::kThread;
  int workers_count = 10;
  // Work items read ahead of the consumer, at most.
  int results_queue_size = 50;
  // And bytes: beyond the first kMinReadAheadItems items, read-ahead stops while the decoded
  // row groups waiting for the consumer plus those being decoded (at the mean size so far)
  // would pass this many bytes. 0: bounded by results_queue_size alone.
  int64_t results_queue_bytes = kDefaultResultsQueueBytes;
  static constexpr int64_t kDefaultResultsQueueBytes = int64_t{128} << 20;  // 128 MiB
  // A bound on the decoded bytes of the whole pipeline, shared with the consumers (a loader's
  // shuffling buffer and batches: MemoryBudget::SetHeld): when set, read-ahead stops while the
  // results waiting plus those being decoded plus the consumers' bytes would pass its limit,
  // one item always going ahead; results_queue_bytes is then not used. Null: no budget.
  std::shared_ptr<MemoryBudget> memory_budget;
  // The workers' time per stage in Diagnostics() (a few clock reads per row group); false
  // leaves those figures 0.
  bool stage_times = true;
  static constexpr int kMinReadAheadItems = 4;
};

// A share of a plan's work items: those at positions p (counted across epochs) with
// p % count == index. A reader of a slice delivers every one of its items, an item that
// selects no rows as an empty batch, so that `count` readers with indexes 0 .. count-1,
// read one item each in turn, deliver the plan's items in the plan's order. (How worker
// processes split one plan.)
struct ItemSlice {
  int64_t index = 0;
  int64_t count = 1;
};

struct ReaderDiagnostics {
  int64_t output_queue_size = 0;  // results ready, not yet consumed
  int64_t output_queue_bytes = 0; // their MemoryBytes()
  int64_t items_in_flight = 0;    // handed to workers, not yet consumed
  int64_t items_processed = 0;
  int64_t rows_delivered = 0;
  int64_t epoch = 0;              // of the last item handed out
  // Time per stage, summed over the worker threads (the caller's thread with kDummy).
  double io_seconds = 0;          // waiting for column chunks' bytes (storage I/O)
  double parquet_decode_seconds = 0;  // decompressing and decoding them (Parquet to Arrow)
  double read_seconds = 0;        // the two: reading column chunks
  double decode_seconds = 0;      // codec decoding (images, ndarrays)
  double predicate_seconds = 0;
  double plan_seconds = 0;        // making the plan (row counts for shard_mode rows)
  double worker_blocked_seconds = 0;  // workers idle because the results wait for the consumer
  double consumer_wait_seconds = 0;   // Next() waiting for the next result
  int64_t footers_read = 0;       // Parquet footers the dataset parsed (each file at most once)
  int64_t items_consumed = 0;     // work items Next() has gone past (empty ones too)
  // High-water mark of the decoded bytes held: results waiting plus items being decoded (at
  // the mean result size), plus the consumers' bytes with a memory budget.
  int64_t peak_bytes = 0;
};

// Reads a dataset through a plan (shards, shuffles, epochs), on C++ worker threads that
// deliver row groups in plan order: with a seed the sequence is the same for any
// workers_count. Thread safety: Next, Reset, Stop from one thread at a time; Stop may also be
// called from another thread.
//
// Errors are sticky: the first work item that fails (in plan order) makes Next() return its
// error, and every later Next() returns the same error, until Reset(). After a failure no new
// work item starts.
class Reader {
 public:
  // Fails when there is no schema (neither options.schema nor a stored Unischema), a field is
  // unknown, or an option is invalid (the message names it).
  static arrow::Result<std::unique_ptr<Reader>> Open(std::shared_ptr<const Dataset> dataset,
                                                     ReaderOptions options = {});
  // The same, reading only the work items of `slice` (Invalid unless 0 <= index < count).
  static arrow::Result<std::unique_ptr<Reader>> OpenSlice(std::shared_ptr<const Dataset> dataset,
                                                          ReaderOptions options, ItemSlice slice);
  ~Reader();  // stops and joins the workers

  // The schema of what Next() returns.
  const std::shared_ptr<const Unischema>& schema() const;
  // The next non-empty batch in plan order (for an ItemSlice reader with count > 1, the next
  // item's batch, maybe empty); nullptr after the last one. Cancelled after Stop(), unless an
  // error came first (then that error).
  arrow::Result<std::shared_ptr<const DecodedRowGroup>> Next();
  // Starts over from the first epoch, at any point (also mid-iteration).
  arrow::Status Reset();
  // Starts over from `start` (and with `seed`, when set: the plan and the row shuffles follow
  // it), at any point. The position of a resume: Reset() then starts from it too.
  arrow::Status Restart(ReaderPosition start, std::optional<uint64_t> seed);
  // The position of the k-th work item (0: the first) of this reader's sequence, slices aside.
  ReaderPosition PositionAt(const ReaderPosition& from, int64_t k) const;
  // The work items at positions `ks` (ascending) of the sequence starting at `from`.
  std::vector<WorkItem> ItemsAt(const ReaderPosition& from, const std::vector<int64_t>& ks) const;
  // Rows each of the first n items of the sequence from `from` delivers (before a predicate).
  arrow::Result<std::vector<int64_t>> ItemRows(const ReaderPosition& from, int64_t n) const;
  // Rows one epoch delivers; nullopt with a predicate (known only by reading).
  arrow::Result<std::optional<int64_t>> RowsPerEpoch() const;
  const ReaderPosition& start() const;
  int64_t items_per_epoch() const;
  // The options of the plan in use, the dataset, and the rows each drop partition takes past its end.
  const PlanOptions& plan_options() const;
  const std::shared_ptr<const Dataset>& dataset() const;
  int64_t partition_overlap_rows() const;
  // Asks the workers to stop; does not wait.
  void Stop();
  // Waits for the workers to finish.
  void Join();
  ReaderDiagnostics diagnostics() const;
  // The seed in use (the drawn one when none was given).
  uint64_t seed() const;
  // The share of the plan this reader reads (ItemSlice{} for Open).
  ItemSlice item_slice() const;
  int64_t num_row_groups_planned() const;
  // The row groups this reader reads (indexes into Dataset::row_groups()), in storage order.
  const std::vector<int64_t>& planned_row_groups() const;

  class Impl;

 private:
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace petastorm
