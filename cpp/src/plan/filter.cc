#include "petastorm/filter.h"

#include "plan/filter_terms_internal.h"

#include <algorithm>
#include <variant>

#include <arrow/compute/api_scalar.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/initialize.h>
#include <arrow/scalar.h>
#include <parquet/arrow/reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

namespace petastorm {

namespace {

using internal::CheckTerm;
using internal::HoldsNull;
using internal::IsNull;
using internal::ValueToScalar;

arrow::Result<bool> Compare(const char* function, const std::shared_ptr<arrow::Scalar>& a,
                            const std::shared_ptr<arrow::Scalar>& b) {
  ARROW_ASSIGN_OR_RAISE(auto result, arrow::compute::CallFunction(function, {a, b}));
  const auto& out = static_cast<const arrow::BooleanScalar&>(*result.scalar());
  return out.is_valid && out.value;
}

// Whether some row with values in [min, max] (`may_hold_nulls`: and maybe null cells) may
// satisfy the term; `values` are its non-null values.
arrow::Result<bool> MayMatch(const FilterTerm& term, const std::shared_ptr<arrow::Scalar>& min,
                             const std::shared_ptr<arrow::Scalar>& max,
                             const std::vector<std::shared_ptr<arrow::Scalar>>& values,
                             bool may_hold_nulls) {
  const std::string& op = term.op;
  const bool set_op = op == "in" || op == "not in";
  if (!set_op && values.empty()) return false;  // compared with None: null, no row matches
  // A null cell is "in" a set holding None, and "not in" one that does not.
  if (may_hold_nulls && (op == "in") == HoldsNull(term) && set_op) return true;
  if (!min || !max || !min->is_valid || !max->is_valid) return false;  // only null cells
  auto in_range = [&](const std::shared_ptr<arrow::Scalar>& v) -> arrow::Result<bool> {
    ARROW_ASSIGN_OR_RAISE(bool above_min, Compare("less_equal", min, v));
    ARROW_ASSIGN_OR_RAISE(bool below_max, Compare("less_equal", v, max));
    return above_min && below_max;
  };
  auto single_value_equals = [&](const std::shared_ptr<arrow::Scalar>& v) -> arrow::Result<bool> {
    ARROW_ASSIGN_OR_RAISE(bool min_eq, Compare("equal", min, v));
    ARROW_ASSIGN_OR_RAISE(bool max_eq, Compare("equal", max, v));
    return min_eq && max_eq;
  };
  if (op == "=" || op == "==") return in_range(values[0]);
  if (op == "!=") {
    ARROW_ASSIGN_OR_RAISE(bool all_equal, single_value_equals(values[0]));
    return !all_equal;
  }
  if (op == "<") return Compare("less", min, values[0]);
  if (op == "<=") return Compare("less_equal", min, values[0]);
  if (op == ">") return Compare("greater", max, values[0]);
  if (op == ">=") return Compare("greater_equal", max, values[0]);
  if (op == "in") {
    for (const auto& v : values) {
      ARROW_ASSIGN_OR_RAISE(bool hit, in_range(v));
      if (hit) return true;
    }
    return false;
  }
  // "not in": excluded only when every row holds one value, and it is in the set.
  for (const auto& v : values) {
    ARROW_ASSIGN_OR_RAISE(bool all_equal, single_value_equals(v));
    if (all_equal) return false;
  }
  return true;
}

}  // namespace

arrow::Result<std::vector<int64_t>> PruneRowGroups(const Dataset& dataset, const Filters& filters) {
  static const arrow::Status init = arrow::compute::Initialize();
  ARROW_RETURN_NOT_OK(init);
  for (const auto& conjunction : filters) {
    for (const auto& term : conjunction) ARROW_RETURN_NOT_OK(CheckTerm(term));
  }
  std::vector<int64_t> kept;
  int open_index = -1;
  std::shared_ptr<parquet::FileMetaData> metadata;
  std::shared_ptr<arrow::Schema> file_schema;
  for (size_t index = 0; index < dataset.row_groups().size(); ++index) {
    const RowGroupRef ref = dataset.row_groups()[index];
    if (ref.file_index != open_index) {
      ARROW_ASSIGN_OR_RAISE(metadata, dataset.FileMetadata(ref.file_index));
      ARROW_ASSIGN_OR_RAISE(file_schema, dataset.FileSchema(ref.file_index));
      open_index = ref.file_index;
    }
    if (ref.row_group >= metadata->num_row_groups()) {
      return arrow::Status::IOError("'", dataset.files()[ref.file_index], "' row group ", ref.row_group,
                                    ": the file has only ", metadata->num_row_groups(),
                                    " row groups; the dataset metadata is stale");
    }
    auto row_group = metadata->RowGroup(ref.row_group);
    const parquet::SchemaDescriptor* descr = metadata->schema();
    bool any = filters.empty();
    for (const auto& conjunction : filters) {
      bool all = true;
      for (const auto& term : conjunction) {
        const int partition_key = dataset.PartitionKeyIndex(term.column);
        if (partition_key >= 0) {
          // A hive partition key: every row of the file holds the path's value.
          ARROW_ASSIGN_OR_RAISE(auto value, dataset.PartitionValue(ref.file_index, partition_key));
          std::vector<std::shared_ptr<arrow::Scalar>> values;
          for (const auto& v : term.values) {
            if (IsNull(v)) continue;
            ARROW_ASSIGN_OR_RAISE(auto s, ValueToScalar(v, value->type, term));
            values.push_back(std::move(s));
          }
          ARROW_ASSIGN_OR_RAISE(bool may, MayMatch(term, value, value, values, !value->is_valid));
          if (!may) {
            all = false;
            break;
          }
          continue;
        }
        const int field_index = file_schema->GetFieldIndex(term.column);
        if (field_index < 0) {
          return arrow::Status::Invalid("Filter on '", term.column, "': no such column in '",
                                        dataset.files()[ref.file_index], "'");
        }
        const auto type = file_schema->field(field_index)->type();
        std::vector<std::shared_ptr<arrow::Scalar>> values;
        for (const auto& v : term.values) {
          if (IsNull(v)) continue;
          ARROW_ASSIGN_OR_RAISE(auto s, ValueToScalar(v, type, term));
          values.push_back(std::move(s));
        }
        const int leaf = descr->ColumnIndex(term.column);
        if (leaf < 0) continue;  // nested column: no statistics to judge by
        auto chunk = row_group->ColumnChunk(leaf);
        auto stats = chunk->statistics();
        if (!stats) continue;
        const bool may_hold_nulls = !stats->HasNullCount() || stats->null_count() > 0;
        std::shared_ptr<arrow::Scalar> min, max;
        if (!stats->HasMinMax()) {
          if (chunk->num_values() > 0 && stats->HasNullCount() && stats->null_count() == chunk->num_values()) {
            // Only null cells: judged by the null rules alone.
            ARROW_ASSIGN_OR_RAISE(bool may, MayMatch(term, nullptr, nullptr, values, true));
            if (!may) {
              all = false;
              break;
            }
          }
          continue;
        }
        if (!parquet::arrow::StatisticsAsScalars(*stats, &min, &max).ok()) continue;
        auto min_cast = arrow::compute::Cast(min, type);
        auto max_cast = arrow::compute::Cast(max, type);
        if (!min_cast.ok() || !max_cast.ok()) continue;
        ARROW_ASSIGN_OR_RAISE(bool may, MayMatch(term, min_cast->scalar(), max_cast->scalar(), values,
                                                 may_hold_nulls));
        if (!may) {
          all = false;
          break;
        }
      }
      if (all) {
        any = true;
        break;
      }
    }
    if (any) kept.push_back(static_cast<int64_t>(index));
  }
  return kept;
}

}  // namespace petastorm
