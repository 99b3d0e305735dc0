// Collate: a batch column flattened level by level into values + offsets (Arrow arrays through
// their accessors, per-row tensors, dense columns), and the padded form made from those.
#include "petastorm/collate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include <arrow/array.h>
#include <arrow/array/array_binary.h>
#include <arrow/array/array_nested.h>
#include <arrow/buffer.h>
#include <arrow/type.h>

#include "batcher/assembly_internal.h"
#include "convert/element_copy_internal.h"
#include "petastorm/batcher.h"

namespace petastorm {

namespace {

using internal::CanConvert;
using internal::CopyElements;
using internal::CopyTensorAs;
using internal::ElementsOf;
using internal::IsNumeric;

// "field 'f'", "field 'f' at 'f.b'".
std::string Where(const std::string& name, const std::vector<std::string>& path) {
  std::string out = "collate: field '" + name + "'";
  if (!path.empty()) {
    out += " at '" + name;
    for (const auto& p : path) out += "." + p;
    out += "'";
  }
  return out;
}

// What stands at position i of a level: a row of the batch at the top, else an item (of a
// struct's field, counted over the batch's flattened items, or of a list level).
std::string Position(const std::vector<std::string>& path, int level, int64_t i) {
  if (level == 0) return (path.empty() ? "row " : "item ") + std::to_string(i);
  return "item " + std::to_string(i) + " of list level " + std::to_string(level);
}

std::string OffsetsName(int level) { return level == 0 ? "offsets" : "offsets_" + std::to_string(level); }

std::optional<ScalarType> NumericType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL: return ScalarType::kBool;
    case arrow::Type::INT8: return ScalarType::kInt8;
    case arrow::Type::INT16: return ScalarType::kInt16;
    case arrow::Type::INT32: return ScalarType::kInt32;
    case arrow::Type::INT64: return ScalarType::kInt64;
    case arrow::Type::UINT8: return ScalarType::kUInt8;
    case arrow::Type::UINT16: return ScalarType::kUInt16;
    case arrow::Type::UINT32: return ScalarType::kUInt32;
    case arrow::Type::UINT64: return ScalarType::kUInt64;
    case arrow::Type::HALF_FLOAT: return ScalarType::kFloat16;
    case arrow::Type::FLOAT: return ScalarType::kFloat32;
    case arrow::Type::DOUBLE: return ScalarType::kFloat64;
    default: return std::nullopt;
  }
}

// Fixed-size lists down to numbers: their sizes (the trailing dimensions) and the numbers' type.
std::optional<std::pair<std::vector<int64_t>, ScalarType>> FixedShapeOfNumbers(const arrow::DataType& type) {
  std::vector<int64_t> dims;
  const arrow::DataType* t = &type;
  while (t->id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& fsl = static_cast<const arrow::FixedSizeListType&>(*t);
    dims.push_back(fsl.list_size());
    t = fsl.value_type().get();
  }
  auto number = NumericType(*t);
  if (!number) return std::nullopt;
  return std::make_pair(std::move(dims), *number);
}

// Decodes UTF-8 to code points; false (and `bad` the byte offset) for what is not UTF-8.
bool DecodeUtf8(const uint8_t* s, int64_t n, int32_t* out, int64_t* count, int64_t* bad) {
  int64_t k = 0;
  for (int64_t i = 0; i < n;) {
    const uint8_t c = s[i];
    uint32_t cp;
    int extra;
    if (c < 0x80) {
      cp = c, extra = 0;
    } else if (c >= 0xC2 && c < 0xE0) {
      cp = c & 0x1F, extra = 1;
    } else if (c >= 0xE0 && c < 0xF0) {
      cp = c & 0x0F, extra = 2;
    } else if (c >= 0xF0 && c < 0xF5) {
      cp = c & 0x07, extra = 3;
    } else {
      *bad = i;
      return false;
    }
    for (int j = 1; j <= extra; ++j) {
      if (i + j >= n || (s[i + j] & 0xC0) != 0x80) {
        *bad = i;
        return false;
      }
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *bad = i;
      return false;
    }
    out[k++] = static_cast<int32_t>(cp);
    i += extra + 1;
  }
  *count = k;
  return true;
}

arrow::Result<Tensor> OffsetsTensor(int64_t rows) {
  return Tensor::Allocate(ElementType::Of(ScalarType::kInt64), {rows + 1});
}

class Flattener {
 public:
  Flattener(const std::string& name, bool promote, std::vector<CollatedPart>* out)
      : name_(name), promote_(promote), out_(out) {}

  arrow::Status Array(const arrow::Array& array, const std::vector<std::string>& path, int level) {
    if (array.null_count() > 0) {
      int64_t i = 0;
      while (i < array.length() && !array.IsNull(i)) ++i;
      return arrow::Status::TypeError(Where(name_, path), ": a null at ", Position(path, level, i),
                                      " (collate takes no nulls: fill them before, or use the 'list' policy)");
    }
    const arrow::DataType& type = *array.type();
    // Fixed-size lists of numbers are trailing dimensions, but for a batch column of them
    // (the rows' one level).
    const bool column_itself = level == 0 && path.empty();
    auto fixed = column_itself ? std::nullopt : FixedShapeOfNumbers(type);
    if (fixed) {
      return Numbers(array, fixed->first, fixed->second, path);
    }
    switch (type.id()) {
      case arrow::Type::LIST:
        return List(static_cast<const arrow::ListArray&>(array), path, level);
      case arrow::Type::LARGE_LIST:
        return List(static_cast<const arrow::LargeListArray&>(array), path, level);
      case arrow::Type::FIXED_SIZE_LIST: {
        const auto& list = static_cast<const arrow::FixedSizeListArray&>(array);
        const int64_t k = list.value_length();
        ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(list.length()));
        auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
        for (int64_t i = 0; i <= list.length(); ++i) o[i] = i * k;
        Emit(path, OffsetsName(level), std::move(offsets));
        return Array(*list.values()->Slice(list.offset() * k, list.length() * k), path, level + 1);
      }
      case arrow::Type::STRING:
        return Text(static_cast<const arrow::StringArray&>(array), path, level);
      case arrow::Type::LARGE_STRING:
        return Text(static_cast<const arrow::LargeStringArray&>(array), path, level);
      case arrow::Type::BINARY:
        return Bytes(static_cast<const arrow::BinaryArray&>(array), path, level);
      case arrow::Type::LARGE_BINARY:
        return Bytes(static_cast<const arrow::LargeBinaryArray&>(array), path, level);
      case arrow::Type::FIXED_SIZE_BINARY: {
        const auto& fixed = static_cast<const arrow::FixedSizeBinaryArray&>(array);
        const int64_t w = fixed.byte_width();
        ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(fixed.length()));
        auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
        for (int64_t i = 0; i <= fixed.length(); ++i) o[i] = i * w;
        Emit(path, OffsetsName(level), std::move(offsets));
        ARROW_ASSIGN_OR_RAISE(Tensor values,
                              Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {fixed.length() * w}));
        if (fixed.length() > 0) {
          std::memcpy(values.data->mutable_data(), fixed.GetValue(0), static_cast<size_t>(fixed.length() * w));
        }
        Emit(path, "values", std::move(values));
        return arrow::Status::OK();
      }
      case arrow::Type::STRUCT: {
        const auto& st = static_cast<const arrow::StructArray&>(array);
        for (int c = 0; c < st.num_fields(); ++c) {
          std::vector<std::string> child_path = path;
          child_path.push_back(type.field(c)->name());
          ARROW_RETURN_NOT_OK(Array(*st.field(c), child_path, 0));  // field(): sliced as the struct
        }
        return arrow::Status::OK();
      }
      default:
        return arrow::Status::TypeError(Where(name_, path), ": values of type ", type.ToString(),
                                        " have no tensor form (collate takes strings, bytes, numbers and "
                                        "lists and structs of them)");
    }
  }

 private:
  void Emit(const std::vector<std::string>& path, std::string last, Tensor tensor) {
    CollatedPart part;
    part.path = path;
    part.path.push_back(std::move(last));
    part.tensor = std::move(tensor);
    out_->push_back(std::move(part));
  }

  // Numbers, or fixed-size lists of them (`dims` the sizes, outermost first): values (n, *dims).
  arrow::Status Numbers(const arrow::Array& array, const std::vector<int64_t>& dims, ScalarType type,
                        const std::vector<std::string>& path) {
    std::shared_ptr<arrow::Array> leaf = array.Slice(0, array.length());
    int64_t elements = 1;
    for (int64_t k : dims) {
      const auto& list = static_cast<const arrow::FixedSizeListArray&>(*leaf);
      leaf = list.values()->Slice(list.offset() * k, list.length() * k);
      if (leaf->null_count() > 0) {
        return arrow::Status::TypeError(Where(name_, path), ": a null inside a fixed-size list "
                                        "(collate takes no nulls)");
      }
      elements *= k;
    }
    const ScalarType out_type = internal::Promote(type, promote_);
    std::vector<int64_t> shape{array.length()};
    shape.insert(shape.end(), dims.begin(), dims.end());
    ARROW_ASSIGN_OR_RAISE(Tensor values, Tensor::Allocate(ElementType::Of(out_type), shape));
    CopyElements(ElementsOf(*leaf->data(), type), 0, array.length() * elements, out_type,
                 values.data->mutable_data());
    Emit(path, "values", std::move(values));
    return arrow::Status::OK();
  }

  template <typename ListArrayT>
  arrow::Status List(const ListArrayT& list, const std::vector<std::string>& path, int level) {
    const int64_t n = list.length();
    ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(n));
    auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
    const int64_t base = n > 0 ? list.value_offset(0) : 0;
    for (int64_t i = 0; i <= n; ++i) o[i] = n > 0 ? list.value_offset(i) - base : 0;
    Emit(path, OffsetsName(level), std::move(offsets));
    return Array(*list.values()->Slice(base, o[n]), path, level + 1);
  }

  template <typename BinaryArrayT>
  arrow::Status Bytes(const BinaryArrayT& array, const std::vector<std::string>& path, int level) {
    const int64_t n = array.length();
    ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(n));
    auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
    const int64_t base = n > 0 ? array.value_offset(0) : 0;
    for (int64_t i = 0; i <= n; ++i) o[i] = n > 0 ? array.value_offset(i) - base : 0;
    // Copied: a writable tensor of the batcher's own (Arrow's buffers are read-only).
    ARROW_ASSIGN_OR_RAISE(Tensor values, Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {o[n]}));
    if (o[n] > 0) std::memcpy(values.data->mutable_data(), array.value_data()->data() + base, static_cast<size_t>(o[n]));
    Emit(path, OffsetsName(level), std::move(offsets));
    Emit(path, "values", std::move(values));
    return arrow::Status::OK();
  }

  template <typename StringArrayT>
  arrow::Status Text(const StringArrayT& array, const std::vector<std::string>& path, int level) {
    const int64_t n = array.length();
    const int64_t base = n > 0 ? array.value_offset(0) : 0;
    const int64_t bytes = n > 0 ? array.value_offset(n) - base : 0;
    ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(n));
    auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
    // At most one code point per byte; the buffer is cut to the count after.
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::ResizableBuffer> buffer,
                          arrow::AllocateResizableBuffer(bytes * 4));
    auto* cps = reinterpret_cast<int32_t*>(buffer->mutable_data());
    int64_t total = 0;
    o[0] = 0;
    for (int64_t i = 0; i < n; ++i) {
      const std::string_view v = array.GetView(i);
      int64_t count = 0, bad = 0;
      if (!DecodeUtf8(reinterpret_cast<const uint8_t*>(v.data()), static_cast<int64_t>(v.size()), cps + total,
                      &count, &bad)) {
        return arrow::Status::Invalid(Where(name_, path), ": ", Position(path, level, i),
                                      " is not UTF-8 (at byte ", bad, ")");
      }
      total += count;
      o[i + 1] = total;
    }
    ARROW_RETURN_NOT_OK(buffer->Resize(total * 4, /*shrink_to_fit=*/true));
    Tensor values;
    values.element = ElementType::Of(ScalarType::kInt32);
    values.shape = {total};
    values.data = std::move(buffer);
    Emit(path, OffsetsName(level), std::move(offsets));
    Emit(path, "values", std::move(values));
    return arrow::Status::OK();
  }

  const std::string& name_;
  const bool promote_;
  std::vector<CollatedPart>* out_;
};

// Per-row tensors (rows of one numeric type, the same inner dimensions): one level.
arrow::Status FlattenTensors(const std::string& name, const std::vector<std::optional<Tensor>>& rows,
                             std::vector<CollatedPart>* out) {
  const Tensor* first = nullptr;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r]) return arrow::Status::TypeError(Where(name, {}), ": a null at row ", r, " (collate takes no nulls)");
    const Tensor& t = *rows[r];
    if (!IsNumeric(t.element.type)) {
      return arrow::Status::TypeError(Where(name, {}), ": arrays of ", t.element.TypeString(),
                                      " have no tensor form (collate takes numbers)");
    }
    if (t.shape.empty()) return arrow::Status::TypeError(Where(name, {}), ": row ", r, " is a scalar, not a list");
    if (!first) {
      first = &t;
    } else if (t.element.type != first->element.type ||
               !std::equal(t.shape.begin() + 1, t.shape.end(), first->shape.begin() + 1, first->shape.end())) {
      return arrow::Status::TypeError(Where(name, {}), ": rows of shapes ", ShapeToString(first->shape), " and ",
                                      ShapeToString(t.shape),
                                      ": collate lines rows up along their first dimension only, the "
                                      "others must agree");
    }
  }
  std::vector<int64_t> shape{0};
  if (first) shape.insert(shape.end(), first->shape.begin() + 1, first->shape.end());
  ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(static_cast<int64_t>(rows.size())));
  auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
  o[0] = 0;
  for (size_t r = 0; r < rows.size(); ++r) o[r + 1] = o[r] + rows[r]->shape[0];
  shape[0] = o[rows.size()];
  const ElementType element = first ? first->element : ElementType::Of(ScalarType::kFloat32);
  ARROW_ASSIGN_OR_RAISE(Tensor values, Tensor::Allocate(element, shape));
  uint8_t* dst = values.data->mutable_data();
  for (const auto& row : rows) {
    ARROW_RETURN_NOT_OK(CopyTensorAs(*row, element.type, dst));
    dst += row->nbytes();
  }
  out->push_back({{"offsets"}, std::move(offsets)});
  out->push_back({{"values"}, std::move(values)});
  return arrow::Status::OK();
}

// A dense column (rows, n, *inner): every row n long; the values are its buffer when that is
// writable (and row-major), else a copy.
arrow::Status FlattenDense(const std::string& name, const Tensor& dense, std::vector<CollatedPart>* out) {
  if (dense.shape.size() < 2) {
    return arrow::Status::TypeError(Where(name, {}), ": holds scalars, not lists (nothing to collate)");
  }
  Tensor values = dense;
  if (values.fortran_order) {
    ARROW_ASSIGN_OR_RAISE(values, internal::RowMajor(values));
  }
  if (values.data && !values.data->is_mutable()) {
    ARROW_ASSIGN_OR_RAISE(Tensor copy, Tensor::Allocate(values.element, values.shape));
    std::memcpy(copy.data->mutable_data(), values.data->data(), static_cast<size_t>(values.nbytes()));
    values = std::move(copy);
  }
  const int64_t rows = dense.shape[0], n = dense.shape[1];
  values.shape.erase(values.shape.begin());
  values.shape[0] = rows * n;
  ARROW_ASSIGN_OR_RAISE(Tensor offsets, OffsetsTensor(rows));
  auto* o = reinterpret_cast<int64_t*>(offsets.data->mutable_data());
  for (int64_t i = 0; i <= rows; ++i) o[i] = i * n;
  out->push_back({{"offsets"}, std::move(offsets)});
  out->push_back({{"values"}, std::move(values)});
  return arrow::Status::OK();
}

// One element of `type` equal to `value`, as bytes; Invalid when it cannot hold it exactly.
template <typename T>
bool Exact(double value, uint8_t* out) {
  if (!(value >= static_cast<double>(std::numeric_limits<T>::lowest()) &&
        value <= static_cast<double>(std::numeric_limits<T>::max()))) {
    return false;
  }
  const T v = static_cast<T>(value);
  if (static_cast<double>(v) != value) return false;
  std::memcpy(out, &v, sizeof(T));
  return true;
}

arrow::Result<std::array<uint8_t, 16>> PadElement(const std::string& name, ScalarType type, double value) {
  std::array<uint8_t, 16> out{};
  if (value == 0 && !std::signbit(value)) return out;
  bool ok = false;
  switch (type) {
    case ScalarType::kBool: ok = value == 1, out[0] = 1; break;
    case ScalarType::kInt8: ok = Exact<int8_t>(value, out.data()); break;
    case ScalarType::kInt16: ok = Exact<int16_t>(value, out.data()); break;
    case ScalarType::kInt32: ok = Exact<int32_t>(value, out.data()); break;
    case ScalarType::kInt64: ok = Exact<int64_t>(value, out.data()); break;
    case ScalarType::kUInt8: ok = Exact<uint8_t>(value, out.data()); break;
    case ScalarType::kUInt16: ok = Exact<uint16_t>(value, out.data()); break;
    case ScalarType::kUInt32: ok = Exact<uint32_t>(value, out.data()); break;
    case ScalarType::kUInt64: ok = Exact<uint64_t>(value, out.data()); break;
    case ScalarType::kFloat32: {
      const float f = static_cast<float>(value);
      ok = static_cast<double>(f) == value || std::isnan(value) || std::isinf(value);
      std::memcpy(out.data(), &f, sizeof f);
      break;
    }
    case ScalarType::kFloat64: ok = true, std::memcpy(out.data(), &value, sizeof value); break;
    default: break;  // float16, complex: 0 only
  }
  if (!ok) {
    std::ostringstream shown;
    shown << value;
    return arrow::Status::Invalid(Where(name, {}), ": pad_value ", shown.str(), " is not exactly a ",
                                  ScalarTypeName(type), " value");
  }
  return out;
}

arrow::Result<std::vector<CollatedPart>> Pad(const std::string& name, const Tensor& values, const Tensor& offsets,
                                             const CollateOptions& options) {
  const int64_t rows = offsets.shape[0] - 1;
  const auto* o = reinterpret_cast<const int64_t*>(offsets.data->data());
  std::vector<int64_t> inner(values.shape.begin() + 1, values.shape.end());
  int64_t inner_elements = 1;
  for (int64_t d : inner) inner_elements *= d;
  const int64_t row_bytes = inner_elements * values.element.itemsize;
  int64_t longest = 0;
  for (int64_t r = 0; r < rows; ++r) longest = std::max(longest, o[r + 1] - o[r]);
  int64_t width = longest;
  if (options.max_length >= 0) {
    width = options.max_length;
    if (longest > width && !options.truncate) {
      int64_t r = 0;
      while (o[r + 1] - o[r] <= width) ++r;
      return arrow::Status::Invalid(Where(name, {}), ": row ", r, " has ", o[r + 1] - o[r],
                                    " elements, more than max_length=", width, " (truncate cuts it)");
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto pad, PadElement(name, values.element.type, options.pad_value));
  std::vector<int64_t> shape{rows, width};
  shape.insert(shape.end(), inner.begin(), inner.end());
  ARROW_ASSIGN_OR_RAISE(Tensor padded, Tensor::Allocate(values.element, shape));
  ARROW_ASSIGN_OR_RAISE(Tensor lengths, Tensor::Allocate(ElementType::Of(ScalarType::kInt64), {rows}));
  ARROW_ASSIGN_OR_RAISE(Tensor mask, Tensor::Allocate(ElementType::Of(ScalarType::kBool), {rows, width}));
  uint8_t* dst = padded.data->mutable_data();
  auto* len = reinterpret_cast<int64_t*>(lengths.data->mutable_data());
  uint8_t* m = mask.data->mutable_data();
  const uint8_t* src = values.data ? values.data->data() : nullptr;
  const int64_t itemsize = values.element.itemsize;
  const bool zero_pad = std::all_of(pad.begin(), pad.end(), [](uint8_t b) { return b == 0; });
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = std::min(o[r + 1] - o[r], width);
    len[r] = n;
    uint8_t* row = dst + r * width * row_bytes;
    if (n > 0) std::memcpy(row, src + o[r] * row_bytes, static_cast<size_t>(n * row_bytes));
    if (zero_pad) {
      std::memset(row + n * row_bytes, 0, static_cast<size_t>((width - n) * row_bytes));
    } else {
      for (int64_t e = n * inner_elements; e < width * inner_elements; ++e) {
        std::memcpy(row + e * itemsize, pad.data(), static_cast<size_t>(itemsize));
      }
    }
    std::memset(m + r * width, 1, static_cast<size_t>(n));
    std::memset(m + r * width + n, 0, static_cast<size_t>(width - n));
  }
  std::vector<CollatedPart> out;
  out.push_back({{"padded"}, std::move(padded)});
  out.push_back({{"lengths"}, std::move(lengths)});
  out.push_back({{"mask"}, std::move(mask)});
  return out;
}

}  // namespace

arrow::Status ValidateCollateOptions(const std::string& name, const CollateOptions& options) {
  if (options.max_length < -1) {
    return arrow::Status::Invalid(Where(name, {}), ": max_length must be >= 0, got ", options.max_length);
  }
  if (options.truncate && options.max_length < 0) {
    return arrow::Status::Invalid(Where(name, {}), ": truncate needs a max_length");
  }
  if (options.policy == CollateOptions::Policy::kOffsets && (options.max_length >= 0 || options.pad_value != 0)) {
    return arrow::Status::Invalid(Where(name, {}), ": max_length and pad_value are options of 'padded', not 'offsets'");
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<CollatedPart>> Collate(const std::string& name, const BatchColumn& column,
                                                 const CollateOptions& options) {
  ARROW_RETURN_NOT_OK(ValidateCollateOptions(name, options));
  std::vector<CollatedPart> parts;
  switch (column.kind) {
    case BatchColumn::Kind::kDense:
      if (!column.dense) return arrow::Status::Invalid(Where(name, {}), ": no dense tensor");
      ARROW_RETURN_NOT_OK(FlattenDense(name, *column.dense, &parts));
      break;
    case BatchColumn::Kind::kTensors:
      ARROW_RETURN_NOT_OK(FlattenTensors(name, column.tensors, &parts));
      break;
    case BatchColumn::Kind::kArray: {
      if (!column.array) return arrow::Status::Invalid(Where(name, {}), ": no array");
      if (NumericType(*column.array->type())) {
        return arrow::Status::TypeError(Where(name, {}), ": holds scalars, not lists (nothing to collate)");
      }
      Flattener flattener(name, options.promote_for_torch, &parts);
      ARROW_RETURN_NOT_OK(flattener.Array(*column.array, {}, 0));
      break;
    }
    case BatchColumn::Kind::kCollated:
      return arrow::Status::Invalid(Where(name, {}), ": collated already");
  }
  if (options.policy == CollateOptions::Policy::kOffsets) return parts;
  const bool one_level = parts.size() == 2 && parts[0].path == std::vector<std::string>{"offsets"} &&
                         parts[1].path == std::vector<std::string>{"values"};
  if (!one_level) {
    int levels = 0;
    for (const auto& p : parts) levels += p.path.back().rfind("offsets", 0) == 0;
    return arrow::Status::TypeError(Where(name, {}), ": 'padded' takes one level of lists (strings, bytes, "
                                    "lists of numbers); this column has ", levels, " offsets levels",
                                    parts.size() > static_cast<size_t>(levels) + 1 ? " and struct fields" : "",
                                    ": use 'offsets'");
  }
  return Pad(name, parts[1].tensor, parts[0].tensor, options);
}

}  // namespace petastorm
