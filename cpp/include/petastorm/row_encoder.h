// RowEncoder: rows of a Unischema into Arrow record batches of its stored columns.
//
// Rows are validated when appended (the error names the row number and the field; a rejected
// row is not queued), encoded by the fields' codecs in parallel on Arrow's CPU thread pool, and
// built into columns of the schema's storage types (codec fields as binary, scalars natively).
// The DatasetWriter writes the batches to Parquet; Spark generation hands them to Spark
// (mapInArrow), so that encoding is not one Python call per field per row.
//
// Thread safety: one thread at a time. Errors: arrow::Status; after an encoding error the
// queued rows are dropped and the encoder is usable again (rows already taken stay in the batch).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type.h>

#include "petastorm/row.h"
#include "petastorm/schema.h"

namespace petastorm {

class RowEncoder {
 public:
  static arrow::Result<std::unique_ptr<RowEncoder>> Make(std::shared_ptr<const Unischema> schema);
  ~RowEncoder();

  // Validates `row` and queues it. `row_number` names it in errors.
  arrow::Status Append(const NamedRow& row, int64_t row_number);
  // Rows appended and not yet encoded.
  int64_t queued_rows() const;

  // Encodes every queued row (codecs in parallel). Their cells are then taken one row at a
  // time by TakeEncodedRow().
  arrow::Status EncodeQueued();
  // Encoded rows not yet taken.
  int64_t encoded_rows() const;
  // Moves the next encoded row into the batch being built; returns its size in bytes (encoded
  // blobs plus strings; 8 per other scalar). Invalid when encoded_rows() == 0.
  arrow::Result<int64_t> TakeEncodedRow();

  // Rows in the batch being built.
  int64_t batch_rows() const;
  // The batch of the rows taken so far (possibly 0 rows); the next batch starts empty.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> FinishBatch();

  // Appends, encodes and finishes `rows` in one call (rows numbered from `first_row_number`).
  // On an error none of them is kept.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> EncodeRows(const std::vector<NamedRow>& rows,
                                                                int64_t first_row_number = 0);

  // The batches' schema: the Unischema's storage columns, without metadata.
  const std::shared_ptr<arrow::Schema>& arrow_schema() const;
  const std::shared_ptr<const Unischema>& schema() const;

 private:
  class Impl;
  explicit RowEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace petastorm
