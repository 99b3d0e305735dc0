#include "petastorm/numpy_column.h"

#include <cstring>
#include <limits>

#include <arrow/array/array_binary.h>
#include <arrow/array/array_dict.h>
#include <arrow/array/array_nested.h>
#include <arrow/array/util.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/initialize.h>
#include <arrow/type.h>
#include <arrow/util/bit_util.h>

#include "convert/element_copy_internal.h"
#include "schema/arrow_type_json_internal.h"

namespace petastorm {

namespace {

using internal::CanConvert;
using internal::CopyElements;
using internal::Elements;
using internal::ElementsOf;
using internal::IsNumeric;
using internal::PhysicalType;

arrow::Status Unsupported(const std::string& name, const arrow::DataType& type, const std::string& why) {
  return arrow::Status::NotImplemented("Column '", name, "' has type ", type.ToString(),
                                       ", which make_batch_reader cannot deliver (", why,
                                       "); leave it out with schema_fields");
}

ElementType Datetime(std::string unit) {
  ElementType e = ElementType::Of(ScalarType::kDatetime64);
  e.datetime_unit = std::move(unit);
  return e;
}

NumpyColumn Objects(std::shared_ptr<arrow::Array> array, std::optional<ScalarType> wrap = std::nullopt) {
  NumpyColumn c;
  c.kind = NumpyColumn::Kind::kObjects;
  c.length = array->length();
  c.objects = std::move(array);
  c.wrap = wrap;
  return c;
}

std::vector<int64_t> NullRows(const arrow::Array& array) {
  std::vector<int64_t> rows;
  if (array.null_count() == 0) return rows;
  for (int64_t i = 0; i < array.length(); ++i) {
    if (array.IsNull(i)) rows.push_back(i);
  }
  return rows;
}

// The values buffer of a fixed-width array as a tensor of `element`, (length,): a zero-copy
// view when the layout is the same (always, but for booleans and date32).
arrow::Result<NumpyColumn> FixedValues(const arrow::Array& array, ScalarType physical, ElementType element) {
  NumpyColumn c;
  c.kind = NumpyColumn::Kind::kTensor;
  c.length = array.length();
  const int64_t n = array.length();
  const auto& data = *array.data();
  if (physical != ScalarType::kBool && element.itemsize == FixedItemSize(physical) && data.buffers.size() > 1 &&
      data.buffers[1]) {
    const int64_t size = FixedItemSize(physical);
    c.tensor.element = element;
    c.tensor.shape = {n};
    c.tensor.data = arrow::SliceBuffer(data.buffers[1], data.offset * size, n * size);
    c.zero_copy = true;
    return c;
  }
  // Booleans unpacked to bytes, date32 widened to datetime64[D]: one copy.
  ARROW_ASSIGN_OR_RAISE(c.tensor, Tensor::Allocate(element, {n}));
  if (n > 0) {
    const Elements src = ElementsOf(data, physical);
    const ScalarType dst = element.type == ScalarType::kDatetime64 ? ScalarType::kInt64 : element.type;
    CopyElements(src, 0, n, dst, c.tensor.data->mutable_data());
  }
  return c;
}

// A copy of a kTensor column converted to `type` (numeric).
arrow::Result<NumpyColumn> Converted(const NumpyColumn& in, ScalarType type) {
  NumpyColumn c = in;
  ARROW_ASSIGN_OR_RAISE(c.tensor, Tensor::Allocate(ElementType::Of(type), in.tensor.shape));
  Elements src;
  src.type = in.tensor.element.type;
  src.data = in.tensor.data ? in.tensor.data->data() : nullptr;
  CopyElements(src, 0, in.tensor.num_elements(), type, c.tensor.data->mutable_data());
  c.zero_copy = false;
  return c;
}

// Nulls of a kTensor column of numbers or datetimes made NaN / NaT (integers become float64).
arrow::Result<NumpyColumn> WithNanNulls(const NumpyColumn& in, const arrow::Array& array) {
  NumpyColumn c = in;
  const ScalarType type = in.tensor.element.type;
  const int64_t n = in.length;
  if (type == ScalarType::kDatetime64) {
    ARROW_ASSIGN_OR_RAISE(c.tensor, Tensor::Allocate(in.tensor.element, in.tensor.shape));
    std::memcpy(c.tensor.data->mutable_data(), in.tensor.data->data(), static_cast<size_t>(in.tensor.nbytes()));
    auto* out = reinterpret_cast<int64_t*>(c.tensor.data->mutable_data());
    for (int64_t i = 0; i < n; ++i) {
      if (array.IsNull(i)) out[i] = std::numeric_limits<int64_t>::min();  // NaT
    }
  } else if (type == ScalarType::kFloat16) {
    ARROW_ASSIGN_OR_RAISE(c.tensor, Tensor::Allocate(in.tensor.element, in.tensor.shape));
    std::memcpy(c.tensor.data->mutable_data(), in.tensor.data->data(), static_cast<size_t>(in.tensor.nbytes()));
    auto* out = reinterpret_cast<uint16_t*>(c.tensor.data->mutable_data());
    for (int64_t i = 0; i < n; ++i) {
      if (array.IsNull(i)) out[i] = 0x7E00;  // NaN
    }
  } else {
    const ScalarType dst = type == ScalarType::kFloat32 ? ScalarType::kFloat32 : ScalarType::kFloat64;
    ARROW_ASSIGN_OR_RAISE(c, Converted(in, dst));
    for (int64_t i = 0; i < n; ++i) {
      if (!array.IsNull(i)) continue;
      if (dst == ScalarType::kFloat32) {
        reinterpret_cast<float*>(c.tensor.data->mutable_data())[i] = std::numeric_limits<float>::quiet_NaN();
      } else {
        reinterpret_cast<double*>(c.tensor.data->mutable_data())[i] = std::numeric_limits<double>::quiet_NaN();
      }
    }
  }
  c.zero_copy = false;
  return c;
}

// Decodes one UTF-8 sequence at s[*pos]; false when it is not valid UTF-8.
bool NextCodePoint(std::string_view s, size_t* pos, uint32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[*pos]);
  int extra = 0;
  uint32_t value = 0;
  if (b0 < 0x80) {
    value = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    value = b0 & 0x1F;
    extra = 1;
  } else if ((b0 & 0xF0) == 0xE0) {
    value = b0 & 0x0F;
    extra = 2;
  } else if ((b0 & 0xF8) == 0xF0) {
    value = b0 & 0x07;
    extra = 3;
  } else {
    return false;
  }
  for (int k = 1; k <= extra; ++k) {
    if (*pos + k >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[*pos + k]);
    if ((b & 0xC0) != 0x80) return false;
    value = (value << 6) | (b & 0x3F);
  }
  *pos += 1 + extra;
  *cp = value;
  return true;
}

// Text as numpy 'U' (UCS4, the width of the longest value, at least 1); nulls as "".
template <typename ArrayType>
arrow::Result<NumpyColumn> TextValues(const ArrayType& array) {
  const int64_t n = array.length();
  int64_t width = 1;
  for (int64_t i = 0; i < n; ++i) {
    if (array.IsNull(i)) continue;
    const std::string_view s = array.GetView(i);
    int64_t chars = 0;
    size_t pos = 0;
    uint32_t cp = 0;
    while (pos < s.size()) {
      if (!NextCodePoint(s, &pos, &cp)) {
        return arrow::Status::Invalid("Row ", i, " holds text that is not UTF-8");
      }
      ++chars;
    }
    width = std::max(width, chars);
  }
  ElementType element;
  element.type = ScalarType::kString;
  element.itemsize = 4 * width;
  NumpyColumn c;
  c.kind = NumpyColumn::Kind::kTensor;
  c.length = n;
  ARROW_ASSIGN_OR_RAISE(c.tensor, Tensor::Allocate(element, {n}));
  auto* out = reinterpret_cast<uint32_t*>(c.tensor.data->mutable_data());
  std::memset(out, 0, static_cast<size_t>(c.tensor.nbytes()));
  for (int64_t i = 0; i < n; ++i) {
    if (array.IsNull(i)) continue;
    const std::string_view s = array.GetView(i);
    size_t pos = 0;
    uint32_t cp = 0;
    uint32_t* row = out + i * width;
    while (pos < s.size() && NextCodePoint(s, &pos, &cp)) *row++ = cp;
  }
  return c;
}

arrow::Result<NumpyColumn> Text(const arrow::Array& array) {
  switch (array.type_id()) {
    case arrow::Type::STRING: return TextValues(static_cast<const arrow::StringArray&>(array));
    case arrow::Type::LARGE_STRING: return TextValues(static_cast<const arrow::LargeStringArray&>(array));
    default: return TextValues(static_cast<const arrow::StringViewArray&>(array));
  }
}

// `child` (k * length elements) seen as (length, k, ...).
NumpyColumn Reshaped(NumpyColumn child, int64_t length, int64_t k) {
  if (child.kind == NumpyColumn::Kind::kTensor) {
    std::vector<int64_t> shape{length, k};
    shape.insert(shape.end(), child.tensor.shape.begin() + 1, child.tensor.shape.end());
    child.tensor.shape = std::move(shape);
    child.length = length;
    return child;
  }
  std::vector<int64_t> shape = child.shape.empty() ? std::vector<int64_t>{child.length} : child.shape;
  std::vector<int64_t> out{length, k};
  out.insert(out.end(), shape.begin() + 1, shape.end());
  child.shape = std::move(out);  // `length` stays the number of entries before the reshape
  return child;
}

NumpyColumn Rows(std::shared_ptr<const NumpyColumn> child, std::vector<int64_t> offsets, const arrow::Array& array) {
  NumpyColumn c;
  c.kind = NumpyColumn::Kind::kRows;
  c.length = array.length();
  c.child = std::move(child);
  c.offsets = std::move(offsets);
  c.valid.assign(static_cast<size_t>(array.length()), 1);
  if (array.null_count() > 0) {
    for (int64_t i = 0; i < array.length(); ++i) c.valid[static_cast<size_t>(i)] = array.IsValid(i) ? 1 : 0;
  }
  return c;
}

arrow::Status EnsureCompute() {
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

arrow::Result<NumpyColumn> Convert(const std::shared_ptr<arrow::Array>& array, NullPolicy policy,
                                   std::optional<ScalarType> declared);

// Numbers, booleans, dates, times, durations, timestamps.
arrow::Result<NumpyColumn> Fixed(const arrow::Array& array, ScalarType physical, NullPolicy policy,
                                 std::optional<ScalarType> declared) {
  const arrow::DataType& type = *array.type();
  ElementType element = ElementType::Of(physical);
  switch (type.id()) {
    case arrow::Type::DATE32: element = Datetime("D"); break;
    case arrow::Type::DATE64: element = Datetime("ms"); break;
    case arrow::Type::TIMESTAMP:
      element = Datetime(internal::TimeUnitName(static_cast<const arrow::TimestampType&>(type).unit()));
      break;
    default: break;
  }
  ARROW_ASSIGN_OR_RAISE(NumpyColumn c, FixedValues(array, physical, element));
  const bool numeric = IsNumeric(element.type);
  const bool convert = declared && IsNumeric(*declared) && numeric && *declared != element.type &&
                       CanConvert(element.type, *declared);
  if (array.null_count() == 0) {
    if (convert) return Converted(c, *declared);
    return c;
  }
  if (policy == NullPolicy::kRows) {
    if (convert) {
      ARROW_ASSIGN_OR_RAISE(c, Converted(c, *declared));
    }
    c.null_rows = NullRows(array);
    return c;
  }
  if (element.type == ScalarType::kBool) return Objects(array.Slice(0, array.length()));
  return WithNanNulls(c, array);
}

arrow::Result<NumpyColumn> FixedSizeList(const arrow::FixedSizeListArray& list, NullPolicy policy) {
  const int64_t k = list.value_length();
  const int64_t n = list.length();
  ARROW_ASSIGN_OR_RAISE(NumpyColumn child,
                        Convert(list.values()->Slice(list.offset() * k, n * k), NullPolicy::kBatch, std::nullopt));
  if (list.null_count() == 0) return Reshaped(std::move(child), n, k);
  // Null rows: an object array whose row i is child[i*k:(i+1)*k].
  std::vector<int64_t> offsets(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) offsets[static_cast<size_t>(i)] = i * k;
  return Rows(std::make_shared<const NumpyColumn>(std::move(child)), std::move(offsets), list);
}

template <typename ListType>
arrow::Result<NumpyColumn> VariableList(const ListType& list) {
  const int64_t n = list.length();
  const auto* raw = list.raw_value_offsets();
  const int64_t start = n > 0 ? raw[0] : 0;
  const int64_t end = n > 0 ? raw[n] : 0;
  ARROW_ASSIGN_OR_RAISE(NumpyColumn child,
                        Convert(list.values()->Slice(start, end - start), NullPolicy::kBatch, std::nullopt));
  if (list.null_count() == 0 && n > 0) {
    const int64_t length = raw[1] - raw[0];
    bool equal = true;
    for (int64_t i = 1; i < n && equal; ++i) equal = raw[i + 1] - raw[i] == length;
    if (equal) return Reshaped(std::move(child), n, length);
  }
  std::vector<int64_t> offsets(static_cast<size_t>(n + 1));
  for (int64_t i = 0; i <= n; ++i) offsets[static_cast<size_t>(i)] = raw[i] - start;
  return Rows(std::make_shared<const NumpyColumn>(std::move(child)), std::move(offsets), list);
}

arrow::Result<NumpyColumn> Convert(const std::shared_ptr<arrow::Array>& array, NullPolicy policy,
                                   std::optional<ScalarType> declared) {
  const arrow::DataType& type = *array->type();
  switch (type.id()) {
    case arrow::Type::NA: return Objects(array);
    case arrow::Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(*array);
      if (dict.dictionary()->length() == 0) {
        return Objects(std::make_shared<arrow::NullArray>(array->length()));
      }
      ARROW_RETURN_NOT_OK(EnsureCompute());
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(*dict.dictionary(), *dict.indices()));
      return Convert(taken, policy, declared);
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW: {
      if (declared == ScalarType::kBytes && type.id() != arrow::Type::STRING_VIEW) {
        // Text stored for a bytes field (Petastorm's np.bytes_ with ScalarCodec(StringType())):
        // the same buffers seen as binary, so that it reads back as bytes.
        auto data = array->data()->Copy();
        data->type = type.id() == arrow::Type::STRING ? arrow::binary() : arrow::large_binary();
        return Convert(arrow::MakeArray(data), policy, declared);
      }
      if (array->null_count() > 0 && policy == NullPolicy::kBatch) return Objects(array);
      ARROW_ASSIGN_OR_RAISE(NumpyColumn c, Text(*array));
      if (policy == NullPolicy::kRows) c.null_rows = NullRows(*array);
      return c;
    }
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return Objects(array, policy == NullPolicy::kRows && declared == ScalarType::kBytes
                                ? std::optional<ScalarType>(ScalarType::kBytes)
                                : std::nullopt);
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256:
    case arrow::Type::STRUCT:
    case arrow::Type::MAP:
      return Objects(array);
    case arrow::Type::FIXED_SIZE_LIST:
      if (policy == NullPolicy::kRows) return Objects(array);
      return FixedSizeList(static_cast<const arrow::FixedSizeListArray&>(*array), policy);
    case arrow::Type::LIST:
      if (policy == NullPolicy::kRows) return Objects(array);
      return VariableList(static_cast<const arrow::ListArray&>(*array));
    case arrow::Type::LARGE_LIST:
      if (policy == NullPolicy::kRows) return Objects(array);
      return VariableList(static_cast<const arrow::LargeListArray&>(*array));
    default:
      break;
  }
  if (auto physical = PhysicalType(type)) return Fixed(*array, *physical, policy, declared);
  ARROW_RETURN_NOT_OK(NumpyTypeOf("", type).status());
  return arrow::Status::NotImplemented("No numpy form for Arrow type ", type.ToString());
}

}  // namespace

arrow::Result<NumpyType> NumpyTypeOf(const std::string& name, const arrow::DataType& type) {
  auto scalar = [](ScalarType t) { return NumpyType{t, {}}; };
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
      return NumpyTypeOf(name, *static_cast<const arrow::DictionaryType&>(type).value_type());
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& list = static_cast<const arrow::BaseListType&>(type);
      ARROW_ASSIGN_OR_RAISE(NumpyType element, NumpyTypeOf(name, *list.value_type()));
      Dim dim = std::nullopt;
      if (type.id() == arrow::Type::FIXED_SIZE_LIST) {
        dim = static_cast<const arrow::FixedSizeListType&>(type).list_size();
      }
      FieldShape shape{dim};
      shape.insert(shape.end(), element.shape.begin(), element.shape.end());
      return NumpyType{element.dtype, std::move(shape)};
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

arrow::Result<NumpyColumn> ArrowToNumpy(const std::shared_ptr<arrow::Array>& array, NullPolicy policy,
                                        std::optional<ScalarType> declared) {
  if (!array) return arrow::Status::Invalid("ArrowToNumpy: no array");
  return Convert(array, policy, declared);
}

arrow::Result<std::optional<Tensor>> StackTensors(const std::vector<std::optional<Tensor>>& tensors) {
  if (tensors.empty() || !tensors[0]) return std::optional<Tensor>();
  const Tensor& first = *tensors[0];
  for (const auto& t : tensors) {
    if (!t || t->shape != first.shape || !(t->element == first.element)) return std::optional<Tensor>();
  }
  const int64_t n = static_cast<int64_t>(tensors.size());
  const int64_t row_bytes = first.nbytes();
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), first.shape.begin(), first.shape.end());
  // Consecutive slices of one buffer (all row-major): a view of that buffer.
  bool consecutive = row_bytes > 0 && first.data && first.data->parent();
  for (int64_t i = 0; consecutive && i < n; ++i) {
    const Tensor& t = *tensors[static_cast<size_t>(i)];
    consecutive = t.data && !(t.fortran_order && t.shape.size() > 1) &&
                  t.data->data() == first.data->data() + i * row_bytes;
  }
  if (consecutive) {
    const std::shared_ptr<arrow::Buffer>& parent = first.data->parent();
    const int64_t offset = first.data->data() - parent->data();
    if (offset >= 0 && offset + n * row_bytes <= parent->size()) {
      Tensor out;
      out.element = first.element;
      out.shape = std::move(shape);
      out.data = arrow::SliceBuffer(parent, offset, n * row_bytes);
      return std::optional<Tensor>(std::move(out));
    }
  }
  ARROW_ASSIGN_OR_RAISE(Tensor out, Tensor::Allocate(first.element, std::move(shape)));
  uint8_t* dst = out.data->mutable_data();
  for (const auto& t : tensors) {
    ARROW_RETURN_NOT_OK(internal::CopyTensorAs(*t, first.element.type, dst));
    dst += row_bytes;
  }
  return std::optional<Tensor>(std::move(out));
}

arrow::Result<NumpyColumn> ColumnToNumpy(const Field& field, const DecodedColumn& column, int64_t num_rows,
                                         NullPolicy policy) {
  if (field.is_tensor()) {
    if (static_cast<int64_t>(column.tensors.size()) != num_rows) {
      return arrow::Status::Invalid("Field '", field.name, "' has ", column.tensors.size(), " tensors for ",
                                    num_rows, " rows");
    }
    NumpyColumn c;
    c.length = num_rows;
    if (policy == NullPolicy::kBatch) {
      ARROW_ASSIGN_OR_RAISE(auto stacked, StackTensors(column.tensors));
      if (stacked) {
        c.kind = NumpyColumn::Kind::kTensor;
        c.tensor = std::move(*stacked);
        return c;
      }
    }
    c.kind = NumpyColumn::Kind::kTensorRows;
    c.tensors = column.tensors;
    return c;
  }
  if (!column.values || column.values->length() != num_rows) {
    return arrow::Status::Invalid("Field '", field.name, "' does not have ", num_rows, " values");
  }
  auto converted = ArrowToNumpy(column.values, policy, field.dtype);
  if (!converted.ok()) {
    return converted.status().WithMessage("Field '", field.name, "': ", converted.status().message());
  }
  return converted;
}

}  // namespace petastorm
