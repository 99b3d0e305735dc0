// How Python and numpy print values, and exact decimal text: what in_pseudorandom_split hashes
// and what predicates say in messages, as Python would.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "petastorm/row.h"

namespace petastorm::internal {

// str() of a numpy floating scalar of `bits` (16, 32 or 64) holding `value` (which that type
// represents exactly): the shortest digits that round-trip, positional ("1000.0", "0.0001")
// for 1e-4 <= |value| < 1e3 / 1e6 / 1e16 (numpy 2's cut-offs for float16/32/64), else
// scientific ("1e+16", "1.5e-05"). For bits == 64 this is also Python's repr(float).
std::string NumpyFloatStr(double value, int bits);

// Python's repr of a bytes object: b'a\x00\n', or b"it's" when it holds ' and no ".
std::string PythonBytesRepr(std::string_view bytes);

// Decimal text ("-1.50", "1E+3", "0.000", "12") in one canonical plain form ("-1.5", "1000",
// "0", "12"): equal numbers give equal text. std::nullopt for what is not a finite decimal
// number, or whose exponent is beyond anything a stored value can have.
std::optional<std::string> CanonicalDecimal(std::string_view text);

// The exact value of a finite double in canonical decimal form (0.1 -> "0.1000000000000000055511151231257827021181583404541015625").
std::string ExactDecimal(double value);

// A Python string literal: 'it\'s'.
std::string QuotePython(std::string_view s);
// repr() of the Python value a Value stands for: None, True, 3, 0.5, 'a', b'a', Decimal('1.5').
std::string ValueRepr(const Value& value);
// "[v1, v2, ...]", the first few of `values`.
std::string ValuesRepr(const std::vector<Value>& values);

}  // namespace petastorm::internal
