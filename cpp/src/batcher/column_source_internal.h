// The batcher's view of one field's rows in one input: where the numbers are and how they are
// laid out, decided by the numpy rule (numpy_column.h). Internal to the batcher.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/array.h>
#include <arrow/result.h>

#include "convert/element_copy_internal.h"
#include "petastorm/numpy_column.h"
#include "petastorm/tensor.h"

namespace petastorm::internal {

// How one input lays out one field's rows.
enum class SourceKind {
  kStacked,  // numbers (rows, *row_shape), row-major: a Tensor, or an Arrow column's numpy form
  kList,     // ragged rows of numbers: row r is elements [offsets[r], offsets[r+1]) * row_shape
  kTensors,  // one Tensor per row
  kObject,   // any other Arrow array, batched as an Arrow array
};

struct Source {
  SourceKind kind = SourceKind::kObject;
  std::shared_ptr<arrow::Array> array;  // the Arrow column (keeps its buffers alive)
  Elements elements;                    // numeric Arrow kinds and kStacked: the values
  std::vector<int64_t> row_shape;       // fixed-shape kinds; kList: the shape inside a list item
  int64_t row_elements = 1;             // product of row_shape
  std::optional<Tensor> stacked;        // kStacked, kList: the values (keeps the buffer alive)
  std::shared_ptr<const NumpyColumn> numpy;  // kList: the numpy form holding `offsets`
  const int64_t* offsets = nullptr;     // kList
  std::vector<std::optional<Tensor>> tensors;  // kTensors
  bool numeric_tensors = false;                // kTensors: whether the element type is numeric

  bool numeric() const {
    return kind == SourceKind::kTensors ? numeric_tensors : kind != SourceKind::kObject;
  }

  int64_t ListBegin(int64_t row) const { return offsets[row]; }
  int64_t ListLength(int64_t row) const { return ListBegin(row + 1) - ListBegin(row); }
};

struct Chunk {
  int64_t num_rows = 0;
  std::vector<Source> sources;  // in field order
  bool has_tensors = false;     // some source is kTensors
  // Batches of consecutive rows may be views of this input's buffers (a decoded row group:
  // its buffers are the batcher's alone). Not for AddColumns' inputs, which the caller keeps.
  bool lends_buffers = false;
  // Stands for an input not read yet (Batcher::AddPlaceholder): num_rows only, no sources.
  bool placeholder = false;
};

// "Pytorch does not support nullable fields. Found None in <name>" (Petastorm's TypeError text).
std::string NullMessage(const std::string& name);

// The source of an Arrow column whose values are declared as `declared` (the field's numpy
// type; std::nullopt: as the Arrow type says): numbers (and, when the field declares a number,
// the integer storage of dates and times) become kStacked, ragged lists of numbers kList,
// everything else kObject. TypeError for nulls in numbers (floats: NaN when
// float_nulls_as_nan). `keep_arrow`: kObject whatever the type (a collated field, collate.h,
// which reads the Arrow array itself); dictionaries are decoded either way.
arrow::Result<Source> ArraySource(const std::string& name, std::shared_ptr<arrow::Array> array,
                                  std::optional<ScalarType> declared, bool float_nulls_as_nan,
                                  bool keep_arrow = false);
// One tensor per row; numeric tensors must not be null.
arrow::Result<Source> TensorsSource(const std::string& name, std::vector<std::optional<Tensor>> tensors,
                                    std::optional<ScalarType> declared);
// Numeric rows stacked along the first dimension, (num_rows, *row_shape).
arrow::Result<Source> StackedSource(const std::string& name, Tensor stacked, int64_t num_rows);

}  // namespace petastorm::internal
