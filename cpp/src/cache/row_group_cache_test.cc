#include <algorithm>
#include "petastorm/row_group_cache.h"

#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <arrow/array.h>
#include <gtest/gtest.h>

#include "petastorm/dataset_writer.h"
#include "petastorm/reader.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

namespace fs = std::filesystem;
using testing::FilledTensor;
using testing::ScratchDir;

// Scalars with nulls, variable shapes, Fortran-order tensors, null tensors, per-row item sizes.
std::shared_ptr<const Unischema> CacheTestSchema() {
  return Unischema::Make(
             "CacheTestSchema",
             {{"id", ScalarType::kInt64, {}, nullptr, false},
              {"label", ScalarType::kString, {}, nullptr, true},
              {"matrix", ScalarType::kFloat32, {2, std::nullopt}, MakeNdarrayCodec(), false},
              {"image", ScalarType::kUInt8, {4, 6, 3},
               MakeCompressedImageCodec("png").ValueOrDie(), true},
              {"names", ScalarType::kBytes, {std::nullopt}, MakeNdarrayCodec(), true}})
      .ValueOrDie();
}

NamedRow CacheTestRow(int64_t id) {
  NamedRow row;
  row.emplace_back("id", id);
  row.emplace_back("label", id % 3 == 0 ? Value{} : Value{"row-" + std::to_string(id)});
  Tensor matrix = FilledTensor(ScalarType::kFloat32, {2, 1 + id % 4}, static_cast<int>(id));
  matrix.fortran_order = id % 2 == 1;
  row.emplace_back("matrix", matrix);
  row.emplace_back("image", id % 5 == 0 ? Value{}
                                        : Value{FilledTensor(ScalarType::kUInt8, {4, 6, 3},
                                                             static_cast<int>(id))});
  if (id % 4 != 2) {
    ElementType bytes;
    bytes.type = ScalarType::kBytes;
    bytes.itemsize = 1 + id % 3;
    Tensor names = Tensor::Allocate(bytes, {id % 3}).ValueOrDie();
    for (int64_t i = 0; i < names.nbytes(); ++i) names.data->mutable_data()[i] = 'a' + i % 26;
    row.emplace_back("names", names);
  }
  return row;
}

class RowGroupCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string url = scratch_.Path("ds");
    WriteOptions options;
    options.rows_per_rowgroup = 10;
    auto writer = DatasetWriter::Open(url, CacheTestSchema(), options).ValueOrDie();
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(writer->Write(CacheTestRow(i)).ok());
    ASSERT_TRUE(writer->Close().ok());
    dataset_ = Dataset::Open(url).ValueOrDie();
    ASSERT_EQ(dataset_->row_groups().size(), 3u);
    schema_ = dataset_->schema();
    for (int i = 0; i < 3; ++i) batches_.push_back(Load(i));
    cache_dir_ = scratch_.Path("cache");
  }

  std::shared_ptr<const DecodedRowGroup> Load(int index) const {
    const RowGroupRef ref = dataset_->row_groups()[static_cast<size_t>(index)];
    auto file = dataset_->OpenFile(ref.file_index).ValueOrDie();
    return LoadRowGroup(*dataset_, schema_, ref, file.get()).ValueOrDie();
  }

  std::shared_ptr<RowGroupCache> MakeCache(
      int64_t limit = 1 << 30, EvictionPolicy policy = EvictionPolicy::kLeastRecentlyUsed,
      std::string path = "") const {
    LocalDiskCacheOptions options;
    options.path = path.empty() ? cache_dir_ : path;
    options.size_limit_bytes = limit;
    options.eviction_policy = policy;
    return MakeLocalDiskCache(options).ValueOrDie();
  }

  // GetOrLoad whose loader returns `batch` and counts its calls in `*calls`.
  static std::shared_ptr<const DecodedRowGroup> Get(RowGroupCache& cache, const std::string& key,
                                                 const std::shared_ptr<const Unischema>& schema,
                                                 std::shared_ptr<const DecodedRowGroup> batch,
                                                 int* calls) {
    auto result = cache.GetOrLoad(key, schema, [&]() -> arrow::Result<std::shared_ptr<const DecodedRowGroup>> {
      ++*calls;
      return batch;
    });
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : nullptr;
  }

  std::vector<std::string> EntryFiles() const {
    std::vector<std::string> out;
    if (!fs::exists(cache_dir_)) return out;
    for (const auto& e : fs::directory_iterator(cache_dir_)) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  ScratchDir scratch_;
  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const Unischema> schema_;
  std::vector<std::shared_ptr<const DecodedRowGroup>> batches_;
  std::string cache_dir_;
};

// Everything a reader sees: the same fields, rows, scalars and tensor bytes.
void ExpectSameBatch(const DecodedRowGroup& expected, const DecodedRowGroup& actual) {
  ASSERT_EQ(expected.num_rows, actual.num_rows);
  ASSERT_EQ(expected.columns.size(), actual.columns.size());
  EXPECT_EQ(expected.source.file_index, actual.source.file_index);
  EXPECT_EQ(expected.source.row_group, actual.source.row_group);
  for (size_t c = 0; c < expected.columns.size(); ++c) {
    const DecodedColumn& e = expected.columns[c];
    const DecodedColumn& a = actual.columns[c];
    ASSERT_EQ(e.field->name, a.field->name);
    if (e.field->is_tensor() && (!e.tensors.empty() || !e.values)) {
      ASSERT_EQ(e.tensors.size(), a.tensors.size()) << e.field->name;
      for (size_t r = 0; r < e.tensors.size(); ++r) {
        ASSERT_EQ(e.tensors[r].has_value(), a.tensors[r].has_value()) << e.field->name << " " << r;
        if (!e.tensors[r]) continue;
        EXPECT_TRUE(testing::SameBytes(*e.tensors[r], *a.tensors[r])) << e.field->name << " " << r;
        EXPECT_EQ(e.tensors[r]->fortran_order, a.tensors[r]->fortran_order);
        EXPECT_EQ(e.tensors[r]->element, a.tensors[r]->element);
        // Aligned for the element type (loaded tensors may be slices of the Parquet column).
        const auto alignment = static_cast<uintptr_t>(a.tensors[r]->element.alignment());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(a.tensors[r]->data->data()) % alignment, 0u);
      }
    } else {
      ASSERT_TRUE(a.values) << e.field->name;
      EXPECT_TRUE(e.values->Equals(*a.values))
          << e.field->name << ": " << e.values->ToString() << " vs " << a.values->ToString();
    }
  }
}

TEST_F(RowGroupCacheTest, TestDataCoversTheHardCases) {
  bool fortran = false, null_tensor = false, null_label = false, empty_tensor = false;
  std::set<int64_t> widths, itemsizes;
  for (const auto& batch : batches_) {
    for (int64_t r = 0; r < batch->num_rows; ++r) {
      fortran |= batch->column("matrix")->tensors[r]->fortran_order;
      widths.insert(batch->column("matrix")->tensors[r]->shape[1]);
      null_tensor |= !batch->column("image")->tensors[r].has_value();
      null_label |= batch->column("label")->values->IsNull(r);
      if (const auto& names = batch->column("names")->tensors[r]) {
        itemsizes.insert(names->element.itemsize);
        empty_tensor |= names->nbytes() == 0;
      }
    }
  }
  EXPECT_TRUE(fortran && null_tensor && null_label && empty_tensor);
  EXPECT_EQ(widths.size(), 4u);
  EXPECT_EQ(itemsizes.size(), 3u);
}

TEST_F(RowGroupCacheTest, MissThenHit) {
  auto cache = MakeCache();
  for (int i = 0; i < 3; ++i) {
    const std::string key = "ds:part-0:" + std::to_string(i);
    int calls = 0;
    auto first = Get(*cache, key, schema_, batches_[i], &calls);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(first, batches_[i]);  // a miss returns the loaded batch itself
    auto second = Get(*cache, key, schema_, batches_[i], &calls);
    EXPECT_EQ(calls, 1);
    ASSERT_TRUE(second);
    EXPECT_NE(second, batches_[i]);
    EXPECT_EQ(second->schema, schema_);
    ExpectSameBatch(*batches_[i], *second);
    for (const auto& column : second->columns) {
      EXPECT_EQ(column.field, schema_->GetField(column.field->name));
    }
  }
  const CacheStats stats = cache->stats();
  EXPECT_EQ(stats.hits, 3);
  EXPECT_EQ(stats.misses, 3);
  EXPECT_EQ(stats.stores, 3);
  EXPECT_EQ(stats.dropped, 0);
  EXPECT_EQ(stats.store_failures, 0) << stats.last_store_error;
  EXPECT_EQ(EntryFiles().size(), 3u);
}

TEST_F(RowGroupCacheTest, SecondCacheObjectHits) {
  int calls = 0;
  Get(*MakeCache(), "k", schema_, batches_[1], &calls);
  auto other = MakeCache();
  auto hit = Get(*other, "k", schema_, batches_[1], &calls);
  EXPECT_EQ(calls, 1);
  ExpectSameBatch(*batches_[1], *hit);
  EXPECT_EQ(other->stats().hits, 1);
}

TEST_F(RowGroupCacheTest, AnotherKeyOrSchemaIsAMiss) {
  // Entry "a" under the file name of entry "b", as a hash collision would leave it.
  const std::string other_dir = scratch_.Path("other_cache");
  int calls = 0;
  Get(*MakeCache(1 << 30, EvictionPolicy::kLeastRecentlyUsed, other_dir), "a", schema_,
      batches_[0], &calls);
  auto cache = MakeCache();
  Get(*cache, "b", schema_, batches_[1], &calls);
  ASSERT_EQ(EntryFiles().size(), 1u);
  const std::string a_name = fs::directory_iterator(other_dir)->path().string();
  const std::string b_name = EntryFiles()[0];
  fs::copy_file(a_name, b_name, fs::copy_options::overwrite_existing);
  calls = 0;
  auto b = Get(*cache, "b", schema_, batches_[1], &calls);
  EXPECT_EQ(calls, 1);
  ExpectSameBatch(*batches_[1], *b);
  EXPECT_EQ(cache->stats().dropped, 1);
  EXPECT_NE(cache->stats().last_drop_reason.find("another key ('a')"), std::string::npos)
      << cache->stats().last_drop_reason;
  Get(*cache, "b", schema_, batches_[1], &calls);
  EXPECT_EQ(calls, 1);  // rewritten

  // The same key read with other fields.
  auto view = schema_->View({"id", "matrix"}).ValueOrDie();
  auto narrow = TakeRows(*batches_[0], {0, 1, 2}, view).ValueOrDie();
  calls = 0;
  auto got = Get(*cache, "a", view, narrow, &calls);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, narrow);
  auto again = Get(*cache, "a", view, narrow, &calls);
  EXPECT_EQ(calls, 1);
  ExpectSameBatch(*narrow, *again);
  EXPECT_EQ(again->columns.size(), 2u);
}

TEST_F(RowGroupCacheTest, CorruptEntriesAreDroppedAndReloaded) {
  using Corruption = std::function<void(const std::string&)>;
  auto rewrite = [](const std::string& path, auto edit) {
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    edit(bytes);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  const std::vector<std::pair<std::string, Corruption>> corruptions = {
      {"flip a middle byte", [&](const std::string& p) { rewrite(p, [](std::string& b) { b[b.size() / 2] ^= 0x40; }); }},
      {"flip the first byte", [&](const std::string& p) { rewrite(p, [](std::string& b) { b[0] ^= 1; }); }},
      {"flip a CRC byte", [&](const std::string& p) { rewrite(p, [](std::string& b) { b[b.size() - 15] ^= 1; }); }},
      {"flip a magic byte", [&](const std::string& p) { rewrite(p, [](std::string& b) { b.back() ^= 1; }); }},
      {"truncate to half", [&](const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); }},
      {"drop the last byte", [&](const std::string& p) { fs::resize_file(p, fs::file_size(p) - 1); }},
      {"truncate to 10 bytes", [&](const std::string& p) { fs::resize_file(p, 10); }},
      {"empty", [&](const std::string& p) { fs::resize_file(p, 0); }},
      {"append a byte", [&](const std::string& p) { rewrite(p, [](std::string& b) { b.push_back('x'); }); }},
      {"garbage", [&](const std::string& p) {
         rewrite(p, [](std::string& b) {
           std::mt19937 rng(7);
           for (char& c : b) c = static_cast<char>(rng());
         });
       }},
  };
  auto cache = MakeCache();
  int64_t dropped = 0;
  for (const auto& [what, corrupt] : corruptions) {
    SCOPED_TRACE(what);
    int calls = 0;
    Get(*cache, "key", schema_, batches_[2], &calls);
    ASSERT_EQ(EntryFiles().size(), 1u);
    const std::string entry = EntryFiles()[0];
    corrupt(entry);
    calls = 0;
    auto reloaded = Get(*cache, "key", schema_, batches_[2], &calls);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(reloaded, batches_[2]);
    EXPECT_EQ(cache->stats().dropped, ++dropped);
    EXPECT_NE(cache->stats().last_drop_reason.find(entry), std::string::npos)
        << cache->stats().last_drop_reason;
    auto hit = Get(*cache, "key", schema_, batches_[2], &calls);
    EXPECT_EQ(calls, 1);  // the entry was rewritten
    ExpectSameBatch(*batches_[2], *hit);
  }
}

// Damage that a checksum does not catch (the CRC recomputed after each edit) must not crash
// the reader: every edited entry either reads back as some batch or is dropped and reloaded.
TEST_F(RowGroupCacheTest, SurvivesEditsBehindAValidChecksum) {
  auto small = TakeRows(*batches_[0], {0, 1, 2, 5}).ValueOrDie();
  auto cache = MakeCache();
  int calls = 0;
  Get(*cache, "key", schema_, small, &calls);
  const std::string entry = EntryFiles()[0];
  std::string original;
  {
    std::ifstream in(entry, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  constexpr size_t kTrailer = 24;
  ASSERT_GT(original.size(), kTrailer);
  const size_t payload = original.size() - kTrailer;
  int reloads = 0;
  for (size_t pos = 0; pos < payload; pos += 3) {
    for (const uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bytes = original;
      bytes[pos] = static_cast<char>(bytes[pos] ^ mask);
      const uint32_t crc = static_cast<uint32_t>(
          crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(payload)));
      for (int i = 0; i < 4; ++i) bytes[payload + 8 + i] = static_cast<char>(crc >> (8 * i));
      {
        std::ofstream out(entry, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      }
      calls = 0;
      auto result = cache->GetOrLoad("key", schema_, [&]() -> arrow::Result<std::shared_ptr<const DecodedRowGroup>> {
        ++calls;
        return small;
      });
      ASSERT_TRUE(result.ok()) << pos << ": " << result.status().ToString();
      ASSERT_TRUE(*result);
      reloads += calls;
      if (calls == 0) {
        // Read back: whatever it holds must be self-consistent.
        for (const auto& column : (*result)->columns) {
          for (const auto& t : column.tensors) {
            if (t) EXPECT_TRUE(t->Validate().ok());
          }
          if (column.values) EXPECT_TRUE(column.values->ValidateFull().ok());
        }
      }
    }
  }
  EXPECT_GT(reloads, 0);
  EXPECT_EQ(cache->stats().dropped, reloads);
}

TEST_F(RowGroupCacheTest, EvictsTheLeastRecentlyUsed) {
  // Same batch under same-length keys: entries of equal size.
  int calls = 0;
  Get(*MakeCache(), "probe", schema_, batches_[0], &calls);
  const int64_t entry_size = static_cast<int64_t>(fs::file_size(EntryFiles()[0]));
  fs::remove_all(cache_dir_);

  auto cache = MakeCache(3 * entry_size + entry_size / 2);
  for (const char* key : {"key-a", "key-b", "key-c"}) Get(*cache, key, schema_, batches_[0], &calls);
  Get(*cache, "key-a", schema_, batches_[0], &calls);  // a is now more recent than b
  Get(*cache, "key-d", schema_, batches_[0], &calls);  // evicts b
  EXPECT_EQ(cache->stats().evictions, 1);
  EXPECT_EQ(EntryFiles().size(), 3u);
  calls = 0;
  for (const char* key : {"key-a", "key-c", "key-d"}) Get(*cache, key, schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 0);
  Get(*cache, "key-b", schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 1);
  // Storing b again evicted the least recently used of a, c, d: a.
  calls = 0;
  Get(*cache, "key-a", schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cache->stats().evictions, 3);
}

TEST_F(RowGroupCacheTest, LeastRecentlyStoredIgnoresHits) {
  int calls = 0;
  Get(*MakeCache(), "probe", schema_, batches_[0], &calls);
  const int64_t entry_size = static_cast<int64_t>(fs::file_size(EntryFiles()[0]));
  fs::remove_all(cache_dir_);

  auto cache = MakeCache(3 * entry_size + entry_size / 2, EvictionPolicy::kLeastRecentlyStored);
  for (const char* key : {"key-a", "key-b", "key-c"}) Get(*cache, key, schema_, batches_[0], &calls);
  Get(*cache, "key-a", schema_, batches_[0], &calls);
  Get(*cache, "key-d", schema_, batches_[0], &calls);  // evicts a, the first stored
  calls = 0;
  for (const char* key : {"key-b", "key-c", "key-d"}) Get(*cache, key, schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 0);
  Get(*cache, "key-a", schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 1);
}

TEST_F(RowGroupCacheTest, NoEvictionPolicyStoresWhileItFits) {
  int calls = 0;
  Get(*MakeCache(), "probe", schema_, batches_[0], &calls);
  const int64_t entry_size = static_cast<int64_t>(fs::file_size(EntryFiles()[0]));
  fs::remove_all(cache_dir_);

  auto cache = MakeCache(2 * entry_size + entry_size / 2, EvictionPolicy::kNone);
  for (const char* key : {"key-a", "key-b", "key-c"}) Get(*cache, key, schema_, batches_[0], &calls);
  EXPECT_EQ(cache->stats().stores, 2);
  EXPECT_EQ(cache->stats().skipped_stores, 1);
  EXPECT_EQ(cache->stats().evictions, 0);
  calls = 0;
  for (const char* key : {"key-a", "key-b"}) Get(*cache, key, schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 0);
  Get(*cache, "key-c", schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 1);
}

TEST_F(RowGroupCacheTest, EntryLargerThanTheLimitIsNotKept) {
  auto cache = MakeCache(/*limit=*/1000);
  int calls = 0;
  Get(*cache, "big", schema_, batches_[0], &calls);
  Get(*cache, "big", schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(EntryFiles().empty());
  EXPECT_EQ(cache->stats().skipped_stores, 2);
  EXPECT_EQ(cache->stats().stores, 0);
}

TEST_F(RowGroupCacheTest, ConcurrentGetOrLoadReturnsCorrectData) {
  for (const bool small : {false, true}) {
    SCOPED_TRACE(small ? "evicting" : "roomy");
    fs::remove_all(cache_dir_);
    int calls = 0;
    Get(*MakeCache(), "probe-0", schema_, batches_[0], &calls);
    const int64_t entry_size = static_cast<int64_t>(fs::file_size(EntryFiles()[0]));
    fs::remove_all(cache_dir_);
    // Two caches on one directory, as two readers would have.
    auto cache_a = MakeCache(small ? 2 * entry_size : 1 << 30);
    auto cache_b = MakeCache(small ? 2 * entry_size : 1 << 30);
    std::atomic<int> loads{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t]() {
        RowGroupCache& cache = t % 2 ? *cache_a : *cache_b;
        for (int i = 0; i < 40; ++i) {
          const int group = (t + i) % 3;
          const std::string key = "probe-" + std::to_string(group);
          auto result = cache.GetOrLoad(key, schema_, [&]() -> arrow::Result<std::shared_ptr<const DecodedRowGroup>> {
            ++loads;
            return batches_[group];
          });
          if (!result.ok()) {
            ++failures;
            continue;
          }
          // ExpectSameBatch uses gtest assertions, which are thread-safe.
          ExpectSameBatch(*batches_[group], **result);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    const CacheStats a = cache_a->stats(), b = cache_b->stats();
    EXPECT_EQ(a.hits + a.misses + b.hits + b.misses, 8 * 40);
    EXPECT_EQ(a.misses + b.misses, loads.load());
    EXPECT_EQ(a.dropped + b.dropped, 0);
    EXPECT_EQ(a.store_failures + b.store_failures, 0) << a.last_store_error << b.last_store_error;
    if (!small) EXPECT_LE(loads.load(), 3 * 8);  // at most one load per key per thread
    for (const auto& file : EntryFiles()) {
      EXPECT_NE(file.find(".pscache"), std::string::npos);
      EXPECT_EQ(file.find(".tmp."), std::string::npos) << file;
    }
    int64_t total = 0;
    for (const auto& file : EntryFiles()) total += static_cast<int64_t>(fs::file_size(file));
    if (small) EXPECT_LE(total, 2 * entry_size);
  }
}

TEST_F(RowGroupCacheTest, RejectsInvalidOptions) {
  LocalDiskCacheOptions options;
  options.path = cache_dir_;
  options.size_limit_bytes = 0;
  auto zero = MakeLocalDiskCache(options);
  ASSERT_FALSE(zero.ok());
  EXPECT_TRUE(zero.status().IsInvalid());
  EXPECT_NE(zero.status().message().find(cache_dir_), std::string::npos);
  options.size_limit_bytes = -5;
  EXPECT_TRUE(MakeLocalDiskCache(options).status().IsInvalid());

  options.size_limit_bytes = 100;
  options.expected_row_size_bytes = 21;
  auto too_small = MakeLocalDiskCache(options);
  ASSERT_FALSE(too_small.ok());
  EXPECT_TRUE(too_small.status().IsInvalid());
  EXPECT_NE(too_small.status().message().find("100"), std::string::npos);
  EXPECT_NE(too_small.status().message().find("21"), std::string::npos);
  options.expected_row_size_bytes = 20;
  EXPECT_TRUE(MakeLocalDiskCache(options).ok());
  options.expected_row_size_bytes = 21;
  options.eviction_policy = EvictionPolicy::kNone;
  EXPECT_TRUE(MakeLocalDiskCache(options).ok());  // Petastorm skips the check for 'none'
  options.expected_row_size_bytes = -1;
  EXPECT_TRUE(MakeLocalDiskCache(options).status().IsInvalid());

  LocalDiskCacheOptions no_path;
  no_path.size_limit_bytes = 100;
  EXPECT_TRUE(MakeLocalDiskCache(no_path).status().IsInvalid());

  const std::string file = scratch_.Path("a_file");
  std::ofstream(file) << "x";
  LocalDiskCacheOptions on_file;
  on_file.path = file;
  on_file.size_limit_bytes = 100;
  auto not_dir = MakeLocalDiskCache(on_file);
  ASSERT_FALSE(not_dir.ok());
  EXPECT_TRUE(not_dir.status().IsIOError());
  EXPECT_NE(not_dir.status().message().find(file), std::string::npos);
}

TEST_F(RowGroupCacheTest, LoaderErrorPropagatesAndNothingIsStored) {
  auto cache = MakeCache();
  auto result = cache->GetOrLoad("key", schema_, []() -> arrow::Result<std::shared_ptr<const DecodedRowGroup>> {
    return arrow::Status::IOError("row group 7 of 'x.parquet' is unreadable");
  });
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsIOError());
  EXPECT_EQ(result.status().message(), "row group 7 of 'x.parquet' is unreadable");
  EXPECT_TRUE(EntryFiles().empty());
  EXPECT_EQ(cache->stats().stores, 0);
  EXPECT_EQ(cache->stats().misses, 1);
}

TEST_F(RowGroupCacheTest, UndecodedCodecColumnsAndEmptyBatches) {
  auto cache = MakeCache();
  int calls = 0;
  // A codec column loaded without decoding keeps its encoded cells.
  auto raw = std::make_shared<DecodedRowGroup>(*batches_[1]);
  for (auto& column : raw->columns) column.tensors.clear();
  Get(*cache, "raw", schema_, raw, &calls);
  auto raw_hit = Get(*cache, "raw", schema_, raw, &calls);
  EXPECT_EQ(calls, 1);
  ExpectSameBatch(*raw, *raw_hit);
  // No rows.
  auto empty = TakeRows(*batches_[1], {}).ValueOrDie();
  Get(*cache, "empty", schema_, empty, &calls);
  auto empty_hit = Get(*cache, "empty", schema_, empty, &calls);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(empty_hit->num_rows, 0);
  ExpectSameBatch(*empty, *empty_hit);
  // A batch without a field of the schema cannot be stored, but is still returned.
  auto view = schema_->View({"id"}).ValueOrDie();
  auto narrow = TakeRows(*batches_[1], {0}, view).ValueOrDie();
  EXPECT_EQ(Get(*cache, "narrow", schema_, narrow, &calls), narrow);
  EXPECT_EQ(cache->stats().store_failures, 1);
  EXPECT_NE(cache->stats().last_store_error.find("'label'"), std::string::npos)
      << cache->stats().last_store_error;
}

TEST_F(RowGroupCacheTest, CleanupRemovesTheCache) {
  auto cache = MakeCache();
  int calls = 0;
  Get(*cache, "a", schema_, batches_[0], &calls);
  Get(*cache, "b", schema_, batches_[1], &calls);
  ASSERT_TRUE(cache->Cleanup().ok());
  EXPECT_FALSE(fs::exists(cache_dir_));
  EXPECT_TRUE(cache->Cleanup().ok());  // nothing left to remove
  // Still usable.
  Get(*cache, "a", schema_, batches_[0], &calls);
  Get(*cache, "a", schema_, batches_[0], &calls);
  EXPECT_EQ(calls, 3);
  // Files the cache did not make are kept, and so is their directory.
  std::ofstream(cache_dir_ + "/notes.txt") << "mine";
  ASSERT_TRUE(cache->Cleanup().ok());
  EXPECT_EQ(EntryFiles(), std::vector<std::string>{cache_dir_ + "/notes.txt"});
}

TEST(NullCacheTest, AlwaysLoads) {
  auto cache = MakeNullCache();
  int calls = 0;
  auto batch = std::make_shared<DecodedRowGroup>();
  for (int i = 0; i < 3; ++i) {
    auto got = cache->GetOrLoad("k", nullptr, [&]() -> arrow::Result<std::shared_ptr<const DecodedRowGroup>> {
      ++calls;
      return batch;
    });
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, batch);
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(cache->stats().misses, 3);
  EXPECT_TRUE(cache->Cleanup().ok());
}

}  // namespace
}  // namespace petastorm
