// The terms of filters (filter.h), shared by row-group pruning and the row filter.
#pragma once

#include <memory>

#include <arrow/result.h>
#include <arrow/scalar.h>

#include "petastorm/filter.h"

namespace petastorm::internal {

bool IsNull(const Value& value);
// Whether the term's values hold None.
bool HoldsNull(const FilterTerm& term);

// Invalid for an unknown operator or a comparison without exactly one value.
arrow::Status CheckTerm(const FilterTerm& term);

// The non-null `value` as a scalar of `type` when the cast is exact; a number that is not (2.5
// for an int column) stays as it is, to be compared by the common type. Invalid naming the
// term's column for a value that cannot be compared with the column.
arrow::Result<std::shared_ptr<arrow::Scalar>> ValueToScalar(const Value& value,
                                                            const std::shared_ptr<arrow::DataType>& type,
                                                            const FilterTerm& term);

}  // namespace petastorm::internal
