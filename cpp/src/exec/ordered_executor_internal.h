// OrderedExecutor: runs a sequence of work items on worker threads (or on the caller's
// thread) and hands their results back in sequence order, with a bound on the items in
// flight. It knows nothing of what the items are.
//
//   - Order: Next() returns the result of item 0, then item 1, ... whatever the number of
//     workers and whichever finishes first.
//   - Bound: at most `max_in_flight` items are handed out and not yet returned by Next()
//     (being processed or waiting in the ready map), so memory is bounded by that many
//     results. With `max_bytes_in_flight` (and `size_of`), also by bytes: beyond the first
//     `min_in_flight` items, an item starts only while the ready results plus the items being
//     processed (counted at twice the mean size of the results so far: input and output) and
//     the new one fit in it, less `bytes_outside` (what a consumer holds: a memory budget);
//     until the first result is in, only `min_in_flight` items start.
//   - Errors are sticky (leveldb's Iterator::status()): the first failed item, in sequence
//     order, is returned by Next() when the consumer reaches it, and by every later Next()
//     too; after a failure no new item is started (those already in flight finish).
//     An exception thrown by `process` is caught and becomes that item's error: none leaves
//     a worker thread.
//   - Stop() asks the workers to finish the item they are on and start no other; Next() then
//     returns Cancelled (or the sticky error, if one was met first). Join() waits for them.
//     The destructor does both.
//
// Thread safety: Next() from one thread at a time; Stop() from any thread; Start(), Join()
// and the destructor from the thread that owns the executor. `next_item` is called with the
// executor's lock held, one call at a time, from a worker (threads) or from Next() (inline);
// `process` is called without it, concurrently from several workers.
#pragma once

#include <cstdint>
#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "util/mutex_internal.h"

namespace petastorm::internal {

struct ExecutorOptions {
  // Worker threads; false runs every item on the thread that calls Next(), one at a time.
  bool use_threads = true;
  int num_workers = 1;  // with use_threads; at least 1
  int max_in_flight = 1;  // at least 1
  int64_t max_bytes_in_flight = 0;  // 0: no bound by bytes
  int min_in_flight = 1;            // items that may be in flight whatever their bytes
  // Bytes held outside the executor that count against max_bytes_in_flight (a consumer's
  // buffers); called with the executor's lock held. Null: none.
  std::function<int64_t()> bytes_outside;
  // Told the executor's bytes (ready plus in process, as HasRoom counts them) when they change;
  // called with the lock held. Null: nobody is told.
  std::function<void(int64_t)> on_bytes;
};

struct ExecutorStats {
  int64_t ready = 0;       // results waiting for Next()
  int64_t in_flight = 0;   // handed out, not yet returned by Next()
  int64_t started = 0;     // items taken from next_item
  int64_t delivered = 0;   // results returned by Next()
  int64_t ready_bytes = 0; // of the results waiting for Next() (with a size_of)
  int64_t blocked_ns = 0;  // workers waiting for room (the consumer is behind), summed
  int64_t waited_ns = 0;   // Next() waiting for a result
  int64_t peak_bytes = 0;  // high-water mark of ready bytes plus items in process (as HasRoom counts
                           // them) plus bytes_outside
};

template <typename Item, typename Output>
class OrderedExecutor {
 public:
  // The next item of the sequence, or std::nullopt at its end.
  using NextItemFn = std::function<std::optional<Item>()>;
  // Turns an item into its result on worker `worker` (0 .. num_workers - 1; 0 inline).
  using ProcessFn = std::function<arrow::Result<Output>(const Item&, int worker)>;
  // The bytes a result holds (for max_bytes_in_flight); called without the lock.
  using SizeFn = std::function<int64_t(const Output&)>;

  OrderedExecutor(ExecutorOptions options, NextItemFn next_item, ProcessFn process,
                  SizeFn size_of = nullptr)
      : options_(Sanitized(options)),
        next_item_(std::move(next_item)),
        process_(std::move(process)),
        size_of_(std::move(size_of)) {}

  ~OrderedExecutor() {
    Stop();
    Join();
  }

  OrderedExecutor(const OrderedExecutor&) = delete;
  OrderedExecutor& operator=(const OrderedExecutor&) = delete;

  // Starts the worker threads (nothing to start inline). Call once.
  void Start() {
    if (!options_.use_threads) return;
    for (int w = 0; w < options_.num_workers; ++w) workers_.emplace_back([this, w] { WorkerLoop(w); });
  }

  // The next result in sequence order; std::nullopt after the last one.
  arrow::Result<std::optional<Output>> Next() {
    MutexLock lock(&mutex_);
    while (true) {
      if (!error_.ok()) return error_;
      if (stopping_) return arrow::Status::Cancelled("The reader was stopped");
      auto ready = ready_.find(next_deliver_);
      if (ready != ready_.end()) {
        arrow::Result<Output> result = std::move(ready->second.result);
        ready_bytes_ -= ready->second.bytes;
        ready_.erase(ready);
        ++next_deliver_;
        TellBytes();
        work_cv_.NotifyAll();  // room for one more item in flight
        if (!result.ok()) {
          error_ = result.status();
          no_more_items_ = true;
          work_cv_.NotifyAll();
          return error_;
        }
        return std::optional<Output>(std::move(*result));
      }
      if (no_more_items_ && next_deliver_ >= next_dispatch_) return std::optional<Output>();
      if (options_.use_threads) {
        // Room may have come from outside (bytes_outside went down): let blocked workers look.
        if (options_.bytes_outside) work_cv_.NotifyAll();
        const auto begin = std::chrono::steady_clock::now();
        result_cv_.Wait(&mutex_);
        waited_ns_ += Since(begin);
        continue;
      }
      // Inline: take the next item and process it here.
      std::optional<Item> item = TakeItem();
      if (!item) continue;
      const int64_t sequence = next_dispatch_++;
      lock.Unlock();
      arrow::Result<Output> result = RunProcess(*item, 0);
      lock.Lock();
      Finish(sequence, std::move(result), 0);
    }
  }

  void Stop() {
    {
      MutexLock lock(&mutex_);
      stopping_ = true;
    }
    work_cv_.NotifyAll();
    result_cv_.NotifyAll();
  }

  void Join() {
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    workers_.clear();
  }

  ExecutorStats stats() const {
    MutexLock lock(&mutex_);
    ExecutorStats s;
    s.ready = static_cast<int64_t>(ready_.size());
    s.in_flight = next_dispatch_ - next_deliver_;
    s.started = next_dispatch_;
    s.delivered = next_deliver_;
    s.ready_bytes = ready_bytes_;
    s.blocked_ns = blocked_ns_;
    s.waited_ns = waited_ns_;
    s.peak_bytes = peak_bytes_;
    return s;
  }

 private:
  static ExecutorOptions Sanitized(ExecutorOptions options) {
    if (options.num_workers < 1) options.num_workers = 1;
    if (options.max_in_flight < 1) options.max_in_flight = 1;
    if (options.min_in_flight < 1) options.min_in_flight = 1;
    return options;
  }

  // The next item, or std::nullopt (and no_more_items_) at the end.
  std::optional<Item> TakeItem() REQUIRES(mutex_) {
    if (no_more_items_) return std::nullopt;
    std::optional<Item> item = next_item_();
    if (!item) no_more_items_ = true;
    return item;
  }

  arrow::Result<Output> RunProcess(const Item& item, int worker) {
    try {
      return process_(item, worker);
    } catch (const std::exception& e) {
      return arrow::Status::UnknownError("Unexpected exception in a reader worker: ", e.what());
    } catch (...) {
      return arrow::Status::UnknownError("Unexpected exception in a reader worker");
    }
  }

  // Stores an item's result (of `bytes`); after a failure no new item starts.
  void Finish(int64_t sequence, arrow::Result<Output> result, int64_t bytes) REQUIRES(mutex_) {
    if (!result.ok()) no_more_items_ = true;
    ready_bytes_ += bytes;
    finished_bytes_ += bytes;
    ++finished_;
    ready_.emplace(sequence, Ready{std::move(result), bytes});
    const int64_t own = TellBytes();
    peak_bytes_ = std::max(peak_bytes_, own + (options_.bytes_outside ? options_.bytes_outside() : 0));
  }

  // The executor's bytes: ready results plus the items in process (at kWorkingSetFactor times
  // the mean result size, as HasRoom counts them); on_bytes is told them.
  int64_t TellBytes() REQUIRES(mutex_) {
    const int64_t processing = next_dispatch_ - next_deliver_ - static_cast<int64_t>(ready_.size());
    const int64_t own =
        ready_bytes_ + (finished_ ? std::max<int64_t>(0, processing) * kWorkingSetFactor * (finished_bytes_ / finished_) : 0);
    if (options_.on_bytes) options_.on_bytes(own);
    return own;
  }

  static int64_t Since(std::chrono::steady_clock::time_point begin) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin).count();
  }

  // Whether one more item may start (see Bound above).
  bool HasRoom() const REQUIRES(mutex_) {
    const int64_t in_flight = next_dispatch_ - next_deliver_;
    if (in_flight >= options_.max_in_flight) return false;
    if (options_.max_bytes_in_flight <= 0 || !size_of_ || in_flight < options_.min_in_flight) return true;
    if (finished_ == 0) return false;  // no size known yet: the minimum only
    const int64_t mean = finished_bytes_ / finished_;
    const int64_t processing = in_flight - static_cast<int64_t>(ready_.size());
    const int64_t outside = options_.bytes_outside ? options_.bytes_outside() : 0;
    return outside + ready_bytes_ + (processing + 1) * kWorkingSetFactor * mean <= options_.max_bytes_in_flight;
  }

  void WorkerLoop(int worker) {
    while (true) {
      std::optional<Item> item;
      int64_t sequence = 0;
      {
        MutexLock lock(&mutex_);
        if (!stopping_ && !no_more_items_ && !HasRoom()) {
          const auto begin = std::chrono::steady_clock::now();
          while (!stopping_ && !no_more_items_ && !HasRoom()) work_cv_.Wait(&mutex_);
          blocked_ns_ += Since(begin);
        }
        if (stopping_ || no_more_items_) break;
        item = TakeItem();
        if (!item) break;
        sequence = next_dispatch_++;
        TellBytes();
      }
      arrow::Result<Output> result = RunProcess(*item, worker);
      const int64_t bytes = size_of_ && result.ok() ? size_of_(*result) : 0;
      {
        MutexLock lock(&mutex_);
        Finish(sequence, std::move(result), bytes);
      }
      result_cv_.NotifyAll();
    }
    // The end of the items (or a stop): the consumer may be waiting for it.
    result_cv_.NotifyAll();
    work_cv_.NotifyAll();
  }

  // An item being processed holds about twice its result: its input (a row group's column
  // chunks, read and decompressed) and the result being built (measured: W3 at 10 workers grew
  // 451 MiB above its import floor under a 128 MiB bound when counted once).
  static constexpr int64_t kWorkingSetFactor = 2;

  const ExecutorOptions options_;
  const NextItemFn next_item_;
  const ProcessFn process_;
  const SizeFn size_of_;

  struct Ready {
    arrow::Result<Output> result;
    int64_t bytes = 0;
  };

  mutable Mutex mutex_;
  CondVar work_cv_;    // workers wait for room and items
  CondVar result_cv_;  // the consumer waits for the next result
  int64_t next_dispatch_ GUARDED_BY(mutex_) = 0;  // sequence number of the next item to start
  int64_t next_deliver_ GUARDED_BY(mutex_) = 0;   // sequence number Next() returns next
  bool no_more_items_ GUARDED_BY(mutex_) = false;  // the sequence ended, or an item failed
  bool stopping_ GUARDED_BY(mutex_) = false;
  arrow::Status error_ GUARDED_BY(mutex_);  // sticky, once Next() reached a failed item
  std::map<int64_t, Ready> ready_ GUARDED_BY(mutex_);
  int64_t ready_bytes_ GUARDED_BY(mutex_) = 0;     // of the results in ready_
  int64_t finished_bytes_ GUARDED_BY(mutex_) = 0;  // of every result so far (for the mean)
  int64_t finished_ GUARDED_BY(mutex_) = 0;
  int64_t blocked_ns_ GUARDED_BY(mutex_) = 0;
  int64_t waited_ns_ GUARDED_BY(mutex_) = 0;
  int64_t peak_bytes_ GUARDED_BY(mutex_) = 0;

  std::vector<std::thread> workers_;  // owned by the thread that calls Start/Join
};

}  // namespace petastorm::internal
