#include "status.h"

#include <memory>
#include <string_view>

#include <nanobind/nanobind.h>

#include "petastorm/plan.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// Carries a Python exception through C++ code that speaks arrow::Status.
//
// The first Restore raises the exception object itself (its traceback attached); it then keeps
// only its type and args, and later Restores raise a new exception of that type made from those
// args. A reader's sticky error is such a Status kept in C++: keeping the first exception, whose
// traceback grows the frames it propagates through (the Python reader among them), would make a
// reference cycle through C++ that Python's collector cannot see, and the reader would never be
// freed. All members are touched with the GIL held only.
class PythonErrorDetail : public arrow::StatusDetail {
 public:
  // `exception` is the exception object (its traceback attached). Needs the GIL.
  explicit PythonErrorDetail(nb::object exception)
      : exception_(std::move(exception)), type_(nb::borrow(exception_.type())), args_(exception_.attr("args")) {}
  ~PythonErrorDetail() override {
    if (!Py_IsInitialized()) {
      // The interpreter is gone: leak rather than crash.
      exception_.release();
      type_.release();
      args_.release();
      return;
    }
    nb::gil_scoped_acquire gil;
    exception_.reset();
    type_.reset();
    args_.reset();
  }
  const char* type_id() const override { return "petastorm::python::PythonErrorDetail"; }
  std::string ToString() const override { return "Python exception"; }
  // Sets it as the current Python exception. Needs the GIL.
  void Restore() const {
    if (exception_.is_valid()) {
      nb::object exception = std::move(exception_);
      PyErr_SetObject(type_.ptr(), exception.ptr());
      return;
    }
    PyErr_SetObject(type_.ptr(), args_.ptr());  // type(*args)
  }

 private:
  mutable nb::object exception_;
  nb::object type_;
  nb::object args_;
};

}  // namespace

arrow::Status StatusFromPythonError(nb::python_error& error, const std::string& context) {
  nb::object exception = nb::borrow(error.value());
  nb::object traceback = error.traceback();
  if (!PyExceptionInstance_Check(exception.ptr())) {
    // Before Python 3.12 an error raised by C code (PyErr_SetString: hash() of an unhashable
    // value, ...) is fetched unnormalized: its value is the message, not an exception object.
    PyObject* type = nb::borrow(error.type()).release().ptr();
    PyObject* value = exception.release().ptr();
    PyObject* tb = traceback.is_valid() && !traceback.is_none() ? traceback.release().ptr() : nullptr;
    PyErr_NormalizeException(&type, &value, &tb);
    nb::object owned_type = nb::steal(type);
    exception = nb::steal(value);
    traceback = tb ? nb::steal(tb) : nb::object();
    if (!PyExceptionInstance_Check(exception.ptr())) {
      return arrow::Status::UnknownError(context, ": a Python error that is not an exception: ",
                                         nb::str(exception).c_str());
    }
  }
  std::string message = context + ": " + nb::str(exception).c_str();
  if (traceback.is_valid() && !traceback.is_none()) {
    PyException_SetTraceback(exception.ptr(), traceback.ptr());
  }
  return arrow::Status(arrow::StatusCode::UnknownError, std::move(message),
                       std::make_shared<PythonErrorDetail>(std::move(exception)));
}

namespace {

// Sets the Python error `type` with `message`, whose bytes that are not UTF-8 (from a corrupt
// header or cell) become backslash escapes rather than a UnicodeDecodeError that loses it all.
void SetError(PyObject* type, const std::string& message) {
  nb::object text = nb::steal(PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()),
                                                   "backslashreplace"));
  if (!text.is_valid()) {
    PyErr_Clear();
    text = nb::str("(an error message that could not be decoded)");
  }
  PyErr_SetObject(type, text.ptr());
}

}  // namespace

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
    SetError(error_type.ptr(), status.message());
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
  SetError(type, status.message());
  throw nb::python_error();
}

}  // namespace petastorm::python
