// Bindings of petastorm/batcher.h, and the row counts that make a loader's len().
#include <map>

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include "petastorm/batcher.h"
#include "arrow_bridge.h"
#include "handles.h"
#include "status.h"
#include "tensor_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

ColumnInput ColumnFromPython(nb::handle obj) {
  ColumnInput column;
  nb::object np = nb::module_::import_("numpy");
  if (nb::isinstance(obj, np.attr("ndarray"))) {
    column.kind = ColumnInput::Kind::kStacked;
    column.stacked = TensorViewOfNumpy(obj);
  } else if (nb::isinstance<nb::list>(obj)) {
    column.kind = ColumnInput::Kind::kTensors;
    for (nb::handle value : obj) {
      if (value.is_none()) {
        column.tensors.emplace_back(std::nullopt);
      } else {
        column.tensors.emplace_back(TensorFromNumpy(value));
      }
    }
  } else {
    column.kind = ColumnInput::Kind::kArray;
    column.array = ArrayFromPyArrow(obj);
  }
  return column;
}

nb::object ColumnToPython(BatchColumn& column) {
  switch (column.kind) {
    case BatchColumn::Kind::kDense:
      // A view of a decoded row group's buffer is writable when that buffer is (batcher.h).
      return TensorToNumpy(*column.dense, !column.dense->data || column.dense->data->is_mutable());
    case BatchColumn::Kind::kTensors: {
      nb::list rows;
      for (const auto& tensor : column.tensors) rows.append(tensor ? TensorToNumpy(*tensor) : nb::none());
      return rows;
    }
    case BatchColumn::Kind::kArray:
      return ArrayToPyArrow(column.array);
    case BatchColumn::Kind::kCollated: {
      // Nested dicts by path: {'values': ..., 'offsets': ..., 'b': {'values': ...}}.
      nb::dict out;
      for (const CollatedPart& part : column.parts) {
        nb::dict level = out;
        for (size_t i = 0; i + 1 < part.path.size(); ++i) {
          nb::str key(part.path[i].c_str());
          if (!level.contains(key)) level[key] = nb::dict();
          nb::object child = level[key];
          level = nb::borrow<nb::dict>(child);
        }
        const Tensor& t = part.tensor;
        level[nb::str(part.path.back().c_str())] = TensorToNumpy(t, !t.data || t.data->is_mutable());
      }
      return out;
    }
  }
  return nb::none();
}

// {field: (policy, pad_value, max_length, truncate)}: policy 'padded' or 'offsets', max_length
// None or >= 0.
std::vector<std::pair<std::string, CollateOptions>> CollateFromPython(nb::handle obj) {
  std::vector<std::pair<std::string, CollateOptions>> out;
  if (obj.is_none()) return out;
  for (auto [key, value] : nb::cast<nb::dict>(obj)) {
    const std::string name = nb::cast<std::string>(key);
    nb::tuple spec = nb::cast<nb::tuple>(value);
    if (spec.size() != 4) throw nb::value_error(("collate: field '" + name + "': want (policy, pad_value, max_length, truncate)").c_str());
    CollateOptions options;
    const std::string policy = nb::cast<std::string>(spec[0]);
    if (policy == "padded") {
      options.policy = CollateOptions::Policy::kPadded;
    } else if (policy == "offsets") {
      options.policy = CollateOptions::Policy::kOffsets;
    } else {
      throw nb::value_error(("collate: field '" + name + "': unknown policy '" + policy +
                             "' (want 'padded' or 'offsets')").c_str());
    }
    options.pad_value = nb::cast<double>(spec[1]);
    options.max_length = spec[2].is_none() ? -1 : nb::cast<int64_t>(spec[2]);
    if (!spec[2].is_none() && options.max_length < 0) {
      throw nb::value_error(("collate: field '" + name + "': max_length must be >= 0").c_str());
    }
    options.truncate = nb::cast<bool>(spec[3]);
    out.emplace_back(name, options);
  }
  return out;
}

}  // namespace

void BindBatcher(nb::module_& m) {
  nb::class_<Batcher>(m, "Batcher",
                      "Batches decoded row groups (or columns) in C++: see petastorm/batcher.h.")
      .def(nb::new_([](std::vector<std::string> fields, int64_t batch_size, bool drop_last,
                       int64_t shuffling_queue_capacity, uint64_t seed, bool promote_for_torch,
                       bool float_nulls_as_nan, nb::handle collate) {
             BatcherOptions options;
             options.batch_size = batch_size;
             options.drop_last = drop_last;
             options.shuffling_queue_capacity = shuffling_queue_capacity;
             options.seed = seed;
             options.promote_for_torch = promote_for_torch;
             options.float_nulls_as_nan = float_nulls_as_nan;
             options.collate = CollateFromPython(collate);
             return ValueOrThrow(Batcher::Make(std::move(fields), options));
           }),
           nb::arg("fields"), nb::arg("batch_size"), nb::arg("drop_last") = false,
           nb::arg("shuffling_queue_capacity") = 0, nb::arg("seed") = 0,
           nb::arg("promote_for_torch") = false, nb::arg("float_nulls_as_nan") = false,
           nb::arg("collate").none() = nb::none(),
           "collate: {field: (policy 'padded' or 'offsets', pad_value, max_length or None, truncate)} "
           "(petastorm/collate.h); those fields come out as dicts of numpy arrays.")
      .def_prop_ro("field_names", &Batcher::field_names)
      .def_prop_ro("rows_held", &Batcher::rows_held)
      .def_prop_ro("finished", &Batcher::finished)
      .def_prop_ro("shuffle_seconds", [](const Batcher& b) { return b.shuffle_nanos() * 1e-9; })
      .def("add",
           [](Batcher& b, const RowGroupHandle& batch) {
             nb::gil_scoped_release release;
             ThrowIfError(b.Add(batch.batch));
           },
           nb::arg("batch"), "Hands over a _core.DecodedRowGroup (no copy).")
      .def("add_columns",
           [](Batcher& b, int64_t num_rows, nb::list columns) {
             std::vector<ColumnInput> inputs;
             for (nb::handle column : columns) inputs.push_back(ColumnFromPython(column));
             nb::gil_scoped_release release;
             ThrowIfError(b.AddColumns(num_rows, std::move(inputs)));
           },
           nb::arg("num_rows"), nb::arg("columns"),
           "Hands over rows as columns in field order: a numeric numpy array (rows, ...) (not "
           "copied), a list of numpy arrays or None (one per row), or a pyarrow.Array.")
      .def("finish", &Batcher::Finish)
      .def("add_placeholder", [](Batcher& b, int64_t num_rows) { ThrowIfError(b.AddPlaceholder(num_rows)); },
           nb::arg("num_rows"), "Stands for an input of num_rows rows not read yet (a resume).")
      .def("skip", [](Batcher& b) {
             nb::gil_scoped_release release;
             return b.Skip();
           }, "Draws the next batch's rows as next() would and drops them; False when next() would give None.")
      .def("live_placeholders", &Batcher::LivePlaceholders,
           "The placeholders (numbered in add_placeholder order) whose rows are still held.")
      .def("held_placeholder_rows", &Batcher::HeldPlaceholderRows,
           "(placeholder, [row numbers held, ascending]) of each unfilled placeholder still holding rows.")
      .def("fill",
           [](Batcher& b, int64_t placeholder, const RowGroupHandle& batch) {
             nb::gil_scoped_release release;
             ThrowIfError(b.Fill(placeholder, batch.batch));
           },
           nb::arg("placeholder"), nb::arg("batch"), "Puts the real input (a DecodedRowGroup) in place of a placeholder.")
      .def("next",
           [](Batcher& b) -> nb::object {
             std::unique_ptr<TrainingBatch> batch;
             {
               nb::gil_scoped_release release;
               batch = ValueOrThrow(b.Next());
             }
             if (!batch) return nb::none();
             nb::list columns;
             for (BatchColumn& column : batch->columns) columns.append(ColumnToPython(column));
             return columns;
           },
           "The next batch as a list in field order -- a numpy array (rows, ...) over the C++ "
           "buffer, a list of numpy arrays (one per row), a pyarrow.Array, or a dict of numpy "
           "arrays (a collated field) -- or None when "
           "more input is needed first (or, after finish(), at the end).");

  m.def("row_group_num_rows",
        [](const DatasetHandle& handle, const std::vector<int64_t>& row_groups) {
          const Dataset& dataset = *handle.dataset;
          nb::gil_scoped_release release;
          std::vector<int64_t> counts;
          counts.reserve(row_groups.size());
          for (int64_t index : row_groups) counts.push_back(ValueOrThrow(dataset.RowGroupNumRows(index)));
          return counts;
        },
        nb::arg("dataset"), nb::arg("row_groups"),
        "The number of rows of each of the dataset's row groups `row_groups`, from the Parquet "
        "footers.");
}

}  // namespace petastorm::python
