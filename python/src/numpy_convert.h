// NumpyColumn (petastorm/numpy_column.h) -> numpy arrays and Python values. Needs the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include "petastorm/numpy_column.h"
#include "petastorm/schema.h"

namespace petastorm::python {

// The numpy array of a column (make_batch_reader's form). Arrays over Arrow buffers shared
// with the engine are read-only unless `writable` (the buffers belong to this column alone).
nanobind::object NumpyColumnToNumpy(const NumpyColumn& column, bool writable);

// The column's values one per row (make_reader's form): numpy scalars of the field's type,
// arrays, Python objects, None for nulls.
nanobind::list NumpyColumnToValues(const NumpyColumn& column);

}  // namespace petastorm::python
