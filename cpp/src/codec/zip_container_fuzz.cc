// libFuzzer target: the npz container of CompressedNdarrayCodec (numpy.savez_compressed) through
// ListZipMembers, ReadZipMember and the codec's Decode. Any input must give a result or a Status.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>

#include "codec/zip_container_internal.h"
#include "petastorm/codec.h"
#include "petastorm/schema.h"
#include "util/fuzz_environment_internal.h"

using petastorm::Field;
using petastorm::ScalarType;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  petastorm::internal::SetFuzzEnvironment();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto* pool = arrow::default_memory_pool();
  const auto n = static_cast<int64_t>(size);
  auto names = petastorm::internal::ListZipMembers(data, n);
  if (names.ok()) {
    for (const std::string& name : *names) {
      (void)petastorm::internal::ReadZipMember(data, n, name, pool);
    }
  }
  (void)petastorm::internal::ReadZipMember(data, n, "arr.npy", pool);

  static const auto codec = petastorm::MakeCompressedNdarrayCodec();
  const Field any{"cell", ScalarType::kFloat64, {std::nullopt}, codec, true};
  const Field fixed{"cell", ScalarType::kInt16, {8, 8}, codec, false};
  (void)petastorm::DecodeField(any, data, n, pool);
  (void)petastorm::DecodeField(fixed, data, n, pool);
  return 0;
}
