// Bindings of petastorm/dataset.h and petastorm/reader.h.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "petastorm/reader.h"
#include "arrow_bridge.h"
#include "handles.h"
#include "status.h"
#include "tensor_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

struct DatasetHandle {
  std::shared_ptr<const Dataset> dataset;
};

struct BatchHandle {
  std::shared_ptr<const DecodedBatch> batch;
};

// Per field: a list of numpy arrays (None for nulls) for codec fields, else a pyarrow.Array.
nb::list BatchColumns(const BatchHandle& handle) {
  nb::list columns;
  for (const DecodedColumn& column : handle.batch->columns) {
    if (column.field->codec && !column.field->codec->is_scalar()) {
      nb::list values;
      for (const auto& tensor : column.tensors) {
        values.append(tensor ? TensorToNumpy(*tensor) : nb::none());
      }
      columns.append(values);
    } else {
      columns.append(ArrayToPyArrow(column.values));
    }
  }
  return columns;
}

}  // namespace

void BindReader(nb::module_& m) {
  nb::class_<DatasetHandle>(m, "Dataset")
      .def(nb::new_([](const std::string& url) {
             nb::gil_scoped_release release;
             return DatasetHandle{ValueOrThrow(Dataset::Open(url))};
           }),
           nb::arg("url"))
      .def_prop_ro("url", [](const DatasetHandle& d) { return d.dataset->url(); })
      .def_prop_ro("files", [](const DatasetHandle& d) { return d.dataset->files(); })
      .def_prop_ro("num_row_groups",
                   [](const DatasetHandle& d) { return d.dataset->row_groups().size(); })
      .def_prop_ro("schema", [](const DatasetHandle& d) -> nb::object {
        if (!d.dataset->schema()) return nb::none();
        return nb::cast(SchemaHandle{d.dataset->schema()});
      });

  nb::class_<BatchHandle>(m, "DecodedBatch")
      .def_prop_ro("num_rows", [](const BatchHandle& b) { return b.batch->num_rows; })
      .def("columns", &BatchColumns);

  nb::class_<Reader>(m, "Reader")
      .def(nb::new_([](const DatasetHandle& dataset, std::vector<std::string> fields,
                       std::optional<int64_t> num_epochs) {
             ReaderOptions options;
             options.fields = std::move(fields);
             options.num_epochs = num_epochs;
             return ValueOrThrow(Reader::Open(dataset.dataset, std::move(options)));
           }),
           nb::arg("dataset"), nb::arg("fields"), nb::arg("num_epochs").none())
      .def_prop_ro("schema", [](const Reader& r) { return SchemaHandle{r.schema()}; })
      .def("next", [](Reader& r) -> nb::object {
        std::shared_ptr<const DecodedBatch> batch;
        {
          nb::gil_scoped_release release;
          batch = ValueOrThrow(r.Next());
        }
        if (!batch) return nb::none();
        return nb::cast(BatchHandle{std::move(batch)});
      }, "The next decoded row group, or None at the end.");
}

}  // namespace petastorm::python
