// MD5 (RFC 1321), for Petastorm's in_pseudorandom_split bucketing. Not for security.
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace petastorm::internal {

using Md5Digest = std::array<uint8_t, 16>;

// The MD5 digest of `data`.
Md5Digest Md5(std::string_view data);

// The digest as 32 lowercase hex digits (Python's hashlib.md5(data).hexdigest()).
std::string Md5Hex(std::string_view data);

// Python's int(hashlib.md5(data).hexdigest(), 16) % (2**63 - 1): the digest read as a
// big-endian 128-bit integer, modulo sys.maxsize.
uint64_t Md5ModMaxsize(std::string_view data);

}  // namespace petastorm::internal
