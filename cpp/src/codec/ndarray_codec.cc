// NdarrayCodec: each value is the .npy bytes numpy.save writes (Petastorm's NdarrayCodec).
#include <memory>
#include <string>

#include "codec/npy_format_internal.h"
#include "petastorm/codec.h"

namespace petastorm {
namespace {

class NdarrayCodec final : public Codec {
 public:
  std::string name() const override { return "ndarray"; }
  std::string ToString() const override { return "NdarrayCodec()"; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const Field& field, const Tensor& value,
                                                       arrow::MemoryPool* pool) const override {
    return internal::WriteNpy(value, pool);
  }

  arrow::Result<Tensor> Decode(const Field& field, const uint8_t* data, int64_t size,
                               arrow::MemoryPool* pool) const override {
    return internal::ReadNpy(data, size, pool);
  }
};

}  // namespace

std::shared_ptr<const Codec> MakeNdarrayCodec() {
  static const std::shared_ptr<const Codec> codec = std::make_shared<NdarrayCodec>();
  return codec;
}

}  // namespace petastorm
