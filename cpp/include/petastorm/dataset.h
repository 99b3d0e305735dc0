// Dataset: what is stored at a URL — its files, row groups and Unischema.
//
// Opening lists the files through Arrow's filesystem layer and reads the metadata; it reads
// no data. Each data file's Parquet footer is parsed at most once per Dataset, when it is
// first needed (or at Open, when the row-group counts are not in the metadata), and kept:
// every later reader of the file (row-group loads, filters, schema inference, row counts)
// uses the kept FileMetaData.
//
// Ownership: a Dataset is shared (shared_ptr<const Dataset>) and logically immutable; the
// footer cache fills in behind const methods. Thread safety: every method may be called from
// any number of threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/scalar.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>

#include "petastorm/filesystem.h"
#include "petastorm/schema.h"

namespace petastorm {

// Keys of the Parquet key-value metadata (docs/dataset-format.md).
inline constexpr std::string_view kUnischemaJsonKey = "petastorm.unischema.json";
inline constexpr std::string_view kRowGroupsPerFileKey = "dataset-toolkit.num_row_groups_per_file.v1";
inline constexpr std::string_view kCommonMetadataFile = "_common_metadata";
// Spark's summary file (parquet.summary.metadata.level=ALL): its row groups name their files.
inline constexpr std::string_view kSummaryMetadataFile = "_metadata";
// Petastorm's pickled Unischema (read through petastorm.etl.legacy, never executed).
inline constexpr std::string_view kPickledUnischemaKey = "dataset-toolkit.unischema.v1";

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
  // `options`: the filesystem's storage options (petastorm/filesystem.h).
  static arrow::Result<std::shared_ptr<const Dataset>> Open(const std::string& url,
                                                            const StorageOptions& options = {});
  // A dataset of the files at several URLs on one filesystem, each a data file or a directory
  // (whose data files are listed; its _common_metadata is not read). The files are sorted and
  // deduplicated; root() is the deepest directory holding every URL, so `key=value`
  // directories below it are partitions. The Unischema, if any, comes from the first file's
  // footer. One URL is the same as Open(url). Errors: Invalid for an empty list or URLs on
  // different filesystems; IOError naming a URL where nothing is.
  static arrow::Result<std::shared_ptr<const Dataset>> Open(const std::vector<std::string>& urls,
                                                            const StorageOptions& options = {});

  // The URL opened; for a list of several, "[url1, url2, ...]".
  const std::string& url() const { return url_; }
  const std::shared_ptr<arrow::fs::FileSystem>& filesystem() const { return fs_; }
  const std::string& root() const { return root_; }
  // Absolute paths on filesystem(), sorted.
  const std::vector<std::string>& files() const { return files_; }
  // Every row group, ordered by file path then position.
  const std::vector<RowGroupRef>& row_groups() const { return row_groups_; }
  // The stored Unischema (the JSON form); nullptr for a Parquet store written without it (a
  // store of pyarrow or Spark, or one of the original Petastorm, whose Unischema is pickled under
  // kPickledUnischemaKey in metadata()).
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }
  // The key-value metadata of _common_metadata (else of _metadata, else of the first data
  // file's footer); nullptr when there is none.
  const std::shared_ptr<const arrow::KeyValueMetadata>& metadata() const { return metadata_; }
  // Hive partition keys, in directory order; empty for an unpartitioned dataset.
  const std::vector<PartitionKey>& partition_keys() const { return partition_keys_; }
  // The index of partition key `name`, or -1.
  int PartitionKeyIndex(std::string_view name) const;
  // The value of partition key `key` for a file, as partition_keys()[key].type.
  arrow::Result<std::shared_ptr<arrow::Scalar>> PartitionValue(int file_index, int key) const;

  // On a filesystem given by the caller (any arrow::fs::FileSystem: a wrapper, a remote one):
  // `paths` are paths on `fs`, each a data file or a directory, as for the URL forms.
  // `url` names the dataset in messages (defaults to the first path).
  static arrow::Result<std::shared_ptr<const Dataset>> Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                            const std::vector<std::string>& paths,
                                                            std::string url = "");

  // The parsed footer of a data file: read on the first call for that file (concurrent first
  // calls for one file read it once), then kept. Errors (IOError naming the file) are not
  // kept: a later call tries again.
  arrow::Result<std::shared_ptr<parquet::FileMetaData>> FileMetadata(int file_index) const;
  // Rows of one row group (an index into row_groups()), from its file's footer.
  arrow::Result<int64_t> RowGroupNumRows(int64_t row_group_index) const;
  // The Arrow schema of a data file, as the Parquet reader converts its footer's schema.
  arrow::Result<std::shared_ptr<arrow::Schema>> FileSchema(int file_index) const;
  // How many data-file footers this Dataset has parsed (each file at most once).
  int64_t footers_read() const { return footers_read_.load(); }

  // The properties every data file is read with: pre-buffering of the column chunks a read
  // selects, nearby byte ranges coalesced into one request (holes up to 8 KiB, requests up to
  // 32 MiB). On the local filesystem the ranges are fetched lazily, as the decoder reaches
  // them (they are slices of the memory map: no copy, no read-ahead to wait for); on other
  // filesystems all ranges of a row group are requested at once, concurrently, which hides
  // the latency of remote storage. No decoding threads of Parquet's own (the reader has its
  // workers).
  const parquet::ArrowReaderProperties& read_properties() const { return read_properties_; }

  // Opens one data file for reading, with its kept footer (read now if it was not yet) and
  // read_properties(). The FileReader is the caller's; it is not thread-safe. Errors name the
  // file.
  // `pre_buffer` false: read_properties() without pre-buffering (the caller pre-buffers what it
  // will read, as the reader's read-ahead does).
  arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenFile(int file_index, bool pre_buffer = true) const;

 private:
  Dataset() = default;
  // Open(fs, paths, url) without naming the dataset in the filesystem's own errors.
  static arrow::Result<std::shared_ptr<const Dataset>> OpenOn(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                              const std::vector<std::string>& paths,
                                                              std::string url);
  // Adds the data files at `path` (a file, or a directory's data files) to files_, and the
  // directory holding them to `dirs`; `url` names it in errors.
  arrow::Status AddFilesAt(const std::string& path, const std::string& url, std::vector<std::string>* dirs);
  // After AddFilesAt: sorts and deduplicates files_, sets root_ to the deepest directory
  // holding all of `dirs`, then indexes.
  arrow::Status FinishFileList(const std::vector<std::string>& dirs);
  // Sets the filesystem-dependent read properties and one footer slot per file.
  void PrepareFiles();
  // Opens files_[file_index] for reading (by its known size: no request for it).
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenRaw(int file_index) const;
  // Parses the footer of files_[file_index] (no caching).
  arrow::Result<std::shared_ptr<parquet::FileMetaData>> ReadFileFooter(int file_index) const;
  arrow::Status ReadPartitions();
  // After files_ is set: partitions, row groups (from `counted_files` when the metadata has
  // them, else from the footers) and the Unischema (from `kv`, else the first footer's).
  arrow::Status Index(const std::vector<std::pair<std::string, int>>& counted_files,
                      std::shared_ptr<const arrow::KeyValueMetadata> kv);
  std::string url_;
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string root_;
  std::vector<std::string> files_;
  std::unordered_map<std::string, int64_t> listed_sizes_;  // while the file list is made
  std::vector<RowGroupRef> row_groups_;
  std::shared_ptr<const Unischema> schema_;
  std::shared_ptr<const arrow::KeyValueMetadata> metadata_;
  std::vector<PartitionKey> partition_keys_;
  std::vector<std::vector<std::string>> partition_values_;  // per file, per key (decoded text)
  parquet::ArrowReaderProperties read_properties_;

  // The parsed footers, one slot per file (dataset.cc); filled behind const methods.
  struct FooterSlot;
  struct FooterSlotDeleter {
    void operator()(FooterSlot* slot) const;
  };
  std::vector<std::unique_ptr<FooterSlot, FooterSlotDeleter>> footers_;  // the vector never changes
  mutable std::atomic<int64_t> footers_read_{0};
};

// Writes <root>/_common_metadata for the Parquet files at `url`: the Unischema JSON, the
// row-group count of every data file (their footers read in parallel) and the `extra`
// key-values (Petastorm's pickled Unischema, say), keeping the other keys of an existing
// _common_metadata (Spark's, row-group indexes). The file is written under a temporary name and
// moved into place. Petastorm's materialize_dataset does this for Spark.
arrow::Status WriteDatasetMetadata(const std::string& url, const Unischema& schema,
                                   const std::vector<std::pair<std::string, std::string>>& extra = {});
arrow::Status WriteDatasetMetadata(const StorageLocation& location, const Unischema& schema,
                                   const std::vector<std::pair<std::string, std::string>>& extra = {});

// Sets key-values of <root>/_common_metadata (an empty value removes a key), keeping its schema
// and other keys; without one, starts from _metadata or the first data file's footer (as
// Petastorm's add_to_dataset_metadata). How row-group indexes are stored. Written under a
// temporary name and moved into place.
arrow::Status UpdateDatasetMetadata(const std::string& url,
                                    const std::vector<std::pair<std::string, std::string>>& values);
arrow::Status UpdateDatasetMetadata(const StorageLocation& location,
                                    const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace petastorm
