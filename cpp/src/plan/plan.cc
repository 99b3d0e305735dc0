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
  if (options.shard_count && options.shard_mode == ShardMode::kRows) {
    std::vector<int64_t> order = candidates;
    if (options.shard_seed) {
      internal::Rng rng(internal::DeriveSeed(*options.shard_seed, internal::kShardTag));
      internal::Shuffle(&order, &rng);
    }
    int64_t rows = 0;
    ARROW_ASSIGN_OR_RAISE(plan->pieces_, RowShare(dataset, order, options, &rows));
    plan->rows_per_epoch_ = rows;
    std::vector<int64_t> mine;
    for (const Piece& piece : plan->pieces_) mine.push_back(piece.row_group);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    plan->row_groups_ = std::move(mine);
    plan->options_ = std::move(options);
    return std::shared_ptr<const Plan>(std::move(plan));
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
  for (int64_t rg : candidates) plan->pieces_.push_back(Piece{rg, 0, -1});
  plan->row_groups_ = std::move(candidates);
  plan->options_ = std::move(options);
  return std::shared_ptr<const Plan>(std::move(plan));
}

arrow::Result<std::vector<Plan::Piece>> Plan::RowShare(const Dataset& dataset, const std::vector<int64_t>& order,
                                                       const PlanOptions& options, int64_t* rows) {
  std::vector<int64_t> sizes;
  int64_t total = 0;
  for (int64_t rg : order) {
    ARROW_ASSIGN_OR_RAISE(const int64_t n, dataset.RowGroupNumRows(rg));
    sizes.push_back(n);
    total += n;
  }
  const int64_t shards = *options.shard_count;
  const bool pad = options.shard_remainder == ShardRemainder::kPad;
  const int64_t share = pad ? (total + shards - 1) / shards : total / shards;
  if (share == 0) {
    return NoDataAvailable("shard_mode='rows': ", total, " rows cannot be split into ", shards,
                           " shards of at least one row each", pad ? "" : " (shard_remainder='drop')");
  }
  // Rows [begin, begin + share) of the row stream, wrapping around to its start (kPad only).
  std::vector<Piece> pieces;
  int64_t want = share;
  int64_t at = (*options.cur_shard * share) % total;
  while (want > 0) {
    int64_t offset = 0;  // of the row group holding row `at` in the stream
    for (size_t i = 0; i < order.size(); ++i) {
      if (at < offset + sizes[i]) {
        const int64_t begin = at - offset;
        const int64_t take = std::min(want, sizes[i] - begin);
        pieces.push_back(Piece{order[i], begin, begin + take});
        want -= take;
        at += take;
        if (want == 0) break;
      }
      offset += sizes[i];
    }
    at = 0;  // wrapped
  }
  *rows = share;
  return pieces;
}

std::vector<WorkItem> Plan::ItemsForEpoch(int64_t epoch) const {
  const int64_t parts = options_.shuffle_row_drop_partitions;
  std::vector<WorkItem> items;
  items.reserve(pieces_.size() * static_cast<size_t>(parts));
  for (const Piece& piece : pieces_) {
    for (int64_t p = 0; p < parts; ++p) {
      WorkItem item;
      item.row_group = piece.row_group;
      item.partition = p;
      item.num_partitions = parts;
      item.epoch = epoch;
      item.row_begin = piece.begin;
      item.row_end = piece.end;
      items.push_back(item);
    }
  }
  if (options_.shuffle_row_groups) {
    internal::Rng rng(internal::DeriveSeed(options_.seed, internal::kRowGroupOrderTag,
                                           static_cast<uint64_t>(epoch)));
    internal::Shuffle(&items, &rng);
  }
  for (size_t i = 0; i < items.size(); ++i) items[i].index = static_cast<int64_t>(i);
  return items;
}

std::pair<int64_t, int64_t> PartitionRange(const WorkItem& item, int64_t piece_rows, int64_t overlap_rows) {
  const int64_t begin = item.partition * piece_rows / item.num_partitions;
  const int64_t end =
      std::min(piece_rows, (item.partition + 1) * piece_rows / item.num_partitions + overlap_rows);
  return {begin, std::max(begin, end)};
}

int64_t RowsOfItem(const WorkItem& item, int64_t row_group_rows, int64_t overlap_rows) {
  const int64_t end = item.row_end < 0 ? row_group_rows : std::min(item.row_end, row_group_rows);
  const auto [begin, stop] = PartitionRange(item, std::max<int64_t>(0, end - item.row_begin), overlap_rows);
  int64_t rows = std::max<int64_t>(0, stop - begin - item.skip);
  if (item.limit >= 0) rows = std::min(rows, item.limit);
  if (!item.positions.empty()) {
    rows = std::lower_bound(item.positions.begin(), item.positions.end(), rows) - item.positions.begin();
  }
  return rows;
}

WorkItem NarrowItem(const WorkItem& item, int64_t begin, int64_t end) {
  WorkItem out = item;
  if (!item.positions.empty()) {
    const auto size = static_cast<int64_t>(item.positions.size());
    const int64_t stop = end < 0 ? size : std::min(end, size);
    out.positions.assign(item.positions.begin() + std::min(begin, size),
                         item.positions.begin() + std::max(std::min(begin, size), stop));
    if (out.positions.empty()) out.limit = 0;  // no position left: no row (not every row)
    return out;
  }
  out.skip += begin;
  if (end >= 0) {
    out.limit = std::max<int64_t>(0, end - begin);
  } else if (item.limit >= 0) {
    out.limit = std::max<int64_t>(0, item.limit - begin);
  }
  return out;
}

}  // namespace petastorm
