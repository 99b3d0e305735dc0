#include "petastorm/schema_inference.h"

#include <set>

#include <arrow/type.h>

namespace petastorm {

namespace {

arrow::Status Unsupported(const std::string& name, const arrow::DataType& type, const std::string& why) {
  return arrow::Status::NotImplemented("Column '", name, "' has type ", type.ToString(),
                                       ", which make_batch_reader cannot deliver (", why,
                                       "); leave it out with schema_fields");
}

}  // namespace

arrow::Result<InferredType> InferFieldType(const std::string& name, const arrow::DataType& type) {
  auto scalar = [](ScalarType t) { return InferredType{t, {}}; };
  switch (type.id()) {
    case arrow::Type::BOOL: return scalar(ScalarType::kBool);
    case arrow::Type::INT8: return scalar(ScalarType::kInt8);
    case arrow::Type::INT16: return scalar(ScalarType::kInt16);
    case arrow::Type::INT32: return scalar(ScalarType::kInt32);
    case arrow::Type::INT64: return scalar(ScalarType::kInt64);
    case arrow::Type::UINT8: return scalar(ScalarType::kUInt8);
    case arrow::Type::UINT16: return scalar(ScalarType::kUInt16);
    case arrow::Type::UINT32: return scalar(ScalarType::kUInt32);
    case arrow::Type::UINT64: return scalar(ScalarType::kUInt64);
    case arrow::Type::HALF_FLOAT: return scalar(ScalarType::kFloat16);
    case arrow::Type::FLOAT: return scalar(ScalarType::kFloat32);
    case arrow::Type::DOUBLE: return scalar(ScalarType::kFloat64);
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW: return scalar(ScalarType::kString);
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY: return scalar(ScalarType::kBytes);
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP: return scalar(ScalarType::kDatetime64);
    // numpy has no time-of-day type, and a Unischema no timedelta: the stored counts of the
    // column's unit, zero-copy.
    case arrow::Type::TIME32: return scalar(ScalarType::kInt32);
    case arrow::Type::TIME64:
    case arrow::Type::DURATION: return scalar(ScalarType::kInt64);
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: return scalar(ScalarType::kDecimal);
    case arrow::Type::STRUCT:
    case arrow::Type::MAP:
    case arrow::Type::NA: return scalar(ScalarType::kObject);
    case arrow::Type::DICTIONARY:
      return InferFieldType(name, *static_cast<const arrow::DictionaryType&>(type).value_type());
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& list = static_cast<const arrow::BaseListType&>(type);
      ARROW_ASSIGN_OR_RAISE(InferredType element, InferFieldType(name, *list.value_type()));
      Dim dim = std::nullopt;
      if (type.id() == arrow::Type::FIXED_SIZE_LIST) {
        dim = static_cast<const arrow::FixedSizeListType&>(type).list_size();
      }
      FieldShape shape{dim};
      shape.insert(shape.end(), element.shape.begin(), element.shape.end());
      return InferredType{element.dtype, std::move(shape)};
    }
    case arrow::Type::EXTENSION:
      return Unsupported(name, type, "an extension type, whose meaning is not known here");
    case arrow::Type::INTERVAL_MONTHS:
    case arrow::Type::INTERVAL_DAY_TIME:
    case arrow::Type::INTERVAL_MONTH_DAY_NANO:
      return Unsupported(name, type, "numpy has no calendar interval type");
    default:
      return Unsupported(name, type, "no numpy form is defined for it");
  }
}

arrow::Result<std::shared_ptr<const Unischema>> InferUnischema(
    const Dataset& dataset, std::vector<UnsupportedColumn>* unsupported) {
  std::vector<Field> fields;
  std::set<std::string> partition_names;
  for (const PartitionKey& key : dataset.partition_keys()) {
    Field field;
    field.name = key.name;
    field.dtype = key.type->id() == arrow::Type::INT64 ? ScalarType::kInt64 : ScalarType::kString;
    field.arrow_type = key.type;
    fields.push_back(std::move(field));
    partition_names.insert(key.name);
  }
  if (dataset.files().empty()) return arrow::Status::Invalid("The dataset has no data files");
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Schema> file_schema, dataset.FileSchema(0));
  for (const auto& column : file_schema->fields()) {
    if (partition_names.count(column->name())) {
      return arrow::Status::Invalid("'", column->name(), "' is both a partition directory key and a column of '",
                                    dataset.files()[0], "'");
    }
    auto inferred = InferFieldType(column->name(), *column->type());
    if (!inferred.ok()) {
      if (!unsupported || !inferred.status().IsNotImplemented()) return inferred.status();
      unsupported->push_back({column->name(), inferred.status().message()});
      continue;
    }
    Field field;
    field.name = column->name();
    field.dtype = inferred->dtype;
    field.shape = std::move(inferred->shape);
    field.nullable = column->nullable();
    field.arrow_type = column->type();
    fields.push_back(std::move(field));
  }
  return Unischema::Make("inferred_schema", std::move(fields));
}

}  // namespace petastorm
