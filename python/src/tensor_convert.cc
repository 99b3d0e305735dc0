#include "tensor_convert.h"

#include <cstring>

#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "numpy_api.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

nb::object Numpy() { return nb::module_::import_("numpy"); }

// The array in little-endian byte order (a copy only when it is big-endian), and its element type.
std::pair<nb::object, ElementType> LittleEndian(nb::object array) {
  std::string descr = nb::cast<std::string>(array.attr("dtype").attr("str"));
  if (!descr.empty() && descr[0] == '>') {
    array = array.attr("astype")(array.attr("dtype").attr("newbyteorder")("<"));
    descr = nb::cast<std::string>(array.attr("dtype").attr("str"));
  }
  auto element = ElementType::FromTypeString(descr);
  if (!element.ok()) throw nb::type_error(element.status().message().c_str());
  return {std::move(array), *element};
}

}  // namespace

nb::object TensorToNumpy(const Tensor& tensor, bool writable) {
  auto* keep = new std::shared_ptr<arrow::Buffer>(tensor.data);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<std::shared_ptr<arrow::Buffer>*>(p); });
  nb::object numeric = NumericArrayOver(tensor, owner, writable);
  if (numeric.is_valid()) return numeric;
  // Strings, bytes and datetimes: view the raw bytes with numpy's dtype.
  void* data = tensor.data ? const_cast<uint8_t*>(tensor.data->data()) : nullptr;
  const char order = tensor.fortran_order ? 'F' : 'C';
  nb::object np = Numpy();
  nb::object np_dtype = np.attr("dtype")(tensor.element.TypeString());
  nb::object py_shape = nb::steal(PySequence_Tuple(nb::cast(tensor.shape).ptr()));
  if (tensor.nbytes() == 0) return np.attr("empty")(py_shape, np_dtype);
  size_t nbytes = static_cast<size_t>(tensor.nbytes());
  nb::ndarray<nb::numpy, uint8_t> raw(data, 1, &nbytes, owner);
  nb::object array = nb::cast(raw).attr("view")(np_dtype).attr("reshape")(py_shape, nb::arg("order") = nb::str(&order, 1));
  if (!writable) array.attr("setflags")(nb::arg("write") = false);
  return array;
}

namespace {

// An arrow::Buffer over a numpy array's memory that keeps the array alive. It may be released
// on a thread without the GIL (inside the Batcher): it takes the GIL to let go of the array.
class NumpyBuffer : public arrow::Buffer {
 public:
  NumpyBuffer(nb::object array, const uint8_t* data, int64_t size)
      : arrow::Buffer(data, size), array_(array.release().ptr()) {}
  ~NumpyBuffer() override {
    if (!Py_IsInitialized()) return;  // the interpreter is gone: nothing to release
    PyGILState_STATE state = PyGILState_Ensure();
    Py_DECREF(array_);
    PyGILState_Release(state);
  }

 private:
  PyObject* array_;
};

}  // namespace

Tensor TensorViewOfNumpy(nb::handle obj) {
  nb::object np = Numpy();
  // asarray keeps a 0-d value 0-d (ascontiguousarray makes it (1,)); torch tensors come through
  // their __array__.
  nb::object contiguous = np.attr("asarray")(obj);
  if (!nb::cast<bool>(contiguous.attr("flags").attr("c_contiguous"))) {
    contiguous = np.attr("ascontiguousarray")(contiguous);
  }
  auto [array, element] = LittleEndian(contiguous);
  Tensor tensor;
  tensor.element = element;
  tensor.shape = nb::cast<std::vector<int64_t>>(array.attr("shape"));
  nb::object interface = array.attr("__array_interface__");
  const auto address = nb::cast<uintptr_t>(nb::cast<nb::tuple>(interface["data"])[0]);
  tensor.data = std::make_shared<NumpyBuffer>(array, reinterpret_cast<const uint8_t*>(address), tensor.nbytes());
  return tensor;
}

Tensor TensorFromNumpy(nb::handle obj) {
  nb::object np = Numpy();
  if (!nb::isinstance(obj, np.attr("ndarray"))) {
    throw nb::type_error(("expected a numpy.ndarray, got " +
                          std::string(nb::str(obj.type().attr("__name__")).c_str())).c_str());
  }
  auto [array, element_type] = LittleEndian(nb::borrow(obj));
  const ElementType* element = &element_type;

  nb::object flags = array.attr("flags");
  const bool c_contiguous = nb::cast<bool>(flags.attr("c_contiguous"));
  const bool f_contiguous = nb::cast<bool>(flags.attr("f_contiguous"));
  Tensor tensor;
  tensor.element = *element;
  tensor.fortran_order = f_contiguous && !c_contiguous;
  if (!c_contiguous && !f_contiguous) array = np.attr("ascontiguousarray")(array);
  tensor.shape = nb::cast<std::vector<int64_t>>(array.attr("shape"));

  auto buffer = ValueOrThrow(arrow::AllocateBuffer(tensor.nbytes()));
  if (tensor.nbytes() > 0) {
    nb::object flat = (tensor.fortran_order ? array.attr("T") : array)
                          .attr("reshape")(-1)
                          .attr("view")(np.attr("uint8"));
    Py_buffer view;
    if (PyObject_GetBuffer(flat.ptr(), &view, PyBUF_SIMPLE) != 0) throw nb::python_error();
    std::memcpy(buffer->mutable_data(), view.buf, static_cast<size_t>(view.len));
    PyBuffer_Release(&view);
  }
  tensor.data = std::shared_ptr<arrow::Buffer>(std::move(buffer));
  return tensor;
}

}  // namespace petastorm::python
