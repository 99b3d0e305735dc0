// Caches of decoded row groups (Petastorm's cache_type='null' | 'local-disk').
//
// Thread safety: GetOrLoad may be called from several worker threads at once.
// Errors: arrow::Status naming the cache location and entry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <arrow/result.h>

#include "petastorm/decoded_batch.h"

namespace petastorm {

class RowGroupCache {
 public:
  using Loader = std::function<arrow::Result<std::shared_ptr<const DecodedBatch>>()>;

  virtual ~RowGroupCache() = default;

  // The batch stored under `key`, or load()'s result, which is then stored. `schema` is the
  // schema of the batches under this key (the fields read). An entry that cannot be read back
  // (corrupt, partial, of another schema) is dropped and loaded again.
  virtual arrow::Result<std::shared_ptr<const DecodedBatch>> GetOrLoad(
      const std::string& key, const std::shared_ptr<const Unischema>& schema,
      const Loader& load) = 0;
};

// Always calls the loader.
std::shared_ptr<RowGroupCache> MakeNullCache();

struct LocalDiskCacheOptions {
  std::string path;                     // a local directory, created if missing
  int64_t size_limit_bytes = 0;         // > 0; least-recently-used entries are evicted past it
  int64_t expected_row_size_bytes = 0;  // optional; a sanity check against size_limit_bytes
};

// Stores each decoded row group as one file under `path` (Arrow IPC plus a checksum), written
// to a temporary name and renamed, so a reader never sees a partial entry. Entries persist
// across readers and processes until evicted or removed with Cleanup().
arrow::Result<std::shared_ptr<RowGroupCache>> MakeLocalDiskCache(LocalDiskCacheOptions options);

}  // namespace petastorm
