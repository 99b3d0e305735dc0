#include "util/crc32_internal.h"

#include <zlib.h>

#include <algorithm>

namespace petastorm::internal {

uint32_t Crc32(uint32_t crc, const uint8_t* data, int64_t size) {
  uLong value = crc;
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<int64_t>(size, 1 << 30));
    value = crc32(value, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(value);
}

}  // namespace petastorm::internal
