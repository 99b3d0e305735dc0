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
