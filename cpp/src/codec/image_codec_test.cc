// Tests of CompressedImageCodec (image_codec.cc): PNG through libspng, JPEG through TurboJPEG.
// The reference images below were written by hand (PNG chunks + zlib) or by Pillow, and
// checked with Pillow.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "codec/builtin_codecs_internal.h"
#include "petastorm/codec.h"
#include "util/test_macros_internal.h"

namespace petastorm {
namespace {


// 16-bit grayscale of shape (2, 3): [[0x0102, 0x0304, 0xfffe], [0, 1, 0x8000]].
constexpr uint8_t kPngGray16[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x8f, 0xe5,
    0x85, 0x00, 0x00, 0x00, 0x14, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x64, 0x62, 0x66,
    0xf9, 0xff, 0x8f, 0x01, 0x08, 0x18, 0x1b, 0x18, 0x00, 0x12, 0x66, 0x02, 0x89, 0xbb, 0xce, 0x39,
    0xd5, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

// 16-bit RGB of shape (1, 2, 3): [[[1, 2, 3], [0x100, 0x200, 0xffff]]].
constexpr uint8_t kPngRgb16[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x10, 0x02, 0x00, 0x00, 0x00, 0x2b, 0xd0, 0x34,
    0x9e, 0x00, 0x00, 0x00, 0x13, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x60, 0x64, 0x60,
    0x62, 0x60, 0x06, 0x11, 0xff, 0xff, 0x03, 0x00, 0x03, 0x4a, 0x02, 0x08, 0xe4, 0xdf, 0x5a, 0x0c,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

// 8-bit palette of shape (2, 2): indices [[0, 1], [2, 0]] of (10,20,30), (40,50,60), (255,0,128).
constexpr uint8_t kPngPalette[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x03, 0x00, 0x00, 0x00, 0x45, 0x68, 0xfd,
    0x16, 0x00, 0x00, 0x00, 0x09, 0x50, 0x4c, 0x54, 0x45, 0x0a, 0x14, 0x1e, 0x28, 0x32, 0x3c, 0xff,
    0x00, 0x80, 0x00, 0x9e, 0x27, 0x75, 0x00, 0x00, 0x00, 0x0e, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c,
    0x63, 0x60, 0x60, 0x64, 0x60, 0x62, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x04, 0xc6, 0x88, 0x7c, 0xf8,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

// 1-bit grayscale of shape (2, 3): [[1, 0, 1], [0, 1, 0]].
constexpr uint8_t kPngGray1[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0xb5, 0x0f, 0x5b,
    0xb7, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x58, 0xc0, 0xe0, 0x00,
    0x00, 0x02, 0x24, 0x00, 0xe1, 0x73, 0xeb, 0x3b, 0xf2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
};

// 8-bit RGBA, 1x1.
constexpr uint8_t kPngRgba[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x64, 0x62, 0x66,
    0x01, 0x00, 0x00, 0x19, 0x00, 0x0b, 0xe7, 0x5a, 0x46, 0xa4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

// 8-bit gray + alpha, 1x1.
constexpr uint8_t kPngGrayAlpha[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0xb5, 0x1c, 0x0c,
    0x02, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x64, 0x02, 0x00,
    0x00, 0x07, 0x00, 0x04, 0x76, 0x49, 0xe3, 0x28, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
};

// Pillow, quality 95: shape (8, 16) grayscale, each row [0, 16, ..., 240].
constexpr uint8_t kJpegGray8x16[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02,
    0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02, 0x02, 0x05, 0x04,
    0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06, 0x07, 0x09, 0x08, 0x06,
    0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x06, 0x08,
    0x0b, 0x0c, 0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08,
    0x00, 0x10, 0x01, 0x01, 0x11, 0x00, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03,
    0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00,
    0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32,
    0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
    0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35,
    0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55,
    0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
    0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2,
    0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
    0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6,
    0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xda,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0xfc, 0xdf, 0xff, 0x00, 0x82, 0x6d, 0xff, 0x00,
    0xcb, 0x87, 0xfc, 0x06, 0xbf, 0xa0, 0x0f, 0xf8, 0x26, 0xdf, 0xfc, 0xb8, 0x7f, 0xc0, 0x6b, 0xff,
    0xd9,
};

// Pillow, quality 95: shape (8, 16, 3) RGB, R = 16 * column, G = 128, B = 30 * row.
constexpr uint8_t kJpegRgb8x16[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02,
    0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02, 0x02, 0x05, 0x04,
    0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06, 0x07, 0x09, 0x08, 0x06,
    0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x06, 0x08,
    0x0b, 0x0c, 0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x02, 0x02,
    0x02, 0x02, 0x02, 0x02, 0x05, 0x03, 0x03, 0x05, 0x0a, 0x07, 0x06, 0x07, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0xff, 0xc0,
    0x00, 0x11, 0x08, 0x00, 0x08, 0x00, 0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
    0x01, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05,
    0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
    0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23,
    0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5,
    0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00, 0x03,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00,
    0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00,
    0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xf1,
    0xef, 0x85, 0x1e, 0x00, 0xff, 0x00, 0x55, 0xfb, 0x8f, 0x4e, 0xd5, 0xf4, 0xcf, 0xc2, 0x8f, 0x00,
    0xff, 0x00, 0xaa, 0xfd, 0xcf, 0xa7, 0x6a, 0x28, 0xaf, 0xb2, 0xe3, 0x1f, 0x04, 0x7c, 0x3c, 0xf7,
    0xbf, 0xd9, 0x7f, 0x2f, 0xf2, 0x3c, 0x8f, 0xa3, 0x6e, 0x65, 0x8b, 0xfd, 0xce, 0xbd, 0xbf, 0x43,
    0xff, 0xd9,
};

template <size_t N>
std::string_view View(const uint8_t (&bytes)[N]) {
  return {reinterpret_cast<const char*>(bytes), N};
}

std::string_view View(const arrow::Buffer& buffer) {
  return {reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(buffer.size())};
}

const uint8_t* Data(std::string_view bytes) {
  return reinterpret_cast<const uint8_t*>(bytes.data());
}

std::shared_ptr<const Codec> Png() { return MakeCompressedImageCodec("png").ValueOrDie(); }
std::shared_ptr<const Codec> Jpeg(int quality = 95) {
  return MakeCompressedImageCodec("jpeg", quality).ValueOrDie();
}

Field ImageField(ScalarType dtype, std::shared_ptr<const Codec> codec) {
  Field field;
  field.name = "image";
  field.dtype = dtype;
  field.shape = {std::nullopt, std::nullopt, 3};
  field.codec = std::move(codec);
  return field;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const std::shared_ptr<const Codec>& codec,
                                                     const Tensor& value) {
  return codec->Encode(ImageField(value.element.type, codec), value,
                       arrow::default_memory_pool());
}

arrow::Result<Tensor> Decode(const std::shared_ptr<const Codec>& codec, std::string_view bytes,
                             ScalarType dtype = ScalarType::kUInt8) {
  return codec->Decode(ImageField(dtype, codec), Data(bytes), static_cast<int64_t>(bytes.size()),
                       arrow::default_memory_pool());
}

// An image whose samples follow `value(y, x, c)`.
template <typename T, typename F>
Tensor MakeImage(std::vector<int64_t> shape, F value) {
  const ScalarType type = sizeof(T) == 1 ? ScalarType::kUInt8 : ScalarType::kUInt16;
  Tensor t = Tensor::Allocate(ElementType::Of(type), shape).ValueOrDie();
  T* p = reinterpret_cast<T*>(t.data->mutable_data());
  // Any rank, so that invalid shapes can be made too; dims after the second count as channels.
  const int64_t height = shape.empty() ? 1 : shape[0];
  const int64_t width = shape.size() < 2 ? 1 : shape[1];
  int64_t channels = 1;
  for (size_t i = 2; i < shape.size(); ++i) channels *= shape[i];
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < channels; ++c) *p++ = static_cast<T>(value(y, x, c));
    }
  }
  return t;
}

Tensor NoiseImage8(std::vector<int64_t> shape) {
  return MakeImage<uint8_t>(shape, [](int64_t y, int64_t x, int64_t c) {
    return (y * 7919 + x * 104729 + c * 31 + ((y * x) % 13) * 17) & 0xFF;
  });
}

Tensor NoiseImage16(std::vector<int64_t> shape) {
  return MakeImage<uint16_t>(shape, [](int64_t y, int64_t x, int64_t c) {
    return (y * 7919 + x * 104729 + c * 31337 + 0x0100) & 0xFFFF;
  });
}

// A copy of a row-major tensor in column-major layout.
Tensor ToColumnMajor(const Tensor& t) {
  Tensor out = Tensor::Allocate(t.element, t.shape).ValueOrDie();
  out.fortran_order = true;
  const int64_t itemsize = t.element.itemsize;
  const int64_t h = t.shape[0], w = t.shape[1], c = t.shape.size() == 3 ? t.shape[2] : 1;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int64_t k = 0; k < c; ++k) {
        const int64_t row_major = (y * w + x) * c + k;
        const int64_t col_major = y + h * (x + w * k);
        std::memcpy(out.data->mutable_data() + col_major * itemsize,
                    t.data->data() + row_major * itemsize, itemsize);
      }
    }
  }
  return out;
}

double Psnr(const Tensor& a, const Tensor& b) {
  double squared = 0;
  for (int64_t i = 0; i < a.data->size(); ++i) {
    const double d = static_cast<double>(a.data->data()[i]) - b.data->data()[i];
    squared += d * d;
  }
  const double mse = squared / static_cast<double>(a.data->size());
  return mse == 0 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

void ExpectInvalidContaining(const arrow::Status& status, std::string_view part) {
  EXPECT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_NE(status.message().find(part), std::string::npos) << status.ToString();
}

// --- Construction and parameters -------------------------------------------------------------

TEST(ImageCodecTest, NameStringAndParameters) {
  auto png = Png();
  EXPECT_EQ(png->name(), "compressed_image");
  EXPECT_EQ(png->ToString(), "CompressedImageCodec('png', 80)");
  EXPECT_EQ(png->params_json(), R"({"image_codec": "png", "quality": 80})");
  EXPECT_TRUE(png->storage_type()->Equals(arrow::binary()));
  EXPECT_TRUE((Field{"x", ScalarType::kUInt8, {}, png, false}).is_tensor());

  ASSERT_OK_AND_ASSIGN(auto jpg, MakeCompressedImageCodec("jpg", 95));
  EXPECT_EQ(jpg->ToString(), "CompressedImageCodec('jpeg', 95)");
  EXPECT_EQ(jpg->params_json(), R"({"image_codec": "jpeg", "quality": 95})");
  ASSERT_OK_AND_ASSIGN(auto upper, MakeCompressedImageCodec("JPEG", 1));
  EXPECT_EQ(upper->ToString(), "CompressedImageCodec('jpeg', 1)");
}

TEST(ImageCodecTest, RejectsUnknownCodecsAndQualities) {
  ExpectInvalidContaining(MakeCompressedImageCodec("bmp").status(), "'bmp'");
  ExpectInvalidContaining(MakeCompressedImageCodec("").status(), "''");
  ExpectInvalidContaining(MakeCompressedImageCodec("jpeg", 0).status(), "1..100");
  ExpectInvalidContaining(MakeCompressedImageCodec("png", 101).status(), "1..100");
}

TEST(ImageCodecTest, RebuildsFromItsParameters) {
  for (auto [codec, quality] : std::vector<std::pair<std::string, int>>{
           {"png", 80}, {"jpeg", 95}, {"jpeg", 1}, {"png", 100}}) {
    ASSERT_OK_AND_ASSIGN(auto original, MakeCompressedImageCodec(codec, quality));
    ASSERT_OK_AND_ASSIGN(auto rebuilt, internal::MakeImageCodecFromParams(original->params_json()));
    EXPECT_EQ(rebuilt->ToString(), original->ToString());
    EXPECT_EQ(rebuilt->params_json(), original->params_json());
  }
  ASSERT_OK_AND_ASSIGN(auto defaults, internal::MakeImageCodecFromParams("{}"));
  EXPECT_EQ(defaults->ToString(), "CompressedImageCodec('png', 80)");
  EXPECT_TRUE(internal::MakeImageCodecFromParams(R"({"image_codec": 5})").status().IsInvalid());
  EXPECT_TRUE(internal::MakeImageCodecFromParams(R"({"quality": "high"})").status().IsInvalid());
  EXPECT_TRUE(internal::MakeImageCodecFromParams(R"({"quality": 1000})").status().IsInvalid());
  EXPECT_TRUE(internal::MakeImageCodecFromParams(R"({"image_codec": "gif"})").status().IsInvalid());
  EXPECT_TRUE(internal::MakeImageCodecFromParams("[1]").status().IsInvalid());
  EXPECT_FALSE(internal::MakeImageCodecFromParams("{").ok());
}

// --- PNG -------------------------------------------------------------------------------------

TEST(PngCodecTest, RoundTripsExactly) {
  const std::vector<Tensor> images = {
      NoiseImage8({5, 7}),      NoiseImage8({4, 6, 3}),  NoiseImage8({1, 1}),
      NoiseImage16({5, 7}),     NoiseImage16({3, 4, 3}), NoiseImage8({300, 2, 3}),
  };
  for (const Tensor& image : images) {
    SCOPED_TRACE(ShapeToString(image.shape) + " " + image.element.TypeString());
    ASSERT_OK_AND_ASSIGN(auto png, Encode(Png(), image));
    EXPECT_TRUE(View(*png).starts_with("\x89PNG\r\n\x1a\n"));
    ASSERT_OK_AND_ASSIGN(Tensor back, Decode(Png(), View(*png), image.element.type));
    EXPECT_EQ(back.element, image.element);
    EXPECT_EQ(back.shape, image.shape);
    EXPECT_FALSE(back.fortran_order);
    EXPECT_EQ(View(*back.data), View(*image.data));
  }
}

TEST(PngCodecTest, ColumnMajorInputEncodesLikeRowMajor) {
  for (const Tensor& image :
       {NoiseImage8({5, 7}), NoiseImage8({4, 6, 3}), NoiseImage16({3, 4, 3})}) {
    ASSERT_OK_AND_ASSIGN(auto row_major, Encode(Png(), image));
    ASSERT_OK_AND_ASSIGN(auto column_major, Encode(Png(), ToColumnMajor(image)));
    EXPECT_EQ(View(*row_major), View(*column_major));
  }
}

TEST(PngCodecTest, Decodes16BitSamplesInNativeByteOrder) {
  ASSERT_OK_AND_ASSIGN(Tensor gray, Decode(Png(), View(kPngGray16), ScalarType::kUInt16));
  EXPECT_EQ(gray.element, ElementType::Of(ScalarType::kUInt16));
  EXPECT_EQ(gray.shape, (std::vector<int64_t>{2, 3}));
  const uint16_t expected_gray[] = {0x0102, 0x0304, 0xfffe, 0, 1, 0x8000};
  EXPECT_EQ(std::memcmp(gray.data->data(), expected_gray, sizeof(expected_gray)), 0);

  ASSERT_OK_AND_ASSIGN(Tensor rgb, Decode(Png(), View(kPngRgb16), ScalarType::kUInt16));
  EXPECT_EQ(rgb.shape, (std::vector<int64_t>{1, 2, 3}));
  const uint16_t expected_rgb[] = {1, 2, 3, 0x100, 0x200, 0xffff};
  EXPECT_EQ(std::memcmp(rgb.data->data(), expected_rgb, sizeof(expected_rgb)), 0);

  // Our encoding of the same values is read back the same way (so it is big-endian inside).
  Tensor values = Tensor::Allocate(ElementType::Of(ScalarType::kUInt16), {2, 3}).ValueOrDie();
  std::memcpy(values.data->mutable_data(), expected_gray, sizeof(expected_gray));
  ASSERT_OK_AND_ASSIGN(auto png, Encode(Png(), values));
  ASSERT_OK_AND_ASSIGN(Tensor back, Decode(Png(), View(*png), ScalarType::kUInt16));
  EXPECT_EQ(View(*back.data), View(*values.data));
}

TEST(PngCodecTest, ExpandsPalettesAndLowBitDepths) {
  ASSERT_OK_AND_ASSIGN(Tensor palette, Decode(Png(), View(kPngPalette)));
  EXPECT_EQ(palette.element, ElementType::Of(ScalarType::kUInt8));
  EXPECT_EQ(palette.shape, (std::vector<int64_t>{2, 2, 3}));
  const uint8_t expected_rgb[] = {10, 20, 30, 40, 50, 60, 255, 0, 128, 10, 20, 30};
  EXPECT_EQ(View(*palette.data),
            std::string_view(reinterpret_cast<const char*>(expected_rgb), sizeof(expected_rgb)));

  ASSERT_OK_AND_ASSIGN(Tensor bilevel, Decode(Png(), View(kPngGray1)));
  EXPECT_EQ(bilevel.shape, (std::vector<int64_t>{2, 3}));
  const uint8_t expected_gray[] = {255, 0, 255, 0, 255, 0};
  EXPECT_EQ(View(*bilevel.data), std::string_view(reinterpret_cast<const char*>(expected_gray),
                                                  sizeof(expected_gray)));
}

TEST(PngCodecTest, RejectsAlphaChannels) {
  ExpectInvalidContaining(Decode(Png(), View(kPngRgba)).status(),
                          "4-channel images are not supported");
  ExpectInvalidContaining(Decode(Png(), View(kPngGrayAlpha)).status(),
                          "4-channel images are not supported");
}

TEST(PngCodecTest, RejectsUnsupportedTensors) {
  ExpectInvalidContaining(Encode(Png(), NoiseImage8({2, 3, 4})).status(),
                          "4-channel images are not supported");
  ExpectInvalidContaining(Encode(Png(), NoiseImage8({2, 3, 2})).status(),
                          "Unexpected image dimensions");
  ExpectInvalidContaining(Encode(Png(), NoiseImage8({6})).status(), "Unexpected image dimensions");
  ExpectInvalidContaining(Encode(Png(), NoiseImage8({2, 3, 3, 1})).status(),
                          "Unexpected image dimensions");
  ExpectInvalidContaining(Encode(Png(), NoiseImage8({0, 5})).status(), "empty");
  for (ScalarType type : {ScalarType::kFloat32, ScalarType::kInt16, ScalarType::kBool,
                          ScalarType::kInt8, ScalarType::kUInt32}) {
    Tensor t = Tensor::Allocate(ElementType::Of(type), {2, 3}).ValueOrDie();
    std::memset(t.data->mutable_data(), 0, t.data->size());
    ExpectInvalidContaining(Encode(Png(), t).status(), "uint8 or uint16");
  }
}

TEST(PngCodecTest, CorruptInputIsAnError) {
  const Tensor image = NoiseImage8({6, 5, 3});
  ASSERT_OK_AND_ASSIGN(auto png, Encode(Png(), image));
  // libspng does not read the CRC of the final, empty IEND chunk: without it the image data is
  // still complete and checksummed, so those prefixes may decode, but only to the image itself.
  const int64_t iend_crc = png->size() - 4;
  for (int64_t n = 0; n < png->size(); ++n) {
    auto result = Decode(Png(), View(*png).substr(0, n));
    if (n < iend_crc) {
      EXPECT_FALSE(result.ok()) << "prefix of " << n << " bytes";
    } else if (result.ok()) {
      EXPECT_EQ(View(*result->data), View(*image.data));
    }
  }
  for (int64_t pos = 0; pos < png->size(); ++pos) {
    std::string corrupt(View(*png));
    corrupt[pos] ^= 0x5A;
    auto result = Decode(Png(), corrupt);  // an error (CRC) or, in ancillary bytes, an image
    if (result.ok()) {
      EXPECT_TRUE(result->Validate().ok());
    }
  }
  ExpectInvalidContaining(Decode(Png(), "GIF89a....").status(), "neither PNG nor JPEG");
  EXPECT_TRUE(Png()->Decode(ImageField(ScalarType::kUInt8, Png()), nullptr, 0,
                            arrow::default_memory_pool())
                  .status()
                  .IsInvalid());
}

TEST(PngCodecTest, RejectsDimensionsTheDataCannotHold) {
  // kPngGray1 with its IHDR width raised to 2^31 - 1, the chunk CRC recomputed.
  std::string png(View(kPngGray1));
  const size_t ihdr = 8 + 4;  // signature, then the chunk length
  ASSERT_EQ(png.substr(ihdr, 4), "IHDR");
  for (int i = 0; i < 4; ++i) png[ihdr + 4 + i] = "\x7f\xff\xff\xff"[i];
  uint32_t crc = 0xFFFFFFFFu;  // CRC-32 of "IHDR" + data, as in the PNG spec
  for (size_t i = ihdr; i < ihdr + 4 + 13; ++i) {
    crc ^= static_cast<uint8_t>(png[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  for (int i = 0; i < 4; ++i) png[ihdr + 17 + i] = static_cast<char>(crc >> (24 - 8 * i));
  ExpectInvalidContaining(Decode(Png(), png).status(), "can hold");
}

// --- JPEG ------------------------------------------------------------------------------------

Tensor Gradient(std::vector<int64_t> shape) {
  return MakeImage<uint8_t>(shape, [&](int64_t y, int64_t x, int64_t c) {
    if (c == 0) return x * 255 / (shape[1] - 1);
    if (c == 1) return y * 255 / (shape[0] - 1);
    return (x + y) * 255 / (shape[0] + shape[1] - 2);
  });
}

TEST(JpegCodecTest, RoundTripsSmoothImagesAbove35Db) {
  for (const Tensor& image : {Gradient({64, 96}), Gradient({64, 96, 3}), Gradient({17, 33, 3})}) {
    SCOPED_TRACE(ShapeToString(image.shape));
    ASSERT_OK_AND_ASSIGN(auto jpeg, Encode(Jpeg(95), image));
    EXPECT_TRUE(View(*jpeg).starts_with("\xFF\xD8\xFF"));
    ASSERT_OK_AND_ASSIGN(Tensor back, Decode(Jpeg(95), View(*jpeg)));
    EXPECT_EQ(back.element, ElementType::Of(ScalarType::kUInt8));
    ASSERT_EQ(back.shape, image.shape);
    EXPECT_GT(Psnr(image, back), 35.0);
  }
}

TEST(JpegCodecTest, QualityControlsSize) {
  const Tensor image = NoiseImage8({64, 64, 3});
  ASSERT_OK_AND_ASSIGN(auto low, Encode(Jpeg(10), image));
  ASSERT_OK_AND_ASSIGN(auto high, Encode(Jpeg(95), image));
  EXPECT_LT(low->size() * 2, high->size());
}

TEST(JpegCodecTest, ColumnMajorInputEncodesLikeRowMajor) {
  const Tensor image = Gradient({16, 24, 3});
  ASSERT_OK_AND_ASSIGN(auto row_major, Encode(Jpeg(), image));
  ASSERT_OK_AND_ASSIGN(auto column_major, Encode(Jpeg(), ToColumnMajor(image)));
  EXPECT_EQ(View(*row_major), View(*column_major));
}

TEST(JpegCodecTest, DecodesPillowJpegs) {
  const Tensor gray_expected = MakeImage<uint8_t>({8, 16}, [](int64_t, int64_t x, int64_t) {
    return x * 16;
  });
  ASSERT_OK_AND_ASSIGN(Tensor gray, Decode(Jpeg(), View(kJpegGray8x16)));
  EXPECT_EQ(gray.shape, (std::vector<int64_t>{8, 16}));
  EXPECT_GT(Psnr(gray_expected, gray), 35.0);

  const Tensor rgb_expected = MakeImage<uint8_t>({8, 16, 3}, [](int64_t y, int64_t x, int64_t c) {
    return c == 0 ? x * 16 : c == 1 ? 128 : y * 30;
  });
  ASSERT_OK_AND_ASSIGN(Tensor rgb, Decode(Jpeg(), View(kJpegRgb8x16)));
  EXPECT_EQ(rgb.shape, (std::vector<int64_t>{8, 16, 3}));
  EXPECT_GT(Psnr(rgb_expected, rgb), 30.0);
}

TEST(JpegCodecTest, DecodingLooksAtTheDataNotTheCodecFormat) {
  const Tensor image = NoiseImage8({4, 5});
  ASSERT_OK_AND_ASSIGN(auto png, Encode(Png(), image));
  ASSERT_OK_AND_ASSIGN(Tensor from_png, Decode(Jpeg(), View(*png)));
  EXPECT_EQ(View(*from_png.data), View(*image.data));
  ASSERT_OK_AND_ASSIGN(auto jpeg, Encode(Jpeg(), Gradient({8, 8, 3})));
  ASSERT_OK_AND_ASSIGN(Tensor from_jpeg, Decode(Png(), View(*jpeg)));
  EXPECT_EQ(from_jpeg.shape, (std::vector<int64_t>{8, 8, 3}));
}

TEST(JpegCodecTest, RejectsUnsupportedTensors) {
  ExpectInvalidContaining(Encode(Jpeg(), NoiseImage16({4, 4})).status(), "uint8");
  ExpectInvalidContaining(Encode(Jpeg(), NoiseImage8({4, 4, 4})).status(),
                          "4-channel images are not supported");
  ExpectInvalidContaining(Encode(Jpeg(), NoiseImage8({1, 4, 4, 3})).status(),
                          "Unexpected image dimensions");
  ExpectInvalidContaining(Encode(Jpeg(), NoiseImage8({4, 0, 3})).status(), "empty");
  ExpectInvalidContaining(Encode(Jpeg(), NoiseImage8({1, 70000})).status(), "too large");
  Tensor floats = Tensor::Allocate(ElementType::Of(ScalarType::kFloat32), {2, 2}).ValueOrDie();
  std::memset(floats.data->mutable_data(), 0, floats.data->size());
  ExpectInvalidContaining(Encode(Jpeg(), floats).status(), "uint8");
}

// A small image file whose header promises more pixels than the field holds is refused before
// the pixels are allocated.
TEST(ImageCodecTest, DecodeIsBoundedByTheShapeOrTheCellLimit) {
  for (auto codec : {Png(), Jpeg()}) {
    SCOPED_TRACE(codec->ToString());
    Tensor black = MakeImage<uint8_t>({1024, 1024, 3}, [](int64_t, int64_t, int64_t) { return 0; });
    ASSERT_OK_AND_ASSIGN(auto image, Encode(codec, black));
    Field fixed = ImageField(ScalarType::kUInt8, codec);
    fixed.shape = {32, 32, 3};
    auto small = codec->Decode(fixed, image->data(), image->size(), arrow::default_memory_pool());
    ASSERT_TRUE(small.status().IsInvalid());
    EXPECT_NE(small.status().message().find("image 1024x1024x3 would decode to 3145728 bytes, "
                                            "more than the 3072 bytes of field 'image'"),
              std::string::npos)
        << small.status().ToString();

    const Field variable = ImageField(ScalarType::kUInt8, codec);
    ASSERT_OK(codec->Decode(variable, image->data(), image->size(), arrow::default_memory_pool())
                  .status());
    ASSERT_EQ(setenv("PETASTORM_MAX_CELL_BYTES", "3000000", 1), 0);
    auto limited =
        codec->Decode(variable, image->data(), image->size(), arrow::default_memory_pool());
    ASSERT_EQ(unsetenv("PETASTORM_MAX_CELL_BYTES"), 0);
    ASSERT_TRUE(limited.status().IsInvalid());
    EXPECT_NE(limited.status().message().find("3000000-byte limit"), std::string::npos)
        << limited.status().ToString();
  }
}

TEST(JpegCodecTest, CorruptInputIsAnError) {
  ASSERT_OK_AND_ASSIGN(auto jpeg, Encode(Jpeg(), Gradient({16, 16, 3})));
  for (int64_t n = 0; n < jpeg->size(); ++n) {
    EXPECT_FALSE(Decode(Jpeg(), View(*jpeg).substr(0, n)).ok()) << "prefix of " << n << " bytes";
  }
  for (int64_t pos = 0; pos < jpeg->size(); ++pos) {
    std::string corrupt(View(*jpeg));
    corrupt[pos] ^= 0x5A;
    auto result = Decode(Jpeg(), corrupt);  // JPEG has no checksum: an error or some image
    if (result.ok()) {
      EXPECT_TRUE(result->Validate().ok());
    }
  }
}

}  // namespace
}  // namespace petastorm

namespace petastorm {
namespace {

// The per-thread TurboJPEG handle is replaced after a failure: a good image decodes after a
// corrupt one on the same thread.
TEST(JpegCodecTest, DecodesAfterACorruptImageOnTheSameThread) {
  const Tensor image = MakeImage<uint8_t>({16, 24, 3}, [](int64_t y, int64_t x, int64_t c) {
    return static_cast<uint8_t>(y * 8 + x * 4 + c * 40);
  });
  ASSERT_OK_AND_ASSIGN(auto encoded, Encode(Jpeg(), image));
  const std::string good = encoded->ToString();
  for (const std::string& bad : {std::string("not a jpeg at all"), good.substr(0, good.size() / 2),
                                 std::string("\xff\xd8\xff\xe0", 4)}) {
    EXPECT_FALSE(Decode(Jpeg(), bad).ok());
    ASSERT_OK_AND_ASSIGN(auto decoded, Decode(Jpeg(), good));
    EXPECT_EQ(decoded.shape, image.shape);
  }
}

}  // namespace
}  // namespace petastorm

// --- Decode options: JPEG scaled in the DCT domain, crop windows -----------------------------

#include <turbojpeg.h>

namespace petastorm {
namespace {

// TurboJPEG's own decode of `jpeg` at num/den, called directly (not through the codec).
std::string TurboJpegScaled(std::string_view jpeg, int num, int den, int* height, int* width,
                            bool gray) {
  tjhandle tj = tjInitDecompress();
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  EXPECT_EQ(tjDecompressHeader3(tj, Data(jpeg), jpeg.size(), &w, &h, &subsampling, &colorspace), 0);
  const tjscalingfactor scale{num, den};
  *width = TJSCALED(w, scale);
  *height = TJSCALED(h, scale);
  std::string out(static_cast<size_t>(*width) * *height * (gray ? 1 : 3), '\0');
  EXPECT_EQ(tjDecompress2(tj, Data(jpeg), jpeg.size(), reinterpret_cast<unsigned char*>(out.data()),
                          *width, 0, *height, gray ? TJPF_GRAY : TJPF_RGB, 0),
            0);
  tjDestroy(tj);
  return out;
}

Field FixedImageField(std::shared_ptr<const Codec> codec, std::vector<Dim> shape) {
  Field field = ImageField(ScalarType::kUInt8, std::move(codec));
  field.shape = std::move(shape);
  return field;
}

ImageDecodeOptions Scale(int num, int den) {
  ImageDecodeOptions options;
  options.scale_num = num;
  options.scale_den = den;
  return options;
}

TEST(ImageDecodeOptionsTest, ScaledJpegEqualsTurboJpegsOwnScaledOutput) {
  for (const Tensor& image : {NoiseImage8({448, 448, 3}), Gradient({100, 75, 3}), Gradient({61, 90})}) {
    const bool gray = image.shape.size() == 2;
    ASSERT_OK_AND_ASSIGN(auto jpeg, Encode(Jpeg(90), image));
    std::vector<Dim> shape(image.shape.begin(), image.shape.end());
    for (auto [num, den] : std::vector<std::pair<int, int>>{{1, 2}, {1, 4}, {1, 8}, {3, 4}, {1, 1}}) {
      SCOPED_TRACE(ShapeToString(image.shape) + " at " + std::to_string(num) + "/" + std::to_string(den));
      ASSERT_OK_AND_ASSIGN(Field field, FieldWithImageDecodeOptions(FixedImageField(Jpeg(90), shape),
                                                                    Scale(num, den)));
      ASSERT_OK_AND_ASSIGN(Tensor decoded, DecodeField(field, jpeg->data(), jpeg->size()));
      int height = 0, width = 0;
      const std::string expected = TurboJpegScaled(View(*jpeg), num, den, &height, &width, gray);
      std::vector<int64_t> expected_shape = {height, width};
      if (!gray) expected_shape.push_back(3);
      EXPECT_EQ(decoded.shape, expected_shape);
      EXPECT_EQ(height, (image.shape[0] * num + den - 1) / den);
      EXPECT_EQ(View(*decoded.data), expected);
    }
  }
}

TEST(ImageDecodeOptionsTest, CropIsAWindowOfTheScaledImage) {
  const Tensor image = NoiseImage8({448, 448, 3});
  ASSERT_OK_AND_ASSIGN(auto jpeg, Encode(Jpeg(90), image));
  int height = 0, width = 0;
  const std::string scaled = TurboJpegScaled(View(*jpeg), 1, 2, &height, &width, false);
  ASSERT_EQ(height, 224);
  ImageDecodeOptions options = Scale(1, 2);
  options.crop = ImageCrop{10, 20, 112, 100};
  ASSERT_OK_AND_ASSIGN(Field field, FieldWithImageDecodeOptions(
                                        FixedImageField(Jpeg(90), {448, 448, 3}), options));
  EXPECT_EQ(field.ShapeString(), "(100, 112, 3)");
  ASSERT_OK_AND_ASSIGN(Tensor decoded, DecodeField(field, jpeg->data(), jpeg->size()));
  ASSERT_EQ(decoded.shape, (std::vector<int64_t>{100, 112, 3}));
  std::string expected;
  for (int y = 20; y < 120; ++y) expected += scaled.substr((y * width + 10) * 3, 112 * 3);
  EXPECT_EQ(View(*decoded.data), expected);

  // PNG: no scale, but a crop of the whole decoded image.
  ImageDecodeOptions crop_only;
  crop_only.crop = ImageCrop{3, 2, 4, 5};
  const Tensor small = NoiseImage8({12, 9, 3});
  ASSERT_OK_AND_ASSIGN(auto png, Encode(Png(), small));
  ASSERT_OK_AND_ASSIGN(Field png_field,
                       FieldWithImageDecodeOptions(FixedImageField(Png(), {12, 9, 3}), crop_only));
  ASSERT_OK_AND_ASSIGN(Tensor cropped, DecodeField(png_field, png->data(), png->size()));
  ASSERT_EQ(cropped.shape, (std::vector<int64_t>{5, 4, 3}));
  std::string window;
  for (int y = 2; y < 7; ++y) window += View(*small.data).substr((y * 9 + 3) * 3, 4 * 3);
  EXPECT_EQ(View(*cropped.data), window);
}

TEST(ImageDecodeOptionsTest, DecodedShapesOfFields) {
  ImageDecodeOptions options = Scale(1, 4);
  ASSERT_OK_AND_ASSIGN(Field fixed, FieldWithImageDecodeOptions(FixedImageField(Jpeg(), {448, 447, 3}), options));
  EXPECT_EQ(fixed.ShapeString(), "(112, 112, 3)");
  EXPECT_EQ(fixed.codec->ToString(), "CompressedImageCodec('jpeg', 95, decode_scale=(1, 4))");
  ASSERT_OK_AND_ASSIGN(Field variable, FieldWithImageDecodeOptions(ImageField(ScalarType::kUInt8, Jpeg()), options));
  EXPECT_EQ(variable.ShapeString(), "(None, None, 3)");
  options.crop = ImageCrop{0, 0, 8, 6};
  ASSERT_OK_AND_ASSIGN(Field cropped, FieldWithImageDecodeOptions(ImageField(ScalarType::kUInt8, Jpeg()), options));
  EXPECT_EQ(cropped.ShapeString(), "(6, 8, 3)");
  // 2/4 is TurboJPEG's 1/2.
  ASSERT_OK_AND_ASSIGN(Field half, FieldWithImageDecodeOptions(FixedImageField(Jpeg(), {10, 10}), Scale(2, 4)));
  EXPECT_EQ(half.ShapeString(), "(5, 5)");
  EXPECT_EQ(half.codec->params_json(),
            R"({"image_codec": "jpeg", "quality": 95, "decode_scale": [1, 2]})");
}

TEST(ImageDecodeOptionsTest, BadOptionsAreErrorsNamingTheField) {
  const Field jpeg = FixedImageField(Jpeg(), {448, 448, 3});
  auto third = FieldWithImageDecodeOptions(jpeg, Scale(1, 3));
  ExpectInvalidContaining(third.status(), "Field 'image'");
  ExpectInvalidContaining(third.status(), "1/3 is not one TurboJPEG offers");
  ExpectInvalidContaining(third.status(), "1/2");
  ExpectInvalidContaining(FieldWithImageDecodeOptions(jpeg, Scale(0, 2)).status(), "positive");
  ImageDecodeOptions outside = Scale(1, 2);
  outside.crop = ImageCrop{200, 0, 32, 32};
  ExpectInvalidContaining(FieldWithImageDecodeOptions(jpeg, outside).status(),
                          "outside the field's images, of shape (224, 224, 3)");
  ImageDecodeOptions empty;
  empty.crop = ImageCrop{0, 0, 0, 4};
  ExpectInvalidContaining(FieldWithImageDecodeOptions(jpeg, empty).status(), "width");
  auto png = FieldWithImageDecodeOptions(FixedImageField(Png(), {8, 8, 3}), Scale(1, 2));
  ExpectInvalidContaining(png.status(), "Field 'image'");
  ExpectInvalidContaining(png.status(), "PNG has no scaled decoding");
  Field array{"array", ScalarType::kUInt8, {4}, MakeNdarrayCodec(), false};
  ExpectInvalidContaining(FieldWithImageDecodeOptions(array, Scale(1, 2)).status(),
                          "apply to CompressedImageCodec only, not to NdarrayCodec()");

  // At decode time: a PNG cell met at a scale, a crop outside an image of unknown size.
  ASSERT_OK_AND_ASSIGN(Field half, FieldWithImageDecodeOptions(ImageField(ScalarType::kUInt8, Jpeg()), Scale(1, 2)));
  ASSERT_OK_AND_ASSIGN(auto png_cell, Encode(Png(), NoiseImage8({8, 8, 3})));
  ExpectInvalidContaining(DecodeField(half, png_cell->data(), png_cell->size()).status(),
                          "Decoding field 'image'");
  ExpectInvalidContaining(DecodeField(half, png_cell->data(), png_cell->size()).status(),
                          "PNG image cannot be decoded at scale 1/2");
  ImageDecodeOptions wide = Scale(1, 2);
  wide.crop = ImageCrop{0, 0, 30, 4};
  ASSERT_OK_AND_ASSIGN(Field cropped, FieldWithImageDecodeOptions(ImageField(ScalarType::kUInt8, Jpeg()), wide));
  ASSERT_OK_AND_ASSIGN(auto jpeg_cell, Encode(Jpeg(), Gradient({40, 40, 3})));
  auto status = DecodeField(cropped, jpeg_cell->data(), jpeg_cell->size()).status();
  ExpectInvalidContaining(status, "Decoding field 'image'");
  ExpectInvalidContaining(status, "outside the image, which is 20x20 (HxW) at scale 1/2");
}

TEST(ImageDecodeOptionsTest, ParametersRoundTripAndSchemas) {
  ImageDecodeOptions options = Scale(1, 8);
  options.crop = ImageCrop{1, 2, 3, 4};
  ASSERT_OK_AND_ASSIGN(auto codec, WithImageDecodeOptions(Jpeg(), options));
  EXPECT_EQ(codec->params_json(), R"({"image_codec": "jpeg", "quality": 95, "decode_scale": [1, 8], )"
                                  R"("decode_crop": [1, 2, 3, 4]})");
  ASSERT_OK_AND_ASSIGN(auto rebuilt, internal::MakeImageCodecFromParams(codec->params_json()));
  EXPECT_EQ(rebuilt->ToString(), codec->ToString());
  EXPECT_FALSE(internal::MakeImageCodecFromParams(R"({"decode_scale": [1, 3]})").ok());

  ASSERT_OK_AND_ASSIGN(auto schema,
                       Unischema::Make("s", {FixedImageField(Jpeg(), {64, 64, 3}),
                                             Field{"id", ScalarType::kInt64, {}, nullptr, false}}));
  ASSERT_OK_AND_ASSIGN(auto scaled, SchemaWithImageDecodeOptions(*schema, {{"image", Scale(1, 2)}}));
  EXPECT_EQ(scaled->name(), "s");
  EXPECT_EQ(scaled->fields()[0].ShapeString(), "(32, 32, 3)");
  EXPECT_EQ(scaled->fields()[1].name, "id");
  ExpectInvalidContaining(SchemaWithImageDecodeOptions(*schema, {{"imgae", Scale(1, 2)}}).status(),
                          "'imgae', which schema 's' does not have");
  ExpectInvalidContaining(SchemaWithImageDecodeOptions(*schema, {{"id", Scale(1, 2)}}).status(),
                          "Field 'id'");
}

}  // namespace
}  // namespace petastorm
