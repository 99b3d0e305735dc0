// Plan: which row groups a reader reads, in which order, split how — a pure function of the
// dataset, the options, the seed and the epoch. It touches no data.
//
// Thread safety: a Plan is immutable; ItemsForEpoch may be called from any thread.
// Errors: Invalid naming the argument; "no data for this reader" as Status::Invalid carrying a
// NoDataAvailableDetail (the Python layer raises Petastorm's NoDataAvailableError for it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "petastorm/dataset.h"

namespace petastorm {

// How shards split the data: whole row groups (Petastorm's), or the epoch's rows into equal
// shares (every shard the same number of rows; a share may start and end inside a row group).
enum class ShardMode { kRowGroups, kRows };
// kRows: what happens to the rows a division into equal shares leaves over (total % shards):
// dropped (the last ones of the row stream), or every shard padded to ceil(total / shards) by
// repeating rows from the start of the row stream.
enum class ShardRemainder { kDrop, kPad };

struct PlanOptions {
  // The reader's seed. Deterministic shuffles need one; the reader draws one when unset.
  uint64_t seed = 0;
  bool shuffle_row_groups = true;
  // Each row group becomes this many work items, each keeping a disjoint slice of its rows.
  int64_t shuffle_row_drop_partitions = 1;
  // Sharding: both set or both unset. Shard membership is decided by shard_seed when set
  // (a seeded shuffle of the row groups, then round-robin), else round-robin in storage order.
  std::optional<int64_t> cur_shard;
  std::optional<int64_t> shard_count;
  std::optional<uint64_t> shard_seed;
  // kRows: the row stream is the kept row groups' rows in storage order (in shard_seed's
  // shuffled order of row groups when that is set); shard i takes rows [i*n, (i+1)*n) of it.
  ShardMode shard_mode = ShardMode::kRowGroups;
  ShardRemainder shard_remainder = ShardRemainder::kDrop;
  // Row groups to keep (indexes into Dataset::row_groups()), already pruned by filters and
  // partition predicates; std::nullopt keeps all.
  std::optional<std::vector<int64_t>> selected_row_groups;
};

struct WorkItem {
  int64_t row_group = 0;      // index into Dataset::row_groups()
  int64_t partition = 0;      // which slice of the piece's rows
  int64_t num_partitions = 1;
  int64_t epoch = 0;
  int64_t index = 0;          // position in its epoch's item list (or in a resume list)
  // The piece of the row group: rows [row_begin, row_end) in storage order; row_end -1: to its
  // end. Whole row groups but in ShardMode::kRows.
  int64_t row_begin = 0;
  int64_t row_end = -1;
  // Of the rows the item would deliver (in delivery order: after the row shuffle, the drop
  // partition and the predicate), skip the first `skip` and deliver at most `limit` (-1: all).
  // Set by resumes that split an item (elastic resume).
  int64_t skip = 0;
  int64_t limit = -1;
  // Not empty: of the rows skip and limit leave, only these, by their place among them,
  // ascending (the rows a loader's shuffling buffer still held, which an elastic resume hands on).
  std::vector<int64_t> positions;
};

// `item` delivering only rows [begin, end) of the rows it delivers (end -1: to the last).
WorkItem NarrowItem(const WorkItem& item, int64_t begin, int64_t end);

// The rows of a row group of `row_group_rows` rows that `item` covers before a predicate
// (its piece, its drop partition with `overlap_rows` more rows, then skip and limit).
int64_t RowsOfItem(const WorkItem& item, int64_t row_group_rows, int64_t overlap_rows);
// The [begin, end) positions, within the item's piece, of its drop partition.
std::pair<int64_t, int64_t> PartitionRange(const WorkItem& item, int64_t piece_rows, int64_t overlap_rows);

class Plan {
 public:
  // Fails when the shard arguments are invalid, or (NoDataAvailable) when there are fewer
  // row groups than shards (ShardMode::kRowGroups) or fewer rows than shards (kRows, kDrop).
  // kRows reads the row counts of the kept row groups (footers, unless _common_metadata has them).
  static arrow::Result<std::shared_ptr<const Plan>> Make(const Dataset& dataset, PlanOptions options);

  // The row groups of this shard, in storage order.
  const std::vector<int64_t>& row_groups() const { return row_groups_; }
  const PlanOptions& options() const { return options_; }
  // The work items of one epoch, in reading order (each with its index).
  std::vector<WorkItem> ItemsForEpoch(int64_t epoch) const;
  // Work items of every epoch (the same for each).
  int64_t items_per_epoch() const {
    return static_cast<int64_t>(pieces_.size()) * options_.shuffle_row_drop_partitions;
  }
  // Rows one epoch covers (before a predicate): known for ShardMode::kRows, else nullopt.
  std::optional<int64_t> rows_per_epoch() const { return rows_per_epoch_; }

 private:
  struct Piece {
    int64_t row_group = 0;
    int64_t begin = 0;
    int64_t end = -1;
  };
  // ShardMode::kRows: this shard's pieces of the row stream.
  static arrow::Result<std::vector<Piece>> RowShare(const Dataset& dataset, const std::vector<int64_t>& order,
                                                    const PlanOptions& options, int64_t* rows);
  Plan() = default;
  PlanOptions options_;
  std::vector<int64_t> row_groups_;
  std::vector<Piece> pieces_;
  std::optional<int64_t> rows_per_epoch_;
};

// Marks a Status as "the plan leaves this reader no data" (Petastorm's NoDataAvailableError).
class NoDataAvailableDetail : public arrow::StatusDetail {
 public:
  static constexpr const char* kTypeId = "petastorm::NoDataAvailableDetail";
  const char* type_id() const override { return kTypeId; }
  std::string ToString() const override { return "no data available"; }
};

// Status::Invalid(args...) with a NoDataAvailableDetail.
template <typename... Args>
arrow::Status NoDataAvailable(Args&&... args) {
  return arrow::Status::Invalid(std::forward<Args>(args)...).WithDetail(std::make_shared<NoDataAvailableDetail>());
}
// Whether `status` carries a NoDataAvailableDetail.
bool IsNoDataAvailable(const arrow::Status& status);

}  // namespace petastorm
