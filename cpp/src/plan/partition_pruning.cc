#include "plan/partition_pruning_internal.h"

#include <arrow/array/util.h>
#include <arrow/scalar.h>

namespace petastorm::internal {

bool PredicateReadsOnlyPartitionKeys(const Dataset& dataset, const Unischema& predicate_fields) {
  if (dataset.partition_keys().empty()) return false;
  for (const Field& f : predicate_fields.fields()) {
    if (dataset.PartitionKeyIndex(f.name) < 0) return false;
  }
  return true;
}

arrow::Result<std::vector<int64_t>> RowGroupsOfMatchingPartitions(const Dataset& dataset,
                                                                  const Unischema& fields,
                                                                  const Predicate& predicate) {
  std::vector<bool> file_kept(dataset.files().size(), false);
  for (size_t f = 0; f < dataset.files().size(); ++f) {
    DecodedRowGroup one_row;
    one_row.num_rows = 1;
    for (const Field& field : fields.fields()) {
      ARROW_ASSIGN_OR_RAISE(auto value,
                            dataset.PartitionValue(static_cast<int>(f), dataset.PartitionKeyIndex(field.name)));
      ARROW_ASSIGN_OR_RAISE(auto type, field.StorageType());
      ARROW_ASSIGN_OR_RAISE(auto cast, value->CastTo(type));
      DecodedColumn column;
      column.field = &field;
      ARROW_ASSIGN_OR_RAISE(column.values, arrow::MakeArrayFromScalar(*cast, 1));
      one_row.columns.push_back(std::move(column));
    }
    ARROW_ASSIGN_OR_RAISE(auto keep, predicate.Evaluate(one_row));
    file_kept[f] = !keep.empty() && keep[0];
  }
  std::vector<int64_t> kept;
  for (size_t i = 0; i < dataset.row_groups().size(); ++i) {
    if (file_kept[static_cast<size_t>(dataset.row_groups()[i].file_index)]) kept.push_back(static_cast<int64_t>(i));
  }
  return kept;
}

}  // namespace petastorm::internal
