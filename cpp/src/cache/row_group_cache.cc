// Row-group caches: the null cache and the local-disk cache.
//
// Local-disk entry file "<16 hex digits of FNV-1a(key)>.pscache":
//
//   [the row group's IPC form (row_group_ipc.h), the full key in its metadata]
//   [trailer, 24 bytes, little-endian: u64 payload size | u32 CRC-32 of the payload |
//                                      u32 format version | 8 bytes kMagic]
//
// A different key (a hash collision) or schema makes the entry a miss; a bad trailer, CRC or
// IPC form makes it dropped.
//
// Concurrency: entries are written to "<name>.tmp.<pid>.<n>" in the same directory and renamed
// into place, so readers (threads or processes) see a whole entry or none. Recency is the
// file's mtime, set explicitly from a per-process strictly increasing clock so that the order
// of one process's stores and hits is exact even on coarse-timestamp filesystems.
#include "petastorm/row_group_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>

#include "petastorm/row_group_ipc.h"
#include "util/crc32_internal.h"
#include "util/file_util_internal.h"
#include "util/mutex_internal.h"

namespace petastorm {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEntrySuffix = ".pscache";
constexpr std::string_view kTempInfix = ".pscache.tmp.";
constexpr char kMagic[8] = {'P', 'S', 'T', 'M', 'C', 'A', 'C', 'H'};
// 2: the payload is the shared row-group IPC form (1 had a cache-only form).
constexpr uint32_t kFormatVersion = 2;
constexpr int64_t kTrailerSize = 8 + 4 + 4 + 8;
// A temporary file this old was left by a writer that died; removed during eviction scans.
constexpr auto kStaleTempAge = std::chrono::hours(1);

constexpr std::string_view kMetaKey = "petastorm.cache.key";

using internal::Crc32;
using internal::ErrnoText;
using internal::FileId;
using internal::NextStamp;
using internal::ReadWholeFile;
using internal::ToTimespec;
using internal::UniqueFd;
using internal::WriteAll;

// ---- small helpers -------------------------------------------------------------------------

uint64_t Fnv1a64(std::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string EntryName(const std::string& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hash = Fnv1a64(key);
  std::string name(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) name[static_cast<size_t>(i)] = kHex[hash & 0xf];
  return name + std::string(kEntrySuffix);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void PutLE(uint8_t* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t GetLE(const uint8_t* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

// An OutputStream over a file descriptor that buffers small writes and checksums everything.
class ChecksummingFileSink : public arrow::io::OutputStream {
 public:
  ChecksummingFileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    buffer_.reserve(kBufferSize);
  }

  arrow::Status Write(const void* data, int64_t nbytes) override {
    const auto* bytes = static_cast<const uint8_t*>(data);
    crc_ = Crc32(crc_, bytes, nbytes);
    position_ += nbytes;
    if (static_cast<int64_t>(buffer_.size()) + nbytes <= kBufferSize) {
      buffer_.insert(buffer_.end(), bytes, bytes + nbytes);
      return arrow::Status::OK();
    }
    ARROW_RETURN_NOT_OK(Flush());
    if (nbytes < kBufferSize) {
      buffer_.insert(buffer_.end(), bytes, bytes + nbytes);
      return arrow::Status::OK();
    }
    return WriteAll(fd_, bytes, nbytes, path_);
  }
  arrow::Status Flush() override {
    auto status = WriteAll(fd_, buffer_.data(), static_cast<int64_t>(buffer_.size()), path_);
    buffer_.clear();
    return status;
  }
  arrow::Status Close() override {
    closed_ = true;
    return Flush();
  }
  arrow::Result<int64_t> Tell() const override { return position_; }
  bool closed() const override { return closed_; }

  uint32_t crc() const { return crc_; }

 private:
  static constexpr int64_t kBufferSize = 1 << 20;
  int fd_;
  std::string path_;
  std::vector<uint8_t> buffer_;
  uint32_t crc_ = 0;
  int64_t position_ = 0;
  bool closed_ = false;
};

// The batch stored in `file` (a whole entry file), or Invalid saying what is wrong with it.
arrow::Result<std::shared_ptr<const DecodedRowGroup>> DecodeEntry(
    const std::shared_ptr<arrow::Buffer>& file, const std::string& key,
    const std::shared_ptr<const Unischema>& schema, const std::string& schema_json) {
  const int64_t size = file->size();
  if (size < kTrailerSize) {
    return arrow::Status::Invalid("truncated: ", size, " bytes");
  }
  const uint8_t* trailer = file->data() + size - kTrailerSize;
  if (std::memcmp(trailer + 16, kMagic, sizeof(kMagic)) != 0) {
    return arrow::Status::Invalid("no entry trailer (truncated or not an entry)");
  }
  const uint64_t payload_size = GetLE(trailer, 8);
  if (payload_size != static_cast<uint64_t>(size - kTrailerSize)) {
    return arrow::Status::Invalid("the trailer records ", payload_size, " bytes, the file has ",
                                  size - kTrailerSize);
  }
  if (GetLE(trailer + 12, 4) != kFormatVersion) {
    return arrow::Status::Invalid("format version ", GetLE(trailer + 12, 4), ", expected ",
                                  kFormatVersion);
  }
  const uint32_t crc = Crc32(0, file->data(), static_cast<int64_t>(payload_size));
  if (crc != static_cast<uint32_t>(GetLE(trailer + 8, 4))) {
    return arrow::Status::Invalid("CRC-32 mismatch");
  }

  auto payload = arrow::SliceBuffer(file, 0, static_cast<int64_t>(payload_size));
  IpcMetadata extra;
  ARROW_ASSIGN_OR_RAISE(auto group, RowGroupFromIpc(payload, schema, &extra));
  std::string stored_key;
  for (const auto& [k, v] : extra) {
    if (k == kMetaKey) stored_key = v;
  }
  if (stored_key != key) return arrow::Status::Invalid("it holds another key ('", stored_key, "')");
  return group;
}

// Writes the entry to a new file at `path`, stamped with `mtime_ns`; returns its size.
arrow::Result<int64_t> WriteEntryFile(const std::string& path, const std::string& key, const Unischema& schema,
                                      const std::string& schema_json, const DecodedRowGroup& group,
                                      int64_t mtime_ns) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    return arrow::Status::IOError("Cannot create '", path, "': ", ErrnoText(errno));
  }
  ChecksummingFileSink sink(fd.get(), path);
  ARROW_RETURN_NOT_OK(WriteRowGroupIpc(group, schema, schema_json, {{std::string(kMetaKey), key}}, &sink));
  ARROW_RETURN_NOT_OK(sink.Flush());
  ARROW_ASSIGN_OR_RAISE(const int64_t payload_size, sink.Tell());
  uint8_t trailer[kTrailerSize];
  PutLE(trailer, static_cast<uint64_t>(payload_size), 8);
  PutLE(trailer + 8, sink.crc(), 4);
  PutLE(trailer + 12, kFormatVersion, 4);
  std::memcpy(trailer + 16, kMagic, sizeof(kMagic));
  ARROW_RETURN_NOT_OK(WriteAll(fd.get(), trailer, kTrailerSize, path));
  const timespec times[2] = {ToTimespec(mtime_ns), ToTimespec(mtime_ns)};
  if (::futimens(fd.get(), times) != 0) {
    return arrow::Status::IOError("Cannot set the time of '", path, "': ", ErrnoText(errno));
  }
  if (fd.Reset() != 0) {
    return arrow::Status::IOError("Cannot close '", path, "': ", ErrnoText(errno));
  }
  return payload_size + kTrailerSize;
}

// ---- the caches ----------------------------------------------------------------------------

class NullCache final : public RowGroupCache {
 public:
  arrow::Result<std::shared_ptr<const DecodedRowGroup>> GetOrLoad(
      const std::string&, const std::shared_ptr<const Unischema>&, const Loader& load) override {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return load();
  }
  CacheStats stats() const override {
    CacheStats stats;
    stats.misses = misses_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  std::atomic<int64_t> misses_{0};
};

struct EntryFile {
  std::string name;
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

class LocalDiskCache final : public RowGroupCache {
 public:
  explicit LocalDiskCache(LocalDiskCacheOptions options) : options_(std::move(options)) {}

  arrow::Result<std::shared_ptr<const DecodedRowGroup>> GetOrLoad(
      const std::string& key, const std::shared_ptr<const Unischema>& schema,
      const Loader& load) override {
    const std::string name = EntryName(key);
    const std::string path = PathOf(name);
    const std::string schema_json = schema->ToJson();

    FileId id;
    auto file = ReadWholeFile(path, &id);
    if (file.ok() && *file) {
      auto batch = DecodeEntry(*file, key, schema, schema_json);
      if (batch.ok()) {
        if (options_.eviction_policy == EvictionPolicy::kLeastRecentlyUsed) Touch(path);
        hits_.fetch_add(1, std::memory_order_relaxed);
        return batch;
      }
      DropEntry(path, id, batch.status());
    } else if (!file.ok()) {
      // Unreadable (permissions, I/O error): load and try to replace it.
      NoteDropped(file.status());
    }

    misses_.fetch_add(1, std::memory_order_relaxed);
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<const DecodedRowGroup> loaded, load());
    if (!loaded) return loaded;
    auto stored = Store(key, name, *schema, schema_json, *loaded);
    if (!stored.ok()) {
      store_failures_.fetch_add(1, std::memory_order_relaxed);
      internal::MutexLock lock(&mutex_);
      last_store_error_ = stored.ToString();
    }
    return loaded;
  }

  CacheStats stats() const override {
    CacheStats stats;
    stats.hits = hits_.load(std::memory_order_relaxed);
    stats.misses = misses_.load(std::memory_order_relaxed);
    stats.stores = stores_.load(std::memory_order_relaxed);
    stats.evictions = evictions_.load(std::memory_order_relaxed);
    stats.dropped = dropped_.load(std::memory_order_relaxed);
    stats.skipped_stores = skipped_stores_.load(std::memory_order_relaxed);
    stats.store_failures = store_failures_.load(std::memory_order_relaxed);
    internal::MutexLock lock(&mutex_);
    stats.last_store_error = last_store_error_;
    stats.last_drop_reason = last_drop_reason_;
    return stats;
  }

  arrow::Status Cleanup() override {
    internal::MutexLock lock(&mutex_);
    std::error_code ec;
    if (!fs::exists(options_.path, ec)) return arrow::Status::OK();
    bool foreign = false;
    std::vector<fs::path> ours;
    for (fs::directory_iterator it(options_.path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (EndsWith(name, kEntrySuffix) || name.find(kTempInfix) != std::string::npos) {
        ours.push_back(it->path());
      } else {
        foreign = true;
      }
    }
    if (ec) {
      return arrow::Status::IOError("Cannot list the cache directory '", options_.path,
                                    "': ", ec.message());
    }
    for (const auto& p : ours) {
      if (!fs::remove(p, ec) && ec) {
        return arrow::Status::IOError("Cannot remove cache entry '", p.string(),
                                      "': ", ec.message());
      }
    }
    if (!foreign && !fs::remove(options_.path, ec) && ec) {
      return arrow::Status::IOError("Cannot remove the cache directory '", options_.path,
                                    "': ", ec.message());
    }
    return arrow::Status::OK();
  }

 private:
  std::string PathOf(const std::string& name) const {
    return (fs::path(options_.path) / name).string();
  }

  void Touch(const std::string& path) {
    const int64_t stamp = NextStamp();
    const timespec times[2] = {ToTimespec(stamp), ToTimespec(stamp)};
    // Failure (the entry was evicted meanwhile) only costs recency.
    (void)::utimensat(AT_FDCWD, path.c_str(), times, 0);
  }

  // Removes an unreadable entry, unless another writer has replaced it since it was read.
  void DropEntry(const std::string& path, const FileId& id, const arrow::Status& why) {
    NoteDropped(why.WithMessage("Dropped cache entry '", path, "': ", why.message()));
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino) {
      ::unlink(path.c_str());
    }
  }

  void NoteDropped(const arrow::Status& why) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    internal::MutexLock lock(&mutex_);
    last_drop_reason_ = why.ToString();
  }

  arrow::Status Store(const std::string& key, const std::string& name, const Unischema& schema,
                      const std::string& schema_json, const DecodedRowGroup& batch) {
    const std::string path = PathOf(name);
    auto where = [&]() { return "Cannot cache entry '" + path + "' (key '" + key + "'): "; };
    std::error_code ec;
    fs::create_directories(options_.path, ec);  // again: Cleanup() may have removed it
    static std::atomic<uint64_t> temp_counter{0};
    const std::string temp = path.substr(0, path.size() - kEntrySuffix.size()) +
                             std::string(kTempInfix) + std::to_string(::getpid()) + "." +
                             std::to_string(temp_counter.fetch_add(1));
    auto written = WriteEntryFile(temp, key, schema, schema_json, batch, NextStamp());
    if (!written.ok()) {
      ::unlink(temp.c_str());
      return written.status().WithMessage(where(), written.status().message());
    }
    const int64_t size = *written;
    if (size > options_.size_limit_bytes) {
      ::unlink(temp.c_str());
      skipped_stores_.fetch_add(1, std::memory_order_relaxed);
      return arrow::Status::OK();
    }

    internal::MutexLock lock(&mutex_);
    if (options_.eviction_policy == EvictionPolicy::kNone) {
      int64_t total = 0;
      for (const EntryFile& entry : ScanEntries()) {
        if (entry.name != name) total += entry.size;
      }
      if (total + size > options_.size_limit_bytes) {
        ::unlink(temp.c_str());
        skipped_stores_.fetch_add(1, std::memory_order_relaxed);
        return arrow::Status::OK();
      }
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return arrow::Status::IOError(where(), "rename from '", temp, "' failed: ", ErrnoText(err));
    }
    stores_.fetch_add(1, std::memory_order_relaxed);
    if (options_.eviction_policy != EvictionPolicy::kNone) EvictLocked(name);
    return arrow::Status::OK();
  }

  // Entry files of the directory (any process's); removes stale temporary files on the way.
  std::vector<EntryFile> ScanEntries() REQUIRES(mutex_) {
    std::vector<EntryFile> entries;
    std::error_code ec;
    const int64_t stale_before =
        NextStamp() - std::chrono::duration_cast<std::chrono::nanoseconds>(kStaleTempAge).count();
    for (fs::directory_iterator it(options_.path, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      const bool entry = EndsWith(name, kEntrySuffix);
      const bool temp = !entry && name.find(kTempInfix) != std::string::npos;
      if (!entry && !temp) continue;
      struct stat st;
      const std::string path = it->path().string();
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const int64_t mtime_ns =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (temp) {
        if (mtime_ns < stale_before) ::unlink(path.c_str());
        continue;
      }
      entries.push_back({std::move(name), static_cast<int64_t>(st.st_size), mtime_ns});
    }
    return entries;
  }

  // Evicts the oldest entries, never `keep`, until the directory fits the limit.
  void EvictLocked(const std::string& keep) REQUIRES(mutex_) {
    std::vector<EntryFile> entries = ScanEntries();
    int64_t total = 0;
    for (const EntryFile& entry : entries) total += entry.size;
    if (total <= options_.size_limit_bytes) return;
    std::sort(entries.begin(), entries.end(), [](const EntryFile& a, const EntryFile& b) {
      return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.name < b.name;
    });
    for (const EntryFile& entry : entries) {
      if (total <= options_.size_limit_bytes) break;
      if (entry.name == keep) continue;
      const std::string path = PathOf(entry.name);
      if (::unlink(path.c_str()) == 0) {
        evictions_.fetch_add(1, std::memory_order_relaxed);
        total -= entry.size;
      } else if (errno == ENOENT) {
        total -= entry.size;  // another process evicted it
      }
    }
  }

  const LocalDiskCacheOptions options_;
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> stores_{0};
  std::atomic<int64_t> evictions_{0};
  std::atomic<int64_t> dropped_{0};
  std::atomic<int64_t> skipped_stores_{0};
  std::atomic<int64_t> store_failures_{0};
  // Serializes the size accounting: the scan, the kNone admission check and eviction.
  mutable internal::Mutex mutex_;
  std::string last_store_error_ GUARDED_BY(mutex_);
  std::string last_drop_reason_ GUARDED_BY(mutex_);
};

}  // namespace

std::shared_ptr<RowGroupCache> MakeNullCache() { return std::make_shared<NullCache>(); }

arrow::Result<std::shared_ptr<RowGroupCache>> MakeLocalDiskCache(LocalDiskCacheOptions options) {
  if (options.path.empty()) {
    return arrow::Status::Invalid("The local-disk cache needs a cache location (a directory)");
  }
  if (options.size_limit_bytes <= 0) {
    return arrow::Status::Invalid("Cache size limit must be positive, got ",
                                  options.size_limit_bytes, " (cache location '", options.path,
                                  "')");
  }
  if (options.expected_row_size_bytes < 0) {
    return arrow::Status::Invalid("Expected row size must not be negative, got ",
                                  options.expected_row_size_bytes, " (cache location '",
                                  options.path, "')");
  }
  if (options.eviction_policy != EvictionPolicy::kNone && options.expected_row_size_bytes > 0 &&
      options.expected_row_size_bytes > options.size_limit_bytes / 5) {
    return arrow::Status::Invalid(
        "Condition 'size_limit_bytes >= 5 * expected_row_size_bytes' needs to hold: the cache "
        "size limit is ",
        options.size_limit_bytes, " bytes and the expected row size ",
        options.expected_row_size_bytes, " bytes (cache location '", options.path, "')");
  }
  std::error_code ec;
  fs::create_directories(options.path, ec);
  if (ec || !fs::is_directory(options.path, ec)) {
    return arrow::Status::IOError("Cannot use '", options.path,
                                  "' as the cache directory: ",
                                  ec ? ec.message() : "not a directory");
  }
  if (::access(options.path.c_str(), W_OK | X_OK) != 0) {
    return arrow::Status::IOError("Cannot write to the cache directory '", options.path,
                                  "': ", ErrnoText(errno));
  }
  return std::make_shared<LocalDiskCache>(std::move(options));
}

}  // namespace petastorm
