#include "batcher/column_source_internal.h"

#include <arrow/array/array_dict.h>
#include <arrow/array/array_nested.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/initialize.h>
#include <arrow/type.h>

namespace petastorm::internal {

namespace {

// A dictionary-encoded array decoded to its value type.
arrow::Result<std::shared_ptr<arrow::Array>> Decoded(std::shared_ptr<arrow::Array> array) {
  if (array->type_id() != arrow::Type::DICTIONARY) return array;
  static const arrow::Status init = arrow::compute::Initialize();
  ARROW_RETURN_NOT_OK(init);
  auto& dict = static_cast<const arrow::DictionaryArray&>(*array);
  return arrow::compute::Take(*dict.dictionary(), *dict.indices());
}

// Whether the array, or the values of its lists at any depth, hold a null.
bool AnyNulls(const arrow::Array& array) {
  if (array.null_count() > 0) return true;
  switch (array.type_id()) {
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& list = static_cast<const arrow::FixedSizeListArray&>(array);
      const int64_t k = list.value_length();
      return AnyNulls(*list.values()->Slice(list.offset() * k, list.length() * k));
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST: {
      const auto& list = static_cast<const arrow::BaseListArray<arrow::ListType>&>(array);
      if (array.type_id() == arrow::Type::LIST) {
        if (list.length() == 0) return false;
        const int64_t begin = list.value_offset(0);
        return AnyNulls(*list.values()->Slice(begin, list.value_offset(list.length()) - begin));
      }
      const auto& large = static_cast<const arrow::LargeListArray&>(array);
      if (large.length() == 0) return false;
      const int64_t begin = large.value_offset(0);
      return AnyNulls(*large.values()->Slice(begin, large.value_offset(large.length()) - begin));
    }
    default:
      return false;
  }
}

bool IsTimeOrDuration(const arrow::DataType& type) {
  return type.id() == arrow::Type::TIME32 || type.id() == arrow::Type::TIME64 || type.id() == arrow::Type::DURATION;
}

}  // namespace

std::string NullMessage(const std::string& name) {
  return "Pytorch does not support nullable fields. Found None in " + name;
}

arrow::Result<Source> ArraySource(const std::string& name, std::shared_ptr<arrow::Array> array,
                                  std::optional<ScalarType> declared, bool float_nulls_as_nan,
                                  bool keep_arrow) {
  ARROW_ASSIGN_OR_RAISE(array, Decoded(std::move(array)));
  Source s;
  s.array = array;
  s.kind = SourceKind::kObject;
  const arrow::DataType& type = *array->type();
  if (keep_arrow || (declared && !IsNumeric(*declared))) return s;
  if (!declared && IsTimeOrDuration(type)) return s;  // numbers only when the field says so
  auto numpy_type = NumpyTypeOf(name, type);
  const bool storage_as_number = declared && PhysicalType(type).has_value();
  if (!storage_as_number && (!numpy_type.ok() || !IsNumeric(numpy_type->dtype))) return s;
  if (AnyNulls(*array)) {
    const bool float_scalar = PhysicalType(type) == ScalarType::kFloat32 || PhysicalType(type) == ScalarType::kFloat64;
    if (!float_nulls_as_nan || !float_scalar) return arrow::Status::TypeError(NullMessage(name));
  }
  ARROW_ASSIGN_OR_RAISE(NumpyColumn column, ArrowToNumpy(array, NullPolicy::kBatch));
  auto as_numbers = [](Tensor t) {
    if (t.element.type == ScalarType::kDatetime64) t.element = ElementType::Of(ScalarType::kInt64);
    return t;
  };
  if (column.kind == NumpyColumn::Kind::kTensor &&
      (IsNumeric(column.tensor.element.type) || storage_as_number)) {
    s.kind = SourceKind::kStacked;
    s.stacked = as_numbers(std::move(column.tensor));
  } else if (column.kind == NumpyColumn::Kind::kRows && column.child->kind == NumpyColumn::Kind::kTensor &&
             IsNumeric(column.child->tensor.element.type)) {
    s.kind = SourceKind::kList;
    s.numpy = std::make_shared<const NumpyColumn>(std::move(column));
    s.offsets = s.numpy->offsets.data();
    s.stacked = s.numpy->child->tensor;
  } else {
    return s;
  }
  s.row_shape.assign(s.stacked->shape.begin() + 1, s.stacked->shape.end());
  for (int64_t d : s.row_shape) s.row_elements *= d;
  s.elements.type = s.stacked->element.type;
  s.elements.data = s.stacked->data ? s.stacked->data->data() : nullptr;
  return s;
}

arrow::Result<Source> TensorsSource(const std::string& name, std::vector<std::optional<Tensor>> tensors,
                                    std::optional<ScalarType> declared) {
  Source s;
  s.kind = SourceKind::kTensors;
  std::optional<ScalarType> element = declared;
  for (const auto& t : tensors) {
    if (t) {
      if (!element) element = t->element.type;
      if (IsNumeric(t->element.type) != IsNumeric(*element)) {
        return arrow::Status::TypeError("Field '", name, "': tensors of ", t->element.TypeString(),
                                        " and of ", ScalarTypeName(*element), " in one input");
      }
    }
  }
  s.numeric_tensors = element && IsNumeric(*element);
  if (s.numeric_tensors) {
    for (const auto& t : tensors) {
      if (!t) return arrow::Status::TypeError(NullMessage(name));
    }
  }
  s.tensors = std::move(tensors);
  return s;
}

arrow::Result<Source> StackedSource(const std::string& name, Tensor t, int64_t num_rows) {
  Source source;
  ARROW_RETURN_NOT_OK(t.Validate());
  if (t.shape.empty() || t.shape[0] != num_rows) {
    return arrow::Status::Invalid("Batcher: field '", name, "' has shape ", ShapeToString(t.shape),
                                  " for ", num_rows, " rows");
  }
  if (!IsNumeric(t.element.type)) {
    return arrow::Status::TypeError("Batcher: field '", name, "': stacked rows of ",
                                    t.element.TypeString(), " are not numeric");
  }
  if (t.fortran_order && t.shape.size() > 1) {
    ARROW_ASSIGN_OR_RAISE(t, RowMajor(t));
  }
  source.kind = SourceKind::kStacked;
  source.row_shape.assign(t.shape.begin() + 1, t.shape.end());
  for (int64_t d : source.row_shape) source.row_elements *= d;
  source.elements.type = t.element.type;
  source.elements.data = t.data ? t.data->data() : nullptr;
  source.stacked = std::move(t);
  return source;
}

}  // namespace petastorm::internal
