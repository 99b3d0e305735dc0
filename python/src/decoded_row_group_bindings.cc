// Bindings of petastorm/decoded_row_group.h: a decoded row group and what Python makes of it,
// one call per row group (never per row).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>


#include "petastorm/decoded_row_group.h"
#include "petastorm/numpy_column.h"
#include "petastorm/row_group_ipc.h"
#include "arrow_bridge.h"
#include "tensor_convert.h"
#include "handles.h"
#include "numpy_convert.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

std::vector<NumpyColumn> Convert(const RowGroupHandle& handle, NullPolicy policy) {
  const DecodedRowGroup& group = *handle.batch;
  std::vector<NumpyColumn> out;
  out.reserve(group.columns.size());
  nb::gil_scoped_release release;
  for (const DecodedColumn& column : group.columns) {
    out.push_back(ValueOrThrow(ColumnToNumpy(*column.field, column, group.num_rows, policy)));
  }
  return out;
}

// An arrow::Buffer over any Python object with the buffer protocol, keeping it alive; mutable
// when the object lends writable memory. Released with the GIL.
class PythonBuffer : public arrow::MutableBuffer {
 public:
  static std::shared_ptr<arrow::Buffer> Of(nb::handle obj, bool* writable) {
    auto view = std::make_unique<Py_buffer>();
    *writable = PyObject_GetBuffer(obj.ptr(), view.get(), PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) == 0;
    if (!*writable) {
      PyErr_Clear();
      if (PyObject_GetBuffer(obj.ptr(), view.get(), PyBUF_C_CONTIGUOUS) != 0) throw nb::python_error();
    }
    return std::shared_ptr<arrow::Buffer>(new PythonBuffer(std::move(view), *writable));
  }
  ~PythonBuffer() override {
    if (!Py_IsInitialized()) return;
    PyGILState_STATE state = PyGILState_Ensure();
    PyBuffer_Release(view_.get());
    PyGILState_Release(state);
  }

 private:
  PythonBuffer(std::unique_ptr<Py_buffer> view, bool writable)
      : arrow::MutableBuffer(static_cast<uint8_t*>(view->buf), view->len), view_(std::move(view)) {
    is_mutable_ = writable;
  }
  std::unique_ptr<Py_buffer> view_;
};

// The rows of one tensor field from Python: a numpy array (rows, *shape), sliced per row
// without a copy, or a list of numpy arrays and None.
std::vector<std::optional<Tensor>> TensorsFromPython(const Field& field, nb::handle column, int64_t num_rows) {
  std::vector<std::optional<Tensor>> tensors;
  nb::object np = nb::module_::import_("numpy");
  if (nb::isinstance(column, np.attr("ndarray")) && nb::cast<int>(column.attr("ndim")) >= 1 &&
      nb::cast<std::string>(column.attr("dtype").attr("kind")) != "O") {
    Tensor whole = TensorViewOfNumpy(column);
    if (whole.shape.empty() || whole.shape[0] != num_rows) {
      throw nb::value_error(("Field '" + field.name + "' has " + ShapeToString(whole.shape) + " for " +
                             std::to_string(num_rows) + " rows").c_str());
    }
    Tensor row;
    row.element = whole.element;
    row.shape.assign(whole.shape.begin() + 1, whole.shape.end());
    const int64_t row_bytes = row.nbytes();
    for (int64_t i = 0; i < num_rows; ++i) {
      row.data = arrow::SliceBuffer(whole.data, i * row_bytes, row_bytes);
      tensors.emplace_back(row);
    }
    return tensors;
  }
  for (nb::handle value : column) {
    if (value.is_none()) {
      tensors.emplace_back(std::nullopt);
    } else {
      tensors.emplace_back(TensorViewOfNumpy(value));
    }
  }
  if (static_cast<int64_t>(tensors.size()) != num_rows) {
    throw nb::value_error(("Field '" + field.name + "' has " + std::to_string(tensors.size()) + " values for " +
                           std::to_string(num_rows) + " rows").c_str());
  }
  return tensors;
}

}  // namespace

void BindDecodedRowGroup(nb::module_& m) {
  nb::class_<RowGroupHandle>(m, "DecodedRowGroup",
                             "The decoded rows of one row group (or a part of one), column by column: what a "
                             "reader delivers (petastorm/decoded_row_group.h).")
      .def_prop_ro("num_rows", [](const RowGroupHandle& g) { return g.batch->num_rows; })
      .def_prop_ro("memory_bytes", [](const RowGroupHandle& g) { return g.batch->MemoryBytes(); },
                   "The bytes its buffers hold.")
      .def_prop_ro("source",
                   [](const RowGroupHandle& g) {
                     return nb::make_tuple(g.batch->source.file_index, g.batch->source.row_group);
                   },
                   "(file index, row group in the file) the rows come from (see Dataset.row_groups).")
      .def_prop_ro("field_names",
                   [](const RowGroupHandle& g) {
                     std::vector<std::string> names;
                     for (const auto& c : g.batch->columns) names.push_back(c.field->name);
                     return names;
                   })
      .def_prop_ro("null_counts",
                   [](const RowGroupHandle& g) {
                     std::vector<int64_t> counts;
                     for (const DecodedColumn& c : g.batch->columns) {
                       if (c.field->is_tensor()) {
                         int64_t n = 0;
                         for (const auto& t : c.tensors) n += !t.has_value();
                         counts.push_back(n);
                       } else {
                         counts.push_back(c.values->null_count());
                       }
                     }
                     return counts;
                   },
                   "How many null cells each column holds, in schema order.")
      .def_prop_ro("schema", [](const RowGroupHandle& g) { return SchemaHandle{g.batch->schema}; })
      .def("to_numpy_columns",
           [](const RowGroupHandle& g) {
             std::vector<NumpyColumn> columns = Convert(g, NullPolicy::kBatch);
             nb::dict out;
             for (size_t i = 0; i < columns.size(); ++i) {
               const std::string& name = g.batch->columns[i].field->name;
               out[nb::str(name.data(), name.size())] = NumpyColumnToNumpy(columns[i], g.exclusive);
             }
             return out;
           },
           "{name: numpy array} in schema order, first dimension the rows (make_batch_reader's form, "
           "docs/types.md). Arrays over buffers shared with the engine are read-only.")
      .def("row_columns",
           [](const RowGroupHandle& g) {
             std::vector<NumpyColumn> columns = Convert(g, NullPolicy::kRows);
             nb::list out;
             for (const NumpyColumn& column : columns) out.append(NumpyColumnToValues(column));
             return out;
           },
           "One list of row values per field, in schema order (make_reader's form): numpy scalars of "
           "the field's type, arrays for tensor fields, Python objects, None for nulls.")
      .def("to_ipc",
           [](const RowGroupHandle& g) {
             std::shared_ptr<arrow::Buffer> buffer;
             {
               nb::gil_scoped_release release;
               buffer = ValueOrThrow(RowGroupToIpc(*g.batch));
             }
             Tensor bytes;
             bytes.element = ElementType::Of(ScalarType::kUInt8);
             bytes.shape = {buffer->size()};
             bytes.data = std::move(buffer);
             return TensorToNumpy(bytes, false);
           },
           "The row group's Arrow IPC form (petastorm/row_group_ipc.h) as a read-only uint8 numpy array.")
      .def_static("from_ipc",
                  [](nb::handle data, const SchemaHandle& schema) {
                    bool writable = false;
                    std::shared_ptr<arrow::Buffer> buffer = PythonBuffer::Of(data, &writable);
                    std::shared_ptr<const DecodedRowGroup> group;
                    {
                      nb::gil_scoped_release release;
                      group = ValueOrThrow(RowGroupFromIpc(buffer, schema.schema));
                    }
                    return RowGroupHandle{std::move(group), writable};
                  },
                  nb::arg("data"), nb::arg("schema"),
                  "The row group in `data` (any buffer: bytes, mmap, ...) in the IPC form, of `schema`; "
                  "its arrays and tensors are views of `data`, writable when `data` is.")
      .def_static("from_columns",
                  [](const SchemaHandle& schema, int64_t num_rows, nb::list columns) {
                    const auto& fields = schema.schema->fields();
                    if (nb::len(columns) != fields.size()) {
                      throw nb::value_error(("from_columns: " + std::to_string(nb::len(columns)) +
                                             " columns for " + std::to_string(fields.size()) + " fields").c_str());
                    }
                    auto group = std::make_shared<DecodedRowGroup>();
                    group->schema = schema.schema;
                    group->num_rows = num_rows;
                    for (size_t i = 0; i < fields.size(); ++i) {
                      DecodedColumn column;
                      column.field = &fields[i];
                      if (fields[i].is_tensor()) {
                        column.tensors = TensorsFromPython(fields[i], columns[i], num_rows);
                      } else {
                        column.values = ArrayFromPyArrow(columns[i]);
                        if (column.values->length() != num_rows) {
                          throw nb::value_error(("Field '" + fields[i].name + "' has " +
                                                 std::to_string(column.values->length()) + " values for " +
                                                 std::to_string(num_rows) + " rows").c_str());
                        }
                      }
                      group->columns.push_back(std::move(column));
                    }
                    return RowGroupHandle{std::move(group), false};
                  },
                  nb::arg("schema"), nb::arg("num_rows"), nb::arg("columns"),
                  "A row group of `schema` from Python columns in schema order: for tensor fields a "
                  "numpy array (rows, *shape) or a list of arrays and None, for the others a "
                  "pyarrow.Array. No copies.");
}

}  // namespace petastorm::python
