// Loading one row group: read the selected columns, decode codec cells into tensors.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/result.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include "petastorm/dataset.h"
#include "petastorm/decoded_row_group.h"

namespace petastorm::internal {

// Time spent per stage, summed over threads.
struct StageStats {
  std::atomic<int64_t> io_ns{0};     // waiting for column chunks' bytes
  std::atomic<int64_t> read_ns{0};   // decompressing and decoding them (Parquet)
  std::atomic<int64_t> decode_ns{0};
  std::atomic<int64_t> predicate_ns{0};
};

struct LoadOptions {
  // Decode codec cells only for these rows (others stay std::nullopt); nullptr decodes all.
  const std::vector<int64_t>* decode_rows = nullptr;
  // Decode on Arrow's CPU pool instead of the calling thread.
  bool use_threads = false;
  // A file opened without pre-buffering (Dataset::OpenFile(i, false)) has its column chunks
  // requested and waited for apart from their decoding (the I/O time); `prebuffered` says the
  // caller requested them already (PreBuffer of the row group's columns).
  bool prebuffered = false;
  StageStats* stats = nullptr;
};

// Errors name the file, row group and field.
// The Parquet leaf columns of a top-level field (one for a flat column, several for a struct,
// list or map), appended to `out`.
void AppendLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* out);

arrow::Result<std::shared_ptr<const DecodedRowGroup>> LoadRowGroup(
    const Dataset& dataset, const std::shared_ptr<const Unischema>& fields, RowGroupRef row_group,
    parquet::arrow::FileReader* file, const LoadOptions& options);

// `raw` (loaded with decode_rows empty: no codec cell decoded) with the codec cells of `rows`
// decoded into tensors (the other rows' stay std::nullopt); the arrays are shared. Errors name
// the file, row group and field.
arrow::Result<std::shared_ptr<const DecodedRowGroup>> DecodeRows(const Dataset& dataset,
                                                                 const DecodedRowGroup& raw,
                                                                 const std::vector<int64_t>& rows,
                                                                 bool use_threads);

}  // namespace petastorm::internal
