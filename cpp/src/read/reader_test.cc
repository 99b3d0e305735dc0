#include "petastorm/reader.h"

#include <arrow/array/array_binary.h>
#include <arrow/array/array_primitive.h>
#include <arrow/array/builder_binary.h>
#include <arrow/array/util.h>
#include <arrow/scalar.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/mockfs.h>
#include <arrow/io/file.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "petastorm/dataset_writer.h"
#include "petastorm/filter.h"
#include "petastorm/plan.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;
using testing::TestRow;
using testing::TestSchema;
using testing::WriteTestDataset;


TEST(ReaderTest, ReadsBackWhatWasWritten) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 57, 10);
  ReaderOptions options;
  options.shuffle_row_groups = false;
  auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), options).ValueOrDie();
  int64_t next_id = 0;
  int batches = 0;
  while (auto batch = reader->Next().ValueOrDie()) {
    ++batches;
    const auto& ids = static_cast<const arrow::Int64Array&>(*batch->columns[0].values);
    const auto& labels = static_cast<const arrow::StringArray&>(*batch->columns[1].values);
    for (int64_t i = 0; i < batch->num_rows; ++i, ++next_id) {
      const NamedRow expected = TestRow(next_id);
      EXPECT_EQ(ids.Value(i), next_id);
      if (std::holds_alternative<std::monostate>(expected[1].second)) {
        EXPECT_TRUE(labels.IsNull(i));
      } else {
        EXPECT_EQ(labels.GetString(i), std::get<std::string>(expected[1].second));
      }
      ASSERT_TRUE(batch->columns[2].tensors[i].has_value());
      EXPECT_TRUE(testing::SameBytes(*batch->columns[2].tensors[i], std::get<Tensor>(expected[2].second)));
      if (std::holds_alternative<std::monostate>(expected[3].second)) {
        EXPECT_FALSE(batch->columns[3].tensors[i].has_value());
      } else {
        ASSERT_TRUE(batch->columns[3].tensors[i].has_value());
        EXPECT_TRUE(testing::SameBytes(*batch->columns[3].tensors[i], std::get<Tensor>(expected[3].second)));
      }
    }
  }
  EXPECT_EQ(next_id, 57);
  EXPECT_EQ(batches, 6);
}

TEST(ReaderTest, SelectsFieldsAndRepeatsEpochs) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 12, 5);
  ReaderOptions options;
  options.fields = {"matrix", "id"};
  options.num_epochs = 3;
  auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), options).ValueOrDie();
  ASSERT_EQ(reader->schema()->fields().size(), 2u);
  EXPECT_EQ(reader->schema()->fields()[0].name, "matrix");
  int64_t rows = 0;
  while (auto batch = reader->Next().ValueOrDie()) {
    ASSERT_EQ(batch->columns.size(), 2u);
    rows += batch->num_rows;
  }
  EXPECT_EQ(rows, 36);
}

std::vector<int64_t> ReadIds(const std::string& url, ReaderOptions options) {
  options.fields = {"id"};
  auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), options).ValueOrDie();
  std::vector<int64_t> ids;
  while (auto batch = reader->Next().ValueOrDie()) {
    const auto& col = static_cast<const arrow::Int64Array&>(*batch->columns[0].values);
    for (int64_t i = 0; i < batch->num_rows; ++i) ids.push_back(col.Value(i));
  }
  return ids;
}

TEST(ReaderTest, SeededSequenceIsTheSameForAnyWorkerCount) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 90, 7);
  ReaderOptions options;
  options.seed = 17;
  options.shuffle_rows = true;
  options.shuffle_row_drop_partitions = 2;
  options.num_epochs = 2;
  options.workers_count = 1;
  const auto one = ReadIds(url, options);
  options.workers_count = 4;
  EXPECT_EQ(ReadIds(url, options), one);
  options.pool = PoolType::kDummy;
  EXPECT_EQ(ReadIds(url, options), one);
  auto sorted = one;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(sorted.size(), 180u);
  for (int64_t i = 0; i < 180; ++i) EXPECT_EQ(sorted[i], i / 2);
}

// On a filesystem other than the local one the reader requests the next items' column chunks
// ahead (read/read_ahead_internal.h): the rows and their order are the same as without.
TEST(ReaderTest, ReadAheadOnRemoteStorageDeliversTheSameSequence) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 90, 7);
  std::string root;
  auto local = FileSystemFromUrl(url, &root).ValueOrDie();
  // SlowFileSystem: another type_name (so not "local") and a latency on every call.
  auto remote = std::make_shared<arrow::fs::SlowFileSystem>(local, 0.0005);
  auto read = [&](std::shared_ptr<arrow::fs::FileSystem> fs, ReaderOptions options) {
    options.fields = {"id", "label"};
    auto reader = Reader::Open(Dataset::Open(fs, {root}).ValueOrDie(), options).ValueOrDie();
    std::vector<std::string> rows;
    while (auto batch = reader->Next().ValueOrDie()) {
      const auto& ids = static_cast<const arrow::Int64Array&>(*batch->columns[0].values);
      const auto& labels = static_cast<const arrow::StringArray&>(*batch->columns[1].values);
      for (int64_t i = 0; i < batch->num_rows; ++i) {
        rows.push_back(std::to_string(ids.Value(i)) + ":" + (labels.IsNull(i) ? "-" : labels.GetString(i)));
      }
    }
    return rows;
  };
  ReaderOptions options;
  options.seed = 5;
  options.shuffle_rows = true;
  options.shuffle_row_drop_partitions = 2;
  options.num_epochs = 3;
  for (int workers : {1, 4}) {
    options.workers_count = workers;
    const auto expected = read(local, options);
    ASSERT_EQ(expected.size(), 270u);
    EXPECT_EQ(read(remote, options), expected) << workers << " workers";
  }
  options.pool = PoolType::kDummy;
  EXPECT_EQ(read(remote, options), read(local, options));
  // Stopped with read-ahead pending: nothing is left running or leaked (ASan/TSan builds).
  options.pool = PoolType::kThread;
  options.num_epochs = std::nullopt;
  auto reader = Reader::Open(Dataset::Open(remote, {root}).ValueOrDie(), options).ValueOrDie();
  ASSERT_NE(reader->Next().ValueOrDie(), nullptr);
  reader.reset();
}

TEST(ReaderTest, DiagnosticsTellIoWaitFromDecoding) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 40, 5);
  std::string root;
  auto local = FileSystemFromUrl(url, &root).ValueOrDie();
  // 20 ms on every call: the workers wait for bytes far longer than they decode 5 rows.
  auto slow = std::make_shared<arrow::fs::SlowFileSystem>(local, 0.02, /*seed=*/3);
  for (auto pool : {PoolType::kThread, PoolType::kDummy}) {
    for (const auto& fs : {std::shared_ptr<arrow::fs::FileSystem>(local), std::shared_ptr<arrow::fs::FileSystem>(slow)}) {
      ReaderOptions options;
      options.pool = pool;
      options.workers_count = 2;
      options.fields = {"id", "label"};
      auto reader = Reader::Open(Dataset::Open(fs, {root}).ValueOrDie(), options).ValueOrDie();
      int64_t rows = 0;
      while (auto batch = reader->Next().ValueOrDie()) rows += batch->num_rows;
      EXPECT_EQ(rows, 40);
      const ReaderDiagnostics d = reader->diagnostics();
      EXPECT_GE(d.io_seconds, 0);
      EXPECT_GT(d.parquet_decode_seconds, 0);
      EXPECT_DOUBLE_EQ(d.read_seconds, d.io_seconds + d.parquet_decode_seconds);
      if (fs == slow) {
        EXPECT_GT(d.io_seconds, d.parquet_decode_seconds) << fs->type_name();
      }
    }
  }
}

TEST(ReaderTest, AnItemWithPositionsDeliversOnlyThoseRows) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 57, 10);
  ReaderOptions options;
  options.fields = {"id"};
  WorkItem item;
  item.row_group = 2;  // ids 20 .. 29
  item.skip = 1;       // 21 .. 29; positions among those
  item.positions = {0, 4, 8, 20};
  options.start.first_items = {item};
  options.start.epoch = 1;  // then nothing: one epoch
  auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), options).ValueOrDie();
  std::vector<int64_t> ids;
  while (auto batch = reader->Next().ValueOrDie()) {
    const auto& column = static_cast<const arrow::Int64Array&>(*batch->columns[0].values);
    for (int64_t i = 0; i < batch->num_rows; ++i) ids.push_back(column.Value(i));
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{21, 25, 29}));
  EXPECT_EQ(reader->ItemRows(options.start, 1).ValueOrDie(), std::vector<int64_t>{3});
}

TEST(ReaderTest, ShardsPartitionTheRows) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 60, 5);
  std::vector<int64_t> all;
  for (int shard = 0; shard < 3; ++shard) {
    ReaderOptions options;
    options.cur_shard = shard;
    options.shard_count = 3;
    options.seed = 5;
    options.shard_seed = 5;
    auto ids = ReadIds(url, options);
    EXPECT_EQ(ids.size(), 20u);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 60; ++i) EXPECT_EQ(all[i], i);
  ReaderOptions too_many;
  too_many.cur_shard = 0;
  too_many.shard_count = 13;
  auto status = Reader::Open(Dataset::Open(url).ValueOrDie(), too_many).status();
  EXPECT_TRUE(IsNoDataAvailable(status)) << status;
  EXPECT_NE(status.message().find("Number of row-groups"), std::string::npos) << status;
}

TEST(ReaderTest, ErrorsNameTheProblem) {
  ScratchDir scratch;
  auto missing = Dataset::Open(scratch.Path("nothing_here"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nothing_here"), std::string::npos);

  const std::string url = WriteTestDataset(scratch, 3, 5);
  ReaderOptions options;
  options.fields = {"nope"};
  auto unknown = Reader::Open(Dataset::Open(url).ValueOrDie(), options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos);

  ReaderOptions zero_epochs;
  zero_epochs.num_epochs = 0;
  EXPECT_FALSE(Reader::Open(Dataset::Open(url).ValueOrDie(), zero_epochs).ok());
}

// Rewrites data file `file_index` of the dataset with the same rows but garbage in every
// "matrix" cell.
void CorruptMatrixCells(const std::string& url, int file_index) {
  auto dataset = Dataset::Open(url).ValueOrDie();
  const std::string path = dataset->files()[static_cast<size_t>(file_index)];
  std::shared_ptr<arrow::Table> table;
  {
    auto file = dataset->OpenFile(file_index).ValueOrDie();
    ASSERT_TRUE(file->ReadTable(&table).ok());
  }
  arrow::BinaryBuilder garbage;
  for (int64_t i = 0; i < table->num_rows(); ++i) ASSERT_TRUE(garbage.Append("not a .npy").ok());
  std::shared_ptr<arrow::Array> cells;
  ASSERT_TRUE(garbage.Finish(&cells).ok());
  const int column = table->schema()->GetFieldIndex("matrix");
  table = table->SetColumn(column, arrow::field("matrix", arrow::binary()),
                           std::make_shared<arrow::ChunkedArray>(cells)).ValueOrDie();
  auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, table->num_rows()).ok());
  ASSERT_TRUE(out->Close().ok());
}

TEST(ReaderTest, ErrorsAreSticky) {
  ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  {
    WriteOptions write;
    write.rows_per_rowgroup = 10;
    write.rows_per_file = 10;
    auto writer = DatasetWriter::Open(url, TestSchema(), write).ValueOrDie();
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(writer->Write(TestRow(i)).ok());
    ASSERT_TRUE(writer->Close().ok());
  }
  CorruptMatrixCells(url, 3);  // row group 3 of 5
  for (PoolType pool : {PoolType::kThread, PoolType::kDummy}) {
    ReaderOptions options;
    options.shuffle_row_groups = false;
    options.workers_count = 3;
    options.pool = pool;
    auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), options).ValueOrDie();
    int64_t rows = 0;
    arrow::Status first;
    while (true) {
      auto batch = reader->Next();
      if (!batch.ok()) {
        first = batch.status();
        break;
      }
      ASSERT_NE(*batch, nullptr) << "the corrupt row group was not reported";
      rows += (*batch)->num_rows;
    }
    EXPECT_EQ(rows, 30);
    EXPECT_NE(first.message().find("'matrix'"), std::string::npos) << first;
    EXPECT_NE(first.message().find("row group 0"), std::string::npos) << first;
    for (int k = 0; k < 4; ++k) {
      auto again = reader->Next();
      ASSERT_FALSE(again.ok());
      EXPECT_EQ(again.status().code(), first.code());
      EXPECT_EQ(again.status().message(), first.message());
    }
    reader->Stop();
    EXPECT_EQ(reader->Next().status().message(), first.message());
    // Reset starts over: the first three row groups read again, then the same error.
    ASSERT_TRUE(reader->Reset().ok());
    int64_t again_rows = 0;
    arrow::Status second;
    while (true) {
      auto batch = reader->Next();
      if (!batch.ok()) {
        second = batch.status();
        break;
      }
      ASSERT_NE(*batch, nullptr);
      again_rows += (*batch)->num_rows;
    }
    EXPECT_EQ(again_rows, 30);
    EXPECT_EQ(second.message(), first.message());
  }
}

TEST(ReaderTest, SlicesSplitThePlanInOrder) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 40, 4);
  ReaderOptions options;
  options.seed = 3;
  options.shuffle_rows = true;
  options.num_epochs = 2;
  options.workers_count = 2;
  options.fields = {"id"};
  const auto whole = ReadIds(url, options);
  std::vector<std::unique_ptr<Reader>> slices;
  for (int64_t k = 0; k < 3; ++k) {
    slices.push_back(Reader::OpenSlice(Dataset::Open(url).ValueOrDie(), options, ItemSlice{k, 3}).ValueOrDie());
  }
  std::vector<int64_t> merged;
  for (int64_t item = 0;; ++item) {
    auto batch = slices[static_cast<size_t>(item % 3)]->Next().ValueOrDie();
    if (!batch) break;
    const auto& col = static_cast<const arrow::Int64Array&>(*batch->columns[0].values);
    for (int64_t i = 0; i < batch->num_rows; ++i) merged.push_back(col.Value(i));
  }
  EXPECT_EQ(merged, whole);
  EXPECT_FALSE(Reader::OpenSlice(Dataset::Open(url).ValueOrDie(), options, ItemSlice{3, 3}).ok());
}

}  // namespace
}  // namespace petastorm

namespace petastorm {
namespace {

// Read-ahead stops at results_queue_bytes beyond the first kMinReadAheadItems row groups: with
// 10 workers and 50 slots, a consumer that sleeps sees at most 4 row groups waiting when one
// row group is bigger than the budget; and everything arrives, in order.
TEST(ReaderTest, ReadAheadIsBoundedByBytes) {
  ScratchDir scratch;
  const std::string url = WriteTestDataset(scratch, 200, 10);
  for (const int64_t budget : {int64_t{1}, ReaderOptions::kDefaultResultsQueueBytes}) {
    ReaderOptions options;
    options.shuffle_row_groups = false;
    options.workers_count = 10;
    options.results_queue_bytes = budget;
    auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), options).ValueOrDie();
    int64_t next_id = 0, worst = 0;
    while (auto batch = reader->Next().ValueOrDie()) {
      EXPECT_GT(batch->MemoryBytes(), 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      worst = std::max(worst, reader->diagnostics().items_in_flight);
      const auto& ids = static_cast<const arrow::Int64Array&>(*batch->columns[0].values);
      for (int64_t i = 0; i < batch->num_rows; ++i) EXPECT_EQ(ids.Value(i), next_id++);
    }
    EXPECT_EQ(next_id, 200);
    if (budget == 1) EXPECT_LE(worst, ReaderOptions::kMinReadAheadItems);
  }
}

}  // namespace
}  // namespace petastorm

namespace petastorm {
namespace {

// What a row group keeps alive: a tensor that is a slice (decoded without a copy, or taken
// from a bigger row group) holds its whole parent; a buffer shared by several counts once.
TEST(DecodedRowGroupTest, MemoryBytesCountsWholeParentsOnce) {
  std::shared_ptr<arrow::Buffer> parent = arrow::AllocateBuffer(1000).ValueOrDie();
  DecodedColumn column;
  for (int i = 0; i < 3; ++i) {
    Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {10}).ValueOrDie();
    t.data = arrow::SliceBuffer(arrow::SliceBuffer(parent, 100, 500), 10 * i, 10);
    column.tensors.push_back(std::move(t));
  }
  column.tensors.push_back(std::nullopt);
  column.tensors.push_back(Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {64}).ValueOrDie());
  DecodedRowGroup group;
  group.columns.push_back(std::move(column));
  EXPECT_EQ(group.MemoryBytes(), 1000 + 64);
  DecodedColumn ids;
  ids.values = arrow::MakeArrayFromScalar(arrow::Int64Scalar(7), 100).ValueOrDie();
  group.columns.push_back(std::move(ids));
  EXPECT_EQ(group.MemoryBytes(), 1000 + 64 + 800);
}

}  // namespace
}  // namespace petastorm
