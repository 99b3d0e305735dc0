// A Python reference that C++ objects may hold past the interpreter's life.
#pragma once

#include <nanobind/nanobind.h>

namespace petastorm::python {

// Drops its reference with the GIL held, and leaks it once the interpreter is finalized
// (static C++ destructors run after Python is gone).
class SafeObject {
 public:
  explicit SafeObject(nanobind::object obj) : obj_(std::move(obj)) {}
  SafeObject(const SafeObject&) = delete;
  SafeObject& operator=(const SafeObject&) = delete;
  ~SafeObject() {
    if (!Py_IsInitialized()) {
      obj_.release();
      return;
    }
    nanobind::gil_scoped_acquire gil;
    obj_.reset();
  }
  const nanobind::object& get() const { return obj_; }

 private:
  nanobind::object obj_;
};

}  // namespace petastorm::python
