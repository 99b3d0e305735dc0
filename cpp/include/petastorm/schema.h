// Unischema: the schema of a Petastorm dataset. Each field has a numpy element type, a shape
// (with variable dimensions), an optional codec and a nullable flag.
//
// Errors: factories return Status::Invalid naming the field. Ownership: a Unischema is
// immutable once made and shared through shared_ptr<const Unischema>; it is safe to read
// from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "petastorm/dtype.h"

namespace petastorm {

class Codec;

// A dimension of a field's shape: a size, or std::nullopt for "any size" (Python's None).
using Dim = std::optional<int64_t>;
using FieldShape = std::vector<Dim>;

struct Field {
  std::string name;
  ScalarType dtype = ScalarType::kInt32;
  FieldShape shape;                      // empty for a scalar
  std::shared_ptr<const Codec> codec;    // null: stored natively
  bool nullable = false;
  // The stored Arrow type of a codec-less field read from a store that has no Unischema (any
  // type: lists, structs, ...); null for fields of a Petastorm schema.
  std::shared_ptr<arrow::DataType> arrow_type;

  bool is_scalar() const { return shape.empty(); }
  // True when `shape` has the field's rank and equals it wherever the field's dim is fixed.
  bool MatchesShape(const std::vector<int64_t>& shape) const;
  // "(None, 128, 30, None)".
  std::string ShapeString() const;
  // The Arrow type of the column that stores this field: the codec's storage type, else the
  // native type of a scalar dtype. Invalid for a non-scalar field without a codec.
  arrow::Result<std::shared_ptr<arrow::DataType>> StorageType() const;
};

class Unischema {
 public:
  // Validates names (non-empty, unique) and codec/shape combinations.
  static arrow::Result<std::shared_ptr<const Unischema>> Make(std::string name,
                                                              std::vector<Field> fields);

  const std::string& name() const { return name_; }
  const std::vector<Field>& fields() const { return fields_; }
  // nullptr when there is no such field.
  const Field* GetField(std::string_view name) const;
  // The same, but an error naming the field and the schema.
  arrow::Result<const Field*> FindField(std::string_view name) const;

  // A schema of the named fields, in the given order, named "<name>_view".
  arrow::Result<std::shared_ptr<const Unischema>> View(const std::vector<std::string>& names) const;

  // The Arrow schema of the stored columns (codec fields are binary).
  arrow::Result<std::shared_ptr<arrow::Schema>> ToArrowSchema() const;

  // The versioned JSON form stored in the dataset metadata (docs/dataset-format.md).
  std::string ToJson() const;
  // Parses ToJson() output; codecs are looked up in the CodecRegistry.
  static arrow::Result<std::shared_ptr<const Unischema>> FromJson(std::string_view json);

 private:
  Unischema(std::string name, std::vector<Field> fields);
  std::string name_;
  std::vector<Field> fields_;
  std::unordered_map<std::string, size_t> index_;
};

// Default Arrow storage type of a scalar field without codec (int32 -> int32, str -> utf8,
// bytes -> binary, datetime64 -> timestamp[ns], ...). Invalid for kDecimal (needs a
// ScalarCodec with a decimal type) and complex types.
arrow::Result<std::shared_ptr<arrow::DataType>> DefaultArrowType(ScalarType type);

}  // namespace petastorm
