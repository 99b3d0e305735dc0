// What every libFuzzer target sets up in LLVMFuzzerInitialize, before its first input.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace petastorm::internal {

// Arrow's buffers from malloc, where AddressSanitizer sees them (not from the wheel's
// mimalloc); and a per-cell decode bound of 16 MiB, since inputs may claim any size and the
// fuzzer must not allocate gigabytes per input. Variables already set are kept.
inline void SetFuzzEnvironment() {
  setenv("ARROW_DEFAULT_MEMORY_POOL", "system", 0);
  setenv("PETASTORM_MAX_CELL_BYTES", "16777216", 0);
}

// A new directory /tmp/petastorm_<name>_fuzz.XXXXXX, removed when the process exits; one per
// process (the path is kept in a static). Aborts when it cannot be made.
inline const std::string& FuzzScratchDir(const char* name) {
  static std::string dir;
  if (dir.empty()) {
    std::string pattern = std::string("/tmp/petastorm_") + name + "_fuzz.XXXXXX";
    if (!mkdtemp(pattern.data())) std::abort();
    dir = pattern;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    });
  }
  return dir;
}

}  // namespace petastorm::internal
