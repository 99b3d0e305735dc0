#include "petastorm/plan.h"

#include <algorithm>
#include <string_view>


#include "util/random_internal.h"

namespace petastorm {

bool IsNoDataAvailable(const arrow::Status& status) {
  return status.detail() && std::string_view(status.detail()->type_id()) == NoDataAvailableDetail::kTypeId;
}

arrow::Result<std::shared_ptr<const Plan>> Plan::Make(const Dataset& dataset, PlanOptions options) {
  if (options.shuffle_row_drop_partitions < 1) {
    return arrow::Status::Invalid("shuffle_row_drop_partitions must be a positive integer, got ",
                                  options.shuffle_row_drop_partitions);
  }
  if (options.cur_shard.has_value() != options.shard_count.has_value() ||
      (options.shard_count && *options.shard_count < 1)) {
    return arrow::Status::Invalid(
        "partition and num_partitions must be ints and both specified to use partitioning");
  }
  if (options.shard_count && (*options.cur_shard < 0 || *options.cur_shard >= *options.shard_count)) {
    return arrow::Status::Invalid("cur_shard must be in [0, shard_count), got cur_shard=",
                                  *options.cur_shard, " shard_count=", *options.shard_count);
  }
  std::shared_ptr<Plan> plan(new Plan());
  std::vector<int64_t> candidates;
  if (options.selected_row_groups) {
    candidates = *options.selected_row_groups;
    std::sort(candidates.begin(), candidates.end());
  } else {
    candidates.resize(dataset.row_groups().size());
    for (size_t i = 0; i < candidates.size(); ++i) candidates[i] = static_cast<int64_t>(i);
  }
  if (options.shard_count) {
    const int64_t shards = *options.shard_count;
    if (static_cast<int64_t>(dataset.row_groups().size()) < shards) {
      return NoDataAvailable(
          "Number of row-groups in the dataset must be greater or equal to the number of "
          "requested shards. Otherwise, some of the shards will end up being empty. (",
          dataset.row_groups().size(), " row groups, ", shards, " shards)");
    }
    std::vector<int64_t> order = candidates;
    if (options.shard_seed) {
      internal::Rng rng(internal::DeriveSeed(*options.shard_seed, internal::kShardTag));
      internal::Shuffle(&order, &rng);
    }
    std::vector<int64_t> mine;
    for (size_t pos = 0; pos < order.size(); ++pos) {
      if (static_cast<int64_t>(pos % static_cast<size_t>(shards)) == *options.cur_shard) {
        mine.push_back(order[pos]);
      }
    }
    std::sort(mine.begin(), mine.end());
    candidates = std::move(mine);
  }
  plan->row_groups_ = std::move(candidates);
  plan->options_ = std::move(options);
  return std::shared_ptr<const Plan>(std::move(plan));
}

std::vector<WorkItem> Plan::ItemsForEpoch(int64_t epoch) const {
  const int64_t parts = options_.shuffle_row_drop_partitions;
  std::vector<WorkItem> items;
  items.reserve(row_groups_.size() * static_cast<size_t>(parts));
  for (int64_t rg : row_groups_) {
    for (int64_t p = 0; p < parts; ++p) items.push_back({rg, p, parts, epoch});
  }
  if (options_.shuffle_row_groups) {
    internal::Rng rng(internal::DeriveSeed(options_.seed, internal::kRowGroupOrderTag,
                                           static_cast<uint64_t>(epoch)));
    internal::Shuffle(&items, &rng);
  }
  return items;
}

}  // namespace petastorm
