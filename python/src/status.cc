#include "status.h"

#include <memory>
#include <string_view>

#include <nanobind/nanobind.h>

#include "petastorm/plan.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// Carries a Python exception through C++ code that speaks arrow::Status.
class PythonErrorDetail : public arrow::StatusDetail {
 public:
  // `exception` is the exception object (its traceback attached). Needs the GIL.
  explicit PythonErrorDetail(nb::object exception) : exception_(std::move(exception)) {}
  ~PythonErrorDetail() override {
    if (!Py_IsInitialized()) {
      exception_.release();  // the interpreter is gone: leak rather than crash
      return;
    }
    nb::gil_scoped_acquire gil;
    exception_.reset();
  }
  const char* type_id() const override { return "petastorm::python::PythonErrorDetail"; }
  std::string ToString() const override { return "Python exception"; }
  // Sets it as the current Python exception. Needs the GIL.
  void Restore() const { PyErr_SetObject((PyObject*)Py_TYPE(exception_.ptr()), exception_.ptr()); }

 private:
  nb::object exception_;
};

}  // namespace

arrow::Status StatusFromPythonError(nb::python_error& error, const std::string& context) {
  nb::object exception = nb::borrow(error.value());
  std::string message = context + ": " + nb::str(exception).c_str();
  nb::object traceback = error.traceback();
  if (traceback.is_valid() && !traceback.is_none()) {
    PyException_SetTraceback(exception.ptr(), traceback.ptr());
  }
  return arrow::Status(arrow::StatusCode::UnknownError, std::move(message),
                       std::make_shared<PythonErrorDetail>(std::move(exception)));
}

void ThrowIfError(const arrow::Status& status) {
  if (status.ok()) return;
  nb::gil_scoped_acquire gil;
  if (auto detail = std::dynamic_pointer_cast<PythonErrorDetail>(status.detail())) {
    detail->Restore();
    throw nb::python_error();
  }
  // The plan marks "no data for this reader" errors; Python has a class for them.
  if (IsNoDataAvailable(status)) {
    nb::object error_type = nb::module_::import_("petastorm.errors").attr("NoDataAvailableError");
    PyErr_SetString(error_type.ptr(), status.message().c_str());
    throw nb::python_error();
  }
  PyObject* type = PyExc_RuntimeError;
  switch (status.code()) {
    case arrow::StatusCode::Invalid: type = PyExc_ValueError; break;
    case arrow::StatusCode::TypeError: type = PyExc_TypeError; break;
    case arrow::StatusCode::KeyError: type = PyExc_ValueError; break;
    case arrow::StatusCode::IndexError: type = PyExc_IndexError; break;
    case arrow::StatusCode::IOError: type = PyExc_OSError; break;
    case arrow::StatusCode::NotImplemented: type = PyExc_NotImplementedError; break;
    case arrow::StatusCode::AlreadyExists: type = PyExc_FileExistsError; break;
    case arrow::StatusCode::OutOfMemory: type = PyExc_MemoryError; break;
    default: break;
  }
  PyErr_SetString(type, status.message().c_str());
  throw nb::python_error();
}

}  // namespace petastorm::python
