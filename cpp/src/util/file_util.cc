#include "util/file_util_internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <system_error>

namespace petastorm::internal {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

int64_t NextStamp() {
  static std::atomic<int64_t> last{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t prev = last.load(std::memory_order_relaxed);
  int64_t next;
  do {
    next = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return next;
}

timespec ToTimespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

int UniqueFd::Reset() {
  int rc = 0;
  if (fd_ >= 0) rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

arrow::Status WriteAll(int fd, const uint8_t* data, int64_t size, const std::string& path) {
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(size, 1 << 30));
    const ssize_t n = ::write(fd, data, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return arrow::Status::IOError("Cannot write '", path, "': ", ErrnoText(errno));
    }
    data += n;
    size -= n;
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadWholeFile(const std::string& path, FileId* id) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return nullptr;
    return arrow::Status::IOError("Cannot open '", path, "': ", ErrnoText(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return arrow::Status::IOError("Cannot stat '", path, "': ", ErrnoText(errno));
  }
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  const int64_t size = st.st_size;
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer, arrow::AllocateBuffer(size));
  uint8_t* out = buffer->mutable_data();
  int64_t done = 0;
  while (done < size) {
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(size - done, 1 << 30));
    const ssize_t n = ::pread(fd.get(), out + done, chunk, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return arrow::Status::IOError("Cannot read '", path, "': ", ErrnoText(errno));
    }
    if (n == 0) {
      return arrow::Status::IOError("'", path, "' shrank to ", done, " bytes while being read");
    }
    done += n;
  }
  return buffer;
}

}  // namespace petastorm::internal
