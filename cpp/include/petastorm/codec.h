// Codecs turn a field's value into what a Parquet column stores, and back.
//
// A codec (ndarray, compressed ndarray, png, jpeg, custom) stores each value of a tensor field
// as one cell, binary by default. Fields stored natively (Petastorm's ScalarCodec) have no
// codec: Field::arrow_type says their Arrow type.
// Codecs are immutable and thread-safe: Encode and Decode may run concurrently.
// Errors are arrow::Status; messages name the field.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "petastorm/schema.h"
#include "petastorm/tensor.h"

namespace petastorm {

class Codec {
 public:
  virtual ~Codec() = default;

  // Registry key and JSON name: "ndarray", "compressed_ndarray", "image", "scalar", ...
  virtual std::string name() const = 0;
  // Parameters as a JSON object ("{}" when there are none); with name() it rebuilds the codec
  // through CodecRegistry::Make.
  virtual std::string params_json() const { return "{}"; }
  // How Petastorm prints it: "NdarrayCodec()", "CompressedImageCodec('png', 80)".
  virtual std::string ToString() const = 0;

  // The Arrow type of the column's cells: binary unless a custom codec says otherwise.
  virtual std::shared_ptr<arrow::DataType> storage_type() const;

  // Encodes one value. `value` has already been checked against `field`.
  virtual arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(
      const Field& field, const Tensor& value, arrow::MemoryPool* pool) const = 0;
  // Decodes one cell. The caller checks the result against `field` (DecodeField does both).
  virtual arrow::Result<Tensor> Decode(const Field& field, const uint8_t* data, int64_t size,
                                       arrow::MemoryPool* pool) const = 0;
  // Decodes one cell held in `cell`. A codec may return a tensor that shares `cell`'s memory
  // instead of copying it (NdarrayCodec does when the data is aligned); the default copies.
  virtual arrow::Result<Tensor> DecodeBuffer(const Field& field,
                                             const std::shared_ptr<arrow::Buffer>& cell,
                                             arrow::MemoryPool* pool) const {
    return Decode(field, cell->data(), cell->size(), pool);
  }
};

// Checks a tensor against a field: element type and shape (None matches any size).
// The error names the field.
arrow::Status CheckTensorForField(const Field& field, const Tensor& value);

// Checks `value` against `field`, then encodes it with the field's codec.
arrow::Result<std::shared_ptr<arrow::Buffer>> EncodeField(
    const Field& field, const Tensor& value,
    arrow::MemoryPool* pool = arrow::default_memory_pool());

// Decodes with the field's codec, then checks the result against the field.
// Errors name the field and the codec.
arrow::Result<Tensor> DecodeField(const Field& field, const uint8_t* data, int64_t size,
                                  arrow::MemoryPool* pool = arrow::default_memory_pool());
// The same for a cell held in a buffer; the result may share the buffer (Codec::DecodeBuffer).
arrow::Result<Tensor> DecodeField(const Field& field, const std::shared_ptr<arrow::Buffer>& cell,
                                  arrow::MemoryPool* pool = arrow::default_memory_pool());

// The bound on what one cell of `field` may decode to, checked by the built-in codecs before
// they allocate (a small compressed cell can claim gigabytes): the field's shape times its item
// size when both are fixed, else MaxDecodedCellBytes().
int64_t DecodedCellLimit(const Field& field);
// The per-cell bound for fields whose shape does not fix the size (a None dimension, a bytes or
// str dtype): PETASTORM_MAX_CELL_BYTES from the environment (read at each call; a positive
// integer), else kDefaultMaxDecodedCellBytes.
inline constexpr int64_t kDefaultMaxDecodedCellBytes = int64_t{256} << 20;  // 256 MiB
int64_t MaxDecodedCellBytes();
// Invalid, naming the field, when a cell would decode to `bytes` > DecodedCellLimit(field).
// `what` says what was about to be decoded ("PNG image 8000x8000x3").
arrow::Status CheckDecodedCellSize(const Field& field, int64_t bytes, std::string_view what);

// --- Built-in codecs ------------------------------------------------------------------------

// numpy.save bytes (.npy, format 1.0; 2.0/3.0 are read too).
std::shared_ptr<const Codec> MakeNdarrayCodec();
// The npz container of numpy.savez_compressed(f, arr=value): a ZIP with deflated "arr.npy".
std::shared_ptr<const Codec> MakeCompressedNdarrayCodec();
// image_codec is "png" or "jpeg" ("jpg" is accepted as "jpeg"); quality 1..100 (used by jpeg).
// Decode goes by the data's signature (as OpenCV's imdecode), so either format decodes.
arrow::Result<std::shared_ptr<const Codec>> MakeCompressedImageCodec(std::string image_codec,
                                                                     int quality = 80);
// --- Decoding images smaller: CompressedImageCodec's reading options ---------------------------

// A crop window, in pixels of the scaled image: columns x .. x + width, rows y .. y + height.
struct ImageCrop {
  int64_t x = 0;
  int64_t y = 0;
  int64_t width = 0;
  int64_t height = 0;
};

// How a CompressedImageCodec cell is decoded: JPEG at scale scale_num/scale_den, done by
// TurboJPEG in the DCT domain (a quarter of the pixels at 1/2), then `crop` (rows copied out of
// the scaled image; PNG too, decoded whole first). PNG has no scaled decoding: a PNG cell met
// with a scale other than 1/1 is an error.
struct ImageDecodeOptions {
  int scale_num = 1;
  int scale_den = 1;
  std::optional<ImageCrop> crop;

  bool scaled() const { return scale_num != scale_den; }
  bool empty() const { return !scaled() && !crop; }
  std::string ToString() const;  // "scale=1/2, crop=(0, 0, 56, 56)"
};

// The scale factors TurboJPEG offers (tjGetScalingFactors), as (num, den): 2/1 ... 1/8.
const std::vector<std::pair<int, int>>& JpegScalingFactors();
// A dimension at a scale, rounded up: TurboJPEG's TJSCALED.
int64_t ScaledDimension(int64_t dimension, int scale_num, int scale_den);

// A codec that decodes as the CompressedImageCodec `codec` does, with `options` (replacing any
// it had; Encode is unchanged). The scale is stored as TurboJPEG's own factor (2/4 becomes 1/2).
// Invalid: a scale TurboJPEG does not offer (the message lists those it does), a crop with a
// negative origin or an empty size, `codec` not a CompressedImageCodec (named). At decode time a
// crop outside the scaled image, or a PNG cell with a scale, is Invalid (DecodeField names the
// field).
arrow::Result<std::shared_ptr<const Codec>> WithImageDecodeOptions(
    const std::shared_ptr<const Codec>& codec, const ImageDecodeOptions& options);

// `field` as decoded with `options`: its codec WithImageDecodeOptions, its shape the decoded
// one (fixed H and W scaled; a crop fixes them to its size; a None dimension stays None).
// Invalid naming the field: no CompressedImageCodec, a PNG codec with a scale, a bad option, or
// a crop outside the field's fixed scaled shape.
arrow::Result<Field> FieldWithImageDecodeOptions(const Field& field,
                                                 const ImageDecodeOptions& options);

// `schema` with FieldWithImageDecodeOptions applied to the named fields (same name, the other
// fields unchanged). Invalid naming a field the schema does not have.
arrow::Result<std::shared_ptr<const Unischema>> SchemaWithImageDecodeOptions(
    const Unischema& schema, const std::map<std::string, ImageDecodeOptions>& options);

// The registry names of the built-in codecs ("ndarray", "compressed_ndarray",
// "compressed_image"): the one list of what the C++ core implements; Python asks for it.
const std::vector<std::string>& BuiltinCodecNames();

// --- Registry -------------------------------------------------------------------------------

// Maps codec names to factories, so that a schema read from JSON gets its codecs back.
// Built-in codecs are registered at start-up. Thread-safe.
class CodecRegistry {
 public:
  using Factory =
      std::function<arrow::Result<std::shared_ptr<const Codec>>(std::string_view params_json)>;

  static CodecRegistry& Global();

  // Replaces any factory of the same name.
  void Register(std::string name, Factory factory);
  // Invalid naming the codec when no factory is registered under `name`.
  arrow::Result<std::shared_ptr<const Codec>> Make(std::string_view name,
                                                   std::string_view params_json) const;
  std::vector<std::string> Names() const;

 private:
  CodecRegistry();
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace petastorm
