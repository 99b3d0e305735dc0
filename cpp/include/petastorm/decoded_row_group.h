// DecodedRowGroup: the rows of one row group (or of a part of one: a drop partition, the rows
// a predicate kept, a shuffled order), column by column, tensor fields decoded into one
// Tensor per row. What a reader delivers, a training batch is assembled from (batcher.h), the
// cache stores and the process pool sends (row_group_ipc.h).
//
// Names: a "row group" here is always this; a training batch is batcher.h's TrainingBatch;
// what make_batch_reader yields in Python is a namedtuple of numpy columns made from one
// DecodedRowGroup.
//
// Ownership: shared and immutable once made (shared_ptr<const DecodedRowGroup>); safe to read
// from any number of threads. Its arrays and tensors share buffers with the Parquet reader's
// output (no copies).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <arrow/array.h>
#include <arrow/result.h>

#include "petastorm/dataset.h"
#include "petastorm/schema.h"
#include "petastorm/tensor.h"

namespace petastorm {

// One field of a decoded batch.
struct DecodedColumn {
  const Field* field = nullptr;          // points into DecodedRowGroup::schema
  std::shared_ptr<arrow::Array> values;  // the stored column (codec fields: the encoded cells)
  // Codec fields only: one tensor per row, std::nullopt where the cell is null.
  std::vector<std::optional<Tensor>> tensors;
};

struct DecodedRowGroup {
  std::shared_ptr<const Unischema> schema;
  int64_t num_rows = 0;
  std::vector<DecodedColumn> columns;  // in schema order
  RowGroupRef source;

  // The column of `name`; nullptr when the batch does not hold it.
  const DecodedColumn* column(std::string_view name) const;
  // The bytes of memory the batch keeps alive: every buffer of its columns and tensors, the
  // whole of a sliced buffer's parent, each buffer once.
  int64_t MemoryBytes() const;
};

// A row group of no rows with every field of `schema` (empty tensors; an empty array of each
// other field's storage type). Errors: a field without a storage type.
arrow::Result<std::shared_ptr<const DecodedRowGroup>> EmptyRowGroup(std::shared_ptr<const Unischema> schema);

// The rows at `indices` (in that order, repeats allowed) of `batch`, restricted to `schema`'s
// fields (which the batch must hold; nullptr keeps the batch's schema). Indices out of range
// are an IndexError; a field the batch lacks a KeyError.
//
// Tensor columns: the result holds the taken rows' Tensors, sharing their buffers (no copy of
// tensor data), and no `values` (the encoded cells are dropped). Other columns: a run of
// consecutive indices is a zero-copy slice of `values`; any other order is arrow::compute::Take
// (a copy of the selected values).
arrow::Result<std::shared_ptr<const DecodedRowGroup>> TakeRows(
    const DecodedRowGroup& batch, const std::vector<int64_t>& indices,
    std::shared_ptr<const Unischema> schema = nullptr);

}  // namespace petastorm
