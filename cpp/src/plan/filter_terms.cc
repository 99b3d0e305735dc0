#include "plan/filter_terms_internal.h"

#include <algorithm>
#include <variant>

#include <arrow/compute/cast.h>

namespace petastorm::internal {

bool IsNull(const Value& value) { return std::holds_alternative<std::monostate>(value); }

bool HoldsNull(const FilterTerm& term) {
  return std::any_of(term.values.begin(), term.values.end(), IsNull);
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
  // Text and numbers do not compare (pyarrow has no kernel for it), whatever a cast could parse.
  const bool text_value = std::holds_alternative<std::string>(value) || std::holds_alternative<Bytes>(value);
  const bool number_value = std::holds_alternative<bool>(value) || std::holds_alternative<int64_t>(value) ||
                            std::holds_alternative<uint64_t>(value) || std::holds_alternative<double>(value);
  const bool text_column = arrow::is_base_binary_like(type->id()) || arrow::is_binary_view_like(type->id());
  const bool number_column = arrow::is_numeric(type->id()) || type->id() == arrow::Type::BOOL ||
                             arrow::is_decimal(type->id());
  if ((text_value && number_column) || (number_value && text_column)) {
    return arrow::Status::Invalid("Filter on '", term.column, "': value of type ", scalar->type->ToString(),
                                  " cannot be compared with a column of type ", type->ToString());
  }
  auto cast = arrow::compute::Cast(scalar, type);
  if (!cast.ok() && arrow::is_numeric(scalar->type->id()) && arrow::is_numeric(type->id())) {
    return scalar;  // not exact in the column's type (an int column < 2.5): compared by the common type
  }
  if (!cast.ok()) {
    return arrow::Status::Invalid("Filter on '", term.column, "': value of type ",
                                  scalar->type->ToString(), " cannot be compared with a column of type ",
                                  type->ToString(), ": ", cast.status().message());
  }
  return cast->scalar();
}

}  // namespace petastorm::internal
