// Schema inference: a Unischema for a Parquet store written without Petastorm metadata
// (pyarrow, Spark, DuckDB, ...), so that make_batch_reader reads it through the same reader
// engine as a Petastorm dataset. The rule for every Arrow type is in docs/types.md.
//
// Thread safety: pure functions of their arguments. Errors: NotImplemented naming the column
// and its type for a column that cannot be delivered; IOError naming the file whose footer
// cannot be read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "petastorm/dataset.h"
#include "petastorm/numpy_column.h"
#include "petastorm/schema.h"

namespace petastorm {

// The numpy element type and shape of one stored column: numpy_column.h's NumpyTypeOf, the
// one rule (docs/types.md).
using InferredType = NumpyType;
inline arrow::Result<InferredType> InferFieldType(const std::string& name, const arrow::DataType& type) {
  return NumpyTypeOf(name, type);
}


// A column the inference leaves out, and why.
struct UnsupportedColumn {
  std::string name;
  std::string reason;
};

// The inferred schema of `dataset`: its hive partition keys first (int64 -> int64, string ->
// str), then the columns of its first data file in file order. Named "inferred_schema"; no
// codecs; Field::arrow_type holds each column's stored Arrow type (as the Parquet reader
// returns it: date64 reads back as date32, ...); nullable as stored (partition keys are not
// nullable).
// With `unsupported` null, a column that cannot be delivered fails the call (NotImplemented
// naming it); otherwise such columns are left out of the schema and listed there, so that a
// caller can fail only when one of them is asked for.
// Invalid when a partition key is also a column of the files, or names repeat.
arrow::Result<std::shared_ptr<const Unischema>> InferUnischema(
    const Dataset& dataset, std::vector<UnsupportedColumn>* unsupported = nullptr);

}  // namespace petastorm
