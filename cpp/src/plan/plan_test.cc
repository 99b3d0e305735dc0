#include "petastorm/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "petastorm/dataset_writer.h"
#include "util/test_macros_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;
using testing::TestRow;
using testing::TestSchema;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteOptions options;
    options.rows_per_rowgroup = 2;
    auto writer = DatasetWriter::Open(scratch_.Path("ds"), TestSchema(), options).ValueOrDie();
    for (int i = 0; i < 20; ++i) ASSERT_OK(writer->Write(TestRow(i)));  // 10 row groups
    ASSERT_OK(writer->Close());
    dataset_ = Dataset::Open(scratch_.Path("ds")).ValueOrDie();
  }

  std::shared_ptr<const Plan> Make(PlanOptions options) { return Plan::Make(*dataset_, options).ValueOrDie(); }

  static std::vector<int64_t> RowGroups(const std::vector<WorkItem>& items) {
    std::vector<int64_t> out;
    for (const auto& item : items) out.push_back(item.row_group);
    return out;
  }

  ScratchDir scratch_;
  std::shared_ptr<const Dataset> dataset_;
};

TEST_F(PlanTest, StorageOrderWithoutShuffle) {
  PlanOptions options;
  options.shuffle_row_groups = false;
  auto plan = Make(options);
  EXPECT_EQ(plan->row_groups(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  auto items = plan->ItemsForEpoch(3);
  EXPECT_EQ(RowGroups(items), plan->row_groups());
  for (const auto& item : items) {
    EXPECT_EQ(item.epoch, 3);
    EXPECT_EQ(item.num_partitions, 1);
  }
}

TEST_F(PlanTest, ShufflesArePureFunctionsOfSeedAndEpoch) {
  PlanOptions options;
  options.seed = 11;
  auto plan = Make(options);
  const auto epoch0 = RowGroups(plan->ItemsForEpoch(0));
  EXPECT_EQ(RowGroups(Make(options)->ItemsForEpoch(0)), epoch0);  // the same plan again
  EXPECT_EQ(RowGroups(plan->ItemsForEpoch(0)), epoch0);           // the same epoch again
  const auto epoch1 = RowGroups(plan->ItemsForEpoch(1));
  EXPECT_NE(epoch0, epoch1);
  auto sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, plan->row_groups());
  options.seed = 12;
  EXPECT_NE(RowGroups(Make(options)->ItemsForEpoch(0)), epoch0);
}

TEST_F(PlanTest, DropPartitionsSplitEachRowGroup) {
  PlanOptions options;
  options.shuffle_row_groups = false;
  options.shuffle_row_drop_partitions = 3;
  auto items = Make(options)->ItemsForEpoch(0);
  ASSERT_EQ(items.size(), 30u);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].row_group, static_cast<int64_t>(i / 3));
    EXPECT_EQ(items[i].partition, static_cast<int64_t>(i % 3));
    EXPECT_EQ(items[i].num_partitions, 3);
  }
  options.shuffle_row_drop_partitions = 0;
  EXPECT_FALSE(Plan::Make(*dataset_, options).ok());
}

TEST_F(PlanTest, ShardsPartitionTheRowGroups) {
  for (std::optional<uint64_t> shard_seed : {std::optional<uint64_t>(), std::optional<uint64_t>(5)}) {
    std::set<int64_t> all;
    size_t total = 0;
    for (int64_t shard = 0; shard < 3; ++shard) {
      PlanOptions options;
      options.cur_shard = shard;
      options.shard_count = 3;
      options.shard_seed = shard_seed;
      auto plan = Make(options);
      EXPECT_TRUE(std::is_sorted(plan->row_groups().begin(), plan->row_groups().end()));
      total += plan->row_groups().size();
      all.insert(plan->row_groups().begin(), plan->row_groups().end());
      if (!shard_seed) {
        // Round-robin in storage order, Petastorm's rule.
        for (int64_t rg : plan->row_groups()) EXPECT_EQ(rg % 3, shard);
      }
    }
    EXPECT_EQ(total, 10u);
    EXPECT_EQ(all.size(), 10u);
  }
}

TEST_F(PlanTest, ShardErrors) {
  PlanOptions one_sided;
  one_sided.cur_shard = 0;
  EXPECT_TRUE(Plan::Make(*dataset_, one_sided).status().IsInvalid());
  PlanOptions out_of_range;
  out_of_range.cur_shard = 3;
  out_of_range.shard_count = 3;
  auto status = Plan::Make(*dataset_, out_of_range).status();
  EXPECT_NE(status.message().find("cur_shard"), std::string::npos) << status;
  EXPECT_FALSE(IsNoDataAvailable(status));
  PlanOptions too_many;
  too_many.cur_shard = 0;
  too_many.shard_count = 11;
  status = Plan::Make(*dataset_, too_many).status();
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_TRUE(IsNoDataAvailable(status)) << status;
  EXPECT_FALSE(IsNoDataAvailable(arrow::Status::Invalid("other")));
}

TEST_F(PlanTest, SelectedRowGroupsOnly) {
  PlanOptions options;
  options.shuffle_row_groups = false;
  options.selected_row_groups = std::vector<int64_t>{7, 2, 5};
  auto plan = Make(options);
  EXPECT_EQ(plan->row_groups(), (std::vector<int64_t>{2, 5, 7}));
  EXPECT_EQ(RowGroups(plan->ItemsForEpoch(0)), (std::vector<int64_t>{2, 5, 7}));
  options.selected_row_groups = std::vector<int64_t>{};
  EXPECT_TRUE(Make(options)->ItemsForEpoch(0).empty());
}

}  // namespace
}  // namespace petastorm

namespace petastorm {
namespace {

// Rows of every shard's items, as (row group, row) pairs, through RowsOfItem's pieces.
std::vector<std::pair<int64_t, int64_t>> RowsOf(const Plan& plan) {
  std::vector<std::pair<int64_t, int64_t>> rows;
  for (const WorkItem& item : plan.ItemsForEpoch(0)) {
    const int64_t end = item.row_end < 0 ? 2 : item.row_end;
    for (int64_t r = item.row_begin; r < end; ++r) rows.emplace_back(item.row_group, r);
  }
  return rows;
}

TEST_F(PlanTest, RowShardsAreEqualAndCoverTheRowsOnce) {
  // 20 rows in 10 row groups of 2, 3 shards: drop gives 6 rows each (2 dropped), pad 7 each.
  for (ShardRemainder remainder : {ShardRemainder::kDrop, ShardRemainder::kPad}) {
    std::map<std::pair<int64_t, int64_t>, int> seen;
    for (int64_t shard = 0; shard < 3; ++shard) {
      PlanOptions options;
      options.shard_mode = ShardMode::kRows;
      options.shard_remainder = remainder;
      options.cur_shard = shard;
      options.shard_count = 3;
      auto plan = Make(options);
      const auto rows = RowsOf(*plan);
      EXPECT_EQ(static_cast<int64_t>(rows.size()), remainder == ShardRemainder::kDrop ? 6 : 7);
      EXPECT_EQ(*plan->rows_per_epoch(), remainder == ShardRemainder::kDrop ? 6 : 7);
      for (const auto& r : rows) ++seen[r];
    }
    if (remainder == ShardRemainder::kDrop) {
      EXPECT_EQ(seen.size(), 18u);
      for (const auto& [row, n] : seen) EXPECT_EQ(n, 1);
    } else {
      EXPECT_EQ(seen.size(), 20u);  // every row, one of them twice
    }
  }
}

TEST_F(PlanTest, RowShardsMayOutnumberRowGroups) {
  PlanOptions options;
  options.shard_mode = ShardMode::kRows;
  options.cur_shard = 13;
  options.shard_count = 20;
  auto plan = Make(options);
  const auto rows = RowsOf(*plan);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], std::make_pair(int64_t{6}, int64_t{1}));
}

TEST(WorkItemTest, PositionsAndNarrowing) {
  WorkItem item;
  item.skip = 2;  // of 10 rows: delivers rows 2..9 (8 of them)
  EXPECT_EQ(RowsOfItem(item, 10, 0), 8);
  item.positions = {0, 3, 7, 9};  // 9 is past the 8 rows: not delivered
  EXPECT_EQ(RowsOfItem(item, 10, 0), 3);
  const WorkItem tail = NarrowItem(item, 1, -1);
  EXPECT_EQ(tail.positions, (std::vector<int64_t>{3, 7, 9}));
  EXPECT_EQ(tail.skip, 2);
  const WorkItem none = NarrowItem(item, 4, 6);
  EXPECT_TRUE(none.positions.empty());
  EXPECT_EQ(RowsOfItem(none, 10, 0), 0);  // narrowed to nothing: no row, not every row
  WorkItem plain;
  plain.limit = 6;
  const WorkItem middle = NarrowItem(plain, 2, 5);
  EXPECT_EQ(middle.skip, 2);
  EXPECT_EQ(middle.limit, 3);
  const WorkItem rest = NarrowItem(plain, 4, -1);
  EXPECT_EQ(rest.skip, 4);
  EXPECT_EQ(rest.limit, 2);
  EXPECT_EQ(RowsOfItem(rest, 10, 0), 2);
}

}  // namespace
}  // namespace petastorm
