// Bindings of petastorm/dataset_writer.h: Python row dicts become NamedRows here.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include <arrow/table.h>

#include "petastorm/dataset_writer.h"
#include "petastorm/row_encoder.h"
#include "arrow_bridge.h"
#include "handles.h"
#include "status.h"
#include "value_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// A Python row dict as a NamedRow; errors (TypeError, ValueError) name the row and the field.
// An unknown field is kept (as null) so that the C++ side reports it with the row number.
NamedRow NamedRowFromPython(const Unischema& schema, nb::handle row_obj, int64_t row_number) {
  if (!PyDict_Check(row_obj.ptr())) {
    throw nb::type_error(("Row " + std::to_string(row_number) + ": expected a dict of field name to value, got " +
                          nb::str(row_obj.type().attr("__name__")).c_str())
                             .c_str());
  }
  nb::dict row = nb::borrow<nb::dict>(row_obj);
  NamedRow named;
  named.reserve(row.size());
  for (auto [key, value] : row) {
    if (!PyUnicode_Check(key.ptr())) {
      throw nb::type_error(("Row " + std::to_string(row_number) + ": field names must be str, got " +
                            nb::str(key.type().attr("__name__")).c_str())
                               .c_str());
    }
    std::string name = nb::cast<std::string>(key);
    const Field* field = schema.GetField(name);
    if (!field) {
      named.emplace_back(std::move(name), std::monostate{});
      continue;
    }
    try {
      named.emplace_back(std::move(name), ValueFromPython(*field, value));
    } catch (nb::builtin_exception& e) {
      std::string message = "Row " + std::to_string(row_number) + ": " + e.what();
      if (e.type() == nb::exception_type::type_error) throw nb::type_error(message.c_str());
      throw nb::value_error(message.c_str());
    }
  }
  return named;
}

// petastorm/row_encoder.h for Python: a list of row dicts in, a pyarrow.Table of the stored
// columns out (one record batch), the codecs run without the GIL.
class PyRowEncoder {
 public:
  explicit PyRowEncoder(const SchemaHandle& schema) {
    encoder_ = ValueOrThrow(RowEncoder::Make(schema.schema));
  }

  nb::object Encode(nb::iterable rows, int64_t first_row) {
    std::vector<NamedRow> named;
    int64_t number = first_row;
    for (nb::handle row : rows) named.push_back(NamedRowFromPython(*encoder_->schema(), row, number++));
    arrow::Result<std::shared_ptr<arrow::RecordBatch>> batch;
    {
      nb::gil_scoped_release release;
      batch = encoder_->EncodeRows(named, first_row);
      named.clear();
    }
    auto table = ValueOrThrow(arrow::Table::FromRecordBatches(encoder_->arrow_schema(), {ValueOrThrow(std::move(batch))}));
    return TableToPyArrow(table);
  }

  nb::object ArrowSchema() const { return SchemaToPyArrow(encoder_->arrow_schema()); }

 private:
  std::unique_ptr<RowEncoder> encoder_;
};

class PyDatasetWriter {
 public:
  PyDatasetWriter(StorageLocation location, const SchemaHandle& schema, WriteOptions options) {
    nb::gil_scoped_release release;
    writer_ = ValueOrThrow(DatasetWriter::Open(std::move(location), schema.schema, std::move(options)));
  }
  // An unclosed writer aborts (deleting what it wrote), which may call a Python filesystem.
  ~PyDatasetWriter() {
    if (!writer_) return;
    if (Py_IsInitialized() && PyGILState_Check()) {
      nb::gil_scoped_release release;
      writer_.reset();
    } else {
      writer_.reset();
    }
  }

  void Write(nb::dict row) {
    CheckOpen();
    NamedRow named = NamedRowFromPython(*writer_->schema(), row, rows_seen_);
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
      .def(nb::new_([](const FileSystemHandle& fs, const std::string& path, const std::string& url,
                       const SchemaHandle& schema,
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
             return std::make_unique<PyDatasetWriter>(StorageLocation{fs.filesystem, path, url}, schema,
                                                      std::move(options));
           }),
           nb::arg("filesystem"), nb::arg("path"), nb::arg("url"), nb::arg("schema"), nb::arg("rowgroup_size_bytes"),
           nb::arg("rows_per_rowgroup"), nb::arg("rows_per_file"), nb::arg("bytes_per_file"),
           nb::arg("overwrite"), nb::arg("compression"), nb::arg("extra_metadata").none() = nb::none())
      .def("write", &PyDatasetWriter::Write, nb::arg("row"))
      .def("close", &PyDatasetWriter::Close)
      .def("abort", &PyDatasetWriter::Abort)
      .def_prop_ro("rows_written", &PyDatasetWriter::rows_written);

  nb::class_<PyRowEncoder>(m, "RowEncoder",
                           "Encodes row dicts of a schema into a pyarrow.Table of its stored columns "
                           "(petastorm/row_encoder.h).")
      .def(nb::init<const SchemaHandle&>(), nb::arg("schema"))
      .def("encode", &PyRowEncoder::Encode, nb::arg("rows"), nb::arg("first_row") = 0,
           "rows: an iterable of dicts. Returns a pyarrow.Table; errors name the row and the field.")
      .def_prop_ro("arrow_schema", &PyRowEncoder::ArrowSchema);
}

}  // namespace petastorm::python
