// A memory pool that keeps a few freed large blocks for the next allocation of about their size.
//
// Local files are read with pread into a fresh buffer per column-chunk range (they are not
// memory-mapped: see docs/design.md). The default allocator returns freed megabytes to the
// system at once, so every read paid for zeroing new pages again (55% of a raw-tensor read's
// time in perf). Reads of one dataset come in similar sizes, so a small cache of freed blocks
// makes the next read reuse faulted-in pages.
//
// Allocations below kMinBytes go straight to the base pool. A block is reused for a request
// between half its size and its size. At most kMaxCachedBytes are kept; beyond that a freed
// block goes back to the base pool. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include <arrow/memory_pool.h>

#include "util/mutex_internal.h"

namespace petastorm::internal {

class RecyclingMemoryPool final : public arrow::MemoryPool {
 public:
  static constexpr int64_t kMinBytes = int64_t{1} << 20;
  static constexpr int64_t kMaxCachedBytes = int64_t{64} << 20;

  explicit RecyclingMemoryPool(arrow::MemoryPool* base = arrow::default_memory_pool())
      : base_(base) {}
  ~RecyclingMemoryPool() override;

  // The pool for reading local files, shared by every dataset.
  static RecyclingMemoryPool* ForLocalReads();

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override;
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                           uint8_t** ptr) override;
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override;
  void ReleaseUnused() override;

  int64_t bytes_allocated() const override;
  int64_t total_bytes_allocated() const override;
  int64_t num_allocations() const override;
  std::string backend_name() const override { return "recycling(" + base_->backend_name() + ")"; }

  // Bytes held in freed blocks, kept for reuse.
  int64_t cached_bytes() const;

 private:
  arrow::MemoryPool* const base_;
  mutable Mutex mutex_;
  // Blocks handed out: their real capacity, which a Free's `size` may be less than.
  std::unordered_map<uint8_t*, int64_t> live_ GUARDED_BY(mutex_);
  std::multimap<int64_t, uint8_t*> cached_ GUARDED_BY(mutex_);  // by capacity
  int64_t cached_bytes_ GUARDED_BY(mutex_) = 0;
  int64_t bytes_allocated_ GUARDED_BY(mutex_) = 0;
  int64_t total_bytes_allocated_ GUARDED_BY(mutex_) = 0;
  int64_t num_allocations_ GUARDED_BY(mutex_) = 0;
};

}  // namespace petastorm::internal
