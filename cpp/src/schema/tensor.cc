#include "petastorm/tensor.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace petastorm {
namespace {

// numpy kind character of each fixed-size ScalarType, for type strings.
char KindChar(ScalarType type) {
  switch (type) {
    case ScalarType::kBool: return 'b';
    case ScalarType::kInt8: case ScalarType::kInt16:
    case ScalarType::kInt32: case ScalarType::kInt64: return 'i';
    case ScalarType::kUInt8: case ScalarType::kUInt16:
    case ScalarType::kUInt32: case ScalarType::kUInt64: return 'u';
    case ScalarType::kFloat16: case ScalarType::kFloat32: case ScalarType::kFloat64: return 'f';
    case ScalarType::kComplex64: case ScalarType::kComplex128: return 'c';
    case ScalarType::kBytes: return 'S';
    case ScalarType::kString: return 'U';
    case ScalarType::kDatetime64: return 'M';
    case ScalarType::kDecimal: return 'O';
    case ScalarType::kObject: return 'O';
  }
  return '?';
}

}  // namespace

std::string ElementType::TypeString() const {
  std::string out;
  const bool single_byte = (type == ScalarType::kBool || type == ScalarType::kInt8 ||
                            type == ScalarType::kUInt8 || type == ScalarType::kBytes);
  out += single_byte ? '|' : '<';
  out += KindChar(type);
  int64_t n = itemsize;
  if (type == ScalarType::kString) n = itemsize / 4;
  out += std::to_string(n);
  if (type == ScalarType::kDatetime64) out += "[" + datetime_unit + "]";
  return out;
}

arrow::Result<ElementType> ElementType::FromTypeString(std::string_view descr) {
  auto bad = [&](std::string_view why) {
    return arrow::Status::Invalid("Unsupported numpy dtype '", descr, "': ", why);
  };
  if (descr.size() < 2) return bad("too short");
  const char order = descr[0];
  if (order == '>') return bad("big-endian data is not supported");
  if (order != '<' && order != '|' && order != '=') return bad("unknown byte order");
  const char kind = descr[1];
  std::string_view rest = descr.substr(2);
  std::string unit;
  if (kind == 'M') {
    auto open = rest.find('[');
    if (open == std::string_view::npos || rest.back() != ']') return bad("datetime64 needs a unit");
    unit = std::string(rest.substr(open + 1, rest.size() - open - 2));
    static constexpr std::string_view kUnits[] = {"Y", "M", "W", "D", "h", "m", "s",
                                                  "ms", "us", "ns", "ps", "fs", "as"};
    if (std::find(std::begin(kUnits), std::end(kUnits), unit) == std::end(kUnits)) {
      return bad("unknown datetime64 unit");
    }
    rest = rest.substr(0, open);
  }
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (ec != std::errc() || ptr != rest.data() + rest.size() || n < 0) return bad("bad item size");
  if (n > (int64_t{1} << 40)) return bad("item size too large");
  ElementType out;
  out.itemsize = n;
  switch (kind) {
    case 'b':
      if (n != 1) return bad("bool must be 1 byte");
      out.type = ScalarType::kBool;
      return out;
    case 'i':
    case 'u': {
      const bool is_signed = kind == 'i';
      switch (n) {
        case 1: out.type = is_signed ? ScalarType::kInt8 : ScalarType::kUInt8; return out;
        case 2: out.type = is_signed ? ScalarType::kInt16 : ScalarType::kUInt16; return out;
        case 4: out.type = is_signed ? ScalarType::kInt32 : ScalarType::kUInt32; return out;
        case 8: out.type = is_signed ? ScalarType::kInt64 : ScalarType::kUInt64; return out;
      }
      return bad("integer size");
    }
    case 'f':
      switch (n) {
        case 2: out.type = ScalarType::kFloat16; return out;
        case 4: out.type = ScalarType::kFloat32; return out;
        case 8: out.type = ScalarType::kFloat64; return out;
      }
      return bad("float size");
    case 'c':
      if (n == 8) { out.type = ScalarType::kComplex64; return out; }
      if (n == 16) { out.type = ScalarType::kComplex128; return out; }
      return bad("complex size");
    case 'S':
      out.type = ScalarType::kBytes;
      return out;
    case 'U':
      out.type = ScalarType::kString;
      out.itemsize = n * 4;
      return out;
    case 'M':
      if (n != 8) return bad("datetime64 must be 8 bytes");
      out.type = ScalarType::kDatetime64;
      out.datetime_unit = unit;
      return out;
  }
  return bad("unsupported kind (object arrays cannot be stored)");
}

int64_t ElementType::alignment() const {
  int64_t a = itemsize;
  if (type == ScalarType::kBytes) a = 1;
  if (type == ScalarType::kString) a = 4;
  if (type == ScalarType::kComplex64 || type == ScalarType::kComplex128) a = itemsize / 2;
  return std::max<int64_t>(1, std::min<int64_t>(a, 8));
}

ElementType ElementType::Of(ScalarType type) {
  ElementType out;
  out.type = type;
  out.itemsize = FixedItemSize(type);
  if (type == ScalarType::kDatetime64) out.datetime_unit = "ns";
  return out;
}

int64_t Tensor::num_elements() const {
  // Saturates instead of overflowing, so Validate() rejects absurd shapes.
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return std::numeric_limits<int64_t>::max();
    n *= d;
  }
  return n;
}

arrow::Status Tensor::Validate() const {
  for (int64_t d : shape) {
    if (d < 0) return arrow::Status::Invalid("Negative dimension in shape ", ShapeToString(shape));
  }
  const int64_t have = data ? data->size() : 0;
  const int64_t elements = num_elements();
  if (element.itemsize > 0 && elements > std::numeric_limits<int64_t>::max() / element.itemsize) {
    return arrow::Status::Invalid("Tensor of shape ", ShapeToString(shape), " is too large");
  }
  if (have != nbytes()) {
    return arrow::Status::Invalid("Tensor of shape ", ShapeToString(shape), " and dtype ",
                                  element.TypeString(), " needs ", nbytes(), " bytes, has ", have);
  }
  return arrow::Status::OK();
}

arrow::Result<Tensor> Tensor::Allocate(ElementType element, std::vector<int64_t> shape,
                                       arrow::MemoryPool* pool) {
  Tensor t;
  t.element = std::move(element);
  t.shape = std::move(shape);
  ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateBuffer(t.nbytes(), pool));
  t.data = std::shared_ptr<arrow::Buffer>(std::move(buffer));
  return t;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  out += ")";
  return out;
}

}  // namespace petastorm
