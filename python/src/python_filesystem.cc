#include "python_filesystem.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/future.h>
#include <nanobind/stl/string.h>

namespace nb = nanobind;

namespace petastorm::python {

namespace {

namespace fs = arrow::fs;

// A Python object that may be dropped on any thread (and after the interpreter is gone).
class PyRef {
 public:
  explicit PyRef(nb::object obj) : obj_(obj.release().ptr()) {}
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef() {
    if (obj_ == nullptr || !Py_IsInitialized() || _Py_IsFinalizing()) return;  // leaked at exit
    nb::gil_scoped_acquire gil;
    Py_DECREF(obj_);
  }
  nb::handle get() const { return obj_; }

 private:
  PyObject* obj_;
};

// Runs `fn` under the GIL; a Python exception becomes an IOError naming `what` and `path`.
template <typename Fn>
auto CallPython(const char* what, const std::string& path, Fn&& fn) -> arrow::Result<decltype(fn())> {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) {
    return arrow::Status::IOError(what, " '", path, "': the Python interpreter is shutting down");
  }
  nb::gil_scoped_acquire gil;
  try {
    return fn();
  } catch (nb::python_error& e) {
    std::string message = e.what();
    bool not_found = e.matches(PyExc_FileNotFoundError);
    e.restore();
    PyErr_Clear();
    auto status = arrow::Status::IOError(what, " '", path, "': ", message);
    if (not_found) status = arrow::Status::IOError(what, " '", path, "': not found (", message, ")");
    return status;
  } catch (std::exception& e) {
    return arrow::Status::IOError(what, " '", path, "': ", e.what());
  }
}

arrow::Status CallPythonStatus(const char* what, const std::string& path, auto&& fn) {
  auto r = CallPython(what, path, [&] {
    fn();
    return true;
  });
  return r.status();
}

fs::FileInfo InfoFromTuple(std::string path, nb::handle t) {
  fs::FileInfo info(std::move(path), static_cast<fs::FileType>(nb::cast<int>(t[0])));
  if (info.type() == fs::FileType::File) info.set_size(nb::cast<int64_t>(t[1]));
  return info;
}

class PythonInputFile : public arrow::io::RandomAccessFile {
 public:
  PythonInputFile(std::shared_ptr<PyRef> file, std::string path, int64_t size)
      : file_(std::move(file)), path_(std::move(path)), size_(size) {}

  arrow::Status Close() override {
    if (closed_) return arrow::Status::OK();
    closed_ = true;
    return CallPythonStatus("Closing", path_, [&] { file_->get().attr("close")(); });
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }
  arrow::Status Seek(int64_t position) override {
    if (position < 0) return arrow::Status::Invalid("Seeking '", path_, "' to ", position);
    position_ = position;
    return arrow::Status::OK();
  }
  arrow::Result<int64_t> GetSize() override { return size_; }

  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t n, ReadAt(position_, nbytes, true, out));
    position_ += n;
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto buffer, ReadAt(position_, nbytes, true));
    position_ += buffer->size();
    return buffer;
  }

  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, bool allow_short_read, void* out) override {
    if (closed_) return arrow::Status::Invalid("Reading '", path_, "' after it was closed");
    nbytes = std::max<int64_t>(0, std::min(nbytes, size_ - position));
    if (nbytes == 0) return 0;
    // seek + read under one hold of the GIL: concurrent ReadAt calls do not interleave.
    return CallPython("Reading", path_, [&]() -> int64_t {
      nb::handle f = file_->get();
      f.attr("seek")(position);
      nb::object data = f.attr("read")(nbytes);
      char* bytes = nullptr;
      Py_ssize_t length = 0;
      if (PyBytes_AsStringAndSize(data.ptr(), &bytes, &length) != 0) throw nb::python_error();
      std::memcpy(out, bytes, static_cast<size_t>(std::min<int64_t>(length, nbytes)));
      return std::min<int64_t>(length, nbytes);
    });
  }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    return ReadAt(position, nbytes, true, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes,
                                                       bool allow_short_read) override {
    nbytes = std::max<int64_t>(0, std::min(nbytes, size_ - position));
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::ResizableBuffer> buffer, arrow::AllocateResizableBuffer(nbytes));
    ARROW_ASSIGN_OR_RAISE(int64_t n, ReadAt(position, nbytes, allow_short_read, buffer->mutable_data()));
    ARROW_RETURN_NOT_OK(buffer->Resize(n, false));
    return std::shared_ptr<arrow::Buffer>(std::move(buffer));
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    return ReadAt(position, nbytes, true);
  }

 private:
  std::shared_ptr<PyRef> file_;
  std::string path_;
  int64_t size_;
  int64_t position_ = 0;
  bool closed_ = false;
};

class PythonOutputStream : public arrow::io::OutputStream {
 public:
  PythonOutputStream(std::shared_ptr<PyRef> file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  ~PythonOutputStream() override { (void)Close(); }

  arrow::Status Close() override {
    if (closed_) return arrow::Status::OK();
    closed_ = true;
    return CallPythonStatus("Writing", path_, [&] { file_->get().attr("close")(); });
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return written_; }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    if (closed_) return arrow::Status::Invalid("Writing '", path_, "' after it was closed");
    ARROW_RETURN_NOT_OK(CallPythonStatus("Writing", path_, [&] {
      file_->get().attr("write")(nb::bytes(static_cast<const char*>(data), static_cast<size_t>(nbytes)));
    }));
    written_ += nbytes;
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<PyRef> file_;
  std::string path_;
  int64_t written_ = 0;
  bool closed_ = false;
};

class PythonFileSystem : public fs::FileSystem {
 public:
  PythonFileSystem(nb::object adapter, std::string name)
      : adapter_(std::make_shared<PyRef>(std::move(adapter))), name_(std::move(name)) {}

  std::string type_name() const override { return name_; }
  bool Equals(const fs::FileSystem& other) const override {
    auto* py = dynamic_cast<const PythonFileSystem*>(&other);
    return py != nullptr && py->adapter_->get().ptr() == adapter_->get().ptr();
  }

  using fs::FileSystem::GetFileInfo;
  arrow::Result<fs::FileInfo> GetFileInfo(const std::string& path) override {
    return CallPython("Getting the info of", path, [&] {
      return InfoFromTuple(path, adapter_->get().attr("info")(path));
    });
  }
  arrow::Result<fs::FileInfoVector> GetFileInfo(const fs::FileSelector& select) override {
    return CallPython("Listing", select.base_dir, [&]() -> fs::FileInfoVector {
      fs::FileInfoVector out;
      nb::object info = adapter_->get().attr("info")(select.base_dir);
      auto type = static_cast<fs::FileType>(nb::cast<int>(info[0]));
      if (type == fs::FileType::NotFound) {
        if (select.allow_not_found) return out;
        throw std::runtime_error("not found");
      }
      for (nb::handle entry : adapter_->get().attr("list")(select.base_dir, select.recursive)) {
        out.push_back(InfoFromTuple(nb::cast<std::string>(entry[0]), entry));
      }
      return out;
    });
  }

  arrow::Status CreateDir(const std::string& path, bool recursive) override {
    return CallPythonStatus("Creating the directory", path, [&] { adapter_->get().attr("mkdir")(path, recursive); });
  }
  arrow::Status DeleteDir(const std::string& path) override {
    return CallPythonStatus("Deleting the directory", path, [&] { adapter_->get().attr("rmdir")(path); });
  }
  arrow::Status DeleteDirContents(const std::string& path, bool missing_dir_ok) override {
    return CallPythonStatus("Deleting the contents of", path, [&] {
      adapter_->get().attr("rmdir_contents")(path, missing_dir_ok);
    });
  }
  arrow::Status DeleteRootDirContents() override {
    return arrow::Status::NotImplemented("Deleting the root of a Python filesystem");
  }
  arrow::Status DeleteFile(const std::string& path) override {
    return CallPythonStatus("Deleting", path, [&] { adapter_->get().attr("rm")(path); });
  }
  arrow::Status Move(const std::string& src, const std::string& dest) override {
    return CallPythonStatus("Moving", src, [&] { adapter_->get().attr("move")(src, dest); });
  }
  arrow::Status CopyFile(const std::string& src, const std::string& dest) override {
    return CallPythonStatus("Copying", src, [&] { adapter_->get().attr("copy")(src, dest); });
  }

  arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenInputStream(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto file, OpenInputFile(path));
    return std::static_pointer_cast<arrow::io::InputStream>(file);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto info, GetFileInfo(path));
    return OpenInputFile(info);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const fs::FileInfo& info) override {
    if (info.type() == fs::FileType::NotFound) return arrow::Status::IOError("Opening '", info.path(), "': not found");
    if (info.type() != fs::FileType::File) return arrow::Status::IOError("Opening '", info.path(), "': not a file");
    ARROW_ASSIGN_OR_RAISE(auto file, CallPython("Opening", info.path(), [&] {
                            return std::make_shared<PyRef>(adapter_->get().attr("open_read")(info.path()));
                          }));
    return std::make_shared<PythonInputFile>(std::move(file), info.path(), info.size());
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path, const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    ARROW_ASSIGN_OR_RAISE(auto file, CallPython("Opening for writing", path, [&] {
                            return std::make_shared<PyRef>(adapter_->get().attr("open_write")(path));
                          }));
    return std::make_shared<PythonOutputStream>(std::move(file), path);
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenAppendStream(
      const std::string& path, const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    return arrow::Status::NotImplemented("Appending to '", path, "' on a Python filesystem");
  }

 private:
  std::shared_ptr<PyRef> adapter_;
  std::string name_;
};

}  // namespace

std::shared_ptr<arrow::fs::FileSystem> MakePythonFileSystem(nb::object adapter, std::string name) {
  return std::make_shared<PythonFileSystem>(std::move(adapter), std::move(name));
}

}  // namespace petastorm::python
