// Random access to a dataset's rows (map-style reading): row i of the dataset -> (row group,
// offset) from the footers' row counts; the rows asked for, read and decoded on native threads.
//
// Errors: arrow::Status naming the file and row group (IndexError for a row out of range).
// Ownership: RowAccess shares the Dataset; what Take returns is the caller's (immutable).
// Thread safety: every method may be called from any number of threads at once.
//
// The Parquet page index is not used to read less than a row group: parquet::arrow::FileReader
// (Arrow 26) reads whole row groups' column chunks and has no row-range selection; reading
// single pages through the page index would need a Parquet-to-Arrow decoder of our own.
// Page-indexed files read like any other (docs/random_access.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>

#include "petastorm/dataset.h"
#include "petastorm/decoded_row_group.h"
#include "petastorm/schema.h"

namespace petastorm {

// Reads the row groups at `positions` (indexes into dataset.row_groups()), `fields` of each,
// on `threads` native threads (at most one per row group), results in the order of
// `positions`. `decode`: codec cells decoded into tensors; false leaves them encoded (every
// tensor std::nullopt, `values` holds the cells). Errors name the file and row group; on an
// error every thread is joined before it is returned.
arrow::Result<std::vector<std::shared_ptr<const DecodedRowGroup>>> LoadRowGroups(
    const std::shared_ptr<const Dataset>& dataset, const std::shared_ptr<const Unischema>& fields,
    const std::vector<int64_t>& positions, int threads, bool decode = true);

struct RowAccessOptions {
  // The schema to read by; null: the dataset's stored Unischema (a plain Parquet store has none:
  // pass an inferred one).
  std::shared_ptr<const Unischema> schema;
  // Field names to deliver; empty delivers every field.
  std::vector<std::string> fields;
  // Native threads reading and decoding the row groups of one Take.
  int threads = 4;
  // The cache of row groups read from Parquet (codec cells still encoded), least recently
  // used first out, bounded by bytes (MemoryBytes) and by count; 0 bytes or 0 groups: none.
  int64_t cache_bytes = int64_t{512} << 20;
  int64_t cache_row_groups = 64;
};

struct RowAccessStats {
  int64_t hits = 0;          // row groups a Take found in the cache
  int64_t misses = 0;        // row groups it read
  int64_t cached_row_groups = 0;
  int64_t cached_bytes = 0;
};

class RowAccess {
 public:
  // Reads every footer (the row counts). Fails when there is no schema, a field is unknown
  // (KeyError) or threads < 1 (Invalid).
  static arrow::Result<std::shared_ptr<RowAccess>> Open(std::shared_ptr<const Dataset> dataset,
                                                        RowAccessOptions options = {});

  int64_t num_rows() const { return starts_.back(); }
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }
  const std::shared_ptr<const Dataset>& dataset() const { return dataset_; }
  // (row group position, row within it) of dataset row `row`; IndexError out of [0, num_rows).
  arrow::Result<std::pair<int64_t, int64_t>> Locate(int64_t row) const;
  // The rows at `rows` (dataset row indexes, any order, repeats allowed), in that order, as one
  // batch of schema(). Only those rows' codec cells are decoded. IndexError for a row out of
  // range (nothing is read then).
  arrow::Result<std::shared_ptr<const DecodedRowGroup>> Take(const std::vector<int64_t>& rows);
  RowAccessStats stats() const;

 private:
  RowAccess() = default;
  using RowGroupPtr = std::shared_ptr<const DecodedRowGroup>;
  // The cached row group at `position`, or null (moves it to the front).
  RowGroupPtr Lookup(int64_t position);
  void Store(int64_t position, RowGroupPtr group);

  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const Unischema> schema_;
  RowAccessOptions options_;
  std::vector<int64_t> starts_;  // row of the dataset each row group starts at; back(): num_rows

  struct CacheState;
  std::shared_ptr<CacheState> cache_;
};

}  // namespace petastorm
