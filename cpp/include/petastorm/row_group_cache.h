// Caches of decoded row groups (Petastorm's cache_type='null' | 'local-disk').
//
// Thread safety: GetOrLoad and stats() may be called from several worker threads at once;
// Cleanup() must not run concurrently with GetOrLoad on the same cache.
// Errors: arrow::Status naming the cache location and entry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>

#include "petastorm/decoded_row_group.h"

namespace petastorm {

// Counters since the cache object was made (per object, not per directory).
struct CacheStats {
  int64_t hits = 0;            // batches read back from the cache; the loader was not called
  int64_t misses = 0;          // loader calls (no entry, or an entry that had to be dropped)
  int64_t stores = 0;          // entries written
  int64_t evictions = 0;       // entries removed to stay under the size limit
  int64_t dropped = 0;         // entries found corrupt, partial, or of another key or schema
  int64_t skipped_stores = 0;  // entries not kept: larger than the limit, or the cache is full
                               // under EvictionPolicy::kNone
  int64_t store_failures = 0;  // entries that could not be written (I/O error, unstorable batch)
  std::string last_store_error;  // the latest store failure's message; empty when none
  std::string last_drop_reason;  // why the latest dropped entry was unreadable, naming its file
};

class RowGroupCache {
 public:
  using Loader = std::function<arrow::Result<std::shared_ptr<const DecodedRowGroup>>()>;

  virtual ~RowGroupCache() = default;

  // The batch stored under `key`, or load()'s result, which is then stored. `schema` is the
  // schema of the batches under this key (the fields read). An entry that cannot be read back
  // (corrupt, partial, of another schema) is dropped and loaded again.
  //
  // A loader error is returned unchanged and nothing is stored. A failure to store (disk
  // full, unwritable directory) does not fail the call: the loaded batch is returned and the
  // failure is counted in stats().store_failures.
  //
  // A batch read back from the local-disk cache has the fields of `schema`, in its order
  // (DecodedColumn::field points into `schema`); its codec columns carry the decoded tensors
  // only (`values` is null, as after TakeRows), unless the loaded batch had no tensors for
  // that column, in which case the stored cells come back instead. Its tensors and arrays are
  // zero-copy slices of one buffer holding the whole entry file: any of them keeps it alive.
  // A null batch from the loader is returned as it is and not stored.
  virtual arrow::Result<std::shared_ptr<const DecodedRowGroup>> GetOrLoad(
      const std::string& key, const std::shared_ptr<const Unischema>& schema,
      const Loader& load) = 0;

  virtual CacheStats stats() const { return {}; }

  // Removes what the cache stored (Petastorm's Reader.cleanup_cache()). The local-disk cache
  // deletes its entry files and temporary files, then the directory itself when nothing else
  // is left in it; files it did not make are kept. The cache stays usable: a later store
  // recreates the directory. No-op for the null cache.
  virtual arrow::Status Cleanup() { return arrow::Status::OK(); }
};

// Always calls the loader. stats() counts its misses.
std::shared_ptr<RowGroupCache> MakeNullCache();

// Which entries go when the directory is over its size limit (Petastorm's
// cache_extra_settings={'eviction_policy': ...}, diskcache's names in the comments).
enum class EvictionPolicy {
  kLeastRecentlyUsed,    // 'least-recently-used': a hit refreshes the entry
  kLeastRecentlyStored,  // 'least-recently-stored' (Petastorm's default): hits do not count
  kNone,                 // 'none': nothing is evicted; new entries are stored while they fit
};

struct LocalDiskCacheOptions {
  std::string path;                     // a local directory, created if missing
  int64_t size_limit_bytes = 0;         // > 0; the total size of the entry files
  // Optional (0 = unknown): the expected size of a cached unit. When > 0 it must satisfy
  // size_limit_bytes >= 5 * expected_row_size_bytes (Petastorm's check, without its shard
  // count), else Invalid naming both numbers. Not checked under EvictionPolicy::kNone.
  int64_t expected_row_size_bytes = 0;
  EvictionPolicy eviction_policy = EvictionPolicy::kLeastRecentlyUsed;
};

// Stores each decoded row group as one file under `path` (Arrow IPC plus a CRC-32 trailer),
// written to a temporary name and renamed, so a reader never sees a partial entry. Entries
// persist across cache objects and processes until evicted or removed with Cleanup().
//
// After each store, while the entry files of the directory (all processes' entries) total more
// than size_limit_bytes, the least recently used (or stored) entry is removed; recency is the
// file's mtime, set on store and, under kLeastRecentlyUsed, on every hit. The entry just
// written is never evicted for others; an entry larger than the whole limit is not kept.
//
// Errors: Invalid for a bad option; IOError naming the path when the directory cannot be
// created.
arrow::Result<std::shared_ptr<RowGroupCache>> MakeLocalDiskCache(LocalDiskCacheOptions options);

}  // namespace petastorm
