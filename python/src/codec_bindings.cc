// Bindings of petastorm/codec.h, and the adapter that lets a Python class be a codec.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrow_bridge.h"
#include "handles.h"
#include "py_object.h"
#include "status.h"
#include "tensor_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// A codec written in Python: petastorm.codecs calls `encode(field, array) -> bytes` and
// `decode(field, bytes) -> array` on the object through its adapters. Calls take the GIL.
class PythonCodec final : public Codec {
 public:
  PythonCodec(std::string name, std::string params_json, std::string repr,
              std::shared_ptr<arrow::DataType> storage_type, nb::object impl)
      : name_(std::move(name)), params_json_(std::move(params_json)), repr_(std::move(repr)),
        storage_type_(std::move(storage_type)), impl_(std::move(impl)) {}


  std::string name() const override { return name_; }
  // The Python codec object (what petastorm.codecs made the handle of).
  const nb::object& impl() const { return impl_.get(); }
  std::string params_json() const override { return params_json_; }
  std::string ToString() const override { return repr_; }
  std::shared_ptr<arrow::DataType> storage_type() const override { return storage_type_; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const Field& field, const Tensor& value,
                                                       arrow::MemoryPool* pool) const override {
    nb::gil_scoped_acquire gil;
    try {
      nb::object encoded = impl_.get().attr("_encode_from_core")(field, TensorToNumpy(value));
      Py_buffer view;
      if (PyObject_GetBuffer(encoded.ptr(), &view, PyBUF_SIMPLE) != 0) throw nb::python_error();
      auto buffer = arrow::AllocateBuffer(view.len, pool);
      if (buffer.ok()) std::memcpy((*buffer)->mutable_data(), view.buf, view.len);
      PyBuffer_Release(&view);
      ARROW_RETURN_NOT_OK(buffer.status());
      return std::shared_ptr<arrow::Buffer>(std::move(*buffer));
    } catch (nb::python_error& e) {
      return StatusFromPythonError(e, repr_);
    }
  }

  arrow::Result<Tensor> Decode(const Field& field, const uint8_t* data, int64_t size,
                               arrow::MemoryPool*) const override {
    nb::gil_scoped_acquire gil;
    try {
      nb::bytes cell(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
      nb::object decoded = impl_.get().attr("_decode_from_core")(field, cell);
      return TensorFromNumpy(decoded);
    } catch (nb::python_error& e) {
      return StatusFromPythonError(e, repr_);
    }
  }

 private:
  std::string name_, params_json_, repr_;
  std::shared_ptr<arrow::DataType> storage_type_;
  SafeObject impl_;
};

}  // namespace

void BindCodecs(nb::module_& m) {
  nb::class_<CodecHandle>(m, "Codec")
      .def_prop_ro("name", [](const CodecHandle& c) { return c.codec->name(); })
      .def_prop_ro("params_json", [](const CodecHandle& c) { return c.codec->params_json(); })
      .def_prop_ro("python_object",
                   [](const CodecHandle& c) -> nb::object {
                     if (auto* python = dynamic_cast<const PythonCodec*>(c.codec.get())) return python->impl();
                     return nb::none();
                   },
                   "The Python codec object of a codec written in Python; None for a C++ codec.")
      .def_prop_ro("storage_type",
                   [](const CodecHandle& c) { return TypeToPyArrow(c.codec->storage_type()); })
      .def("__str__", [](const CodecHandle& c) { return c.codec->ToString(); })
      .def("encode",
           [](const CodecHandle& c, const Field& field, nb::handle value) {
             Field with_codec = field;
             with_codec.codec = c.codec;
             Tensor tensor = TensorFromNumpy(value);
             std::shared_ptr<arrow::Buffer> encoded;
             {
               nb::gil_scoped_release release;
               encoded = ValueOrThrow(EncodeField(with_codec, tensor));
             }
             return nb::bytes(reinterpret_cast<const char*>(encoded->data()),
                              static_cast<size_t>(encoded->size()));
           },
           nb::arg("field"), nb::arg("value"),
           "Checks `value` against `field` and encodes it; bytes.")
      .def("decode",
           [](const CodecHandle& c, const Field& field, nb::bytes data) {
             Field with_codec = field;
             with_codec.codec = c.codec;
             Tensor tensor;
             {
               nb::gil_scoped_release release;
               tensor = ValueOrThrow(DecodeField(with_codec,
                                                 reinterpret_cast<const uint8_t*>(data.c_str()),
                                                 static_cast<int64_t>(data.size())));
             }
             return TensorToNumpy(tensor);
           },
           nb::arg("field"), nb::arg("data"),
           "Decodes one cell and checks it against `field`; a numpy array.");

  m.def("jpeg_scaling_factors", []() {
          nb::list out;
          for (auto [num, den] : JpegScalingFactors()) out.append(nb::make_tuple(num, den));
          return out;
        },
        "The JPEG decode scales TurboJPEG offers, as (num, den) pairs (decode_options' 'scale').");
  m.def("builtin_codec_names", []() { return BuiltinCodecNames(); },
        "The registry names of the codecs the C++ core implements.");
  m.def("python_codec",
        [](std::string name, std::string params_json, std::string repr, nb::handle storage_type,
           nb::object impl) {
          return CodecHandle{std::make_shared<PythonCodec>(std::move(name), std::move(params_json),
                                                           std::move(repr),
                                                           TypeFromPyArrow(storage_type),
                                                           std::move(impl))};
        },
        "Wraps a Python codec object (with _encode_from_core/_decode_from_core) as a C++ codec.");
  m.def("register_codec",
        [](std::string name, nb::object factory) {
          auto shared_factory = std::make_shared<SafeObject>(std::move(factory));
          CodecRegistry::Global().Register(
              name, [shared_factory, name](std::string_view params)
                        -> arrow::Result<std::shared_ptr<const Codec>> {
                nb::gil_scoped_acquire gil;
                try {
                  nb::object handle = shared_factory->get()(nb::str(params.data(), params.size()));
                  return nb::cast<CodecHandle>(handle).codec;
                } catch (nb::python_error& e) {
                  return StatusFromPythonError(e, "Creating codec '" + name + "'");
                } catch (nb::cast_error&) {
                  return arrow::Status::TypeError("The factory of codec '", name,
                                                  "' did not return a codec");
                }
              });
        },
        nb::arg("name"), nb::arg("factory"),
        "Registers factory(params_json) -> Codec under `name`, for reading datasets.");
  m.def("make_codec", [](const std::string& name, const std::string& params_json) {
    return CodecHandle{ValueOrThrow(CodecRegistry::Global().Make(name, params_json))};
  }, nb::arg("name"), nb::arg("params_json"), "The registered codec `name` made from its JSON parameters.");
  m.def("registered_codec_names", []() { return CodecRegistry::Global().Names(); });
}

}  // namespace petastorm::python
