// What a decoded column becomes in numpy: the one rule, for every Arrow type and for tensor
// fields (docs/types.md). make_batch_reader's columns, make_reader's row values, the batcher's
// inputs and schema inference's dtypes and shapes all follow it; the Python bindings only
// materialize the result (numpy arrays over the C++ buffers, Python objects where numpy has
// no type).
//
// Thread safety: pure functions. Ownership: a NumpyColumn shares the Arrow buffers and tensors
// it came from wherever `zero_copy` says so. Errors: NotImplemented naming the type for what
// has no numpy form (unions, intervals, extension types, list views); Invalid for text that is
// not UTF-8.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/array.h>
#include <arrow/result.h>

#include "petastorm/decoded_row_group.h"
#include "petastorm/dtype.h"
#include "petastorm/schema.h"
#include "petastorm/tensor.h"

namespace petastorm {

// What happens to nulls.
enum class NullPolicy {
  // make_batch_reader's columns (Petastorm's, through pandas): integers with nulls become
  // float64 with NaN, floats hold NaN, datetimes NaT, anything else an object array with None
  // (a list or fixed-size list with null rows: an object array of row arrays and None).
  kBatch,
  // make_reader's row values: values keep their (declared) type; null_rows lists the rows that
  // are None.
  kRows,
};

struct NumpyColumn {
  enum class Kind {
    // `tensor`, its first dimension the rows: numbers, bools, datetime64[unit], 'U' text.
    kTensor,
    // An object array of the Python values of `objects` (pyarrow's to_pylist: bytes, Decimal,
    // dict for a struct, [(key, value)] for a map, str, None), each wrapped in numpy type
    // `wrap` when set (np.bytes_ for make_reader's bytes fields).
    kObjects,
    // An object array: row i is child[offsets[i]:offsets[i + 1]] (a numpy view of the child
    // column), or None where valid[i] is 0.
    kRows,
    // An object array of `tensors` as numpy arrays (over their buffers), None for nulls.
    kTensorRows,
  };
  Kind kind = Kind::kTensor;
  // Rows; for an object kind seen through `shape`, the entries before that reshape.
  int64_t length = 0;

  Tensor tensor;           // kTensor
  bool zero_copy = false;  // kTensor: `tensor` shares the Arrow buffers (numpy: read-only)
  std::vector<int64_t> null_rows;  // kTensor under NullPolicy::kRows: rows that are None

  std::shared_ptr<arrow::Array> objects;  // kObjects
  std::optional<ScalarType> wrap;         // kObjects

  std::shared_ptr<const NumpyColumn> child;  // kRows
  std::vector<int64_t> offsets;              // kRows: length + 1 entries
  std::vector<uint8_t> valid;                // kRows: length entries

  std::vector<std::optional<Tensor>> tensors;  // kTensorRows

  // Object kinds seen as (length, k, ...) instead of (length,): the rows of a fixed-size list
  // whose elements are objects. Empty: (length,).
  std::vector<int64_t> shape;
};

// The numpy form of an Arrow array. `declared`: the field's numpy type; numeric values without
// nulls are converted to it (make_reader delivers declared types; make_batch_reader's columns
// of a Petastorm dataset too), and under kRows it decides which values are wrapped.
arrow::Result<NumpyColumn> ArrowToNumpy(const std::shared_ptr<arrow::Array>& array, NullPolicy policy,
                                        std::optional<ScalarType> declared = std::nullopt);

// Tensors of one shape and element type, none null, stacked along a new first dimension:
// (rows, *shape), row-major. std::nullopt when they differ or one is null (or there are none).
// No copy when the tensors are consecutive equal-sized slices of one buffer (as a decoded IPC
// row group's are); else one copy.
arrow::Result<std::optional<Tensor>> StackTensors(const std::vector<std::optional<Tensor>>& tensors);

// A decoded row group's column of `field`, as make_batch_reader (kBatch: tensor fields stacked
// when they can be, else an object array of arrays) or make_reader (kRows: tensor fields one
// array per row) delivers it.
arrow::Result<NumpyColumn> ColumnToNumpy(const Field& field, const DecodedColumn& column, int64_t num_rows,
                                         NullPolicy policy);

// The numpy element type and row shape that ArrowToNumpy gives the values of `type` when they
// have no nulls — what schema inference reports for a column (docs/types.md):
//   bool, int8..uint64, float16/32/64 -> the same numpy type, shape ()
//   string, large_string, string_view -> str;  binary, large_binary, binary_view,
//   fixed_size_binary -> bytes;  date32, date64, timestamp (any unit, any time zone) -> datetime64
//   time32 -> int32, time64 -> int64, duration -> int64 (counts of the column's unit)
//   decimal32/64/128/256 -> decimal;  dictionary<index, value> -> as its value type
//   struct, map, null -> object
//   list<T>, large_list<T> -> T's type, shape (None,) + T's shape
//   fixed_size_list<T>[k] -> T's type, shape (k,) + T's shape
// NotImplemented naming `name` and the type for the rest.
struct NumpyType {
  ScalarType dtype = ScalarType::kObject;
  FieldShape shape;
};
arrow::Result<NumpyType> NumpyTypeOf(const std::string& name, const arrow::DataType& type);

}  // namespace petastorm
