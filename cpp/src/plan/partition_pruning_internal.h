// Predicates that read only hive partition keys are decided per file, at plan time: the other
// files are never read.
#pragma once

#include <cstdint>
#include <vector>

#include <arrow/result.h>

#include "petastorm/dataset.h"
#include "petastorm/predicate.h"
#include "petastorm/schema.h"

namespace petastorm::internal {

// Whether every field the predicate reads (`predicate_fields`) is a partition key of `dataset`.
bool PredicateReadsOnlyPartitionKeys(const Dataset& dataset, const Unischema& predicate_fields);

// The row groups (indexes into dataset.row_groups(), in order) of the files whose partition
// values the predicate accepts.
arrow::Result<std::vector<int64_t>> RowGroupsOfMatchingPartitions(const Dataset& dataset, const Unischema& fields,
                                                                  const Predicate& predicate);

}  // namespace petastorm::internal
