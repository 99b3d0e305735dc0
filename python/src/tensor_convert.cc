#include "tensor_convert.h"

#include <cstring>

#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// The DLPack dtype of fixed-size numeric types; code 255 for the rest.
nb::dlpack::dtype DlpackType(const ElementType& element) {
  using nb::dlpack::dtype_code;
  const uint8_t bits = static_cast<uint8_t>(element.itemsize * 8);
  auto make = [&](dtype_code code) { return nb::dlpack::dtype{static_cast<uint8_t>(code), bits, 1}; };
  switch (element.type) {
    case ScalarType::kBool: return make(dtype_code::Bool);
    case ScalarType::kInt8: case ScalarType::kInt16:
    case ScalarType::kInt32: case ScalarType::kInt64: return make(dtype_code::Int);
    case ScalarType::kUInt8: case ScalarType::kUInt16:
    case ScalarType::kUInt32: case ScalarType::kUInt64: return make(dtype_code::UInt);
    case ScalarType::kFloat16: case ScalarType::kFloat32:
    case ScalarType::kFloat64: return make(dtype_code::Float);
    case ScalarType::kComplex64: case ScalarType::kComplex128: return make(dtype_code::Complex);
    default: return nb::dlpack::dtype{255, 0, 0};
  }
}

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

nb::object TensorToNumpyWritable(const Tensor& tensor);

nb::object TensorToNumpy(const Tensor& tensor, bool writable) {
  nb::object array = TensorToNumpyWritable(tensor);
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
  auto [array, element] = LittleEndian(np.attr("ascontiguousarray")(obj));
  Tensor tensor;
  tensor.element = element;
  tensor.shape = nb::cast<std::vector<int64_t>>(array.attr("shape"));
  nb::object interface = array.attr("__array_interface__");
  const auto address = nb::cast<uintptr_t>(nb::cast<nb::tuple>(interface["data"])[0]);
  tensor.data = std::make_shared<NumpyBuffer>(array, reinterpret_cast<const uint8_t*>(address), tensor.nbytes());
  return tensor;
}

nb::object TensorToNumpyWritable(const Tensor& tensor) {
  auto* keep = new std::shared_ptr<arrow::Buffer>(tensor.data);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<std::shared_ptr<arrow::Buffer>*>(p); });
  void* data = tensor.data ? const_cast<uint8_t*>(tensor.data->data()) : nullptr;
  const nb::dlpack::dtype dtype = DlpackType(tensor.element);
  const char order = tensor.fortran_order ? 'F' : 'C';
  std::vector<size_t> shape(tensor.shape.begin(), tensor.shape.end());
  if (dtype.code != 255) {
    nb::ndarray<nb::numpy> array(data, shape.size(), shape.data(), owner, nullptr, dtype,
                                 nb::device::cpu::value, 0, order);
    nb::object out = nb::cast(array);
    if (dtype.bits == 64 && (dtype.code == static_cast<uint8_t>(nb::dlpack::dtype_code::Int) ||
                             dtype.code == static_cast<uint8_t>(nb::dlpack::dtype_code::UInt))) {
      // nanobind hands numpy the buffer format 'q'/'Q' (long long): its scalars would be
      // np.longlong, not np.int64 ('l' on LP64), and isinstance(x, np.int64) false. A view fixes
      // the type without a copy.
      // Never destroyed: they would be released after the interpreter is gone.
      static nb::object* int64 = new nb::object(Numpy().attr("dtype")("int64"));
      static nb::object* uint64 = new nb::object(Numpy().attr("dtype")("uint64"));
      nb::object wanted = dtype.code == static_cast<uint8_t>(nb::dlpack::dtype_code::Int) ? *int64 : *uint64;
      if (!out.attr("dtype").attr("char").equal(wanted.attr("char"))) out = out.attr("view")(wanted);
    }
    return out;
  }
  // Strings, bytes and datetimes have no DLPack type: view the raw bytes with numpy's dtype.
  nb::object np = Numpy();
  nb::object np_dtype = np.attr("dtype")(tensor.element.TypeString());
  nb::object py_shape = nb::steal(PySequence_Tuple(nb::cast(tensor.shape).ptr()));
  if (tensor.nbytes() == 0) return np.attr("empty")(py_shape, np_dtype);
  size_t nbytes = static_cast<size_t>(tensor.nbytes());
  nb::ndarray<nb::numpy, uint8_t> raw(data, 1, &nbytes, owner);
  return nb::cast(raw).attr("view")(np_dtype).attr("reshape")(py_shape, nb::arg("order") = nb::str(&order, 1));
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
