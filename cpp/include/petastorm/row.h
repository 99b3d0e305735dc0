// Row values handed to the DatasetWriter.
//
// A Value is one cell: null, a Python-like scalar, or a Tensor for codec fields.
// Ownership: values own their data (a Tensor shares its buffer).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "petastorm/tensor.h"

namespace petastorm {

// Raw bytes (Python bytes); std::string in a Value is text (Python str, UTF-8).
struct Bytes {
  std::string data;
};
// A decimal number as text, e.g. "3.1415" (Python's str(Decimal)).
struct DecimalText {
  std::string text;
};
// A point in time: nanoseconds since the Unix epoch (UTC).
struct DatetimeNs {
  int64_t ns = 0;
};

using Value = std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, Bytes,
                           DecimalText, DatetimeNs, Tensor>;

// Cells by field name, in any order. Fields left out are null (an error for a non-nullable field).
using NamedRow = std::vector<std::pair<std::string, Value>>;

// "null", "int", "str", "Tensor(uint8 (2, 3))", ... for error messages.
std::string DescribeValue(const Value& value);

}  // namespace petastorm
