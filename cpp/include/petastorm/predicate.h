// Row predicates: which rows of a row group to keep (Petastorm's petastorm.predicates).
//
// A predicate names the fields it reads; the reader loads and decodes those first, evaluates
// the predicate, and reads the other fields only for row groups with matching rows.
// Predicates are immutable and thread-safe: Evaluate may run on several threads at once.
// Errors: arrow::Status naming the predicate and field.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "petastorm/decoded_batch.h"
#include "petastorm/row.h"

namespace petastorm {

class Predicate {
 public:
  virtual ~Predicate() = default;
  // The fields Evaluate reads.
  virtual std::vector<std::string> fields() const = 0;
  // One flag per row of `batch`, which holds at least fields() (decoded).
  virtual arrow::Result<std::vector<bool>> Evaluate(const DecodedBatch& batch) const = 0;
  virtual std::string ToString() const = 0;
};

// Rows whose `field` value equals one of `values` (scalar fields).
arrow::Result<std::shared_ptr<const Predicate>> MakeInSet(std::vector<Value> values, std::string field);
// Rows whose array `field` shares at least one element with `values`.
arrow::Result<std::shared_ptr<const Predicate>> MakeInIntersection(std::vector<Value> values,
                                                                   std::string field);
// Rows the inner predicate rejects.
std::shared_ptr<const Predicate> MakeInNegate(std::shared_ptr<const Predicate> predicate);

enum class ReduceOp { kAll, kAny };
// Rows accepted by all (kAll) or any (kAny) of the predicates.
arrow::Result<std::shared_ptr<const Predicate>> MakeInReduce(
    std::vector<std::shared_ptr<const Predicate>> predicates, ReduceOp op);

// Petastorm's in_pseudorandom_split: a row belongs to subset `subset_index` of the split into
// `fractions` when int(md5(str(value)), 16) % (2**63 - 1) falls in that subset's range, with
// str(value) formatted as Python formats the value.
arrow::Result<std::shared_ptr<const Predicate>> MakeInPseudorandomSplit(std::vector<double> fractions,
                                                                        int subset_index,
                                                                        std::string field);

}  // namespace petastorm
