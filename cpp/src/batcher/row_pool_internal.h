// The rows a Batcher holds: inputs waiting in order, and the shuffling buffer. Internal.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "batcher/column_source_internal.h"
#include "util/random_internal.h"

namespace petastorm::internal {

// A run of consecutive rows of one chunk.
struct Run {
  std::shared_ptr<Chunk> chunk;
  int64_t begin = 0;
  int64_t count = 0;
};

// The rows of one batch, in order.
struct Selection {
  int64_t num_rows = 0;
  std::vector<Run> runs;
};

// A row of the shuffling buffer. Small: a batch is drawn at random positions of the buffer.
struct Entry {
  std::shared_ptr<Chunk> chunk;
  int64_t row = 0;
};

// Inputs not yet (fully) taken, oldest first, and the shuffling buffer of row references.
class RowPool {
 public:
  explicit RowPool(uint64_t seed) : rng_(seed) {}

  void Push(std::shared_ptr<Chunk> chunk);
  // Rows waiting in inputs (not in the buffer).
  int64_t pending_rows() const { return pending_rows_; }
  int64_t buffered_rows() const { return static_cast<int64_t>(buffer_.size()); }

  // The next n (<= pending_rows()) waiting rows, in input order.
  void TakeInOrder(int64_t n, Selection* selection);
  // Moves waiting rows into the shuffling buffer until it holds `limit` rows.
  void Refill(int64_t limit);
  // Draws n (<= buffered_rows()) rows uniformly at random from the buffer.
  void Pick(int64_t n, Selection* selection);
  // Lets go of the tensors of rows drawn from the shuffling buffer, so that a row group's
  // tensors are released row by row as they leave the buffer, not with its last row.
  static void ReleaseTensors(const Selection& selection);
  void ClearPending();
  // Calls f on the chunk of every row held (a chunk once per run of rows, maybe more than once).
  template <typename F>
  void Visit(F&& f) const {
    for (const auto& chunk : queue_) f(chunk.get());
    for (const Entry& entry : buffer_) f(entry.chunk.get());
  }
  // Calls f(chunk, row) on every row held: the waiting ones in input order, then the buffer's.
  template <typename F>
  void VisitRows(F&& f) const {
    for (size_t i = 0; i < queue_.size(); ++i) {
      for (int64_t row = i == 0 ? front_offset_ : 0; row < queue_[i]->num_rows; ++row) f(queue_[i].get(), row);
    }
    for (const Entry& entry : buffer_) f(entry.chunk.get(), entry.row);
  }
  void ClearBuffer() { buffer_.clear(); }

 private:
  Rng rng_;
  std::deque<std::shared_ptr<Chunk>> queue_;
  int64_t front_offset_ = 0;  // rows of queue_.front() already taken
  int64_t pending_rows_ = 0;
  std::vector<Entry> buffer_;  // the shuffling buffer
};

}  // namespace petastorm::internal
