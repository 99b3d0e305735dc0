#include "petastorm/row_access.h"

#include <arrow/array/array_binary.h>
#include <arrow/array/array_primitive.h>
#include <gtest/gtest.h>

#include "util/test_macros_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;
using testing::TestRow;
using testing::WriteTestDataset;

// Row k of `batch` equals TestRow(id): every field.
void ExpectRow(const DecodedRowGroup& batch, int64_t k, int64_t id) {
  const auto& ids = static_cast<const arrow::Int64Array&>(*batch.column("id")->values);
  const auto& labels = static_cast<const arrow::StringArray&>(*batch.column("label")->values);
  const NamedRow expected = TestRow(id);
  EXPECT_EQ(ids.Value(k), id);
  if (std::holds_alternative<std::monostate>(expected[1].second)) {
    EXPECT_TRUE(labels.IsNull(k));
  } else {
    EXPECT_EQ(labels.GetString(k), std::get<std::string>(expected[1].second));
  }
  const auto& matrix = batch.column("matrix")->tensors[static_cast<size_t>(k)];
  ASSERT_TRUE(matrix.has_value()) << "row " << id;
  EXPECT_TRUE(testing::SameBytes(*matrix, std::get<Tensor>(expected[2].second)));
}

TEST(RowAccessTest, EveryRowSingleAndInAnyOrder) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 23, 5);
  RowAccessOptions options;
  options.threads = 3;
  ASSERT_OK_AND_ASSIGN(auto access, RowAccess::Open(Dataset::Open(url).ValueOrDie(), options));
  ASSERT_EQ(access->num_rows(), 23);
  for (int64_t i = 0; i < 23; ++i) {
    ASSERT_OK_AND_ASSIGN(auto one, access->Take({i}));
    ASSERT_EQ(one->num_rows, 1);
    ExpectRow(*one, 0, i);
  }
  const std::vector<int64_t> rows = {22, 0, 7, 7, 13, 4, 21, 5};
  ASSERT_OK_AND_ASSIGN(auto batch, access->Take(rows));
  ASSERT_EQ(batch->num_rows, static_cast<int64_t>(rows.size()));
  for (size_t k = 0; k < rows.size(); ++k) ExpectRow(*batch, static_cast<int64_t>(k), rows[k]);
  const RowAccessStats stats = access->stats();
  EXPECT_EQ(stats.misses, 5);  // each of the 5 row groups read once
  EXPECT_EQ(stats.cached_row_groups, 5);
}

TEST(RowAccessTest, LocatesAndRejectsOutOfRange) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 12, 5);
  ASSERT_OK_AND_ASSIGN(auto access, RowAccess::Open(Dataset::Open(url).ValueOrDie()));
  ASSERT_OK_AND_ASSIGN(auto at, access->Locate(11));
  EXPECT_EQ(at, std::make_pair(int64_t{2}, int64_t{1}));
  auto bad = access->Take({3, 12});
  ASSERT_TRUE(bad.status().IsIndexError());
  EXPECT_NE(bad.status().message().find("Row 12 out of range"), std::string::npos) << bad.status().ToString();
  EXPECT_TRUE(access->Take({-1}).status().IsIndexError());
  ASSERT_OK_AND_ASSIGN(auto none, access->Take({}));
  EXPECT_EQ(none->num_rows, 0);
  EXPECT_EQ(none->columns.size(), 4u);
}

TEST(RowAccessTest, CacheIsBoundedByRowGroups) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 20, 5);
  RowAccessOptions options;
  options.fields = {"id"};
  options.cache_row_groups = 2;
  ASSERT_OK_AND_ASSIGN(auto access, RowAccess::Open(Dataset::Open(url).ValueOrDie(), options));
  for (int64_t i : {0, 5, 10, 1, 15}) ASSERT_OK(access->Take({i}).status());
  const RowAccessStats stats = access->stats();
  EXPECT_EQ(stats.cached_row_groups, 2);
  EXPECT_EQ(stats.misses, 5);
  EXPECT_EQ(stats.hits, 0);  // row 1's group was evicted by row 10's
}

TEST(RowAccessTest, LoadRowGroupsNamesTheRowGroup) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 10, 5);
  auto dataset = Dataset::Open(url).ValueOrDie();
  ASSERT_OK_AND_ASSIGN(auto groups, LoadRowGroups(dataset, dataset->schema(), {1, 0}, 2));
  ASSERT_EQ(groups.size(), 2u);
  ExpectRow(*groups[0], 0, 5);
  ExpectRow(*groups[1], 4, 4);
  auto bad = LoadRowGroups(dataset, dataset->schema(), {0, 2}, 2);
  ASSERT_TRUE(bad.status().IsIndexError());
  EXPECT_NE(bad.status().message().find("Row group 2 out of range"), std::string::npos);
}

}  // namespace
}  // namespace petastorm
