// The filesystem layer: URLs and storage options to Arrow filesystems, for reading and writing.
//
// Schemes: plain paths and file:// (local), s3:// s3a:// s3n:// (Arrow's S3FileSystem),
// gs:// gcs:// (GcsFileSystem), hdfs:// viewfs:// (HadoopFileSystem, through libhdfs and a JVM);
// any other scheme Arrow's own URI factory knows (abfs://, ...). Options come from the URL's
// query string and from StorageOptions, in one vocabulary (docs/remote-storage.md lists the
// keys per scheme: Arrow's names and the fsspec/s3fs names Petastorm users pass). Every remote
// filesystem gets a bounded timeout by default (kDefault* below).
//
// Errors: Invalid naming the URL and the key for an option the scheme does not understand or a
// malformed value; IOError naming the URL when the filesystem cannot be made (HDFS: what to
// install). Thread safety: free functions, callable from any thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>

namespace petastorm {

// (key, value) text pairs. Booleans are "true"/"false" (also 1/0, yes/no); numbers in decimal.
// Nested fsspec dicts are flattened with a dot: client_kwargs.endpoint_url.
using StorageOptions = std::vector<std::pair<std::string, std::string>>;

// S3: seconds to connect, and to wait for bytes on an open request (the AWS SDK's defaults
// are 1 s and 3 s, too short for a loaded store); attempts per request (first try included).
inline constexpr double kDefaultS3ConnectTimeoutSeconds = 10;
inline constexpr double kDefaultS3RequestTimeoutSeconds = 60;
inline constexpr int kDefaultS3RetryMaxAttempts = 3;
// How long a gs:// filesystem retries a failing request before it errs (its own default is
// 15 minutes: with no network a reader seemed to hang). The option retry_limit_seconds.
inline constexpr int kDefaultRemoteRetrySeconds = 15;

// What an URL resolves to: the filesystem, the path on it (no trailing '/') and the URL as the
// user gave it (for messages; credentials in it are not repeated).
struct StorageLocation {
  std::shared_ptr<arrow::fs::FileSystem> filesystem;
  std::string path;
  std::string url;
};

arrow::Result<StorageLocation> ResolveUrl(const std::string& url, const StorageOptions& options = {});

// The same, as the filesystem and the path ("file:///a/b/" -> /a/b).
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUrl(const std::string& url,
                                                                       std::string* path,
                                                                       const StorageOptions& options = {});

// The local filesystem as every reader uses it: pread, not memory maps (a file truncated under
// a reader is an error naming it, not SIGBUS), buffers from a pool that reuses freed blocks.
std::shared_ptr<arrow::fs::FileSystem> LocalFileSystem();

// What a user must install and set for hdfs:// (Arrow's HadoopFileSystem loads libhdfs.so
// and starts a JVM); part of every error that comes from there.
extern const char kHdfsSetupHelp[];

// Finalizes Arrow's S3 subsystem if this process used it (idempotent; S3 filesystems fail
// after it). The Python module calls it at interpreter exit.
void FinalizeRemoteFileSystems();

}  // namespace petastorm
