// Bindings of petastorm/numpy_column.h: materializing NumpyColumns, and stacking arrays.
#include "numpy_convert.h"

#include <nanobind/stl/vector.h>

#include "arrow_bridge.h"
#include "status.h"
#include "tensor_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

nb::object Numpy() { return nb::module_::import_("numpy"); }

// A 1-D object array of `items` (each kept whole, even a sequence).
nb::object ObjectArray(const nb::list& items) {
  nb::object np = Numpy();
  return np.attr("fromiter")(items, nb::arg("dtype") = np.attr("object_"), nb::arg("count") = nb::len(items));
}

nb::object WithShape(nb::object array, const std::vector<int64_t>& shape) {
  if (shape.empty()) return array;
  return array.attr("reshape")(nb::cast(shape));
}

nb::list ObjectValues(const NumpyColumn& column) {
  nb::list values = nb::cast<nb::list>(ArrayToPyArrow(column.objects).attr("to_pylist")());
  if (column.wrap) {
    // Only bytes are wrapped (np.bytes_, keeping trailing NULs that a 'S' array would strip).
    nb::object type = Numpy().attr("bytes_");
    for (size_t i = 0; i < nb::len(values); ++i) {
      nb::object v = values[i];
      if (!v.is_none()) values[i] = type(v);
    }
  }
  return values;
}

nb::list TensorRowValues(const NumpyColumn& column) {
  nb::list values;
  for (const auto& t : column.tensors) values.append(t ? TensorToNumpy(*t) : nb::none());
  return values;
}

nb::list RowSlices(const NumpyColumn& column, bool writable) {
  nb::object child = NumpyColumnToNumpy(*column.child, writable);
  nb::list rows;
  for (int64_t i = 0; i < column.length; ++i) {
    if (!column.valid[static_cast<size_t>(i)]) {
      rows.append(nb::none());
      continue;
    }
    nb::object slice = nb::steal(PySlice_New(nb::int_(column.offsets[static_cast<size_t>(i)]).ptr(),
                                             nb::int_(column.offsets[static_cast<size_t>(i) + 1]).ptr(), nullptr));
    rows.append(child[slice]);
  }
  return rows;
}

}  // namespace

nb::object NumpyColumnToNumpy(const NumpyColumn& column, bool writable) {
  switch (column.kind) {
    case NumpyColumn::Kind::kTensor:
      return TensorToNumpy(column.tensor, writable || !column.zero_copy);
    case NumpyColumn::Kind::kObjects:
      return WithShape(ObjectArray(ObjectValues(column)), column.shape);
    case NumpyColumn::Kind::kRows:
      return WithShape(ObjectArray(RowSlices(column, writable)), column.shape);
    case NumpyColumn::Kind::kTensorRows:
      return ObjectArray(TensorRowValues(column));
  }
  return nb::none();
}

nb::list NumpyColumnToValues(const NumpyColumn& column) {
  switch (column.kind) {
    case NumpyColumn::Kind::kTensor: {
      nb::object array = TensorToNumpy(column.tensor, !column.zero_copy);
      nb::list values = nb::steal<nb::list>(PySequence_List(array.ptr()));
      for (int64_t row : column.null_rows) values[static_cast<size_t>(row)] = nb::none();
      return values;
    }
    case NumpyColumn::Kind::kObjects:
      return ObjectValues(column);
    case NumpyColumn::Kind::kRows:
      return RowSlices(column, false);
    case NumpyColumn::Kind::kTensorRows:
      return TensorRowValues(column);
  }
  return nb::list();
}

void BindNumpyColumns(nb::module_& m) {
  m.def("stack",
        [](nb::list arrays) -> nb::object {
          std::vector<std::optional<Tensor>> tensors;
          for (nb::handle a : arrays) {
            if (a.is_none()) return nb::none();
            try {
              tensors.emplace_back(TensorViewOfNumpy(a));
            } catch (nb::builtin_exception&) {
              return nb::none();  // an array numpy cannot hand over as a tensor (object dtype)
            }
          }
          std::optional<Tensor> stacked;
          {
            nb::gil_scoped_release release;
            stacked = ValueOrThrow(StackTensors(tensors));
          }
          tensors.clear();
          if (!stacked) return nb::none();
          return TensorToNumpy(*stacked);
        },
        nb::arg("arrays"),
        "numpy arrays of one shape and dtype stacked into (n, *shape) (one copy), or None when "
        "they differ, one is None, or there are none.");
}

}  // namespace petastorm::python
