// Reader: reads a Petastorm dataset row group by row group, decoding codec fields into tensors.
//
// This is the sequential read path; the engine (plan, shards, shuffles, worker threads)
// drives the same RowGroupLoader. Thread safety: Next() from one thread at a time.
// Errors: arrow::Status naming the file, row group and field.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/array.h>
#include <arrow/result.h>

#include "petastorm/dataset.h"
#include "petastorm/decoded_batch.h"
#include "petastorm/schema.h"
#include "petastorm/tensor.h"

namespace petastorm {

// Reads `fields` of one row group and decodes them; decoding runs on Arrow's CPU thread pool.
arrow::Result<std::shared_ptr<const DecodedBatch>> LoadRowGroup(
    const Dataset& dataset, const std::shared_ptr<const Unischema>& fields, RowGroupRef row_group,
    parquet::arrow::FileReader* file);

struct ReaderOptions {
  // Field names to read; empty reads every field.
  std::vector<std::string> fields;
  // Passes over the data; std::nullopt repeats forever.
  std::optional<int64_t> num_epochs = 1;
};

class Reader {
 public:
  // Fails when the dataset has no Unischema (a plain Parquet store), or a field is unknown.
  static arrow::Result<std::unique_ptr<Reader>> Open(std::shared_ptr<const Dataset> dataset,
                                                     ReaderOptions options = {});

  // The schema of what Next() returns.
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }
  // The next row group; nullptr after the last one.
  arrow::Result<std::shared_ptr<const DecodedBatch>> Next();

 private:
  Reader() = default;
  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const Unischema> schema_;
  ReaderOptions options_;
  int64_t epoch_ = 0;
  size_t position_ = 0;
  int open_file_index_ = -1;
  std::unique_ptr<parquet::arrow::FileReader> open_file_;
};

}  // namespace petastorm
