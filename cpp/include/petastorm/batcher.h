// Batcher: turns decoded row groups into training batches of exactly batch_size rows, each
// numeric field one contiguous row-major buffer (rows, *shape) that a framework takes as a
// tensor without copying; optionally through a seeded shuffling buffer.
//
// What a field becomes (decided by the first input that holds it):
//   - numeric fields (bool, integers, floats, complex; scalars, fixed-size or variable lists,
//     tensors of a codec): a dense Tensor (rows, *row_shape) when the batch's rows share a
//     shape, else one Tensor per row (a variable-shape field whose rows differ);
//   - tensors of other element types (strings, bytes, datetimes): one Tensor per row;
//   - every other column (strings, decimals, dates, structs, ...): an Arrow array of the rows;
//   - a field named in BatcherOptions::collate: the tensors of its collate policy (collate.h).
//
// Ownership: the Batcher keeps the inputs it still needs (shared buffers, no copies); a TrainingBatch
// owns its buffers (shared_ptr) and outlives the Batcher. A batch that views a row group's buffer
// keeps that whole buffer alive.
// Thread safety: none; call from one thread at a time. Nothing here touches Python.
// Errors: TypeError naming the field for a null in a numeric field (but see float_nulls_as_nan)
// and for inputs whose kind
// or element type cannot be converted to the field's; Invalid for bad options and for
// inputs that lack a field or disagree on the row count.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/array.h>
#include <arrow/result.h>

#include "petastorm/collate.h"
#include "petastorm/decoded_row_group.h"
#include "petastorm/tensor.h"

namespace petastorm {

struct BatcherOptions {
  // Rows per batch (> 0). Every batch has exactly this many rows but the last, which has the
  // rest (and is dropped when drop_last).
  int64_t batch_size = 1;
  bool drop_last = false;
  // Rows of the shuffling buffer: Petastorm's shuffling_queue_capacity; 0 keeps input order.
  // A batch is drawn uniformly at random from the buffered rows once the buffer holds
  // capacity - 1 + batch_size rows, so that capacity - 1 rows stay behind (Petastorm's
  // BatchedRandomShufflingBuffer(capacity - 1 + batch_size, min_after_retrieve=capacity - 1));
  // after Finish() the buffer is drained. The buffer holds row references; a decoded tensor
  // stays alive while its row is buffered, an Arrow column while any of its rows is.
  int64_t shuffling_queue_capacity = 0;
  // Seeds the shuffling buffer: the same inputs and seed give the same batches, everywhere.
  uint64_t seed = 0;
  // Petastorm's PyTorch promotions of numeric fields: uint16 -> int32, uint32 -> int64,
  // bool -> uint8 (_sanitize_pytorch_types).
  bool promote_for_torch = false;
  // Nulls in float scalar fields become NaN (as in make_batch_reader's numpy columns) instead
  // of an error.
  bool float_nulls_as_nan = false;
  // Fields whose batch columns are collated (collate.h) into tensors: (field, policy). Invalid
  // for a field not batched or named twice, and for bad options. promote_for_torch applies.
  std::vector<std::pair<std::string, CollateOptions>> collate;
};

// The rows of one field handed to Batcher::AddColumns: exactly one of the three is used.
struct ColumnInput {
  enum class Kind { kStacked, kArray, kTensors };
  Kind kind = Kind::kStacked;
  // kStacked: numeric rows stacked along the first dimension, row-major: (rows, *row_shape).
  std::optional<Tensor> stacked;
  // kArray: one element per row.
  std::shared_ptr<arrow::Array> array;
  // kTensors: one tensor per row; std::nullopt for a null.
  std::vector<std::optional<Tensor>> tensors;
};

// One field of a TrainingBatch; `kind` says which member holds the rows.
struct BatchColumn {
  enum class Kind { kDense, kTensors, kArray, kCollated };
  Kind kind = Kind::kDense;
  std::optional<Tensor> dense;                  // kDense: (rows, *row_shape), row-major
  std::vector<std::optional<Tensor>> tensors;   // kTensors: one per row (std::nullopt: null)
  std::shared_ptr<arrow::Array> array;          // kArray: one element per row
  std::vector<CollatedPart> parts;              // kCollated: the field's collate policy's tensors
};

struct TrainingBatch {
  int64_t num_rows = 0;
  std::vector<BatchColumn> columns;  // in the Batcher's field order
};

class Batcher {
 public:
  // Batches the fields `field_names`, in that order. Invalid for an empty or repeated name
  // and for bad options.
  static arrow::Result<std::unique_ptr<Batcher>> Make(std::vector<std::string> field_names,
                                                      BatcherOptions options);
  ~Batcher();

  const std::vector<std::string>& field_names() const;
  const BatcherOptions& options() const;

  // Hands over the rows of a decoded row group (it must hold every field; others are
  // ignored). Shares its buffers; copies nothing. Invalid after Finish().
  arrow::Status Add(std::shared_ptr<const DecodedRowGroup> batch);
  // Hands over `num_rows` rows as columns in field_names() order. Invalid after Finish().
  arrow::Status AddColumns(int64_t num_rows, std::vector<ColumnInput> columns);
  // No more input: the rows still held come out by Next() (the last batch partial unless
  // drop_last).
  void Finish();

  // The next batch; nullptr when more input is needed first or, after Finish(), at the end.
  // A numeric field whose rows are consecutive rows of one Add()ed row group, already of the
  // batch's type (no shuffling, no promotion, not bits), is a view of that row group's buffer
  // (no copy; mutable when the buffer is); other fields are filled (memcpy, or an element-wise
  // conversion). AddColumns' inputs are always copied: their caller keeps them.
  arrow::Result<std::unique_ptr<TrainingBatch>> Next();

  // Resuming a loader from counters, without its data: AddPlaceholder() stands for an input
  // of `num_rows` rows not read yet (numbered 0, 1, ... in call order; Invalid after Finish());
  // Skip() draws the next batch's rows as Next() would and drops them (true when it drew a
  // batch): the draws depend on row counts only, so placeholders give the same ones.
  // LivePlaceholders() lists the placeholders whose rows are still held, and Fill() puts in
  // the real input of one (Invalid when its row count differs). Next() returns Invalid for a
  // batch that would take rows of an unfilled placeholder.
  arrow::Status AddPlaceholder(int64_t num_rows);
  bool Skip();
  std::vector<int64_t> LivePlaceholders() const;
  // The rows still held of each unfilled placeholder that holds some: (placeholder, its row
  // numbers ascending), by placeholder (what an elastic resume hands to other shards).
  std::vector<std::pair<int64_t, std::vector<int64_t>>> HeldPlaceholderRows() const;
  arrow::Status Fill(int64_t placeholder, std::shared_ptr<const DecodedRowGroup> batch);

  // Rows handed over and not yet returned (waiting or in the shuffling buffer).
  int64_t rows_held() const;
  bool finished() const;
  // Nanoseconds spent in the shuffling buffer so far (moving rows in, drawing them, letting
  // them go), a part of the time of Next() and Skip(); 0 without one.
  int64_t shuffle_nanos() const;

  class Impl;

 private:
  explicit Batcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace petastorm
