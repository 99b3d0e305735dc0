// An arrow::fs::FileSystem whose operations call a Python object: how a filesystem the user
// built in Python (fsspec's, or a pyarrow one the engine cannot rebuild natively) serves the
// C++ engine. The adapter protocol (petastorm/fs_utils.py _Adapter) is:
//   info(path) -> (type, size)          type: 0 not found, 2 file, 3 directory (arrow::fs::FileType)
//   list(path, recursive) -> [(path, type, size)]   raises FileNotFoundError when missing
//   open_read(path) -> object with seek(pos), read(n), close()
//   open_write(path) -> object with write(bytes), close()
//   mkdir(path, recursive), rmdir(path) (with its contents), rmdir_contents(path), rm(path),
//   move(src, dst), copy(src, dst)
// Every call takes the GIL (the engine's threads run without it and wait for it here); a Python
// exception becomes an IOError naming the operation and the path. After the interpreter has
// begun to finalize, every call fails with an IOError. Thread safety: any thread.
#pragma once

#include <memory>
#include <string>

#include <arrow/filesystem/filesystem.h>
#include <nanobind/nanobind.h>

namespace petastorm::python {

// `adapter` is kept (its reference is dropped under the GIL); `name` is the filesystem's
// type_name() ("py::memory", "py::s3fs", ...): filesystems are equal when their adapters are
// the same object.
std::shared_ptr<arrow::fs::FileSystem> MakePythonFileSystem(nanobind::object adapter, std::string name);

}  // namespace petastorm::python
