// The one mapping from arrow::Status to Python exceptions, and back.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <nanobind/nanobind.h>

namespace petastorm::python {

// Raises the Python exception for a non-OK status:
// Invalid -> ValueError, TypeError -> TypeError, KeyError -> ValueError (Petastorm raises
// ValueError for unknown fields), IndexError -> IndexError, IOError -> OSError,
// NotImplemented -> NotImplementedError, AlreadyExists -> FileExistsError,
// OutOfMemory -> MemoryError, anything else -> RuntimeError. A status made by
// StatusFromPythonError re-raises the original Python exception (type, message, traceback).
void ThrowIfError(const arrow::Status& status);

template <typename T>
T ValueOrThrow(arrow::Result<T> result) {
  ThrowIfError(result.status());
  return std::move(result).ValueUnsafe();
}

// Turns a caught Python exception into a Status that carries it (ThrowIfError re-raises the
// same exception object). Needs the GIL.
arrow::Status StatusFromPythonError(nanobind::python_error& error, const std::string& context);

}  // namespace petastorm::python
