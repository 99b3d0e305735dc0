// Tests of the ZIP container (zip_container.cc) and CompressedNdarrayCodec. The archives
// below were written by numpy 2.4's savez_compressed / savez (Python's zipfile) and pasted here.
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "codec/npy_format_internal.h"
#include "codec/zip_container_internal.h"
#include "petastorm/codec.h"
#include "util/test_macros_internal.h"

namespace petastorm {
namespace {


// All hold np.arange(6, dtype=np.int32).reshape(2, 3).
// np.savez_compressed(io.BytesIO(), arr=a): deflated, zip64 extra field in the local header.
constexpr uint8_t kNumpyNpzSeekable[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4,
    0x4d, 0x84, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x61, 0x72,
    0x72, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9,
    0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93,
    0x69, 0xa2, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94,
    0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02,
    0xf9, 0x1a, 0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x20,
    0x60, 0x04, 0x62, 0x26, 0x20, 0x66, 0x06, 0x62, 0x16, 0x20, 0x66, 0x05, 0x62, 0x00, 0x50, 0x4b,
    0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4,
    0x4d, 0x84, 0x55, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61, 0x72, 0x72, 0x2e,
    0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x35,
    0x00, 0x00, 0x00, 0x8e, 0x00, 0x00, 0x00, 0x00, 0x00,
};

// The same written to an unseekable stream: data descriptor (flag bit 3), zero local sizes.
constexpr uint8_t kNumpyNpzDataDescriptor[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x61, 0x72,
    0x72, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9,
    0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93,
    0x69, 0xa2, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94,
    0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02,
    0xf9, 0x1a, 0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x20,
    0x60, 0x04, 0x62, 0x26, 0x20, 0x66, 0x06, 0x62, 0x16, 0x20, 0x66, 0x05, 0x62, 0x00, 0x50, 0x4b,
    0x07, 0x08, 0x50, 0xb4, 0x4d, 0x84, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x08, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4, 0x4d, 0x84, 0x55, 0x00, 0x00, 0x00, 0x98, 0x00,
    0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x61, 0x72, 0x72, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x35, 0x00, 0x00, 0x00, 0xa6, 0x00, 0x00, 0x00, 0x00,
    0x00,
};

// np.savez(io.BytesIO(), arr=a): a stored member.
constexpr uint8_t kNumpyNpzStored[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4,
    0x4d, 0x84, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x61, 0x72,
    0x72, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01,
    0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69,
    0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64,
    0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61,
    0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20, 0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
    0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21,
    0x00, 0x50, 0xb4, 0x4d, 0x84, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61,
    0x72, 0x72, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x35, 0x00, 0x00, 0x00, 0xd1, 0x00, 0x00, 0x00, 0x00, 0x00,
};

// np.savez_compressed(io.BytesIO(), other=a): no 'arr.npy' member.
constexpr uint8_t kNumpyNpzOtherName[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4,
    0x4d, 0x84, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x09, 0x00, 0x14, 0x00, 0x6f, 0x74,
    0x68, 0x65, 0x72, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b,
    0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0,
    0x6e, 0x93, 0x69, 0xa2, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f,
    0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16,
    0xa4, 0x02, 0xf9, 0x1a, 0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e,
    0x06, 0x20, 0x60, 0x04, 0x62, 0x26, 0x20, 0x66, 0x06, 0x62, 0x16, 0x20, 0x66, 0x05, 0x62, 0x00,
    0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00,
    0x50, 0xb4, 0x4d, 0x84, 0x55, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6f, 0x74,
    0x68, 0x65, 0x72, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x37, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
};

// np.savez_compressed with zipfile's zip64 limits lowered: zip64 extra fields in the central
// directory and a zip64 end of central directory record and locator.
constexpr uint8_t kNumpyNpzZip64[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4,
    0x4d, 0x84, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x61, 0x72,
    0x72, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9,
    0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93,
    0x69, 0xa2, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94,
    0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02,
    0xf9, 0x1a, 0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x20,
    0x60, 0x04, 0x62, 0x26, 0x20, 0x66, 0x06, 0x62, 0x16, 0x20, 0x66, 0x05, 0x62, 0x00, 0x50, 0x4b,
    0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x50, 0xb4,
    0x4d, 0x84, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x14, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61, 0x72, 0x72, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x06, 0x06, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x2d, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50,
    0x4b, 0x06, 0x07, 0x00, 0x00, 0x00, 0x00, 0xd7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x49,
    0x00, 0x00, 0x00, 0x8e, 0x00, 0x00, 0x00, 0x00, 0x00,
};

std::string_view View(const arrow::Buffer& buffer) {
  return {reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(buffer.size())};
}

template <size_t N>
std::string_view View(const uint8_t (&bytes)[N]) {
  return {reinterpret_cast<const char*>(bytes), N};
}

const uint8_t* Data(std::string_view bytes) {
  return reinterpret_cast<const uint8_t*>(bytes.data());
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadMember(std::string_view zip,
                                                         std::string_view name) {
  return internal::ReadZipMember(Data(zip), static_cast<int64_t>(zip.size()), name,
                                 arrow::default_memory_pool());
}

uint16_t GetU16(std::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) |
                               (static_cast<uint8_t>(bytes[at + 1]) << 8));
}

void SetU16(std::string* bytes, size_t at, uint16_t value) {
  (*bytes)[at] = static_cast<char>(value & 0xFF);
  (*bytes)[at + 1] = static_cast<char>(value >> 8);
}

void SetU32(std::string* bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) (*bytes)[at + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

size_t CentralHeaderOffset(std::string_view zip) {
  const size_t at = zip.find(std::string_view("PK\x01\x02", 4));
  EXPECT_NE(at, std::string_view::npos);
  return at;
}

Tensor ExpectedArange() {
  Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kInt32), {2, 3}).ValueOrDie();
  const int32_t values[] = {0, 1, 2, 3, 4, 5};
  std::memcpy(t.data->mutable_data(), values, sizeof(values));
  return t;
}

Tensor PatternTensor(ElementType element, std::vector<int64_t> shape, bool fortran = false) {
  Tensor t = Tensor::Allocate(std::move(element), std::move(shape)).ValueOrDie();
  t.fortran_order = fortran;
  uint8_t* p = t.data->mutable_data();
  for (int64_t i = 0; i < t.data->size(); ++i) {
    p[i] = t.element.type == ScalarType::kBool ? (i % 3 == 0) : static_cast<uint8_t>(i % 7);
  }
  return t;
}

void ExpectSameTensor(const Tensor& expected, const Tensor& actual) {
  EXPECT_EQ(expected.element, actual.element);
  EXPECT_EQ(expected.shape, actual.shape);
  EXPECT_EQ(expected.fortran_order, actual.fortran_order);
  ASSERT_TRUE(actual.data != nullptr);
  EXPECT_EQ(View(*expected.data), View(*actual.data));
}

std::vector<std::string_view> NumpyArchivesWithArr() {
  return {View(kNumpyNpzSeekable), View(kNumpyNpzDataDescriptor), View(kNumpyNpzStored),
          View(kNumpyNpzZip64)};
}

// An archive of our own: a stored and a deflated member.
std::string SmallArchive(internal::ZipMethod method = internal::ZipMethod::kDeflated) {
  static const std::string payload = "hello, hello, hello, zip";
  auto zip = internal::WriteZip({{"first.txt", Data(payload), (int64_t)payload.size(),
                                  internal::ZipMethod::kStored},
                                 {"arr.npy", Data(payload), (int64_t)payload.size(), method}},
                                arrow::default_memory_pool())
                 .ValueOrDie();
  return std::string(View(*zip));
}

// --- The ZIP container -----------------------------------------------------------------------

TEST(ZipContainerTest, RoundTripsStoredAndDeflatedMembers) {
  std::string big(100000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * i) % 251);
  const std::string text = "hello";
  const std::vector<internal::ZipMemberInput> members = {
      {"a.txt", Data(text), (int64_t)text.size(), internal::ZipMethod::kStored},
      {"dir/b.bin", Data(big), (int64_t)big.size(), internal::ZipMethod::kDeflated},
      {"empty_deflated", nullptr, 0, internal::ZipMethod::kDeflated},
      {"empty_stored", nullptr, 0, internal::ZipMethod::kStored},
  };
  ASSERT_OK_AND_ASSIGN(auto zip, internal::WriteZip(members, arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(auto names, internal::ListZipMembers(zip->data(), zip->size()));
  EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "dir/b.bin", "empty_deflated",
                                             "empty_stored"}));
  ASSERT_OK_AND_ASSIGN(auto a, ReadMember(View(*zip), "a.txt"));
  EXPECT_EQ(View(*a), text);
  ASSERT_OK_AND_ASSIGN(auto b, ReadMember(View(*zip), "dir/b.bin"));
  EXPECT_EQ(View(*b), big);
  ASSERT_OK_AND_ASSIGN(auto e1, ReadMember(View(*zip), "empty_deflated"));
  EXPECT_EQ(e1->size(), 0);
  ASSERT_OK_AND_ASSIGN(auto e2, ReadMember(View(*zip), "empty_stored"));
  EXPECT_EQ(e2->size(), 0);

  // Same input, same bytes (fixed timestamp).
  ASSERT_OK_AND_ASSIGN(auto again, internal::WriteZip(members, arrow::default_memory_pool()));
  EXPECT_EQ(View(*zip), View(*again));
}

TEST(ZipContainerTest, WriteRejectsBadNames) {
  const std::vector<internal::ZipMemberInput> members = {{"", nullptr, 0}};
  EXPECT_TRUE(internal::WriteZip(members, arrow::default_memory_pool()).status().IsInvalid());
}

TEST(ZipContainerTest, ReadsEveryNumpyArchiveVariant) {
  for (std::string_view zip : NumpyArchivesWithArr()) {
    SCOPED_TRACE(zip.size());
    ASSERT_OK_AND_ASSIGN(auto names, internal::ListZipMembers(Data(zip), zip.size()));
    EXPECT_EQ(names, std::vector<std::string>{"arr.npy"});
    ASSERT_OK_AND_ASSIGN(auto npy, ReadMember(zip, "arr.npy"));
    ASSERT_OK_AND_ASSIGN(Tensor t, internal::ReadNpyBuffer(npy));
    ExpectSameTensor(ExpectedArange(), t);
  }
}

TEST(ZipContainerTest, MissingMemberIsNamed) {
  auto result = ReadMember(View(kNumpyNpzOtherName), "arr.npy");
  ASSERT_TRUE(result.status().IsInvalid());
  EXPECT_NE(result.status().message().find("no member 'arr.npy'"), std::string::npos)
      << result.status().ToString();
  EXPECT_NE(result.status().message().find("'other.npy'"), std::string::npos)
      << result.status().ToString();
}

TEST(ZipContainerTest, DetectsCrcMismatch) {
  // A stored member: flipping a data byte is caught only by the CRC.
  std::string zip(View(kNumpyNpzStored));
  zip[200] ^= 0x01;  // inside the .npy data
  auto result = ReadMember(zip, "arr.npy");
  ASSERT_TRUE(result.status().IsInvalid());
  EXPECT_NE(result.status().message().find("CRC-32"), std::string::npos)
      << result.status().ToString();
}

TEST(ZipContainerTest, RejectsEncryptionUnknownMethodsAndSizeBombs) {
  const std::string zip = SmallArchive();
  // The second central directory entry is arr.npy.
  const size_t first = CentralHeaderOffset(zip);
  const size_t second = zip.find(std::string_view("PK\x01\x02", 4), first + 4);
  ASSERT_NE(second, std::string::npos);

  std::string encrypted = zip;
  SetU16(&encrypted, second + 8, 1);
  EXPECT_NE(ReadMember(encrypted, "arr.npy").status().message().find("encrypted"),
            std::string::npos);

  std::string bzip2 = zip;
  SetU16(&bzip2, second + 10, 12);
  EXPECT_NE(ReadMember(bzip2, "arr.npy").status().message().find("method 12"),
            std::string::npos);

  std::string bomb = zip;
  SetU32(&bomb, second + 24, 0x7FFFFFFF);
  auto result = ReadMember(bomb, "arr.npy");
  ASSERT_TRUE(result.status().IsInvalid());
  EXPECT_NE(result.status().message().find("can hold"), std::string::npos)
      << result.status().ToString();

  std::string wrong_size = zip;
  SetU32(&wrong_size, second + 24, 5);  // smaller than what inflates
  EXPECT_TRUE(ReadMember(wrong_size, "arr.npy").status().IsInvalid());

  std::string renamed_local = zip;
  const size_t local = renamed_local.find("arr.npy");
  renamed_local[local] = 'b';
  EXPECT_NE(ReadMember(renamed_local, "arr.npy").status().message().find("differ"),
            std::string::npos);

  std::string multi_disk = zip;
  SetU16(&multi_disk, multi_disk.size() - 22 + 4, 1);
  EXPECT_NE(ReadMember(multi_disk, "arr.npy").status().message().find("Multi-disk"),
            std::string::npos);
}

TEST(ZipContainerTest, AcceptsAnArchiveComment) {
  std::string zip = SmallArchive();
  const std::string comment = "a comment with PK\x05\x06 inside";
  SetU16(&zip, zip.size() - 2, static_cast<uint16_t>(comment.size()));
  zip += comment;
  ASSERT_OK_AND_ASSIGN(auto member, ReadMember(zip, "arr.npy"));
  EXPECT_EQ(View(*member), "hello, hello, hello, zip");
}

TEST(ZipContainerTest, EveryTruncationIsAnError) {
  std::vector<std::string> archives = {SmallArchive(), SmallArchive(internal::ZipMethod::kStored)};
  for (std::string_view numpy : NumpyArchivesWithArr()) archives.emplace_back(numpy);
  for (const std::string& zip : archives) {
    for (size_t n = 0; n < zip.size(); ++n) {
      auto result = ReadMember(std::string_view(zip).substr(0, n), "arr.npy");
      EXPECT_FALSE(result.ok()) << "prefix of " << n << " of " << zip.size() << " bytes";
    }
    // An empty or null input.
    EXPECT_TRUE(internal::ReadZipMember(nullptr, 0, "arr.npy", arrow::default_memory_pool())
                    .status()
                    .IsInvalid());
  }
}

TEST(ZipContainerTest, CorruptBytesGiveAnErrorOrTheOriginalContents) {
  std::vector<std::string> archives = {SmallArchive(), SmallArchive(internal::ZipMethod::kStored)};
  for (std::string_view numpy : NumpyArchivesWithArr()) archives.emplace_back(numpy);
  for (const std::string& zip : archives) {
    ASSERT_OK_AND_ASSIGN(auto original, ReadMember(zip, "arr.npy"));
    for (size_t pos = 0; pos < zip.size(); ++pos) {
      for (uint8_t mask : {0x01, 0x80, 0xFF}) {
        std::string corrupt = zip;
        corrupt[pos] = static_cast<char>(corrupt[pos] ^ mask);
        auto result = ReadMember(corrupt, "arr.npy");
        if (result.ok()) {
          EXPECT_EQ(View(**result), View(*original)) << "byte " << pos << " ^ " << int{mask};
        }
      }
    }
  }
}

// --- The codec -------------------------------------------------------------------------------

Field MakeField(ScalarType dtype, std::shared_ptr<const Codec> codec) {
  Field field;
  field.name = "value";
  field.dtype = dtype;
  field.codec = std::move(codec);
  return field;
}

TEST(CompressedNdarrayCodecTest, NameAndParameters) {
  auto codec = MakeCompressedNdarrayCodec();
  EXPECT_EQ(codec->name(), "compressed_ndarray");
  EXPECT_EQ(codec->ToString(), "CompressedNdarrayCodec()");
  EXPECT_EQ(codec->params_json(), "{}");
  EXPECT_TRUE((Field{"x", ScalarType::kUInt8, {}, codec, false}).is_tensor());
  EXPECT_TRUE(codec->storage_type()->Equals(arrow::binary()));
}

TEST(CompressedNdarrayCodecTest, DecodesNumpySavezCompressed) {
  auto codec = MakeCompressedNdarrayCodec();
  const Field field = MakeField(ScalarType::kInt32, codec);
  for (std::string_view zip : NumpyArchivesWithArr()) {
    ASSERT_OK_AND_ASSIGN(Tensor t, codec->Decode(field, Data(zip), zip.size(),
                                                 arrow::default_memory_pool()));
    ExpectSameTensor(ExpectedArange(), t);
  }
  auto missing = codec->Decode(field, Data(View(kNumpyNpzOtherName)), sizeof(kNumpyNpzOtherName),
                               arrow::default_memory_pool());
  ASSERT_TRUE(missing.status().IsInvalid());
  EXPECT_NE(missing.status().message().find("'arr.npy'"), std::string::npos);
}

TEST(CompressedNdarrayCodecTest, EncodesAnNpzWithArrNpy) {
  auto codec = MakeCompressedNdarrayCodec();
  const Tensor value = ExpectedArange();
  ASSERT_OK_AND_ASSIGN(auto encoded, codec->Encode(MakeField(ScalarType::kInt32, codec), value,
                                                   arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(auto names, internal::ListZipMembers(encoded->data(), encoded->size()));
  EXPECT_EQ(names, std::vector<std::string>{"arr.npy"});
  EXPECT_EQ(GetU16(View(*encoded), 8), 8);  // deflated
  ASSERT_OK_AND_ASSIGN(auto npy, ReadMember(View(*encoded), "arr.npy"));
  ASSERT_OK_AND_ASSIGN(auto expected_npy, internal::WriteNpy(value, arrow::default_memory_pool()));
  EXPECT_EQ(View(*npy), View(*expected_npy));
}

TEST(CompressedNdarrayCodecTest, RoundTripsDtypesShapesAndLayouts) {
  auto codec = MakeCompressedNdarrayCodec();
  std::vector<ElementType> elements = {
      ElementType::Of(ScalarType::kBool),      ElementType::Of(ScalarType::kUInt8),
      ElementType::Of(ScalarType::kInt64),     ElementType::Of(ScalarType::kFloat16),
      ElementType::Of(ScalarType::kFloat64),   ElementType::Of(ScalarType::kComplex128),
      ElementType::Of(ScalarType::kDatetime64), ElementType::FromTypeString("|S5").ValueOrDie(),
      ElementType::FromTypeString("<U3").ValueOrDie()};
  for (const ElementType& element : elements) {
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{}, {0}, {7}, {3, 4}, {2, 0, 3}, {4, 3, 2}}) {
      for (bool fortran : {false, true}) {
        SCOPED_TRACE(element.TypeString() + " " + ShapeToString(shape));
        if (fortran && shape.size() < 2) continue;
        const Tensor value = PatternTensor(element, shape, fortran);
        const Field field = MakeField(element.type, codec);
        ASSERT_OK_AND_ASSIGN(auto encoded,
                             codec->Encode(field, value, arrow::default_memory_pool()));
        ASSERT_OK_AND_ASSIGN(Tensor back, codec->Decode(field, encoded->data(), encoded->size(),
                                                        arrow::default_memory_pool()));
        Tensor expected = value;
        if (value.num_elements() == 0) expected.fortran_order = false;
        ExpectSameTensor(expected, back);
      }
    }
  }
}

TEST(CompressedNdarrayCodecTest, CompressesRepetitiveData) {
  auto codec = MakeCompressedNdarrayCodec();
  Tensor zeros = Tensor::Allocate(ElementType::Of(ScalarType::kFloat32), {500, 500}).ValueOrDie();
  std::memset(zeros.data->mutable_data(), 0, zeros.data->size());
  ASSERT_OK_AND_ASSIGN(auto encoded, codec->Encode(MakeField(ScalarType::kFloat32, codec), zeros,
                                                   arrow::default_memory_pool()));
  EXPECT_LT(encoded->size(), 5000);
}

// A small cell that inflates far beyond its size (here 16 MiB of zeros in ~16 KB) is refused
// before anything is allocated: by the field's fixed shape, else by the per-cell limit.
TEST(CompressedNdarrayCodecTest, InflationIsBoundedByTheShapeOrTheCellLimit) {
  auto codec = MakeCompressedNdarrayCodec();
  Tensor zeros = Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {4096, 4096}).ValueOrDie();
  std::memset(zeros.data->mutable_data(), 0, zeros.data->size());
  Field variable = MakeField(ScalarType::kUInt8, codec);
  variable.shape = {std::nullopt, std::nullopt};
  ASSERT_OK_AND_ASSIGN(auto bomb, codec->Encode(variable, zeros, arrow::default_memory_pool()));
  ASSERT_LT(bomb->size(), 40000);
  ASSERT_OK(codec->Decode(variable, bomb->data(), bomb->size(), arrow::default_memory_pool())
                .status());

  Field fixed = MakeField(ScalarType::kUInt8, codec);
  fixed.shape = {64, 64};
  auto small = codec->Decode(fixed, bomb->data(), bomb->size(), arrow::default_memory_pool());
  ASSERT_TRUE(small.status().IsInvalid());
  EXPECT_NE(small.status().message().find("more than the 4096 bytes of field 'value' (shape "
                                          "(64, 64), dtype uint8)"),
            std::string::npos)
      << small.status().ToString();
  fixed.dtype = ScalarType::kFloat64;  // 64 x 64 x 8 bytes: still less than 16 MiB
  EXPECT_TRUE(codec->Decode(fixed, bomb->data(), bomb->size(), arrow::default_memory_pool())
                  .status()
                  .IsInvalid());

  ASSERT_EQ(setenv("PETASTORM_MAX_CELL_BYTES", "1000000", 1), 0);
  auto limited = codec->Decode(variable, bomb->data(), bomb->size(), arrow::default_memory_pool());
  ASSERT_EQ(unsetenv("PETASTORM_MAX_CELL_BYTES"), 0);
  ASSERT_TRUE(limited.status().IsInvalid());
  EXPECT_NE(limited.status().message().find("1000000-byte limit on one cell of field 'value'"),
            std::string::npos)
      << limited.status().ToString();
  EXPECT_NE(limited.status().message().find("PETASTORM_MAX_CELL_BYTES"), std::string::npos);
  EXPECT_EQ(MaxDecodedCellBytes(), kDefaultMaxDecodedCellBytes);
}

TEST(CompressedNdarrayCodecTest, CorruptInputIsAnError) {
  auto codec = MakeCompressedNdarrayCodec();
  const Field field = MakeField(ScalarType::kInt32, codec);
  ASSERT_OK_AND_ASSIGN(auto encoded,
                       codec->Encode(field, ExpectedArange(), arrow::default_memory_pool()));
  for (int64_t n = 0; n < encoded->size(); ++n) {
    EXPECT_FALSE(codec->Decode(field, encoded->data(), n, arrow::default_memory_pool()).ok())
        << "prefix of " << n << " bytes";
  }
  const std::string garbage = "this is not a zip archive at all, not even close";
  EXPECT_TRUE(codec->Decode(field, Data(garbage), garbage.size(), arrow::default_memory_pool())
                  .status()
                  .IsInvalid());
}

}  // namespace
}  // namespace petastorm
