// CompressedNdarrayCodec: each value is what numpy.savez_compressed(f, arr=value) writes, a ZIP
// archive holding the deflated .npy bytes as member "arr.npy" (Petastorm's
// CompressedNdarrayCodec).
#include <algorithm>
#include <memory>
#include <string>

#include "codec/npy_format_internal.h"
#include "codec/zip_container_internal.h"
#include "petastorm/codec.h"

namespace petastorm {
namespace {

// numpy.savez names a keyword argument's member "<name>.npy"; Petastorm saves arr=value.
constexpr char kMemberName[] = "arr.npy";
// The most a .npy header takes beyond the data: format 1.0's 10-byte preamble and up to 65535
// bytes of header (numpy moves to 2.0 only for headers our dtypes never need).
constexpr int64_t kMaxNpyHeaderBytes = 10 + 65535;

class CompressedNdarrayCodec final : public Codec {
 public:
  std::string name() const override { return "compressed_ndarray"; }
  std::string ToString() const override { return "CompressedNdarrayCodec()"; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const Field& field, const Tensor& value,
                                                       arrow::MemoryPool* pool) const override {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> npy, internal::WriteNpy(value, pool));
    return internal::WriteZip({{kMemberName, npy->data(), npy->size(),
                                internal::ZipMethod::kDeflated}},
                              pool);
  }

  arrow::Result<Tensor> Decode(const Field& field, const uint8_t* data, int64_t size,
                               arrow::MemoryPool* pool) const override {
    // Bounded before inflating: by the field's fixed shape, or the per-cell limit.
    auto check_size = [&field](int64_t npy_bytes) {
      return CheckDecodedCellSize(field, std::max<int64_t>(0, npy_bytes - kMaxNpyHeaderBytes),
                                  "The array in npz member 'arr.npy' (" +
                                      std::to_string(npy_bytes) + " bytes with its header)");
    };
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> npy,
                          internal::ReadZipMember(data, size, kMemberName, pool, check_size));
    return internal::ReadNpyBuffer(npy);  // the inflated buffer is ours: no second copy
  }
};

}  // namespace

std::shared_ptr<const Codec> MakeCompressedNdarrayCodec() {
  static const std::shared_ptr<const Codec> codec = std::make_shared<CompressedNdarrayCodec>();
  return codec;
}

}  // namespace petastorm
