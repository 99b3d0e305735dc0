#include "petastorm/dataset_writer.h"

#include <random>

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/table.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "dataset/metadata_commit_internal.h"
#include "petastorm/dataset.h"
#include "petastorm/row_encoder.h"

namespace petastorm {

namespace {

// Rows are encoded in batches of this many, in parallel.
constexpr int64_t kEncodeBatchRows = 64;

std::string RandomId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

std::string BaseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

arrow::Result<arrow::Compression::type> ParseCompression(const std::string& name) {
  if (name == "uncompressed" || name == "none" || name.empty()) return arrow::Compression::UNCOMPRESSED;
  if (name == "snappy") return arrow::Compression::SNAPPY;
  if (name == "zstd") return arrow::Compression::ZSTD;
  if (name == "gzip") return arrow::Compression::GZIP;
  if (name == "lz4") return arrow::Compression::LZ4;
  if (name == "brotli") return arrow::Compression::BROTLI;
  return arrow::Status::Invalid("Unknown compression '", name,
                                "'; use uncompressed, snappy, zstd, gzip, lz4 or brotli");
}

}  // namespace

class DatasetWriter::Impl {
 public:
  Impl(std::string url, std::shared_ptr<arrow::fs::FileSystem> fs, std::string root,
       std::shared_ptr<const Unischema> schema, WriteOptions options)
      : url_(std::move(url)), fs_(std::move(fs)), root_(std::move(root)),
        schema_(std::move(schema)), options_(std::move(options)), id_(RandomId()) {
    temp_dir_ = root_ + "/_temporary/" + id_;
  }

  arrow::Status Init() {
    ARROW_ASSIGN_OR_RAISE(auto info, fs_->GetFileInfo(root_));
    if (info.type() == arrow::fs::FileType::File) {
      return arrow::Status::AlreadyExists("Cannot write a dataset to '", url_,
                                          "': a file is there");
    }
    if (info.type() == arrow::fs::FileType::Directory) {
      arrow::fs::FileSelector selector;
      selector.base_dir = root_;
      ARROW_ASSIGN_OR_RAISE(auto entries, fs_->GetFileInfo(selector));
      if (!entries.empty()) {
        if (!options_.overwrite) {
          return arrow::Status::AlreadyExists(
              "A dataset already exists at '", url_,
              "'; pass overwrite=True (mode='overwrite') to replace it");
        }
        ARROW_RETURN_NOT_OK(fs_->DeleteDirContents(root_));
      }
    }
    ARROW_RETURN_NOT_OK(fs_->CreateDir(temp_dir_, /*recursive=*/true));
    created_temp_ = true;

    ARROW_ASSIGN_OR_RAISE(auto compression, ParseCompression(options_.compression));
    ARROW_ASSIGN_OR_RAISE(auto arrow_schema, schema_->ToArrowSchema());
    auto kv = std::make_shared<arrow::KeyValueMetadata>();
    kv->Append(std::string(kUnischemaJsonKey), schema_->ToJson());
    arrow_schema_ = arrow_schema->WithMetadata(kv);

    parquet::WriterProperties::Builder props;
    props.compression(compression);
    props.max_row_group_length(std::numeric_limits<int64_t>::max());
    for (const auto& field : schema_->fields()) {
      if (field.is_tensor()) {
        // Encoded blobs: dictionaries and min/max statistics only cost space.
        props.disable_dictionary(field.name);
        props.disable_statistics(field.name);
      }
    }
    writer_props_ = props.build();
    arrow_props_ = parquet::ArrowWriterProperties::Builder().store_schema()->build();

    ARROW_ASSIGN_OR_RAISE(encoder_, RowEncoder::Make(schema_));
    return arrow::Status::OK();
  }

  arrow::Status Write(const NamedRow& named) {
    ARROW_RETURN_NOT_OK(CheckUsable());
    ARROW_RETURN_NOT_OK(encoder_->Append(named, rows_accepted_));
    ++rows_accepted_;
    if (encoder_->queued_rows() >= kEncodeBatchRows) return Fail(EncodeQueued());
    return arrow::Status::OK();
  }

  arrow::Status Close() {
    ARROW_RETURN_NOT_OK(CheckUsable());
    ARROW_RETURN_NOT_OK(Fail(EncodeQueued()));
    ARROW_RETURN_NOT_OK(Fail(FlushRowGroup()));
    // No rows: one data file of the schema and no row groups (as Spark writes an empty
    // DataFrame), so that the dataset opens and reads as 0 rows.
    if (file_count_ == 0) ARROW_RETURN_NOT_OK(Fail(OpenFile()));
    ARROW_RETURN_NOT_OK(Fail(CloseFile()));
    ARROW_RETURN_NOT_OK(Fail(Commit()));
    closed_ = true;
    return arrow::Status::OK();
  }

  void Abort() {
    if (closed_ || aborted_) return;
    aborted_ = true;
    if (file_writer_) {
      (void)file_writer_->Close();
      file_writer_.reset();
    }
    if (sink_) {
      (void)sink_->Close();
      sink_.reset();
    }
    for (const auto& path : moved_files_) (void)fs_->DeleteFile(path);
    if (created_temp_) {
      (void)fs_->DeleteDir(temp_dir_);
      RemoveTemporaryParentIfEmpty();
    }
  }

  bool finished() const { return closed_ || aborted_; }
  int64_t rows_written() const { return rows_written_; }
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }

 private:
  arrow::Status CheckUsable() const {
    if (closed_) return arrow::Status::Invalid("The DatasetWriter for '", url_, "' is closed");
    if (aborted_) return arrow::Status::Invalid("The DatasetWriter for '", url_, "' was aborted");
    if (!failure_.ok()) {
      return arrow::Status::Invalid("The DatasetWriter for '", url_,
                                    "' failed earlier: ", failure_.message());
    }
    return arrow::Status::OK();
  }

  // Remembers an I/O or encoding failure: the writer cannot continue after one.
  arrow::Status Fail(arrow::Status status) {
    if (!status.ok() && failure_.ok()) failure_ = status;
    return status;
  }

  // Encodes the queued rows and cuts row groups and files as they fill.
  arrow::Status EncodeQueued() {
    ARROW_RETURN_NOT_OK(encoder_->EncodeQueued());
    while (encoder_->encoded_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(int64_t row_bytes, encoder_->TakeEncodedRow());
      ++rows_in_group_;
      bytes_in_group_ += row_bytes;
      const bool group_full = options_.rows_per_rowgroup > 0
                                  ? rows_in_group_ >= options_.rows_per_rowgroup
                                  : bytes_in_group_ >= options_.rowgroup_size_bytes;
      const bool file_full =
          (options_.rows_per_file > 0 && rows_in_file_ + rows_in_group_ >= options_.rows_per_file) ||
          (options_.bytes_per_file > 0 &&
           bytes_in_file_ + bytes_in_group_ >= options_.bytes_per_file);
      if (group_full || file_full) ARROW_RETURN_NOT_OK(FlushRowGroup());
      if (file_full) ARROW_RETURN_NOT_OK(CloseFile());
    }
    return arrow::Status::OK();
  }

  arrow::Status OpenFile() {
    char name[64];
    std::snprintf(name, sizeof(name), "part-%05d-%s.parquet", file_count_, id_.c_str());
    current_file_ = temp_dir_ + "/" + name;
    ARROW_ASSIGN_OR_RAISE(sink_, fs_->OpenOutputStream(current_file_));
    ARROW_ASSIGN_OR_RAISE(file_writer_,
                          parquet::arrow::FileWriter::Open(*arrow_schema_, arrow::default_memory_pool(),
                                                           sink_, writer_props_, arrow_props_));
    ++file_count_;
    return arrow::Status::OK();
  }

  arrow::Status FlushRowGroup() {
    if (rows_in_group_ == 0) return arrow::Status::OK();
    if (!file_writer_) ARROW_RETURN_NOT_OK(OpenFile());
    ARROW_ASSIGN_OR_RAISE(auto batch, encoder_->FinishBatch());
    auto table = arrow::Table::Make(arrow_schema_, batch->columns(), rows_in_group_);
    auto status = file_writer_->WriteTable(*table, rows_in_group_);
    if (!status.ok()) {
      return status.WithMessage("Writing a row group to '", current_file_, "': ", status.message());
    }
    ++row_groups_in_file_;
    rows_in_file_ += rows_in_group_;
    bytes_in_file_ += bytes_in_group_;
    rows_written_ += rows_in_group_;
    rows_in_group_ = 0;
    bytes_in_group_ = 0;
    return arrow::Status::OK();
  }

  arrow::Status CloseFile() {
    if (!file_writer_) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(file_writer_->Close());
    ARROW_RETURN_NOT_OK(sink_->Close());
    file_writer_.reset();
    sink_.reset();
    written_files_.emplace_back(current_file_, row_groups_in_file_);
    row_groups_in_file_ = 0;
    rows_in_file_ = 0;
    bytes_in_file_ = 0;
    return arrow::Status::OK();
  }

  arrow::Status Commit() {
    std::vector<std::pair<std::string, int>> counts;
    for (const auto& [temp_path, row_groups] : written_files_) {
      const std::string final_path = root_ + "/" + BaseName(temp_path);
      ARROW_RETURN_NOT_OK(fs_->Move(temp_path, final_path));
      moved_files_.push_back(final_path);
      counts.emplace_back(BaseName(temp_path), row_groups);
    }
    // The metadata goes last: its presence is what makes the dataset complete.
    ARROW_RETURN_NOT_OK(internal::CommitMetadata(*fs_, root_, temp_dir_, *arrow_schema_,
                                                 schema_->ToJson(), counts, options_.extra_metadata));
    (void)fs_->DeleteDir(temp_dir_);
    RemoveTemporaryParentIfEmpty();
    return arrow::Status::OK();
  }

  void RemoveTemporaryParentIfEmpty() {
    arrow::fs::FileSelector selector;
    selector.base_dir = root_ + "/_temporary";
    auto entries = fs_->GetFileInfo(selector);
    if (entries.ok() && entries->empty()) (void)fs_->DeleteDir(selector.base_dir);
  }

  const std::string url_;
  const std::shared_ptr<arrow::fs::FileSystem> fs_;
  const std::string root_;
  const std::shared_ptr<const Unischema> schema_;
  const WriteOptions options_;
  const std::string id_;
  std::string temp_dir_;
  bool created_temp_ = false;

  std::shared_ptr<arrow::Schema> arrow_schema_;
  std::shared_ptr<parquet::WriterProperties> writer_props_;
  std::shared_ptr<parquet::ArrowWriterProperties> arrow_props_;
  std::unique_ptr<RowEncoder> encoder_;

  int64_t rows_accepted_ = 0;
  int64_t rows_written_ = 0;
  int64_t rows_in_group_ = 0;
  int64_t bytes_in_group_ = 0;

  std::shared_ptr<arrow::io::OutputStream> sink_;
  std::unique_ptr<parquet::arrow::FileWriter> file_writer_;
  std::string current_file_;
  int file_count_ = 0;
  int row_groups_in_file_ = 0;
  int64_t rows_in_file_ = 0;
  int64_t bytes_in_file_ = 0;
  std::vector<std::pair<std::string, int>> written_files_;
  std::vector<std::string> moved_files_;

  arrow::Status failure_;
  bool closed_ = false;
  bool aborted_ = false;
};

arrow::Result<std::unique_ptr<DatasetWriter>> DatasetWriter::Open(
    const std::string& url, std::shared_ptr<const Unischema> schema, WriteOptions options,
    const StorageOptions& storage_options) {
  ARROW_ASSIGN_OR_RAISE(auto location, ResolveUrl(url, storage_options));
  return Open(std::move(location), std::move(schema), std::move(options));
}

arrow::Result<std::unique_ptr<DatasetWriter>> DatasetWriter::Open(
    StorageLocation location, std::shared_ptr<const Unischema> schema, WriteOptions options) {
  if (!schema) return arrow::Status::Invalid("DatasetWriter needs a schema");
  if (options.rowgroup_size_bytes <= 0 && options.rows_per_rowgroup <= 0) {
    return arrow::Status::Invalid("rowgroup_size_mb must be positive");
  }
  if (!location.filesystem) return arrow::Status::Invalid("DatasetWriter needs a filesystem");
  const std::string url = location.url;
  auto impl = std::make_unique<Impl>(location.url, std::move(location.filesystem), std::move(location.path),
                                     std::move(schema),
                                     std::move(options));
  auto status = impl->Init();
  if (!status.ok()) {
    impl->Abort();
    // A filesystem's own errors (a missing bucket) do not say which dataset.
    if (status.message().find(url) == std::string::npos) {
      return status.WithMessage("Writing '", url, "': ", status.message());
    }
    return status;
  }
  return std::unique_ptr<DatasetWriter>(new DatasetWriter(std::move(impl)));
}

DatasetWriter::DatasetWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DatasetWriter::~DatasetWriter() {
  if (impl_ && !impl_->finished()) impl_->Abort();
}

arrow::Status DatasetWriter::Write(const NamedRow& row) { return impl_->Write(row); }

arrow::Status DatasetWriter::Close() {
  auto status = impl_->Close();
  if (!status.ok()) impl_->Abort();
  return status;
}

void DatasetWriter::Abort() { impl_->Abort(); }

int64_t DatasetWriter::rows_written() const { return impl_->rows_written(); }

const std::shared_ptr<const Unischema>& DatasetWriter::schema() const { return impl_->schema(); }

}  // namespace petastorm
