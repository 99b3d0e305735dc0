#include "predicate/cell_internal.h"

#include <charconv>
#include <cstring>
#include <limits>

#include <arrow/array/array_decimal.h>
#include <arrow/type.h>
#include <arrow/util/float16.h>

#include "predicate/python_text_internal.h"
#include "util/utf8_internal.h"

namespace petastorm::internal {

namespace {

std::string_view StripTrailingNuls(std::string_view s) {
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<int64_t> ScaleToNs(int64_t value, int64_t ns_per_unit) {
  int64_t out;
  if (__builtin_mul_overflow(value, ns_per_unit, &out)) return std::nullopt;
  return out;
}

int64_t NsPerUnit(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND: return 1000000000;
    case arrow::TimeUnit::MILLI: return 1000000;
    case arrow::TimeUnit::MICRO: return 1000;
    default: return 1;
  }
}

// A number converted to a numpy dtype as ndarray.astype / dtype(value) does.
template <typename T>
Cell NumberAs(ScalarType dtype, T v) {
  auto as_int = [&](auto tag) -> Cell {
    using I = decltype(tag);
    I converted;
    if constexpr (std::is_floating_point_v<T>) {
      // Out of the integer range numpy's cast is platform-defined; keep the float.
      const long double wide = v;
      if (!(wide > static_cast<long double>(std::numeric_limits<I>::min()) - 1 &&
            wide < static_cast<long double>(std::numeric_limits<I>::max()) + 1)) {
        return FloatCell{static_cast<double>(v), sizeof(T) == 4 ? 32 : 64};
      }
      converted = static_cast<I>(wide);
    } else {
      converted = static_cast<I>(v);
    }
    if constexpr (std::is_signed_v<I>) {
      return static_cast<int64_t>(converted);
    } else {
      return static_cast<uint64_t>(converted);
    }
  };
  switch (dtype) {
    case ScalarType::kBool: return v != 0;
    case ScalarType::kInt8: return as_int(int8_t{});
    case ScalarType::kInt16: return as_int(int16_t{});
    case ScalarType::kInt32: return as_int(int32_t{});
    case ScalarType::kInt64: return as_int(int64_t{});
    case ScalarType::kUInt8: return as_int(uint8_t{});
    case ScalarType::kUInt16: return as_int(uint16_t{});
    case ScalarType::kUInt32: return as_int(uint32_t{});
    case ScalarType::kUInt64: return as_int(uint64_t{});
    case ScalarType::kFloat16:
      return FloatCell{arrow::util::Float16::FromDouble(static_cast<double>(v)).ToDouble(), 16};
    case ScalarType::kFloat32: return FloatCell{static_cast<double>(static_cast<float>(v)), 32};
    case ScalarType::kFloat64: return FloatCell{static_cast<double>(v), 64};
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    return FloatCell{static_cast<double>(v), sizeof(T) == 4 ? 32 : 64};
  } else if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<int64_t>(v);
  } else {
    return static_cast<uint64_t>(v);
  }
}

template <typename ArrayType>
const ArrayType& As(const arrow::Array& array) {
  return static_cast<const ArrayType&>(array);
}

// Row `i` of `array`, a column of a field of numpy type `dtype`.
arrow::Result<Cell> ReadCell(const arrow::Array& array, int64_t i, ScalarType dtype,
                             const std::string& where) {
  if (array.IsNull(i)) return std::monostate{};
  switch (array.type_id()) {
    case arrow::Type::BOOL: return NumberAs(dtype, As<arrow::BooleanArray>(array).Value(i));
    case arrow::Type::INT8: return NumberAs(dtype, As<arrow::Int8Array>(array).Value(i));
    case arrow::Type::INT16: return NumberAs(dtype, As<arrow::Int16Array>(array).Value(i));
    case arrow::Type::INT32: return NumberAs(dtype, As<arrow::Int32Array>(array).Value(i));
    case arrow::Type::INT64: return NumberAs(dtype, As<arrow::Int64Array>(array).Value(i));
    case arrow::Type::UINT8: return NumberAs(dtype, As<arrow::UInt8Array>(array).Value(i));
    case arrow::Type::UINT16: return NumberAs(dtype, As<arrow::UInt16Array>(array).Value(i));
    case arrow::Type::UINT32: return NumberAs(dtype, As<arrow::UInt32Array>(array).Value(i));
    case arrow::Type::UINT64: return NumberAs(dtype, As<arrow::UInt64Array>(array).Value(i));
    case arrow::Type::HALF_FLOAT: {
      const double v =
          arrow::util::Float16::FromBits(As<arrow::HalfFloatArray>(array).Value(i)).ToDouble();
      if (dtype == ScalarType::kFloat16) return FloatCell{v, 16};
      return NumberAs(dtype, v);
    }
    case arrow::Type::FLOAT: return NumberAs(dtype, As<arrow::FloatArray>(array).Value(i));
    case arrow::Type::DOUBLE: return NumberAs(dtype, As<arrow::DoubleArray>(array).Value(i));
    case arrow::Type::STRING: return StrCell{StripTrailingNuls(As<arrow::StringArray>(array).GetView(i))};
    case arrow::Type::LARGE_STRING:
      return StrCell{StripTrailingNuls(As<arrow::LargeStringArray>(array).GetView(i))};
    case arrow::Type::STRING_VIEW:
      return StrCell{StripTrailingNuls(As<arrow::StringViewArray>(array).GetView(i))};
    case arrow::Type::BINARY: return BytesCell{StripTrailingNuls(As<arrow::BinaryArray>(array).GetView(i))};
    case arrow::Type::LARGE_BINARY:
      return BytesCell{StripTrailingNuls(As<arrow::LargeBinaryArray>(array).GetView(i))};
    case arrow::Type::BINARY_VIEW:
      return BytesCell{StripTrailingNuls(As<arrow::BinaryViewArray>(array).GetView(i))};
    case arrow::Type::FIXED_SIZE_BINARY:
      return BytesCell{StripTrailingNuls(As<arrow::FixedSizeBinaryArray>(array).GetView(i))};
    case arrow::Type::DECIMAL32: return DecimalCell{As<arrow::Decimal32Array>(array).FormatValue(i)};
    case arrow::Type::DECIMAL64: return DecimalCell{As<arrow::Decimal64Array>(array).FormatValue(i)};
    case arrow::Type::DECIMAL128: return DecimalCell{As<arrow::Decimal128Array>(array).FormatValue(i)};
    case arrow::Type::DECIMAL256: return DecimalCell{As<arrow::Decimal256Array>(array).FormatValue(i)};
    case arrow::Type::DATE32:
      return DatetimeCell{ScaleToNs(As<arrow::Date32Array>(array).Value(i), 86400LL * 1000000000)};
    case arrow::Type::DATE64:
      return DatetimeCell{ScaleToNs(As<arrow::Date64Array>(array).Value(i), 1000000)};
    case arrow::Type::TIMESTAMP: {
      const auto& type = static_cast<const arrow::TimestampType&>(*array.type());
      return DatetimeCell{ScaleToNs(As<arrow::TimestampArray>(array).Value(i), NsPerUnit(type.unit()))};
    }
    // Delivered as their integer counts (docs/types.md).
    case arrow::Type::TIME32: return NumberAs(dtype, As<arrow::Time32Array>(array).Value(i));
    case arrow::Type::TIME64: return NumberAs(dtype, As<arrow::Time64Array>(array).Value(i));
    case arrow::Type::DURATION: return NumberAs(dtype, As<arrow::DurationArray>(array).Value(i));
    case arrow::Type::DICTIONARY: {
      const auto& dictionary = As<arrow::DictionaryArray>(array);
      return ReadCell(*dictionary.dictionary(), dictionary.GetValueIndex(i), dtype, where);
    }
    default:
      return arrow::Status::NotImplemented(where, ": cannot compare values of column type ",
                                           array.type()->ToString());
  }
}

bool IsListType(arrow::Type::type id) {
  return id == arrow::Type::LIST || id == arrow::Type::LARGE_LIST || id == arrow::Type::FIXED_SIZE_LIST;
}

// Whether any element of the list in row `i` of `array` (nested lists flattened) is in `set`:
// np.in1d(value, values).any() on the array make_batch_reader delivers.
arrow::Result<bool> AnyListElementIn(const arrow::Array& array, int64_t i, ScalarType dtype,
                                     const ValueSet& set, const std::string& where) {
  int64_t begin = 0, length = 0;
  std::shared_ptr<arrow::Array> values;
  switch (array.type_id()) {
    case arrow::Type::LIST: {
      const auto& list = As<arrow::ListArray>(array);
      begin = list.value_offset(i), length = list.value_length(i), values = list.values();
      break;
    }
    case arrow::Type::LARGE_LIST: {
      const auto& list = As<arrow::LargeListArray>(array);
      begin = list.value_offset(i), length = list.value_length(i), values = list.values();
      break;
    }
    default: {
      const auto& list = As<arrow::FixedSizeListArray>(array);
      begin = list.value_offset(i), length = list.value_length(i), values = list.values();
      break;
    }
  }
  for (int64_t j = begin; j < begin + length; ++j) {
    if (IsListType(values->type_id())) {
      if (values->IsNull(j)) continue;
      ARROW_ASSIGN_OR_RAISE(bool found, AnyListElementIn(*values, j, dtype, set, where));
      if (found) return true;
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*values, j, dtype, where));
    if (CellIn(cell, set)) return true;
  }
  return false;
}

bool CellIn(const Cell& cell, const ValueSet& set) {
  struct Visitor {
    const ValueSet& set;
    bool operator()(std::monostate) const { return set.has_null(); }
    bool operator()(bool b) const { return set.ContainsInt(b ? 1 : 0); }
    bool operator()(int64_t v) const { return set.ContainsInt(v); }
    bool operator()(uint64_t v) const { return set.ContainsUInt(v); }
    bool operator()(const FloatCell& f) const { return set.ContainsDouble(f.value); }
    bool operator()(const StrCell& s) const { return set.ContainsString(s.text); }
    bool operator()(const BytesCell& b) const { return set.ContainsBytes(b.data); }
    bool operator()(const DecimalCell& d) const { return set.ContainsDecimal(d.text); }
    bool operator()(const DatetimeCell& d) const { return d.ns && set.ContainsDatetimeNs(*d.ns); }
  };
  return std::visit(Visitor{set}, cell);
}

// str(value) of the value the reader delivers for the cell.
arrow::Result<std::string> PythonStr(const Cell& cell, const std::string& where) {
  struct Visitor {
    const std::string& where;
    arrow::Result<std::string> operator()(std::monostate) const { return std::string("None"); }
    arrow::Result<std::string> operator()(bool b) const { return std::string(b ? "True" : "False"); }
    arrow::Result<std::string> operator()(int64_t v) const { return std::to_string(v); }
    arrow::Result<std::string> operator()(uint64_t v) const { return std::to_string(v); }
    arrow::Result<std::string> operator()(const FloatCell& f) const {
      return NumpyFloatStr(f.value, f.bits);
    }
    arrow::Result<std::string> operator()(const StrCell& s) const { return std::string(s.text); }
    arrow::Result<std::string> operator()(const BytesCell& b) const {
      return PythonBytesRepr(b.data);
    }
    arrow::Result<std::string> operator()(const DecimalCell& d) const { return d.text; }
    arrow::Result<std::string> operator()(const DatetimeCell&) const {
      return arrow::Status::NotImplemented(where, ": splitting on datetime64 values is not supported");
    }
  };
  return std::visit(Visitor{where}, cell);
}

// --- Tensor elements --------------------------------------------------------------------

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Nanoseconds per unit of a numpy datetime64 unit ("ns", "10ms", "D"); 0 when the unit has no
// fixed length (years, months) or is not known.
int64_t NsPerDatetimeUnit(std::string_view unit) {
  int64_t count = 1;
  size_t digits = 0;
  while (digits < unit.size() && unit[digits] >= '0' && unit[digits] <= '9') ++digits;
  if (digits > 0) std::from_chars(unit.data(), unit.data() + digits, count);
  unit.remove_prefix(digits);
  int64_t per = 0;
  if (unit == "ns") per = 1;
  else if (unit == "us") per = 1000;
  else if (unit == "ms") per = 1000000;
  else if (unit == "s") per = 1000000000;
  else if (unit == "m") per = 60LL * 1000000000;
  else if (unit == "h") per = 3600LL * 1000000000;
  else if (unit == "D") per = 86400LL * 1000000000;
  else if (unit == "W") per = 7 * 86400LL * 1000000000;
  int64_t out;
  if (per == 0 || __builtin_mul_overflow(count, per, &out)) return 0;
  return out;
}


// Whether any element of `tensor` equals a member of `set` (np.in1d(...).any()).
arrow::Result<bool> AnyElementIn(const Tensor& tensor, const ValueSet& set, const std::string& where) {
  const int64_t n = tensor.num_elements();
  const int64_t size = tensor.element.itemsize;
  const uint8_t* data = tensor.data ? tensor.data->data() : nullptr;
  if (n > 0 && (!data || tensor.data->size() < n * size)) {
    return arrow::Status::Invalid(where, ": a tensor holds fewer bytes than its shape needs");
  }
  auto any = [&](auto&& matches) {
    for (int64_t i = 0; i < n; ++i) {
      if (matches(data + i * size)) return true;
    }
    return false;
  };
  switch (tensor.element.type) {
    case ScalarType::kBool: return any([&](const uint8_t* p) { return set.ContainsInt(*p != 0); });
    case ScalarType::kInt8: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int8_t>(p)); });
    case ScalarType::kInt16: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int16_t>(p)); });
    case ScalarType::kInt32: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int32_t>(p)); });
    case ScalarType::kInt64: return any([&](const uint8_t* p) { return set.ContainsInt(Load<int64_t>(p)); });
    case ScalarType::kUInt8: return any([&](const uint8_t* p) { return set.ContainsUInt(*p); });
    case ScalarType::kUInt16: return any([&](const uint8_t* p) { return set.ContainsUInt(Load<uint16_t>(p)); });
    case ScalarType::kUInt32: return any([&](const uint8_t* p) { return set.ContainsUInt(Load<uint32_t>(p)); });
    case ScalarType::kUInt64: return any([&](const uint8_t* p) { return set.ContainsUInt(Load<uint64_t>(p)); });
    case ScalarType::kFloat16:
      return any([&](const uint8_t* p) {
        return set.ContainsDouble(arrow::util::Float16::FromBits(Load<uint16_t>(p)).ToDouble());
      });
    case ScalarType::kFloat32: return any([&](const uint8_t* p) { return set.ContainsDouble(Load<float>(p)); });
    case ScalarType::kFloat64: return any([&](const uint8_t* p) { return set.ContainsDouble(Load<double>(p)); });
    case ScalarType::kComplex64:
      return any([&](const uint8_t* p) {
        return Load<float>(p + 4) == 0 && set.ContainsDouble(Load<float>(p));
      });
    case ScalarType::kComplex128:
      return any([&](const uint8_t* p) {
        return Load<double>(p + 8) == 0 && set.ContainsDouble(Load<double>(p));
      });
    case ScalarType::kBytes:
      return any([&](const uint8_t* p) {
        return set.ContainsBytes(
            StripTrailingNuls(std::string_view(reinterpret_cast<const char*>(p), size)));
      });
    case ScalarType::kString: {
      std::string text;
      return any([&](const uint8_t* p) {
        int64_t chars = size / 4;
        while (chars > 0 && Load<uint32_t>(p + 4 * (chars - 1)) == 0) --chars;
        text.clear();
        for (int64_t c = 0; c < chars; ++c) {
          if (!AppendUtf8(Load<uint32_t>(p + 4 * c), &text)) return false;
        }
        return set.ContainsString(text);
      });
    }
    case ScalarType::kDatetime64: {
      const int64_t per = NsPerDatetimeUnit(tensor.element.datetime_unit);
      if (per == 0) {
        return arrow::Status::NotImplemented(where, ": cannot compare datetime64[",
                                             tensor.element.datetime_unit, "] values");
      }
      return any([&](const uint8_t* p) {
        const int64_t v = Load<int64_t>(p);
        if (v == std::numeric_limits<int64_t>::min()) return false;  // NaT
        auto ns = ScaleToNs(v, per);
        return ns && set.ContainsDatetimeNs(*ns);
      });
    }
    default:
      return arrow::Status::NotImplemented(where, ": cannot compare tensor elements of type ",
                                           ScalarTypeName(tensor.element.type));
  }
}

}  // namespace petastorm::internal
