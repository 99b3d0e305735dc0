#include "petastorm/schema.h"

#include <set>

#include <arrow/type.h>

#include "petastorm/codec.h"
#include "schema/arrow_type_json_internal.h"
#include "util/json_internal.h"

namespace petastorm {

using internal::Json;

namespace {
constexpr int64_t kSchemaJsonVersion = 1;
constexpr const char* kSchemaJsonFormat = "petastorm.unischema";
// The JSON codec name of a native field with a declared type (ScalarCodec in Petastorm).
constexpr const char* kScalarCodecName = "scalar";
}  // namespace

bool Field::MatchesShape(const std::vector<int64_t>& value_shape) const {
  if (value_shape.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i].has_value() && *shape[i] != value_shape[i]) return false;
  }
  return true;
}

std::string Field::ShapeString() const {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += shape[i] ? std::to_string(*shape[i]) : "None";
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

arrow::Result<std::shared_ptr<arrow::DataType>> Field::StorageType() const {
  if (codec) return codec->storage_type();
  if (arrow_type) return arrow_type;
  if (is_tensor()) {
    return arrow::Status::Invalid("Field '", name, "' has shape ", ShapeString(),
                                  " but no codec; a non-scalar field needs a codec "
                                  "(NdarrayCodec, CompressedNdarrayCodec, CompressedImageCodec)");
  }
  auto type = DefaultArrowType(dtype);
  if (!type.ok()) {
    return type.status().WithMessage("Field '", name, "': ", type.status().message());
  }
  return type;
}

arrow::Result<std::shared_ptr<arrow::DataType>> DefaultArrowType(ScalarType type) {
  switch (type) {
    case ScalarType::kBool: return arrow::boolean();
    case ScalarType::kInt8: return arrow::int8();
    case ScalarType::kInt16: return arrow::int16();
    case ScalarType::kInt32: return arrow::int32();
    case ScalarType::kInt64: return arrow::int64();
    case ScalarType::kUInt8: return arrow::uint8();
    case ScalarType::kUInt16: return arrow::uint16();
    case ScalarType::kUInt32: return arrow::uint32();
    case ScalarType::kUInt64: return arrow::uint64();
    case ScalarType::kFloat16: return arrow::float16();
    case ScalarType::kFloat32: return arrow::float32();
    case ScalarType::kFloat64: return arrow::float64();
    case ScalarType::kBytes: return arrow::binary();
    case ScalarType::kString: return arrow::utf8();
    case ScalarType::kDatetime64: return arrow::timestamp(arrow::TimeUnit::NANO);
    case ScalarType::kDecimal:
      return arrow::Status::Invalid(
          "a Decimal scalar needs ScalarCodec with a decimal type, e.g. ScalarCodec(DecimalType(10, 9))");
    case ScalarType::kComplex64:
    case ScalarType::kComplex128:
      return arrow::Status::Invalid("a complex scalar needs a tensor codec (NdarrayCodec)");
    case ScalarType::kObject:
      return arrow::Status::Invalid(
          "numpy_dtype object (the values of struct, map and null columns read by "
          "make_batch_reader) cannot be written");
  }
  return arrow::Status::Invalid("unknown element type");
}

Unischema::Unischema(std::string name, std::vector<Field> fields)
    : name_(std::move(name)), fields_(std::move(fields)) {
  for (size_t i = 0; i < fields_.size(); ++i) index_.emplace(fields_[i].name, i);
}

arrow::Result<std::shared_ptr<const Unischema>> Unischema::Make(std::string name,
                                                                std::vector<Field> fields) {
  return MakeChecked(std::move(name), std::move(fields), /*stored=*/true);
}

arrow::Result<std::shared_ptr<const Unischema>> Unischema::MakeInMemory(std::string name,
                                                                        std::vector<Field> fields) {
  return MakeChecked(std::move(name), std::move(fields), /*stored=*/false);
}

arrow::Result<std::shared_ptr<const Unischema>> Unischema::MakeChecked(std::string name,
                                                                       std::vector<Field> fields,
                                                                       bool stored) {
  std::set<std::string> seen;
  for (const auto& field : fields) {
    if (field.name.empty()) {
      return arrow::Status::Invalid("Unischema '", name, "': a field has an empty name");
    }
    if (!seen.insert(field.name).second) {
      return arrow::Status::Invalid("Unischema '", name, "': field '", field.name,
                                    "' appears more than once");
    }
    for (const auto& dim : field.shape) {
      if (dim && *dim < 0) {
        return arrow::Status::Invalid("Field '", field.name, "': negative dimension in shape ",
                                      field.ShapeString());
      }
    }
    if (stored) ARROW_RETURN_NOT_OK(field.StorageType().status());
  }
  return std::shared_ptr<const Unischema>(new Unischema(std::move(name), std::move(fields)));
}

const Field* Unischema::GetField(std::string_view field_name) const {
  auto it = index_.find(std::string(field_name));
  return it == index_.end() ? nullptr : &fields_[it->second];
}

arrow::Result<const Field*> Unischema::FindField(std::string_view field_name) const {
  const Field* field = GetField(field_name);
  if (!field) {
    return arrow::Status::KeyError("Field '", field_name, "' does not belong to the schema '",
                                   name_, "'");
  }
  return field;
}

arrow::Result<std::shared_ptr<const Unischema>> Unischema::View(
    const std::vector<std::string>& names) const {
  std::vector<Field> fields;
  for (const auto& n : names) {
    ARROW_ASSIGN_OR_RAISE(const Field* field, FindField(n));
    fields.push_back(*field);
  }
  return Make(name_ + "_view", std::move(fields));
}

arrow::Result<std::shared_ptr<arrow::Schema>> Unischema::ToArrowSchema() const {
  arrow::FieldVector arrow_fields;
  for (const auto& field : fields_) {
    ARROW_ASSIGN_OR_RAISE(auto type, field.StorageType());
    arrow_fields.push_back(arrow::field(field.name, type, field.nullable));
  }
  return arrow::schema(std::move(arrow_fields));
}

std::string Unischema::ToJson() const {
  Json::Array fields;
  for (const auto& field : fields_) {
    Json::Array shape;
    for (const auto& dim : field.shape) shape.push_back(dim ? Json(*dim) : Json(nullptr));
    Json codec;
    bool arrow_type_written = false;
    if (field.codec) {
      auto params = Json::Parse(field.codec->params_json());
      codec = Json(Json::Object{{"name", field.codec->name()},
                                {"params", params.ok() ? *params : Json(Json::Object{})}});
    } else if (field.arrow_type) {
      // Whatever the shape: FromJson reads the "scalar" codec back for any shape (Petastorm's
      // ScalarCodec on a field declared with a shape stores one value per row).
      auto type_json = internal::ArrowTypeToJson(*field.arrow_type);
      if (type_json.ok()) {
        codec = Json(Json::Object{{"name", kScalarCodecName}, {"params", Json(Json::Object{{"type", *type_json}})}});
        arrow_type_written = true;
      }
    }
    Json::Object object{{"name", field.name},
                        {"dtype", ScalarTypeName(field.dtype)},
                        {"shape", std::move(shape)},
                        {"codec", std::move(codec)},
                        {"nullable", field.nullable}};
    // Informational (an inferred field's stored type); FromJson does not read it back.
    if (field.arrow_type && !arrow_type_written) object.emplace_back("arrow_type", field.arrow_type->ToString());
    fields.push_back(Json(std::move(object)));
  }
  Json doc(Json::Object{{"format", kSchemaJsonFormat},
                        {"version", kSchemaJsonVersion},
                        {"name", name_},
                        {"fields", std::move(fields)}});
  return doc.Dump();
}

arrow::Result<std::shared_ptr<const Unischema>> Unischema::FromJson(std::string_view text) {
  ARROW_ASSIGN_OR_RAISE(Json doc, Json::Parse(text));
  ARROW_ASSIGN_OR_RAISE(const Json* format, doc.Member("format"));
  ARROW_ASSIGN_OR_RAISE(std::string format_name, format->GetString("format"));
  if (format_name != kSchemaJsonFormat) {
    return arrow::Status::Invalid("Not a Unischema JSON document (format '", format_name, "')");
  }
  ARROW_ASSIGN_OR_RAISE(const Json* version, doc.Member("version"));
  ARROW_ASSIGN_OR_RAISE(int64_t version_number, version->GetInt("version"));
  if (version_number > kSchemaJsonVersion) {
    return arrow::Status::NotImplemented("Unischema JSON version ", version_number,
                                         " is newer than this library reads (",
                                         kSchemaJsonVersion, "); upgrade petastorm");
  }
  ARROW_ASSIGN_OR_RAISE(const Json* name_json, doc.Member("name"));
  ARROW_ASSIGN_OR_RAISE(std::string name, name_json->GetString("name"));
  ARROW_ASSIGN_OR_RAISE(const Json* fields_json, doc.Member("fields"));
  ARROW_ASSIGN_OR_RAISE(const Json::Array* field_list, fields_json->GetArray("fields"));
  std::vector<Field> fields;
  // One field entry; its errors are said with the entry's index (and name, once known).
  auto parse_field = [](const Json& f, Field& field) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(const Json* fname, f.Member("name"));
    ARROW_ASSIGN_OR_RAISE(field.name, fname->GetString("name"));
    ARROW_ASSIGN_OR_RAISE(const Json* dtype, f.Member("dtype"));
    ARROW_ASSIGN_OR_RAISE(std::string dtype_name, dtype->GetString("dtype"));
    ARROW_ASSIGN_OR_RAISE(field.dtype, ScalarTypeFromName(dtype_name));
    ARROW_ASSIGN_OR_RAISE(const Json* shape, f.Member("shape"));
    ARROW_ASSIGN_OR_RAISE(const Json::Array* dims, shape->GetArray("shape"));
    for (const Json& dim : *dims) {
      if (dim.is_null()) {
        field.shape.push_back(std::nullopt);
      } else {
        ARROW_ASSIGN_OR_RAISE(int64_t size, dim.GetInt("shape"));
        field.shape.push_back(size);
      }
    }
    if (const Json* nullable = f.Find("nullable")) {
      ARROW_ASSIGN_OR_RAISE(field.nullable, nullable->GetBool("nullable"));
    }
    const Json* codec = f.Find("codec");
    if (codec && !codec->is_null()) {
      ARROW_ASSIGN_OR_RAISE(const Json* cname, codec->Member("name"));
      ARROW_ASSIGN_OR_RAISE(std::string codec_name, cname->GetString("codec name"));
      if (codec_name == kScalarCodecName) {
        // Stored natively as the given type (Petastorm's ScalarCodec).
        ARROW_ASSIGN_OR_RAISE(const Json* params, codec->Member("params"));
        ARROW_ASSIGN_OR_RAISE(const Json* type_json, params->Member("type"));
        ARROW_ASSIGN_OR_RAISE(field.arrow_type, internal::ArrowTypeFromJson(*type_json));
        return arrow::Status::OK();
      }
      std::string params = "{}";
      if (const Json* p = codec->Find("params")) params = p->Dump();
      ARROW_ASSIGN_OR_RAISE(field.codec, CodecRegistry::Global().Make(codec_name, params));
    }
    return arrow::Status::OK();
  };
  for (size_t i = 0; i < field_list->size(); ++i) {
    Field field;
    const arrow::Status parsed = parse_field((*field_list)[i], field);
    if (!parsed.ok()) {
      const std::string which = field.name.empty() ? "" : " ('" + field.name + "')";
      return parsed.WithMessage("Unischema JSON field entry ", i, which, ": ", parsed.message());
    }
    fields.push_back(std::move(field));
  }
  return Make(std::move(name), std::move(fields));
}

}  // namespace petastorm
