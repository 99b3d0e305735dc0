// MemoryBudget: a bound in bytes on the decoded data a pipeline holds, shared by the reader
// (its results waiting for the consumer and the row groups being decoded) and what consumes
// it (a loader's shuffling buffer and batches, which report their bytes with SetHeld). The
// reader starts reading a row group only while its read-ahead and the held bytes fit in the
// limit; with nothing in flight it always reads one (a row group larger than the budget is
// still read, one at a time).
//
// Thread safety: every method, from any thread (atomics). Ownership: shared (shared_ptr)
// between the reader and its consumers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace petastorm {

class MemoryBudget {
 public:
  explicit MemoryBudget(int64_t limit_bytes) : limit_(std::max<int64_t>(1, limit_bytes)) {}

  int64_t limit() const { return limit_; }

  // The bytes the consumers hold now (replaces the last value).
  void SetHeld(int64_t bytes) {
    held_.store(bytes);
    Observe(bytes + reading_.load());
  }
  int64_t held() const { return held_.load(); }

  // The bytes the reader holds now (results waiting plus items being decoded, estimated).
  void SetReading(int64_t bytes) {
    reading_.store(bytes);
    Observe(bytes + held_.load());
  }
  int64_t reading() const { return reading_.load(); }

  // High-water mark of reading() + held().
  int64_t peak() const { return peak_.load(); }

 private:
  void Observe(int64_t total) {
    int64_t seen = peak_.load();
    while (total > seen && !peak_.compare_exchange_weak(seen, total)) {
    }
  }

  const int64_t limit_;
  std::atomic<int64_t> held_{0};
  std::atomic<int64_t> reading_{0};
  std::atomic<int64_t> peak_{0};
};

}  // namespace petastorm
