#include "predicate/python_text_internal.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <variant>

#include <arrow/util/float16.h>

namespace petastorm {

namespace internal {

namespace {

// Digits and exponent of a shortest representation: value = d.ddd * 10^exponent.
struct ShortestDigits {
  std::string digits;  // no leading or trailing zeros, at least one digit
  int exponent = 0;
};

// Parses "[-]d[.ddd]e[+-]xx" as printed by to_chars/printf in scientific form.
ShortestDigits ParseScientific(std::string_view text) {
  ShortestDigits out;
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  const size_t e = text.find_first_of("eE");
  for (char c : text.substr(0, e)) {
    if (c != '.') out.digits.push_back(c);
  }
  int exponent = 0;
  std::string_view exp_text = text.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  out.exponent = exponent;
  while (out.digits.size() > 1 && out.digits.back() == '0') out.digits.pop_back();
  return out;
}

// The shortest digits that read back as the same value of the `bits`-wide type.
ShortestDigits Shortest(double value, int bits) {
  char buffer[64];
  if (bits == 64) {
    auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
    return ParseScientific(std::string_view(buffer, result.ptr - buffer));
  }
  if (bits == 32) {
    auto result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(value),
                                std::chars_format::scientific);
    return ParseScientific(std::string_view(buffer, result.ptr - buffer));
  }
  // float16 (no to_chars for it): for each length, the correctly rounded digits and their
  // neighbours in the last place (at a power of two the interval below is narrower); the
  // first length with a candidate that reads back as the same half wins, nearest first.
  const uint16_t bits16 = arrow::util::Float16::FromDouble(value).bits();
  for (int precision = 0; precision < 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*e", precision, value);
    const ShortestDigits rounded = ParseScientific(buffer);
    // The rounded digits as an integer mantissa: value ~ mantissa * 10^scale.
    std::string padded = rounded.digits + std::string(precision + 1 - rounded.digits.size(), '0');
    const int64_t mantissa = std::stoll(padded);
    const int scale = rounded.exponent - precision;
    std::optional<ShortestDigits> best;
    long double best_distance = 0;
    for (int64_t candidate : {mantissa, mantissa - 1, mantissa + 1}) {
      if (candidate <= 0) continue;
      const std::string text = std::to_string(candidate) + "e" + std::to_string(scale);
      const double back = std::strtod(text.c_str(), nullptr);
      if (arrow::util::Float16::FromDouble(back).bits() != bits16) continue;
      const long double distance = std::fabs(static_cast<long double>(back) - value);
      if (best && distance >= best_distance) continue;
      std::string digits = std::to_string(candidate);
      ShortestDigits found;
      found.exponent = scale + static_cast<int>(digits.size()) - 1;
      while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
      found.digits = digits;
      best = found;
      best_distance = distance;
    }
    if (best) return *best;
  }
  return ParseScientific(buffer);
}

}  // namespace

std::string NumpyFloatStr(double value, int bits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  const bool negative = std::signbit(value);
  std::string out = negative ? "-" : "";
  if (value == 0) return out + "0.0";
  const double magnitude = std::fabs(value);
  const double max_positional = bits == 16 ? 1e3 : bits == 32 ? 1e6 : 1e16;
  const ShortestDigits s = Shortest(magnitude, bits);
  const int n = static_cast<int>(s.digits.size());
  if (magnitude >= 1e-4 && magnitude < max_positional) {
    if (s.exponent >= 0) {
      if (n <= s.exponent + 1) {
        out += s.digits + std::string(s.exponent + 1 - n, '0') + ".0";
      } else {
        out += s.digits.substr(0, s.exponent + 1) + "." + s.digits.substr(s.exponent + 1);
      }
    } else {
      out += "0." + std::string(-s.exponent - 1, '0') + s.digits;
    }
    return out;
  }
  out += s.digits.substr(0, 1);
  if (n > 1) out += "." + s.digits.substr(1);
  out += s.exponent < 0 ? "e-" : "e+";
  const int abs_exponent = std::abs(s.exponent);
  if (abs_exponent < 10) out += "0";
  out += std::to_string(abs_exponent);
  return out;
}

std::string PythonBytesRepr(std::string_view bytes) {
  const bool has_single = bytes.find('\'') != std::string_view::npos;
  const bool has_double = bytes.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "b";
  out.push_back(quote);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back(quote);
  return out;
}

std::optional<std::string> CanonicalDecimal(std::string_view text) {
  // Larger exponents cannot occur in stored decimals (at most 76 digits) or doubles (at most
  // ~1100 significant decimal places).
  constexpr int64_t kMaxExponent = 2000;
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) negative = text[pos++] == '-';
  std::string digits;
  int64_t exponent = 0;
  bool seen_point = false, seen_digit = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (!(digits.empty() && c == '0')) digits.push_back(c);
      if (seen_point) --exponent;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!seen_digit) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] != 'e' && text[pos] != 'E') return std::nullopt;
    ++pos;
    bool exp_negative = false;
    if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) exp_negative = text[pos++] == '-';
    if (pos == text.size()) return std::nullopt;
    int64_t written = 0;
    for (; pos < text.size(); ++pos) {
      const char c = text[pos];
      if (c < '0' || c > '9') return std::nullopt;
      written = written * 10 + (c - '0');
      if (written > kMaxExponent * 10) return std::nullopt;
    }
    exponent += exp_negative ? -written : written;
  }
  if (digits.empty()) return std::string("0");
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (exponent > kMaxExponent || exponent < -kMaxExponent ||
      static_cast<int64_t>(digits.size()) > kMaxExponent) {
    return std::nullopt;
  }
  std::string out = negative ? "-" : "";
  const int64_t n = static_cast<int64_t>(digits.size());
  if (exponent >= 0) {
    out += digits + std::string(exponent, '0');
  } else if (n > -exponent) {
    out += digits.substr(0, n + exponent) + "." + digits.substr(n + exponent);
  } else {
    out += "0." + std::string(-exponent - n, '0') + digits;
  }
  return out;
}

std::string ExactDecimal(double value) {
  // A double has at most 1074 fractional decimal digits and 309 integer digits.
  char buffer[1500];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, 1100);
  return CanonicalDecimal(std::string_view(buffer, result.ptr - buffer)).value_or("0");
}

}  // namespace internal

namespace internal {

std::string QuotePython(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

std::string ValueRepr(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "None"; }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(uint64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return internal::NumpyFloatStr(v, 64); }
    std::string operator()(const std::string& s) const { return QuotePython(s); }
    std::string operator()(const Bytes& b) const { return internal::PythonBytesRepr(b.data); }
    std::string operator()(const DecimalText& d) const { return "Decimal(" + QuotePython(d.text) + ")"; }
    std::string operator()(const DatetimeNs& d) const {
      return "numpy.datetime64(" + std::to_string(d.ns) + ", 'ns')";
    }
    std::string operator()(const Tensor& t) const { return DescribeValue(t); }
  };
  return std::visit(Visitor{}, value);
}

std::string ValuesRepr(const std::vector<Value>& values) {
  constexpr size_t kShown = 8;
  std::string out = "[";
  for (size_t i = 0; i < values.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += ValueRepr(values[i]);
  }
  if (values.size() > kShown) out += ", ... (" + std::to_string(values.size()) + " values)";
  return out + "]";
}


}  // namespace internal
}  // namespace petastorm
