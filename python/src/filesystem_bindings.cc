// Bindings of petastorm/filesystem.h, and filesystems made in Python (python_filesystem.h).
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "petastorm/filesystem.h"
#include "handles.h"
#include "python_filesystem.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

void BindFileSystem(nb::module_& m) {
  nb::class_<FileSystemHandle>(m, "FileSystem",
                               "An Arrow filesystem the engine reads and writes through (petastorm/filesystem.h).")
      .def_prop_ro("type_name", [](const FileSystemHandle& h) { return h.filesystem->type_name(); })
      .def("__eq__", [](const FileSystemHandle& a, const FileSystemHandle& b) {
        return a.filesystem->Equals(*b.filesystem);
      });

  m.def("resolve_url",
        [](const std::string& url, const StorageOptions& options) {
          nb::gil_scoped_release release;
          auto location = ValueOrThrow(ResolveUrl(url, options));
          return std::make_pair(FileSystemHandle{std::move(location.filesystem)}, std::move(location.path));
        },
        nb::arg("url"), nb::arg("storage_options"),
        "(FileSystem, path) for a URL and its storage options [(key, text value)].");
  m.def("python_filesystem",
        [](nb::object adapter, std::string name) {
          return FileSystemHandle{MakePythonFileSystem(std::move(adapter), std::move(name))};
        },
        nb::arg("adapter"), nb::arg("name"),
        "A FileSystem whose operations call `adapter` (python_filesystem.h has the protocol).");
  m.def("finalize_remote_filesystems", [] {
    nb::gil_scoped_release release;
    FinalizeRemoteFileSystems();
  });
  m.attr("HDFS_SETUP_HELP") = nb::str(kHdfsSetupHelp);
  m.attr("DEFAULT_S3_CONNECT_TIMEOUT_SECONDS") = kDefaultS3ConnectTimeoutSeconds;
  m.attr("DEFAULT_S3_REQUEST_TIMEOUT_SECONDS") = kDefaultS3RequestTimeoutSeconds;
  m.attr("DEFAULT_S3_RETRY_MAX_ATTEMPTS") = kDefaultS3RetryMaxAttempts;
  m.attr("DEFAULT_GCS_RETRY_LIMIT_SECONDS") = kDefaultRemoteRetrySeconds;
}

}  // namespace petastorm::python
