#include "petastorm/dataset.h"

#include <algorithm>
#include <limits>
#include <cctype>
#include <charconv>
#include <random>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/parallel.h>
#include <arrow/util/thread_pool.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include "dataset/metadata_commit_internal.h"
#include "util/json_internal.h"
#include "util/mutex_internal.h"
#include "util/recycling_pool_internal.h"

namespace petastorm {

namespace {

namespace stdfs = std::filesystem;

// Footer reads in flight at Open on remote storage, when the metadata has no row-group counts.
constexpr size_t kRemoteFooterReads = 32;

// A local walk: real directories first, in sorted order; symlinked directories are queued and
// walked afterwards, each only when it leads to a directory not visited yet.
struct LocalWalk {
  std::set<stdfs::path> visited;  // canonical paths of the directories walked
  std::vector<std::string> files;
  std::vector<stdfs::path> links;

  arrow::Status Dir(const stdfs::path& dir) {
    std::error_code ec;
    std::vector<stdfs::directory_entry> entries;
    for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
    if (ec) return arrow::Status::IOError("Listing '", dir.generic_string(), "': ", ec.message());
    std::sort(entries.begin(), entries.end(),
              [](const stdfs::directory_entry& a, const stdfs::directory_entry& b) { return a.path() < b.path(); });
    for (const stdfs::directory_entry& entry : entries) {
      std::error_code entry_ec;
      const bool is_dir = entry.is_directory(entry_ec);  // follows a link
      if (is_dir && entry.is_symlink(entry_ec)) {
        links.push_back(entry.path());
      } else if (is_dir) {
        const stdfs::path real = stdfs::canonical(entry.path(), entry_ec);
        if (!entry_ec && visited.insert(real).second) ARROW_RETURN_NOT_OK(Dir(entry.path()));
      } else if (entry.is_regular_file(entry_ec)) {
        files.push_back(entry.path().generic_string());
      }
    }
    return arrow::Status::OK();
  }
};

// Every file under `base`, recursively (paths as the filesystem names them). On the local
// filesystem each real directory is walked once, by its real path when it has one: a symlink to
// a directory is followed only when it leads to a directory not reached otherwise (so a link
// back to an ancestor does not list every file 40 times). Other filesystems have no links.
// On other filesystems the listing's sizes go to `sizes` (when given): opening a file by its
// FileInfo then costs no request of its own.
arrow::Result<std::vector<std::string>> ListFiles(arrow::fs::FileSystem& fs, const std::string& base,
                                                  std::unordered_map<std::string, int64_t>* sizes = nullptr) {
  if (fs.type_name() != "local") {
    arrow::fs::FileSelector selector;
    selector.base_dir = base;
    selector.recursive = true;
    ARROW_ASSIGN_OR_RAISE(auto entries, fs.GetFileInfo(selector));
    std::vector<std::string> files;
    for (const auto& entry : entries) {
      if (!entry.IsFile()) continue;
      files.push_back(entry.path());
      if (sizes != nullptr && entry.size() >= 0) (*sizes)[entry.path()] = entry.size();
    }
    return files;
  }
  std::error_code ec;
  LocalWalk walk;
  walk.visited.insert(stdfs::canonical(base, ec));
  if (ec) return arrow::Status::IOError("Listing '", base, "': ", ec.message());
  ARROW_RETURN_NOT_OK(walk.Dir(base));
  for (size_t i = 0; i < walk.links.size(); ++i) {  // links found in links are appended
    const stdfs::path link = walk.links[i];
    const stdfs::path real = stdfs::canonical(link, ec);
    if (ec || !walk.visited.insert(real).second) continue;
    ARROW_RETURN_NOT_OK(walk.Dir(link));
  }
  return std::move(walk.files);
}

// Files that are not data: Spark's _SUCCESS and _temporary, checksums, hidden files.
bool IsDataFile(const std::string& root, const std::string& path) {
  std::string_view rel(path);
  if (rel.substr(0, root.size()) == root) rel.remove_prefix(root.size());
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view part = rel.substr(start, end - start);
    if (!part.empty() && (part[0] == '_' || part[0] == '.')) return false;
    start = end + 1;
  }
  return !(rel.size() >= 4 && rel.substr(rel.size() - 4) == ".crc");
}

arrow::Result<std::shared_ptr<parquet::FileMetaData>> ParseFooter(std::shared_ptr<arrow::io::RandomAccessFile> file,
                                                                  const std::string& path) {
  try {
    auto reader = parquet::ParquetFileReader::Open(file);
    return reader->metadata();
  } catch (const std::exception& e) {
    return arrow::Status::IOError("Cannot read the Parquet footer of '", path, "': ", e.what());
  }
}

arrow::Result<std::shared_ptr<parquet::FileMetaData>> ReadFooter(arrow::fs::FileSystem& fs,
                                                                 const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, fs.OpenInputFile(path));
  return ParseFooter(std::move(file), path);
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The `key=value` directories of a data file's path below the root.
std::vector<std::pair<std::string, std::string>> PartitionsOf(const std::string& root,
                                                              const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rel(path);
  if (rel.substr(0, root.size()) == root) rel.remove_prefix(root.size());
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string_view::npos) break;  // the file name itself
    std::string_view part = rel.substr(start, end - start);
    const size_t eq = part.find('=');
    if (!part.empty() && eq != std::string_view::npos && eq > 0) {
      out.emplace_back(std::string(part.substr(0, eq)), PercentDecode(part.substr(eq + 1)));
    }
    start = end + 1;
  }
  return out;
}

// A path from the dataset metadata must stay below the root.
arrow::Status CheckRelativePath(const std::string& rel, const std::string& where) {
  bool outside = rel.empty() || rel[0] == '/';
  size_t start = 0;
  while (!outside && start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    outside = rel.compare(start, end - start, "..") == 0 && end - start == 2;
    start = end + 1;
  }
  if (outside) {
    return arrow::Status::Invalid("'", where, "' names the data file '", rel,
                                  "', which is not inside the dataset directory");
  }
  return arrow::Status::OK();
}

bool IsInteger(const std::string& text) {
  if (text.empty()) return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

struct Dataset::FooterSlot {
  internal::Mutex mutex;
  std::shared_ptr<parquet::FileMetaData> metadata GUARDED_BY(mutex);
  // The row groups the dataset metadata says the file has (-1: none said); set before the
  // dataset is shared, then only read.
  int claimed_row_groups = -1;
  // The file's size in bytes (-1: not known yet): from the listing, else from the first open
  // (which asked the filesystem); later opens pass it on and cost no request of their own.
  std::atomic<int64_t> size{-1};
};

void Dataset::FooterSlotDeleter::operator()(FooterSlot* slot) const { delete slot; }

int Dataset::PartitionKeyIndex(std::string_view name) const {
  for (size_t i = 0; i < partition_keys_.size(); ++i) {
    if (partition_keys_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

arrow::Result<std::shared_ptr<arrow::Scalar>> Dataset::PartitionValue(int file_index, int key) const {
  const std::string& text = partition_values_.at(static_cast<size_t>(file_index)).at(static_cast<size_t>(key));
  if (partition_keys_[static_cast<size_t>(key)].type->id() == arrow::Type::INT64) {
    int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return arrow::MakeScalar(v);
  }
  return arrow::MakeScalar(text);
}

arrow::Result<std::shared_ptr<const Dataset>> Dataset::Open(const std::string& url, const StorageOptions& options) {
  std::string path;
  ARROW_ASSIGN_OR_RAISE(auto fs, FileSystemFromUrl(url, &path, options));
  return Open(std::move(fs), {path}, url);
}

arrow::Result<std::shared_ptr<const Dataset>> Dataset::Open(const std::vector<std::string>& urls,
                                                            const StorageOptions& options) {
  if (urls.empty()) return arrow::Status::Invalid("dataset url list must be non-empty.");
  if (urls.size() == 1) return Open(urls[0], options);
  std::string joined = "[";
  for (size_t i = 0; i < urls.size(); ++i) joined += (i ? ", " : "") + urls[i];
  joined += "]";
  std::shared_ptr<arrow::fs::FileSystem> fs;
  std::vector<std::string> paths;
  for (const std::string& url : urls) {
    std::string path;
    ARROW_ASSIGN_OR_RAISE(auto url_fs, FileSystemFromUrl(url, &path, options));
    if (!fs) {
      fs = url_fs;
    } else if (!fs->Equals(*url_fs)) {
      return arrow::Status::Invalid("The dataset url list must contain url with the same scheme and netloc. '",
                                    url, "' is on another filesystem than '", urls[0], "'");
    }
    paths.push_back(std::move(path));
  }
  // Messages name the URL the user gave, not the path on the filesystem.
  std::shared_ptr<Dataset> ds(new Dataset());
  ds->url_ = joined;
  ds->fs_ = std::move(fs);
  std::vector<std::string> dirs;
  for (size_t i = 0; i < paths.size(); ++i) {
    ARROW_RETURN_NOT_OK(ds->AddFilesAt(paths[i], urls[i], &dirs));
  }
  ARROW_RETURN_NOT_OK(ds->FinishFileList(dirs));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

arrow::Result<std::shared_ptr<const Dataset>> Dataset::Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                            const std::vector<std::string>& paths,
                                                            std::string url) {
  auto opened = OpenOn(std::move(fs), paths, url);
  // A filesystem's own errors (a remote store out of reach) do not say which dataset.
  const std::string& named = url.empty() && !paths.empty() ? paths[0] : url;
  if (!opened.ok() && !named.empty() && opened.status().message().find(named) == std::string::npos &&
      (paths.empty() || opened.status().message().find(paths[0]) == std::string::npos)) {
    return opened.status().WithMessage("Opening '", named, "': ", opened.status().message());
  }
  return opened;
}

arrow::Result<std::shared_ptr<const Dataset>> Dataset::OpenOn(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                              const std::vector<std::string>& paths,
                                                              std::string url) {
  if (!fs) return arrow::Status::Invalid("Dataset::Open: no filesystem");
  if (paths.empty()) return arrow::Status::Invalid("dataset url list must be non-empty.");
  std::shared_ptr<Dataset> ds(new Dataset());
  ds->fs_ = std::move(fs);
  if (paths.size() > 1) {
    if (url.empty()) {
      url = "[";
      for (size_t i = 0; i < paths.size(); ++i) url += (i ? ", " : "") + paths[i];
      url += "]";
    }
    ds->url_ = url;
    std::vector<std::string> dirs;
    for (const std::string& path : paths) ARROW_RETURN_NOT_OK(ds->AddFilesAt(path, path, &dirs));
    ARROW_RETURN_NOT_OK(ds->FinishFileList(dirs));
    return std::shared_ptr<const Dataset>(std::move(ds));
  }

  ds->url_ = url.empty() ? paths[0] : url;
  ds->root_ = paths[0];
  while (ds->root_.size() > 1 && ds->root_.back() == '/') ds->root_.pop_back();
  arrow::fs::FileSystem& fs_ref = *ds->fs_;
  ARROW_ASSIGN_OR_RAISE(auto info, fs_ref.GetFileInfo(ds->root_));
  if (info.type() == arrow::fs::FileType::NotFound) {
    return arrow::Status::IOError("No dataset at '", ds->url_, "': the path does not exist");
  }

  std::shared_ptr<const arrow::KeyValueMetadata> kv;
  std::vector<std::pair<std::string, int>> counted_files;  // from the metadata
  if (info.type() == arrow::fs::FileType::File) {
    ds->files_.push_back(ds->root_);
  } else {
    const std::string common = ds->root_ + "/" + std::string(kCommonMetadataFile);
    ARROW_ASSIGN_OR_RAISE(auto common_info, fs_ref.GetFileInfo(common));
    if (common_info.type() == arrow::fs::FileType::File) {
      ARROW_ASSIGN_OR_RAISE(auto footer, ReadFooter(fs_ref, common));
      kv = footer->key_value_metadata();
    }
    if (kv) {
      auto counts = kv->Get(std::string(kRowGroupsPerFileKey));
      if (counts.ok()) {
        auto json = internal::Json::Parse(*counts);
        if (!json.ok()) {
          return json.status().WithMessage("'", common, "': the value of ", kRowGroupsPerFileKey, ": ",
                                           json.status().message());
        }
        ARROW_ASSIGN_OR_RAISE(const internal::Json::Object* obj,
                              json->GetObject(kRowGroupsPerFileKey));
        for (const auto& [rel, count] : *obj) {
          ARROW_RETURN_NOT_OK(CheckRelativePath(rel, common));
          ARROW_ASSIGN_OR_RAISE(int64_t n, count.GetInt(rel));
          if (n < 0 || n > std::numeric_limits<int>::max()) {
            return arrow::Status::Invalid("'", common, "': ", kRowGroupsPerFileKey, " says '", rel, "' has ", n,
                                          " row groups");
          }
          counted_files.emplace_back(ds->root_ + "/" + rel, static_cast<int>(n));
        }
      }
    }
    if (counted_files.empty()) {
      // A summary file (Spark's parquet.summary.metadata.level=ALL): its row groups name their files.
      const std::string summary = ds->root_ + "/" + std::string(kSummaryMetadataFile);
      ARROW_ASSIGN_OR_RAISE(auto summary_info, fs_ref.GetFileInfo(summary));
      if (summary_info.type() == arrow::fs::FileType::File) {
        ARROW_ASSIGN_OR_RAISE(auto footer, ReadFooter(fs_ref, summary));
        if (!kv) kv = footer->key_value_metadata();
        std::map<std::string, int> per_file;
        for (int rg = 0; rg < footer->num_row_groups(); ++rg) {
          auto row_group = footer->RowGroup(rg);
          if (row_group->num_columns() == 0) continue;
          const std::string rel = row_group->ColumnChunk(0)->file_path();
          if (rel.empty()) continue;
          ARROW_RETURN_NOT_OK(CheckRelativePath(rel, summary));
          ++per_file[rel];
        }
        for (const auto& [rel, n] : per_file) counted_files.emplace_back(ds->root_ + "/" + rel, n);
      }
    }
    if (!counted_files.empty()) {
      std::sort(counted_files.begin(), counted_files.end());
      for (const auto& [path, _] : counted_files) ds->files_.push_back(path);
    }
    if (counted_files.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto listed, ListFiles(fs_ref, ds->root_, &ds->listed_sizes_));
      for (const std::string& file : listed) {
        if (IsDataFile(ds->root_, file)) ds->files_.push_back(file);
      }
      std::sort(ds->files_.begin(), ds->files_.end());
    }
  }
  if (ds->files_.empty()) {
    return arrow::Status::Invalid("No Parquet data files at '", ds->url_, "'");
  }
  ds->PrepareFiles();
  ARROW_RETURN_NOT_OK(ds->Index(counted_files, kv));
  return std::shared_ptr<const Dataset>(std::move(ds));
}

arrow::Status Dataset::AddFilesAt(const std::string& path, const std::string& url,
                                  std::vector<std::string>* dirs) {
  ARROW_ASSIGN_OR_RAISE(auto info, fs_->GetFileInfo(path));
  if (info.type() == arrow::fs::FileType::NotFound) {
    return arrow::Status::IOError("No dataset at '", url, "': the path does not exist");
  }
  if (info.type() == arrow::fs::FileType::File) {
    files_.push_back(path);
    if (info.size() >= 0) listed_sizes_[path] = info.size();
    const size_t slash = path.rfind('/');
    dirs->push_back(slash == std::string::npos ? std::string() : path.substr(0, slash));
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto listed, ListFiles(*fs_, path, &listed_sizes_));
  size_t found = 0;
  for (const std::string& file : listed) {
    if (IsDataFile(path, file)) {
      files_.push_back(file);
      ++found;
    }
  }
  if (found == 0) return arrow::Status::Invalid("No Parquet data files at '", url, "'");
  dirs->push_back(path);
  return arrow::Status::OK();
}

arrow::Status Dataset::FinishFileList(const std::vector<std::string>& dirs) {
  std::sort(files_.begin(), files_.end());
  files_.erase(std::unique(files_.begin(), files_.end()), files_.end());
  // The common parent, by whole path components.
  std::string root = dirs.front();
  for (const std::string& dir : dirs) {
    size_t common = 0;
    for (size_t i = 0; i <= std::min(root.size(), dir.size()); ++i) {
      const bool root_end = i == root.size() || root[i] == '/';
      const bool dir_end = i == dir.size() || dir[i] == '/';
      if (root_end && dir_end) common = i;
      if (i == root.size() || i == dir.size() || root[i] != dir[i]) break;
    }
    root = root.substr(0, common);
  }
  root_ = root.empty() && !dirs.front().empty() && dirs.front()[0] == '/' ? "/" : root;
  PrepareFiles();
  return Index({}, nullptr);
}

void Dataset::PrepareFiles() {
  footers_.clear();
  footers_.reserve(files_.size());
  for (size_t i = 0; i < files_.size(); ++i) footers_.emplace_back(new FooterSlot());
  for (size_t i = 0; i < files_.size(); ++i) {
    if (auto it = listed_sizes_.find(files_[i]); it != listed_sizes_.end()) footers_[i]->size = it->second;
  }
  listed_sizes_.clear();
  read_properties_ = parquet::ArrowReaderProperties(/*use_threads=*/false);
  read_properties_.set_pre_buffer(true);
  read_properties_.set_cache_options(fs_->type_name() == "local" ? arrow::io::CacheOptions::LazyDefaults()
                                                                 : arrow::io::CacheOptions::Defaults());
}

arrow::Status Dataset::Index(const std::vector<std::pair<std::string, int>>& counted_files,
                             std::shared_ptr<const arrow::KeyValueMetadata> kv) {
  ARROW_RETURN_NOT_OK(ReadPartitions());
  if (!counted_files.empty()) {
    // The metadata's counts are a hint; each file's footer, when it is read (FileMetadata), must
    // agree. A file said to have none is never opened by a reader, so its footer is read now.
    for (size_t f = 0; f < counted_files.size(); ++f) {
      footers_[f]->claimed_row_groups = counted_files[f].second;
      if (counted_files[f].second == 0) ARROW_RETURN_NOT_OK(FileMetadata(static_cast<int>(f)).status());
      for (int rg = 0; rg < counted_files[f].second; ++rg) {
        row_groups_.push_back({static_cast<int>(f), rg});
      }
    }
  } else {
    // Every footer, read in parallel: locally on Arrow's I/O pool; on remote storage, where a
    // footer is one request of a store's latency (tens of ms on S3), with kRemoteFooterReads
    // requests in flight.
    if (files_.size() > 1) {
      std::shared_ptr<arrow::internal::ThreadPool> pool;
      arrow::internal::Executor* executor = arrow::io::default_io_context().executor();
      if (fs_->type_name() != "local") {
        ARROW_ASSIGN_OR_RAISE(pool, arrow::internal::ThreadPool::Make(static_cast<int>(
                                        std::min<size_t>(files_.size(), kRemoteFooterReads))));
        executor = pool.get();
      }
      auto status = arrow::internal::ParallelFor(
          static_cast<int>(files_.size()), [this](int f) { return FileMetadata(f).status(); }, executor);
      if (pool) pool->WaitForIdle();
      ARROW_RETURN_NOT_OK(status);
    }
    for (size_t f = 0; f < files_.size(); ++f) {
      ARROW_ASSIGN_OR_RAISE(auto footer, FileMetadata(static_cast<int>(f)));
      if (!kv && f == 0) kv = footer->key_value_metadata();
      for (int rg = 0; rg < footer->num_row_groups(); ++rg) {
        row_groups_.push_back({static_cast<int>(f), rg});
      }
    }
  }

  metadata_ = kv;
  if (kv) {
    auto json = kv->Get(std::string(kUnischemaJsonKey));
    if (json.ok()) {
      auto schema = Unischema::FromJson(*json);
      if (!schema.ok()) {
        return schema.status().WithMessage("Reading the Unischema of '", url_, "' (the value of ",
                                           kUnischemaJsonKey, " in its metadata): ", schema.status().message());
      }
      schema_ = *schema;
    }
  }
  return arrow::Status::OK();
}

arrow::Status Dataset::ReadPartitions() {
  std::vector<std::vector<std::pair<std::string, std::string>>> per_file;
  for (const auto& path : files_) per_file.push_back(PartitionsOf(root_, path));
  const auto& first = per_file.front();
  for (size_t f = 0; f < files_.size(); ++f) {
    const auto& parts = per_file[f];
    bool same = parts.size() == first.size();
    for (size_t k = 0; same && k < parts.size(); ++k) same = parts[k].first == first[k].first;
    if (!same) {
      return arrow::Status::Invalid("'", files_[f], "' has other partition directories than '",
                                    files_.front(), "': every file needs the same key=value levels");
    }
  }
  for (size_t k = 0; k < first.size(); ++k) {
    bool all_int = true;
    for (const auto& parts : per_file) all_int = all_int && IsInteger(parts[k].second);
    partition_keys_.push_back({first[k].first, all_int ? arrow::int64() : arrow::utf8()});
  }
  for (auto& parts : per_file) {
    std::vector<std::string> values;
    for (auto& [_, value] : parts) values.push_back(std::move(value));
    partition_values_.push_back(std::move(values));
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> Dataset::OpenRaw(int file_index) const {
  const std::string& path = files_[static_cast<size_t>(file_index)];
  std::atomic<int64_t>& known = footers_[static_cast<size_t>(file_index)]->size;
  const int64_t size = known.load();
  if (size < 0) {
    ARROW_ASSIGN_OR_RAISE(auto file, fs_->OpenInputFile(path));
    if (fs_->type_name() != "local") {
      auto got = file->GetSize();
      if (got.ok()) known = *got;
    }
    return file;
  }
  arrow::fs::FileInfo info(path, arrow::fs::FileType::File);
  info.set_size(size);
  return fs_->OpenInputFile(info);
}

arrow::Result<std::shared_ptr<parquet::FileMetaData>> Dataset::ReadFileFooter(int file_index) const {
  ++footers_read_;
  const std::string& path = files_[static_cast<size_t>(file_index)];
  ARROW_ASSIGN_OR_RAISE(auto file, OpenRaw(file_index));
  return ParseFooter(std::move(file), path);
}

arrow::Result<std::shared_ptr<parquet::FileMetaData>> Dataset::FileMetadata(int file_index) const {
  if (file_index < 0 || static_cast<size_t>(file_index) >= files_.size()) {
    return arrow::Status::IndexError("File index ", file_index, " out of range for '", url_, "' (",
                                     files_.size(), " files)");
  }
  FooterSlot& slot = *footers_[static_cast<size_t>(file_index)];
  internal::MutexLock lock(&slot.mutex);
  if (!slot.metadata) {
    ARROW_ASSIGN_OR_RAISE(auto metadata, ReadFileFooter(file_index));
    if (slot.claimed_row_groups >= 0 && metadata->num_row_groups() != slot.claimed_row_groups) {
      return arrow::Status::IOError("'", files_[static_cast<size_t>(file_index)], "' has ",
                                    metadata->num_row_groups(), " row groups in its footer, the dataset metadata (",
                                    kRowGroupsPerFileKey, ") says ", slot.claimed_row_groups,
                                    ": the metadata is stale (petastorm-generate-metadata rewrites it)");
    }
    slot.metadata = std::move(metadata);
  }
  return slot.metadata;
}

arrow::Result<int64_t> Dataset::RowGroupNumRows(int64_t row_group_index) const {
  if (row_group_index < 0 || row_group_index >= static_cast<int64_t>(row_groups_.size())) {
    return arrow::Status::IndexError("row group ", row_group_index, " out of range (", row_groups_.size(),
                                     " row groups)");
  }
  const RowGroupRef ref = row_groups_[static_cast<size_t>(row_group_index)];
  ARROW_ASSIGN_OR_RAISE(auto metadata, FileMetadata(ref.file_index));
  if (ref.row_group >= metadata->num_row_groups()) {
    return arrow::Status::IOError("'", files_[static_cast<size_t>(ref.file_index)], "' row group ",
                                  ref.row_group, ": the file has only ", metadata->num_row_groups(),
                                  " row groups; the dataset metadata is stale");
  }
  return metadata->RowGroup(ref.row_group)->num_rows();
}

arrow::Result<std::shared_ptr<arrow::Schema>> Dataset::FileSchema(int file_index) const {
  ARROW_ASSIGN_OR_RAISE(auto metadata, FileMetadata(file_index));
  std::shared_ptr<arrow::Schema> schema;
  auto status = parquet::arrow::FromParquetSchema(metadata->schema(), read_properties_,
                                                  metadata->key_value_metadata(), &schema);
  if (!status.ok()) {
    return status.WithMessage("Reading the schema of '", files_[static_cast<size_t>(file_index)],
                              "': ", status.message());
  }
  return schema;
}

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> Dataset::OpenFile(int file_index, bool pre_buffer) const {
  ARROW_ASSIGN_OR_RAISE(auto metadata, FileMetadata(file_index));
  const std::string& path = files_[static_cast<size_t>(file_index)];
  auto file = OpenRaw(file_index);
  if (!file.ok()) {
    return file.status().WithMessage("Opening '", path, "': ", file.status().message());
  }
  try {
    parquet::arrow::FileReaderBuilder builder;
    auto opened = builder.Open(*file, parquet::default_reader_properties(), std::move(metadata));
    if (!opened.ok()) return opened.WithMessage("Opening '", path, "': ", opened.message());
    parquet::ArrowReaderProperties properties = read_properties_;
    if (!pre_buffer) properties.set_pre_buffer(false);
    auto reader = builder.memory_pool(arrow::default_memory_pool())->properties(properties)->Build();
    if (!reader.ok()) {
      return reader.status().WithMessage("Opening '", path, "': ", reader.status().message());
    }
    return std::move(*reader);
  } catch (const std::exception& e) {
    return arrow::Status::IOError("Opening '", path, "': ", e.what());
  }
}

}  // namespace petastorm

namespace petastorm {

namespace {

// The data files under `root`, sorted.
arrow::Result<std::vector<std::string>> ListDataFiles(arrow::fs::FileSystem& fs, const std::string& root) {
  ARROW_ASSIGN_OR_RAISE(auto listed, ListFiles(fs, root));
  std::vector<std::string> files;
  for (const std::string& file : listed) {
    if (IsDataFile(root, file)) files.push_back(file);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Runs `commit(temp_dir)`, which writes <root>/_common_metadata through a fresh temporary
// directory, then removes what is left of the temporary directories and Spark's checksum of the
// replaced file (which would no longer match; Petastorm deletes it too).
template <typename Commit>
arrow::Status ReplaceCommonMetadata(arrow::fs::FileSystem& fs, const std::string& root, Commit&& commit) {
  std::random_device rd;
  const std::string temp_dir = root + "/_temporary/petastorm-metadata-" + std::to_string(rd());
  auto status = commit(temp_dir);
  (void)fs.DeleteDir(temp_dir);
  arrow::fs::FileSelector temporary;
  temporary.base_dir = root + "/_temporary";
  auto left = fs.GetFileInfo(temporary);
  if (left.ok() && left->empty()) (void)fs.DeleteDir(temporary.base_dir);
  (void)fs.DeleteFile(root + "/." + std::string(kCommonMetadataFile) + ".crc");
  return status;
}

}  // namespace

arrow::Status WriteDatasetMetadata(const std::string& url, const Unischema& schema,
                                   const std::vector<std::pair<std::string, std::string>>& extra) {
  ARROW_ASSIGN_OR_RAISE(auto location, ResolveUrl(url));
  return WriteDatasetMetadata(location, schema, extra);
}

arrow::Status WriteDatasetMetadata(const StorageLocation& location, const Unischema& schema,
                                   const std::vector<std::pair<std::string, std::string>>& extra) {
  const std::string& url = location.url;
  const std::string& root = location.path;
  const auto& fs = location.filesystem;
  ARROW_ASSIGN_OR_RAISE(auto files, ListDataFiles(*fs, root));
  if (files.empty()) return arrow::Status::Invalid("No Parquet data files at '", url, "'");
  // Every footer, read in parallel on Arrow's I/O pool.
  std::vector<std::shared_ptr<parquet::FileMetaData>> footers(files.size());
  ARROW_RETURN_NOT_OK(arrow::internal::ParallelFor(
      static_cast<int>(files.size()),
      [&](int i) -> arrow::Status {
        ARROW_ASSIGN_OR_RAISE(footers[static_cast<size_t>(i)], ReadFooter(*fs, files[static_cast<size_t>(i)]));
        return arrow::Status::OK();
      },
      arrow::io::default_io_context().executor()));
  std::vector<std::pair<std::string, int>> counts;
  for (size_t i = 0; i < files.size(); ++i) {
    counts.emplace_back(files[i].substr(root.size() + 1), footers[i]->num_row_groups());
  }
  std::shared_ptr<arrow::Schema> file_schema;
  auto status = parquet::arrow::FromParquetSchema(footers[0]->schema(), parquet::ArrowReaderProperties(),
                                                  footers[0]->key_value_metadata(), &file_schema);
  if (!status.ok()) return status.WithMessage("Reading the schema of '", files[0], "': ", status.message());
  file_schema = file_schema->RemoveMetadata();
  // Keep what an existing _common_metadata holds (Spark's keys, row-group indexes).
  const std::string common = root + "/" + std::string(kCommonMetadataFile);
  ARROW_ASSIGN_OR_RAISE(auto common_info, fs->GetFileInfo(common));
  if (common_info.type() == arrow::fs::FileType::File) {
    ARROW_ASSIGN_OR_RAISE(auto previous, ReadFooter(*fs, common));
    if (previous->key_value_metadata()) file_schema = file_schema->WithMetadata(previous->key_value_metadata());
  }
  return ReplaceCommonMetadata(*fs, root, [&](const std::string& temp_dir) {
    return internal::CommitMetadata(*fs, root, temp_dir, *file_schema, schema.ToJson(), counts, extra);
  });
}

arrow::Status UpdateDatasetMetadata(const std::string& url,
                                    const std::vector<std::pair<std::string, std::string>>& values) {
  ARROW_ASSIGN_OR_RAISE(auto location, ResolveUrl(url));
  return UpdateDatasetMetadata(location, values);
}

arrow::Status UpdateDatasetMetadata(const StorageLocation& location,
                                    const std::vector<std::pair<std::string, std::string>>& values) {
  const std::string& url = location.url;
  const std::string& root = location.path;
  const auto& fs = location.filesystem;
  // The schema and key-values to start from: _common_metadata, else _metadata, else the first
  // data file's footer (as Petastorm's add_to_dataset_metadata).
  std::string base;
  for (auto name : {kCommonMetadataFile, kSummaryMetadataFile}) {
    ARROW_ASSIGN_OR_RAISE(auto info, fs->GetFileInfo(root + "/" + std::string(name)));
    if (info.type() == arrow::fs::FileType::File) {
      base = info.path();
      break;
    }
  }
  if (base.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto files, ListDataFiles(*fs, root));
    if (files.empty()) return arrow::Status::Invalid("No Parquet data files at '", url, "'");
    base = files[0];
  }
  ARROW_ASSIGN_OR_RAISE(auto footer, ReadFooter(*fs, base));
  std::shared_ptr<arrow::Schema> schema;
  auto status = parquet::arrow::FromParquetSchema(footer->schema(), parquet::ArrowReaderProperties(),
                                                  footer->key_value_metadata(), &schema);
  if (!status.ok()) return status.WithMessage("Reading the schema of '", base, "': ", status.message());
  schema = schema->RemoveMetadata();
  if (footer->key_value_metadata()) schema = schema->WithMetadata(footer->key_value_metadata());
  return ReplaceCommonMetadata(*fs, root, [&](const std::string& temp_dir) {
    return internal::CommitKeyValues(*fs, root, temp_dir, *schema, values);
  });
}

}  // namespace petastorm
