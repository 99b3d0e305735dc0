// Small POSIX file helpers of the local-disk cache: an owned descriptor, whole writes and
// reads, strictly increasing timestamps. Errors name the path.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <string>

#include <arrow/buffer.h>
#include <arrow/result.h>
#include <arrow/status.h>

namespace petastorm::internal {

// strerror for `err`.
std::string ErrnoText(int err);

// Nanoseconds since the epoch, strictly increasing within the process. Thread-safe.
int64_t NextStamp();
timespec ToTimespec(int64_t ns);

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  // close()'s result, for writers that must know the data reached the file.
  int Reset();

 private:
  int fd_;
};

// Writes all `size` bytes (retrying short writes and EINTR).
arrow::Status WriteAll(int fd, const uint8_t* data, int64_t size, const std::string& path);

// A file's identity, to tell whether it was replaced.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
};

// The whole file in one buffer; nullptr when there is no such file.
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadWholeFile(const std::string& path, FileId* id);

}  // namespace petastorm::internal
