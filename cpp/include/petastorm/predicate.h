// Row predicates: which rows of a row group to keep (Petastorm's petastorm.predicates).
//
// A predicate names the fields it reads; the reader loads and decodes those first, evaluates
// the predicate, and reads the other fields only for row groups with matching rows.
// Predicates are immutable and thread-safe: Evaluate may run on several threads at once.
// Errors: arrow::Status naming the predicate and field; a field missing from the batch is a
// KeyError.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "petastorm/decoded_row_group.h"
#include "petastorm/row.h"

namespace petastorm {

class Predicate {
 public:
  virtual ~Predicate() = default;
  // The fields Evaluate reads.
  virtual std::vector<std::string> fields() const = 0;
  // One flag per row of `batch`, which holds at least fields() (decoded).
  virtual arrow::Result<std::vector<bool>> Evaluate(const DecodedRowGroup& batch) const = 0;
  virtual std::string ToString() const = 0;
};

// Values compare as Python compares the values the reader delivers (numpy scalars of the
// field's dtype, str, bytes, Decimal, numpy.datetime64): numbers by exact value across
// bool/int/float/Decimal, str with str, bytes with bytes, datetimes by instant; numpy's
// stripping of trailing NULs from str_/bytes_ scalars applies. Inclusion values must be
// scalars (TypeError otherwise).

// Rows whose `field` value is one of `values` (Petastorm: `value in set(values)`). A null
// cell matches only when `values` holds null (std::monostate). On a codec (array) field only
// 0-d arrays compare; other arrays are a TypeError naming the field.
arrow::Result<std::shared_ptr<const Predicate>> MakeInSet(std::vector<Value> values, std::string field);

// Rows whose array `field` shares at least one element with `values` (np.in1d(...).any()).
// 'U' elements compare with std::string values, 'S' elements with Bytes. A scalar str/bytes
// field compares whole values, as np.in1d does with a str. A null cell, or a field of other
// scalars, is Invalid ("Predicate field should have iterable type"), as in Petastorm.
arrow::Result<std::shared_ptr<const Predicate>> MakeInIntersection(std::vector<Value> values,
                                                                   std::string field);

// Rows the inner predicate rejects (so in_negate(in_set) keeps nulls). Invalid when null.
arrow::Result<std::shared_ptr<const Predicate>> MakeInNegate(std::shared_ptr<const Predicate> predicate);

enum class ReduceOp { kAll, kAny };
// Rows accepted by all (kAll) or any (kAny) of the predicates; fields() is the union, in
// order of first appearance. No predicates: kAll keeps every row, kAny none (Python's
// all([]) / any([])). Invalid when one is null.
arrow::Result<std::shared_ptr<const Predicate>> MakeInReduce(
    std::vector<std::shared_ptr<const Predicate>> predicates, ReduceOp op);

// Petastorm's in_pseudorandom_split: a row belongs to subset `subset_index` (0-based; Invalid
// out of range) of the split into `fractions` when
//   bucket = int(hashlib.md5(str(value).encode('utf-8')).hexdigest(), 16) % (2**63 - 1)
// satisfies low <= bucket < high, with high = sum(fractions[:subset_index + 1]) * 2**63 (the
// sum left to right, as Python's sum before 3.12), low the same for subset_index - 1 (0 for
// the first subset). str(value) is what Python prints for the value the reader delivers:
// None, True/False, ints, numpy floats (np.float32(0.1) -> '0.1'), str as is, bytes as
// b'..', Decimal as str(Decimal). Datetimes and array fields are NotImplemented.
arrow::Result<std::shared_ptr<const Predicate>> MakeInPseudorandomSplit(std::vector<double> fractions,
                                                                        int subset_index,
                                                                        std::string field);

}  // namespace petastorm
