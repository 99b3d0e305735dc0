// numpy arrays <-> petastorm::Tensor. Both need the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include "petastorm/tensor.h"

namespace petastorm::python {

// A numpy array over the tensor's buffer (no copy); the array keeps the buffer alive.
// `writable` false makes it read-only (for buffers shared with the engine).
nanobind::object TensorToNumpy(const Tensor& tensor, bool writable = true);

// A Tensor over a numpy array's memory (no copy; a C-contiguous copy first when the array is
// not). The Tensor's buffer keeps the array alive and may be released without the GIL (it
// takes the GIL to let go). Raises TypeError for unsupported dtypes.
Tensor TensorViewOfNumpy(nanobind::handle array);

// Copies a numpy array (any dtype but object, any layout) into a Tensor. Fortran-ordered
// arrays keep their order; other non-contiguous arrays become row-major.
// Raises TypeError for non-arrays and unsupported dtypes.
Tensor TensorFromNumpy(nanobind::handle array);

}  // namespace petastorm::python
