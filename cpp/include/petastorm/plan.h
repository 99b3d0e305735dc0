// Plan: which row groups a reader reads, in which order, split how — a pure function of the
// dataset, the options, the seed and the epoch. It touches no data.
//
// Thread safety: a Plan is immutable; ItemsForEpoch may be called from any thread.
// Errors: Invalid naming the argument; NoDataAvailable-style errors as Status::Invalid with
// the message Petastorm uses (the Python layer maps it to NoDataAvailableError).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <arrow/result.h>

#include "petastorm/dataset.h"

namespace petastorm {

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
  // Row groups to keep (indexes into Dataset::row_groups()), already pruned by filters and
  // partition predicates; std::nullopt keeps all.
  std::optional<std::vector<int64_t>> selected_row_groups;
};

struct WorkItem {
  int64_t row_group = 0;      // index into Dataset::row_groups()
  int64_t partition = 0;      // which slice of the row group's rows
  int64_t num_partitions = 1;
  int64_t epoch = 0;
};

class Plan {
 public:
  // Fails when the shard arguments are invalid, or (NoDataAvailable) when there are fewer
  // row groups than shards.
  static arrow::Result<std::shared_ptr<const Plan>> Make(const Dataset& dataset, PlanOptions options);

  // The row groups of this shard, in storage order.
  const std::vector<int64_t>& row_groups() const { return row_groups_; }
  const PlanOptions& options() const { return options_; }
  // The work items of one epoch, in reading order.
  std::vector<WorkItem> ItemsForEpoch(int64_t epoch) const;

 private:
  Plan() = default;
  PlanOptions options_;
  std::vector<int64_t> row_groups_;
};

// The message Petastorm's NoDataAvailableError carries; the prefix identifies the error.
inline constexpr const char* kNoDataAvailablePrefix = "NoDataAvailable: ";

}  // namespace petastorm
