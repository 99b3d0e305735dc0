#include "petastorm/filter.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "petastorm/dataset_writer.h"
#include "util/test_macros_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;
using testing::TestRow;
using testing::TestSchema;
using testing::WriteTestDataset;


TEST(FilterTest, PrunesRowGroupsByStatistics) {
  testing::ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 50, 10);  // ids 0..49, 5 row groups
  auto dataset = Dataset::Open(url).ValueOrDie();
  auto kept = [&](Filters filters) { return PruneRowGroups(*dataset, filters).ValueOrDie(); };
  EXPECT_EQ(kept({{{"id", ">=", {int64_t{25}}}}}), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(kept({{{"id", "<", {int64_t{10}}}}}), (std::vector<int64_t>{0}));
  EXPECT_EQ(kept({{{"id", "in", {int64_t{3}, int64_t{47}}}}}), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(kept({{{"id", ">", {int64_t{15}}}, {"id", "<", {int64_t{22}}}}}), (std::vector<int64_t>{1, 2}));
  // OR of two conjunctions.
  EXPECT_EQ(kept({{{"id", "=", {int64_t{5}}}}, {{"id", "==", {int64_t{45}}}}}), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(kept({{{"id", "!=", {int64_t{5}}}}}).size(), 5u);
  EXPECT_EQ(kept({{{"label", "=", {std::string("row-1")}}}}).size(), 1u);
  EXPECT_TRUE(kept({{{"id", ">", {int64_t{1000}}}}}).empty());
  auto unknown = PruneRowGroups(*dataset, {{{"nope", "=", {int64_t{1}}}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos);
  auto bad_op = PruneRowGroups(*dataset, {{{"id", "~", {int64_t{1}}}}});
  ASSERT_FALSE(bad_op.ok());
  EXPECT_NE(bad_op.status().message().find("'~'"), std::string::npos);
}

TEST(FilterTest, PartitionKeysAreJudgedByThePathValue) {
  ScratchDir scratch;
  for (int year : {2020, 2021, 2022}) {
    const std::string url = WriteTestDataset(scratch, 6, 3, "parts/year=" + std::to_string(year));
    std::filesystem::remove(std::filesystem::path(url) / std::string(kCommonMetadataFile));
  }
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(scratch.Path("parts")));
  ASSERT_EQ(dataset->row_groups().size(), 6u);
  auto kept = [&](Filters filters) { return PruneRowGroups(*dataset, filters).ValueOrDie(); };
  EXPECT_EQ(kept({{{"year", "=", {int64_t{2021}}}}}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(kept({{{"year", "not in", {int64_t{2020}, int64_t{2022}}}}}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(kept({{{"year", ">", {int64_t{2020}}}, {"id", "<", {int64_t{3}}}}}), (std::vector<int64_t>{2, 4}));
  EXPECT_TRUE(kept({{{"year", "<", {int64_t{2000}}}}}).empty());
  // Everything kept without filters.
  EXPECT_EQ(kept({}).size(), 6u);
}

TEST(FilterTest, BadValuesAndOperatorsNameTheColumn) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 10, 5);
  auto dataset = Dataset::Open(url).ValueOrDie();
  auto two_values = PruneRowGroups(*dataset, {{{"id", "<", {int64_t{1}, int64_t{2}}}}});
  ASSERT_FALSE(two_values.ok());
  EXPECT_NE(two_values.status().message().find("takes one value"), std::string::npos);
  auto wrong_type = PruneRowGroups(*dataset, {{{"id", "=", {std::string("not a number")}}}});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("'id'"), std::string::npos) << wrong_type.status();
  // "!=" prunes only row groups whose every row holds the value.
  EXPECT_EQ(PruneRowGroups(*dataset, {{{"label", "!=", {std::string("x")}}}}).ValueOrDie().size(), 2u);
}

}  // namespace
}  // namespace petastorm
