// Python's equality semantics of the cells a predicate compares: a scalar column's row as the
// value the reader delivers (numpy scalar of the field's dtype, str, bytes, Decimal,
// numpy.datetime64), numpy's trailing-NUL stripping of str_/bytes_ scalars applied; list rows and
// tensor elements as np.in1d sees them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <arrow/array.h>
#include <arrow/result.h>

#include "petastorm/dtype.h"
#include "petastorm/tensor.h"
#include "predicate/value_set_internal.h"

namespace petastorm::internal {

struct FloatCell {
  double value;
  int bits;  // 16, 32, 64: the numpy type it is a scalar of
};
struct StrCell {
  std::string_view text;
};
struct BytesCell {
  std::string_view data;
};
struct DecimalCell {
  std::string text;
};
struct DatetimeCell {
  std::optional<int64_t> ns;  // std::nullopt: out of the ns range
};
// One row of a scalar column, as the reader hands it to Python (None, numpy scalar, str, ...).
using Cell = std::variant<std::monostate, bool, int64_t, uint64_t, FloatCell, StrCell, BytesCell,
                          DecimalCell, DatetimeCell>;

// Row `i` of `array`, a column of a field of numpy type `dtype`. NotImplemented naming `where`
// for a column type that cannot be compared.
arrow::Result<Cell> ReadCell(const arrow::Array& array, int64_t i, ScalarType dtype, const std::string& where);
bool IsListType(arrow::Type::type id);
// Whether the value the cell stands for equals a member of `set`.
bool CellIn(const Cell& cell, const ValueSet& set);
// Whether any element of the list in row `i` of `array` (nested lists flattened) is in `set`:
// np.in1d(value, values).any() on the array make_batch_reader delivers.
arrow::Result<bool> AnyListElementIn(const arrow::Array& array, int64_t i, ScalarType dtype, const ValueSet& set,
                                     const std::string& where);
// str(value) of the value the reader delivers for the cell.
arrow::Result<std::string> PythonStr(const Cell& cell, const std::string& where);
// Whether any element of `tensor` equals a member of `set` (np.in1d(...).any()).
arrow::Result<bool> AnyElementIn(const Tensor& tensor, const ValueSet& set, const std::string& where);

}  // namespace petastorm::internal
