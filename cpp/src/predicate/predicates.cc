// Petastorm's row predicates over decoded batches.
//
// Values compare as Python compares what the reader delivers: numbers by exact value across
// bool/int/float/Decimal (5 == 5.0 == True*5), str with str, bytes with bytes, datetimes by
// instant; anything else is unequal. Scalar cells are first converted to the field's numpy
// dtype, as petastorm.reader._scalar_column does (an int64-stored float32 field compares as
// float32), and numpy's trailing-NUL stripping of str_/bytes_ scalars is applied.
#include "petastorm/predicate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include <arrow/array.h>
#include <arrow/type.h>

#include "petastorm/codec.h"
#include "predicate/cell_internal.h"
#include "predicate/md5_internal.h"
#include "predicate/python_text_internal.h"
#include "predicate/value_set_internal.h"

namespace petastorm {

namespace {

using internal::AnyElementIn;
using internal::BytesCell;
using internal::DecimalCell;
using internal::FloatCell;
using internal::StrCell;
using internal::AnyListElementIn;
using internal::Cell;
using internal::CellIn;
using internal::IsListType;
using internal::PythonStr;
using internal::ReadCell;
using internal::ValueSet;
using internal::ValuesRepr;
using internal::QuotePython;
using internal::kTwoTo63;
using internal::kTwoTo64;

// --- Shared helpers ---------------------------------------------------------------------

bool IsTensorField(const Field& field) { return field.is_tensor(); }

// The column of `field`, checked against the batch's row count.
arrow::Result<const DecodedColumn*> FindColumn(const DecodedRowGroup& batch, const std::string& field,
                                               const std::string& where) {
  const DecodedColumn* column = batch.column(field);
  if (!column || !column->field) {
    return arrow::Status::KeyError(where, ": the batch has no field '", field, "'");
  }
  if (IsTensorField(*column->field)) {
    if (static_cast<int64_t>(column->tensors.size()) != batch.num_rows) {
      return arrow::Status::Invalid(where, ": the batch holds ", column->tensors.size(),
                                    " decoded values for ", batch.num_rows, " rows");
    }
  } else if (!column->values || column->values->length() != batch.num_rows) {
    return arrow::Status::Invalid(where, ": the batch's column does not hold ", batch.num_rows,
                                  " rows");
  }
  return column;
}

// --- The predicates ---------------------------------------------------------------------

class InSet final : public Predicate {
 public:
  InSet(ValueSet set, std::string field, std::string repr)
      : set_(std::move(set)), field_(std::move(field)), repr_(std::move(repr)) {}

  std::vector<std::string> fields() const override { return {field_}; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    const std::string where = "in_set on field '" + field_ + "'";
    ARROW_ASSIGN_OR_RAISE(const DecodedColumn* column, FindColumn(batch, field_, where));
    std::vector<bool> keep(batch.num_rows);
    if (IsTensorField(*column->field)) {
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        const auto& tensor = column->tensors[i];
        if (!tensor) {
          keep[i] = set_.has_null();
        } else if (!tensor->shape.empty()) {
          return arrow::Status::TypeError(
              where, ": row ", i, " holds an array of shape ", ShapeToString(tensor->shape),
              " (", (column->field->codec ? column->field->codec->ToString() : std::string("an array field")),
              "); in_set compares scalar values, use in_intersection for arrays");
        } else {
          ARROW_ASSIGN_OR_RAISE(bool found, AnyElementIn(*tensor, set_, where));
          keep[i] = found;
        }
      }
      return keep;
    }
    if (IsListType(column->values->type_id())) {
      return arrow::Status::TypeError(where, ": the column holds lists (", column->values->type()->ToString(),
                                      "); in_set compares scalar values, use in_intersection for arrays");
    }
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*column->values, i, column->field->dtype, where));
      keep[i] = CellIn(cell, set_);
    }
    return keep;
  }

 private:
  ValueSet set_;
  std::string field_;
  std::string repr_;
};

class InIntersection final : public Predicate {
 public:
  InIntersection(ValueSet set, std::string field, std::string repr)
      : set_(std::move(set)), field_(std::move(field)), repr_(std::move(repr)) {}

  std::vector<std::string> fields() const override { return {field_}; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    const std::string where = "in_intersection on field '" + field_ + "'";
    ARROW_ASSIGN_OR_RAISE(const DecodedColumn* column, FindColumn(batch, field_, where));
    std::vector<bool> keep(batch.num_rows);
    auto not_iterable = [&](int64_t row, const std::string& what) {
      return arrow::Status::Invalid(where, ": row ", row, " holds ", what,
                                    "; Predicate field should have iterable type");
    };
    if (IsTensorField(*column->field)) {
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        const auto& tensor = column->tensors[i];
        if (!tensor) return not_iterable(i, "None");
        ARROW_ASSIGN_OR_RAISE(bool found, AnyElementIn(*tensor, set_, where));
        keep[i] = found;
      }
      return keep;
    }
    if (IsListType(column->values->type_id())) {  // list columns of a plain Parquet store
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        if (column->values->IsNull(i)) return not_iterable(i, "None");
        ARROW_ASSIGN_OR_RAISE(keep[i], AnyListElementIn(*column->values, i, column->field->dtype, set_, where));
      }
      return keep;
    }
    // A scalar str or bytes is iterable in Python, and np.in1d compares it whole.
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*column->values, i, column->field->dtype, where));
      if (std::holds_alternative<StrCell>(cell) || std::holds_alternative<BytesCell>(cell)) {
        keep[i] = CellIn(cell, set_);
      } else if (std::holds_alternative<std::monostate>(cell)) {
        return not_iterable(i, "None");
      } else {
        return not_iterable(i, "a scalar of type " + std::string(ScalarTypeName(column->field->dtype)));
      }
    }
    return keep;
  }

 private:
  ValueSet set_;
  std::string field_;
  std::string repr_;
};

class InNegate final : public Predicate {
 public:
  explicit InNegate(std::shared_ptr<const Predicate> inner) : inner_(std::move(inner)) {}

  std::vector<std::string> fields() const override { return inner_->fields(); }
  std::string ToString() const override { return "in_negate(" + inner_->ToString() + ")"; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    ARROW_ASSIGN_OR_RAISE(std::vector<bool> keep, inner_->Evaluate(batch));
    if (static_cast<int64_t>(keep.size()) != batch.num_rows) {
      return arrow::Status::Invalid("in_negate: ", inner_->ToString(), " returned ", keep.size(),
                                    " flags for ", batch.num_rows, " rows");
    }
    keep.flip();
    return keep;
  }

 private:
  std::shared_ptr<const Predicate> inner_;
};

class InReduce final : public Predicate {
 public:
  InReduce(std::vector<std::shared_ptr<const Predicate>> predicates, ReduceOp op)
      : predicates_(std::move(predicates)), op_(op) {}

  std::vector<std::string> fields() const override {
    std::vector<std::string> out;
    for (const auto& p : predicates_) {
      for (auto& name : p->fields()) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
      }
    }
    return out;
  }

  std::string ToString() const override {
    std::string out = "in_reduce([";
    for (size_t i = 0; i < predicates_.size(); ++i) {
      if (i > 0) out += ", ";
      out += predicates_[i]->ToString();
    }
    return out + "], " + (op_ == ReduceOp::kAll ? "all" : "any") + ")";
  }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    // all([]) is True and any([]) is False, as in Python.
    std::vector<bool> keep(batch.num_rows, op_ == ReduceOp::kAll);
    for (const auto& p : predicates_) {
      ARROW_ASSIGN_OR_RAISE(std::vector<bool> flags, p->Evaluate(batch));
      if (static_cast<int64_t>(flags.size()) != batch.num_rows) {
        return arrow::Status::Invalid("in_reduce: ", p->ToString(), " returned ", flags.size(),
                                      " flags for ", batch.num_rows, " rows");
      }
      for (int64_t i = 0; i < batch.num_rows; ++i) {
        keep[i] = op_ == ReduceOp::kAll ? keep[i] && flags[i] : keep[i] || flags[i];
      }
    }
    return keep;
  }

 private:
  std::vector<std::shared_ptr<const Predicate>> predicates_;
  ReduceOp op_;
};

// low <= bucket, exactly (Python compares int and float by value).
bool AtLeast(uint64_t bucket, double low) {
  if (std::isnan(low)) return false;
  if (low <= 0) return true;
  if (low >= kTwoTo64) return false;
  return bucket >= static_cast<uint64_t>(std::ceil(low));
}

// bucket < high, exactly.
bool Below(uint64_t bucket, double high) {
  if (std::isnan(high) || high <= 0) return false;
  if (high >= kTwoTo64) return true;
  return bucket < static_cast<uint64_t>(std::ceil(high));
}

class InPseudorandomSplit final : public Predicate {
 public:
  InPseudorandomSplit(double low, double high, std::string field, std::string repr)
      : low_(low), high_(high), field_(std::move(field)), repr_(std::move(repr)) {}

  std::vector<std::string> fields() const override { return {field_}; }
  std::string ToString() const override { return repr_; }

  arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const override {
    const std::string where = "in_pseudorandom_split on field '" + field_ + "'";
    ARROW_ASSIGN_OR_RAISE(const DecodedColumn* column, FindColumn(batch, field_, where));
    if (IsTensorField(*column->field)) {
      return arrow::Status::NotImplemented(where, ": splitting on array values (",
                                           (column->field->codec ? column->field->codec->ToString() : std::string("an array field")), ") is not supported");
    }
    std::vector<bool> keep(batch.num_rows);
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      ARROW_ASSIGN_OR_RAISE(Cell cell, ReadCell(*column->values, i, column->field->dtype, where));
      ARROW_ASSIGN_OR_RAISE(std::string text, PythonStr(cell, where));
      const uint64_t bucket = internal::Md5ModMaxsize(text);
      keep[i] = AtLeast(bucket, low_) && Below(bucket, high_);
    }
    return keep;
  }

 private:
  double low_, high_;  // bucket bounds: [low, high)
  std::string field_;
  std::string repr_;
};

}  // namespace

arrow::Result<std::shared_ptr<const Predicate>> MakeInSet(std::vector<Value> values, std::string field) {
  const std::string repr = "in_set(" + ValuesRepr(values) + ", " + QuotePython(field) + ")";
  ARROW_ASSIGN_OR_RAISE(ValueSet set, ValueSet::Make(values, "in_set on field '" + field + "'"));
  return std::make_shared<InSet>(std::move(set), std::move(field), repr);
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInIntersection(std::vector<Value> values,
                                                                   std::string field) {
  const std::string repr = "in_intersection(" + ValuesRepr(values) + ", " + QuotePython(field) + ")";
  ARROW_ASSIGN_OR_RAISE(ValueSet set,
                        ValueSet::Make(values, "in_intersection on field '" + field + "'"));
  return std::make_shared<InIntersection>(std::move(set), std::move(field), repr);
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInNegate(std::shared_ptr<const Predicate> predicate) {
  if (!predicate) return arrow::Status::Invalid("in_negate: the predicate is null");
  return std::make_shared<InNegate>(std::move(predicate));
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInReduce(
    std::vector<std::shared_ptr<const Predicate>> predicates, ReduceOp op) {
  for (size_t i = 0; i < predicates.size(); ++i) {
    if (!predicates[i]) return arrow::Status::Invalid("in_reduce: predicate ", i, " is null");
  }
  return std::make_shared<InReduce>(std::move(predicates), op);
}

arrow::Result<std::shared_ptr<const Predicate>> MakeInPseudorandomSplit(std::vector<double> fractions,
                                                                        int subset_index,
                                                                        std::string field) {
  if (subset_index < 0 || static_cast<size_t>(subset_index) >= fractions.size()) {
    return arrow::Status::Invalid("in_pseudorandom_split on field '", field, "': subset_index ",
                                  subset_index, " is out of range for ", fractions.size(),
                                  " fractions");
  }
  // Petastorm: the high border of subset k is sum(fractions[:k + 1]) (summed left to right),
  // and a bound is border * (sys.maxsize - 1), a float: (2**63 - 2) rounds to 2**63.
  auto border = [&](int k) {
    double sum = 0;
    for (int i = 0; i <= k; ++i) sum += fractions[i];
    return std::ldexp(sum, 63);
  };
  const double low = subset_index == 0 ? 0.0 : border(subset_index - 1);
  const double high = border(subset_index);
  std::string repr = "in_pseudorandom_split([";
  for (size_t i = 0; i < fractions.size(); ++i) {
    if (i > 0) repr += ", ";
    repr += internal::NumpyFloatStr(fractions[i], 64);
  }
  repr += "], " + std::to_string(subset_index) + ", " + QuotePython(field) + ")";
  return std::make_shared<InPseudorandomSplit>(low, high, std::move(field), std::move(repr));
}

}  // namespace petastorm
