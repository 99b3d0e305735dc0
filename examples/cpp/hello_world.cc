// The hello-world job in C++, with no Python: write HelloWorldSchema rows, read them back.
//
//   hello_world_cpp /tmp/hello_world_cpp_dataset
#include <cstring>
#include <iostream>
#include <vector>

#include <arrow/array/array_primitive.h>
#include <arrow/type.h>

#include "petastorm/codec.h"
#include "petastorm/dataset_writer.h"
#include "petastorm/reader.h"

namespace {

using petastorm::ScalarType;
using petastorm::Tensor;

Tensor MakeTensor(std::vector<int64_t> shape, int seed) {
  Tensor t = Tensor::Allocate(petastorm::ElementType::Of(ScalarType::kUInt8), std::move(shape)).ValueOrDie();
  for (int64_t i = 0; i < t.nbytes(); ++i) t.data->mutable_data()[i] = static_cast<uint8_t>(i * 31 + seed);
  return t;
}

arrow::Status Run(const std::string& url) {
  ARROW_ASSIGN_OR_RAISE(auto png, petastorm::MakeCompressedImageCodec("png"));
  ARROW_ASSIGN_OR_RAISE(
      auto schema,
      petastorm::Unischema::Make(
          "HelloWorldSchema",
          {{"id", ScalarType::kInt32, {}, nullptr, false, arrow::int32()},
           {"image1", ScalarType::kUInt8, {128, 256, 3}, png, false},
           {"array_4d", ScalarType::kUInt8, {std::nullopt, 128, 30, std::nullopt},
            petastorm::MakeNdarrayCodec(), false}}));

  constexpr int kRows = 100;
  petastorm::WriteOptions options;
  options.overwrite = true;
  options.rowgroup_size_bytes = 4 << 20;
  ARROW_ASSIGN_OR_RAISE(auto writer, petastorm::DatasetWriter::Open(url, schema, options));
  for (int i = 0; i < kRows; ++i) {
    ARROW_RETURN_NOT_OK(writer->Write({{"id", int64_t{i}},
                                       {"image1", MakeTensor({128, 256, 3}, i)},
                                       {"array_4d", MakeTensor({4, 128, 30, 3}, i)}}));
  }
  ARROW_RETURN_NOT_OK(writer->Close());

  ARROW_ASSIGN_OR_RAISE(auto dataset, petastorm::Dataset::Open(url));
  petastorm::ReaderOptions read_options;
  read_options.seed = 1;  // row groups come in a seeded random order
  read_options.workers_count = 2;
  ARROW_ASSIGN_OR_RAISE(auto reader, petastorm::Reader::Open(dataset, read_options));
  std::vector<bool> seen(kRows, false);
  int rows = 0;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    const auto& ids = static_cast<const arrow::Int32Array&>(*batch->columns[0].values);
    for (int64_t r = 0; r < batch->num_rows; ++r, ++rows) {
      const int id = ids.Value(r);
      const Tensor expected = MakeTensor({128, 256, 3}, id);
      const Tensor& image = *batch->columns[1].tensors[r];
      if (id < 0 || id >= kRows || seen[id] || image.shape != expected.shape ||
          std::memcmp(image.data->data(), expected.data->data(), expected.nbytes()) != 0) {
        return arrow::Status::Invalid("row ", id, " differs from what was written");
      }
      seen[id] = true;
    }
  }
  if (rows != kRows) return arrow::Status::Invalid("read ", rows, " rows, wrote ", kRows);
  std::cout << "hello_world_cpp: wrote and read back " << rows << " rows of "
            << schema->name() << " at " << url << std::endl;
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "/tmp/hello_world_cpp_dataset";
  auto status = Run(url);
  if (!status.ok()) {
    std::cerr << "hello_world_cpp failed: " << status.ToString() << std::endl;
    return 1;
  }
  return 0;
}
