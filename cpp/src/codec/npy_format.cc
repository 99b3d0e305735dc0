#include "codec/npy_format_internal.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petastorm::internal {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr int64_t kMagicLen = 8;  // kMagic plus the two version bytes
// numpy's ARRAY_ALIGN: the data starts at a multiple of this.
constexpr int64_t kArrayAlign = 64;
// numpy's GROWTH_AXIS_MAX_DIGITS: spare room so that the header can be rewritten in place
// when the array grows along its first (last, for fortran order) axis.
constexpr int64_t kGrowthAxisMaxDigits = 21;

// product(shape) * itemsize, or nullopt when a dimension is negative or the product does not
// fit in int64 (dimensions of size 0 included, so that no intermediate product overflows).
std::optional<int64_t> CheckedByteSize(const std::vector<int64_t>& shape, int64_t itemsize) {
  int64_t bytes = itemsize;
  if (bytes < 0) return std::nullopt;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(bytes, d, &bytes)) return std::nullopt;
  }
  return empty ? 0 : bytes;
}

// numpy marks an array both C- and F-contiguous when at most one dimension is longer than 1
// or it has no elements; numpy.save then writes fortran_order False.
bool LayoutIsOrderIndependent(const std::vector<int64_t>& shape) {
  int longer_than_one = 0;
  for (int64_t d : shape) {
    if (d == 0) return true;
    if (d > 1) ++longer_than_one;
  }
  return longer_than_one <= 1;
}

void PutLE16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void PutLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// --- Header parsing ---------------------------------------------------------------------------
//
// The header is the repr() of a Python dict, read by numpy with ast.literal_eval. This parser
// accepts the subset any numpy (or Python 2 numpy, with its "3L" longs) writes: string keys;
// a string 'descr'; True/False; a tuple of non-negative ints; any whitespace; trailing commas.

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  arrow::Result<NpyHeader> Parse() {
    NpyHeader header;
    bool have_descr = false, have_fortran = false, have_shape = false;
    SkipSpace();
    ARROW_RETURN_NOT_OK(Expect('{'));
    while (true) {
      SkipSpace();
      if (Peek() == '}') break;
      ARROW_ASSIGN_OR_RAISE(std::string key, ParseString("a dictionary key"));
      SkipSpace();
      ARROW_RETURN_NOT_OK(Expect(':'));
      SkipSpace();
      if (key == "descr") {
        if (Peek() == '[') {
          return Error("structured dtypes (a list 'descr') are not supported");
        }
        if (Peek() != '\'' && Peek() != '"') {
          return Error("'descr' is not a numpy type string");
        }
        ARROW_ASSIGN_OR_RAISE(header.descr, ParseString("'descr'"));
        have_descr = true;
      } else if (key == "fortran_order") {
        ARROW_ASSIGN_OR_RAISE(header.fortran_order, ParseBool());
        have_fortran = true;
      } else if (key == "shape") {
        ARROW_ASSIGN_OR_RAISE(header.shape, ParseShape());
        have_shape = true;
      } else {
        return Error("unexpected key '" + key + "'");
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') break;
      return Error("expected ',' or '}'");
    }
    ++pos_;  // '}'
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the dictionary");
    if (!have_descr || !have_fortran || !have_shape) {
      return Error("the dictionary must have the keys 'descr', 'fortran_order' and 'shape'");
    }
    return header;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r' ||
                                   text_[pos_] == '\f' || text_[pos_] == '\v')) {
      ++pos_;
    }
  }

  arrow::Status Error(std::string_view why) const {
    return arrow::Status::Invalid("Cannot parse the .npy header at offset ", pos_, ": ", why,
                                  " (header: ", text_.substr(0, 200), ")");
  }

  arrow::Status Expect(char c) {
    if (Peek() != c) return Error(std::string("expected '") + c + "'");
    ++pos_;
    return arrow::Status::OK();
  }

  arrow::Result<std::string> ParseString(std::string_view what) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') return Error(std::string("expected a string for ") +
                                                    std::string(what));
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') {
        ++pos_;
        if (pos_ >= text_.size()) break;
      }
      out.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) return Error("unterminated string");
    ++pos_;  // closing quote
    return out;
  }

  arrow::Result<bool> ParseBool() {
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("True")) {
      pos_ += 4;
      return true;
    }
    if (rest.starts_with("False")) {
      pos_ += 5;
      return false;
    }
    return Error("'fortran_order' must be True or False");
  }

  arrow::Result<std::vector<int64_t>> ParseShape() {
    ARROW_RETURN_NOT_OK(Expect('('));
    std::vector<int64_t> shape;
    bool trailing_comma = false;
    while (true) {
      SkipSpace();
      if (Peek() == ')') break;
      ARROW_ASSIGN_OR_RAISE(int64_t dim, ParseDim());
      shape.push_back(dim);
      SkipSpace();
      trailing_comma = false;
      if (Peek() == ',') {
        ++pos_;
        trailing_comma = true;
        continue;
      }
      if (Peek() == ')') break;
      return Error("expected ',' or ')' in 'shape'");
    }
    ++pos_;  // ')'
    // "(5)" is the int 5 in Python, not a tuple; numpy rejects it too.
    if (shape.size() == 1 && !trailing_comma) return Error("'shape' must be a tuple");
    return shape;
  }

  arrow::Result<int64_t> ParseDim() {
    if (Peek() == '-') return Error("negative dimension in 'shape'");
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc::result_out_of_range) return Error("dimension too large in 'shape'");
    if (ec != std::errc() || ptr == begin) return Error("expected an integer in 'shape'");
    pos_ += static_cast<size_t>(ptr - begin);
    if (Peek() == 'L' || Peek() == 'l') ++pos_;  // Python 2 long
    return value;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::Buffer>> WriteNpy(const Tensor& value,
                                                       arrow::MemoryPool* pool) {
  const ElementType& element = value.element;
  if (element.type == ScalarType::kDecimal) {
    return arrow::Status::Invalid("Cannot write a decimal tensor as .npy (an object array)");
  }
  const std::string descr = element.TypeString();
  auto reparsed = ElementType::FromTypeString(descr);
  if (!reparsed.ok() || !(*reparsed == element) ||
      (element.type == ScalarType::kDatetime64 && element.datetime_unit.empty())) {
    return arrow::Status::Invalid("Element type ", ScalarTypeName(element.type), " with itemsize ",
                                  element.itemsize,
                                  element.datetime_unit.empty() ? "" : " and unit ",
                                  element.datetime_unit, " has no numpy dtype");
  }
  const std::optional<int64_t> nbytes = CheckedByteSize(value.shape, element.itemsize);
  if (!nbytes) {
    return arrow::Status::Invalid("Invalid tensor shape ", ShapeToString(value.shape),
                                  " for itemsize ", element.itemsize);
  }
  ARROW_RETURN_NOT_OK(value.Validate());

  const bool fortran = value.fortran_order && !LayoutIsOrderIndependent(value.shape);
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " +
                     (fortran ? "True" : "False") + ", 'shape': " + ShapeToString(value.shape) +
                     ", }";
  if (!value.shape.empty()) {
    const int64_t growth_dim = fortran ? value.shape.back() : value.shape.front();
    const int64_t digits = static_cast<int64_t>(std::to_string(growth_dim).size());
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }

  // Version 1.0 has a 2-byte header length, 2.0 a 4-byte one. numpy adds a full ARRAY_ALIGN
  // of padding (not 0) when the header is already aligned; the final byte is '\n'.
  const int64_t dict_and_newline = static_cast<int64_t>(dict.size()) + 1;
  int version = 1;
  int64_t length_bytes = 2;
  int64_t padding = kArrayAlign - (kMagicLen + length_bytes + dict_and_newline) % kArrayAlign;
  if (dict_and_newline + padding > std::numeric_limits<uint16_t>::max()) {
    version = 2;
    length_bytes = 4;
    padding = kArrayAlign - (kMagicLen + length_bytes + dict_and_newline) % kArrayAlign;
    if (dict_and_newline + padding > std::numeric_limits<uint32_t>::max()) {
      return arrow::Status::Invalid(".npy header of ", dict_and_newline, " bytes is too long");
    }
  }
  const int64_t header_len = dict_and_newline + padding;
  const int64_t prefix_len = kMagicLen + length_bytes;
  int64_t total = 0;
  if (__builtin_add_overflow(prefix_len + header_len, *nbytes, &total)) {
    return arrow::Status::Invalid("Tensor too large for .npy: ", *nbytes, " bytes");
  }

  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> out, arrow::AllocateBuffer(total, pool));
  uint8_t* p = out->mutable_data();
  std::memcpy(p, kMagic.data(), kMagic.size());
  p[6] = static_cast<uint8_t>(version);
  p[7] = 0;
  if (version == 1) {
    PutLE16(p + kMagicLen, static_cast<uint16_t>(header_len));
  } else {
    PutLE32(p + kMagicLen, static_cast<uint32_t>(header_len));
  }
  p += prefix_len;
  std::memcpy(p, dict.data(), dict.size());
  p += dict.size();
  std::memset(p, ' ', static_cast<size_t>(padding));
  p += padding;
  *p++ = '\n';
  if (*nbytes > 0) std::memcpy(p, value.data->data(), static_cast<size_t>(*nbytes));
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

namespace {

// A parsed .npy value: the tensor without its data, and where the data lies in the input.
struct NpyLayout {
  Tensor tensor;
  int64_t data_offset = 0;
  int64_t nbytes = 0;
  int swap_unit = 0;  // > 1: the data is big-endian in words of this many bytes
};

arrow::Result<NpyLayout> ParseNpy(const uint8_t* data, int64_t size) {
  if (size < 0 || (data == nullptr && size > 0)) {
    return arrow::Status::Invalid("Invalid .npy input buffer");
  }
  if (size < kMagicLen + 2 || std::memcmp(data, kMagic.data(), kMagic.size()) != 0) {
    return arrow::Status::Invalid("Not a .npy value: ", size < kMagicLen + 2 ? "too short" :
                                  "the magic string \\x93NUMPY is missing");
  }
  const int major = data[6];
  const int minor = data[7];
  int64_t header_len = 0;
  int64_t prefix_len = 0;
  if (major == 1 && minor == 0) {
    header_len = int64_t{data[8]} | (int64_t{data[9]} << 8);
    prefix_len = kMagicLen + 2;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (size < kMagicLen + 4) return arrow::Status::Invalid("Truncated .npy header");
    header_len = int64_t{data[8]} | (int64_t{data[9]} << 8) | (int64_t{data[10]} << 16) |
                 (int64_t{data[11]} << 24);
    prefix_len = kMagicLen + 4;
  } else {
    return arrow::Status::Invalid("Unsupported .npy format version ", major, ".", minor,
                                  " (1.0, 2.0 and 3.0 are supported)");
  }
  if (header_len > size - prefix_len) {
    return arrow::Status::Invalid("Truncated .npy header: it declares ", header_len,
                                  " bytes, ", size - prefix_len, " follow");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(data + prefix_len),
                                     static_cast<size_t>(header_len));
  ARROW_ASSIGN_OR_RAISE(NpyHeader header, HeaderParser(header_text).Parse());

  const std::string_view descr = header.descr;
  if (descr.size() >= 2 && descr[1] == 'O') {
    return arrow::Status::Invalid("Object arrays ('", descr,
                                  "') cannot be read: they hold pickled Python objects");
  }
  // Big-endian data (numpy.save of a '>' array) is read and swapped to little-endian.
  const bool big_endian = !descr.empty() && descr[0] == '>';
  if (descr.size() > 2 && descr[1] == 'U') {
    // 'U<n>' is 4 * n bytes: keep n small enough for that product to be representable.
    int64_t chars = 0;
    auto [ptr, ec] = std::from_chars(descr.data() + 2, descr.data() + descr.size(), chars);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc() && chars > std::numeric_limits<int64_t>::max() / 4)) {
      return arrow::Status::Invalid(".npy dtype '", descr, "' is too large");
    }
  }
  ARROW_ASSIGN_OR_RAISE(
      ElementType element,
      ElementType::FromTypeString(big_endian ? "<" + std::string(descr.substr(1)) : std::string(descr)));

  const std::optional<int64_t> nbytes = CheckedByteSize(header.shape, element.itemsize);
  if (!nbytes) {
    return arrow::Status::Invalid(".npy shape ", ShapeToString(header.shape), " of dtype '",
                                  descr, "' is too large");
  }
  const int64_t data_offset = prefix_len + header_len;
  const int64_t available = size - data_offset;
  if (available != *nbytes) {
    return arrow::Status::Invalid(".npy data of shape ", ShapeToString(header.shape),
                                  " and dtype '", descr, "' needs ", *nbytes, " bytes, ",
                                  available < *nbytes ? "only " : "but ", available,
                                  " are present");
  }
  NpyLayout layout;
  layout.tensor.element = std::move(element);
  layout.tensor.shape = std::move(header.shape);
  layout.tensor.fortran_order = header.fortran_order;
  layout.data_offset = data_offset;
  layout.nbytes = *nbytes;
  if (big_endian) {
    const ScalarType t = layout.tensor.element.type;
    layout.swap_unit = t == ScalarType::kString ? 4
                       : (t == ScalarType::kComplex64 || t == ScalarType::kComplex128)
                           ? static_cast<int>(layout.tensor.element.itemsize / 2)
                           : static_cast<int>(layout.tensor.element.itemsize);
  }
  return layout;
}

// Reverses the bytes of every `unit`-byte word.
void SwapBytes(uint8_t* data, int64_t nbytes, int unit) {
  if (unit <= 1) return;
  for (int64_t i = 0; i + unit <= nbytes; i += unit) std::reverse(data + i, data + i + unit);
}

}  // namespace

arrow::Result<Tensor> ReadNpy(const uint8_t* data, int64_t size, arrow::MemoryPool* pool) {
  ARROW_ASSIGN_OR_RAISE(NpyLayout layout, ParseNpy(data, size));
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> buffer,
                        arrow::AllocateBuffer(layout.nbytes, pool));
  if (layout.nbytes > 0) {
    std::memcpy(buffer->mutable_data(), data + layout.data_offset,
                static_cast<size_t>(layout.nbytes));
    SwapBytes(buffer->mutable_data(), layout.nbytes, layout.swap_unit);
  }
  layout.tensor.data = std::move(buffer);
  return std::move(layout.tensor);
}

arrow::Result<Tensor> ReadNpyBuffer(const std::shared_ptr<arrow::Buffer>& npy) {
  if (!npy) return arrow::Status::Invalid("Null .npy buffer");
  ARROW_ASSIGN_OR_RAISE(NpyLayout layout, ParseNpy(npy->data(), npy->size()));
  if (layout.swap_unit > 1) return ReadNpy(npy->data(), npy->size(), arrow::default_memory_pool());
  layout.tensor.data = arrow::SliceBuffer(npy, layout.data_offset, layout.nbytes);
  return std::move(layout.tensor);
}

}  // namespace petastorm::internal
