#include "petastorm/filter.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "petastorm/dataset_writer.h"
#include "petastorm/reader.h"
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


TEST(FilterTest, RowFilterKeepsExactlyTheMatchingRowsWithPyarrowsNullRules) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 12, 12);  // label null where id % 3 == 0
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(url));
  ASSERT_OK_AND_ASSIGN(auto view, dataset->schema()->View({"id", "label", "matrix"}));
  ASSERT_OK_AND_ASSIGN(auto file, dataset->OpenFile(0));
  ASSERT_OK_AND_ASSIGN(auto group, LoadRowGroup(*dataset, view, dataset->row_groups()[0], file.get()));
  auto rows = [&](Filters filters) {
    auto filter = MakeRowFilter(std::move(filters)).ValueOrDie();
    std::vector<bool> keep = filter->Evaluate(*group).ValueOrDie();
    std::vector<int64_t> out;
    for (size_t i = 0; i < keep.size(); ++i) if (keep[i]) out.push_back(static_cast<int64_t>(i));
    return out;
  };
  EXPECT_EQ(rows({{{"id", ">=", {int64_t{9}}}}}), (std::vector<int64_t>{9, 10, 11}));
  EXPECT_EQ(rows({{{"id", "<", {2.5}}}}), (std::vector<int64_t>{0, 1, 2}));  // by the common type
  EXPECT_EQ(rows({{{"id", "in", {int64_t{4}, 4.5, int64_t{7}}}}}), (std::vector<int64_t>{4, 7}));
  EXPECT_EQ(rows({{{"label", "==", {std::string("row-4")}}}}), (std::vector<int64_t>{4}));
  // Comparisons with a null cell drop it; "not in" keeps it unless the set holds None.
  EXPECT_EQ(rows({{{"label", "!=", {std::string("row-4")}}}}), (std::vector<int64_t>{1, 2, 5, 7, 8, 10, 11}));
  EXPECT_EQ(rows({{{"label", "not in", {std::string("row-1")}}}, {{"id", "==", {int64_t{20}}}}}),
            (std::vector<int64_t>{0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(rows({{{"label", "in", {Value{}, std::string("row-1")}}}}), (std::vector<int64_t>{0, 1, 3, 6, 9}));
  EXPECT_EQ(rows({{{"label", "not in", {Value{}}}}}), (std::vector<int64_t>{1, 2, 4, 5, 7, 8, 10, 11}));
  EXPECT_TRUE(rows({{{"label", "==", {Value{}}}}}).empty());
  // Kleene: (null-label rows: label == x is null) or id < 1 keeps row 0 only from the nulls.
  EXPECT_EQ(rows({{{"label", "==", {std::string("row-2")}}}, {{"id", "<", {int64_t{1}}}}}),
            (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(rows({{{"id", ">", {int64_t{2}}}, {"id", "<", {int64_t{6}}}}}), (std::vector<int64_t>{3, 4, 5}));

  auto filter = MakeRowFilter({{{"matrix", "==", {int64_t{1}}}}}).ValueOrDie();
  EXPECT_EQ(filter->fields(), (std::vector<std::string>{"matrix"}));
  auto on_array = filter->Evaluate(*group);
  ASSERT_FALSE(on_array.ok());
  EXPECT_NE(on_array.status().message().find("'matrix'"), std::string::npos) << on_array.status();
  auto wrong = MakeRowFilter({{{"label", "<", {int64_t{3}}}}}).ValueOrDie()->Evaluate(*group);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("'label'"), std::string::npos) << wrong.status();
  EXPECT_FALSE(MakeRowFilter({{{"id", "~", {int64_t{1}}}}}).ok());
}

TEST(FilterTest, PruningFollowsTheNullRules) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 12, 3);  // row groups 0-2, 3-5, 6-8, 9-11
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(url));
  auto kept = [&](Filters filters) { return PruneRowGroups(*dataset, filters).ValueOrDie(); };
  // Every row group holds a null label (ids 0, 3, 6, 9): "in" with None keeps them all.
  EXPECT_EQ(kept({{{"label", "in", {Value{}}}}}).size(), 4u);
  EXPECT_TRUE(kept({{{"id", "==", {Value{}}}}}).empty());  // compared with None: no row
  // "not in" a set without None keeps a row group whose non-null cells all are in it (its nulls).
  EXPECT_EQ(kept({{{"label", "not in", {std::string("row-1"), std::string("row-2")}}}}).size(), 4u);
}

}  // namespace
}  // namespace petastorm
