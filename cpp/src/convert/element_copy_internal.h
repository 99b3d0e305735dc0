// Element kernels: copying runs of numeric elements with conversion between numeric types,
// and row-major copies of column-major tensors. Shared by the numpy conversion
// (numpy_column.h) and the batcher. Pure functions; no allocation except RowMajor.
#pragma once

#include <cstdint>
#include <optional>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "petastorm/dtype.h"
#include "petastorm/tensor.h"

namespace petastorm::internal {

// bool, integers, floats (float16 included), complex.
bool IsNumeric(ScalarType type);
// Whether CopyElements converts `from` to `to`: equal types, or two numeric types other than
// float16 and complex (which are only copied as they are).
bool CanConvert(ScalarType from, ScalarType to);

// The element type of a fixed-width Arrow array's values buffer (dates, times, durations and
// timestamps as their integer storage); std::nullopt for anything else.
std::optional<ScalarType> PhysicalType(const arrow::DataType& type);

// A run of numeric elements in memory: element e is at data + e * itemsize, or bit
// bit_offset + e of data for bit-packed booleans.
struct Elements {
  const uint8_t* data = nullptr;
  ScalarType type = ScalarType::kUInt8;
  bool bits = false;
  int64_t bit_offset = 0;
};

// Elements of a fixed-width Arrow values array (any offset) of physical type `type`.
Elements ElementsOf(const arrow::ArrayData& data, ScalarType type);

// Copies elements [start, start + count) of `src` to `out` as `dst` elements (numpy's bool is
// one byte, 0 or 1). The caller has checked CanConvert(src.type, dst).
void CopyElements(const Elements& src, int64_t start, int64_t count, ScalarType dst, uint8_t* out);

// Copies a tensor's elements to `dst`, row-major, as `type` elements: the bytes as they are when
// `type` is the tensor's own type (any type, strings included), else converted (numeric types;
// the caller has checked CanConvert). The one kernel that stacks tensors (numpy_column.h's
// StackTensors, the batcher's assembly).
arrow::Status CopyTensorAs(const Tensor& tensor, ScalarType type, uint8_t* dst);

// A row-major copy of a column-major tensor (numpy's fortran_order); the tensor itself when it
// is row-major already (or of rank < 2).
arrow::Result<Tensor> RowMajor(const Tensor& tensor);

}  // namespace petastorm::internal
