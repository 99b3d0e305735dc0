// The one translation unit that defines numpy's C-API table (PY_ARRAY_UNIQUE_SYMBOL).
#include "numpy_api.h"

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL petastorm_numpy_api
#include <numpy/arrayobject.h>

#include <vector>

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// numpy's type number for a numeric element type; -1 for the rest.
int TypeNumber(ScalarType type) {
  switch (type) {
    case ScalarType::kBool: return NPY_BOOL;
    case ScalarType::kInt8: return NPY_INT8;
    case ScalarType::kInt16: return NPY_INT16;
    case ScalarType::kInt32: return NPY_INT32;
    case ScalarType::kInt64: return NPY_INT64;
    case ScalarType::kUInt8: return NPY_UINT8;
    case ScalarType::kUInt16: return NPY_UINT16;
    case ScalarType::kUInt32: return NPY_UINT32;
    case ScalarType::kUInt64: return NPY_UINT64;
    case ScalarType::kFloat16: return NPY_FLOAT16;
    case ScalarType::kFloat32: return NPY_FLOAT32;
    case ScalarType::kFloat64: return NPY_FLOAT64;
    case ScalarType::kComplex64: return NPY_COMPLEX64;
    case ScalarType::kComplex128: return NPY_COMPLEX128;
    default: return -1;
  }
}

}  // namespace

void ImportNumpyApi() {
  if (_import_array() < 0) throw nb::python_error();
}

nb::object NumericArrayOver(const Tensor& tensor, nb::object owner, bool writable) {
  const int type_number = TypeNumber(tensor.element.type);
  if (type_number < 0) return nb::object();
  std::vector<npy_intp> dims(tensor.shape.begin(), tensor.shape.end());
  // An empty tensor may have no buffer: numpy then allocates its own (zero bytes).
  const bool has_data = tensor.data && tensor.data->data() && tensor.nbytes() > 0;
  int flags = tensor.fortran_order ? NPY_ARRAY_F_CONTIGUOUS : NPY_ARRAY_C_CONTIGUOUS;
  if (has_data && writable) flags |= NPY_ARRAY_WRITEABLE;  // numpy works out the alignment
  void* data = has_data ? const_cast<uint8_t*>(tensor.data->data()) : nullptr;
  PyObject* array = PyArray_NewFromDescr(&PyArray_Type, PyArray_DescrFromType(type_number),
                                         static_cast<int>(dims.size()), dims.data(), nullptr, data, flags,
                                         nullptr);
  if (!array) throw nb::python_error();
  nb::object result = nb::steal(array);
  if (has_data) {
    if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(array), owner.release().ptr()) < 0) {
      throw nb::python_error();
    }
  }
  return result;
}

}  // namespace petastorm::python
