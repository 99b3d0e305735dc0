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

// A field is held in one of two ways:
//   - a tensor field: one Tensor per row. Stored, when it has a tensor `codec`, as one binary
//     cell per row (NdarrayCodec, CompressedImageCodec, ...); a non-scalar field with neither
//     codec nor `arrow_type` (the output of a transform) is held in memory only.
//   - a native field: an Arrow column of StorageType(): `arrow_type` when set (Petastorm's
//     ScalarCodec(T), or the stored type of an inferred field, which may be a list, struct,
//     ...), else the default type of the scalar dtype.
struct Field {
  std::string name;
  ScalarType dtype = ScalarType::kInt32;
  FieldShape shape;                      // empty for a scalar
  std::shared_ptr<const Codec> codec;    // a tensor codec, or null: not stored as encoded cells
  bool nullable = false;
  // "Stored natively as this Arrow type" (see above); null: the dtype's default.
  std::shared_ptr<arrow::DataType> arrow_type;

  bool is_scalar() const { return shape.empty(); }
  // One Tensor per row (a codec, or a non-scalar shape without arrow_type); else an Arrow column.
  bool is_tensor() const { return codec != nullptr || (!arrow_type && !shape.empty()); }
  // True when `shape` has the field's rank and equals it wherever the field's dim is fixed.
  bool MatchesShape(const std::vector<int64_t>& shape) const;
  // "(None, 128, 30, None)".
  std::string ShapeString() const;
  // The Arrow type of the column that stores this field: the codec's storage type (binary),
  // else arrow_type, else the default type of a scalar dtype. Invalid for a tensor field
  // without codec (held in memory only) and for dtypes without a default (decimal, complex,
  // object).
  arrow::Result<std::shared_ptr<arrow::DataType>> StorageType() const;
};

class Unischema {
 public:
  // A schema that can be stored: validates names (non-empty, unique), shapes, and that every
  // field has a StorageType().
  static arrow::Result<std::shared_ptr<const Unischema>> Make(std::string name,
                                                              std::vector<Field> fields);
  // A schema of values held in memory (a transform's output): the same checks, except that a
  // field needs no storage (a non-scalar field without codec holds tensors; any dtype).
  static arrow::Result<std::shared_ptr<const Unischema>> MakeInMemory(std::string name,
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

  // The versioned JSON form stored in the dataset metadata (docs/dataset-format.md). A native
  // field with a scalar arrow_type is written as the codec "scalar" with that type (the format
  // Petastorm-compatible readers know); other arrow_types (lists, structs) are written as an
  // informational "arrow_type" string that FromJson does not read back.
  std::string ToJson() const;
  // Parses ToJson() output; codecs are looked up in the CodecRegistry, "scalar" becomes
  // arrow_type.
  static arrow::Result<std::shared_ptr<const Unischema>> FromJson(std::string_view json);

 private:
  Unischema(std::string name, std::vector<Field> fields);
  static arrow::Result<std::shared_ptr<const Unischema>> MakeChecked(std::string name, std::vector<Field> fields,
                                                                     bool stored);
  std::string name_;
  std::vector<Field> fields_;
  std::unordered_map<std::string, size_t> index_;
};

// Default Arrow storage type of a scalar field without codec (int32 -> int32, str -> utf8,
// bytes -> binary, datetime64 -> timestamp[ns], ...). Invalid for kDecimal (needs an
// arrow_type: ScalarCodec with a decimal type), complex and object types.
arrow::Result<std::shared_ptr<arrow::DataType>> DefaultArrowType(ScalarType type);

}  // namespace petastorm
