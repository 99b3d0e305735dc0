#include "util/recycling_pool_internal.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace petastorm::internal {

namespace {

// Blocks are allocated in whole multiples of kMinBytes, so that requests of nearby sizes share
// them.
int64_t Capacity(int64_t size) {
  constexpr int64_t kStep = RecyclingMemoryPool::kMinBytes;
  return (size + kStep - 1) / kStep * kStep;
}

}  // namespace

RecyclingMemoryPool::~RecyclingMemoryPool() { ReleaseUnused(); }

RecyclingMemoryPool* RecyclingMemoryPool::ForLocalReads() {
  static RecyclingMemoryPool* const pool = new RecyclingMemoryPool();  // lives as long as Arrow
  return pool;
}

arrow::Status RecyclingMemoryPool::Allocate(int64_t size, int64_t alignment, uint8_t** out) {
  if (size < kMinBytes || alignment > arrow::kDefaultBufferAlignment) {
    ARROW_RETURN_NOT_OK(base_->Allocate(size, alignment, out));
    MutexLock lock(&mutex_);
    bytes_allocated_ += size;
    total_bytes_allocated_ += size;
    ++num_allocations_;
    return arrow::Status::OK();
  }
  uint8_t* block = nullptr;
  int64_t capacity = 0;
  {
    MutexLock lock(&mutex_);
    auto it = cached_.lower_bound(size);
    if (it != cached_.end() && it->first / 2 <= size) {
      capacity = it->first;
      block = it->second;
      cached_.erase(it);
      cached_bytes_ -= capacity;
    }
  }
  if (block == nullptr) {
    capacity = Capacity(size);
    ARROW_RETURN_NOT_OK(base_->Allocate(capacity, arrow::kDefaultBufferAlignment, &block));
  }
  MutexLock lock(&mutex_);
  live_[block] = capacity;
  bytes_allocated_ += capacity;
  total_bytes_allocated_ += capacity;
  ++num_allocations_;
  *out = block;
  return arrow::Status::OK();
}

arrow::Status RecyclingMemoryPool::Reallocate(int64_t old_size, int64_t new_size,
                                              int64_t alignment, uint8_t** ptr) {
  {
    MutexLock lock(&mutex_);
    auto it = live_.find(*ptr);
    if (it != live_.end() && new_size <= it->second) return arrow::Status::OK();
  }
  uint8_t* moved = nullptr;
  ARROW_RETURN_NOT_OK(Allocate(new_size, alignment, &moved));
  if (old_size > 0) std::memcpy(moved, *ptr, static_cast<size_t>(std::min(old_size, new_size)));
  Free(*ptr, old_size, alignment);
  *ptr = moved;
  return arrow::Status::OK();
}

void RecyclingMemoryPool::Free(uint8_t* buffer, int64_t size, int64_t alignment) {
  uint8_t* to_base = buffer;
  int64_t base_size = size;
  int64_t base_alignment = alignment;
  {
    MutexLock lock(&mutex_);
    auto it = live_.find(buffer);
    if (it == live_.end()) {
      bytes_allocated_ -= size;
    } else {
      const int64_t capacity = it->second;
      live_.erase(it);
      bytes_allocated_ -= capacity;
      base_size = capacity;
      base_alignment = arrow::kDefaultBufferAlignment;
      if (cached_bytes_ + capacity <= kMaxCachedBytes) {
        cached_.emplace(capacity, buffer);
        cached_bytes_ += capacity;
        to_base = nullptr;
      }
    }
  }
  if (to_base != nullptr) base_->Free(to_base, base_size, base_alignment);
}

void RecyclingMemoryPool::ReleaseUnused() {
  std::multimap<int64_t, uint8_t*> cached;
  {
    MutexLock lock(&mutex_);
    cached.swap(cached_);
    cached_bytes_ = 0;
  }
  for (const auto& [capacity, block] : cached) {
    base_->Free(block, capacity, arrow::kDefaultBufferAlignment);
  }
  base_->ReleaseUnused();
}

int64_t RecyclingMemoryPool::bytes_allocated() const {
  MutexLock lock(&mutex_);
  return bytes_allocated_;
}

int64_t RecyclingMemoryPool::total_bytes_allocated() const {
  MutexLock lock(&mutex_);
  return total_bytes_allocated_;
}

int64_t RecyclingMemoryPool::num_allocations() const {
  MutexLock lock(&mutex_);
  return num_allocations_;
}

int64_t RecyclingMemoryPool::cached_bytes() const {
  MutexLock lock(&mutex_);
  return cached_bytes_;
}

}  // namespace petastorm::internal
