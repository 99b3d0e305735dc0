#include "petastorm/row_group_ipc.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include <arrow/array/array_binary.h>
#include <arrow/array/array_nested.h>
#include <arrow/array/array_primitive.h>
#include <arrow/builder.h>
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

constexpr int64_t kFormatVersion = 1;
constexpr int64_t kTensorAlignment = 8;

constexpr std::string_view kMetaFormat = "petastorm.row_group.format";
constexpr std::string_view kMetaSchema = "petastorm.row_group.schema";
constexpr std::string_view kMetaNumRows = "petastorm.row_group.num_rows";
constexpr std::string_view kMetaSource = "petastorm.row_group.source";
constexpr std::string_view kMetaColumn = "petastorm.row_group.column";
constexpr std::string_view kColumnValues = "values";
constexpr std::string_view kColumnTensors = "tensors";

const std::shared_ptr<arrow::DataType>& TensorStructType() {
  static const auto type = arrow::struct_({
      arrow::field("data", arrow::large_binary(), /*nullable=*/false),
      arrow::field("shape", arrow::list(arrow::field("item", arrow::int64(), false)), false),
      arrow::field("dtype", arrow::utf8(), false),
      arrow::field("fortran", arrow::boolean(), false),
  });
  return type;
}

// How a column of a decoded row group is stored.
bool StoresTensors(const Field& field, const DecodedColumn& column, int64_t num_rows) {
  if (!field.is_tensor()) return false;
  if (static_cast<int64_t>(column.tensors.size()) != num_rows) return false;
  return num_rows > 0 || column.values == nullptr;
}

// The bytes a tensor column's `data` child holds: every tensor padded to kTensorAlignment.
arrow::Result<int64_t> TensorDataSize(const std::vector<std::optional<Tensor>>& tensors) {
  int64_t size = 0;
  for (const auto& t : tensors) {
    if (!t) continue;
    ARROW_RETURN_NOT_OK(t->Validate());
    size += arrow::bit_util::RoundUp(t->nbytes(), kTensorAlignment);
  }
  return size;
}

// Where the tensor bytes of the tensor columns go (one entry per tensor column, in schema
// order): a buffer of TensorDataSize bytes, filled when `fill`. Empty: new buffers, filled.
struct TensorDataPlan {
  std::vector<std::shared_ptr<arrow::Buffer>> buffers;
  bool fill = true;
};

arrow::Result<std::shared_ptr<arrow::Array>> TensorsToArray(const Field& field,
                                                            const std::vector<std::optional<Tensor>>& tensors,
                                                            std::shared_ptr<arrow::Buffer> data_values, bool fill) {
  const int64_t n = static_cast<int64_t>(tensors.size());
  ARROW_ASSIGN_OR_RAISE(const int64_t data_size, TensorDataSize(tensors));
  if (!data_values) {
    ARROW_ASSIGN_OR_RAISE(data_values, arrow::AllocateBuffer(data_size));
  } else if (data_values->size() != data_size) {
    return arrow::Status::Invalid("Field '", field.name, "': ", data_values->size(), " bytes for ", data_size,
                                  " bytes of tensors");
  }
  ARROW_ASSIGN_OR_RAISE(auto data_offsets, arrow::AllocateBuffer((n + 1) * sizeof(int64_t)));
  ARROW_ASSIGN_OR_RAISE(auto validity, arrow::AllocateEmptyBitmap(n));
  auto* offsets = reinterpret_cast<int64_t*>(data_offsets->mutable_data());
  uint8_t* out = fill ? const_cast<uint8_t*>(data_values->data()) : nullptr;
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
    if (out) {
      if (nbytes > 0) std::memcpy(out + position, t->data->data(), static_cast<size_t>(nbytes));
      std::memset(out + position + nbytes, 0, static_cast<size_t>(padded - nbytes));
    }
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

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ToRecordBatch(const DecodedRowGroup& group,
                                                                 const Unischema& schema,
                                                                 const std::string& schema_json,
                                                                 const IpcMetadata& extra,
                                                                 const TensorDataPlan& plan = {}) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  size_t tensor_column = 0;
  for (const Field& field : schema.fields()) {
    const DecodedColumn* column = group.column(field.name);
    if (!column) {
      return arrow::Status::Invalid("The row group does not hold field '", field.name, "'");
    }
    std::shared_ptr<arrow::Array> array;
    std::string_view kind;
    if (StoresTensors(field, *column, group.num_rows)) {
      std::shared_ptr<arrow::Buffer> data;
      if (tensor_column < plan.buffers.size()) data = plan.buffers[tensor_column];
      ++tensor_column;
      ARROW_ASSIGN_OR_RAISE(array, TensorsToArray(field, column->tensors, std::move(data), plan.fill));
      kind = kColumnTensors;
    } else {
      if (!column->values || column->values->length() != group.num_rows) {
        return arrow::Status::Invalid("The row group's field '", field.name, "' holds ",
                                      column->values ? column->values->length() : 0, " values and ",
                                      column->tensors.size(), " tensors for ", group.num_rows, " rows");
      }
      array = column->values;
      kind = kColumnValues;
    }
    fields.push_back(arrow::field(field.name, array->type(), /*nullable=*/true,
                                  arrow::key_value_metadata({std::string(kMetaColumn)}, {std::string(kind)})));
    arrays.push_back(std::move(array));
  }
  std::vector<std::string> keys{std::string(kMetaFormat), std::string(kMetaSchema), std::string(kMetaNumRows),
                                std::string(kMetaSource)};
  std::vector<std::string> values{std::to_string(kFormatVersion), schema_json, std::to_string(group.num_rows),
                                  std::to_string(group.source.file_index) + " " +
                                      std::to_string(group.source.row_group)};
  for (const auto& [key, value] : extra) {
    keys.push_back(key);
    values.push_back(value);
  }
  return arrow::RecordBatch::Make(arrow::schema(std::move(fields), arrow::key_value_metadata(keys, values)),
                                  group.num_rows, std::move(arrays));
}

arrow::Result<std::string> GetMetadata(const arrow::KeyValueMetadata& metadata,
                                       std::string_view key) {
  auto value = metadata.Get(std::string(key));
  if (!value.ok()) return arrow::Status::Invalid("no '", key, "' in the row group's IPC metadata");
  return value.MoveValueUnsafe();
}

arrow::Result<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return arrow::Status::Invalid("bad number '", text, "' in the row group's IPC metadata");
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
    // stored == nbytes rounded up to the alignment, without rounding (which overflows for a
    // shape claiming close to 2^63 bytes).
    if (stored < nbytes || stored - nbytes >= kTensorAlignment || stored % kTensorAlignment != 0) {
      return row_error(stored, " bytes stored for a tensor of ", nbytes);
    }
    t.data = arrow::SliceBuffer(bytes, data.value_offset(i), nbytes);
    if (nbytes > 0 && reinterpret_cast<uintptr_t>(t.data->data()) % kTensorAlignment != 0) {
      ARROW_ASSIGN_OR_RAISE(t.data, arrow::Buffer::CopyNonOwned(*t.data,
                                                               arrow::default_cpu_memory_manager()));
    }
    // The tensor describes itself; a transform may change a field's dtype and shape (the thread
    // pool's readers take them too), so only its consistency is checked.
    if (auto valid = t.Validate(); !valid.ok()) return row_error(valid.message());
    (*out)[static_cast<size_t>(i)] = std::move(t);
  }
  return arrow::Status::OK();
}

arrow::Status WriteStream(const arrow::RecordBatch& record, arrow::io::OutputStream* out) {
  arrow::ipc::IpcWriteOptions options = arrow::ipc::IpcWriteOptions::Defaults();
  options.use_threads = false;
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(out, record.schema(), options));
  ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(record));
  return writer->Close();
}

// Addresses that stand for tensor columns' bytes in the planning pass (never dereferenced).
const uint8_t kSentinels[256] = {};

// Counts bytes like MockOutputStream, and notes where each placeholder buffer is written.
// An output stream that counts what it is given; subclasses say where the bytes go.
class CountingStream : public arrow::io::OutputStream {
 public:
  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }
  int64_t position() const { return position_; }

 protected:
  int64_t position_ = 0;
  bool closed_ = false;
};

class PlacementRecorder : public CountingStream {
 public:
  explicit PlacementRecorder(const std::vector<std::shared_ptr<arrow::Buffer>>& placeholders)
      : placeholders_(placeholders), offsets_(placeholders.size(), -1) {}
  arrow::Status Write(const void* data, int64_t nbytes) override {
    for (size_t k = 0; k < placeholders_.size(); ++k) {
      if (data == placeholders_[k]->data() && nbytes == placeholders_[k]->size()) offsets_[k] = position_;
    }
    position_ += nbytes;
    return arrow::Status::OK();
  }
  const std::vector<int64_t>& offsets() const { return offsets_; }

 private:
  const std::vector<std::shared_ptr<arrow::Buffer>>& placeholders_;
  std::vector<int64_t> offsets_;
};

// Writes into `memory`, skipping the copy of what is already in its place.
class InPlaceWriter : public CountingStream {
 public:
  explicit InPlaceWriter(std::shared_ptr<arrow::Buffer> memory) : memory_(std::move(memory)) {}
  arrow::Status Write(const void* data, int64_t nbytes) override {
    if (position_ + nbytes > memory_->size()) return arrow::Status::IOError("InPlaceWriter: out of room");
    uint8_t* dst = const_cast<uint8_t*>(memory_->data()) + position_;
    if (data != dst && nbytes > 0) std::memcpy(dst, data, static_cast<size_t>(nbytes));
    position_ += nbytes;
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::Buffer> memory_;
};

}  // namespace

arrow::Status WriteRowGroupIpc(const DecodedRowGroup& group, const Unischema& schema, const std::string& schema_json,
                               const IpcMetadata& extra, arrow::io::OutputStream* out) {
  ARROW_ASSIGN_OR_RAISE(auto record, ToRecordBatch(group, schema, schema_json, extra));
  return WriteStream(*record, out);
}

namespace {

arrow::Result<int64_t> ToIpcInto(const DecodedRowGroup& group, const IpcMetadata& extra, const IpcAllocator& allocate) {
  if (!group.schema) return arrow::Status::Invalid("RowGroupToIpc: the row group has no schema");
  const Unischema& schema = *group.schema;
  const std::string schema_json = schema.ToJson();
  // The tensor columns' byte counts, in schema order.
  std::vector<int64_t> sizes;
  for (const Field& field : schema.fields()) {
    const DecodedColumn* column = group.column(field.name);
    if (column && StoresTensors(field, *column, group.num_rows)) {
      ARROW_ASSIGN_OR_RAISE(int64_t size, TensorDataSize(column->tensors));
      sizes.push_back(size);
    }
  }
  if (sizes.size() > sizeof(kSentinels)) {
    // Too many tensor columns to plan: the tensor bytes are copied twice (into their columns,
    // then into `memory`).
    ARROW_ASSIGN_OR_RAISE(auto record, ToRecordBatch(group, schema, schema_json, extra));
    arrow::io::MockOutputStream counter;
    ARROW_RETURN_NOT_OK(WriteStream(*record, &counter));
    ARROW_ASSIGN_OR_RAISE(auto memory, allocate(counter.GetExtentBytesWritten()));
    InPlaceWriter writer(memory);
    ARROW_RETURN_NOT_OK(WriteStream(*record, &writer));
    return writer.position();
  }
  // Planning pass: placeholders (never read) stand for the tensor bytes; the stream records where
  // the IPC writer puts each.
  TensorDataPlan plan;
  plan.fill = false;
  for (size_t k = 0; k < sizes.size(); ++k) {
    plan.buffers.push_back(std::make_shared<arrow::Buffer>(&kSentinels[k], sizes[k]));
  }
  ARROW_ASSIGN_OR_RAISE(auto planned, ToRecordBatch(group, schema, schema_json, extra, plan));
  PlacementRecorder recorder(plan.buffers);
  ARROW_RETURN_NOT_OK(WriteStream(*planned, &recorder));
  planned.reset();
  const int64_t size = recorder.position();
  ARROW_ASSIGN_OR_RAISE(auto memory, allocate(size));
  if (!memory || memory->size() < size) return arrow::Status::Invalid("RowGroupToIpcInto: the allocator gave too little");
  // Writing pass: the tensor bytes are copied straight to their places in `memory`, and the
  // stream writes everything else around them.
  plan.fill = true;
  for (size_t k = 0; k < sizes.size(); ++k) {
    if (recorder.offsets()[k] < 0) return arrow::Status::UnknownError("RowGroupToIpcInto: a tensor column was not placed");
    plan.buffers[k] = arrow::SliceMutableBuffer(memory, recorder.offsets()[k], sizes[k]);
  }
  ARROW_ASSIGN_OR_RAISE(auto record, ToRecordBatch(group, schema, schema_json, extra, plan));
  InPlaceWriter writer(memory);
  ARROW_RETURN_NOT_OK(WriteStream(*record, &writer));
  if (writer.position() != size) return arrow::Status::UnknownError("RowGroupToIpcInto: the two passes differ");
  return size;
}

}  // namespace

arrow::Result<int64_t> RowGroupToIpcInto(const DecodedRowGroup& group, const IpcAllocator& allocate) {
  return ToIpcInto(group, {}, allocate);
}


arrow::Result<std::shared_ptr<arrow::Buffer>> RowGroupToIpc(const DecodedRowGroup& group, const IpcMetadata& extra) {
  std::shared_ptr<arrow::ResizableBuffer> memory;
  auto allocate = [&](int64_t size) -> arrow::Result<std::shared_ptr<arrow::MutableBuffer>> {
    ARROW_ASSIGN_OR_RAISE(memory, arrow::AllocateResizableBuffer(size));
    return std::static_pointer_cast<arrow::MutableBuffer>(memory);
  };
  ARROW_RETURN_NOT_OK(ToIpcInto(group, extra, allocate).status());
  return std::shared_ptr<arrow::Buffer>(std::move(memory));
}

arrow::Result<std::shared_ptr<const DecodedRowGroup>> RowGroupFromIpc(const std::shared_ptr<arrow::Buffer>& buffer,
                                                                      const std::shared_ptr<const Unischema>& schema,
                                                                      IpcMetadata* extra) {
  if (!schema) return arrow::Status::Invalid("RowGroupFromIpc: no schema");
  arrow::ipc::IpcReadOptions options = arrow::ipc::IpcReadOptions::Defaults();
  options.use_threads = false;
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchStreamReader::Open(
                                         std::make_shared<arrow::io::BufferReader>(buffer), options));
  const auto& arrow_schema = reader->schema();
  if (!arrow_schema->metadata()) return arrow::Status::Invalid("no row group metadata");
  const auto& metadata = *arrow_schema->metadata();
  ARROW_ASSIGN_OR_RAISE(std::string format, GetMetadata(metadata, kMetaFormat));
  if (format != std::to_string(kFormatVersion)) {
    return arrow::Status::Invalid("row group IPC format ", format, ", expected ", kFormatVersion);
  }
  ARROW_ASSIGN_OR_RAISE(std::string stored_schema, GetMetadata(metadata, kMetaSchema));
  if (stored_schema != schema->ToJson()) {
    return arrow::Status::Invalid("it holds rows of another schema");
  }
  ARROW_ASSIGN_OR_RAISE(std::string num_rows_text, GetMetadata(metadata, kMetaNumRows));
  ARROW_ASSIGN_OR_RAISE(const int64_t num_rows, ParseInt(num_rows_text));
  ARROW_ASSIGN_OR_RAISE(std::string source_text, GetMetadata(metadata, kMetaSource));
  const size_t space = source_text.find(' ');
  if (space == std::string::npos) return arrow::Status::Invalid("bad source '", source_text, "'");
  ARROW_ASSIGN_OR_RAISE(const int64_t file_index, ParseInt(std::string_view(source_text).substr(0, space)));
  ARROW_ASSIGN_OR_RAISE(const int64_t row_group, ParseInt(std::string_view(source_text).substr(space + 1)));
  if (extra) {
    extra->clear();
    for (int64_t i = 0; i < metadata.size(); ++i) {
      if (std::string_view(metadata.key(i)).substr(0, 20) == "petastorm.row_group.") continue;
      extra->emplace_back(metadata.key(i), metadata.value(i));
    }
  }

  std::shared_ptr<arrow::RecordBatch> record;
  ARROW_RETURN_NOT_OK(reader->ReadNext(&record));
  if (!record) return arrow::Status::Invalid("no record batch");
  std::shared_ptr<arrow::RecordBatch> more;
  ARROW_RETURN_NOT_OK(reader->ReadNext(&more));
  if (more) return arrow::Status::Invalid("more than one record batch");
  if (record->num_rows() != num_rows) {
    return arrow::Status::Invalid("the record batch has ", record->num_rows(), " rows, expected ", num_rows);
  }
  ARROW_RETURN_NOT_OK(record->ValidateFull());

  const auto& fields = schema->fields();
  if (record->num_columns() != static_cast<int>(fields.size())) {
    return arrow::Status::Invalid(record->num_columns(), " columns for ", fields.size(), " fields");
  }
  auto group = std::make_shared<DecodedRowGroup>();
  group->schema = schema;
  group->num_rows = num_rows;
  group->source.file_index = static_cast<int>(file_index);
  group->source.row_group = static_cast<int>(row_group);
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& field = fields[i];
    const auto& arrow_field = record->schema()->field(static_cast<int>(i));
    if (arrow_field->name() != field.name) {
      return arrow::Status::Invalid("column ", i, " is '", arrow_field->name(), "', expected '", field.name, "'");
    }
    if (!arrow_field->metadata()) return arrow::Status::Invalid("column '", field.name, "' has no metadata");
    ARROW_ASSIGN_OR_RAISE(std::string kind, GetMetadata(*arrow_field->metadata(), kMetaColumn));
    DecodedColumn column;
    column.field = &field;
    if (kind == kColumnTensors && field.is_tensor()) {
      ARROW_RETURN_NOT_OK(ArrayToTensors(field, *record->column(static_cast<int>(i)), &column.tensors));
    } else if (kind == kColumnValues) {
      column.values = record->column(static_cast<int>(i));
    } else {
      return arrow::Status::Invalid("column '", field.name, "' is of kind '", kind, "'");
    }
    group->columns.push_back(std::move(column));
  }
  return group;
}

}  // namespace petastorm
