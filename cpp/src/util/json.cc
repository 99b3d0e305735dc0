#include "util/json_internal.h"
#include "util/utf8_internal.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace petastorm::internal {
namespace {

void DumpString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  arrow::Result<Json> ParseDocument() {
    ARROW_ASSIGN_OR_RAISE(Json value, ParseValue(0));
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters");
    return value;
  }

 private:
  arrow::Status Error(std::string_view what) const {
    return arrow::Status::Invalid("Malformed JSON at offset ", pos_, ": ", what);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool Consume(std::string_view token) {
    if (text_.substr(pos_, token.size()) == token) {
      pos_ += token.size();
      return true;
    }
    return false;
  }

  arrow::Result<Json> ParseValue(int depth) {
    if (depth > 64) return Error("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') {
      ARROW_ASSIGN_OR_RAISE(std::string s, ParseString());
      return Json(std::move(s));
    }
    if (Consume("null")) return Json(nullptr);
    if (Consume("true")) return Json(true);
    if (Consume("false")) return Json(false);
    return ParseNumber();
  }

  arrow::Result<Json> ParseNumber() {
    const size_t start = pos_;
    bool is_float = false;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        is_float = true;
        ++pos_;
      } else {
        break;
      }
    }
    std::string_view num = text_.substr(start, pos_ - start);
    if (num.empty() || num == "-") return Error("expected a value");
    if (!is_float) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (ec == std::errc() && ptr == num.data() + num.size()) return Json(v);
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
    if (ec != std::errc() || ptr != num.data() + num.size()) return Error("bad number");
    return Json(d);
  }

  arrow::Result<std::string> ParseString() {
    ++pos_;  // opening quote
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          ARROW_ASSIGN_OR_RAISE(uint32_t cp, ParseHex4());
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!Consume("\\u")) return Error("lone surrogate");
            ARROW_ASSIGN_OR_RAISE(uint32_t low, ParseHex4());
            if (low < 0xDC00 || low > 0xDFFF) return Error("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (!AppendUtf8(cp, &out)) return Error("bad code point");
          break;
        }
        default:
          return Error("bad escape");
      }
    }
    return Error("unterminated string");
  }

  arrow::Result<uint32_t> ParseHex4() {
    if (pos_ + 4 > text_.size()) return Error("short \\u escape");
    uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, v, 16);
    if (ec != std::errc() || ptr != text_.data() + pos_ + 4) return Error("bad \\u escape");
    pos_ += 4;
    return v;
  }



  arrow::Result<Json> ParseArray(int depth) {
    ++pos_;
    Json::Array items;
    SkipSpace();
    if (Consume("]")) return Json(std::move(items));
    while (true) {
      ARROW_ASSIGN_OR_RAISE(Json item, ParseValue(depth + 1));
      items.push_back(std::move(item));
      SkipSpace();
      if (Consume("]")) return Json(std::move(items));
      if (!Consume(",")) return Error("expected ',' or ']'");
    }
  }

  arrow::Result<Json> ParseObject(int depth) {
    ++pos_;
    Json::Object members;
    SkipSpace();
    if (Consume("}")) return Json(std::move(members));
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a key");
      ARROW_ASSIGN_OR_RAISE(std::string key, ParseString());
      SkipSpace();
      if (!Consume(":")) return Error("expected ':'");
      ARROW_ASSIGN_OR_RAISE(Json value, ParseValue(depth + 1));
      members.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (Consume("}")) return Json(std::move(members));
      if (!Consume(",")) return Error("expected ',' or '}'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

void DumpTo(const Json& json, std::string* out);

}  // namespace

arrow::Result<bool> Json::GetBool(std::string_view what) const {
  if (auto* v = std::get_if<bool>(&value_)) return *v;
  return arrow::Status::Invalid("Expected a boolean for '", what, "'");
}

arrow::Result<int64_t> Json::GetInt(std::string_view what) const {
  if (auto* v = std::get_if<int64_t>(&value_)) return *v;
  return arrow::Status::Invalid("Expected an integer for '", what, "'");
}

arrow::Result<double> Json::GetDouble(std::string_view what) const {
  if (auto* v = std::get_if<double>(&value_)) return *v;
  if (auto* v = std::get_if<int64_t>(&value_)) return static_cast<double>(*v);
  return arrow::Status::Invalid("Expected a number for '", what, "'");
}

arrow::Result<std::string> Json::GetString(std::string_view what) const {
  if (auto* v = std::get_if<std::string>(&value_)) return *v;
  return arrow::Status::Invalid("Expected a string for '", what, "'");
}

arrow::Result<const Json::Array*> Json::GetArray(std::string_view what) const {
  if (auto* v = std::get_if<Array>(&value_)) return v;
  return arrow::Status::Invalid("Expected an array for '", what, "'");
}

arrow::Result<const Json::Object*> Json::GetObject(std::string_view what) const {
  if (auto* v = std::get_if<Object>(&value_)) return v;
  return arrow::Status::Invalid("Expected an object for '", what, "'");
}

const Json* Json::Find(std::string_view key) const {
  auto* obj = std::get_if<Object>(&value_);
  if (!obj) return nullptr;
  for (const auto& [k, v] : *obj) {
    if (k == key) return &v;
  }
  return nullptr;
}

arrow::Result<const Json*> Json::Member(std::string_view key) const {
  const Json* found = Find(key);
  if (!found) return arrow::Status::Invalid("Missing key '", key, "' in JSON object");
  return found;
}

std::string Json::Dump() const {
  std::string out;
  DumpTo(*this, &out);
  return out;
}

arrow::Result<Json> Json::Parse(std::string_view text) { return Parser(text).ParseDocument(); }

namespace {

void DumpTo(const Json& json, std::string* out) {
  if (json.is_null()) {
    *out += "null";
  } else if (json.is_bool()) {
    *out += *json.GetBool("") ? "true" : "false";
  } else if (json.is_int()) {
    *out += std::to_string(*json.GetInt(""));
  } else if (json.is_number()) {
    const double d = *json.GetDouble("");
    if (!std::isfinite(d)) {
      *out += "null";
    } else {
      char buf[32];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), d);
      out->append(buf, ptr);
    }
  } else if (json.is_string()) {
    DumpString(*json.GetString(""), out);
  } else if (json.is_array()) {
    out->push_back('[');
    bool first = true;
    for (const auto& item : **json.GetArray("")) {
      if (!first) *out += ", ";
      first = false;
      DumpTo(item, out);
    }
    out->push_back(']');
  } else {
    out->push_back('{');
    bool first = true;
    for (const auto& [key, value] : **json.GetObject("")) {
      if (!first) *out += ", ";
      first = false;
      DumpString(key, out);
      *out += ": ";
      DumpTo(value, out);
    }
    out->push_back('}');
  }
}

}  // namespace
}  // namespace petastorm::internal
