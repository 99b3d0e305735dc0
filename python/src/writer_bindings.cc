// Bindings of petastorm/dataset_writer.h: Python row dicts become NamedRows here.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include "petastorm/dataset_writer.h"
#include "handles.h"
#include "status.h"
#include "value_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

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
                       std::string compression, nb::handle extra_metadata) {
             WriteOptions options;
             options.rowgroup_size_bytes = rowgroup_size_bytes;
             options.rows_per_rowgroup = rows_per_rowgroup;
             options.rows_per_file = rows_per_file;
             options.bytes_per_file = bytes_per_file;
             options.overwrite = overwrite;
             options.compression = std::move(compression);
             options.extra_metadata = KeyValuesFromPython(extra_metadata, "extra_metadata");
             return std::make_unique<PyDatasetWriter>(url, schema, std::move(options));
           }),
           nb::arg("url"), nb::arg("schema"), nb::arg("rowgroup_size_bytes"),
           nb::arg("rows_per_rowgroup"), nb::arg("rows_per_file"), nb::arg("bytes_per_file"),
           nb::arg("overwrite"), nb::arg("compression"), nb::arg("extra_metadata").none() = nb::none())
      .def("write", &PyDatasetWriter::Write, nb::arg("row"))
      .def("close", &PyDatasetWriter::Close)
      .def("abort", &PyDatasetWriter::Abort)
      .def_prop_ro("rows_written", &PyDatasetWriter::rows_written);
}

}  // namespace petastorm::python
