// Collate: one batch column of strings, bytes, ragged or nested lists as tensors (docs/collate.md).
//
//   kPadded:  "padded" (rows, width, *inner) + "lengths" int64 (rows,) + "mask" bool (rows, width),
//             for one level of lists: strings, bytes, lists of numbers, ragged numeric tensors.
//   kOffsets: "values" (flat) + "offsets" int64 (rows + 1) into the next level, "offsets_1" into
//             the level after, ...; a struct's children each flattened under their own name.
// Values: string -> int32 Unicode code points; binary -> uint8 bytes; numbers keep their type;
// fixed-size lists of numbers (and the inner dimensions of tensors) are trailing dimensions.
//
// Errors: TypeError naming the field (and the place inside it) for a null at any depth, for
// values with no tensor form (decimals, dates, maps, arrays of strings, ...), for scalars and
// for kPadded on more than one level; Invalid for text that is not UTF-8, a row longer than
// max_length (unless truncate) and a pad value the element type cannot hold exactly.
// Thread safety: pure functions. Ownership: the parts' buffers are writable and their own, but
// for a writable dense column's, which the values share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "petastorm/tensor.h"

namespace petastorm {

struct BatchColumn;

struct CollateOptions {
  enum class Policy { kPadded, kOffsets };
  Policy policy = Policy::kOffsets;
  // kPadded: the value of the positions past a row's end (converted exactly to the element type).
  double pad_value = 0;
  // kPadded: the width of every batch (>= 0), instead of the batch's longest row. A longer row is
  // Invalid, or cut to max_length when `truncate` (its length then says max_length).
  int64_t max_length = -1;
  bool truncate = false;
  // Petastorm's PyTorch promotions (uint16 -> int32, uint32 -> int64, bool -> uint8) of values
  // read from Arrow (the Batcher sets it from BatcherOptions::promote_for_torch).
  bool promote_for_torch = false;
};

// One tensor of a collated column; `path` names it: {"values"}, {"offsets_1"}, {"b", "offsets"}.
struct CollatedPart {
  std::vector<std::string> path;
  Tensor tensor;
};

// Invalid for a negative max_length other than -1 and for truncate without max_length.
arrow::Status ValidateCollateOptions(const std::string& name, const CollateOptions& options);

// The column `name` of a batch (any BatchColumn kind) as `options` say.
arrow::Result<std::vector<CollatedPart>> Collate(const std::string& name, const BatchColumn& column,
                                                 const CollateOptions& options);

}  // namespace petastorm
