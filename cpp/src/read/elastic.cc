// ElasticShare: the rest of an epoch that old shards had not delivered, shared out among new
// shards (petastorm/reader.h).
#include <algorithm>

#include "petastorm/reader.h"

namespace petastorm {

arrow::Result<std::vector<WorkItem>> ElasticShare(const Dataset& dataset, const PlanOptions& old,
                                                  const std::vector<ShardProgress>& progress,
                                                  const PlanOptions& options, int64_t overlap_rows,
                                                  int64_t* epoch_out) {
  if (progress.empty()) return arrow::Status::Invalid("Elastic resume: no shard states");
  const auto old_count = static_cast<int64_t>(progress.size());
  struct Where {
    std::shared_ptr<const Plan> plan;
    int64_t epoch = 0;  // of the shard's next item
    int64_t item = 0;   // -1: in its list of first items
    int64_t plan_epoch = 0;  // where the plan's items go on, after the list
    int64_t plan_item = 0;
  };
  std::vector<Where> where;
  for (int64_t s = 0; s < old_count; ++s) {
    PlanOptions o = old;
    o.cur_shard = s;
    o.shard_count = old_count;
    ARROW_ASSIGN_OR_RAISE(auto plan, Plan::Make(dataset, o));
    const ReaderPosition& p = progress[static_cast<size_t>(s)].position;
    Where w{plan, p.epoch, p.item, p.epoch, p.item};
    if (const int64_t n = plan->items_per_epoch(); n > 0 && w.plan_item >= n) {
      w.plan_epoch += w.plan_item / n;
      w.plan_item %= n;
    }
    w.epoch = w.plan_epoch;
    w.item = w.plan_item;
    if (!p.first_items.empty()) {
      w.epoch = p.first_items.front().epoch;
      w.item = -1;  // in a resume list
    }
    where.push_back(w);
  }
  int64_t epoch = where.front().epoch;
  for (const Where& w : where) epoch = std::min(epoch, w.epoch);
  std::vector<WorkItem> rest;
  for (int64_t s = 0; s < old_count; ++s) {
    const Where& w = where[static_cast<size_t>(s)];
    const ShardProgress& p = progress[static_cast<size_t>(s)];
    const bool next_epoch_start = w.epoch == epoch + 1 && w.item == 0 && p.rows_delivered == 0;
    if (w.epoch != epoch && !next_epoch_start) {
      return arrow::Status::Invalid("Elastic resume needs every old shard in the same epoch: shard ", s,
                                    " is in epoch ", w.epoch, ", another in epoch ", epoch);
    }
    if (next_epoch_start) continue;
    // The items listed first, then the plan's from the position on when it is in this epoch
    // (the rest of an elastic share is listed whole, its position the next epoch's start).
    std::vector<WorkItem> items = p.position.first_items;
    if (w.plan_epoch == epoch) {
      std::vector<WorkItem> all = w.plan->ItemsForEpoch(epoch);
      items.insert(items.end(), all.begin() + std::min<int64_t>(w.plan_item, static_cast<int64_t>(all.size())),
                   all.end());
    }
    if (!items.empty()) items.front() = NarrowItem(items.front(), p.rows_delivered, -1);
    rest.insert(rest.end(), items.begin(), items.end());
  }
  const int64_t count = options.shard_count.value_or(1);
  const int64_t shard = options.cur_shard.value_or(0);
  std::vector<WorkItem> share;
  if (options.shard_mode == ShardMode::kRows) {
    std::vector<int64_t> rows;
    int64_t total = 0;
    for (const WorkItem& item : rest) {
      ARROW_ASSIGN_OR_RAISE(const int64_t group_rows, dataset.RowGroupNumRows(item.row_group));
      rows.push_back(RowsOfItem(item, group_rows, overlap_rows));
      total += rows.back();
    }
    const int64_t lo = shard * total / count;
    const int64_t hi = (shard + 1) * total / count;
    int64_t offset = 0;
    for (size_t i = 0; i < rest.size(); ++i) {
      const int64_t a = std::max(lo, offset) - offset;
      const int64_t b = std::min(hi, offset + rows[i]) - offset;
      if (b > a) share.push_back(NarrowItem(rest[i], a, b));
      offset += rows[i];
    }
  } else {
    for (size_t i = 0; i < rest.size(); ++i) {
      if (static_cast<int64_t>(i) % count == shard) share.push_back(rest[i]);
    }
  }
  for (size_t i = 0; i < share.size(); ++i) share[i].index = static_cast<int64_t>(i);
  *epoch_out = epoch;
  return share;
}

}  // namespace petastorm
