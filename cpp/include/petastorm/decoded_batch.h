// DecodedBatch: rows of one row group (or a part of one), column by column, codec fields
// decoded into tensors. Immutable once made; safe to share across threads.
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
  const Field* field = nullptr;          // points into DecodedBatch::schema
  std::shared_ptr<arrow::Array> values;  // the stored column (codec fields: the encoded cells)
  // Codec fields only: one tensor per row, std::nullopt where the cell is null.
  std::vector<std::optional<Tensor>> tensors;
};

struct DecodedBatch {
  std::shared_ptr<const Unischema> schema;
  int64_t num_rows = 0;
  std::vector<DecodedColumn> columns;  // in schema order
  RowGroupRef source;

  // The column of `name`; nullptr when the batch does not hold it.
  const DecodedColumn* column(std::string_view name) const;
};

// The rows at `indices` (in that order) of `batch`, restricted to `schema`'s fields (which the
// batch must hold; nullptr keeps the batch's schema). Tensors are shared, not copied.
arrow::Result<std::shared_ptr<const DecodedBatch>> TakeRows(
    const DecodedBatch& batch, const std::vector<int64_t>& indices,
    std::shared_ptr<const Unischema> schema = nullptr);

}  // namespace petastorm
