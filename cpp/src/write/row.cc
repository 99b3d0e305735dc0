#include <cmath>
#include <limits>

#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_decimal.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>
#include <arrow/util/float16.h>

#include "petastorm/codec.h"
#include "petastorm/row.h"
#include "write/column_append_internal.h"

namespace petastorm {

std::string DescribeValue(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "None"; }
    std::string operator()(bool) const { return "bool"; }
    std::string operator()(int64_t) const { return "int"; }
    std::string operator()(uint64_t) const { return "int"; }
    std::string operator()(double) const { return "float"; }
    std::string operator()(const std::string&) const { return "str"; }
    std::string operator()(const Bytes&) const { return "bytes"; }
    std::string operator()(const DecimalText&) const { return "Decimal"; }
    std::string operator()(const DatetimeNs&) const { return "datetime64"; }
    std::string operator()(const Tensor& t) const {
      return "ndarray of dtype " + std::string(ScalarTypeName(t.element.type)) + " and shape " +
             ShapeToString(t.shape);
    }
  };
  return std::visit(Visitor{}, value);
}

namespace internal {
namespace {

bool IsNumber(const Value& v) {
  return std::holds_alternative<bool>(v) || std::holds_alternative<int64_t>(v) ||
         std::holds_alternative<uint64_t>(v) || std::holds_alternative<double>(v);
}

arrow::Status Mismatch(const Field& field, const arrow::DataType& type, const Value& value) {
  return arrow::Status::TypeError("Field '", field.name, "': cannot store a ",
                                  DescribeValue(value), " in a column of type ", type.ToString(),
                                  " (field dtype ", ScalarTypeName(field.dtype), ")");
}

template <typename Int>
arrow::Status CheckIntRange(const Field& field, const Value& value) {
  constexpr auto lo = std::numeric_limits<Int>::min();
  constexpr auto hi = std::numeric_limits<Int>::max();
  if (auto* i = std::get_if<int64_t>(&value)) {
    if constexpr (std::is_signed_v<Int>) {
      if (*i < static_cast<int64_t>(lo) || *i > static_cast<int64_t>(hi)) {
        return arrow::Status::Invalid("Field '", field.name, "': value ", *i,
                                      " is out of range for ", ScalarTypeName(field.dtype));
      }
    } else {
      if (*i < 0 || static_cast<uint64_t>(*i) > static_cast<uint64_t>(hi)) {
        return arrow::Status::Invalid("Field '", field.name, "': value ", *i,
                                      " is out of range for ", ScalarTypeName(field.dtype));
      }
    }
  } else if (auto* u = std::get_if<uint64_t>(&value)) {
    if (*u > static_cast<uint64_t>(hi)) {
      return arrow::Status::Invalid("Field '", field.name, "': value ", *u,
                                    " is out of range for ", ScalarTypeName(field.dtype));
    }
  } else if (auto* d = std::get_if<double>(&value)) {
    if (*d != std::floor(*d) || !std::isfinite(*d)) {
      return arrow::Status::TypeError("Field '", field.name, "': float value ", *d,
                                      " cannot be stored in an integer column");
    }
  }
  return arrow::Status::OK();
}

int64_t AsInt64(const Value& v) {
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<int64_t>(*u);
  return static_cast<int64_t>(std::get<double>(v));
}

uint64_t AsUInt64(const Value& v) {
  if (auto* u = std::get_if<uint64_t>(&v)) return *u;
  return static_cast<uint64_t>(AsInt64(v));
}

double AsDouble(const Value& v) {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  return static_cast<double>(AsInt64(v));
}

int64_t NsPerUnit(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND: return 1000000000LL;
    case arrow::TimeUnit::MILLI: return 1000000LL;
    case arrow::TimeUnit::MICRO: return 1000LL;
    case arrow::TimeUnit::NANO: return 1LL;
  }
  return 1;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

arrow::Status CheckValue(const Field& field, const arrow::DataType& type, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) {
    if (!field.nullable) {
      return arrow::Status::Invalid("Field '", field.name,
                                    "' is not nullable, but got a None value");
    }
    return arrow::Status::OK();
  }
  if (field.is_tensor()) {
    const Tensor* tensor = std::get_if<Tensor>(&value);
    if (!tensor) {
      return arrow::Status::Invalid("Field '", field.name, "' (", field.codec->ToString(),
                                    ") expects a numpy array, got a ", DescribeValue(value));
    }
    return CheckTensorForField(field, *tensor);
  }
  switch (type.id()) {
    case arrow::Type::BOOL:
      if (!IsNumber(value)) return Mismatch(field, type, value);
      return arrow::Status::OK();
    case arrow::Type::INT8: if (!IsNumber(value)) break; return CheckIntRange<int8_t>(field, value);
    case arrow::Type::INT16: if (!IsNumber(value)) break; return CheckIntRange<int16_t>(field, value);
    case arrow::Type::INT32: if (!IsNumber(value)) break; return CheckIntRange<int32_t>(field, value);
    case arrow::Type::INT64: if (!IsNumber(value)) break; return CheckIntRange<int64_t>(field, value);
    case arrow::Type::UINT8: if (!IsNumber(value)) break; return CheckIntRange<uint8_t>(field, value);
    case arrow::Type::UINT16: if (!IsNumber(value)) break; return CheckIntRange<uint16_t>(field, value);
    case arrow::Type::UINT32: if (!IsNumber(value)) break; return CheckIntRange<uint32_t>(field, value);
    case arrow::Type::UINT64: if (!IsNumber(value)) break; return CheckIntRange<uint64_t>(field, value);
    case arrow::Type::HALF_FLOAT:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      if (!IsNumber(value)) break;
      return arrow::Status::OK();
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      if (!std::holds_alternative<std::string>(value)) break;
      return arrow::Status::OK();
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
      if (!std::holds_alternative<Bytes>(value) && !std::holds_alternative<std::string>(value)) break;
      return arrow::Status::OK();
    case arrow::Type::FIXED_SIZE_BINARY: {
      const auto* b = std::get_if<Bytes>(&value);
      if (!b) break;
      const int width = static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width();
      if (static_cast<int>(b->data.size()) != width) {
        return arrow::Status::Invalid("Field '", field.name, "': expected ", width,
                                      " bytes, got ", b->data.size());
      }
      return arrow::Status::OK();
    }
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      if (!std::holds_alternative<DecimalText>(value) && !IsNumber(value)) break;
      if (auto* d = std::get_if<DecimalText>(&value)) {
        arrow::Decimal128 parsed;
        int32_t precision = 0, scale = 0;
        if (!arrow::Decimal128::FromString(d->text, &parsed, &precision, &scale).ok()) {
          return arrow::Status::Invalid("Field '", field.name, "': '", d->text,
                                        "' is not a finite decimal number");
        }
      }
      return arrow::Status::OK();
    }
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP:
      if (!std::holds_alternative<DatetimeNs>(value) && !std::holds_alternative<int64_t>(value)) break;
      return arrow::Status::OK();
    default:
      return arrow::Status::NotImplemented("Field '", field.name, "': writing columns of type ",
                                           type.ToString(), " is not supported");
  }
  return Mismatch(field, type, value);
}

arrow::Status AppendScalar(const Field& field, const Value& value, arrow::ArrayBuilder* builder) {
  if (std::holds_alternative<std::monostate>(value)) return builder->AppendNull();
  const auto& type = *builder->type();
  switch (type.id()) {
    case arrow::Type::BOOL:
      return static_cast<arrow::BooleanBuilder*>(builder)->Append(AsInt64(value) != 0);
    case arrow::Type::INT8:
      return static_cast<arrow::Int8Builder*>(builder)->Append(static_cast<int8_t>(AsInt64(value)));
    case arrow::Type::INT16:
      return static_cast<arrow::Int16Builder*>(builder)->Append(static_cast<int16_t>(AsInt64(value)));
    case arrow::Type::INT32:
      return static_cast<arrow::Int32Builder*>(builder)->Append(static_cast<int32_t>(AsInt64(value)));
    case arrow::Type::INT64:
      return static_cast<arrow::Int64Builder*>(builder)->Append(AsInt64(value));
    case arrow::Type::UINT8:
      return static_cast<arrow::UInt8Builder*>(builder)->Append(static_cast<uint8_t>(AsUInt64(value)));
    case arrow::Type::UINT16:
      return static_cast<arrow::UInt16Builder*>(builder)->Append(static_cast<uint16_t>(AsUInt64(value)));
    case arrow::Type::UINT32:
      return static_cast<arrow::UInt32Builder*>(builder)->Append(static_cast<uint32_t>(AsUInt64(value)));
    case arrow::Type::UINT64:
      return static_cast<arrow::UInt64Builder*>(builder)->Append(AsUInt64(value));
    case arrow::Type::HALF_FLOAT:
      return static_cast<arrow::HalfFloatBuilder*>(builder)->Append(
          arrow::util::Float16(static_cast<float>(AsDouble(value))).bits());
    case arrow::Type::FLOAT:
      return static_cast<arrow::FloatBuilder*>(builder)->Append(static_cast<float>(AsDouble(value)));
    case arrow::Type::DOUBLE:
      return static_cast<arrow::DoubleBuilder*>(builder)->Append(AsDouble(value));
    case arrow::Type::STRING:
      return static_cast<arrow::StringBuilder*>(builder)->Append(std::get<std::string>(value));
    case arrow::Type::LARGE_STRING:
      return static_cast<arrow::LargeStringBuilder*>(builder)->Append(std::get<std::string>(value));
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY: {
      const std::string& data = std::holds_alternative<Bytes>(value) ? std::get<Bytes>(value).data
                                                                    : std::get<std::string>(value);
      if (type.id() == arrow::Type::BINARY) {
        return static_cast<arrow::BinaryBuilder*>(builder)->Append(data);
      }
      return static_cast<arrow::LargeBinaryBuilder*>(builder)->Append(data);
    }
    case arrow::Type::FIXED_SIZE_BINARY:
      return static_cast<arrow::FixedSizeBinaryBuilder*>(builder)->Append(std::get<Bytes>(value).data);
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      const auto& dec_type = static_cast<const arrow::DecimalType&>(type);
      std::string text = std::holds_alternative<DecimalText>(value)
                             ? std::get<DecimalText>(value).text
                             : std::to_string(AsDouble(value));
      if (std::holds_alternative<int64_t>(value)) text = std::to_string(AsInt64(value));
      if (type.id() == arrow::Type::DECIMAL128) {
        arrow::Decimal128 parsed;
        int32_t precision = 0, scale = 0;
        ARROW_RETURN_NOT_OK(arrow::Decimal128::FromString(text, &parsed, &precision, &scale));
        auto rescaled = parsed.Rescale(scale, dec_type.scale());
        if (!rescaled.ok() || !rescaled->FitsInPrecision(dec_type.precision())) {
          return arrow::Status::Invalid("Field '", field.name, "': ", text, " does not fit ",
                                        type.ToString());
        }
        return static_cast<arrow::Decimal128Builder*>(builder)->Append(*rescaled);
      }
      arrow::Decimal256 parsed;
      int32_t precision = 0, scale = 0;
      ARROW_RETURN_NOT_OK(arrow::Decimal256::FromString(text, &parsed, &precision, &scale));
      auto rescaled = parsed.Rescale(scale, dec_type.scale());
      if (!rescaled.ok() || !rescaled->FitsInPrecision(dec_type.precision())) {
        return arrow::Status::Invalid("Field '", field.name, "': ", text, " does not fit ",
                                      type.ToString());
      }
      return static_cast<arrow::Decimal256Builder*>(builder)->Append(*rescaled);
    }
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP: {
      const int64_t ns = std::holds_alternative<DatetimeNs>(value) ? std::get<DatetimeNs>(value).ns
                                                                  : std::get<int64_t>(value);
      if (type.id() == arrow::Type::DATE32) {
        return static_cast<arrow::Date32Builder*>(builder)->Append(
            static_cast<int32_t>(FloorDiv(ns, 86400LL * 1000000000LL)));
      }
      if (type.id() == arrow::Type::DATE64) {
        return static_cast<arrow::Date64Builder*>(builder)->Append(
            FloorDiv(ns, 86400LL * 1000000000LL) * 86400000LL);
      }
      const auto unit = static_cast<const arrow::TimestampType&>(type).unit();
      return static_cast<arrow::TimestampBuilder*>(builder)->Append(FloorDiv(ns, NsPerUnit(unit)));
    }
    default:
      return arrow::Status::NotImplemented("Field '", field.name, "': writing columns of type ",
                                           type.ToString(), " is not supported");
  }
}

}  // namespace internal
}  // namespace petastorm
