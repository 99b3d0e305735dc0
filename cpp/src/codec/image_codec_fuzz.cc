// libFuzzer targets png_decode and jpeg_decode: image bytes through
// CompressedImageCodec(PETASTORM_FUZZ_IMAGE_FORMAT)'s Decode (the codec interface, as a reader
// decodes a cell), for the field types images are read as. Any input must give a Tensor or a
// Status. (Decode goes by the data's signature; each target's seeds keep it on its format.)
#include <cstdint>
#include <cstdlib>
#include <optional>

#include <arrow/memory_pool.h>

#include "petastorm/codec.h"
#include "petastorm/schema.h"
#include "util/fuzz_environment_internal.h"

#ifndef PETASTORM_FUZZ_IMAGE_FORMAT
#error "PETASTORM_FUZZ_IMAGE_FORMAT (\"png\" or \"jpeg\") is set by cpp/CMakeLists.txt"
#endif

using petastorm::Field;
using petastorm::ScalarType;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  petastorm::internal::SetFuzzEnvironment();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto codec = petastorm::MakeCompressedImageCodec(PETASTORM_FUZZ_IMAGE_FORMAT).ValueOrDie();
  auto* pool = arrow::default_memory_pool();
  const auto n = static_cast<int64_t>(size);
  const Field color{"image", ScalarType::kUInt8, {std::nullopt, std::nullopt, 3}, codec, false};
  const Field gray{"image", ScalarType::kUInt8, {std::nullopt, std::nullopt}, codec, false};
  const Field deep{"image", ScalarType::kUInt16, {std::nullopt, std::nullopt, std::nullopt}, codec, false};
  const Field fixed{"image", ScalarType::kUInt8, {16, 16, 3}, codec, false};
  for (const Field* field : {&color, &gray, &deep, &fixed}) {
    auto tensor = petastorm::DecodeField(*field, data, n, pool);
    if (tensor.ok() && !tensor->Validate().ok()) std::abort();
  }
  return 0;
}
