// Filters: pyarrow-style DNF conditions that prune row groups before any data is read,
// judged from Parquet row-group statistics (min, max, null count).
//
// A row group is skipped only when its statistics prove that no row can match; a row group
// without statistics for a column is kept. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "petastorm/dataset.h"
#include "petastorm/row.h"

namespace petastorm {

// column op value: op is one of "=", "==", "!=", "<", "<=", ">", ">=", "in", "not in".
// `values` holds one value, or the set for "in" / "not in".
struct FilterTerm {
  std::string column;
  std::string op;
  std::vector<Value> values;
};

// OR of ANDs: [[a, b], [c]] keeps rows where (a and b) or c.
using Filters = std::vector<std::vector<FilterTerm>>;

// The row groups (indexes into dataset.row_groups()) that may hold matching rows, in order.
// Reads every data file's footer. Errors: Invalid naming an unknown column, a bad operator or
// a value that cannot be compared with the column.
arrow::Result<std::vector<int64_t>> PruneRowGroups(const Dataset& dataset, const Filters& filters);

}  // namespace petastorm
