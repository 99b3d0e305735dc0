#include <chrono>

#include <arrow/array/array_binary.h>
#include <arrow/array/concatenate.h>
#include <arrow/io/caching.h>
#include <arrow/util/future.h>
#include <arrow/array/util.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <arrow/type_traits.h>
#include <arrow/util/parallel.h>
#include <arrow/util/thread_pool.h>
#include <arrow/util/utf8.h>
#include <parquet/file_reader.h>
#include <parquet/arrow/schema.h>

#include "petastorm/codec.h"
#include "petastorm/reader.h"
#include "read/row_group_loader_internal.h"
#include "util/utf8_internal.h"

namespace petastorm {

namespace {

bool IsBinaryLike(arrow::Type::type id) {
  return id == arrow::Type::BINARY || id == arrow::Type::LARGE_BINARY;
}
bool IsStringLike(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::LARGE_STRING;
}
bool IsDecimal(arrow::Type::type id) {
  return id == arrow::Type::DECIMAL128 || id == arrow::Type::DECIMAL256;
}

// An integer column that reads as an integer field without losing values: every value of the
// stored type fits the field's, or the stored type is the signed one Petastorm's Spark mapping
// writes for an unsigned field (uint8 as int16, uint16 as int32, uint32 as int64).
bool IntegerReadsAs(const arrow::DataType& stored, const arrow::DataType& expected) {
  if (!arrow::is_integer(stored.id()) || !arrow::is_integer(expected.id())) return false;
  const int from = stored.bit_width(), to = expected.bit_width();
  const bool from_signed = arrow::is_signed_integer(stored.id());
  const bool to_signed = arrow::is_signed_integer(expected.id());
  if (from_signed == to_signed) return from <= to;
  if (!from_signed) return from < to;
  return from == 2 * to;  // Petastorm's Spark mapping of unsigned types
}

// Whether a file's column of type `stored` reads as a field stored as `expected`: the same type
// up to the names and nullability of list and map items; an integer or floating type that
// widens safely (values are delivered in the field's dtype); or two of one family whose values
// convert alike (binary and large_binary; string and large_string; timestamps of any unit and
// zone; decimals).
bool ReadsAs(const arrow::DataType& stored, const arrow::DataType& expected) {
  const auto a = stored.id(), b = expected.id();
  if ((IsBinaryLike(a) && IsBinaryLike(b)) || (IsStringLike(a) && IsStringLike(b)) ||
      (a == arrow::Type::TIMESTAMP && b == arrow::Type::TIMESTAMP) || (IsDecimal(a) && IsDecimal(b)) ||
      IntegerReadsAs(stored, expected) ||
      (arrow::is_floating(a) && arrow::is_floating(b) && stored.bit_width() <= expected.bit_width())) {
    return true;
  }
  if (a != b) return false;
  if (stored.num_fields() == 0) return stored.Equals(expected);
  if (stored.num_fields() != expected.num_fields()) return false;
  if (a == arrow::Type::FIXED_SIZE_LIST &&
      static_cast<const arrow::FixedSizeListType&>(stored).list_size() !=
          static_cast<const arrow::FixedSizeListType&>(expected).list_size()) {
    return false;
  }
  for (int i = 0; i < stored.num_fields(); ++i) {
    if (a == arrow::Type::STRUCT && stored.field(i)->name() != expected.field(i)->name()) return false;
    if (!ReadsAs(*stored.field(i)->type(), *expected.field(i)->type())) return false;
  }
  return true;
}

// Text that is not UTF-8 in a string column is an error here, where the file and row group are
// known (converting it later could only say the row); the value is quoted as bytes.
template <typename ArrayType>
arrow::Status CheckUtf8(const Field& field, const ArrayType& text) {
  static const bool initialized = (arrow::util::InitializeUTF8(), true);  // its tables, once
  (void)initialized;
  for (int64_t i = 0; i < text.length(); ++i) {
    if (text.IsNull(i)) continue;
    const std::string_view value = text.GetView(i);
    if (!arrow::util::ValidateUTF8(value)) {
      return arrow::Status::Invalid("field '", field.name, "' row ", i, " holds text that is not UTF-8: ",
                                    internal::BytesLiteral(value));
    }
  }
  return arrow::Status::OK();
}

arrow::Status DecodeColumn(const Field& field, const arrow::Array& cells,
                           const std::vector<int64_t>* rows, bool use_threads,
                           std::vector<std::optional<Tensor>>* out) {
  if (cells.type_id() != arrow::Type::BINARY && cells.type_id() != arrow::Type::LARGE_BINARY) {
    return arrow::Status::TypeError("Field '", field.name, "' is stored as ",
                                    cells.type()->ToString(), ", expected binary for ",
                                    (field.codec ? field.codec->ToString() : std::string("a field without codec")));
  }
  out->assign(cells.length(), std::nullopt);
  auto decode_one = [&](int k) -> arrow::Status {
    const int64_t i = rows ? (*rows)[k] : k;
    if (cells.IsNull(i)) {
      if (!field.nullable) {
        return arrow::Status::Invalid("Field '", field.name, "' is not nullable but row ", i,
                                      " is null");
      }
      return arrow::Status::OK();
    }
    // The cell as a slice of the column's buffer: a codec may decode without a copy.
    std::shared_ptr<arrow::Buffer> cell;
    if (cells.type_id() == arrow::Type::BINARY) {
      const auto& binary = static_cast<const arrow::BinaryArray&>(cells);
      cell = arrow::SliceBuffer(binary.value_data(), binary.value_offset(i), binary.value_length(i));
    } else {
      const auto& binary = static_cast<const arrow::LargeBinaryArray&>(cells);
      cell = arrow::SliceBuffer(binary.value_data(), binary.value_offset(i), binary.value_length(i));
    }
    auto tensor = DecodeField(field, cell);
    if (!tensor.ok()) {
      return tensor.status().WithMessage("Row ", i, ": ", tensor.status().message());
    }
    (*out)[i] = std::move(*tensor);
    return arrow::Status::OK();
  };
  const int count = static_cast<int>(rows ? rows->size() : cells.length());
  if (!use_threads) {
    for (int k = 0; k < count; ++k) ARROW_RETURN_NOT_OK(decode_one(k));
    return arrow::Status::OK();
  }
  return arrow::internal::ParallelFor(count, decode_one, arrow::internal::GetCpuThreadPool());
}

}  // namespace

namespace internal {

void AppendLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* out) {
  if (field.is_leaf()) out->push_back(field.column_index);
  for (const auto& child : field.children) AppendLeaves(child, out);
}

namespace {

// Requests the columns' chunks of a row group (unless `requested` already) and waits for them.
arrow::Status WaitForColumnChunks(const Dataset& dataset, int row_group, const std::vector<int>& columns,
                                  bool requested, parquet::arrow::FileReader* file) {
  try {
    if (!requested) {
      file->parquet_reader()->PreBuffer({row_group}, columns, dataset.read_properties().io_context(),
                                        dataset.read_properties().cache_options());
    }
  } catch (const std::exception& e) {
    return arrow::Status::IOError(e.what());
  }
  return file->parquet_reader()->WhenBuffered({row_group}, columns).status();
}

}  // namespace

arrow::Result<std::shared_ptr<const DecodedRowGroup>> LoadRowGroup(
    const Dataset& dataset, const std::shared_ptr<const Unischema>& fields, RowGroupRef row_group,
    parquet::arrow::FileReader* file, const LoadOptions& options) {
  const std::string& path = dataset.files().at(row_group.file_index);
  auto where = [&]() {
    return "'" + path + "' row group " + std::to_string(row_group.row_group) + ": ";
  };
  if (row_group.row_group >= file->num_row_groups()) {
    return arrow::Status::IOError(where(), "the file has only ", file->num_row_groups(),
                                  " row groups; the dataset metadata is stale");
  }
  std::shared_ptr<arrow::Schema> file_schema;
  ARROW_RETURN_NOT_OK(file->GetSchema(&file_schema));
  std::vector<int> column_indices;
  for (const auto& field : fields->fields()) {
    const int index = file_schema->GetFieldIndex(field.name);
    if (index < 0) {
      if (dataset.PartitionKeyIndex(field.name) >= 0) continue;  // from the path, below
      return arrow::Status::KeyError(where(), "field '", field.name, "' is not stored in the file");
    }
    const auto& schema_fields = file->manifest().schema_fields;
    if (static_cast<size_t>(index) >= schema_fields.size()) {
      return arrow::Status::IOError(where(), "field '", field.name, "' has no Parquet columns");
    }
    // Every file is held to the dataset's schema: a column stored as another type would be
    // coerced (make_reader) or give batches of another dtype (make_batch_reader).
    const auto& stored = file_schema->field(index)->type();
    auto expected = field.StorageType();
    if (expected.ok() && !ReadsAs(*stored, **expected)) {
      return arrow::Status::TypeError(where(), "column '", field.name, "' is stored as ",
                                      stored->ToString(), ", but the dataset schema says ",
                                      (*expected)->ToString(),
                                      field.codec ? " (" + field.codec->ToString() + ")" : std::string());
    }
    AppendLeaves(schema_fields[static_cast<size_t>(index)], &column_indices);
  }
  using Clock = std::chrono::steady_clock;
  const auto now = [&]() { return options.stats ? Clock::now() : Clock::time_point(); };
  auto start = now();
  if (!file->properties().pre_buffer()) {
    // The column chunks' bytes are waited for here, apart from their decoding: the I/O share
    // of the read (requested now, or earlier by the reader's read-ahead).
    const arrow::Status buffered = WaitForColumnChunks(dataset, row_group.row_group, column_indices,
                                                       options.prebuffered, file);
    if (!buffered.ok()) return buffered.WithMessage(where(), buffered.message());
    const auto io_done = now();
    if (options.stats) {
      options.stats->io_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(io_done - start).count();
    }
    start = io_done;
  }
  // ReadRowGroup takes Parquet leaf columns and returns their top-level fields.
  auto read = file->ReadRowGroup(row_group.row_group, column_indices);
  if (!read.ok()) return read.status().WithMessage(where(), read.status().message());
  std::shared_ptr<arrow::Table> table = std::move(*read);
  const auto read_done = now();
  if (options.stats) {
    options.stats->read_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(read_done - start).count();
  }

  const int64_t num_rows = file->parquet_reader()->metadata()->RowGroup(row_group.row_group)->num_rows();
  auto batch = std::make_shared<DecodedRowGroup>();
  batch->schema = fields;
  batch->num_rows = num_rows;
  batch->source = row_group;
  for (size_t i = 0; i < fields->fields().size(); ++i) {
    const Field& field = fields->fields()[i];
    DecodedColumn column;
    column.field = &field;
    auto chunked = table->GetColumnByName(field.name);
    if (!chunked) {
      // A hive partition key: the same value on every row, from the file's path.
      const int key = dataset.PartitionKeyIndex(field.name);
      ARROW_ASSIGN_OR_RAISE(auto value, dataset.PartitionValue(row_group.file_index, key));
      ARROW_ASSIGN_OR_RAISE(auto type, field.StorageType());
      auto cast = value->CastTo(type);
      if (!cast.ok()) {
        return arrow::Status::TypeError(where(), "partition value '", value->ToString(),
                                        "' of field '", field.name, "' is not a ", type->ToString());
      }
      ARROW_ASSIGN_OR_RAISE(column.values, arrow::MakeArrayFromScalar(**cast, num_rows));
      batch->columns.push_back(std::move(column));
      continue;
    }
    if (chunked->num_chunks() == 1) {
      column.values = chunked->chunk(0);
    } else {
      ARROW_ASSIGN_OR_RAISE(column.values, arrow::Concatenate(chunked->chunks()));
    }
    arrow::Status text = arrow::Status::OK();
    if (column.values->type_id() == arrow::Type::STRING) {
      text = CheckUtf8(field, static_cast<const arrow::StringArray&>(*column.values));
    } else if (column.values->type_id() == arrow::Type::LARGE_STRING) {
      text = CheckUtf8(field, static_cast<const arrow::LargeStringArray&>(*column.values));
    }
    if (!text.ok()) return text.WithMessage(where(), text.message());
    if (field.is_tensor()) {
      auto decoded = DecodeColumn(field, *column.values, options.decode_rows, options.use_threads,
                                  &column.tensors);
      if (!decoded.ok()) return decoded.WithMessage(where(), decoded.message());
    }
    batch->columns.push_back(std::move(column));
  }
  if (options.stats) {
    options.stats->decode_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - read_done)
                                    .count();
  }
  return batch;
}

arrow::Result<std::shared_ptr<const DecodedRowGroup>> DecodeRows(const Dataset& dataset,
                                                                 const DecodedRowGroup& raw,
                                                                 const std::vector<int64_t>& rows,
                                                                 bool use_threads) {
  auto out = std::make_shared<DecodedRowGroup>(raw);
  for (DecodedColumn& column : out->columns) {
    if (!column.field->is_tensor()) continue;
    if (!column.values) {
      return arrow::Status::Invalid("field '", column.field->name, "' holds no encoded cells to decode");
    }
    auto decoded = DecodeColumn(*column.field, *column.values, &rows, use_threads, &column.tensors);
    if (!decoded.ok()) {
      return decoded.WithMessage("'", dataset.files().at(raw.source.file_index), "' row group ",
                                 raw.source.row_group, ": ", decoded.message());
    }
  }
  return out;
}

}  // namespace internal

arrow::Result<std::shared_ptr<const DecodedRowGroup>> LoadRowGroup(
    const Dataset& dataset, const std::shared_ptr<const Unischema>& fields, RowGroupRef row_group,
    parquet::arrow::FileReader* file) {
  internal::LoadOptions options;
  options.use_threads = true;
  return internal::LoadRowGroup(dataset, fields, row_group, file, options);
}

}  // namespace petastorm
