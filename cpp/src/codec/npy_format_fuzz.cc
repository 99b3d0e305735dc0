// libFuzzer target: .npy bytes (a NdarrayCodec cell) through ReadNpy, ReadNpyBuffer and the
// codec's Decode. Any input must give a Tensor or a Status; a tensor that is read must be valid
// and must write back.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>

#include "codec/npy_format_internal.h"
#include "petastorm/codec.h"
#include "petastorm/schema.h"
#include "util/fuzz_environment_internal.h"

namespace {

using petastorm::Field;
using petastorm::ScalarType;

void CheckTensor(const arrow::Result<petastorm::Tensor>& tensor) {
  if (!tensor.ok()) return;
  if (!tensor->Validate().ok()) std::abort();  // ReadNpy promised a consistent tensor
  auto written = petastorm::internal::WriteNpy(*tensor, arrow::default_memory_pool());
  (void)written;  // may be Invalid (no numpy dtype), must not crash
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  petastorm::internal::SetFuzzEnvironment();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto* pool = arrow::default_memory_pool();
  const auto n = static_cast<int64_t>(size);
  CheckTensor(petastorm::internal::ReadNpy(data, n, pool));

  // The zero-copy form, from a buffer of its own so that ASan sees reads past the end.
  auto buffer = arrow::AllocateBuffer(n, pool);
  if (!buffer.ok()) return 0;
  if (size > 0) std::memcpy((*buffer)->mutable_data(), data, size);
  std::shared_ptr<arrow::Buffer> npy = std::move(*buffer);
  CheckTensor(petastorm::internal::ReadNpyBuffer(npy));

  // Through the codec, with the per-field bound: a variable shape and a fixed one.
  static const auto codec = petastorm::MakeNdarrayCodec();
  const Field any{"cell", ScalarType::kFloat32, {std::nullopt, std::nullopt}, codec, true};
  const Field fixed{"cell", ScalarType::kUInt8, {4, 3}, codec, false};
  (void)petastorm::DecodeField(any, npy, pool);
  (void)petastorm::DecodeField(fixed, data, n, pool);
  return 0;
}
