// Helpers shared by the writer and reader tests.
#pragma once

#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "petastorm/codec.h"
#include "petastorm/dataset_writer.h"
#include "petastorm/row.h"
#include "petastorm/schema.h"

namespace petastorm::testing {

// A fresh directory under the test temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("petastorm_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::shared_ptr<const Unischema> TestSchema() {
  return Unischema::Make(
             "TestSchema",
             {{"id", ScalarType::kInt64, {}, nullptr, false},
              {"label", ScalarType::kString, {}, nullptr, true},
              {"matrix", ScalarType::kFloat32, {2, std::nullopt}, MakeNdarrayCodec(), false},
              {"image", ScalarType::kUInt8, {4, 6, 3}, MakeCompressedImageCodec("png").ValueOrDie(), true}})
      .ValueOrDie();
}

inline Tensor FilledTensor(ScalarType type, std::vector<int64_t> shape, int seed) {
  Tensor t = Tensor::Allocate(ElementType::Of(type), std::move(shape)).ValueOrDie();
  uint8_t* data = t.data->mutable_data();
  for (int64_t i = 0; i < t.nbytes(); ++i) data[i] = static_cast<uint8_t>((i * 7 + seed * 13) % 251);
  if (type == ScalarType::kFloat32) {
    auto* f = reinterpret_cast<float*>(data);
    for (int64_t i = 0; i < t.num_elements(); ++i) f[i] = static_cast<float>(seed) + 0.5f * i;
  }
  return t;
}

inline NamedRow TestRow(int64_t id) {
  NamedRow row;
  row.emplace_back("id", id);
  row.emplace_back("label", id % 3 == 0 ? Value{} : Value{std::string("row-") + std::to_string(id)});
  row.emplace_back("matrix", FilledTensor(ScalarType::kFloat32, {2, 1 + id % 4}, static_cast<int>(id)));
  row.emplace_back("image", id % 5 == 0 ? Value{} : Value{FilledTensor(ScalarType::kUInt8, {4, 6, 3}, static_cast<int>(id))});
  return row;
}

// A dataset of TestSchema rows 0 .. rows-1 at scratch/name, row groups of rows_per_rowgroup.
inline std::string WriteTestDataset(const ScratchDir& scratch, int rows, int rows_per_rowgroup,
                                    const std::string& name = "ds") {
  const std::string url = scratch.Path(name);
  WriteOptions options;
  options.rows_per_rowgroup = rows_per_rowgroup;
  auto writer = DatasetWriter::Open(url, TestSchema(), options).ValueOrDie();
  for (int i = 0; i < rows; ++i) EXPECT_TRUE(writer->Write(TestRow(i)).ok());
  EXPECT_TRUE(writer->Close().ok());
  return url;
}

inline bool SameBytes(const Tensor& a, const Tensor& b) {
  return a.element == b.element && a.shape == b.shape && a.nbytes() == b.nbytes() &&
         std::memcmp(a.data->data(), b.data->data(), static_cast<size_t>(a.nbytes())) == 0;
}

}  // namespace petastorm::testing
