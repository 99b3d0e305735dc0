// numpy's C API for the extension: one copy of its function table (import_array), and numpy
// arrays made directly over a Tensor's buffer. Everything here needs the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include "petastorm/tensor.h"

namespace petastorm::python {

// Loads numpy's C API (module init). Raises ImportError when numpy cannot be imported.
void ImportNumpyApi();

// A numpy array over the tensor's buffer (no copy) holding `owner` (which keeps the buffer
// alive) as its base, for numeric element types (bool, integers, floats, complex); a null
// object for the others. Writable when `writable`; C- or Fortran-ordered as the tensor says.
nanobind::object NumericArrayOver(const Tensor& tensor, nanobind::object owner, bool writable);

}  // namespace petastorm::python
