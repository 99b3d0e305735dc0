// Python values -> petastorm::Value: the one conversion the writer and the predicates share.
// All functions need the GIL.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nanobind/nanobind.h>

#include "petastorm/row.h"
#include "petastorm/schema.h"

namespace petastorm::python {

// Converts one cell for `field`: None, bool, int (incl. numpy integers), float, str, bytes,
// Decimal, numpy.datetime64 / datetime.date(time); numpy arrays become Tensors for codec
// fields, a 0-d array of a scalar field becomes its element. Raises TypeError naming the
// field for values that cannot be stored, ValueError for ints beyond 64 bits.
Value ValueFromPython(const Field& field, nanobind::handle value);

// Converts a scalar for a comparison (predicate inclusion values): the types above, a 0-d
// array as its element. An int beyond 64 bits becomes the float of equal value when there is
// one; std::nullopt when nothing stored can equal it. Raises TypeError naming `what` for
// arrays and other types.
std::optional<Value> ScalarFromPython(nanobind::handle value, const std::string& what);

// Key-value metadata from a Python mapping of str or bytes to bytes (or str); `what` names it in
// errors. Raises TypeError for other types.
std::vector<std::pair<std::string, std::string>> KeyValuesFromPython(nanobind::handle mapping, const std::string& what);

}  // namespace petastorm::python
