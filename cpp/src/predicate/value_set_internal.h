// The inclusion values of in_set / in_intersection, arranged for exact lookups with Python's
// equality: numbers by exact value across bool/int/float/Decimal (5 == 5.0 == True*5 ==
// Decimal('5')), str with str, bytes with bytes, datetimes by instant.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <variant>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <arrow/result.h>

#include "petastorm/row.h"
#include "predicate/python_text_internal.h"

namespace petastorm::internal {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

inline bool IsIntegral(double d) { return std::isfinite(d) && std::trunc(d) == d; }

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
      decimals_.insert(ExactDecimal(v));
    } else {
      doubles_.insert(v);
      if (std::isfinite(v)) decimals_.insert(ExactDecimal(v));
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
    if (std::isfinite(d) && ExactDecimal(d) == *canonical) AddDouble(d);
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

}  // namespace petastorm::internal
