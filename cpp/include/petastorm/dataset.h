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
#include <arrow/scalar.h>
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

// A hive partition key (`key=value` directories): int64 when every value is an integer, else
// string.
struct PartitionKey {
  std::string name;
  std::shared_ptr<arrow::DataType> type;
};

struct RowGroupRef {
  int file_index = 0;  // into Dataset::files()
  int row_group = 0;   // position within the file
};

class Dataset {
 public:
  // Errors: IOError naming the URL when nothing is there; Invalid when it holds no Parquet.
  static arrow::Result<std::shared_ptr<const Dataset>> Open(const std::string& url);
  // A dataset of the files at several URLs on one filesystem, each a data file or a directory
  // (whose data files are listed; its _common_metadata is not read). The files are sorted and
  // deduplicated; root() is the deepest directory holding every URL, so `key=value`
  // directories below it are partitions. The Unischema, if any, comes from the first file's
  // footer. One URL is the same as Open(url). Errors: Invalid for an empty list or URLs on
  // different filesystems; IOError naming a URL where nothing is.
  static arrow::Result<std::shared_ptr<const Dataset>> Open(const std::vector<std::string>& urls);

  // The URL opened; for a list of several, "[url1, url2, ...]".
  const std::string& url() const { return url_; }
  const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const { return fs_; }
  const std::string& root() const { return root_; }
  // Absolute paths on filesystem(), sorted.
  const std::vector<std::string>& files() const { return files_; }
  // Every row group, ordered by file path then position.
  const std::vector<RowGroupRef>& row_groups() const { return row_groups_; }
  // The stored Unischema; nullptr for a Parquet store written without Petastorm metadata.
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }
  // Hive partition keys, in directory order; empty for an unpartitioned dataset.
  const std::vector<PartitionKey>& partition_keys() const { return partition_keys_; }
  // The index of partition key `name`, or -1.
  int PartitionKeyIndex(std::string_view name) const;
  // The value of partition key `key` for a file, as partition_keys()[key].type.
  arrow::Result<std::shared_ptr<arrow::Scalar>> PartitionValue(int file_index, int key) const;

  // Opens one data file for reading. Errors name the file.
  arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenFile(int file_index) const;

 private:
  Dataset() = default;
  arrow::Status ReadPartitions();
  // After files_ is set: partitions, row groups (from `counted_files` when the metadata has
  // them, else from the footers) and the Unischema (from `kv`, else the first footer's).
  arrow::Status Index(const std::vector<std::pair<std::string, int>>& counted_files,
                      std::shared_ptr<const arrow::KeyValueMetadata> kv);
  std::string url_;
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string root_;
  std::vector<std::string> files_;
  std::vector<RowGroupRef> row_groups_;
  std::shared_ptr<const Unischema> schema_;
  std::vector<PartitionKey> partition_keys_;
  std::vector<std::vector<std::string>> partition_values_;  // per file, per key (decoded text)
};

// Writes <root>/_common_metadata for the Parquet files at `url`: the Unischema JSON and the
// row-group count of every data file (read from their footers). The file is written under a
// temporary name and moved into place. Petastorm's materialize_dataset does this for Spark.
arrow::Status WriteDatasetMetadata(const std::string& url, const Unischema& schema);

}  // namespace petastorm
