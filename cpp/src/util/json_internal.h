// A small JSON value, parser and writer for the metadata this library stores (schemas,
// codec parameters, row-group counts). Not a general-purpose JSON library: numbers are
// int64 or double, objects keep their key order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <arrow/result.h>

namespace petastorm::internal {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : value_(nullptr) {}
  Json(std::nullptr_t) : value_(nullptr) {}
  Json(bool b) : value_(b) {}
  Json(int v) : value_(static_cast<int64_t>(v)) {}
  Json(int64_t v) : value_(v) {}
  Json(double v) : value_(v) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(std::string_view s) : value_(std::string(s)) {}
  Json(Array a) : value_(std::move(a)) {}
  Json(Object o) : value_(std::move(o)) {}

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_int() const { return std::holds_alternative<int64_t>(value_); }
  bool is_number() const { return is_int() || std::holds_alternative<double>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_object() const { return std::holds_alternative<Object>(value_); }

  // Typed access; Invalid naming `what` when the value has another type.
  arrow::Result<bool> GetBool(std::string_view what) const;
  arrow::Result<int64_t> GetInt(std::string_view what) const;
  arrow::Result<double> GetDouble(std::string_view what) const;
  arrow::Result<std::string> GetString(std::string_view what) const;
  arrow::Result<const Array*> GetArray(std::string_view what) const;
  arrow::Result<const Object*> GetObject(std::string_view what) const;

  // Object member lookup: nullptr when absent or when this is not an object.
  const Json* Find(std::string_view key) const;
  // Object member that must exist; Invalid naming the key otherwise.
  arrow::Result<const Json*> Member(std::string_view key) const;

  std::string Dump() const;
  static arrow::Result<Json> Parse(std::string_view text);

 private:
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> value_;
};

}  // namespace petastorm::internal
