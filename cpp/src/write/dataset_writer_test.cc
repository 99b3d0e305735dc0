#include "petastorm/dataset_writer.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>

#include "petastorm/dataset.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;
using testing::TestRow;
using testing::TestSchema;

bool HasMetadata(const std::string& dir) {
  return std::filesystem::exists(std::filesystem::path(dir) / "_common_metadata");
}

int CountEntries(const std::string& dir) {
  int n = 0;
  for (auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    (void)entry;
    ++n;
  }
  return n;
}

TEST(DatasetWriterTest, WritesRowGroupsByRowCountAndFilesByRows) {
  ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  WriteOptions options;
  options.rows_per_rowgroup = 10;
  options.rows_per_file = 30;
  auto writer = DatasetWriter::Open(url, TestSchema(), options).ValueOrDie();
  for (int i = 0; i < 75; ++i) ASSERT_TRUE(writer->Write(TestRow(i)).ok());
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(writer->rows_written(), 75);
  EXPECT_TRUE(HasMetadata(url));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(url) / "_temporary"));

  auto dataset = Dataset::Open("file://" + url).ValueOrDie();
  EXPECT_EQ(dataset->files().size(), 3u);             // 30 + 30 + 15 rows
  EXPECT_EQ(dataset->row_groups().size(), 8u);        // 3 + 3 + 2
  EXPECT_EQ(dataset->schema()->ToJson(), TestSchema()->ToJson());
  int64_t rows = 0;
  for (size_t f = 0; f < dataset->files().size(); ++f) {
    auto reader = dataset->OpenFile(static_cast<int>(f)).ValueOrDie();
    rows += reader->parquet_reader()->metadata()->num_rows();
  }
  EXPECT_EQ(rows, 75);
}

TEST(DatasetWriterTest, CutsRowGroupsByEncodedBytes) {
  ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  WriteOptions options;
  options.rowgroup_size_bytes = 2000;  // a few rows each
  auto writer = DatasetWriter::Open(url, TestSchema(), options).ValueOrDie();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer->Write(TestRow(i)).ok());
  ASSERT_TRUE(writer->Close().ok());
  auto dataset = Dataset::Open(url).ValueOrDie();
  EXPECT_GT(dataset->row_groups().size(), 5u);
  EXPECT_LT(dataset->row_groups().size(), 100u);
}

TEST(DatasetWriterTest, ValidationErrorsNameFieldAndRowAndKeepWriterUsable) {
  ScratchDir scratch;
  auto writer = DatasetWriter::Open(scratch.Path("ds"), TestSchema()).ValueOrDie();
  ASSERT_TRUE(writer->Write(TestRow(0)).ok());

  NamedRow missing = TestRow(1);
  missing.erase(missing.begin());  // no "id"
  auto status = writer->Write(missing);
  EXPECT_NE(status.message().find("Row 1"), std::string::npos) << status;
  EXPECT_NE(status.message().find("'id'"), std::string::npos) << status;

  NamedRow unknown = TestRow(1);
  unknown.emplace_back("bogus", int64_t{1});
  status = writer->Write(unknown);
  EXPECT_NE(status.message().find("'bogus'"), std::string::npos) << status;

  NamedRow null_id = TestRow(1);
  null_id[0].second = std::monostate{};
  status = writer->Write(null_id);
  EXPECT_NE(status.message().find("not nullable"), std::string::npos) << status;

  NamedRow bad_shape = TestRow(1);
  bad_shape[2].second = testing::FilledTensor(ScalarType::kFloat32, {3, 1}, 1);
  status = writer->Write(bad_shape);
  EXPECT_NE(status.message().find("'matrix'"), std::string::npos) << status;
  EXPECT_NE(status.message().find("(2, None)"), std::string::npos) << status;

  NamedRow bad_dtype = TestRow(1);
  bad_dtype[2].second = testing::FilledTensor(ScalarType::kFloat64, {2, 1}, 1);
  status = writer->Write(bad_dtype);
  EXPECT_TRUE(status.IsInvalid()) << status;
  EXPECT_NE(status.message().find("Unexpected type of 'matrix'"), std::string::npos) << status;

  NamedRow wrong_scalar = TestRow(1);
  wrong_scalar[0].second = std::string("seven");
  status = writer->Write(wrong_scalar);
  EXPECT_TRUE(status.IsTypeError()) << status;

  ASSERT_TRUE(writer->Write(TestRow(1)).ok());
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(writer->rows_written(), 2);
}

TEST(DatasetWriterTest, AbortLeavesNothing) {
  ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  {
    WriteOptions options;
    options.rows_per_rowgroup = 5;
    auto writer = DatasetWriter::Open(url, TestSchema(), options).ValueOrDie();
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(writer->Write(TestRow(i)).ok());
    // Destroyed without Close(): an interrupted write.
  }
  EXPECT_FALSE(HasMetadata(url));
  EXPECT_EQ(CountEntries(url), 0);
  EXPECT_FALSE(Dataset::Open(url).ok());
}

TEST(DatasetWriterTest, RefusesExistingDatasetUnlessOverwrite) {
  ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  {
    auto writer = DatasetWriter::Open(url, TestSchema()).ValueOrDie();
    ASSERT_TRUE(writer->Write(TestRow(0)).ok());
    ASSERT_TRUE(writer->Close().ok());
  }
  auto again = DatasetWriter::Open(url, TestSchema());
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status();
  EXPECT_TRUE(HasMetadata(url));  // the existing dataset is untouched

  WriteOptions overwrite;
  overwrite.overwrite = true;
  auto writer = DatasetWriter::Open(url, TestSchema(), overwrite).ValueOrDie();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->Write(TestRow(i)).ok());
  ASSERT_TRUE(writer->Close().ok());
  auto dataset = Dataset::Open(url).ValueOrDie();
  EXPECT_EQ(dataset->files().size(), 1u);
}

TEST(DatasetWriterTest, WriteAfterCloseFails) {
  ScratchDir scratch;
  auto writer = DatasetWriter::Open(scratch.Path("ds"), TestSchema()).ValueOrDie();
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_FALSE(writer->Write(TestRow(0)).ok());
}

}  // namespace
}  // namespace petastorm
