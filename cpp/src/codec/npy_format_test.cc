#include "codec/npy_format_internal.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "util/test_macros_internal.h"

namespace petastorm::internal {
namespace {

Tensor Filled(ElementType element, std::vector<int64_t> shape) {
  Tensor t = Tensor::Allocate(element, std::move(shape)).ValueOrDie();
  for (int64_t i = 0; i < t.nbytes(); ++i) t.data->mutable_data()[i] = static_cast<uint8_t>(i * 3 + 1);
  return t;
}

std::string Header(const arrow::Buffer& npy) {
  const uint16_t length = static_cast<uint16_t>(npy.data()[8] | (npy.data()[9] << 8));
  return std::string(reinterpret_cast<const char*>(npy.data()) + 10, length);
}

std::string Npy(const std::string& header, const std::string& data, char major = 1) {
  std::string padded = header;
  while ((10 + padded.size() + 1) % 64 != 0) padded.push_back(' ');
  padded.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(major);
  out.push_back(0);
  out.push_back(static_cast<char>(padded.size() & 0xff));
  out.push_back(static_cast<char>(padded.size() >> 8));
  return out + padded + data;
}

TEST(NpyFormatTest, WritesWhatNumpySaveWrites) {
  Tensor t = Filled(ElementType::Of(ScalarType::kInt32), {2, 3});
  ASSERT_OK_AND_ASSIGN(auto npy, WriteNpy(t, arrow::default_memory_pool()));
  EXPECT_EQ(std::memcmp(npy->data(), "\x93NUMPY\x01\x00", 8), 0);
  const std::string header = Header(*npy);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(" \n") + 1),
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ((10 + header.size()) % 64, 0u);  // the data starts 64-byte aligned
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(npy->size(), static_cast<int64_t>(10 + header.size() + 24));
  EXPECT_EQ(std::memcmp(npy->data() + 10 + header.size(), t.data->data(), 24), 0);

  Tensor scalar = Filled(ElementType::Of(ScalarType::kFloat64), {});
  ASSERT_OK_AND_ASSIGN(auto scalar_npy, WriteNpy(scalar, arrow::default_memory_pool()));
  EXPECT_NE(Header(*scalar_npy).find("'shape': ()"), std::string::npos);
  Tensor vector = Filled(ElementType::Of(ScalarType::kUInt8), {5});
  ASSERT_OK_AND_ASSIGN(auto vector_npy, WriteNpy(vector, arrow::default_memory_pool()));
  EXPECT_NE(Header(*vector_npy).find("'shape': (5,)"), std::string::npos);
}

TEST(NpyFormatTest, RoundTripsEveryLayout) {
  for (bool fortran : {false, true}) {
    Tensor t = Filled(ElementType::Of(ScalarType::kFloat32), {3, 4});
    t.fortran_order = fortran;
    ASSERT_OK_AND_ASSIGN(auto npy, WriteNpy(t, arrow::default_memory_pool()));
    EXPECT_NE(Header(*npy).find(fortran ? "'fortran_order': True" : "'fortran_order': False"), std::string::npos);
    ASSERT_OK_AND_ASSIGN(Tensor back, ReadNpy(npy->data(), npy->size(), arrow::default_memory_pool()));
    EXPECT_EQ(back.shape, t.shape);
    EXPECT_EQ(back.fortran_order, fortran);
    EXPECT_EQ(std::memcmp(back.data->data(), t.data->data(), 48), 0);
  }
  ElementType text;
  text.type = ScalarType::kString;
  text.itemsize = 12;
  Tensor words = Filled(text, {2});
  ASSERT_OK_AND_ASSIGN(auto npy, WriteNpy(words, arrow::default_memory_pool()));
  EXPECT_NE(Header(*npy).find("'<U3'"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(Tensor back, ReadNpy(npy->data(), npy->size(), arrow::default_memory_pool()));
  EXPECT_EQ(back.element, text);
}

TEST(NpyFormatTest, ReadsWithoutACopy) {
  Tensor t = Filled(ElementType::Of(ScalarType::kInt64), {4});
  ASSERT_OK_AND_ASSIGN(auto npy, WriteNpy(t, arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(Tensor view, ReadNpyBuffer(npy));
  EXPECT_EQ(view.data->data(), npy->data() + (npy->size() - 32));
  EXPECT_EQ(std::memcmp(view.data->data(), t.data->data(), 32), 0);
}

TEST(NpyFormatTest, ReadsVersionTwoHeaders) {
  std::string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }";
  std::string padded = header;
  while ((12 + padded.size() + 1) % 64 != 0) padded.push_back(' ');
  padded.push_back('\n');
  std::string npy = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t length = static_cast<uint32_t>(padded.size());
  npy.append(reinterpret_cast<const char*>(&length), 4);
  npy += padded + std::string("\x01\x00\x02\x00", 4);
  ASSERT_OK_AND_ASSIGN(Tensor t, ReadNpy(reinterpret_cast<const uint8_t*>(npy.data()),
                                         static_cast<int64_t>(npy.size()), arrow::default_memory_pool()));
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(t.element.type, ScalarType::kUInt16);
  EXPECT_EQ(reinterpret_cast<const uint16_t*>(t.data->data())[1], 2);
}

TEST(NpyFormatTest, RejectsWhatNumpyWouldNotLoadAsAnArray) {
  auto read = [](const std::string& bytes) {
    return ReadNpy(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int64_t>(bytes.size()),
                   arrow::default_memory_pool())
        .status();
  };
  const std::string four_bytes(4, '\x01');
  EXPECT_TRUE(read(Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", four_bytes)).ok());
  EXPECT_TRUE(read("not an npy file at all").IsInvalid());
  EXPECT_TRUE(read(std::string("\x93NUMPY", 6)).IsInvalid());                          // truncated
  EXPECT_TRUE(read(Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", four_bytes, 9)).IsInvalid());
  EXPECT_TRUE(read(Npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'))).IsInvalid());
  EXPECT_TRUE(read(Npy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", four_bytes)).IsInvalid());
  EXPECT_TRUE(read(Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", four_bytes)).IsInvalid());
  EXPECT_TRUE(read(Npy("{'descr': '<i4', 'shape': (1,), }", four_bytes)).IsInvalid());
  EXPECT_TRUE(read(Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
                       four_bytes)).IsInvalid());
}

TEST(NpyFormatTest, RejectsTensorsWithoutANumpyType) {
  Tensor decimal;
  decimal.element.type = ScalarType::kDecimal;
  decimal.element.itemsize = 0;
  decimal.shape = {1};
  decimal.data = std::make_shared<arrow::Buffer>(nullptr, 0);
  EXPECT_FALSE(WriteNpy(decimal, arrow::default_memory_pool()).ok());
  Tensor short_data = Filled(ElementType::Of(ScalarType::kInt32), {2});
  short_data.shape = {3};
  EXPECT_FALSE(WriteNpy(short_data, arrow::default_memory_pool()).ok());
}

}  // namespace
}  // namespace petastorm::internal
