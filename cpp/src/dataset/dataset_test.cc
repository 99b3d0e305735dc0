#include "petastorm/dataset.h"

#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "petastorm/dataset_writer.h"
#include "petastorm/reader.h"
#include "util/test_macros_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;
using testing::TestRow;
using testing::TestSchema;

// Counts, per path, the reads that reach a file's last 8 bytes (the footer length and the
// "PAR1" magic): one per footer parse. Column-chunk reads never reach them.
class FooterCounter {
 public:
  void Count(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[path];
  }
  std::map<std::string, int> counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> counts_;
};

class CountingFile : public arrow::io::RandomAccessFile {
 public:
  CountingFile(std::shared_ptr<arrow::io::RandomAccessFile> base, std::string path, FooterCounter* counter)
      : base_(std::move(base)), path_(std::move(path)), counter_(counter) {}

  arrow::Status Close() override { return base_->Close(); }
  bool closed() const override { return base_->closed(); }
  arrow::Result<int64_t> Tell() const override { return base_->Tell(); }
  arrow::Status Seek(int64_t position) override { return base_->Seek(position); }
  arrow::Result<int64_t> GetSize() override { return base_->GetSize(); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t position, base_->Tell());
    ARROW_RETURN_NOT_OK(Note(position, nbytes));
    return base_->Read(nbytes, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(int64_t position, base_->Tell());
    ARROW_RETURN_NOT_OK(Note(position, nbytes));
    return base_->Read(nbytes);
  }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    ARROW_RETURN_NOT_OK(Note(position, nbytes));
    return base_->ReadAt(position, nbytes, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    ARROW_RETURN_NOT_OK(Note(position, nbytes));
    return base_->ReadAt(position, nbytes);
  }

 private:
  arrow::Status Note(int64_t position, int64_t nbytes) {
    ARROW_ASSIGN_OR_RAISE(int64_t size, base_->GetSize());
    if (nbytes > 0 && position + nbytes >= size && position < size && size - position <= (1 << 20) &&
        position + nbytes > size - 8) {
      counter_->Count(path_);
    }
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::io::RandomAccessFile> base_;
  std::string path_;
  FooterCounter* counter_;
};

// The local filesystem, with every opened file counting its footer reads.
class CountingFileSystem : public arrow::fs::SlowFileSystem {
 public:
  explicit CountingFileSystem(FooterCounter* counter)
      : arrow::fs::SlowFileSystem(std::make_shared<arrow::fs::LocalFileSystem>(), 0.0),
        base_(std::make_shared<arrow::fs::LocalFileSystem>()),
        counter_(counter) {}

  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto file, base_->OpenInputFile(path));
    return std::make_shared<CountingFile>(std::move(file), path, counter_);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const arrow::fs::FileInfo& info) override {
    return OpenInputFile(info.path());
  }

 private:
  std::shared_ptr<arrow::fs::FileSystem> base_;
  FooterCounter* counter_;
};

std::string WriteDataset(const ScratchDir& scratch, int files, int row_groups_per_file, int rows_per_group) {
  const std::string url = scratch.Path("ds");
  WriteOptions options;
  options.rows_per_rowgroup = rows_per_group;
  options.rows_per_file = row_groups_per_file * rows_per_group;
  auto writer = DatasetWriter::Open(url, TestSchema(), options).ValueOrDie();
  for (int i = 0; i < files * row_groups_per_file * rows_per_group; ++i) {
    EXPECT_TRUE(writer->Write(TestRow(i)).ok());
  }
  EXPECT_TRUE(writer->Close().ok());
  return url;
}

int64_t ReadAllRows(Reader& reader) {
  int64_t rows = 0;
  while (true) {
    auto batch = reader.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || !*batch) break;
    rows += (*batch)->num_rows;
  }
  return rows;
}

TEST(DatasetTest, AShuffledReadParsesEachFooterOnce) {
  ScratchDir scratch;
  const std::string url = WriteDataset(scratch, 8, 8, 3);
  FooterCounter counter;
  auto fs = std::make_shared<CountingFileSystem>(&counter);
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(fs, {url}));
  ASSERT_EQ(dataset->files().size(), 8u);
  ASSERT_EQ(dataset->row_groups().size(), 64u);
  // The row-group counts come from _common_metadata: no data footer is read to open.
  EXPECT_EQ(dataset->footers_read(), 0);

  ReaderOptions options;
  options.workers_count = 4;
  options.shuffle_row_groups = true;
  options.shuffle_rows = true;
  options.seed = 7;
  options.num_epochs = 2;
  options.results_queue_size = 4;
  ASSERT_OK_AND_ASSIGN(auto reader, Reader::Open(dataset, options));
  EXPECT_EQ(ReadAllRows(*reader), 2 * 64 * 3);

  const auto counts = counter.counts();
  int data_files = 0;
  for (const std::string& file : dataset->files()) {
    ++data_files;
    auto it = counts.find(file);
    ASSERT_NE(it, counts.end()) << file;
    EXPECT_EQ(it->second, 1) << file;
  }
  EXPECT_EQ(data_files, 8);
  EXPECT_EQ(dataset->footers_read(), 8);
  // Another reader on the same Dataset reuses the footers.
  ASSERT_OK_AND_ASSIGN(auto again, Reader::Open(dataset, options));
  EXPECT_EQ(ReadAllRows(*again), 2 * 64 * 3);
  EXPECT_EQ(dataset->footers_read(), 8);
  for (const std::string& file : dataset->files()) EXPECT_EQ(counter.counts().at(file), 1) << file;
}

TEST(DatasetTest, OpeningAStoreWithoutCountsReadsEachFooterOnceForEverything) {
  ScratchDir scratch;
  const std::string url = WriteDataset(scratch, 3, 2, 4);
  std::filesystem::remove(std::filesystem::path(url) / std::string(kCommonMetadataFile));
  FooterCounter counter;
  auto fs = std::make_shared<CountingFileSystem>(&counter);
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(fs, {url}));
  EXPECT_NE(dataset->schema(), nullptr);  // from the first footer: the writer stores it in every file
  EXPECT_EQ(dataset->row_groups().size(), 6u);
  EXPECT_EQ(dataset->footers_read(), 3);
  // Row counts, schemas and readers use the footers read at Open.
  for (int64_t i = 0; i < 6; ++i) {
    ASSERT_OK_AND_ASSIGN(int64_t rows, dataset->RowGroupNumRows(i));
    EXPECT_EQ(rows, 4);
  }
  ASSERT_OK_AND_ASSIGN(auto schema, dataset->FileSchema(1));
  EXPECT_GE(schema->GetFieldIndex("id"), 0);
  ReaderOptions options;
  options.schema = TestSchema();
  options.workers_count = 3;
  ASSERT_OK_AND_ASSIGN(auto reader, Reader::Open(dataset, options));
  EXPECT_EQ(ReadAllRows(*reader), 24);
  EXPECT_EQ(dataset->footers_read(), 3);
  for (const auto& [path, count] : counter.counts()) EXPECT_EQ(count, 1) << path;
}

TEST(DatasetTest, ConcurrentFirstCallsReadAFooterOnce) {
  ScratchDir scratch;
  const std::string url = WriteDataset(scratch, 2, 3, 2);
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(url));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto metadata = dataset->FileMetadata(t % 2);
      if (!metadata.ok() || (*metadata)->num_row_groups() != 3) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dataset->footers_read(), 2);
  // The same object every time.
  EXPECT_EQ(dataset->FileMetadata(0).ValueOrDie().get(), dataset->FileMetadata(0).ValueOrDie().get());
}

TEST(DatasetTest, ReadPropertiesPreBufferAndCoalesce) {
  ScratchDir scratch;
  const std::string url = WriteDataset(scratch, 1, 1, 2);
  ASSERT_OK_AND_ASSIGN(auto local, Dataset::Open(url));
  EXPECT_TRUE(local->read_properties().pre_buffer());
  EXPECT_FALSE(local->read_properties().use_threads());
  EXPECT_TRUE(local->read_properties().cache_options().lazy);
  EXPECT_GT(local->read_properties().cache_options().hole_size_limit, 0);
  // Any filesystem other than the local one: every range of a read requested up front.
  FooterCounter counter;
  ASSERT_OK_AND_ASSIGN(auto other, Dataset::Open(std::make_shared<CountingFileSystem>(&counter), {url}));
  EXPECT_TRUE(other->read_properties().pre_buffer());
  EXPECT_FALSE(other->read_properties().cache_options().lazy);
}

TEST(DatasetTest, ListsFilesRowGroupsAndPartitions) {
  ScratchDir scratch;
  const std::string root = scratch.Path("parts");
  for (const char* part : {"k=1", "k=2"}) {
    const std::string url = root + "/" + part;
    WriteOptions options;
    options.rows_per_rowgroup = 2;
    auto writer = DatasetWriter::Open(url, TestSchema(), options).ValueOrDie();
    for (int i = 0; i < 5; ++i) ASSERT_OK(writer->Write(TestRow(i)));
    ASSERT_OK(writer->Close());
    std::filesystem::remove(std::filesystem::path(url) / std::string(kCommonMetadataFile));
  }
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open("file://" + root));
  EXPECT_EQ(dataset->root(), root);
  ASSERT_EQ(dataset->files().size(), 2u);
  EXPECT_EQ(dataset->row_groups().size(), 6u);
  ASSERT_EQ(dataset->partition_keys().size(), 1u);
  EXPECT_EQ(dataset->partition_keys()[0].name, "k");
  EXPECT_EQ(dataset->partition_keys()[0].type->id(), arrow::Type::INT64);
  EXPECT_EQ(dataset->PartitionKeyIndex("k"), 0);
  EXPECT_EQ(dataset->PartitionKeyIndex("id"), -1);
  ASSERT_OK_AND_ASSIGN(auto value, dataset->PartitionValue(1, 0));
  EXPECT_EQ(value->ToString(), "2");
  // Row groups come in file order, then position.
  EXPECT_EQ(dataset->row_groups()[3].file_index, 1);
  EXPECT_EQ(dataset->row_groups()[3].row_group, 0);

  // A list of URLs: one dataset rooted at their common directory, keys still parsed.
  ASSERT_OK_AND_ASSIGN(auto listed, Dataset::Open(std::vector<std::string>{
                                        "file://" + root + "/k=2", "file://" + root + "/k=1"}));
  EXPECT_EQ(listed->root(), root);
  EXPECT_EQ(listed->files(), dataset->files());
  EXPECT_EQ(listed->partition_keys().size(), 1u);
}

std::string MetadataValue(const Dataset& dataset, const std::string& key) {
  if (!dataset.metadata()) return "<no metadata>";
  auto value = dataset.metadata()->Get(key);
  return value.ok() ? *value : "<absent>";
}

TEST(DatasetTest, MetadataIsWrittenAgainKeepingKeysAndUpdatedInPlace) {
  ScratchDir scratch;
  const std::string url = testing::WriteTestDataset(scratch, 10, 4);
  ASSERT_OK(UpdateDatasetMetadata(url, {{"my.index", "v1"}, {"other", "x"}}));
  ASSERT_OK_AND_ASSIGN(auto updated, Dataset::Open(url));
  EXPECT_EQ(MetadataValue(*updated, "my.index"), "v1");
  ASSERT_NE(updated->schema(), nullptr);  // the Unischema and the counts stay
  EXPECT_EQ(updated->row_groups().size(), 3u);

  // Written again from the footers: earlier keys stay, `extra` replaces, an empty value removes.
  ASSERT_OK(WriteDatasetMetadata(url, *TestSchema(), {{"other", ""}, {"extra", "e"}}));
  ASSERT_OK_AND_ASSIGN(auto rewritten, Dataset::Open(url));
  EXPECT_EQ(MetadataValue(*rewritten, "my.index"), "v1");
  EXPECT_EQ(MetadataValue(*rewritten, "other"), "<absent>");
  EXPECT_EQ(MetadataValue(*rewritten, "extra"), "e");
  EXPECT_EQ(rewritten->row_groups().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(url) / "_temporary"));

  // Without _common_metadata: the first file's schema and key-values (its Unischema JSON).
  std::filesystem::remove(std::filesystem::path(url) / std::string(kCommonMetadataFile));
  ASSERT_OK(UpdateDatasetMetadata(url, {{"k", "v"}}));
  ASSERT_OK_AND_ASSIGN(auto from_footer, Dataset::Open(url));
  EXPECT_EQ(MetadataValue(*from_footer, "k"), "v");
  EXPECT_NE(from_footer->schema(), nullptr);
  EXPECT_FALSE(UpdateDatasetMetadata(scratch.Path("nothing-here"), {{"k", "v"}}).ok());
}

TEST(DatasetTest, MetadataPathsOutsideTheRootAreRefused) {
  ScratchDir scratch;
  const std::string url = testing::WriteTestDataset(scratch, 4, 2);
  ASSERT_OK(UpdateDatasetMetadata(url, {{std::string(kRowGroupsPerFileKey), R"({"../outside.parquet": 1})"}}));
  auto opened = Dataset::Open(url);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("../outside.parquet"), std::string::npos) << opened.status();
  EXPECT_NE(opened.status().message().find("not inside the dataset directory"), std::string::npos);
}

TEST(DatasetTest, ErrorsNameTheUrl) {
  ScratchDir scratch;
  auto missing = Dataset::Open(scratch.Path("nothing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_NE(missing.status().message().find("nothing"), std::string::npos);
  std::filesystem::create_directories(scratch.Path("empty"));
  auto empty = Dataset::Open(scratch.Path("empty"));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("No Parquet data files"), std::string::npos);
  EXPECT_FALSE(Dataset::Open(std::vector<std::string>{}).ok());
  // A file that is not Parquet: the footer error names it, and is not kept.
  const std::string url = WriteDataset(scratch, 1, 1, 2);
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(url));
  const std::string file = dataset->files()[0];
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    std::fputs("not parquet at all", f);
    std::fclose(f);
  }
  auto footer = dataset->FileMetadata(0);
  ASSERT_FALSE(footer.ok());
  EXPECT_NE(footer.status().message().find(file), std::string::npos) << footer.status();
  EXPECT_FALSE(dataset->FileMetadata(5).ok());
  EXPECT_FALSE(dataset->RowGroupNumRows(-1).ok());
}

}  // namespace
}  // namespace petastorm
