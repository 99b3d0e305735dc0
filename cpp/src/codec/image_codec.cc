// CompressedImageCodec: each value is a PNG (libspng) or JPEG (TurboJPEG) image, as Petastorm's
// CompressedImageCodec stores it through OpenCV. Images are (H, W) grayscale or (H, W, 3) RGB;
// PNG takes uint8 and uint16, JPEG uint8. Decoding looks at the data, not at the codec's
// format, as OpenCV's imdecode does.
//
// Each C library's error model stays in this file: libspng returns error codes (spng_strerror),
// TurboJPEG returns -1 and keeps a message in its handle (tjGetErrorStr2). Every context is
// owned by a unique_ptr, so every return path frees it.
#include <spng.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "codec/builtin_codecs_internal.h"
#include "petastorm/codec.h"
#include "util/json_internal.h"

namespace petastorm {
namespace {

static_assert(std::endian::native == std::endian::little,
              "tensor data is little-endian; 16-bit PNG samples are converted for it");

constexpr std::string_view kPngSignature = "\x89PNG\r\n\x1a\n";
constexpr std::string_view kJpegSignature = "\xFF\xD8\xFF";
// libjpeg's JPEG_MAX_DIMENSION.
constexpr int64_t kMaxJpegDimension = 65500;
constexpr int64_t kMaxPngDimension = 0x7FFFFFFF;
// A deflate stream expands at most 1032:1; a PNG whose header promises more raw bytes than its
// compressed data can hold is corrupt, and must not drive a huge allocation.
constexpr int64_t kMaxDeflateRatio = 1032;

enum class ImageFormat { kPng, kJpeg };

std::string_view FormatName(ImageFormat format) {
  return format == ImageFormat::kPng ? "png" : "jpeg";
}

struct SpngContextDeleter {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using SpngContext = std::unique_ptr<spng_ctx, SpngContextDeleter>;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

struct TurboJpegDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TurboJpegHandle = std::unique_ptr<void, TurboJpegDeleter>;

// One compressor and one decompressor per thread: creating a TurboJPEG instance costs about
// as much as decoding a small image. After a failed call a handle may keep state from it, so
// it is then replaced (ResetThreadJpegHandles).
TurboJpegHandle& ThreadCompressorSlot() {
  thread_local TurboJpegHandle handle;
  return handle;
}

TurboJpegHandle& ThreadDecompressorSlot() {
  thread_local TurboJpegHandle handle;
  return handle;
}

void* ThreadCompressor() {
  auto& handle = ThreadCompressorSlot();
  if (!handle) handle.reset(tjInitCompress());
  return handle.get();
}

void* ThreadDecompressor() {
  auto& handle = ThreadDecompressorSlot();
  if (!handle) handle.reset(tjInitDecompress());
  return handle.get();
}

// Replaces this thread's handles once the error message has been taken from them.
struct ResetThreadJpegHandles {
  ~ResetThreadJpegHandles() {
    if (!failed) return;
    ThreadCompressorSlot().reset();
    ThreadDecompressorSlot().reset();
  }
  bool failed = true;
};

struct TurboJpegFreeDeleter {
  void operator()(unsigned char* p) const { tjFree(p); }
};

// The geometry of an image tensor: (H, W) or (H, W, 3).
struct ImageShape {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 1;
};

arrow::Result<ImageShape> CheckImageShape(const std::vector<int64_t>& shape) {
  if (shape.size() == 3 && shape[2] == 4) {
    return arrow::Status::Invalid("Unexpected image dimensions: 4-channel images are not supported. "
                                  "Supported dimensions are (H, W) or (H, W, 3). Got ", ShapeToString(shape));
  }
  if (!(shape.size() == 2 || (shape.size() == 3 && shape[2] == 3))) {
    return arrow::Status::Invalid("Unexpected image dimensions. Supported dimensions are (H, W) "
                                  "or (H, W, 3). Got ", ShapeToString(shape));
  }
  ImageShape image{shape[0], shape[1], shape.size() == 3 ? 3 : 1};
  if (image.height <= 0 || image.width <= 0) {
    return arrow::Status::Invalid("Cannot compress an empty image of shape ", ShapeToString(shape));
  }
  return image;
}

// The tensor in row-major layout: itself when it already is, else a transposed copy.
arrow::Result<Tensor> ToRowMajor(const Tensor& value, arrow::MemoryPool* pool) {
  int longer_than_one = 0;
  for (int64_t d : value.shape) longer_than_one += d > 1 ? 1 : 0;
  if (!value.fortran_order || longer_than_one <= 1) return value;
  ARROW_ASSIGN_OR_RAISE(Tensor out, Tensor::Allocate(value.element, value.shape, pool));
  const size_t ndim = value.shape.size();
  const int64_t itemsize = value.element.itemsize;
  std::vector<int64_t> column_major_stride(ndim, 1);
  for (size_t i = 1; i < ndim; ++i) {
    column_major_stride[i] = column_major_stride[i - 1] * value.shape[i - 1];
  }
  std::vector<int64_t> index(ndim, 0);
  const uint8_t* src = value.data->data();
  uint8_t* dst = out.data->mutable_data();
  const int64_t n = value.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    int64_t from = 0;
    for (size_t d = 0; d < ndim; ++d) from += index[d] * column_major_stride[d];
    std::memcpy(dst + i * itemsize, src + from * itemsize, static_cast<size_t>(itemsize));
    for (size_t d = ndim; d-- > 0;) {
      if (++index[d] < value.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> CopyToBuffer(const void* data, size_t size,
                                                           arrow::MemoryPool* pool) {
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> out,
                        arrow::AllocateBuffer(static_cast<int64_t>(size), pool));
  if (size > 0) std::memcpy(out->mutable_data(), data, size);
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

// "HxWxC", as the error messages say an image's size.
std::string ImageSizeString(int64_t height, int64_t width, int64_t channels) {
  return std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels);
}

std::vector<int64_t> TensorShape(int64_t height, int64_t width, int64_t channels) {
  if (channels == 1) return {height, width};
  return {height, width, channels};
}

// --- PNG (libspng) ---------------------------------------------------------------------------

arrow::Status SpngError(std::string_view what, int error) {
  return arrow::Status::Invalid(what, ": ", spng_strerror(error));
}

arrow::Result<std::shared_ptr<arrow::Buffer>> EncodePng(const Tensor& image,
                                                        const ImageShape& shape,
                                                        arrow::MemoryPool* pool) {
  if (image.element.type != ScalarType::kUInt8 && image.element.type != ScalarType::kUInt16) {
    return arrow::Status::Invalid("PNG images must be uint8 or uint16, got ",
                                  ScalarTypeName(image.element.type));
  }
  if (shape.height > kMaxPngDimension || shape.width > kMaxPngDimension) {
    return arrow::Status::Invalid("Image of shape ", ShapeToString(image.shape),
                                  " is too large for PNG");
  }
  SpngContext ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (!ctx) return arrow::Status::OutOfMemory("Cannot create a libspng encoder");
  int rc = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (rc != 0) return SpngError("PNG encoding failed", rc);
  // OpenCV's defaults, which Petastorm's PNGs are written with: zlib level 1, run-length
  // strategy, the Sub filter. About 4x faster than libspng's defaults (level 6, every filter
  // tried per row) for files of about the same size.
  for (auto [option, value] : {std::pair{SPNG_IMG_COMPRESSION_LEVEL, 1}, std::pair{SPNG_IMG_COMPRESSION_STRATEGY, Z_RLE},
                               std::pair{SPNG_FILTER_CHOICE, static_cast<int>(SPNG_FILTER_CHOICE_SUB)}}) {
    rc = spng_set_option(ctx.get(), option, value);
    if (rc != 0) return SpngError("PNG encoding failed (options)", rc);
  }
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(shape.width);
  ihdr.height = static_cast<uint32_t>(shape.height);
  ihdr.bit_depth = image.element.type == ScalarType::kUInt16 ? 16 : 8;
  ihdr.color_type = shape.channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR : SPNG_COLOR_TYPE_GRAYSCALE;
  rc = spng_set_ihdr(ctx.get(), &ihdr);
  if (rc != 0) return SpngError("PNG encoding failed (header)", rc);
  // SPNG_FMT_PNG takes 16-bit samples in host byte order and writes them big-endian.
  rc = spng_encode_image(ctx.get(), image.data->data(), static_cast<size_t>(image.data->size()),
                         SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  if (rc != 0) return SpngError("PNG encoding failed", rc);
  size_t png_size = 0;
  std::unique_ptr<void, FreeDeleter> png(spng_get_png_buffer(ctx.get(), &png_size, &rc));
  if (!png || rc != 0) return SpngError("PNG encoding failed (output)", rc);
  return CopyToBuffer(png.get(), png_size, pool);
}

// `limit_field` bounds the decoded size (CheckDecodedCellSize).
arrow::Result<Tensor> DecodePng(const Field& limit_field, const uint8_t* data, int64_t size,
                                arrow::MemoryPool* pool) {
  SpngContext ctx(spng_ctx_new(0));
  if (!ctx) return arrow::Status::OutOfMemory("Cannot create a libspng decoder");
  int rc = spng_set_png_buffer(ctx.get(), data, static_cast<size_t>(size));
  if (rc != 0) return SpngError("Cannot read PNG", rc);
  spng_ihdr ihdr{};
  rc = spng_get_ihdr(ctx.get(), &ihdr);
  if (rc != 0) return SpngError("Invalid PNG header", rc);

  int format = SPNG_FMT_PNG;
  int64_t channels = 1;
  int64_t png_channels = 1;
  bool sixteen_bit = ihdr.bit_depth == 16;
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
      // 1, 2 and 4-bit gray are scaled to 8 bits; 16-bit comes in host order.
      format = sixteen_bit ? SPNG_FMT_PNG : SPNG_FMT_G8;
      break;
    case SPNG_COLOR_TYPE_TRUECOLOR:
      channels = png_channels = 3;
      format = sixteen_bit ? SPNG_FMT_PNG : SPNG_FMT_RGB8;
      break;
    case SPNG_COLOR_TYPE_INDEXED:
      channels = 3;
      format = SPNG_FMT_RGB8;  // palette entries expanded
      sixteen_bit = false;
      break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
      return arrow::Status::Invalid("4-channel images are not supported (PNG with an alpha "
                                    "channel); supported dimensions are (H, W) or (H, W, 3)");
    default:
      return arrow::Status::Invalid("Unsupported PNG color type ", int{ihdr.color_type});
  }
  // The filtered rows a non-interlaced image needs (interlaced ones need more), against what
  // the input can inflate to.
  const unsigned __int128 raw_bytes =
      static_cast<unsigned __int128>(ihdr.height) *
      ((static_cast<uint64_t>(ihdr.width) * png_channels * ihdr.bit_depth + 7) / 8 + 1);
  if (raw_bytes > static_cast<unsigned __int128>(size) * kMaxDeflateRatio + 1024) {
    return arrow::Status::Invalid("PNG header promises a ", ihdr.width, "x", ihdr.height,
                                  " image, more than its ", size, " bytes can hold");
  }
  size_t decoded_size = 0;
  rc = spng_decoded_image_size(ctx.get(), format, &decoded_size);
  if (rc != 0) return SpngError("Cannot decode PNG", rc);
  const int64_t height = ihdr.height, width = ihdr.width;
  const int64_t itemsize = sixteen_bit ? 2 : 1;
  if (static_cast<int64_t>(decoded_size) != height * width * channels * itemsize) {
    return arrow::Status::UnknownError("libspng reports ", decoded_size, " bytes for a ", width,
                                       "x", height, "x", channels, " image");
  }
  ARROW_RETURN_NOT_OK(CheckDecodedCellSize(limit_field, static_cast<int64_t>(decoded_size),
                                           "PNG image " + ImageSizeString(height, width, channels)));
  ARROW_ASSIGN_OR_RAISE(
      Tensor image,
      Tensor::Allocate(ElementType::Of(sixteen_bit ? ScalarType::kUInt16 : ScalarType::kUInt8),
                       TensorShape(height, width, channels), pool));
  rc = spng_decode_image(ctx.get(), image.data->mutable_data(), decoded_size, format, 0);
  if (rc != 0) return SpngError("Corrupt PNG image", rc);
  // The chunks after the image data, through IEND: this also checks the last IDAT's CRC, so
  // a truncated PNG is an error, as it is for libpng (OpenCV).
  rc = spng_decode_chunks(ctx.get());
  if (rc != 0) return SpngError("Corrupt PNG image (after the image data)", rc);
  return image;
}

// --- JPEG (TurboJPEG) ------------------------------------------------------------------------

arrow::Status TurboJpegError(std::string_view what, void* handle) {
  return arrow::Status::Invalid(what, ": ", tjGetErrorStr2(handle));
}

arrow::Result<std::shared_ptr<arrow::Buffer>> EncodeJpeg(const Tensor& image,
                                                         const ImageShape& shape, int quality,
                                                         arrow::MemoryPool* pool) {
  if (image.element.type != ScalarType::kUInt8) {
    return arrow::Status::Invalid("JPEG images must be uint8, got ",
                                  ScalarTypeName(image.element.type));
  }
  if (shape.height > kMaxJpegDimension || shape.width > kMaxJpegDimension) {
    return arrow::Status::Invalid("Image of shape ", ShapeToString(image.shape),
                                  " is too large for JPEG (at most ", kMaxJpegDimension,
                                  " pixels a side)");
  }
  void* const tj = ThreadCompressor();
  if (!tj) return TurboJpegError("Cannot create a TurboJPEG compressor", nullptr);
  ResetThreadJpegHandles reset_on_error;
  const bool gray = shape.channels == 1;
  unsigned char* jpeg = nullptr;
  unsigned long jpeg_size = 0;
  // 4:2:0 chroma subsampling for color, OpenCV's default.
  const int rc = tjCompress2(tj, image.data->data(), static_cast<int>(shape.width),
                             /*pitch=*/0, static_cast<int>(shape.height),
                             gray ? TJPF_GRAY : TJPF_RGB, &jpeg, &jpeg_size,
                             gray ? TJSAMP_GRAY : TJSAMP_420, quality, /*flags=*/0);
  std::unique_ptr<unsigned char, TurboJpegFreeDeleter> owned(jpeg);
  if (rc != 0) return TurboJpegError("JPEG encoding failed", tj);
  reset_on_error.failed = false;
  return CopyToBuffer(jpeg, jpeg_size, pool);
}

// Decodes at scale `scale` (a factor of tjGetScalingFactors; 1/1 is the full size).
// `limit_field` bounds the decoded size (CheckDecodedCellSize).
arrow::Result<Tensor> DecodeJpeg(const Field& limit_field, const uint8_t* data, int64_t size,
                                 tjscalingfactor scale, arrow::MemoryPool* pool) {
  void* const tj = ThreadDecompressor();
  if (!tj) return TurboJpegError("Cannot create a TurboJPEG decompressor", nullptr);
  ResetThreadJpegHandles reset_on_error;
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, static_cast<unsigned long>(size), &width, &height,
                          &subsampling, &colorspace) != 0) {
    return TurboJpegError("Invalid JPEG header", tj);
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    return arrow::Status::Invalid("CMYK JPEG images are not supported");
  }
  if (width <= 0 || height <= 0) {
    return arrow::Status::Invalid("JPEG image has no pixels (", width, "x", height, ")");
  }
  // TurboJPEG picks the scale whose output fits the width and height it is given: exactly
  // TJSCALED of the image's size selects `scale`.
  width = TJSCALED(width, scale);
  height = TJSCALED(height, scale);
  const bool gray = colorspace == TJCS_GRAY;
  const int64_t channels = gray ? 1 : 3;
  ARROW_RETURN_NOT_OK(CheckDecodedCellSize(limit_field, int64_t{height} * width * channels,
                                           "JPEG image " + ImageSizeString(height, width, channels)));
  ARROW_ASSIGN_OR_RAISE(Tensor image,
                        Tensor::Allocate(ElementType::Of(ScalarType::kUInt8),
                                         TensorShape(height, width, channels), pool));
  // Warnings (e.g. a truncated scan that libjpeg would pad with gray) are errors too: corrupt
  // data must not become plausible pixels, and stopping at the first one keeps a corrupt header
  // with huge dimensions from writing (committing) the whole output. LIMITSCANS guards against
  // progressive-scan bombs.
  if (tjDecompress2(tj, data, static_cast<unsigned long>(size),
                    image.data->mutable_data(), width, /*pitch=*/0, height,
                    gray ? TJPF_GRAY : TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
    return TurboJpegError("Corrupt JPEG image", tj);
  }
  reset_on_error.failed = false;
  return image;
}

// The window `crop` of a row-major (H, W) or (H, W, C) image: its rows' spans copied out.
arrow::Result<Tensor> CropImage(const Tensor& image, const ImageCrop& crop,
                                const ImageDecodeOptions& options, arrow::MemoryPool* pool) {
  const int64_t height = image.shape[0], width = image.shape[1];
  if (crop.x + crop.width > width || crop.y + crop.height > height) {
    return arrow::Status::Invalid("The crop window (x=", crop.x, ", y=", crop.y,
                                  ", width=", crop.width, ", height=", crop.height,
                                  ") is outside the image, which is ", height, "x", width,
                                  " (HxW) at scale ", options.scale_num, "/", options.scale_den);
  }
  std::vector<int64_t> shape = image.shape;
  shape[0] = crop.height;
  shape[1] = crop.width;
  ARROW_ASSIGN_OR_RAISE(Tensor out, Tensor::Allocate(image.element, shape, pool));
  const int64_t pixel = image.element.itemsize * (image.shape.size() == 3 ? image.shape[2] : 1);
  const uint8_t* src = image.data->data();
  uint8_t* dst = out.data->mutable_data();
  const size_t span = static_cast<size_t>(crop.width * pixel);
  for (int64_t row = 0; row < crop.height; ++row) {
    std::memcpy(dst + row * crop.width * pixel, src + ((crop.y + row) * width + crop.x) * pixel,
                span);
  }
  return out;
}

// A field whose shape does not bound the decoded size (every dimension None): the bound on an
// image decoded whole before its crop is taken, MaxDecodedCellBytes().
Field Unbounded(const Field& field) {
  Field out = field;
  for (Dim& dim : out.shape) dim = std::nullopt;
  return out;
}

std::string ScalingFactorList() {
  std::string list;
  for (auto [num, den] : JpegScalingFactors()) {
    list += (list.empty() ? "" : ", ") + std::to_string(num) + "/" + std::to_string(den);
  }
  return list;
}

// `options` checked, its scale replaced by TurboJPEG's own factor of the same value.
arrow::Result<ImageDecodeOptions> CheckDecodeOptions(ImageDecodeOptions options) {
  if (options.scale_num <= 0 || options.scale_den <= 0) {
    return arrow::Status::Invalid("The decode scale must be a positive fraction, got ",
                                  options.scale_num, "/", options.scale_den,
                                  "; TurboJPEG offers ", ScalingFactorList());
  }
  bool offered = false;
  for (auto [num, den] : JpegScalingFactors()) {
    if (int64_t{num} * options.scale_den == int64_t{den} * options.scale_num) {
      options.scale_num = num;
      options.scale_den = den;
      offered = true;
      break;
    }
  }
  if (!offered) {
    return arrow::Status::Invalid("The decode scale ", options.scale_num, "/", options.scale_den,
                                  " is not one TurboJPEG offers: ", ScalingFactorList());
  }
  if (options.crop) {
    const ImageCrop& c = *options.crop;
    if (c.x < 0 || c.y < 0 || c.width <= 0 || c.height <= 0 || c.x > kMaxPngDimension ||
        c.y > kMaxPngDimension || c.width > kMaxPngDimension || c.height > kMaxPngDimension) {
      return arrow::Status::Invalid("The crop window needs 0 <= x, y < 2**31 and 0 < width, height < 2**31, "
                                    "got (x=", c.x, ", y=", c.y, ", width=", c.width,
                                    ", height=", c.height, ")");
    }
  }
  return options;
}

// --- The codec -------------------------------------------------------------------------------

class CompressedImageCodec final : public Codec {
 public:
  CompressedImageCodec(ImageFormat format, int quality, ImageDecodeOptions decode = {})
      : format_(format), quality_(quality), decode_(decode) {}

  std::string name() const override { return "compressed_image"; }

  // The decode options appear only when set: "decode_scale": [num, den], "decode_crop":
  // [x, y, width, height].
  std::string params_json() const override {
    internal::Json::Object params{{"image_codec", FormatName(format_)}, {"quality", quality_}};
    if (decode_.scaled()) {
      params.emplace_back("decode_scale", internal::Json::Array{decode_.scale_num, decode_.scale_den});
    }
    if (decode_.crop) {
      const ImageCrop& c = *decode_.crop;
      params.emplace_back("decode_crop", internal::Json::Array{c.x, c.y, c.width, c.height});
    }
    return internal::Json(std::move(params)).Dump();
  }

  // Petastorm's form; decode options as the Python class's keyword arguments.
  std::string ToString() const override {
    std::string out = "CompressedImageCodec('" + std::string(FormatName(format_)) + "', " +
                      std::to_string(quality_);
    if (decode_.scaled()) {
      out += ", decode_scale=(" + std::to_string(decode_.scale_num) + ", " +
             std::to_string(decode_.scale_den) + ")";
    }
    if (decode_.crop) {
      const ImageCrop& c = *decode_.crop;
      out += ", decode_crop=(" + std::to_string(c.x) + ", " + std::to_string(c.y) + ", " +
             std::to_string(c.width) + ", " + std::to_string(c.height) + ")";
    }
    return out + ")";
  }

  ImageFormat format() const { return format_; }
  int quality() const { return quality_; }
  const ImageDecodeOptions& decode_options() const { return decode_; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const Field& field, const Tensor& value,
                                                       arrow::MemoryPool* pool) const override {
    ARROW_ASSIGN_OR_RAISE(ImageShape shape, CheckImageShape(value.shape));
    ARROW_RETURN_NOT_OK(value.Validate());
    ARROW_ASSIGN_OR_RAISE(Tensor image, ToRowMajor(value, pool));
    if (format_ == ImageFormat::kPng) return EncodePng(image, shape, pool);
    return EncodeJpeg(image, shape, quality_, pool);
  }

  arrow::Result<Tensor> Decode(const Field& field, const uint8_t* data, int64_t size,
                               arrow::MemoryPool* pool) const override {
    if (size < 0 || (data == nullptr && size > 0)) {
      return arrow::Status::Invalid("Invalid image input buffer");
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
    // Decoded whole before a crop: then the field's (cropped) shape does not bound the image.
    const Field limit_field = decode_.crop ? Unbounded(field) : field;
    arrow::Result<Tensor> image;
    if (bytes.starts_with(kPngSignature)) {
      if (decode_.scaled()) {
        return arrow::Status::Invalid("A PNG image cannot be decoded at scale ", decode_.scale_num,
                                      "/", decode_.scale_den,
                                      ": PNG has no scaled decoding (only JPEG, in the DCT domain)");
      }
      image = DecodePng(limit_field, data, size, pool);
    } else if (bytes.starts_with(kJpegSignature)) {
      image = DecodeJpeg(limit_field, data, size,
                         tjscalingfactor{decode_.scale_num, decode_.scale_den}, pool);
    } else {
      return arrow::Status::Invalid("Unrecognized image data of ", size,
                                    " bytes: neither PNG nor JPEG");
    }
    if (!image.ok() || !decode_.crop) return image;
    return CropImage(*image, *decode_.crop, decode_, pool);
  }

 private:
  ImageFormat format_;
  int quality_;
  ImageDecodeOptions decode_;
};

}  // namespace

arrow::Result<std::shared_ptr<const Codec>> MakeCompressedImageCodec(std::string image_codec,
                                                                     int quality) {
  std::string lower = image_codec;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  ImageFormat format;
  if (lower == "png") {
    format = ImageFormat::kPng;
  } else if (lower == "jpeg" || lower == "jpg") {
    format = ImageFormat::kJpeg;
  } else {
    return arrow::Status::Invalid("Unsupported image codec '", image_codec,
                                  "': expected 'png' or 'jpeg'");
  }
  if (quality < 1 || quality > 100) {
    return arrow::Status::Invalid("Image quality must be in 1..100, got ", quality);
  }
  return std::make_shared<CompressedImageCodec>(format, quality);
}

std::string ImageDecodeOptions::ToString() const {
  std::string out = "scale=" + std::to_string(scale_num) + "/" + std::to_string(scale_den);
  if (crop) {
    out += ", crop=(" + std::to_string(crop->x) + ", " + std::to_string(crop->y) + ", " +
           std::to_string(crop->width) + ", " + std::to_string(crop->height) + ")";
  }
  return out;
}

const std::vector<std::pair<int, int>>& JpegScalingFactors() {
  static const std::vector<std::pair<int, int>> factors = [] {
    std::vector<std::pair<int, int>> out;
    int count = 0;
    const tjscalingfactor* list = tjGetScalingFactors(&count);
    for (int i = 0; list != nullptr && i < count; ++i) out.emplace_back(list[i].num, list[i].denom);
    return out;
  }();
  return factors;
}

int64_t ScaledDimension(int64_t dimension, int scale_num, int scale_den) {
  return (dimension * scale_num + scale_den - 1) / scale_den;
}

arrow::Result<std::shared_ptr<const Codec>> WithImageDecodeOptions(
    const std::shared_ptr<const Codec>& codec, const ImageDecodeOptions& options) {
  const auto* image = dynamic_cast<const CompressedImageCodec*>(codec.get());
  if (image == nullptr) {
    return arrow::Status::Invalid("Decode options (", options.ToString(),
                                  ") apply to CompressedImageCodec only, not to ",
                                  codec ? codec->ToString() : std::string("a field without codec"));
  }
  ARROW_ASSIGN_OR_RAISE(ImageDecodeOptions checked, CheckDecodeOptions(options));
  return std::make_shared<CompressedImageCodec>(image->format(), image->quality(), checked);
}

arrow::Result<Field> FieldWithImageDecodeOptions(const Field& field,
                                                 const ImageDecodeOptions& options) {
  auto fail = [&](const arrow::Status& status) {
    return status.WithMessage("Field '", field.name, "' (",
                              field.codec ? field.codec->ToString() : std::string("no codec"),
                              "): ", status.message());
  };
  const auto* image = dynamic_cast<const CompressedImageCodec*>(field.codec.get());
  if (image != nullptr && image->format() == ImageFormat::kPng && options.scaled()) {
    return fail(arrow::Status::Invalid(
        "PNG has no scaled decoding (only JPEG is decoded scaled, in the DCT domain): read it at "
        "scale 1/1 (a crop alone is allowed, taken from the whole decoded image)"));
  }
  auto codec = WithImageDecodeOptions(field.codec, options);
  if (!codec.ok()) return fail(codec.status());
  const ImageDecodeOptions& checked =
      static_cast<const CompressedImageCodec&>(**codec).decode_options();
  Field out = field;
  out.codec = *codec;
  if (out.shape.size() < 2) return out;  // not an image shape: decoding will say so
  for (size_t d = 0; d < 2; ++d) {
    if (out.shape[d]) *out.shape[d] = ScaledDimension(*out.shape[d], checked.scale_num, checked.scale_den);
  }
  if (checked.crop) {
    const ImageCrop& c = *checked.crop;
    if ((out.shape[1] && c.x + c.width > *out.shape[1]) ||
        (out.shape[0] && c.y + c.height > *out.shape[0])) {
      return fail(arrow::Status::Invalid(
          "the crop window (x=", c.x, ", y=", c.y, ", width=", c.width, ", height=", c.height,
          ") is outside the field's images, of shape ", out.ShapeString(), " at scale ",
          checked.scale_num, "/", checked.scale_den));
    }
    out.shape[0] = c.height;
    out.shape[1] = c.width;
  }
  return out;
}

namespace internal {

arrow::Result<std::shared_ptr<const Codec>> MakeImageCodecFromParams(std::string_view params) {
  ARROW_ASSIGN_OR_RAISE(Json json, Json::Parse(params));
  if (!json.is_object()) {
    return arrow::Status::Invalid("compressed_image codec parameters must be a JSON object, got ",
                                  params);
  }
  std::string image_codec = "png";
  int64_t quality = 80;
  if (const Json* value = json.Find("image_codec")) {
    ARROW_ASSIGN_OR_RAISE(image_codec, value->GetString("image_codec"));
  }
  if (const Json* value = json.Find("quality")) {
    ARROW_ASSIGN_OR_RAISE(quality, value->GetInt("quality"));
  }
  if (quality < 1 || quality > 100) {
    return arrow::Status::Invalid("Image quality must be in 1..100, got ", quality);
  }
  ARROW_ASSIGN_OR_RAISE(auto codec,
                        MakeCompressedImageCodec(std::move(image_codec), static_cast<int>(quality)));
  ImageDecodeOptions decode;
  if (const Json* value = json.Find("decode_scale")) {
    ARROW_ASSIGN_OR_RAISE(const Json::Array* scale, value->GetArray("decode_scale"));
    if (scale->size() != 2) return arrow::Status::Invalid("decode_scale must be [num, den], got ", value->Dump());
    ARROW_ASSIGN_OR_RAISE(int64_t num, (*scale)[0].GetInt("decode_scale"));
    ARROW_ASSIGN_OR_RAISE(int64_t den, (*scale)[1].GetInt("decode_scale"));
    if (num < 1 || den < 1 || num > 1024 || den > 1024) {
      return arrow::Status::Invalid("decode_scale must be [num, den] of small positive integers, got ",
                                    value->Dump());
    }
    decode.scale_num = static_cast<int>(num);
    decode.scale_den = static_cast<int>(den);
  }
  if (const Json* value = json.Find("decode_crop")) {
    ARROW_ASSIGN_OR_RAISE(const Json::Array* crop, value->GetArray("decode_crop"));
    if (crop->size() != 4) {
      return arrow::Status::Invalid("decode_crop must be [x, y, width, height], got ", value->Dump());
    }
    ImageCrop c;
    int64_t* parts[] = {&c.x, &c.y, &c.width, &c.height};
    for (size_t i = 0; i < 4; ++i) {
      ARROW_ASSIGN_OR_RAISE(*parts[i], (*crop)[i].GetInt("decode_crop"));
    }
    decode.crop = c;
  }
  if (decode.empty()) return codec;
  return WithImageDecodeOptions(codec, decode);
}

}  // namespace internal
}  // namespace petastorm
