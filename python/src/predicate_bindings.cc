// Bindings of petastorm/predicate.h, and the adapter that lets Python code be a predicate.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "petastorm/predicate.h"
#include "petastorm/reader.h"
#include "arrow_bridge.h"
#include "handles.h"
#include "py_object.h"
#include "status.h"
#include "tensor_convert.h"
#include "value_convert.h"
#include "numpy_convert.h"
#include "petastorm/numpy_column.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

bool InterpreterFinalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// Python predicates (in_lambda, PredicateBase subclasses): petastorm.predicates passes an
// adapter whose _evaluate_batch(columns) gets {name: column} — each column converted as the
// reader delivers it (numpy_column.h): make_reader's row values (a list per field), or, when
// `batched`, make_batch_reader's numpy arrays — and returns one truth value per row. Calls
// take the GIL.
class PythonPredicate final : public Predicate {
 public:
  PythonPredicate(std::vector<std::string> fields, nb::object impl, std::string repr, bool batched)
      : fields_(std::move(fields)), impl_(std::move(impl)), repr_(std::move(repr)), batched_(batched) {}

  std::vector<std::string> fields() const override { return fields_; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    // A worker thread must not wait for the GIL of an interpreter that is going away.
    if (!Py_IsInitialized() || InterpreterFinalizing()) {
      return arrow::Status::Cancelled(repr_, ": the Python interpreter is shutting down");
    }
    nb::gil_scoped_acquire gil;
    try {
      nb::dict raw_columns;
      for (const std::string& name : fields_) {
        const DecodedColumn* column = batch.column(name);
        if (!column || !column->field) {
          return arrow::Status::KeyError(repr_, ": the batch has no field '", name, "'");
        }
        auto converted = ColumnToNumpy(*column->field, *column, batch.num_rows,
                                       batched_ ? NullPolicy::kBatch : NullPolicy::kRows);
        if (!converted.ok()) return converted.status().WithMessage(repr_, ": ", converted.status().message());
        raw_columns[nb::str(name.data(), name.size())] =
            batched_ ? NumpyColumnToNumpy(*converted, false) : nb::object(NumpyColumnToValues(*converted));
      }
      nb::object result = impl_.get().attr("_evaluate_batch")(raw_columns);
      std::vector<bool> keep;
      keep.reserve(batch.num_rows);
      for (nb::handle flag : nb::iter(result)) {
        const int truth = PyObject_IsTrue(flag.ptr());
        if (truth < 0) throw nb::python_error();
        keep.push_back(truth == 1);
      }
      if (static_cast<int64_t>(keep.size()) != batch.num_rows) {
        return arrow::Status::Invalid(repr_, " returned ", keep.size(), " flags for a batch of ",
                                      batch.num_rows, " rows");
      }
      return keep;
    } catch (nb::python_error& e) {
      return StatusFromPythonError(e, repr_);
    } catch (const std::exception& e) {
      return arrow::Status::UnknownError(repr_, ": ", e.what());
    }
  }

 private:
  std::vector<std::string> fields_;
  SafeObject impl_;
  std::string repr_;
  bool batched_;
};

std::vector<Value> ValuesFromPython(nb::handle values, const std::string& what) {
  std::vector<Value> out;
  for (nb::handle v : nb::iter(values)) {
    if (auto value = ScalarFromPython(v, what)) out.push_back(std::move(*value));
  }
  return out;
}

// Test helper: loads `fields` of one row group and evaluates the predicate on it.
std::vector<bool> EvaluateOnRowGroup(const PredicateHandle& handle, const std::string& url,
                                     int64_t row_group_index, std::vector<std::string> fields) {
  nb::gil_scoped_release release;
  auto evaluate = [&]() -> arrow::Result<std::vector<bool>> {
    ARROW_ASSIGN_OR_RAISE(auto dataset, Dataset::Open(url));
    if (!dataset->schema()) return arrow::Status::Invalid(url, " has no Unischema");
    ARROW_ASSIGN_OR_RAISE(auto view, dataset->schema()->View(fields));
    if (row_group_index < 0 || row_group_index >= static_cast<int64_t>(dataset->row_groups().size())) {
      return arrow::Status::IndexError("row group ", row_group_index, " of ",
                                       dataset->row_groups().size());
    }
    const RowGroupRef ref = dataset->row_groups()[row_group_index];
    ARROW_ASSIGN_OR_RAISE(auto file, dataset->OpenFile(ref.file_index));
    ARROW_ASSIGN_OR_RAISE(auto batch, LoadRowGroup(*dataset, view, ref, file.get()));
    return handle.predicate->Evaluate(*batch);
  };
  return ValueOrThrow(evaluate());
}

}  // namespace

void BindPredicates(nb::module_& m) {
  nb::class_<PredicateHandle>(m, "Predicate")
      .def_prop_ro("fields", [](const PredicateHandle& p) { return p.predicate->fields(); })
      .def("__str__", [](const PredicateHandle& p) { return p.predicate->ToString(); })
      .def("__repr__", [](const PredicateHandle& p) { return p.predicate->ToString(); });

  m.def("in_set",
        [](nb::handle values, std::string field) {
          auto converted = ValuesFromPython(values, "in_set on field '" + field + "'");
          return PredicateHandle{ValueOrThrow(MakeInSet(std::move(converted), std::move(field)))};
        },
        nb::arg("values"), nb::arg("field"), "Rows whose `field` value is one of `values`.");
  m.def("in_intersection",
        [](nb::handle values, std::string field) {
          auto converted = ValuesFromPython(values, "in_intersection on field '" + field + "'");
          return PredicateHandle{
              ValueOrThrow(MakeInIntersection(std::move(converted), std::move(field)))};
        },
        nb::arg("values"), nb::arg("field"),
        "Rows whose array `field` shares an element with `values`.");
  m.def("in_negate",
        [](const PredicateHandle& inner) {
          return PredicateHandle{ValueOrThrow(MakeInNegate(inner.predicate))};
        },
        nb::arg("predicate"));
  m.def("in_reduce",
        [](const std::vector<PredicateHandle>& predicates, const std::string& op) {
          ReduceOp reduce_op;
          if (op == "all") {
            reduce_op = ReduceOp::kAll;
          } else if (op == "any") {
            reduce_op = ReduceOp::kAny;
          } else {
            throw nb::value_error(("in_reduce: op must be 'all' or 'any', got '" + op + "'").c_str());
          }
          std::vector<std::shared_ptr<const Predicate>> inner;
          for (const auto& p : predicates) inner.push_back(p.predicate);
          return PredicateHandle{ValueOrThrow(MakeInReduce(std::move(inner), reduce_op))};
        },
        nb::arg("predicates"), nb::arg("op"));
  m.def("in_pseudorandom_split",
        [](std::vector<double> fractions, int subset_index, std::string field) {
          return PredicateHandle{ValueOrThrow(
              MakeInPseudorandomSplit(std::move(fractions), subset_index, std::move(field)))};
        },
        nb::arg("fractions"), nb::arg("subset_index"), nb::arg("field"));
  m.def("python_predicate",
        [](std::vector<std::string> fields, nb::object obj, bool batched) {
          std::string repr = nb::repr(obj).c_str();
          return PredicateHandle{
              std::make_shared<PythonPredicate>(std::move(fields), std::move(obj), std::move(repr), batched)};
        },
        nb::arg("fields"), nb::arg("obj"), nb::arg("batched") = false,
        "A predicate evaluated in Python: obj._evaluate_batch({name: column}) returns one truth value "
        "per row; a column is the list of the field's row values (make_reader's), or with `batched` "
        "a numpy array (make_batch_reader's).");
  m.def("_evaluate_predicate", &EvaluateOnRowGroup, nb::arg("predicate"), nb::arg("dataset_url"),
        nb::arg("row_group_index"), nb::arg("fields"),
        "Test helper: the predicate's flags on one row group's `fields`.");
}

}  // namespace petastorm::python
