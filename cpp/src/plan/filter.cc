#include "petastorm/filter.h"

#include <arrow/compute/api_scalar.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/initialize.h>
#include <arrow/scalar.h>
#include <parquet/arrow/reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

namespace petastorm {

namespace {

arrow::Result<std::shared_ptr<arrow::Scalar>> ValueToScalar(const Value& value,
                                                            const std::shared_ptr<arrow::DataType>& type,
                                                            const FilterTerm& term) {
  std::shared_ptr<arrow::Scalar> scalar;
  if (auto* b = std::get_if<bool>(&value)) scalar = arrow::MakeScalar(*b);
  else if (auto* i = std::get_if<int64_t>(&value)) scalar = arrow::MakeScalar(*i);
  else if (auto* u = std::get_if<uint64_t>(&value)) scalar = arrow::MakeScalar(*u);
  else if (auto* d = std::get_if<double>(&value)) scalar = arrow::MakeScalar(*d);
  else if (auto* s = std::get_if<std::string>(&value)) scalar = arrow::MakeScalar(*s);
  else if (auto* by = std::get_if<Bytes>(&value)) scalar = std::make_shared<arrow::BinaryScalar>(arrow::Buffer::FromString(by->data));
  else if (auto* dec = std::get_if<DecimalText>(&value)) scalar = arrow::MakeScalar(dec->text);
  else if (auto* t = std::get_if<DatetimeNs>(&value)) scalar = std::make_shared<arrow::TimestampScalar>(t->ns, arrow::timestamp(arrow::TimeUnit::NANO));
  else {
    return arrow::Status::Invalid("Filter on '", term.column, "': value ", DescribeValue(value),
                                  " cannot be compared");
  }
  auto cast = arrow::compute::Cast(scalar, type);
  if (!cast.ok()) {
    return arrow::Status::Invalid("Filter on '", term.column, "': value of type ",
                                  scalar->type->ToString(), " cannot be compared with a column of type ",
                                  type->ToString(), ": ", cast.status().message());
  }
  return cast->scalar();
}

arrow::Result<bool> Compare(const char* function, const std::shared_ptr<arrow::Scalar>& a,
                            const std::shared_ptr<arrow::Scalar>& b) {
  ARROW_ASSIGN_OR_RAISE(auto result, arrow::compute::CallFunction(function, {a, b}));
  const auto& out = static_cast<const arrow::BooleanScalar&>(*result.scalar());
  return out.is_valid && out.value;
}

// Whether some row with values in [min, max] may satisfy the term.
arrow::Result<bool> MayMatch(const FilterTerm& term, const std::shared_ptr<arrow::Scalar>& min,
                             const std::shared_ptr<arrow::Scalar>& max,
                             const std::vector<std::shared_ptr<arrow::Scalar>>& values) {
  const std::string& op = term.op;
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

arrow::Status CheckTerm(const FilterTerm& term) {
  static const char* kOps[] = {"=", "==", "!=", "<", "<=", ">", ">=", "in", "not in"};
  bool known = false;
  for (const char* op : kOps) known = known || term.op == op;
  if (!known) {
    return arrow::Status::Invalid("Filter on '", term.column, "': unknown operator '", term.op,
                                  "' (use =, ==, !=, <, <=, >, >=, in, not in)");
  }
  const bool set_op = term.op == "in" || term.op == "not in";
  if (!set_op && term.values.size() != 1) {
    return arrow::Status::Invalid("Filter on '", term.column, "': operator '", term.op,
                                  "' takes one value");
  }
  return arrow::Status::OK();
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
            ARROW_ASSIGN_OR_RAISE(auto s, ValueToScalar(v, value->type, term));
            values.push_back(std::move(s));
          }
          ARROW_ASSIGN_OR_RAISE(bool may, MayMatch(term, value, value, values));
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
          ARROW_ASSIGN_OR_RAISE(auto s, ValueToScalar(v, type, term));
          values.push_back(std::move(s));
        }
        const int leaf = descr->ColumnIndex(term.column);
        if (leaf < 0) continue;  // nested column: no statistics to judge by
        auto chunk = row_group->ColumnChunk(leaf);
        auto stats = chunk->statistics();
        if (!stats || !stats->HasMinMax()) continue;
        std::shared_ptr<arrow::Scalar> min, max;
        if (!parquet::arrow::StatisticsAsScalars(*stats, &min, &max).ok()) continue;
        auto min_cast = arrow::compute::Cast(min, type);
        auto max_cast = arrow::compute::Cast(max, type);
        if (!min_cast.ok() || !max_cast.ok()) continue;
        ARROW_ASSIGN_OR_RAISE(bool may, MayMatch(term, min_cast->scalar(), max_cast->scalar(), values));
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
