#include "petastorm/codec.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>
#include <mutex>

#include <arrow/type.h>

#include "codec/builtin_codecs_internal.h"
#include "util/mutex_internal.h"

namespace petastorm {

std::shared_ptr<arrow::DataType> Codec::storage_type() const { return arrow::binary(); }

arrow::Status CheckTensorForField(const Field& field, const Tensor& value) {
  if (value.element.type != field.dtype) {
    // Petastorm's words and exception type (ValueError), naming the field.
    return arrow::Status::Invalid("Unexpected type of '", field.name, "' feature, expected dtype ",
                                    ScalarTypeName(field.dtype), ", got ",
                                    ScalarTypeName(value.element.type), " (",
                                    value.element.TypeString(), ")");
  }
  if (!field.MatchesShape(value.shape)) {
    return arrow::Status::Invalid("Unexpected dimensions of '", field.name, "' feature, expected shape ",
                                  field.ShapeString(),
                                  ", got ", ShapeToString(value.shape));
  }
  return value.Validate();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> EncodeField(const Field& field, const Tensor& value,
                                                          arrow::MemoryPool* pool) {
  if (!field.codec) {
    return arrow::Status::Invalid("Field '", field.name, "' has no tensor codec to encode with");
  }
  ARROW_RETURN_NOT_OK(CheckTensorForField(field, value));
  auto encoded = field.codec->Encode(field, value, pool);
  if (!encoded.ok()) {
    return encoded.status().WithMessage("Field '", field.name, "' (", field.codec->ToString(),
                                        "): ", encoded.status().message());
  }
  return encoded;
}

int64_t MaxDecodedCellBytes() {
  const char* env = std::getenv("PETASTORM_MAX_CELL_BYTES");
  if (env == nullptr || *env == '\0') return kDefaultMaxDecodedCellBytes;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(env, &end, 10);
  if (errno != 0 || *end != '\0' || value <= 0) return kDefaultMaxDecodedCellBytes;
  return static_cast<int64_t>(value);
}

namespace {

// The bytes of one cell when the field's shape and item size fix it.
std::optional<int64_t> FixedCellBytes(const Field& field) {
  int64_t bytes = FixedItemSize(field.dtype);
  if (bytes <= 0) return std::nullopt;
  for (const Dim& dim : field.shape) {
    if (!dim.has_value() || *dim < 0 || __builtin_mul_overflow(bytes, *dim, &bytes)) {
      return std::nullopt;
    }
  }
  return bytes;
}

}  // namespace

int64_t DecodedCellLimit(const Field& field) {
  return FixedCellBytes(field).value_or(MaxDecodedCellBytes());
}

arrow::Status CheckDecodedCellSize(const Field& field, int64_t bytes, std::string_view what) {
  if (const std::optional<int64_t> fixed = FixedCellBytes(field)) {
    if (bytes <= *fixed) return arrow::Status::OK();
    return arrow::Status::Invalid(what, " would decode to ", bytes, " bytes, more than the ",
                                  *fixed, " bytes of field '", field.name, "' (shape ",
                                  field.ShapeString(), ", dtype ", ScalarTypeName(field.dtype),
                                  ")");
  }
  const int64_t limit = MaxDecodedCellBytes();
  if (bytes <= limit) return arrow::Status::OK();
  return arrow::Status::Invalid(what, " would decode to ", bytes, " bytes, more than the ", limit,
                                "-byte limit on one cell of field '", field.name, "' (shape ",
                                field.ShapeString(),
                                "); set PETASTORM_MAX_CELL_BYTES to raise it");
}

namespace {

// Runs `decode` with the field's codec, then checks the result against the field.
template <typename DecodeFn>
arrow::Result<Tensor> DecodeAndCheck(const Field& field, DecodeFn&& decode) {
  if (!field.codec) {
    return arrow::Status::Invalid("Field '", field.name, "' has no tensor codec to decode with");
  }
  auto decoded = decode(*field.codec);
  if (!decoded.ok()) {
    return decoded.status().WithMessage("Decoding field '", field.name, "' (",
                                        field.codec->ToString(), ") failed: ",
                                        decoded.status().message());
  }
  auto check = CheckTensorForField(field, *decoded);
  if (!check.ok()) {
    return check.WithMessage("Decoded value does not match the schema: ", check.message());
  }
  return decoded;
}

}  // namespace

arrow::Result<Tensor> DecodeField(const Field& field, const uint8_t* data, int64_t size,
                                  arrow::MemoryPool* pool) {
  return DecodeAndCheck(field, [&](const Codec& codec) { return codec.Decode(field, data, size, pool); });
}

arrow::Result<Tensor> DecodeField(const Field& field, const std::shared_ptr<arrow::Buffer>& cell,
                                  arrow::MemoryPool* pool) {
  return DecodeAndCheck(field, [&](const Codec& codec) { return codec.DecodeBuffer(field, cell, pool); });
}

arrow::Result<std::shared_ptr<const Unischema>> SchemaWithImageDecodeOptions(
    const Unischema& schema, const std::map<std::string, ImageDecodeOptions>& options) {
  for (const auto& [name, _] : options) {
    if (!schema.GetField(name)) {
      return arrow::Status::Invalid("Decode options name the field '", name, "', which schema '",
                                    schema.name(), "' does not have");
    }
  }
  std::vector<Field> fields;
  for (const Field& field : schema.fields()) {
    auto it = options.find(field.name);
    if (it == options.end()) {
      fields.push_back(field);
    } else {
      ARROW_ASSIGN_OR_RAISE(Field decoded, FieldWithImageDecodeOptions(field, it->second));
      fields.push_back(std::move(decoded));
    }
  }
  return Unischema::Make(schema.name(), std::move(fields));
}

const std::vector<std::string>& BuiltinCodecNames() {
  static const std::vector<std::string> names = {"ndarray", "compressed_ndarray", "compressed_image"};
  return names;
}

namespace internal {

void RegisterBuiltinCodecs(CodecRegistry* registry) {
  registry->Register("ndarray", [](std::string_view) { return arrow::Result(MakeNdarrayCodec()); });
  registry->Register("compressed_ndarray",
                     [](std::string_view) { return arrow::Result(MakeCompressedNdarrayCodec()); });
  registry->Register("compressed_image", MakeImageCodecFromParams);
}

}  // namespace internal

struct CodecRegistry::Impl {
  mutable internal::Mutex mutex;
  std::map<std::string, Factory, std::less<>> factories GUARDED_BY(mutex);
};

CodecRegistry::CodecRegistry() : impl_(std::make_shared<Impl>()) {
  internal::RegisterBuiltinCodecs(this);
}

CodecRegistry& CodecRegistry::Global() {
  static CodecRegistry registry;
  return registry;
}

void CodecRegistry::Register(std::string name, Factory factory) {
  internal::MutexLock lock(&impl_->mutex);
  impl_->factories[std::move(name)] = std::move(factory);
}

arrow::Result<std::shared_ptr<const Codec>> CodecRegistry::Make(std::string_view name,
                                                                std::string_view params_json) const {
  Factory factory;
  {
    internal::MutexLock lock(&impl_->mutex);
    auto it = impl_->factories.find(name);
    if (it == impl_->factories.end()) {
      return arrow::Status::KeyError("No codec named '", name,
                                     "' is registered; register it before reading this dataset");
    }
    factory = it->second;
  }
  return factory(params_json);
}

std::vector<std::string> CodecRegistry::Names() const {
  internal::MutexLock lock(&impl_->mutex);
  std::vector<std::string> names;
  for (const auto& [name, _] : impl_->factories) names.push_back(name);
  return names;
}

}  // namespace petastorm
