// UTF-8 encoding shared by the JSON parser and the predicates, and the quoting of bytes that
// are not UTF-8 in messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace petastorm::internal {

// Appends one UCS4 code point as UTF-8; false for what is not a Unicode scalar value.
inline bool AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x110000) {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    return false;
  }
  return true;
}

// `bytes` as Python writes a bytes literal, b'ab\\xff', cut after `max_bytes` bytes ("...").
inline std::string BytesLiteral(std::string_view bytes, size_t max_bytes = 64) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "b'";
  for (size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += bytes.size() > max_bytes ? "'..." : "'";
  return out;
}

}  // namespace petastorm::internal
