// Petastorm's row predicates over decoded batches.
//
// Values compare as Python compares what the reader delivers: numbers by exact value across
// bool/int/float/Decimal (5 == 5.0 == True*5), str with str, bytes with bytes, datetimes by
// instant; anything else is unequal. Scalar cells are first converted to the field's numpy
// dtype, as petastorm.reader._scalar_column does (an int64-stored float32 field compares as
// float32), and numpy's trailing-NUL stripping of str_/bytes_ scalars is applied.
#include "petastorm/predicate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <variant>

#include <arrow/array.h>
#include <arrow/array/array_decimal.h>
#include <arrow/type.h>
#include <arrow/util/float16.h>

#include "petastorm/codec.h"
#include "read/md5_internal.h"
#include "read/predicate_internal.h"
#include "util/utf8_internal.h"

namespace petastorm {

// --- Python's and numpy's text forms ----------------------------------------------------

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

namespace {

using internal::CanonicalDecimal;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

std::string_view StripTrailingNuls(std::string_view s) {
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

bool IsIntegral(double d) { return std::isfinite(d) && std::trunc(d) == d; }

// --- Inclusion values -------------------------------------------------------------------

// The inclusion values of in_set / in_intersection, arranged for exact lookups.
class ValueSet {
 public:
  static arrow::Result<ValueSet> Make(const std::vector<Value>& values, const std::string& where) {
    ValueSet set;
    for (const Value& value : values) ARROW_RETURN_NOT_OK(set.Add(value, where));
    return set;
  }

  bool has_null() const { return has_null_; }
  bool ContainsInt(int64_t v) const { return ints_.count(v) > 0; }
  bool ContainsUInt(uint64_t v) const {
    return v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? ints_.count(static_cast<int64_t>(v)) > 0
               : big_uints_.count(v) > 0;
  }
  bool ContainsDouble(double v) const {
    if (std::isnan(v)) return false;
    if (IsIntegral(v) && v >= -kTwoTo63 && v < kTwoTo63) return ints_.count(static_cast<int64_t>(v)) > 0;
    if (IsIntegral(v) && v >= kTwoTo63 && v < kTwoTo64) return big_uints_.count(static_cast<uint64_t>(v)) > 0;
    return doubles_.count(v) > 0;
  }
  // `text`: any decimal text (a stored decimal's FormatValue).
  bool ContainsDecimal(std::string_view text) const {
    auto canonical = CanonicalDecimal(text);
    return canonical && decimals_.find(*canonical) != decimals_.end();
  }
  bool ContainsString(std::string_view v) const { return strings_.find(v) != strings_.end(); }
  bool ContainsBytes(std::string_view v) const { return bytes_.find(v) != bytes_.end(); }
  bool ContainsDatetimeNs(int64_t ns) const { return datetimes_.count(ns) > 0; }

 private:
  arrow::Status Add(const Value& value, const std::string& where) {
    if (std::holds_alternative<std::monostate>(value)) {
      has_null_ = true;
    } else if (auto* b = std::get_if<bool>(&value)) {
      AddInt(*b ? 1 : 0);
    } else if (auto* i = std::get_if<int64_t>(&value)) {
      AddInt(*i);
    } else if (auto* u = std::get_if<uint64_t>(&value)) {
      if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        AddInt(static_cast<int64_t>(*u));
      } else {
        big_uints_.insert(*u);
        decimals_.insert(std::to_string(*u));
      }
    } else if (auto* d = std::get_if<double>(&value)) {
      AddDouble(*d);
    } else if (auto* s = std::get_if<std::string>(&value)) {
      strings_.insert(*s);
    } else if (auto* bytes = std::get_if<Bytes>(&value)) {
      bytes_.insert(bytes->data);
    } else if (auto* decimal = std::get_if<DecimalText>(&value)) {
      AddDecimal(decimal->text);
    } else if (auto* datetime = std::get_if<DatetimeNs>(&value)) {
      datetimes_.insert(datetime->ns);
    } else {
      return arrow::Status::TypeError(where, ": inclusion values must be scalars, got ",
                                      DescribeValue(value));
    }
    return arrow::Status::OK();
  }

  void AddInt(int64_t v) {
    ints_.insert(v);
    decimals_.insert(std::to_string(v));
  }

  void AddDouble(double v) {
    if (std::isnan(v)) return;  // nan equals nothing
    if (IsIntegral(v) && v >= -kTwoTo63 && v < kTwoTo63) {
      AddInt(static_cast<int64_t>(v));
    } else if (IsIntegral(v) && v >= kTwoTo63 && v < kTwoTo64) {
      big_uints_.insert(static_cast<uint64_t>(v));
      decimals_.insert(internal::ExactDecimal(v));
    } else {
      doubles_.insert(v);
      if (std::isfinite(v)) decimals_.insert(internal::ExactDecimal(v));
    }
  }

  // Decimal('x') equals the int or float of the same value, as Python compares them.
  void AddDecimal(std::string_view text) {
    std::string_view unsigned_text = text;
    const bool negative = !text.empty() && text[0] == '-';
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) unsigned_text.remove_prefix(1);
    if (unsigned_text == "Infinity" || unsigned_text == "Inf" || unsigned_text == "inf") {
      doubles_.insert(negative ? -HUGE_VAL : HUGE_VAL);
      return;
    }
    auto canonical = CanonicalDecimal(text);
    if (!canonical) return;  // NaN, or beyond any stored value
    decimals_.insert(*canonical);
    if (canonical->find('.') == std::string::npos) {
      int64_t i;
      auto r = std::from_chars(canonical->data(), canonical->data() + canonical->size(), i);
      if (r.ec == std::errc() && r.ptr == canonical->data() + canonical->size()) ints_.insert(i);
      uint64_t u;
      r = std::from_chars(canonical->data(), canonical->data() + canonical->size(), u);
      if (r.ec == std::errc() && r.ptr == canonical->data() + canonical->size()) big_uints_.insert(u);
    }
    const double d = std::strtod(canonical->c_str(), nullptr);
    if (std::isfinite(d) && internal::ExactDecimal(d) == *canonical) AddDouble(d);
  }

  bool has_null_ = false;
  std::unordered_set<int64_t> ints_;
  std::unordered_set<uint64_t> big_uints_;  // above INT64_MAX
  std::unordered_set<double> doubles_;      // the others: fractions, infinities, huge values
  StringSet decimals_;                      // every number, in canonical decimal text
  StringSet strings_;
  StringSet bytes_;
  std::unordered_set<int64_t> datetimes_;
};

// --- Cells of scalar columns ------------------------------------------------------------

struct FloatCell {
  double value;
  int bits;  // 16, 32, 64: the numpy type it is a scalar of
};
struct StrCell {
  std::string_view text;
};
struct BytesCell {
  std::string_view data;
};
struct DecimalCell {
  std::string text;
};
struct DatetimeCell {
  std::optional<int64_t> ns;  // std::nullopt: out of the ns range
};
// One row of a scalar column, as the reader hands it to Python (None, numpy scalar, str, ...).
using Cell = std::variant<std::monostate, bool, int64_t, uint64_t, FloatCell, StrCell, BytesCell,
                          DecimalCell, DatetimeCell>;

std::optional<int64_t> ScaleToNs(int64_t value, int64_t ns_per_unit) {
  int64_t out;
  if (__builtin_mul_overflow(value, ns_per_unit, &out)) return std::nullopt;
  return out;
}

int64_t NsPerUnit(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND: return 1000000000;
    case arrow::TimeUnit::MILLI: return 1000000;
    case arrow::TimeUnit::MICRO: return 1000;
    default: return 1;
  }
}

// A number converted to a numpy dtype as ndarray.astype / dtype(value) does.
template <typename T>
Cell NumberAs(ScalarType dtype, T v) {
  auto as_int = [&](auto tag) -> Cell {
    using I = decltype(tag);
    I converted;
    if constexpr (std::is_floating_point_v<T>) {
      // Out of the integer range numpy's cast is platform-defined; keep the float.
      const long double wide = v;
      if (!(wide > static_cast<long double>(std::numeric_limits<I>::min()) - 1 &&
            wide < static_cast<long double>(std::numeric_limits<I>::max()) + 1)) {
        return FloatCell{static_cast<double>(v), sizeof(T) == 4 ? 32 : 64};
      }
      converted = static_cast<I>(wide);
    } else {
      converted = static_cast<I>(v);
    }
    if constexpr (std::is_signed_v<I>) {
      return static_cast<int64_t>(converted);
    } else {
      return static_cast<uint64_t>(converted);
    }
  };
  switch (dtype) {
    case ScalarType::kBool: return v != 0;
    case ScalarType::kInt8: return as_int(int8_t{});
    case ScalarType::kInt16: return as_int(int16_t{});
    case ScalarType::kInt32: return as_int(int32_t{});
    case ScalarType::kInt64: return as_int(int64_t{});
    case ScalarType::kUInt8: return as_int(uint8_t{});
    case ScalarType::kUInt16: return as_int(uint16_t{});
    case ScalarType::kUInt32: return as_int(uint32_t{});
    case ScalarType::kUInt64: return as_int(uint64_t{});
    case ScalarType::kFloat16:
      return FloatCell{arrow::util::Float16::FromDouble(static_cast<double>(v)).ToDouble(), 16};
    case ScalarType::kFloat32: return FloatCell{static_cast<double>(static_cast<float>(v)), 32};
    case ScalarType::kFloat64: return FloatCell{static_cast<double>(v), 64};
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    return FloatCell{static_cast<double>(v), sizeof(T) == 4 ? 32 : 64};
  } else if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<int64_t>(v);
  } else {
    return static_cast<uint64_t>(v);
  }
}

template <typename ArrayType>
const ArrayType& As(const arrow::Array& array) {
  return static_cast<const ArrayType&>(array);
}

// Row `i` of `array`, a column of a field of numpy type `dtype`.
arrow::Result<Cell> ReadCell(const arrow::Array& array, int64_t i, ScalarType dtype,
                             const std::string& where) {
  if (array.IsNull(i)) return std::monostate{};
  switch (array.type_id()) {
    case arrow::Type::BOOL: return NumberAs(dtype, As<arrow::BooleanArray>(array).Value(i));
    case arrow::Type::INT8: return NumberAs(dtype, As<arrow::Int8Array>(array).Value(i));
    case arrow::Type::INT16: return NumberAs(dtype, As<arrow::Int16Array>(array).Value(i));
    case arrow::Type::INT32: return NumberAs(dtype, As<arrow::Int32Array>(array).Value(i));
    case arrow::Type::INT64: return NumberAs(dtype, As<arrow::Int64Array>(array).Value(i));
    case arrow::Type::UINT8: return NumberAs(dtype, As<arrow::UInt8Array>(array).Value(i));
    case arrow::Type::UINT16: return NumberAs(dtype, As<arrow::UInt16Array>(array).Value(i));
    case arrow::Type::UINT32: return NumberAs(dtype, As<arrow::UInt32Array>(array).Value(i));
    case arrow::Type::UINT64: return NumberAs(dtype, As<arrow::UInt64Array>(array).Value(i));
    case arrow::Type::HALF_FLOAT: {
      const double v =
          arrow::util::Float16::FromBits(As<arrow::HalfFloatArray>(array).Value(i)).ToDouble();
      if (dtype == ScalarType::kFloat16) return FloatCell{v, 16};
      return NumberAs(dtype, v);
    }
    case arrow::Type::FLOAT: return NumberAs(dtype, As<arrow::FloatArray>(array).Value(i));
    case arrow::Type::DOUBLE: return NumberAs(dtype, As<arrow::DoubleArray>(array).Value(i));
    case arrow::Type::STRING: return StrCell{StripTrailingNuls(As<arrow::StringArray>(array).GetView(i))};
    case arrow::Type::LARGE_STRING:
      return StrCell{StripTrailingNuls(As<arrow::LargeStringArray>(array).GetView(i))};
    case arrow::Type::STRING_VIEW:
      return StrCell{StripTrailingNuls(As<arrow::StringViewArray>(array).GetView(i))};
    case arrow::Type::BINARY: return BytesCell{StripTrailingNuls(As<arrow::BinaryArray>(array).GetView(i))};
    case arrow::Type::LARGE_BINARY:
      return BytesCell{StripTrailingNuls(As<arrow::LargeBinaryArray>(array).GetView(i))};
    case arrow::Type::BINARY_VIEW:
      return BytesCell{StripTrailingNuls(As<arrow::BinaryViewArray>(array).GetView(i))};
    case arrow::Type::FIXED_SIZE_BINARY:
      return BytesCell{StripTrailingNuls(As<arrow::FixedSizeBinaryArray>(array).GetView(i))};
    case arrow::Type::DECIMAL32: return DecimalCell{As<arrow::Decimal32Array>(array).FormatValue(i)};
    case arrow::Type::DECIMAL64: return DecimalCell{As<arrow::Decimal64Array>(array).FormatValue(i)};
    case arrow::Type::DECIMAL128: return DecimalCell{As<arrow::Decimal128Array>(array).FormatValue(i)};
    case arrow::Type::DECIMAL256: return DecimalCell{As<arrow::Decimal256Array>(array).FormatValue(i)};
    case arrow::Type::DATE32:
      return DatetimeCell{ScaleToNs(As<arrow::Date32Array>(array).Value(i), 86400LL * 1000000000)};
    case arrow::Type::DATE64:
      return DatetimeCell{ScaleToNs(As<arrow::Date64Array>(array).Value(i), 1000000)};
    case arrow::Type::TIMESTAMP: {
      const auto& type = static_cast<const arrow::TimestampType&>(*array.type());
      return DatetimeCell{ScaleToNs(As<arrow::TimestampArray>(array).Value(i), NsPerUnit(type.unit()))};
    }
    // Delivered as their integer counts (docs/types.md).
    case arrow::Type::TIME32: return NumberAs(dtype, As<arrow::Time32Array>(array).Value(i));
    case arrow::Type::TIME64: return NumberAs(dtype, As<arrow::Time64Array>(array).Value(i));
    case arrow::Type::DURATION: return NumberAs(dtype, As<arrow::DurationArray>(array).Value(i));
    case arrow::Type::DICTIONARY: {
      const auto& dictionary = As<arrow::DictionaryArray>(array);
      return ReadCell(*dictionary.dictionary(), dictionary.GetValueIndex(i), dtype, where);
    }
    default:
      return arrow::Status::NotImplemented(where, ": cannot compare values of column type ",
                                           array.type()->ToString());
  }
}

bool IsListType(arrow::Type::type id) {
  return id == arrow::Type::LIST || id == arrow::Type::LARGE_LIST || id == arrow::Type::FIXED_SIZE_LIST;
}

bool CellIn(const Cell& cell, const ValueSet& set);

// Whether any element of the list in row `i` of `array` (nested lists flattened) is in `set`:
// np.in1d(value, values).any() on the array make_batch_reader delivers.
arrow::Result<bool> AnyListElementIn(const arrow::Array& array, int64_t i, ScalarType dtype,
                                     const ValueSet& set, const std::string& where) {
  int64_t begin = 0, length = 0;
  std::shared_ptr<arrow::Array> values;
  switch (array.type_id()) {
    case arrow::Type::LIST: {
      const auto& list = As<arrow::ListArray>(array);
      begin = list.value_offset(i), length = list.value_length(i), values = list.values();
      break;
    }
    case arrow::Type::LARGE_LIST: {
      const auto& list = As<arrow::LargeListArray>(array);
      begin = list.value_offset(i), length = list.value_length(i), values = list.values();
      break;
    }
    default: {
      const auto& list = As<arrow::FixedSizeListArray>(array);
      begin = list.value_offset(i), length = list.value_length(i), values = list.values();
      break;
    }
  }
  for (int64_t j = begin; j < begin + length; ++j) {
    if (IsListType(values->type_id())) {
      if (values->IsNull(j)) continue;
      ARROW_ASSIGN_OR_RAISE(bool found, AnyListElementIn(*values, j, dtype, set, where));
      if (found) return true;
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*values, j, dtype, where));
    if (CellIn(cell, set)) return true;
  }
  return false;
}

bool CellIn(const Cell& cell, const ValueSet& set) {
  struct Visitor {
    const ValueSet& set;
    bool operator()(std::monostate) const { return set.has_null(); }
    bool operator()(bool b) const { return set.ContainsInt(b ? 1 : 0); }
    bool operator()(int64_t v) const { return set.ContainsInt(v); }
    bool operator()(uint64_t v) const { return set.ContainsUInt(v); }
    bool operator()(const FloatCell& f) const { return set.ContainsDouble(f.value); }
    bool operator()(const StrCell& s) const { return set.ContainsString(s.text); }
    bool operator()(const BytesCell& b) const { return set.ContainsBytes(b.data); }
    bool operator()(const DecimalCell& d) const { return set.ContainsDecimal(d.text); }
    bool operator()(const DatetimeCell& d) const { return d.ns && set.ContainsDatetimeNs(*d.ns); }
  };
  return std::visit(Visitor{set}, cell);
}

// str(value) of the value the reader delivers for the cell.
arrow::Result<std::string> PythonStr(const Cell& cell, const std::string& where) {
  struct Visitor {
    const std::string& where;
    arrow::Result<std::string> operator()(std::monostate) const { return std::string("None"); }
    arrow::Result<std::string> operator()(bool b) const { return std::string(b ? "True" : "False"); }
    arrow::Result<std::string> operator()(int64_t v) const { return std::to_string(v); }
    arrow::Result<std::string> operator()(uint64_t v) const { return std::to_string(v); }
    arrow::Result<std::string> operator()(const FloatCell& f) const {
      return internal::NumpyFloatStr(f.value, f.bits);
    }
    arrow::Result<std::string> operator()(const StrCell& s) const { return std::string(s.text); }
    arrow::Result<std::string> operator()(const BytesCell& b) const {
      return internal::PythonBytesRepr(b.data);
    }
    arrow::Result<std::string> operator()(const DecimalCell& d) const { return d.text; }
    arrow::Result<std::string> operator()(const DatetimeCell&) const {
      return arrow::Status::NotImplemented(where, ": splitting on datetime64 values is not supported");
    }
  };
  return std::visit(Visitor{where}, cell);
}

// --- Tensor elements --------------------------------------------------------------------

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Nanoseconds per unit of a numpy datetime64 unit ("ns", "10ms", "D"); 0 when the unit has no
// fixed length (years, months) or is not known.
int64_t NsPerDatetimeUnit(std::string_view unit) {
  int64_t count = 1;
  size_t digits = 0;
  while (digits < unit.size() && unit[digits] >= '0' && unit[digits] <= '9') ++digits;
  if (digits > 0) std::from_chars(unit.data(), unit.data() + digits, count);
  unit.remove_prefix(digits);
  int64_t per = 0;
  if (unit == "ns") per = 1;
  else if (unit == "us") per = 1000;
  else if (unit == "ms") per = 1000000;
  else if (unit == "s") per = 1000000000;
  else if (unit == "m") per = 60LL * 1000000000;
  else if (unit == "h") per = 3600LL * 1000000000;
  else if (unit == "D") per = 86400LL * 1000000000;
  else if (unit == "W") per = 7 * 86400LL * 1000000000;
  int64_t out;
  if (per == 0 || __builtin_mul_overflow(count, per, &out)) return 0;
  return out;
}


// Whether any element of `tensor` equals a member of `set` (np.in1d(...).any()).
arrow::Result<bool> AnyElementIn(const Tensor& tensor, const ValueSet& set, const std::string& where) {
  const int64_t n = tensor.num_elements();
  const int64_t size = tensor.element.itemsize;
  const uint8_t* data = tensor.data ? tensor.data->data() : nullptr;
  if (n > 0 && (!data || tensor.data->size() < n * size)) {
    return arrow::Status::Invalid(where, ": a tensor holds fewer bytes than its shape needs");
  }
  auto any = [&](auto&& matches) {
    for (int64_t i = 0; i < n; ++i) {
      if (matches(data + i * size)) return true;
    }
    return false;
  };
  switch (tensor.element.type) {
    case ScalarType::kBool: return any([&](const uint8_t* p) { return set.ContainsInt(*p != 0); });
    case ScalarType::kInt8: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int8_t>(p)); });
    case ScalarType::kInt16: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int16_t>(p)); });
    case ScalarType::kInt32: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int32_t>(p)); });
    case ScalarType::kInt64: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int64_t>(p)); });
    case ScalarType::kUInt8: return any([&](const uint8_t* p) { return set.ContainsUInt(*p); });
    case ScalarType::kUInt16: return any([&](const uint8_t* p) { return set.ContainsUInt(Load<uint16_t>(p)); });
    case ScalarType::kUInt32: return any([&](const uint8_t* p) { return set.ContainsUInt(Load<uint32_t>(p)); });
    case ScalarType::kUInt64: return any([&](const uint8_t* p) { return set.ContainsUInt(Load<uint64_t>(p)); });
    case ScalarType::kFloat16:
      return any([&](const uint8_t* p) {
        return set.ContainsDouble(arrow::util::Float16::FromBits(Load<uint16_t>(p)).ToDouble());
      });
    case ScalarType::kFloat32: return any([&](const uint8_t* p) { return set.ContainsDouble(Load<float>(p)); });
    case ScalarType::kFloat64: return any([&](const uint8_t* p) { return set.ContainsDouble(Load<double>(p)); });
    case ScalarType::kComplex64:
      return any([&](const uint8_t* p) {
        return Load<float>(p + 4) == 0 && set.ContainsDouble(Load<float>(p));
      });
    case ScalarType::kComplex128:
      return any([&](const uint8_t* p) {
        return Load<double>(p + 8) == 0 && set.ContainsDouble(Load<double>(p));
      });
    case ScalarType::kBytes:
      return any([&](const uint8_t* p) {
        return set.ContainsBytes(
            StripTrailingNuls(std::string_view(reinterpret_cast<const char*>(p), size)));
      });
    case ScalarType::kString: {
      std::string text;
      return any([&](const uint8_t* p) {
        int64_t chars = size / 4;
        while (chars > 0 && Load<uint32_t>(p + 4 * (chars - 1)) == 0) --chars;
        text.clear();
        for (int64_t c = 0; c < chars; ++c) {
          if (!internal::AppendUtf8(Load<uint32_t>(p + 4 * c), &text)) return false;
        }
        return set.ContainsString(text);
      });
    }
    case ScalarType::kDatetime64: {
      const int64_t per = NsPerDatetimeUnit(tensor.element.datetime_unit);
      if (per == 0) {
        return arrow::Status::NotImplemented(where, ": cannot compare datetime64[",
                                             tensor.element.datetime_unit, "] values");
      }
      return any([&](const uint8_t* p) {
        const int64_t v = Load<int64_t>(p);
        if (v == std::numeric_limits<int64_t>::min()) return false;  // NaT
        auto ns = ScaleToNs(v, per);
        return ns && set.ContainsDatetimeNs(*ns);
      });
    }
    default:
      return arrow::Status::NotImplemented(where, ": cannot compare tensor elements of type ",
                                           ScalarTypeName(tensor.element.type));
  }
}

// --- Shared helpers ---------------------------------------------------------------------

bool IsTensorField(const Field& field) { return field.is_tensor(); }

// The column of `field`, checked against the batch's row count.
arrow::Result<const DecodedColumn*> FindColumn(const DecodedRowGroup& batch, const std::string& field,
                                               const std::string& where) {
  const DecodedColumn* column = batch.column(field);
  if (!column || !column->field) {
    return arrow::Status::KeyError(where, ": the batch has no field '", field, "'");
  }
  if (IsTensorField(*column->field)) {
    if (static_cast<int64_t>(column->tensors.size()) != batch.num_rows) {
      return arrow::Status::Invalid(where, ": the batch holds ", column->tensors.size(),
                                    " decoded values for ", batch.num_rows, " rows");
    }
  } else if (!column->values || column->values->length() != batch.num_rows) {
    return arrow::Status::Invalid(where, ": the batch's column does not hold ", batch.num_rows,
                                  " rows");
  }
  return column;
}

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

// --- The predicates ---------------------------------------------------------------------

class InSet final : public Predicate {
 public:
  InSet(ValueSet set, std::string field, std::string repr)
      : set_(std::move(set)), field_(std::move(field)), repr_(std::move(repr)) {}

  std::vector<std::string> fields() const override { return {field_}; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    const std::string where = "in_set on field '" + field_ + "'";
    ARROW_ASSIGN_OR_RAISE(const DecodedColumn* column, FindColumn(batch, field_, where));
    std::vector<bool> keep(batch.num_rows);
    if (IsTensorField(*column->field)) {
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        const auto& tensor = column->tensors[i];
        if (!tensor) {
          keep[i] = set_.has_null();
        } else if (!tensor->shape.empty()) {
          return arrow::Status::TypeError(
              where, ": row ", i, " holds an array of shape ", ShapeToString(tensor->shape),
              " (", column->field->codec->ToString(),
              "); in_set compares scalar values, use in_intersection for arrays");
        } else {
          ARROW_ASSIGN_OR_RAISE(bool found, AnyElementIn(*tensor, set_, where));
          keep[i] = found;
        }
      }
      return keep;
    }
    if (IsListType(column->values->type_id())) {
      return arrow::Status::TypeError(where, ": the column holds lists (", column->values->type()->ToString(),
                                      "); in_set compares scalar values, use in_intersection for arrays");
    }
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*column->values, i, column->field->dtype, where));
      keep[i] = CellIn(cell, set_);
    }
    return keep;
  }

 private:
  ValueSet set_;
  std::string field_;
  std::string repr_;
};

class InIntersection final : public Predicate {
 public:
  InIntersection(ValueSet set, std::string field, std::string repr)
      : set_(std::move(set)), field_(std::move(field)), repr_(std::move(repr)) {}

  std::vector<std::string> fields() const override { return {field_}; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    const std::string where = "in_intersection on field '" + field_ + "'";
    ARROW_ASSIGN_OR_RAISE(const DecodedColumn* column, FindColumn(batch, field_, where));
    std::vector<bool> keep(batch.num_rows);
    auto not_iterable = [&](int64_t row, const std::string& what) {
      return arrow::Status::Invalid(where, ": row ", row, " holds ", what,
                                    "; Predicate field should have iterable type");
    };
    if (IsTensorField(*column->field)) {
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        const auto& tensor = column->tensors[i];
        if (!tensor) return not_iterable(i, "None");
        ARROW_ASSIGN_OR_RAISE(bool found, AnyElementIn(*tensor, set_, where));
        keep[i] = found;
      }
      return keep;
    }
    if (IsListType(column->values->type_id())) {  // list columns of a plain Parquet store
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        if (column->values->IsNull(i)) return not_iterable(i, "None");
        ARROW_ASSIGN_OR_RAISE(keep[i], AnyListElementIn(*column->values, i, column->field->dtype, set_, where));
      }
      return keep;
    }
    // A scalar str or bytes is iterable in Python, and np.in1d compares it whole.
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*column->values, i, column->field->dtype, where));
      if (std::holds_alternative<StrCell>(cell) || std::holds_alternative<BytesCell>(cell)) {
        keep[i] = CellIn(cell, set_);
      } else if (std::holds_alternative<std::monostate>(cell)) {
        return not_iterable(i, "None");
      } else {
        return not_iterable(i, "a scalar of type " + std::string(ScalarTypeName(column->field->dtype)));
      }
    }
    return keep;
  }

 private:
  ValueSet set_;
  std::string field_;
  std::string repr_;
};

class InNegate final : public Predicate {
 public:
  explicit InNegate(std::shared_ptr<const Predicate> inner) : inner_(std::move(inner)) {}

  std::vector<std::string> fields() const override { return inner_->fields(); }
  std::string ToString() const override { return "in_negate(" + inner_->ToString() + ")"; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    ARROW_ASSIGN_OR_RAISE(std::vector<bool> keep, inner_->Evaluate(batch));
    if (static_cast<int64_t>(keep.size()) != batch.num_rows) {
      return arrow::Status::Invalid("in_negate: ", inner_->ToString(), " returned ", keep.size(),
                                    " flags for ", batch.num_rows, " rows");
    }
    keep.flip();
    return keep;
  }

 private:
  std::shared_ptr<const Predicate> inner_;
};

class InReduce final : public Predicate {
 public:
  InReduce(std::vector<std::shared_ptr<const Predicate>> predicates, ReduceOp op)
      : predicates_(std::move(predicates)), op_(op) {}

  std::vector<std::string> fields() const override {
    std::vector<std::string> out;
    for (const auto& p : predicates_) {
      for (auto& name : p->fields()) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
      }
    }
    return out;
  }

  std::string ToString() const override {
    std::string out = "in_reduce([";
    for (size_t i = 0; i < predicates_.size(); ++i) {
      if (i > 0) out += ", ";
      out += predicates_[i]->ToString();
    }
    return out + "], " + (op_ == ReduceOp::kAll ? "all" : "any") + ")";
  }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    // all([]) is True and any([]) is False, as in Python.
    std::vector<bool> keep(batch.num_rows, op_ == ReduceOp::kAll);
    for (const auto& p : predicates_) {
      ARROW_ASSIGN_OR_RAISE(std::vector<bool> flags, p->Evaluate(batch));
      if (static_cast<int64_t>(flags.size()) != batch.num_rows) {
        return arrow::Status::Invalid("in_reduce: ", p->ToString(), " returned ", flags.size(),
                                      " flags for ", batch.num_rows, " rows");
      }
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        keep[i] = op_ == ReduceOp::kAll ? keep[i] && flags[i] : keep[i] || flags[i];
      }
    }
    return keep;
  }

 private:
  std::vector<std::shared_ptr<const Predicate>> predicates_;
  ReduceOp op_;
};

// low <= bucket, exactly (Python compares int and float by value).
bool AtLeast(uint64_t bucket, double low) {
  if (std::isnan(low)) return false;
  if (low <= 0) return true;
  if (low >= kTwoTo64) return false;
  return bucket >= static_cast<uint64_t>(std::ceil(low));
}

// bucket < high, exactly.
bool Below(uint64_t bucket, double high) {
  if (std::isnan(high) || high <= 0) return false;
  if (high >= kTwoTo64) return true;
  return bucket < static_cast<uint64_t>(std::ceil(high));
}

class InPseudorandomSplit final : public Predicate {
 public:
  InPseudorandomSplit(double low, double high, std::string field, std::string repr)
      : low_(low), high_(high), field_(std::move(field)), repr_(std::move(repr)) {}

  std::vector<std::string> fields() const override { return {field_}; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    const std::string where = "in_pseudorandom_split on field '" + field_ + "'";
    ARROW_ASSIGN_OR_RAISE(const DecodedColumn* column, FindColumn(batch, field_, where));
    if (IsTensorField(*column->field)) {
      return arrow::Status::NotImplemented(where, ": splitting on array values (",
                                           column->field->codec->ToString(), ") is not supported");
    }
    std::vector<bool> keep(batch.num_rows);
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*column->values, i, column->field->dtype, where));
      ARROW_ASSIGN_OR_RAISE(std::string text, PythonStr(cell, where));
      const uint64_t bucket = internal::Md5ModMaxsize(text);
      keep[i] = AtLeast(bucket, low_) && Below(bucket, high_);
    }
    return keep;
  }

 private:
  double low_, high_;  // bucket bounds: [low, high)
  std::string field_;
  std::string repr_;
};

}  // namespace

arrow::Result<std::shared_ptr<const Predicate>> MakeInSet(std::vector<Value> values, std::string field) {
  const std::string repr = "in_set(" + ValuesRepr(values) + ", " + QuotePython(field) + ")";
  ARROW_ASSIGN_OR_RAISE(ValueSet set, ValueSet::Make(values, "in_set on field '" + field + "'"));
  return std::make_shared<InSet>(std::move(set), std::move(field), repr);
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInIntersection(std::vector<Value> values,
                                                                   std::string field) {
  const std::string repr = "in_intersection(" + ValuesRepr(values) + ", " + QuotePython(field) + ")";
  ARROW_ASSIGN_OR_RAISE(ValueSet set,
                        ValueSet::Make(values, "in_intersection on field '" + field + "'"));
  return std::make_shared<InIntersection>(std::move(set), std::move(field), repr);
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInNegate(std::shared_ptr<const Predicate> predicate) {
  if (!predicate) return arrow::Status::Invalid("in_negate: the predicate is null");
  return std::make_shared<InNegate>(std::move(predicate));
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInReduce(
    std::vector<std::shared_ptr<const Predicate>> predicates, ReduceOp op) {
  for (size_t i = 0; i < predicates.size(); ++i) {
    if (!predicates[i]) return arrow::Status::Invalid("in_reduce: predicate ", i, " is null");
  }
  return std::make_shared<InReduce>(std::move(predicates), op);
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInPseudorandomSplit(std::vector<double> fractions,
                                                                        int subset_index,
                                                                        std::string field) {
  if (subset_index < 0 || static_cast<size_t>(subset_index) >= fractions.size()) {
    return arrow::Status::Invalid("in_pseudorandom_split on field '", field, "': subset_index ",
                                  subset_index, " is out of range for ", fractions.size(),
                                  " fractions");
  }
  // Petastorm: the high border of subset k is sum(fractions[:k + 1]) (summed left to right),
  // and a bound is border * (sys.maxsize - 1), a float: (2**63 - 2) rounds to 2**63.
  auto border = [&](int k) {
    double sum = 0;
    for (int i = 0; i <= k; ++i) sum += fractions[i];
    return std::ldexp(sum, 63);
  };
  const double low = subset_index == 0 ? 0.0 : border(subset_index - 1);
  const double high = border(subset_index);
  std::string repr = "in_pseudorandom_split([";
  for (size_t i = 0; i < fractions.size(); ++i) {
    if (i > 0) repr += ", ";
    repr += internal::NumpyFloatStr(fractions[i], 64);
  }
  repr += "], " + std::to_string(subset_index) + ", " + QuotePython(field) + ")";
  return std::make_shared<InPseudorandomSplit>(low, high, std::move(field), std::move(repr));
}

}  // namespace petastorm
