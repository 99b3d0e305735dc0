// Tests of the .npy format (npy_format.cc) and NdarrayCodec. The expected bytes were written
// by numpy 2.4 (np.save / np.lib.format.write_array) and pasted here.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "codec/npy_format_internal.h"
#include "petastorm/codec.h"
#include "util/test_macros_internal.h"

namespace petastorm {
namespace {


// numpy.save output, as written by numpy 2.4.
constexpr char kNpyInt32x2x3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }   "
    "                                                       \n\x00\x00\x00\x00\x01\x00"
    "\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05\x00\x00\x00";

constexpr char kNpyFortranFloat64x2x3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }    "
    "                                                       \n\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\xf0\?\x00\x00\x00\x00"
    "\x00\x00\x10@\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x14@";

constexpr char kNpyUInt8Scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (), }       "
    "                                                       \n\x07";

constexpr char kNpyUnicode3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }     "
    "                                                       \na\x00\x00\x00" "b\x00\x00"
    "\x00\x00\x00\x00\x00" "c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

constexpr char kNpyDatetimeEmpty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (0, 5), "
    "}                                                      \n";

constexpr char kNpyBool5[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }     "
    "                                                       \n\x01\x00\x01\x01\x00";

constexpr char kNpyFortranRowVector[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3), }   "
    "                                                       \n\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00";

constexpr char kNpyLongDim[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (12345678901"
    ", 0), }                                                \n";

constexpr char kNpyComplex64[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }     "
    "                                                       \n\x00\x00\x80\?\x00\x00\x00@";

constexpr char kNpyBytes5[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|S5', 'fortran_order': False, 'shape': (2,), }     "
    "                                                       \nhelloa\x00\x00\x00\x00";

constexpr char kNpyInt16Version2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i2', 'fortran_order': False, 'shape': (3, "
    "2), }                                                        \n\x00\x00\x01\x00\x02"
    "\x00\x03\x00\x04\x00\x05\x00";

constexpr char kNpyInt16Version3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<i2', 'fortran_order': False, 'shape': (3, "
    "2), }                                                        \n\x00\x00\x01\x00\x02"
    "\x00\x03\x00\x04\x00\x05\x00";

template <size_t N>
std::string_view Bytes(const char (&literal)[N]) {
  return {literal, N - 1};
}

std::string_view View(const arrow::Buffer& buffer) {
  return {reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(buffer.size())};
}

const uint8_t* Data(std::string_view bytes) {
  return reinterpret_cast<const uint8_t*>(bytes.data());
}

arrow::Result<Tensor> Read(std::string_view bytes) {
  return internal::ReadNpy(Data(bytes), static_cast<int64_t>(bytes.size()),
                           arrow::default_memory_pool());
}

// A tensor whose bytes are a fixed pattern (0/1 for bool, so that numpy would accept it).
Tensor PatternTensor(ElementType element, std::vector<int64_t> shape, bool fortran = false) {
  Tensor t = Tensor::Allocate(std::move(element), std::move(shape)).ValueOrDie();
  t.fortran_order = fortran;
  uint8_t* p = t.data->mutable_data();
  for (int64_t i = 0; i < t.data->size(); ++i) {
    p[i] = t.element.type == ScalarType::kBool ? (i % 3 == 0) : static_cast<uint8_t>(i * 37 + 11);
  }
  return t;
}

Tensor Int32Tensor(std::vector<int32_t> values, std::vector<int64_t> shape) {
  Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kInt32), std::move(shape)).ValueOrDie();
  std::memcpy(t.data->mutable_data(), values.data(), values.size() * sizeof(int32_t));
  return t;
}

ElementType Element(std::string_view descr) {
  return ElementType::FromTypeString(descr).ValueOrDie();
}

void ExpectSameTensor(const Tensor& expected, const Tensor& actual) {
  EXPECT_EQ(expected.element, actual.element);
  EXPECT_EQ(expected.shape, actual.shape);
  EXPECT_EQ(expected.fortran_order, actual.fortran_order);
  ASSERT_TRUE(actual.data != nullptr);
  EXPECT_EQ(View(*expected.data), View(*actual.data));
}

// .npy bytes with a hand-written header (not padded: readers must not depend on padding).
std::string NpyWithHeader(std::string_view header, std::string_view data, int version = 1) {
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(version));
  out.push_back('\0');
  const uint32_t length = static_cast<uint32_t>(header.size());
  out.push_back(static_cast<char>(length & 0xFF));
  out.push_back(static_cast<char>((length >> 8) & 0xFF));
  if (version != 1) {
    out.push_back(static_cast<char>((length >> 16) & 0xFF));
    out.push_back(static_cast<char>((length >> 24) & 0xFF));
  }
  out += header;
  out += data;
  return out;
}

void ExpectInvalid(std::string_view bytes, std::string_view message_part) {
  auto result = Read(bytes);
  ASSERT_FALSE(result.ok()) << "accepted: " << bytes;
  EXPECT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_NE(result.status().message().find(message_part), std::string::npos)
      << result.status().ToString();
}

// --- Writing: identical to numpy.save --------------------------------------------------------

TEST(NpyFormatTest, WritesExactlyWhatNumpySaveWritesForInt32Matrix) {
  ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(Int32Tensor({0, 1, 2, 3, 4, 5}, {2, 3}),
                                                    arrow::default_memory_pool()));
  EXPECT_EQ(View(*npy), Bytes(kNpyInt32x2x3));
  // The data starts at a multiple of 64 bytes.
  EXPECT_EQ(npy->size() - 24, 128);
}

TEST(NpyFormatTest, WritesExactlyWhatNumpySaveWritesForOtherArrays) {
  struct Case {
    std::string_view expected;
    Tensor tensor;
  };
  std::vector<Case> cases;
  {  // np.asfortranarray(np.arange(6.0).reshape(2, 3))
    Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kFloat64), {2, 3}).ValueOrDie();
    t.fortran_order = true;
    const double column_major[] = {0, 3, 1, 4, 2, 5};
    std::memcpy(t.data->mutable_data(), column_major, sizeof(column_major));
    cases.push_back({Bytes(kNpyFortranFloat64x2x3), t});
  }
  {  // np.array(7, dtype=np.uint8)
    Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {}).ValueOrDie();
    t.data->mutable_data()[0] = 7;
    cases.push_back({Bytes(kNpyUInt8Scalar), t});
  }
  {  // np.array(['ab', 'c'], dtype='U3')
    Tensor t = Tensor::Allocate(Element("<U3"), {2}).ValueOrDie();
    std::memset(t.data->mutable_data(), 0, 24);
    t.data->mutable_data()[0] = 'a';
    t.data->mutable_data()[4] = 'b';
    t.data->mutable_data()[12] = 'c';
    cases.push_back({Bytes(kNpyUnicode3), t});
  }
  // np.zeros((0, 5), dtype='<M8[ns]')
  cases.push_back({Bytes(kNpyDatetimeEmpty),
                   Tensor::Allocate(Element("<M8[ns]"), {0, 5}).ValueOrDie()});
  {  // np.array([True, False, True, True, False])
    Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kBool), {5}).ValueOrDie();
    const uint8_t values[] = {1, 0, 1, 1, 0};
    std::memcpy(t.data->mutable_data(), values, 5);
    cases.push_back({Bytes(kNpyBool5), t});
  }
  {  // np.asfortranarray(np.arange(3).reshape(1, 3)): both C and F contiguous -> False
    Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kInt64), {1, 3}).ValueOrDie();
    t.fortran_order = true;
    const int64_t values[] = {0, 1, 2};
    std::memcpy(t.data->mutable_data(), values, sizeof(values));
    cases.push_back({Bytes(kNpyFortranRowVector), t});
  }
  // np.zeros((12345678901, 0), dtype=np.int8): fewer growth spaces for a long first dim.
  cases.push_back({Bytes(kNpyLongDim),
                   Tensor::Allocate(ElementType::Of(ScalarType::kInt8), {12345678901, 0})
                       .ValueOrDie()});
  {  // np.array([1+2j], dtype=np.complex64)
    Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kComplex64), {1}).ValueOrDie();
    const float values[] = {1.0f, 2.0f};
    std::memcpy(t.data->mutable_data(), values, sizeof(values));
    cases.push_back({Bytes(kNpyComplex64), t});
  }
  {  // np.array([b'hello', b'a'], dtype='S5')
    Tensor t = Tensor::Allocate(Element("|S5"), {2}).ValueOrDie();
    std::memcpy(t.data->mutable_data(), "helloa\0\0\0\0", 10);
    cases.push_back({Bytes(kNpyBytes5), t});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.tensor.shape) + " " + c.tensor.element.TypeString());
    ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(c.tensor, arrow::default_memory_pool()));
    EXPECT_EQ(View(*npy), c.expected);
  }
}

TEST(NpyFormatTest, HeaderIsPaddedTo64BytesForEveryShape) {
  for (int ndim = 0; ndim <= 12; ++ndim) {
    for (int64_t dim : {int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{123456789012}}) {
      std::vector<int64_t> shape(ndim, 1);
      if (ndim > 0) shape[0] = dim;
      if (dim > 1000) {  // long first dimension (fewer growth spaces) but no data
        if (ndim < 2) continue;
        shape[1] = 0;
      }
      Tensor t = PatternTensor(ElementType::Of(ScalarType::kInt8), shape);
      ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(t, arrow::default_memory_pool()));
      const int64_t header = npy->size() - t.nbytes();
      EXPECT_EQ(header % 64, 0) << ShapeToString(shape);
      EXPECT_EQ(npy->data()[6], 1);
      EXPECT_EQ(npy->data()[header - 1], '\n');
      const int64_t declared = npy->data()[8] | (npy->data()[9] << 8);
      EXPECT_EQ(declared + 10, header);
    }
  }
}

TEST(NpyFormatTest, UsesVersion2OnlyWhenTheHeaderExceeds65535Bytes) {
  // numpy cannot make 22000 dimensions, but the format can; the header needs 4 length bytes.
  Tensor t = PatternTensor(ElementType::Of(ScalarType::kFloat32), std::vector<int64_t>(22000, 1));
  ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(t, arrow::default_memory_pool()));
  EXPECT_EQ(npy->data()[6], 2);
  EXPECT_EQ(npy->data()[7], 0);
  const int64_t header = npy->size() - 4;
  EXPECT_EQ(header % 64, 0);
  const int64_t declared = int64_t{npy->data()[8]} | (int64_t{npy->data()[9]} << 8) |
                           (int64_t{npy->data()[10]} << 16) | (int64_t{npy->data()[11]} << 24);
  EXPECT_EQ(declared + 12, header);
  ASSERT_OK_AND_ASSIGN(Tensor back, Read(View(*npy)));
  ExpectSameTensor(t, back);
}

TEST(NpyFormatTest, RejectsTensorsWithoutANumpyDtype) {
  Tensor decimal;
  decimal.element.type = ScalarType::kDecimal;
  decimal.element.itemsize = 0;
  decimal.shape = {0};
  decimal.data = std::make_shared<arrow::Buffer>(nullptr, 0);
  EXPECT_TRUE(internal::WriteNpy(decimal, arrow::default_memory_pool()).status().IsInvalid());

  Tensor odd_unicode = PatternTensor(Element("<U2"), {1});
  odd_unicode.element.itemsize = 6;  // not a multiple of 4
  odd_unicode.data = std::make_shared<arrow::Buffer>(odd_unicode.data->data(), 6);
  EXPECT_TRUE(internal::WriteNpy(odd_unicode, arrow::default_memory_pool()).status().IsInvalid());

  Tensor no_unit = PatternTensor(ElementType::Of(ScalarType::kDatetime64), {2});
  no_unit.element.datetime_unit.clear();
  EXPECT_TRUE(internal::WriteNpy(no_unit, arrow::default_memory_pool()).status().IsInvalid());

  Tensor short_data = PatternTensor(ElementType::Of(ScalarType::kInt32), {2, 3});
  short_data.data = arrow::SliceBuffer(short_data.data, 0, 20);
  EXPECT_TRUE(internal::WriteNpy(short_data, arrow::default_memory_pool()).status().IsInvalid());
}

// --- Reading ---------------------------------------------------------------------------------

TEST(NpyFormatTest, ReadsNumpyOutput) {
  ASSERT_OK_AND_ASSIGN(Tensor t, Read(Bytes(kNpyInt32x2x3)));
  ExpectSameTensor(Int32Tensor({0, 1, 2, 3, 4, 5}, {2, 3}), t);

  ASSERT_OK_AND_ASSIGN(Tensor f, Read(Bytes(kNpyFortranFloat64x2x3)));
  EXPECT_EQ(f.element, ElementType::Of(ScalarType::kFloat64));
  EXPECT_EQ(f.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(f.fortran_order);
  const double* values = reinterpret_cast<const double*>(f.data->data());
  EXPECT_EQ(values[1], 3.0);  // column-major: element [1, 0]

  ASSERT_OK_AND_ASSIGN(Tensor scalar, Read(Bytes(kNpyUInt8Scalar)));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data->data()[0], 7);

  ASSERT_OK_AND_ASSIGN(Tensor unicode, Read(Bytes(kNpyUnicode3)));
  EXPECT_EQ(unicode.element.type, ScalarType::kString);
  EXPECT_EQ(unicode.element.itemsize, 12);

  ASSERT_OK_AND_ASSIGN(Tensor empty, Read(Bytes(kNpyDatetimeEmpty)));
  EXPECT_EQ(empty.element.datetime_unit, "ns");
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(empty.data->size(), 0);

  ASSERT_OK_AND_ASSIGN(Tensor bytes, Read(Bytes(kNpyBytes5)));
  EXPECT_EQ(bytes.element, Element("|S5"));
  EXPECT_EQ(View(*bytes.data), std::string_view("helloa\0\0\0\0", 10));
}

TEST(NpyFormatTest, ReadsFormatVersions2And3) {
  const int16_t expected[] = {0, 1, 2, 3, 4, 5};
  for (std::string_view npy : {Bytes(kNpyInt16Version2), Bytes(kNpyInt16Version3)}) {
    ASSERT_OK_AND_ASSIGN(Tensor t, Read(npy));
    EXPECT_EQ(t.element, ElementType::Of(ScalarType::kInt16));
    EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(View(*t.data), std::string_view(reinterpret_cast<const char*>(expected), 12));
  }
}

TEST(NpyFormatTest, ToleratesHeaderVariations) {
  const std::string data(12, '\x01');
  const std::vector<int64_t> shape23 = {2, 3};
  struct Case {
    std::string header;
    std::vector<int64_t> shape;
    bool fortran;
  };
  const std::vector<Case> cases = {
      {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", shape23, false},
      {"{'descr':'<i2','fortran_order':False,'shape':(2,3)}", shape23, false},
      {"{\"shape\": (2, 3,), \"fortran_order\": True, \"descr\": \"<i2\"}\n", shape23, true},
      {"  {\n 'fortran_order' : False ,\n\t'shape' : ( 2 , 3 ) ,\n 'descr' : '<i2' ,\n}  \n",
       shape23, false},
      {"{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L), }", shape23, false},
      {"{'descr': '=i2', 'fortran_order': False, 'shape': (6,), }", {6}, false},
      {"{'descr': '<i2', 'fortran_order': False, 'shape': (1, 2, 1, 3), }", {1, 2, 1, 3}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    for (int version : {1, 2, 3}) {
      ASSERT_OK_AND_ASSIGN(Tensor t, Read(NpyWithHeader(c.header, data, version)));
      EXPECT_EQ(t.element, ElementType::Of(ScalarType::kInt16));
      EXPECT_EQ(t.shape, c.shape);
      EXPECT_EQ(t.fortran_order, c.fortran);
      EXPECT_EQ(View(*t.data), data);
    }
  }
  ASSERT_OK_AND_ASSIGN(Tensor scalar,
                       Read(NpyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                                          std::string(8, '\0'))));
  EXPECT_TRUE(scalar.shape.empty());
}

TEST(NpyFormatTest, ReadsBigEndianAsLittleEndian) {
  auto result = Read(NpyWithHeader("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                   std::string("\x00\x00\x01\x02\xff\xff\xff\xfe", 8)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->element.TypeString(), "<i4");
  const auto* values = reinterpret_cast<const int32_t*>(result->data->data());
  EXPECT_EQ(values[0], 0x0102);
  EXPECT_EQ(values[1], -2);
}

TEST(NpyFormatTest, RejectsUnsupportedDtypes) {
  ExpectInvalid(NpyWithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                              std::string(8, '\0')),
                "Object arrays");
  ExpectInvalid(NpyWithHeader("{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, "
                              "'shape': (1,), }",
                              std::string(12, '\0')),
                "structured");
  ExpectInvalid(NpyWithHeader("{'descr': '<m8[s]', 'fortran_order': False, 'shape': (1,), }",
                              std::string(8, '\0')),
                "m8");
  ExpectInvalid(NpyWithHeader("{'descr': '<i3', 'fortran_order': False, 'shape': (1,), }",
                              std::string(3, '\0')),
                "i3");
  ExpectInvalid(NpyWithHeader("{'descr': '<U2305843009213693952', 'fortran_order': False, "
                              "'shape': (1,), }",
                              ""),
                "too large");
  ExpectInvalid(NpyWithHeader("{'descr': '|S9223372036854775807', 'fortran_order': False, "
                              "'shape': (2,), }",
                              ""),
                "too large");
}

TEST(NpyFormatTest, RejectsMalformedHeaders) {
  const std::string data(4, '\0');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{'descr': '<i4', 'fortran_order': False}", "keys"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key"},
      {"{'descr': '<i4', 'fortran_order': 0, 'shape': (1,), }", "True or False"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1), }", "tuple"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': [1], }", "'('"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (-1,), }", "negative"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1,,), }", "integer"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
       "too large"},
      {"{'descr': '<i4, 'fortran_order': False, 'shape': (1,), }", "expected"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1,), } x", "after"},
      {"{'descr': '<i4' 'fortran_order': False, 'shape': (1,), }", "expected ','"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (1,), ", "key"},
      {"['descr', '<i4']", "'{'"},
      {"", "'{'"},
  };
  for (const auto& [header, message] : cases) {
    SCOPED_TRACE(header);
    ExpectInvalid(NpyWithHeader(header, data), message);
  }
  // Sizes whose product overflows int64, with and without a zero dimension.
  ExpectInvalid(NpyWithHeader("{'descr': '<i4', 'fortran_order': False, "
                              "'shape': (4611686018427387904, 4), }",
                              data),
                "too large");
  ExpectInvalid(NpyWithHeader("{'descr': '<i4', 'fortran_order': False, "
                              "'shape': (0, 4611686018427387904, 4), }",
                              ""),
                "too large");
}

TEST(NpyFormatTest, RejectsBadPrefixAndDataLength) {
  ExpectInvalid("", "too short");
  ExpectInvalid(std::string_view("\x93NUMPX\x01\x00\x00\x00", 10), "magic");
  ExpectInvalid(std::string_view("\x93NUMPY\x04\x00\x00\x00", 10), "version 4.0");
  ExpectInvalid(std::string_view("\x93NUMPY\x01\x01\x00\x00", 10), "version 1.1");
  std::string npy(Bytes(kNpyInt32x2x3));
  ExpectInvalid(npy + "x", "needs 24 bytes, but 25");
  ExpectInvalid(npy.substr(0, npy.size() - 1), "needs 24 bytes, only 23");
  std::string long_header = npy;
  long_header[8] = '\xff';
  ExpectInvalid(long_header, "Truncated .npy header");
}

TEST(NpyFormatTest, EveryTruncationIsAnErrorNotACrash) {
  Tensor t = PatternTensor(ElementType::Of(ScalarType::kUInt16), {3, 2});
  ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(t, arrow::default_memory_pool()));
  for (int64_t n = 0; n < npy->size(); ++n) {
    auto result = internal::ReadNpy(npy->data(), n, arrow::default_memory_pool());
    EXPECT_FALSE(result.ok()) << "prefix of " << n << " bytes was accepted";
  }
  EXPECT_TRUE(internal::ReadNpy(nullptr, 0, arrow::default_memory_pool()).status().IsInvalid());
}

TEST(NpyFormatTest, CorruptedHeaderBytesGiveAnErrorOrAValidTensor) {
  std::string npy(Bytes(kNpyInt32x2x3));
  const int64_t header_size = 128;
  for (int64_t pos = 0; pos < header_size; ++pos) {
    for (char replacement : {'\0', '\xff', ' ', '(', ')', ',', '\'', '0', '9', '{', '}', ':'}) {
      std::string corrupt = npy;
      corrupt[pos] = replacement;
      auto result = Read(corrupt);
      if (result.ok()) {
        EXPECT_TRUE(result->Validate().ok()) << "position " << pos;
      }
    }
  }
}

TEST(NpyFormatTest, RoundTripsEveryDtypeAndShape) {
  std::vector<ElementType> elements;
  for (ScalarType type : AllScalarTypes()) {
    if (type == ScalarType::kBytes || type == ScalarType::kString ||
        type == ScalarType::kDecimal || type == ScalarType::kObject) {
      continue;
    }
    elements.push_back(ElementType::Of(type));
  }
  for (std::string_view descr : {"|S5", "|S1", "<U3", "<U1", "<M8[D]", "<M8[us]"}) {
    elements.push_back(Element(descr));
  }
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {0}, {1}, {5}, {2, 3}, {3, 0, 2}, {1, 1, 1}, {2, 3, 4}, {1, 2, 1, 3, 1}};
  for (const ElementType& element : elements) {
    for (const auto& shape : shapes) {
      for (bool fortran : {false, true}) {
        SCOPED_TRACE(element.TypeString() + " " + ShapeToString(shape) +
                     (fortran ? " fortran" : ""));
        const Tensor t = PatternTensor(element, shape, fortran);
        ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(t, arrow::default_memory_pool()));
        ASSERT_OK_AND_ASSIGN(Tensor back, Read(View(*npy)));
        Tensor expected = t;
        // numpy writes fortran_order False when both layouts are the same.
        int longer_than_one = 0;
        bool empty = false;
        for (int64_t d : shape) {
          longer_than_one += d > 1;
          empty = empty || d == 0;
        }
        if (empty || longer_than_one <= 1) expected.fortran_order = false;
        ExpectSameTensor(expected, back);
      }
    }
  }
}

TEST(NpyFormatTest, ReadCopiesWhileReadBufferSlices) {
  ASSERT_OK_AND_ASSIGN(auto npy, internal::WriteNpy(Int32Tensor({1, 2, 3}, {3}),
                                                    arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(Tensor copied, Read(View(*npy)));
  EXPECT_TRUE(copied.data->data() < npy->data() ||
              copied.data->data() >= npy->data() + npy->size());
  ASSERT_OK_AND_ASSIGN(Tensor sliced, internal::ReadNpyBuffer(npy));
  EXPECT_EQ(sliced.data->data(), npy->data() + npy->size() - 12);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(sliced.data->data()) % 64, 0u);
  ExpectSameTensor(copied, sliced);
}

// --- The codec -------------------------------------------------------------------------------

TEST(NdarrayCodecTest, NameAndParameters) {
  auto codec = MakeNdarrayCodec();
  EXPECT_EQ(codec->name(), "ndarray");
  EXPECT_EQ(codec->ToString(), "NdarrayCodec()");
  EXPECT_EQ(codec->params_json(), "{}");
  EXPECT_TRUE((Field{"x", ScalarType::kUInt8, {}, codec, false}).is_tensor());
  EXPECT_TRUE(codec->storage_type()->Equals(arrow::binary()));
}

TEST(NdarrayCodecTest, EncodeIsNumpySaveAndDecodeIsNumpyLoad) {
  auto codec = MakeNdarrayCodec();
  Field field;
  field.name = "matrix";
  field.dtype = ScalarType::kInt32;
  field.shape = {std::nullopt, 3};
  field.codec = codec;
  const Tensor value = Int32Tensor({0, 1, 2, 3, 4, 5}, {2, 3});
  ASSERT_OK_AND_ASSIGN(auto encoded, codec->Encode(field, value, arrow::default_memory_pool()));
  EXPECT_EQ(View(*encoded), Bytes(kNpyInt32x2x3));
  ASSERT_OK_AND_ASSIGN(Tensor decoded, codec->Decode(field, encoded->data(), encoded->size(),
                                                     arrow::default_memory_pool()));
  ExpectSameTensor(value, decoded);
  auto bad = codec->Decode(field, encoded->data(), 9, arrow::default_memory_pool());
  EXPECT_TRUE(bad.status().IsInvalid());
}

}  // namespace
}  // namespace petastorm
