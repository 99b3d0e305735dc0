// Bindings of petastorm/schema_inference.h.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "petastorm/schema_inference.h"
#include "handles.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

void BindSchemaInference(nb::module_& m) {
  m.def("infer_schema",
        [](const DatasetHandle& dataset) {
          std::vector<UnsupportedColumn> unsupported;
          std::shared_ptr<const Unischema> schema;
          {
            nb::gil_scoped_release release;
            schema = ValueOrThrow(InferUnischema(*dataset.dataset, &unsupported));
          }
          nb::list left_out;
          for (const auto& column : unsupported) left_out.append(nb::make_tuple(column.name, column.reason));
          return nb::make_tuple(SchemaHandle{std::move(schema)}, left_out);
        },
        nb::arg("dataset"),
        "(schema, unsupported): the inferred Unischema of a Parquet store (partition keys first, "
        "then the file's columns; docs/types.md) and the [(name, reason)] of the columns left out "
        "because they cannot be delivered.");
}

}  // namespace petastorm::python
