// What each field of a TrainingBatch becomes (fixed by its first input), and assembling a
// batch from a selection of rows: numbers copied (converted, promoted) into one buffer per
// field, other values gathered. Internal to the batcher.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "batcher/row_pool_internal.h"
#include "petastorm/batcher.h"

namespace petastorm::internal {

// What a field becomes, fixed by the first input holding it.
struct FieldPlan {
  enum class Out { kUndecided, kNumeric, kTensorObjects, kArrowObjects };
  Out out = Out::kUndecided;
  ScalarType type = ScalarType::kUInt8;        // kNumeric: the output element type
  std::shared_ptr<arrow::DataType> arrow_type; // kArrowObjects
};

// Petastorm's PyTorch promotions when `for_torch`: uint16 -> int32, uint32 -> int64, bool -> uint8.
ScalarType Promote(ScalarType type, bool for_torch);

// Fixes `plan` at the field's first input; later inputs must agree with it. TypeError naming
// `name` otherwise.
arrow::Status CheckPlan(const std::string& name, const Source& source, bool promote_for_torch, FieldPlan* plan);

// The batch of the rows of `selection`, field by field as `plans` say.
arrow::Result<std::unique_ptr<TrainingBatch>> Assemble(const std::vector<std::string>& names,
                                                       const std::vector<FieldPlan>& plans,
                                                       const Selection& selection);

}  // namespace petastorm::internal
