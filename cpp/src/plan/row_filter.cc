// The row-exact step of filters (filter.h): each term a boolean mask from Arrow compute kernels
// over the filter column, combined with Kleene's and/or, as pyarrow's dataset expressions do.
#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include <arrow/array.h>
#include <arrow/array/builder_base.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/initialize.h>

#include "petastorm/filter.h"
#include "plan/filter_terms_internal.h"

namespace petastorm {

namespace {

using internal::CheckTerm;
using internal::HoldsNull;
using internal::IsNull;
using internal::ValueToScalar;

const char* ComparisonFunction(const std::string& op) {
  if (op == "=" || op == "==") return "equal";
  if (op == "!=") return "not_equal";
  if (op == "<") return "less";
  if (op == "<=") return "less_equal";
  if (op == ">") return "greater";
  return "greater_equal";  // ">=": CheckTerm allows nothing else
}

// The value as Python prints it (for messages).
std::string ValueText(const Value& v) {
  if (IsNull(v)) return "None";
  if (auto* b = std::get_if<bool>(&v)) return *b ? "True" : "False";
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  if (auto* s = std::get_if<std::string>(&v)) return "'" + s->substr(0, 40) + (s->size() > 40 ? "...'" : "'");
  if (auto* dec = std::get_if<DecimalText>(&v)) return "Decimal('" + dec->text + "')";
  return DescribeValue(v);
}

std::string TermText(const FilterTerm& term) {
  std::string text = "('" + term.column + "', '" + term.op + "', ";
  const bool set_op = term.op == "in" || term.op == "not in";
  if (set_op) text += "[";
  for (size_t i = 0; i < term.values.size(); ++i) {
    if (i) text += ", ";
    if (i == 8) {
      text += "...";
      break;
    }
    text += ValueText(term.values[i]);
  }
  if (set_op) text += "]";
  return text + ")";
}

class RowFilter final : public Predicate {
 public:
  explicit RowFilter(Filters filters) : filters_(std::move(filters)) {
    for (const auto& conjunction : filters_) {
      for (const auto& term : conjunction) {
        if (std::find(fields_.begin(), fields_.end(), term.column) == fields_.end()) {
          fields_.push_back(term.column);
        }
      }
    }
    for (size_t c = 0; c < filters_.size(); ++c) {
      repr_ += c ? " or [" : "[";
      for (size_t t = 0; t < filters_[c].size(); ++t) repr_ += (t ? ", " : "") + TermText(filters_[c][t]);
      repr_ += "]";
    }
    repr_ = "filters " + repr_;
  }

  std::vector<std::string> fields() const override { return fields_; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    arrow::Datum any;
    for (const auto& conjunction : filters_) {
      arrow::Datum all;
      for (const auto& term : conjunction) {
        ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, TermMask(term, batch));
        if (all.is_value()) {
          ARROW_ASSIGN_OR_RAISE(all, arrow::compute::CallFunction("and_kleene", {all, mask}));
        } else {
          all = std::move(mask);
        }
      }
      if (!all.is_value()) {  // an empty conjunction: every row
        ARROW_ASSIGN_OR_RAISE(auto every, arrow::MakeArrayFromScalar(arrow::BooleanScalar(true), batch.num_rows));
        all = every;
      }
      if (any.is_value()) {
        ARROW_ASSIGN_OR_RAISE(any, arrow::compute::CallFunction("or_kleene", {any, all}));
      } else {
        any = std::move(all);
      }
    }
    std::vector<bool> keep(static_cast<size_t>(batch.num_rows), filters_.empty());
    if (!any.is_value()) return keep;
    const auto mask = any.make_array();
    if (mask->length() != batch.num_rows) {
      return arrow::Status::Invalid(repr_, ": ", mask->length(), " results for ", batch.num_rows, " rows");
    }
    const auto& flags = static_cast<const arrow::BooleanArray&>(*mask);
    for (int64_t i = 0; i < batch.num_rows; ++i) keep[static_cast<size_t>(i)] = flags.IsValid(i) && flags.Value(i);
    return keep;
  }

 private:
  // One flag per row (null: unknown, which drops the row unless an "or" saves it).
  arrow::Result<arrow::Datum> TermMask(const FilterTerm& term, const DecodedRowGroup& batch) const {
    const DecodedColumn* column = batch.column(term.column);
    if (column == nullptr || column->field == nullptr) {
      return arrow::Status::KeyError("Filter on '", term.column, "': the row group has no column '",
                                     term.column, "'");
    }
    if (column->field->is_tensor()) {
      return arrow::Status::Invalid("Filter on '", term.column,
                                    "': filters compare scalar columns, and this field holds arrays (a codec "
                                    "field); select its rows with a predicate instead");
    }
    std::shared_ptr<arrow::Array> values = column->values;
    if (!values || values->length() != batch.num_rows) {
      return arrow::Status::Invalid("Filter on '", term.column, "': the column does not hold ",
                                    batch.num_rows, " rows");
    }
    if (values->type_id() == arrow::Type::DICTIONARY) {
      const auto& dict = static_cast<const arrow::DictionaryType&>(*values->type());
      ARROW_ASSIGN_OR_RAISE(auto decoded, arrow::compute::Cast(*values, dict.value_type()));
      values = decoded;
    }
    const auto& type = values->type();
    auto explain = [&](const arrow::Status& st) {
      return arrow::Status::Invalid("Filter ", TermText(term), " cannot be evaluated on column '", term.column,
                                    "' of type ", type->ToString(), ": ", st.message());
    };
    if (term.op == "in" || term.op == "not in") {
      // The set in the column's type; a value that cannot be exact in it (2.5 for an int column)
      // equals no cell and is left out.
      std::unique_ptr<arrow::ArrayBuilder> builder;
      ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), type, &builder));
      for (const Value& v : term.values) {
        if (IsNull(v)) continue;
        ARROW_ASSIGN_OR_RAISE(auto scalar, ValueToScalar(v, type, term));
        if (!scalar->type->Equals(*type)) continue;
        ARROW_RETURN_NOT_OK(builder->AppendScalar(*scalar));
      }
      if (HoldsNull(term)) ARROW_RETURN_NOT_OK(builder->AppendNull());
      ARROW_ASSIGN_OR_RAISE(auto value_set, builder->Finish());
      arrow::compute::SetLookupOptions options(value_set, arrow::compute::SetLookupOptions::MATCH);
      auto in = arrow::compute::CallFunction("is_in", {values}, &options);
      if (!in.ok()) return explain(in.status());
      if (term.op == "in") return *in;
      return arrow::compute::CallFunction("invert", {*in});
    }
    const Value& value = term.values[0];
    if (IsNull(value)) {  // a comparison with None is null for every row
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(arrow::boolean(), batch.num_rows));
      return arrow::Datum(nulls);
    }
    ARROW_ASSIGN_OR_RAISE(auto scalar, ValueToScalar(value, type, term));
    auto mask = arrow::compute::CallFunction(ComparisonFunction(term.op), {values, scalar});
    if (!mask.ok()) return explain(mask.status());
    return *mask;
  }

  Filters filters_;
  std::vector<std::string> fields_;
  std::string repr_;
};

}  // namespace

arrow::Result<std::shared_ptr<const Predicate>> MakeRowFilter(Filters filters) {
  static const arrow::Status init = arrow::compute::Initialize();
  ARROW_RETURN_NOT_OK(init);
  for (const auto& conjunction : filters) {
    for (const auto& term : conjunction) ARROW_RETURN_NOT_OK(CheckTerm(term));
  }
  return std::make_shared<const RowFilter>(std::move(filters));
}

}  // namespace petastorm
