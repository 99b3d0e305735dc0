#include "batcher/row_pool_internal.h"

#include <algorithm>

namespace petastorm::internal {

void RowPool::Push(std::shared_ptr<Chunk> chunk) {
  pending_rows_ += chunk->num_rows;
  queue_.push_back(std::move(chunk));
}

void RowPool::ClearPending() {
  queue_.clear();
  pending_rows_ = 0;
  front_offset_ = 0;
}

void RowPool::TakeInOrder(int64_t n, Selection* selection) {
  selection->num_rows = n;
  while (n > 0) {
    const std::shared_ptr<Chunk>& chunk = queue_.front();
    const int64_t take = std::min(n, chunk->num_rows - front_offset_);
    selection->runs.push_back(Run{chunk, front_offset_, take});
    front_offset_ += take;
    pending_rows_ -= take;
    n -= take;
    if (front_offset_ == chunk->num_rows) {
      queue_.pop_front();
      front_offset_ = 0;
    }
  }
}

void RowPool::Refill(int64_t limit) {
  while (static_cast<int64_t>(buffer_.size()) < limit && !queue_.empty()) {
    const std::shared_ptr<Chunk>& chunk = queue_.front();
    buffer_.push_back(Entry{chunk, front_offset_});
    --pending_rows_;
    if (++front_offset_ == chunk->num_rows) {
      queue_.pop_front();
      front_offset_ = 0;
    }
  }
}

void RowPool::Pick(int64_t n, Selection* selection) {
  selection->num_rows = n;
  selection->runs.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const size_t j = static_cast<size_t>(rng_.Below(buffer_.size()));
    Entry& entry = buffer_[j];
    selection->runs.push_back(Run{std::move(entry.chunk), entry.row, 1});
    if (j + 1 != buffer_.size()) entry = std::move(buffer_.back());
    buffer_.pop_back();
  }
}

void RowPool::ReleaseTensors(const Selection& selection) {
  for (const Run& run : selection.runs) {
    if (!run.chunk->has_tensors) continue;
    for (Source& source : run.chunk->sources) {
      if (source.kind != SourceKind::kTensors) continue;
      for (int64_t row = run.begin; row < run.begin + run.count; ++row) {
        source.tensors[static_cast<size_t>(row)].reset();
      }
    }
  }
}

}  // namespace petastorm::internal
