#include "petastorm/dtype.h"

#include <array>

namespace petastorm {
namespace {

struct TypeInfo {
  ScalarType type;
  std::string_view name;
  int item_size;
};

constexpr std::array<TypeInfo, 19> kTypes = {{
    {ScalarType::kBool, "bool", 1},
    {ScalarType::kInt8, "int8", 1},
    {ScalarType::kInt16, "int16", 2},
    {ScalarType::kInt32, "int32", 4},
    {ScalarType::kInt64, "int64", 8},
    {ScalarType::kUInt8, "uint8", 1},
    {ScalarType::kUInt16, "uint16", 2},
    {ScalarType::kUInt32, "uint32", 4},
    {ScalarType::kUInt64, "uint64", 8},
    {ScalarType::kFloat16, "float16", 2},
    {ScalarType::kFloat32, "float32", 4},
    {ScalarType::kFloat64, "float64", 8},
    {ScalarType::kComplex64, "complex64", 8},
    {ScalarType::kComplex128, "complex128", 16},
    {ScalarType::kBytes, "bytes", 0},
    {ScalarType::kString, "str", 0},
    {ScalarType::kDecimal, "decimal", 0},
    {ScalarType::kDatetime64, "datetime64", 8},
    {ScalarType::kObject, "object", 0},
}};

const TypeInfo& Info(ScalarType type) { return kTypes[static_cast<size_t>(type)]; }

}  // namespace

std::string_view ScalarTypeName(ScalarType type) { return Info(type).name; }

arrow::Result<ScalarType> ScalarTypeFromName(std::string_view name) {
  for (const auto& info : kTypes) {
    if (info.name == name) return info.type;
  }
  return arrow::Status::Invalid("Unknown element type '", name, "'");
}

const std::vector<ScalarType>& AllScalarTypes() {
  static const std::vector<ScalarType> all = [] {
    std::vector<ScalarType> v;
    for (const auto& info : kTypes) v.push_back(info.type);
    return v;
  }();
  return all;
}

int FixedItemSize(ScalarType type) { return Info(type).item_size; }

bool IsInteger(ScalarType type) {
  return type >= ScalarType::kInt8 && type <= ScalarType::kUInt64;
}

bool IsFloating(ScalarType type) {
  return type >= ScalarType::kFloat16 && type <= ScalarType::kFloat64;
}

}  // namespace petastorm
