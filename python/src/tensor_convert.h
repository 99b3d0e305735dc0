// numpy arrays <-> petastorm::Tensor. Both need the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include "petastorm/tensor.h"

namespace petastorm::python {

// A numpy array over the tensor's buffer (no copy); the array keeps the buffer alive.
nanobind::object TensorToNumpy(const Tensor& tensor);

// Copies a numpy array (any dtype but object, any layout) into a Tensor. Fortran-ordered
// arrays keep their order; other non-contiguous arrays become row-major.
// Raises TypeError for non-arrays and unsupported dtypes.
Tensor TensorFromNumpy(nanobind::handle array);

}  // namespace petastorm::python
