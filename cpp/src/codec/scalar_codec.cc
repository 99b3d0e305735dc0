#include <arrow/type.h>

#include "codec/builtin_codecs_internal.h"
#include "petastorm/codec.h"
#include "schema/arrow_type_json_internal.h"
#include "util/json_internal.h"

namespace petastorm {
namespace {

using internal::Json;

// Petastorm prints ScalarCodec with the Spark type name; keep that for familiar output.
std::string SparkTypeName(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL: return "BooleanType()";
    case arrow::Type::INT8: return "ByteType()";
    case arrow::Type::INT16: return "ShortType()";
    case arrow::Type::INT32: return "IntegerType()";
    case arrow::Type::INT64: return "LongType()";
    case arrow::Type::FLOAT: return "FloatType()";
    case arrow::Type::DOUBLE: return "DoubleType()";
    case arrow::Type::STRING: case arrow::Type::LARGE_STRING: return "StringType()";
    case arrow::Type::BINARY: case arrow::Type::LARGE_BINARY: return "BinaryType()";
    case arrow::Type::DATE32: case arrow::Type::DATE64: return "DateType()";
    case arrow::Type::TIMESTAMP: return "TimestampType()";
    case arrow::Type::DECIMAL128: case arrow::Type::DECIMAL256: {
      const auto& dec = static_cast<const arrow::DecimalType&>(type);
      return "DecimalType(" + std::to_string(dec.precision()) + "," +
             std::to_string(dec.scale()) + ")";
    }
    default: return type.ToString();
  }
}

class ScalarCodec final : public Codec {
 public:
  explicit ScalarCodec(std::shared_ptr<arrow::DataType> type) : type_(std::move(type)) {}

  std::string name() const override { return "scalar"; }
  std::string params_json() const override {
    auto type_json = internal::ArrowTypeToJson(*type_);
    return Json(Json::Object{{"type", type_json.ok() ? *type_json : Json()}}).Dump();
  }
  std::string ToString() const override { return "ScalarCodec(" + SparkTypeName(*type_) + ")"; }
  std::shared_ptr<arrow::DataType> storage_type() const override { return type_; }
  bool is_scalar() const override { return true; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const Field& field, const Tensor&,
                                                       arrow::MemoryPool*) const override {
    return arrow::Status::Invalid("Field '", field.name,
                                  "': ScalarCodec stores values natively, not as bytes");
  }
  arrow::Result<Tensor> Decode(const Field& field, const uint8_t*, int64_t,
                               arrow::MemoryPool*) const override {
    return arrow::Status::Invalid("Field '", field.name,
                                  "': ScalarCodec stores values natively, not as bytes");
  }

  const std::shared_ptr<arrow::DataType>& type() const { return type_; }

 private:
  std::shared_ptr<arrow::DataType> type_;
};

}  // namespace

std::shared_ptr<const Codec> MakeScalarCodec(std::shared_ptr<arrow::DataType> type) {
  return std::make_shared<ScalarCodec>(std::move(type));
}

std::shared_ptr<arrow::DataType> ScalarCodecType(const Codec& codec) {
  if (auto* scalar = dynamic_cast<const ScalarCodec*>(&codec)) return scalar->type();
  return nullptr;
}

namespace internal {

arrow::Result<std::shared_ptr<const Codec>> MakeScalarCodecFromParams(std::string_view params) {
  ARROW_ASSIGN_OR_RAISE(Json json, Json::Parse(params));
  ARROW_ASSIGN_OR_RAISE(const Json* type_json, json.Member("type"));
  ARROW_ASSIGN_OR_RAISE(auto type, ArrowTypeFromJson(*type_json));
  return MakeScalarCodec(std::move(type));
}

void RegisterBuiltinCodecs(CodecRegistry* registry) {
  registry->Register("scalar", MakeScalarCodecFromParams);
  registry->Register("ndarray", [](std::string_view) { return arrow::Result(MakeNdarrayCodec()); });
  registry->Register("compressed_ndarray",
                     [](std::string_view) { return arrow::Result(MakeCompressedNdarrayCodec()); });
  registry->Register("compressed_image", MakeImageCodecFromParams);
}

}  // namespace internal
}  // namespace petastorm
