// CRC-32 (zlib's, the ZIP and PNG polynomial): the one checksum of the project (zip members,
// cache entries).
#pragma once

#include <cstdint>

namespace petastorm::internal {

// Continues `crc` (0 to start) over `size` bytes at `data`; any size.
uint32_t Crc32(uint32_t crc, const uint8_t* data, int64_t size);

}  // namespace petastorm::internal
