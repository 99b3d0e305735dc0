// WorkItemProcessor: turns one work item of a plan into the rows it delivers — read the
// predicate's fields of the row group, evaluate, select the item's rows (row shuffle, drop
// partition, predicate), read and decode the other fields for those rows only; or, with a
// cache, the whole decoded row group from the cache, then the selection. Internal to the reader.
//
// Thread safety: one processor per worker thread (it keeps its last opened file); the Config
// is immutable and shared.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/result.h>
#include <parquet/arrow/reader.h>

#include "petastorm/dataset.h"
#include "petastorm/decoded_row_group.h"
#include "petastorm/plan.h"
#include "petastorm/predicate.h"
#include "petastorm/row_group_cache.h"
#include "read/read_ahead_internal.h"
#include "read/row_group_loader_internal.h"

namespace petastorm::internal {

class WorkItemProcessor {
 public:
  struct Config {
    std::shared_ptr<const Dataset> dataset;
    std::shared_ptr<const Unischema> output_schema;     // what the reader delivers
    std::shared_ptr<const Unischema> predicate_schema;  // the predicate's fields, or null
    std::shared_ptr<const Unischema> load_schema;       // output plus predicate fields
    std::shared_ptr<const Predicate> predicate;
    std::shared_ptr<RowGroupCache> cache;
    bool shuffle_rows = false;
    int64_t partition_overlap_rows = 0;
    uint64_t seed = 0;
    // Remote storage: the readers the reader started ahead for its items (else null).
    ReadAhead* read_ahead = nullptr;
  };

  WorkItemProcessor(const Config* config, StageStats* stats) : config_(config), stats_(stats) {}

  // nullptr when no row of the item is selected.
  arrow::Result<std::shared_ptr<const DecodedRowGroup>> Process(const WorkItem& item);

 private:
  LoadOptions Options(const std::vector<int64_t>* rows) const;

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch);

  // The item's rows, in delivery order: the row group's rows (permuted when shuffle_rows, the
  // same permutation for every drop partition of the row group in an epoch), the item's
  // slice of them, those the predicate keeps.
  std::vector<int64_t> SelectRows(const WorkItem& item, int64_t num_rows,
                                  const std::vector<bool>& keep) const;

  arrow::Result<parquet::arrow::FileReader*> OpenFile(int file_index);
  arrow::Result<std::shared_ptr<const DecodedRowGroup>> ProcessItem(const WorkItem& item);
  // Drops what the open file's Parquet reader pre-buffered for the item just read.
  void ReleaseReadCache();

  const Config* config_;
  StageStats* stats_;
  int open_file_index_ = -1;
  std::unique_ptr<parquet::arrow::FileReader> open_file_;
  std::unique_ptr<parquet::arrow::FileReader> item_file_;  // the read-ahead's, for one item
};

}  // namespace petastorm::internal
