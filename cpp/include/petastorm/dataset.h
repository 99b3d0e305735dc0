// Dataset: what is stored at a URL — its files, row groups and Unischema.
//
// Opening lists the files through Arrow's filesystem layer and reads the metadata; it reads
// no data. Ownership: a Dataset is immutable and shared (shared_ptr<const Dataset>); safe
// to use from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <parquet/arrow/reader.h>

#include "petastorm/schema.h"

namespace petastorm {

// Keys of the Parquet key-value metadata (docs/dataset-format.md).
inline constexpr std::string_view kUnischemaJsonKey = "petastorm.unischema.json";
inline constexpr std::string_view kRowGroupsPerFileKey = "dataset-toolkit.num_row_groups_per_file.v1";
inline constexpr std::string_view kCommonMetadataFile = "_common_metadata";

// Resolves a URL or local path to a filesystem and a path on it ("file:///a/b/" -> /a/b).
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUrl(const std::string& url,
                                                                       std::string* path);

struct RowGroupRef {
  int file_index = 0;  // into Dataset::files()
  int row_group = 0;   // position within the file
};

class Dataset {
 public:
  // Errors: IOError naming the URL when nothing is there; Invalid when it holds no Parquet.
  static arrow::Result<std::shared_ptr<const Dataset>> Open(const std::string& url);

  const std::string& url() const { return url_; }
  const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const { return fs_; }
  const std::string& root() const { return root_; }
  // Absolute paths on filesystem(), sorted.
  const std::vector<std::string>& files() const { return files_; }
  // Every row group, ordered by file path then position.
  const std::vector<RowGroupRef>& row_groups() const { return row_groups_; }
  // The stored Unischema; nullptr for a Parquet store written without Petastorm metadata.
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }

  // Opens one data file for reading. Errors name the file.
  arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenFile(int file_index) const;

 private:
  Dataset() = default;
  std::string url_;
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string root_;
  std::vector<std::string> files_;
  std::vector<RowGroupRef> row_groups_;
  std::shared_ptr<const Unischema> schema_;
};

}  // namespace petastorm
