// Row-group caches: the null cache and the local-disk cache.
//
// Local-disk entry file "<16 hex digits of FNV-1a(key)>.pscache":
//
//   [Arrow IPC stream: schema + exactly one record batch + end-of-stream marker]
//   [trailer, 24 bytes, little-endian: u64 payload size | u32 CRC-32 of the payload |
//                                      u32 format version | 8 bytes kMagic]
//
// The IPC schema metadata holds the full key, the Unischema JSON of the fields, the row count
// and the batch's RowGroupRef; a different key (a hash collision) or schema makes the entry a
// miss. Each Unischema field is one Arrow column of the same name, tagged in its field metadata:
//   "values":  DecodedColumn::values as it is (scalar fields; codec fields loaded undecoded);
//   "tensors": struct<data: large_binary, shape: list<int64>, dtype: utf8, fortran: bool>, one
//              row per tensor, null for a null tensor. `data` holds the tensor bytes padded with
//              zeros to a multiple of 8, so that every tensor read back starts 8-byte aligned in
//              the file buffer and can be a zero-copy slice of it.
//
// Concurrency: entries are written to "<name>.tmp.<pid>.<n>" in the same directory and renamed
// into place, so readers (threads or processes) see a whole entry or none. Recency is the
// file's mtime, set explicitly from a per-process strictly increasing clock so that the order
// of one process's stores and hits is exact even on coarse-timestamp filesystems.
#include "petastorm/row_group_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <arrow/array/array_binary.h>
#include <arrow/array/array_nested.h>
#include <arrow/array/array_primitive.h>
#include <arrow/buffer.h>
#include <arrow/builder.h>
#include <arrow/io/interfaces.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/key_value_metadata.h>

#include "petastorm/codec.h"

namespace petastorm {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEntrySuffix = ".pscache";
constexpr std::string_view kTempInfix = ".pscache.tmp.";
constexpr char kMagic[8] = {'P', 'S', 'T', 'M', 'C', 'A', 'C', 'H'};
constexpr uint32_t kFormatVersion = 1;
constexpr int64_t kTrailerSize = 8 + 4 + 4 + 8;
constexpr int64_t kTensorAlignment = 8;
// A temporary file this old was left by a writer that died; removed during eviction scans.
constexpr auto kStaleTempAge = std::chrono::hours(1);

constexpr std::string_view kMetaFormat = "petastorm.cache.format";
constexpr std::string_view kMetaKey = "petastorm.cache.key";
constexpr std::string_view kMetaSchema = "petastorm.cache.schema";
constexpr std::string_view kMetaNumRows = "petastorm.cache.num_rows";
constexpr std::string_view kMetaSource = "petastorm.cache.source";
constexpr std::string_view kMetaColumn = "petastorm.cache.column";
constexpr std::string_view kColumnValues = "values";
constexpr std::string_view kColumnTensors = "tensors";

// ---- small helpers -------------------------------------------------------------------------

uint64_t Fnv1a64(std::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string EntryName(const std::string& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hash = Fnv1a64(key);
  std::string name(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) name[static_cast<size_t>(i)] = kHex[hash & 0xf];
  return name + std::string(kEntrySuffix);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

uint32_t Crc32(uint32_t crc, const uint8_t* data, int64_t size) {
  uLong value = crc;
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<int64_t>(size, 1 << 30));
    value = crc32(value, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(value);
}

void PutLE(uint8_t* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t GetLE(const uint8_t* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Nanoseconds since the epoch, strictly increasing within the process.
int64_t NextStamp() {
  static std::atomic<int64_t> last{0};
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t prev = last.load(std::memory_order_relaxed);
  int64_t next;
  do {
    next = std::max(now, prev + 1);
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return next;
}

timespec ToTimespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  // close()'s result, for writers that must know the data reached the file.
  int Reset() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

arrow::Status WriteAll(int fd, const uint8_t* data, int64_t size, const std::string& path) {
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(size, 1 << 30));
    const ssize_t n = ::write(fd, data, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return arrow::Status::IOError("Cannot write '", path, "': ", ErrnoText(errno));
    }
    data += n;
    size -= n;
  }
  return arrow::Status::OK();
}

// An OutputStream over a file descriptor that buffers small writes and checksums everything.
class ChecksummingFileSink : public arrow::io::OutputStream {
 public:
  ChecksummingFileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    buffer_.reserve(kBufferSize);
  }

  arrow::Status Write(const void* data, int64_t nbytes) override {
    const auto* bytes = static_cast<const uint8_t*>(data);
    crc_ = Crc32(crc_, bytes, nbytes);
    position_ += nbytes;
    if (static_cast<int64_t>(buffer_.size()) + nbytes <= kBufferSize) {
      buffer_.insert(buffer_.end(), bytes, bytes + nbytes);
      return arrow::Status::OK();
    }
    ARROW_RETURN_NOT_OK(Flush());
    if (nbytes < kBufferSize) {
      buffer_.insert(buffer_.end(), bytes, bytes + nbytes);
      return arrow::Status::OK();
    }
    return WriteAll(fd_, bytes, nbytes, path_);
  }
  arrow::Status Flush() override {
    auto status = WriteAll(fd_, buffer_.data(), static_cast<int64_t>(buffer_.size()), path_);
    buffer_.clear();
    return status;
  }
  arrow::Status Close() override {
    closed_ = true;
    return Flush();
  }
  arrow::Result<int64_t> Tell() const override { return position_; }
  bool closed() const override { return closed_; }

  uint32_t crc() const { return crc_; }

 private:
  static constexpr int64_t kBufferSize = 1 << 20;
  int fd_;
  std::string path_;
  std::vector<uint8_t> buffer_;
  uint32_t crc_ = 0;
  int64_t position_ = 0;
  bool closed_ = false;
};

const std::shared_ptr<arrow::DataType>& TensorStructType() {
  static const auto type = arrow::struct_({
      arrow::field("data", arrow::large_binary(), /*nullable=*/false),
      arrow::field("shape", arrow::list(arrow::field("item", arrow::int64(), false)), false),
      arrow::field("dtype", arrow::utf8(), false),
      arrow::field("fortran", arrow::boolean(), false),
  });
  return type;
}

bool IsTensorField(const Field& field) { return field.is_tensor(); }

// How a column of a loaded batch is stored.
bool StoresTensors(const Field& field, const DecodedColumn& column, int64_t num_rows) {
  if (!IsTensorField(field)) return false;
  if (static_cast<int64_t>(column.tensors.size()) != num_rows) return false;
  return num_rows > 0 || column.values == nullptr;
}

// ---- serialization -------------------------------------------------------------------------

arrow::Result<std::shared_ptr<arrow::Array>> TensorsToArray(
    const Field& field, const std::vector<std::optional<Tensor>>& tensors) {
  const int64_t n = static_cast<int64_t>(tensors.size());
  int64_t data_size = 0;
  for (const auto& t : tensors) {
    if (!t) continue;
    ARROW_RETURN_NOT_OK(t->Validate());
    data_size += arrow::bit_util::RoundUp(t->nbytes(), kTensorAlignment);
  }
  ARROW_ASSIGN_OR_RAISE(auto data_offsets, arrow::AllocateBuffer((n + 1) * sizeof(int64_t)));
  ARROW_ASSIGN_OR_RAISE(auto data_values, arrow::AllocateBuffer(data_size));
  ARROW_ASSIGN_OR_RAISE(auto validity, arrow::AllocateEmptyBitmap(n));
  auto* offsets = reinterpret_cast<int64_t*>(data_offsets->mutable_data());
  uint8_t* out = data_values->mutable_data();
  arrow::ListBuilder shapes(arrow::default_memory_pool(),
                            std::make_shared<arrow::Int64Builder>(),
                            TensorStructType()->field(1)->type());
  auto* shape_dims = static_cast<arrow::Int64Builder*>(shapes.value_builder());
  arrow::StringBuilder dtypes;
  arrow::BooleanBuilder fortran;
  int64_t null_count = 0;
  int64_t position = 0;
  std::string last_dtype;
  for (int64_t i = 0; i < n; ++i) {
    offsets[i] = position;
    const auto& t = tensors[static_cast<size_t>(i)];
    ARROW_RETURN_NOT_OK(shapes.Append());
    if (!t) {
      ++null_count;
      ARROW_RETURN_NOT_OK(dtypes.Append(""));
      ARROW_RETURN_NOT_OK(fortran.Append(false));
      continue;
    }
    arrow::bit_util::SetBit(validity->mutable_data(), i);
    const int64_t nbytes = t->nbytes();
    const int64_t padded = arrow::bit_util::RoundUp(nbytes, kTensorAlignment);
    if (nbytes > 0) std::memcpy(out + position, t->data->data(), static_cast<size_t>(nbytes));
    std::memset(out + position + nbytes, 0, static_cast<size_t>(padded - nbytes));
    position += padded;
    ARROW_RETURN_NOT_OK(shape_dims->AppendValues(t->shape));
    std::string dtype = t->element.TypeString();
    if (dtype != last_dtype) {
      // Only what reads back the same can be stored.
      auto parsed = ElementType::FromTypeString(dtype);
      if (!parsed.ok() || !(*parsed == t->element)) {
        return arrow::Status::NotImplemented("Field '", field.name, "': element type ", dtype,
                                             " cannot be cached");
      }
      last_dtype = dtype;
    }
    ARROW_RETURN_NOT_OK(dtypes.Append(dtype));
    ARROW_RETURN_NOT_OK(fortran.Append(t->fortran_order));
  }
  offsets[n] = position;
  auto data = std::make_shared<arrow::LargeBinaryArray>(n, std::move(data_offsets),
                                                        std::move(data_values));
  ARROW_ASSIGN_OR_RAISE(auto shape_array, shapes.Finish());
  ARROW_ASSIGN_OR_RAISE(auto dtype_array, dtypes.Finish());
  ARROW_ASSIGN_OR_RAISE(auto fortran_array, fortran.Finish());
  ARROW_ASSIGN_OR_RAISE(auto array,
                        arrow::StructArray::Make(arrow::ArrayVector{data, shape_array, dtype_array, fortran_array},
                                                 TensorStructType()->fields(),
                                                 null_count > 0 ? validity : nullptr, null_count));
  return array;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchToRecordBatch(
    const std::string& key, const Unischema& schema, const std::string& schema_json,
    const DecodedRowGroup& batch) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (const Field& field : schema.fields()) {
    const DecodedColumn* column = batch.column(field.name);
    if (!column) {
      return arrow::Status::Invalid("The loaded batch does not hold field '", field.name, "'");
    }
    std::shared_ptr<arrow::Array> array;
    std::string_view kind;
    if (StoresTensors(field, *column, batch.num_rows)) {
      ARROW_ASSIGN_OR_RAISE(array, TensorsToArray(field, column->tensors));
      kind = kColumnTensors;
    } else {
      if (!column->values || column->values->length() != batch.num_rows) {
        return arrow::Status::Invalid("The loaded batch's field '", field.name, "' holds ",
                                      column->values ? column->values->length() : 0,
                                      " values and ", column->tensors.size(), " tensors for ",
                                      batch.num_rows, " rows");
      }
      array = column->values;
      kind = kColumnValues;
    }
    fields.push_back(arrow::field(field.name, array->type(), /*nullable=*/true,
                                  arrow::key_value_metadata({std::string(kMetaColumn)},
                                                            {std::string(kind)})));
    arrays.push_back(std::move(array));
  }
  auto metadata = arrow::key_value_metadata(
      {std::string(kMetaFormat), std::string(kMetaKey), std::string(kMetaSchema),
       std::string(kMetaNumRows), std::string(kMetaSource)},
      {std::to_string(kFormatVersion), key, schema_json, std::to_string(batch.num_rows),
       std::to_string(batch.source.file_index) + " " + std::to_string(batch.source.row_group)});
  return arrow::RecordBatch::Make(arrow::schema(std::move(fields), std::move(metadata)),
                                  batch.num_rows, std::move(arrays));
}

// Writes the entry to a new file at `path`, stamped with `mtime_ns`; returns its size.
arrow::Result<int64_t> WriteEntryFile(const std::string& path, const arrow::RecordBatch& record,
                                      int64_t mtime_ns) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    return arrow::Status::IOError("Cannot create '", path, "': ", ErrnoText(errno));
  }
  ChecksummingFileSink sink(fd.get(), path);
  arrow::ipc::IpcWriteOptions options = arrow::ipc::IpcWriteOptions::Defaults();
  options.use_threads = false;
  ARROW_ASSIGN_OR_RAISE(auto writer,
                        arrow::ipc::MakeStreamWriter(&sink, record.schema(), options));
  ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(record));
  ARROW_RETURN_NOT_OK(writer->Close());
  ARROW_RETURN_NOT_OK(sink.Flush());
  ARROW_ASSIGN_OR_RAISE(const int64_t payload_size, sink.Tell());
  uint8_t trailer[kTrailerSize];
  PutLE(trailer, static_cast<uint64_t>(payload_size), 8);
  PutLE(trailer + 8, sink.crc(), 4);
  PutLE(trailer + 12, kFormatVersion, 4);
  std::memcpy(trailer + 16, kMagic, sizeof(kMagic));
  ARROW_RETURN_NOT_OK(WriteAll(fd.get(), trailer, kTrailerSize, path));
  const timespec times[2] = {ToTimespec(mtime_ns), ToTimespec(mtime_ns)};
  if (::futimens(fd.get(), times) != 0) {
    return arrow::Status::IOError("Cannot set the time of '", path, "': ", ErrnoText(errno));
  }
  if (fd.Reset() != 0) {
    return arrow::Status::IOError("Cannot close '", path, "': ", ErrnoText(errno));
  }
  return payload_size + kTrailerSize;
}

// ---- deserialization -----------------------------------------------------------------------

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
};

// The whole file in one buffer; nullptr when there is no such file.
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadWholeFile(const std::string& path, FileId* id) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return nullptr;
    return arrow::Status::IOError("Cannot open '", path, "': ", ErrnoText(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return arrow::Status::IOError("Cannot stat '", path, "': ", ErrnoText(errno));
  }
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  const int64_t size = st.st_size;
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer, arrow::AllocateBuffer(size));
  uint8_t* out = buffer->mutable_data();
  int64_t done = 0;
  while (done < size) {
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(size - done, 1 << 30));
    const ssize_t n = ::pread(fd.get(), out + done, chunk, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return arrow::Status::IOError("Cannot read '", path, "': ", ErrnoText(errno));
    }
    if (n == 0) {
      return arrow::Status::IOError("'", path, "' shrank to ", done, " bytes while being read");
    }
    done += n;
  }
  return buffer;
}

arrow::Result<std::string> GetMetadata(const arrow::KeyValueMetadata& metadata,
                                       std::string_view key) {
  auto value = metadata.Get(std::string(key));
  if (!value.ok()) return arrow::Status::Invalid("no '", key, "' in the entry's metadata");
  return value.MoveValueUnsafe();
}

arrow::Result<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return arrow::Status::Invalid("bad number '", text, "' in the entry's metadata");
  }
  return value;
}

arrow::Status ArrayToTensors(const Field& field, const arrow::Array& array,
                             std::vector<std::optional<Tensor>>* out) {
  if (!array.type()->Equals(*TensorStructType())) {
    return arrow::Status::Invalid("field '", field.name, "' has tensor column type ",
                                  array.type()->ToString());
  }
  const auto& tensors = static_cast<const arrow::StructArray&>(array);
  const auto& data = static_cast<const arrow::LargeBinaryArray&>(*tensors.field(0));
  const auto& shapes = static_cast<const arrow::ListArray&>(*tensors.field(1));
  const auto& dims = static_cast<const arrow::Int64Array&>(*shapes.values());
  const auto& dtypes = static_cast<const arrow::StringArray&>(*tensors.field(2));
  const auto& fortran = static_cast<const arrow::BooleanArray&>(*tensors.field(3));
  const std::shared_ptr<arrow::Buffer>& bytes = data.value_data();
  out->assign(static_cast<size_t>(array.length()), std::nullopt);
  std::unordered_map<std::string_view, ElementType> elements;
  for (int64_t i = 0; i < array.length(); ++i) {
    if (tensors.IsNull(i)) continue;
    auto row_error = [&](auto&&... args) {
      return arrow::Status::Invalid("field '", field.name, "' row ", i, ": ", args...);
    };
    const std::string_view dtype = dtypes.GetView(i);
    auto found = elements.find(dtype);
    if (found == elements.end()) {
      auto parsed = ElementType::FromTypeString(dtype);
      if (!parsed.ok()) return row_error(parsed.status().message());
      found = elements.emplace(dtype, *parsed).first;
    }
    Tensor t;
    t.element = found->second;
    t.fortran_order = fortran.Value(i);
    const int64_t* shape_begin = dims.raw_values() + shapes.value_offset(i);
    t.shape.assign(shape_begin, shape_begin + shapes.value_length(i));
    for (int64_t d : t.shape) {
      if (d < 0) return row_error("negative dimension");
    }
    const int64_t elements_count = t.num_elements();
    if (t.element.itemsize > 0 &&
        elements_count > std::numeric_limits<int64_t>::max() / t.element.itemsize) {
      return row_error("shape ", ShapeToString(t.shape), " is too large");
    }
    const int64_t nbytes = t.nbytes();
    const int64_t stored = data.value_length(i);
    if (stored != arrow::bit_util::RoundUp(nbytes, kTensorAlignment)) {
      return row_error(stored, " bytes stored for a tensor of ", nbytes);
    }
    t.data = arrow::SliceBuffer(bytes, data.value_offset(i), nbytes);
    if (nbytes > 0 && reinterpret_cast<uintptr_t>(t.data->data()) % kTensorAlignment != 0) {
      ARROW_ASSIGN_OR_RAISE(t.data, arrow::Buffer::CopyNonOwned(*t.data,
                                                               arrow::default_cpu_memory_manager()));
    }
    ARROW_RETURN_NOT_OK(CheckTensorForField(field, t));
    (*out)[static_cast<size_t>(i)] = std::move(t);
  }
  return arrow::Status::OK();
}

// The batch stored in `file` (a whole entry file), or Invalid saying what is wrong with it.
arrow::Result<std::shared_ptr<const DecodedRowGroup>> DecodeEntry(
    const std::shared_ptr<arrow::Buffer>& file, const std::string& key,
    const std::shared_ptr<const Unischema>& schema, const std::string& schema_json) {
  const int64_t size = file->size();
  if (size < kTrailerSize) {
    return arrow::Status::Invalid("truncated: ", size, " bytes");
  }
  const uint8_t* trailer = file->data() + size - kTrailerSize;
  if (std::memcmp(trailer + 16, kMagic, sizeof(kMagic)) != 0) {
    return arrow::Status::Invalid("no entry trailer (truncated or not an entry)");
  }
  const uint64_t payload_size = GetLE(trailer, 8);
  if (payload_size != static_cast<uint64_t>(size - kTrailerSize)) {
    return arrow::Status::Invalid("the trailer records ", payload_size, " bytes, the file has ",
                                  size - kTrailerSize);
  }
  if (GetLE(trailer + 12, 4) != kFormatVersion) {
    return arrow::Status::Invalid("format version ", GetLE(trailer + 12, 4), ", expected ",
                                  kFormatVersion);
  }
  const uint32_t crc = Crc32(0, file->data(), static_cast<int64_t>(payload_size));
  if (crc != static_cast<uint32_t>(GetLE(trailer + 8, 4))) {
    return arrow::Status::Invalid("CRC-32 mismatch");
  }

  auto payload = arrow::SliceBuffer(file, 0, static_cast<int64_t>(payload_size));
  arrow::ipc::IpcReadOptions options = arrow::ipc::IpcReadOptions::Defaults();
  options.use_threads = false;
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        arrow::ipc::RecordBatchStreamReader::Open(
                            std::make_shared<arrow::io::BufferReader>(payload), options));
  const auto& arrow_schema = reader->schema();
  if (!arrow_schema->metadata()) return arrow::Status::Invalid("no entry metadata");
  const auto& metadata = *arrow_schema->metadata();
  ARROW_ASSIGN_OR_RAISE(std::string stored_key, GetMetadata(metadata, kMetaKey));
  if (stored_key != key) {
    return arrow::Status::Invalid("it holds another key ('", stored_key, "')");
  }
  ARROW_ASSIGN_OR_RAISE(std::string stored_schema, GetMetadata(metadata, kMetaSchema));
  if (stored_schema != schema_json) {
    return arrow::Status::Invalid("it holds batches of another schema");
  }
  ARROW_ASSIGN_OR_RAISE(std::string num_rows_text, GetMetadata(metadata, kMetaNumRows));
  ARROW_ASSIGN_OR_RAISE(const int64_t num_rows, ParseInt(num_rows_text));
  ARROW_ASSIGN_OR_RAISE(std::string source_text, GetMetadata(metadata, kMetaSource));
  const size_t space = source_text.find(' ');
  if (space == std::string::npos) return arrow::Status::Invalid("bad source '", source_text, "'");
  ARROW_ASSIGN_OR_RAISE(const int64_t file_index,
                        ParseInt(std::string_view(source_text).substr(0, space)));
  ARROW_ASSIGN_OR_RAISE(const int64_t row_group,
                        ParseInt(std::string_view(source_text).substr(space + 1)));

  std::shared_ptr<arrow::RecordBatch> record;
  ARROW_RETURN_NOT_OK(reader->ReadNext(&record));
  if (!record) return arrow::Status::Invalid("no record batch");
  std::shared_ptr<arrow::RecordBatch> extra;
  ARROW_RETURN_NOT_OK(reader->ReadNext(&extra));
  if (extra) return arrow::Status::Invalid("more than one record batch");
  if (record->num_rows() != num_rows) {
    return arrow::Status::Invalid("the record batch has ", record->num_rows(), " rows, expected ",
                                  num_rows);
  }
  ARROW_RETURN_NOT_OK(record->ValidateFull());

  const auto& fields = schema->fields();
  if (record->num_columns() != static_cast<int>(fields.size())) {
    return arrow::Status::Invalid(record->num_columns(), " columns for ", fields.size(),
                                  " fields");
  }
  auto batch = std::make_shared<DecodedRowGroup>();
  batch->schema = schema;
  batch->num_rows = num_rows;
  batch->source.file_index = static_cast<int>(file_index);
  batch->source.row_group = static_cast<int>(row_group);
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& field = fields[i];
    const auto& arrow_field = record->schema()->field(static_cast<int>(i));
    if (arrow_field->name() != field.name) {
      return arrow::Status::Invalid("column ", i, " is '", arrow_field->name(), "', expected '",
                                    field.name, "'");
    }
    if (!arrow_field->metadata()) {
      return arrow::Status::Invalid("column '", field.name, "' has no metadata");
    }
    ARROW_ASSIGN_OR_RAISE(std::string kind, GetMetadata(*arrow_field->metadata(), kMetaColumn));
    DecodedColumn column;
    column.field = &field;
    if (kind == kColumnTensors && IsTensorField(field)) {
      ARROW_RETURN_NOT_OK(ArrayToTensors(field, *record->column(static_cast<int>(i)),
                                         &column.tensors));
    } else if (kind == kColumnValues) {
      column.values = record->column(static_cast<int>(i));
    } else {
      return arrow::Status::Invalid("column '", field.name, "' is of kind '", kind, "'");
    }
    batch->columns.push_back(std::move(column));
  }
  return batch;
}

// ---- the caches ----------------------------------------------------------------------------

class NullCache final : public RowGroupCache {
 public:
  arrow::Result<std::shared_ptr<const DecodedRowGroup>> GetOrLoad(
      const std::string&, const std::shared_ptr<const Unischema>&, const Loader& load) override {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return load();
  }
  CacheStats stats() const override {
    CacheStats stats;
    stats.misses = misses_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  std::atomic<int64_t> misses_{0};
};

struct EntryFile {
  std::string name;
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

class LocalDiskCache final : public RowGroupCache {
 public:
  explicit LocalDiskCache(LocalDiskCacheOptions options) : options_(std::move(options)) {}

  arrow::Result<std::shared_ptr<const DecodedRowGroup>> GetOrLoad(
      const std::string& key, const std::shared_ptr<const Unischema>& schema,
      const Loader& load) override {
    const std::string name = EntryName(key);
    const std::string path = PathOf(name);
    const std::string schema_json = schema->ToJson();

    FileId id;
    auto file = ReadWholeFile(path, &id);
    if (file.ok() && *file) {
      auto batch = DecodeEntry(*file, key, schema, schema_json);
      if (batch.ok()) {
        if (options_.eviction_policy == EvictionPolicy::kLeastRecentlyUsed) Touch(path);
        hits_.fetch_add(1, std::memory_order_relaxed);
        return batch;
      }
      DropEntry(path, id, batch.status());
    } else if (!file.ok()) {
      // Unreadable (permissions, I/O error): load and try to replace it.
      NoteDropped(file.status());
    }

    misses_.fetch_add(1, std::memory_order_relaxed);
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<const DecodedRowGroup> loaded, load());
    if (!loaded) return loaded;
    auto stored = Store(key, name, *schema, schema_json, *loaded);
    if (!stored.ok()) {
      store_failures_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mutex_);
      last_store_error_ = stored.ToString();
    }
    return loaded;
  }

  CacheStats stats() const override {
    CacheStats stats;
    stats.hits = hits_.load(std::memory_order_relaxed);
    stats.misses = misses_.load(std::memory_order_relaxed);
    stats.stores = stores_.load(std::memory_order_relaxed);
    stats.evictions = evictions_.load(std::memory_order_relaxed);
    stats.dropped = dropped_.load(std::memory_order_relaxed);
    stats.skipped_stores = skipped_stores_.load(std::memory_order_relaxed);
    stats.store_failures = store_failures_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    stats.last_store_error = last_store_error_;
    stats.last_drop_reason = last_drop_reason_;
    return stats;
  }

  arrow::Status Cleanup() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::error_code ec;
    if (!fs::exists(options_.path, ec)) return arrow::Status::OK();
    bool foreign = false;
    std::vector<fs::path> ours;
    for (fs::directory_iterator it(options_.path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (EndsWith(name, kEntrySuffix) || name.find(kTempInfix) != std::string::npos) {
        ours.push_back(it->path());
      } else {
        foreign = true;
      }
    }
    if (ec) {
      return arrow::Status::IOError("Cannot list the cache directory '", options_.path,
                                    "': ", ec.message());
    }
    for (const auto& p : ours) {
      if (!fs::remove(p, ec) && ec) {
        return arrow::Status::IOError("Cannot remove cache entry '", p.string(),
                                      "': ", ec.message());
      }
    }
    if (!foreign && !fs::remove(options_.path, ec) && ec) {
      return arrow::Status::IOError("Cannot remove the cache directory '", options_.path,
                                    "': ", ec.message());
    }
    return arrow::Status::OK();
  }

 private:
  std::string PathOf(const std::string& name) const {
    return (fs::path(options_.path) / name).string();
  }

  void Touch(const std::string& path) {
    const int64_t stamp = NextStamp();
    const timespec times[2] = {ToTimespec(stamp), ToTimespec(stamp)};
    // Failure (the entry was evicted meanwhile) only costs recency.
    (void)::utimensat(AT_FDCWD, path.c_str(), times, 0);
  }

  // Removes an unreadable entry, unless another writer has replaced it since it was read.
  void DropEntry(const std::string& path, const FileId& id, const arrow::Status& why) {
    NoteDropped(why.WithMessage("Dropped cache entry '", path, "': ", why.message()));
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino) {
      ::unlink(path.c_str());
    }
  }

  void NoteDropped(const arrow::Status& why) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    last_drop_reason_ = why.ToString();
  }

  arrow::Status Store(const std::string& key, const std::string& name, const Unischema& schema,
                      const std::string& schema_json, const DecodedRowGroup& batch) {
    const std::string path = PathOf(name);
    auto where = [&]() { return "Cannot cache entry '" + path + "' (key '" + key + "'): "; };
    auto record = BatchToRecordBatch(key, schema, schema_json, batch);
    if (!record.ok()) return record.status().WithMessage(where(), record.status().message());

    std::error_code ec;
    fs::create_directories(options_.path, ec);  // again: Cleanup() may have removed it
    static std::atomic<uint64_t> temp_counter{0};
    const std::string temp = path.substr(0, path.size() - kEntrySuffix.size()) +
                             std::string(kTempInfix) + std::to_string(::getpid()) + "." +
                             std::to_string(temp_counter.fetch_add(1));
    auto written = WriteEntryFile(temp, **record, NextStamp());
    if (!written.ok()) {
      ::unlink(temp.c_str());
      return written.status().WithMessage(where(), written.status().message());
    }
    const int64_t size = *written;
    if (size > options_.size_limit_bytes) {
      ::unlink(temp.c_str());
      skipped_stores_.fetch_add(1, std::memory_order_relaxed);
      return arrow::Status::OK();
    }

    std::lock_guard<std::mutex> lock(mutex_);
    if (options_.eviction_policy == EvictionPolicy::kNone) {
      int64_t total = 0;
      for (const EntryFile& entry : ScanEntries()) {
        if (entry.name != name) total += entry.size;
      }
      if (total + size > options_.size_limit_bytes) {
        ::unlink(temp.c_str());
        skipped_stores_.fetch_add(1, std::memory_order_relaxed);
        return arrow::Status::OK();
      }
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return arrow::Status::IOError(where(), "rename from '", temp, "' failed: ", ErrnoText(err));
    }
    stores_.fetch_add(1, std::memory_order_relaxed);
    if (options_.eviction_policy != EvictionPolicy::kNone) EvictLocked(name);
    return arrow::Status::OK();
  }

  // Entry files of the directory (any process's); removes stale temporary files on the way.
  std::vector<EntryFile> ScanEntries() {
    std::vector<EntryFile> entries;
    std::error_code ec;
    const int64_t stale_before =
        NextStamp() - std::chrono::duration_cast<std::chrono::nanoseconds>(kStaleTempAge).count();
    for (fs::directory_iterator it(options_.path, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      const bool entry = EndsWith(name, kEntrySuffix);
      const bool temp = !entry && name.find(kTempInfix) != std::string::npos;
      if (!entry && !temp) continue;
      struct stat st;
      const std::string path = it->path().string();
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const int64_t mtime_ns =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (temp) {
        if (mtime_ns < stale_before) ::unlink(path.c_str());
        continue;
      }
      entries.push_back({std::move(name), static_cast<int64_t>(st.st_size), mtime_ns});
    }
    return entries;
  }

  // Evicts the oldest entries, never `keep`, until the directory fits the limit.
  void EvictLocked(const std::string& keep) {
    std::vector<EntryFile> entries = ScanEntries();
    int64_t total = 0;
    for (const EntryFile& entry : entries) total += entry.size;
    if (total <= options_.size_limit_bytes) return;
    std::sort(entries.begin(), entries.end(), [](const EntryFile& a, const EntryFile& b) {
      return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.name < b.name;
    });
    for (const EntryFile& entry : entries) {
      if (total <= options_.size_limit_bytes) break;
      if (entry.name == keep) continue;
      const std::string path = PathOf(entry.name);
      if (::unlink(path.c_str()) == 0) {
        evictions_.fetch_add(1, std::memory_order_relaxed);
        total -= entry.size;
      } else if (errno == ENOENT) {
        total -= entry.size;  // another process evicted it
      }
    }
  }

  const LocalDiskCacheOptions options_;
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  std::atomic<int64_t> stores_{0};
  std::atomic<int64_t> evictions_{0};
  std::atomic<int64_t> dropped_{0};
  std::atomic<int64_t> skipped_stores_{0};
  std::atomic<int64_t> store_failures_{0};
  // Serializes the size accounting: the scan, the kNone admission check and eviction.
  mutable std::mutex mutex_;
  std::string last_store_error_;  // guarded by mutex_
  std::string last_drop_reason_;  // guarded by mutex_
};

}  // namespace

std::shared_ptr<RowGroupCache> MakeNullCache() { return std::make_shared<NullCache>(); }

arrow::Result<std::shared_ptr<RowGroupCache>> MakeLocalDiskCache(LocalDiskCacheOptions options) {
  if (options.path.empty()) {
    return arrow::Status::Invalid("The local-disk cache needs a cache location (a directory)");
  }
  if (options.size_limit_bytes <= 0) {
    return arrow::Status::Invalid("Cache size limit must be positive, got ",
                                  options.size_limit_bytes, " (cache location '", options.path,
                                  "')");
  }
  if (options.expected_row_size_bytes < 0) {
    return arrow::Status::Invalid("Expected row size must not be negative, got ",
                                  options.expected_row_size_bytes, " (cache location '",
                                  options.path, "')");
  }
  if (options.eviction_policy != EvictionPolicy::kNone && options.expected_row_size_bytes > 0 &&
      options.expected_row_size_bytes > options.size_limit_bytes / 5) {
    return arrow::Status::Invalid(
        "Condition 'size_limit_bytes >= 5 * expected_row_size_bytes' needs to hold: the cache "
        "size limit is ",
        options.size_limit_bytes, " bytes and the expected row size ",
        options.expected_row_size_bytes, " bytes (cache location '", options.path, "')");
  }
  std::error_code ec;
  fs::create_directories(options.path, ec);
  if (ec || !fs::is_directory(options.path, ec)) {
    return arrow::Status::IOError("Cannot use '", options.path,
                                  "' as the cache directory: ",
                                  ec ? ec.message() : "not a directory");
  }
  if (::access(options.path.c_str(), W_OK | X_OK) != 0) {
    return arrow::Status::IOError("Cannot write to the cache directory '", options.path,
                                  "': ", ErrnoText(errno));
  }
  return std::make_shared<LocalDiskCache>(std::move(options));
}

}  // namespace petastorm
