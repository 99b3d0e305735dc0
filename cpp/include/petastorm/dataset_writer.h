// DatasetWriter: writes a Petastorm dataset (Parquet files plus metadata) without Spark.
//
// Rows are validated against the Unischema, encoded by the fields' codecs (in parallel on
// Arrow's CPU thread pool), and written in row groups cut by encoded bytes. Data files are
// written under <root>/_temporary/<id>/ and moved into <root> on Close(); the metadata file
// <root>/_common_metadata is written last, so a failed or interrupted write never leaves a
// dataset that looks complete.
//
// Thread safety: one thread at a time. Errors: arrow::Status naming the field and row number.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "petastorm/filesystem.h"
#include "petastorm/row.h"
#include "petastorm/schema.h"

namespace petastorm {

struct WriteOptions {
  // Target encoded size of a row group (Petastorm's rowgroup_size_mb * 2^20).
  int64_t rowgroup_size_bytes = 256LL << 20;
  // When > 0, row groups hold this many rows instead (the last may hold fewer).
  int64_t rows_per_rowgroup = 0;
  // When > 0, a new file is started after this many rows / encoded bytes.
  int64_t rows_per_file = 0;
  int64_t bytes_per_file = 0;
  // Replace an existing dataset at the URL; otherwise writing there fails.
  bool overwrite = false;
  // Parquet page compression: "uncompressed", "snappy", "zstd", "gzip", "lz4", "brotli".
  std::string compression = "uncompressed";
  // More key-values for _common_metadata (the Python package adds Petastorm's pickled
  // Unischema, so that the original Petastorm reads the dataset).
  std::vector<std::pair<std::string, std::string>> extra_metadata;
};

class DatasetWriter {
 public:
  // Opens `url` (a local path or any URL of petastorm/filesystem.h, with its storage options).
  // Fails with AlreadyExists when a non-empty directory is there and !options.overwrite.
  static arrow::Result<std::unique_ptr<DatasetWriter>> Open(const std::string& url,
                                                            std::shared_ptr<const Unischema> schema,
                                                            WriteOptions options = {},
                                                            const StorageOptions& storage_options = {});
  // The same at a location already resolved (a filesystem the caller made).
  static arrow::Result<std::unique_ptr<DatasetWriter>> Open(StorageLocation location,
                                                            std::shared_ptr<const Unischema> schema,
                                                            WriteOptions options = {});

  // Aborts the write when Close() was not called or failed.
  ~DatasetWriter();

  // Validates and queues one row. A row that fails validation is not written, and the writer
  // stays usable. Errors from encoding or I/O leave the writer failed: call Abort().
  arrow::Status Write(const NamedRow& row);

  // Writes what is pending, moves the files into place, and commits the metadata.
  arrow::Status Close();

  // Removes every file this writer created; the metadata is never written. Idempotent.
  void Abort();

  int64_t rows_written() const;
  const std::shared_ptr<const Unischema>& schema() const;

  class Impl;

 private:
  explicit DatasetWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace petastorm
