// ReadAhead: on remote storage, the column chunks of the next work items are requested while
// earlier items decode (a worker otherwise waits a store's latency for each of its items).
// Start(item) opens the item's file with a Parquet reader of its own and pre-buffers the item's
// row group's columns on Arrow's I/O pool, without blocking the caller; Take(item) hands that
// reader to the worker that processes the item: its ReadRowGroup then finds the bytes there
// (or waits for them). Best effort: a failed or missing read-ahead makes Take return nullptr,
// and the worker reads as without it (its errors are the worker's).
//
// Ownership: the pending tasks hold the dataset, never the ReadAhead: a reader that stops
// with read-ahead pending drops it; the tasks finish on the I/O pool. Thread safety: any
// thread. Internal to the reader.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include <arrow/util/future.h>
#include <parquet/arrow/reader.h>

#include "petastorm/dataset.h"
#include "petastorm/plan.h"
#include "petastorm/schema.h"
#include "util/mutex_internal.h"

namespace petastorm::internal {

class ReadAhead {
 public:
  ReadAhead(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const Unischema> fields)
      : dataset_(std::move(dataset)), fields_(std::move(fields)) {}

  void Start(const WorkItem& item);
  // The reader started for `item`, once its ranges are requested; nullptr when none was started
  // or it failed.
  std::unique_ptr<parquet::arrow::FileReader> Take(const WorkItem& item);
  // Drops what was started and not taken.
  void Clear();

 private:
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t>;  // epoch, row group, partition, piece start
  using Opened = std::shared_ptr<std::unique_ptr<parquet::arrow::FileReader>>;
  static Key KeyOf(const WorkItem& item) { return {item.epoch, item.row_group, item.partition, item.row_begin}; }

  const std::shared_ptr<const Dataset> dataset_;
  const std::shared_ptr<const Unischema> fields_;
  Mutex mutex_;
  std::map<Key, arrow::Future<Opened>> started_ GUARDED_BY(mutex_);
};

}  // namespace petastorm::internal
