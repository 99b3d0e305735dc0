#include "schema/arrow_type_json_internal.h"

#include <arrow/type.h>

namespace petastorm::internal {
namespace {

struct Simple {
  const char* id;
  const std::shared_ptr<arrow::DataType>& (*make)();
};

const Simple kSimple[] = {
    {"bool", arrow::boolean},       {"int8", arrow::int8},
    {"int16", arrow::int16},        {"int32", arrow::int32},
    {"int64", arrow::int64},        {"uint8", arrow::uint8},
    {"uint16", arrow::uint16},      {"uint32", arrow::uint32},
    {"uint64", arrow::uint64},      {"float16", arrow::float16},
    {"float32", arrow::float32},    {"float64", arrow::float64},
    {"string", arrow::utf8},        {"large_string", arrow::large_utf8},
    {"binary", arrow::binary},      {"large_binary", arrow::large_binary},
    {"date32", arrow::date32},      {"date64", arrow::date64},
};

arrow::Result<arrow::TimeUnit::type> UnitFromName(const std::string& name) {
  if (name == "s") return arrow::TimeUnit::SECOND;
  if (name == "ms") return arrow::TimeUnit::MILLI;
  if (name == "us") return arrow::TimeUnit::MICRO;
  if (name == "ns") return arrow::TimeUnit::NANO;
  return arrow::Status::Invalid("Unknown time unit '", name, "'");
}

}  // namespace

arrow::Result<Json> ArrowTypeToJson(const arrow::DataType& type) {
  for (const auto& s : kSimple) {
    if (s.make()->Equals(type)) return Json(Json::Object{{"id", s.id}});
  }
  switch (type.id()) {
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      const auto& dec = static_cast<const arrow::DecimalType&>(type);
      return Json(Json::Object{
          {"id", type.id() == arrow::Type::DECIMAL128 ? "decimal128" : "decimal256"},
          {"precision", dec.precision()},
          {"scale", dec.scale()}});
    }
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(type);
      Json::Object obj{{"id", "timestamp"}, {"unit", TimeUnitName(ts.unit())}};
      if (!ts.timezone().empty()) obj.emplace_back("tz", ts.timezone());
      return Json(std::move(obj));
    }
    case arrow::Type::FIXED_SIZE_BINARY:
      return Json(Json::Object{
          {"id", "fixed_size_binary"},
          {"byte_width", static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width()}});
    default:
      return arrow::Status::NotImplemented("A ScalarCodec cannot store Arrow type ", type.ToString());
  }
}

arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFromJson(const Json& json) {
  ARROW_ASSIGN_OR_RAISE(const Json* id_json, json.Member("id"));
  ARROW_ASSIGN_OR_RAISE(std::string id, id_json->GetString("id"));
  for (const auto& s : kSimple) {
    if (id == s.id) return s.make();
  }
  if (id == "decimal128" || id == "decimal256") {
    ARROW_ASSIGN_OR_RAISE(const Json* p, json.Member("precision"));
    ARROW_ASSIGN_OR_RAISE(const Json* s, json.Member("scale"));
    ARROW_ASSIGN_OR_RAISE(int64_t precision, p->GetInt("precision"));
    ARROW_ASSIGN_OR_RAISE(int64_t scale, s->GetInt("scale"));
    if (id == "decimal128") {
      return arrow::Decimal128Type::Make(static_cast<int32_t>(precision),
                                         static_cast<int32_t>(scale));
    }
    return arrow::Decimal256Type::Make(static_cast<int32_t>(precision), static_cast<int32_t>(scale));
  }
  if (id == "timestamp") {
    ARROW_ASSIGN_OR_RAISE(const Json* u, json.Member("unit"));
    ARROW_ASSIGN_OR_RAISE(std::string unit_name, u->GetString("unit"));
    ARROW_ASSIGN_OR_RAISE(auto unit, UnitFromName(unit_name));
    std::string tz;
    if (const Json* t = json.Find("tz")) {
      ARROW_ASSIGN_OR_RAISE(tz, t->GetString("tz"));
    }
    return arrow::timestamp(unit, tz);
  }
  if (id == "fixed_size_binary") {
    ARROW_ASSIGN_OR_RAISE(const Json* w, json.Member("byte_width"));
    ARROW_ASSIGN_OR_RAISE(int64_t width, w->GetInt("byte_width"));
    return arrow::fixed_size_binary(static_cast<int32_t>(width));
  }
  return arrow::Status::Invalid("Unknown Arrow type id '", id, "' in schema JSON");
}

const char* TimeUnitName(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND: return "s";
    case arrow::TimeUnit::MILLI: return "ms";
    case arrow::TimeUnit::MICRO: return "us";
    case arrow::TimeUnit::NANO: return "ns";
  }
  return "ns";
}

}  // namespace petastorm::internal
