// Appending validated row values to Arrow builders of a field's storage type.
#pragma once

#include <arrow/array/builder_base.h>
#include <arrow/status.h>

#include "petastorm/row.h"
#include "petastorm/schema.h"

namespace petastorm::internal {

// Checks that `value` can be stored in `field` (null allowed only when nullable; a Tensor of
// the right dtype and shape for codec fields; a compatible scalar otherwise). The message
// names the field; the caller adds the row number.
arrow::Status CheckValue(const Field& field, const arrow::DataType& storage_type,
                         const Value& value);

// Appends a scalar value (already checked) to a builder of `storage_type`.
arrow::Status AppendScalar(const Field& field, const Value& value, arrow::ArrayBuilder* builder);

}  // namespace petastorm::internal
