// Filters: pyarrow-style DNF conditions. Two steps: PruneRowGroups skips row groups before any
// data is read, judged from Parquet row-group statistics (min, max, null count); MakeRowFilter
// is the row-exact rest, a Predicate the reader evaluates on the filter columns before it reads
// the others.
//
// A row group is skipped only when its statistics prove that no row can match; a row group
// without statistics for a column is kept. Thread safety: pure functions; the row filter is
// immutable and may be evaluated on several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "petastorm/dataset.h"
#include "petastorm/predicate.h"
#include "petastorm/row.h"

namespace petastorm {

// column op value: op is one of "=", "==", "!=", "<", "<=", ">", ">=", "in", "not in".
// `values` holds one value, or the set for "in" / "not in"; a null (std::monostate) is None.
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

// The rows that match, with pyarrow's semantics (pyarrow.parquet.read_table(filters=...)):
// a comparison with a null cell or with None is null and drops the row; "in" matches a null cell
// only when the set holds None, so "not in" keeps null cells unless it does; "and" / "or" are
// Kleene's. Values compare as Arrow compute compares them: cast to the column's type when that
// is exact, else by the common type (an int column < 2.5). fields() are the filter columns.
// Errors: Invalid for a bad operator (at once) and, when evaluated, Invalid naming the column for
// an array (codec) field or a value that cannot be compared with the column; KeyError for a
// column the batch lacks.
arrow::Result<std::shared_ptr<const Predicate>> MakeRowFilter(Filters filters);

}  // namespace petastorm
