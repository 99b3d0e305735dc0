#include "convert/element_copy_internal.h"

#include <cstring>
#include <type_traits>
#include <vector>

#include <arrow/array/data.h>
#include <arrow/type.h>
#include <arrow/util/bit_util.h>

namespace petastorm::internal {

namespace {

// Types converted element by element; float16 and complex are only copied as they are.
bool IsConvertible(ScalarType type) {
  return IsNumeric(type) && type != ScalarType::kFloat16 && type != ScalarType::kComplex64 &&
         type != ScalarType::kComplex128;
}

template <typename Dst, typename Src>
void ConvertLoop(const uint8_t* src, int64_t count, Dst* out) {
  const Src* in = reinterpret_cast<const Src*>(src);
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (std::is_same_v<Dst, bool>) {
      out[i] = in[i] != Src(0);
    } else {
      out[i] = static_cast<Dst>(in[i]);
    }
  }
}

template <typename Dst>
void ConvertTo(const Elements& src, int64_t start, int64_t count, Dst* out) {
  if (src.bits) {
    for (int64_t i = 0; i < count; ++i) {
      out[i] = static_cast<Dst>(arrow::bit_util::GetBit(src.data, src.bit_offset + start + i));
    }
    return;
  }
  const uint8_t* p = src.data + start * FixedItemSize(src.type);
  switch (src.type) {
    case ScalarType::kBool: return ConvertLoop<Dst, uint8_t>(p, count, out);
    case ScalarType::kInt8: return ConvertLoop<Dst, int8_t>(p, count, out);
    case ScalarType::kInt16: return ConvertLoop<Dst, int16_t>(p, count, out);
    case ScalarType::kInt32: return ConvertLoop<Dst, int32_t>(p, count, out);
    case ScalarType::kInt64: return ConvertLoop<Dst, int64_t>(p, count, out);
    case ScalarType::kUInt8: return ConvertLoop<Dst, uint8_t>(p, count, out);
    case ScalarType::kUInt16: return ConvertLoop<Dst, uint16_t>(p, count, out);
    case ScalarType::kUInt32: return ConvertLoop<Dst, uint32_t>(p, count, out);
    case ScalarType::kUInt64: return ConvertLoop<Dst, uint64_t>(p, count, out);
    case ScalarType::kFloat32: return ConvertLoop<Dst, float>(p, count, out);
    case ScalarType::kFloat64: return ConvertLoop<Dst, double>(p, count, out);
    default: return;  // excluded by CanConvert
  }
}

}  // namespace

bool IsNumeric(ScalarType type) {
  switch (type) {
    case ScalarType::kBool:
    case ScalarType::kInt8: case ScalarType::kInt16: case ScalarType::kInt32: case ScalarType::kInt64:
    case ScalarType::kUInt8: case ScalarType::kUInt16: case ScalarType::kUInt32: case ScalarType::kUInt64:
    case ScalarType::kFloat16: case ScalarType::kFloat32: case ScalarType::kFloat64:
    case ScalarType::kComplex64: case ScalarType::kComplex128:
      return true;
    default:
      return false;
  }
}

bool CanConvert(ScalarType from, ScalarType to) {
  return from == to || (IsConvertible(from) && IsConvertible(to));
}

std::optional<ScalarType> PhysicalType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL: return ScalarType::kBool;
    case arrow::Type::INT8: return ScalarType::kInt8;
    case arrow::Type::INT16: return ScalarType::kInt16;
    case arrow::Type::INT32: case arrow::Type::TIME32: case arrow::Type::DATE32:
      return ScalarType::kInt32;
    case arrow::Type::INT64: case arrow::Type::TIME64: case arrow::Type::DURATION:
    case arrow::Type::DATE64: case arrow::Type::TIMESTAMP:
      return ScalarType::kInt64;
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

Elements ElementsOf(const arrow::ArrayData& data, ScalarType type) {
  Elements e;
  e.type = type;
  e.data = data.buffers.size() > 1 && data.buffers[1] ? data.buffers[1]->data() : nullptr;
  if (type == ScalarType::kBool) {
    e.bits = true;
    e.bit_offset = data.offset;
  } else if (e.data) {
    e.data += data.offset * FixedItemSize(type);
  }
  return e;
}

void CopyElements(const Elements& src, int64_t start, int64_t count, ScalarType dst, uint8_t* out) {
  if (count <= 0) return;
  if (!src.bits && src.type == dst) {
    const int64_t size = FixedItemSize(dst);
    const uint8_t* in = src.data + start * size;
    // One scalar (a shuffled row): a fixed-size copy the compiler inlines.
    switch (count * size) {
      case 1: *out = *in; return;
      case 2: std::memcpy(out, in, 2); return;
      case 4: std::memcpy(out, in, 4); return;
      case 8: std::memcpy(out, in, 8); return;
      case 16: std::memcpy(out, in, 16); return;
      default: std::memcpy(out, in, static_cast<size_t>(count * size)); return;
    }
  }
  switch (dst) {
    case ScalarType::kBool: {
      // numpy's bool is one byte, 0 or 1.
      auto* o = reinterpret_cast<uint8_t*>(out);
      if (src.bits || src.type == ScalarType::kBool) {
        ConvertTo<uint8_t>(src, start, count, o);
        for (int64_t i = 0; i < count; ++i) o[i] = o[i] != 0;
      } else {
        static_assert(sizeof(bool) == 1);
        ConvertTo<bool>(src, start, count, reinterpret_cast<bool*>(out));
      }
      return;
    }
    case ScalarType::kInt8: return ConvertTo(src, start, count, reinterpret_cast<int8_t*>(out));
    case ScalarType::kInt16: return ConvertTo(src, start, count, reinterpret_cast<int16_t*>(out));
    case ScalarType::kInt32: return ConvertTo(src, start, count, reinterpret_cast<int32_t*>(out));
    case ScalarType::kInt64: return ConvertTo(src, start, count, reinterpret_cast<int64_t*>(out));
    case ScalarType::kUInt8: return ConvertTo(src, start, count, reinterpret_cast<uint8_t*>(out));
    case ScalarType::kUInt16: return ConvertTo(src, start, count, reinterpret_cast<uint16_t*>(out));
    case ScalarType::kUInt32: return ConvertTo(src, start, count, reinterpret_cast<uint32_t*>(out));
    case ScalarType::kUInt64: return ConvertTo(src, start, count, reinterpret_cast<uint64_t*>(out));
    case ScalarType::kFloat32: return ConvertTo(src, start, count, reinterpret_cast<float*>(out));
    case ScalarType::kFloat64: return ConvertTo(src, start, count, reinterpret_cast<double*>(out));
    default: return;  // excluded by CanConvert
  }
}

arrow::Result<Tensor> RowMajor(const Tensor& tensor) {
  if (!tensor.fortran_order || tensor.shape.size() < 2) return tensor;
  ARROW_ASSIGN_OR_RAISE(Tensor out, Tensor::Allocate(tensor.element, tensor.shape));
  const int64_t size = tensor.element.itemsize;
  const int64_t n = tensor.num_elements();
  const size_t rank = tensor.shape.size();
  std::vector<int64_t> f_strides(rank, 1);  // elements, column-major
  for (size_t d = 1; d < rank; ++d) f_strides[d] = f_strides[d - 1] * tensor.shape[d - 1];
  std::vector<int64_t> index(rank, 0);
  const uint8_t* in = tensor.data->data();
  uint8_t* o = out.data->mutable_data();
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d) offset += index[d] * f_strides[d];
    std::memcpy(o + i * size, in + offset * size, static_cast<size_t>(size));
    for (size_t d = rank; d-- > 0;) {  // next row-major index
      if (++index[d] < tensor.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

arrow::Status CopyTensorAs(const Tensor& tensor, ScalarType type, uint8_t* dst) {
  ARROW_ASSIGN_OR_RAISE(Tensor row_major, RowMajor(tensor));
  if (type == row_major.element.type) {
    if (row_major.nbytes() > 0) std::memcpy(dst, row_major.data->data(), static_cast<size_t>(row_major.nbytes()));
    return arrow::Status::OK();
  }
  Elements e;
  e.type = row_major.element.type;
  e.data = row_major.data ? row_major.data->data() : nullptr;
  CopyElements(e, 0, row_major.num_elements(), type, dst);
  return arrow::Status::OK();
}

}  // namespace petastorm::internal
