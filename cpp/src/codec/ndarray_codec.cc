// NdarrayCodec: each value is the .npy bytes numpy.save writes (Petastorm's NdarrayCodec).
#include <cstdint>
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

  // No copy: the tensor is a slice of the cell, when its data is aligned for its element type
  // (numpy and torch expect that); otherwise a copy as Decode makes.
  arrow::Result<Tensor> DecodeBuffer(const Field& field, const std::shared_ptr<arrow::Buffer>& cell,
                                     arrow::MemoryPool* pool) const override {
    ARROW_ASSIGN_OR_RAISE(Tensor tensor, internal::ReadNpyBuffer(cell));
    const auto alignment = static_cast<uintptr_t>(tensor.element.alignment());
    if (!tensor.data || reinterpret_cast<uintptr_t>(tensor.data->data()) % alignment == 0) return tensor;
    return internal::ReadNpy(cell->data(), cell->size(), pool);
  }
};

}  // namespace

std::shared_ptr<const Codec> MakeNdarrayCodec() {
  static const std::shared_ptr<const Codec> codec = std::make_shared<NdarrayCodec>();
  return codec;
}

}  // namespace petastorm
