// MD5 as RFC 1321 specifies it: 64-byte blocks, four rounds of sixteen steps.
#include "predicate/md5_internal.h"

#include <cmath>
#include <cstring>

namespace petastorm::internal {

namespace {

// The per-step constants: floor(|sin(i + 1)| * 2^32) (RFC 1321, section 3.4).
const std::array<uint32_t, 64>& SineTable() {
  static const std::array<uint32_t, 64> table = [] {
    std::array<uint32_t, 64> t{};
    for (int i = 0; i < 64; ++i) {
      t[i] = static_cast<uint32_t>(std::floor(std::fabs(std::sin(i + 1.0)) * 4294967296.0));
    }
    return t;
  }();
  return table;
}

constexpr int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

inline uint32_t RotateLeft(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

inline uint32_t LoadLittleEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

void ProcessBlock(const uint8_t* block, uint32_t state[4]) {
  const auto& sines = SineTable();
  uint32_t words[16];
  for (int i = 0; i < 16; ++i) words[i] = LoadLittleEndian32(block + 4 * i);
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (int step = 0; step < 64; ++step) {
    const int round = step / 16;
    uint32_t mixed;
    int word;
    switch (round) {
      case 0: mixed = (b & c) | (~b & d); word = step; break;
      case 1: mixed = (b & d) | (c & ~d); word = (5 * step + 1) % 16; break;
      case 2: mixed = b ^ c ^ d; word = (3 * step + 5) % 16; break;
      default: mixed = c ^ (b | ~d); word = (7 * step) % 16; break;
    }
    const uint32_t sum = a + mixed + sines[step] + words[word];
    a = d;
    d = c;
    c = b;
    b = b + RotateLeft(sum, kShift[round][step % 4]);
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

}  // namespace

Md5Digest Md5(std::string_view data) {
  uint32_t state[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const size_t full_blocks = data.size() / 64;
  for (size_t i = 0; i < full_blocks; ++i) ProcessBlock(bytes + 64 * i, state);

  // The tail, a 0x80 byte, zeros up to 56 mod 64, then the length in bits (little-endian).
  uint8_t tail[128] = {};
  const size_t rest = data.size() - 64 * full_blocks;
  if (rest > 0) std::memcpy(tail, bytes + 64 * full_blocks, rest);
  tail[rest] = 0x80;
  const size_t tail_size = rest < 56 ? 64 : 128;
  const uint64_t bit_length = static_cast<uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_size - 8 + i] = static_cast<uint8_t>(bit_length >> (8 * i));
  for (size_t offset = 0; offset < tail_size; offset += 64) ProcessBlock(tail + offset, state);

  Md5Digest digest;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) digest[4 * i + j] = static_cast<uint8_t>(state[i] >> (8 * j));
  }
  return digest;
}

std::string Md5Hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  const Md5Digest digest = Md5(data);
  std::string hex;
  hex.reserve(32);
  for (uint8_t byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

uint64_t Md5ModMaxsize(std::string_view data) {
  const Md5Digest digest = Md5(data);
  unsigned __int128 value = 0;
  for (uint8_t byte : digest) value = (value << 8) | byte;
  constexpr unsigned __int128 kMaxsize = (static_cast<unsigned __int128>(1) << 63) - 1;
  return static_cast<uint64_t>(value % kMaxsize);
}

}  // namespace petastorm::internal
