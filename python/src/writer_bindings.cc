// Bindings of petastorm/dataset_writer.h: Python row dicts become NamedRows here.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include "petastorm/dataset_writer.h"
#include "handles.h"
#include "status.h"
#include "tensor_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

struct PyTypes {
  nb::object ndarray, np_generic, np_bool, np_integer, np_floating, np_datetime64, np_bytes,
      decimal, datetime_date, int64_dtype;
};

const PyTypes& Types() {
  static PyTypes* types = [] {
    nb::module_ np = nb::module_::import_("numpy");
    auto* t = new PyTypes{np.attr("ndarray"),  np.attr("generic"),    np.attr("bool_"),
                          np.attr("integer"),  np.attr("floating"),   np.attr("datetime64"),
                          np.attr("bytes_"),   nb::module_::import_("decimal").attr("Decimal"),
                          nb::module_::import_("datetime").attr("date"), np.attr("int64")};
    return t;
  }();
  return *types;
}

// Converts one Python value for `field`. Raises TypeError naming the field when the
// value's type cannot be stored at all; the writer checks the rest.
Value ValueFromPython(const Field& field, nb::handle v) {
  const PyTypes& t = Types();
  if (v.is_none()) return std::monostate{};
  const bool tensor_field = field.codec && !field.codec->is_scalar();
  if (nb::isinstance(v, t.ndarray)) {
    if (tensor_field) {
      try {
        return TensorFromNumpy(v);
      } catch (nb::builtin_exception& e) {
        throw nb::type_error(("Field '" + field.name + "': " + e.what()).c_str());
      }
    }
    if (nb::cast<int>(v.attr("ndim")) == 0) return ValueFromPython(field, v.attr("item")());
    throw nb::type_error(("Field '" + field.name + "' is a scalar field of dtype " +
                          std::string(ScalarTypeName(field.dtype)) + " with no codec; got an array of shape " +
                          nb::str(v.attr("shape")).c_str())
                             .c_str());
  }
  if (PyBool_Check(v.ptr()) || nb::isinstance(v, t.np_bool)) return nb::cast<bool>(nb::bool_(v));
  if (PyLong_Check(v.ptr()) || nb::isinstance(v, t.np_integer)) {
    nb::int_ as_int(v);
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(as_int.ptr(), &overflow);
    if (overflow == 0) return static_cast<int64_t>(value);
    if (overflow > 0) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(as_int.ptr());
      if (!PyErr_Occurred()) return static_cast<uint64_t>(u);
      PyErr_Clear();
    }
    throw nb::value_error(("Field '" + field.name + "': integer " + nb::str(v).c_str() +
                           " does not fit in 64 bits").c_str());
  }
  if (PyFloat_Check(v.ptr()) || nb::isinstance(v, t.np_floating)) return nb::cast<double>(nb::float_(v));
  if (PyUnicode_Check(v.ptr())) return nb::cast<std::string>(v);
  if (PyBytes_Check(v.ptr()) || PyByteArray_Check(v.ptr())) {
    nb::bytes data = nb::bytes(nb::steal(PyBytes_FromObject(v.ptr())));
    return Bytes{std::string(data.c_str(), data.size())};
  }
  if (nb::isinstance(v, t.decimal)) return DecimalText{nb::str(v).c_str()};
  if (nb::isinstance(v, t.np_datetime64) || nb::isinstance(v, t.datetime_date)) {
    nb::object ns = t.np_datetime64(v, "ns").attr("astype")(t.int64_dtype);
    return DatetimeNs{nb::cast<int64_t>(ns)};
  }
  if (tensor_field) {
    throw nb::type_error(("Field '" + field.name + "' (" + field.codec->ToString() +
                          ") expects a numpy array, got " +
                          nb::str(v.type().attr("__name__")).c_str())
                             .c_str());
  }
  throw nb::type_error(("Field '" + field.name + "': cannot store a value of type " +
                        std::string(nb::str(v.type().attr("__name__")).c_str()))
                           .c_str());
}

class PyDatasetWriter {
 public:
  PyDatasetWriter(const std::string& url, const SchemaHandle& schema, WriteOptions options) {
    nb::gil_scoped_release release;
    writer_ = ValueOrThrow(DatasetWriter::Open(url, schema.schema, std::move(options)));
  }

  void Write(nb::dict row) {
    CheckOpen();
    const Unischema& schema = *writer_->schema();
    NamedRow named;
    named.reserve(row.size());
    for (auto [key, value] : row) {
      if (!PyUnicode_Check(key.ptr())) {
        throw nb::type_error(("Row " + std::to_string(rows_seen_) +
                              ": field names must be str, got " +
                              nb::str(key.type().attr("__name__")).c_str())
                                 .c_str());
      }
      std::string name = nb::cast<std::string>(key);
      const Field* field = schema.GetField(name);
      if (!field) {
        // The writer reports unknown fields with the row number.
        named.emplace_back(std::move(name), std::monostate{});
        continue;
      }
      try {
        named.emplace_back(std::move(name), ValueFromPython(*field, value));
      } catch (nb::builtin_exception& e) {
        std::string message = "Row " + std::to_string(rows_seen_) + ": " + e.what();
        if (e.type() == nb::exception_type::type_error) throw nb::type_error(message.c_str());
        throw nb::value_error(message.c_str());
      }
    }
    arrow::Status status;
    {
      nb::gil_scoped_release release;
      status = writer_->Write(named);
    }
    ++rows_seen_;
    ThrowIfError(status);
  }

  void Close() {
    CheckOpen();
    arrow::Status status;
    {
      nb::gil_scoped_release release;
      status = writer_->Close();
    }
    done_ = true;
    ThrowIfError(status);
  }

  void Abort() {
    if (done_) return;
    nb::gil_scoped_release release;
    writer_->Abort();
    done_ = true;
  }

  int64_t rows_written() const { return writer_->rows_written(); }

 private:
  void CheckOpen() const {
    if (done_) throw nb::value_error("The DatasetWriter is closed");
  }

  std::unique_ptr<DatasetWriter> writer_;
  int64_t rows_seen_ = 0;
  bool done_ = false;
};

}  // namespace

void BindWriter(nb::module_& m) {
  nb::class_<PyDatasetWriter>(m, "DatasetWriter")
      .def(nb::new_([](const std::string& url, const SchemaHandle& schema,
                       int64_t rowgroup_size_bytes, int64_t rows_per_rowgroup,
                       int64_t rows_per_file, int64_t bytes_per_file, bool overwrite,
                       std::string compression) {
             WriteOptions options;
             options.rowgroup_size_bytes = rowgroup_size_bytes;
             options.rows_per_rowgroup = rows_per_rowgroup;
             options.rows_per_file = rows_per_file;
             options.bytes_per_file = bytes_per_file;
             options.overwrite = overwrite;
             options.compression = std::move(compression);
             return std::make_unique<PyDatasetWriter>(url, schema, std::move(options));
           }),
           nb::arg("url"), nb::arg("schema"), nb::arg("rowgroup_size_bytes"),
           nb::arg("rows_per_rowgroup"), nb::arg("rows_per_file"), nb::arg("bytes_per_file"),
           nb::arg("overwrite"), nb::arg("compression"))
      .def("write", &PyDatasetWriter::Write, nb::arg("row"))
      .def("close", &PyDatasetWriter::Close)
      .def("abort", &PyDatasetWriter::Abort)
      .def_prop_ro("rows_written", &PyDatasetWriter::rows_written);
}

}  // namespace petastorm::python
