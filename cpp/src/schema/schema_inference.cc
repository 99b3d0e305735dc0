#include "petastorm/schema_inference.h"

#include <set>

#include <arrow/type.h>

namespace petastorm {

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
