// Element types of Unischema fields and tensors, named as numpy names them.
//
// Thread safety: everything here is a pure function of its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>

namespace petastorm {

// The numpy scalar types a Unischema field may hold. kBytes and kString are numpy's
// fixed-width 'S<n>' and 'U<n>' in tensors (UCS4 for kString), variable-length in scalars.
// kDecimal is Python's decimal.Decimal; kDatetime64 carries a unit in tensors. kObject is
// numpy's object type: the values of struct, map and null columns of a Parquet store read by
// make_batch_reader (Python dicts, lists, None); it cannot be written or held by a tensor.
enum class ScalarType : uint8_t {
  kBool,
  kInt8, kInt16, kInt32, kInt64,
  kUInt8, kUInt16, kUInt32, kUInt64,
  kFloat16, kFloat32, kFloat64,
  kComplex64, kComplex128,
  kBytes, kString,
  kDecimal, kDatetime64,
  kObject,
};

// The name numpy gives the type (np.dtype(t).name): "bool", "int32", "float16", "bytes",
// "str", "datetime64", "object"; "decimal" for decimal.Decimal.
std::string_view ScalarTypeName(ScalarType type);

// Inverse of ScalarTypeName. Returns Status::Invalid naming `name` when it is unknown.
arrow::Result<ScalarType> ScalarTypeFromName(std::string_view name);

// Every ScalarType in enum order; the one list both languages use.
const std::vector<ScalarType>& AllScalarTypes();

// Size in bytes of one element, or 0 when the size is a property of the value
// (kBytes, kString, kDecimal, kObject). kDatetime64 is 8.
int FixedItemSize(ScalarType type);

bool IsInteger(ScalarType type);
bool IsFloating(ScalarType type);

}  // namespace petastorm
