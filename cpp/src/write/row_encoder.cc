#include "petastorm/row_encoder.h"

#include <deque>

#include <arrow/array/builder_base.h>
#include <arrow/array/builder_binary.h>
#include <arrow/util/parallel.h>
#include <arrow/util/thread_pool.h>

#include "petastorm/codec.h"
#include "write/column_append_internal.h"

namespace petastorm {

class RowEncoder::Impl {
 public:
  explicit Impl(std::shared_ptr<const Unischema> schema) : schema_(std::move(schema)) {}

  arrow::Status Init() {
    ARROW_ASSIGN_OR_RAISE(auto arrow_schema, schema_->ToArrowSchema());
    arrow_schema_ = arrow_schema->RemoveMetadata();
    for (const auto& field : arrow_schema_->fields()) {
      std::unique_ptr<arrow::ArrayBuilder> builder;
      ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), field->type(), &builder));
      builders_.push_back(std::move(builder));
    }
    return arrow::Status::OK();
  }

  arrow::Status Append(const NamedRow& named, int64_t row_number) {
    const auto& fields = schema_->fields();
    Queued queued{row_number, std::vector<Value>(fields.size())};
    std::vector<bool> seen(fields.size(), false);
    for (const auto& [name, value] : named) {
      const Field* field = schema_->GetField(name);
      if (!field) {
        return arrow::Status::KeyError("Row ", row_number, ": field '", name,
                                       "' is not in the schema '", schema_->name(), "'");
      }
      const size_t index = static_cast<size_t>(field - fields.data());
      if (seen[index]) {
        return arrow::Status::Invalid("Row ", row_number, ": field '", name, "' given twice");
      }
      seen[index] = true;
      queued.values[index] = value;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!seen[i] && !fields[i].nullable) {
        return arrow::Status::KeyError("Row ", row_number, ": field '", fields[i].name,
                                       "' is missing and is not nullable");
      }
      auto status = internal::CheckValue(fields[i], *arrow_schema_->field(static_cast<int>(i))->type(),
                                         queued.values[i]);
      if (!status.ok()) return status.WithMessage("Row ", row_number, ": ", status.message());
    }
    queued_.push_back(std::move(queued));
    return arrow::Status::OK();
  }

  int64_t queued_rows() const { return static_cast<int64_t>(queued_.size()); }
  int64_t encoded_rows() const { return static_cast<int64_t>(encoded_.size()); }
  int64_t batch_rows() const { return batch_rows_; }

  arrow::Status EncodeQueued() {
    if (queued_.empty()) return arrow::Status::OK();
    const auto& fields = schema_->fields();
    std::vector<Encoded> encoded(queued_.size());
    auto encode_row = [&](int i) -> arrow::Status {
      Queued& row = queued_[static_cast<size_t>(i)];
      Encoded& out = encoded[static_cast<size_t>(i)];
      out.values = std::move(row.values);
      out.blobs.resize(fields.size());
      for (size_t f = 0; f < fields.size(); ++f) {
        if (!fields[f].is_tensor()) continue;
        const Tensor* tensor = std::get_if<Tensor>(&out.values[f]);
        if (!tensor) continue;  // null
        auto buffer = EncodeField(fields[f], *tensor);
        if (!buffer.ok()) {
          return buffer.status().WithMessage("Row ", row.number, ": ", buffer.status().message());
        }
        out.blobs[f] = std::move(*buffer);
        out.values[f] = std::monostate{};  // the tensor is no longer needed
      }
      return arrow::Status::OK();
    };
    auto status = arrow::internal::ParallelFor(static_cast<int>(queued_.size()), encode_row,
                                               arrow::internal::GetCpuThreadPool());
    queued_.clear();
    if (!status.ok()) return status;
    for (auto& row : encoded) encoded_.push_back(std::move(row));
    return arrow::Status::OK();
  }

  arrow::Result<int64_t> TakeEncodedRow() {
    if (encoded_.empty()) return arrow::Status::Invalid("RowEncoder: no encoded row to take");
    Encoded row = std::move(encoded_.front());
    encoded_.pop_front();
    const auto& fields = schema_->fields();
    int64_t row_bytes = 0;
    for (size_t f = 0; f < fields.size(); ++f) {
      if (fields[f].is_tensor()) {
        auto* builder = static_cast<arrow::BinaryBuilder*>(builders_[f].get());
        if (row.blobs[f]) {
          ARROW_RETURN_NOT_OK(builder->Append(row.blobs[f]->data(), row.blobs[f]->size()));
          row_bytes += row.blobs[f]->size();
        } else {
          ARROW_RETURN_NOT_OK(builder->AppendNull());
        }
        continue;
      }
      const Value& v = row.values[f];
      ARROW_RETURN_NOT_OK(internal::AppendScalar(fields[f], v, builders_[f].get()));
      if (auto* s = std::get_if<std::string>(&v)) row_bytes += static_cast<int64_t>(s->size());
      else if (auto* b = std::get_if<Bytes>(&v)) row_bytes += static_cast<int64_t>(b->data.size());
      else row_bytes += 8;
    }
    ++batch_rows_;
    return row_bytes;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> FinishBatch() {
    arrow::ArrayVector arrays;
    for (auto& builder : builders_) {
      std::shared_ptr<arrow::Array> array;
      ARROW_RETURN_NOT_OK(builder->Finish(&array));
      arrays.push_back(std::move(array));
    }
    auto batch = arrow::RecordBatch::Make(arrow_schema_, batch_rows_, std::move(arrays));
    batch_rows_ = 0;
    return batch;
  }

  // Drops queued, encoded and taken rows.
  void Clear() {
    queued_.clear();
    encoded_.clear();
    for (auto& builder : builders_) builder->Reset();
    batch_rows_ = 0;
  }

  const std::shared_ptr<arrow::Schema>& arrow_schema() const { return arrow_schema_; }
  const std::shared_ptr<const Unischema>& schema() const { return schema_; }

 private:
  struct Queued {
    int64_t number;
    std::vector<Value> values;
  };
  struct Encoded {
    std::vector<Value> values;                          // scalars (tensors moved out)
    std::vector<std::shared_ptr<arrow::Buffer>> blobs;  // per codec field; null for a null cell
  };

  const std::shared_ptr<const Unischema> schema_;
  std::shared_ptr<arrow::Schema> arrow_schema_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  std::vector<Queued> queued_;
  std::deque<Encoded> encoded_;
  int64_t batch_rows_ = 0;
};

arrow::Result<std::unique_ptr<RowEncoder>> RowEncoder::Make(std::shared_ptr<const Unischema> schema) {
  if (!schema) return arrow::Status::Invalid("RowEncoder needs a schema");
  auto impl = std::make_unique<Impl>(std::move(schema));
  ARROW_RETURN_NOT_OK(impl->Init());
  return std::unique_ptr<RowEncoder>(new RowEncoder(std::move(impl)));
}

RowEncoder::RowEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RowEncoder::~RowEncoder() = default;

arrow::Status RowEncoder::Append(const NamedRow& row, int64_t row_number) {
  return impl_->Append(row, row_number);
}
int64_t RowEncoder::queued_rows() const { return impl_->queued_rows(); }
arrow::Status RowEncoder::EncodeQueued() { return impl_->EncodeQueued(); }
int64_t RowEncoder::encoded_rows() const { return impl_->encoded_rows(); }
arrow::Result<int64_t> RowEncoder::TakeEncodedRow() { return impl_->TakeEncodedRow(); }
int64_t RowEncoder::batch_rows() const { return impl_->batch_rows(); }
arrow::Result<std::shared_ptr<arrow::RecordBatch>> RowEncoder::FinishBatch() { return impl_->FinishBatch(); }
const std::shared_ptr<arrow::Schema>& RowEncoder::arrow_schema() const { return impl_->arrow_schema(); }
const std::shared_ptr<const Unischema>& RowEncoder::schema() const { return impl_->schema(); }

arrow::Result<std::shared_ptr<arrow::RecordBatch>> RowEncoder::EncodeRows(const std::vector<NamedRow>& rows,
                                                                          int64_t first_row_number) {
  auto encode = [&]() -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
    for (size_t i = 0; i < rows.size(); ++i) {
      ARROW_RETURN_NOT_OK(impl_->Append(rows[i], first_row_number + static_cast<int64_t>(i)));
    }
    ARROW_RETURN_NOT_OK(impl_->EncodeQueued());
    while (impl_->encoded_rows() > 0) ARROW_RETURN_NOT_OK(impl_->TakeEncodedRow().status());
    return impl_->FinishBatch();
  };
  auto batch = encode();
  if (!batch.ok()) impl_->Clear();  // none of `rows` stays behind
  return batch;
}

}  // namespace petastorm
