#include "petastorm/decoded_row_group.h"

#include <arrow/compute/api_vector.h>
#include <arrow/compute/initialize.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/array/util.h>

#include <unordered_set>
#include <vector>

#include "petastorm/codec.h"

namespace petastorm {

namespace {

arrow::Status EnsureComputeInitialized() {
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

}  // namespace

int64_t DecodedRowGroup::MemoryBytes() const {
  // Buffers counted whole, once: a slice (a tensor decoded without a copy, a column taken
  // from a row group) keeps all of its parent alive.
  std::unordered_set<const arrow::Buffer*> seen;
  int64_t bytes = 0;
  auto add = [&](const std::shared_ptr<arrow::Buffer>& buffer) {
    if (!buffer) return;
    const arrow::Buffer* root = buffer.get();
    while (root->parent()) root = root->parent().get();
    if (seen.insert(root).second) bytes += root->size();
  };
  std::vector<const arrow::ArrayData*> pending;
  for (const DecodedColumn& column : columns) {
    if (column.values) pending.push_back(column.values->data().get());
    while (!pending.empty()) {
      const arrow::ArrayData* data = pending.back();
      pending.pop_back();
      for (const auto& buffer : data->buffers) add(buffer);
      for (const auto& child : data->child_data) pending.push_back(child.get());
      if (data->dictionary) pending.push_back(data->dictionary.get());
    }
    for (const std::optional<Tensor>& tensor : column.tensors) {
      if (tensor) add(tensor->data);
    }
  }
  return bytes;
}

const DecodedColumn* DecodedRowGroup::column(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.field->name == name) return &c;
  }
  return nullptr;
}

arrow::Result<std::shared_ptr<const DecodedRowGroup>> EmptyRowGroup(std::shared_ptr<const Unischema> schema) {
  auto empty = std::make_shared<DecodedRowGroup>();
  empty->schema = std::move(schema);
  for (const Field& field : empty->schema->fields()) {
    DecodedColumn column;
    column.field = &field;
    if (!field.is_tensor()) {
      ARROW_ASSIGN_OR_RAISE(auto type, field.StorageType());
      ARROW_ASSIGN_OR_RAISE(column.values, arrow::MakeEmptyArray(type));
    }
    empty->columns.push_back(std::move(column));
  }
  return empty;
}

arrow::Result<std::shared_ptr<const DecodedRowGroup>> TakeRows(const DecodedRowGroup& batch,
                                                            const std::vector<int64_t>& indices,
                                                            std::shared_ptr<const Unischema> schema) {
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  if (!schema) schema = batch.schema;
  for (int64_t i : indices) {
    if (i < 0 || i >= batch.num_rows) {
      return arrow::Status::IndexError("Row index ", i, " out of range for a batch of ",
                                       batch.num_rows, " rows");
    }
  }
  // A run of consecutive rows (the usual case: no shuffle, no predicate) is a zero-copy slice.
  bool consecutive = !indices.empty();
  for (size_t k = 1; consecutive && k < indices.size(); ++k) {
    consecutive = indices[k] == indices[0] + static_cast<int64_t>(k);
  }
  std::shared_ptr<arrow::Array> index_array;  // for arrow::compute::Take, when not consecutive
  if (!consecutive) {
    arrow::Int64Builder index_builder;
    ARROW_RETURN_NOT_OK(index_builder.AppendValues(indices));
    ARROW_RETURN_NOT_OK(index_builder.Finish(&index_array));
  }

  auto out = std::make_shared<DecodedRowGroup>();
  out->schema = schema;
  out->num_rows = static_cast<int64_t>(indices.size());
  out->source = batch.source;
  for (const Field& field : schema->fields()) {
    const DecodedColumn* in = batch.column(field.name);
    if (!in) {
      return arrow::Status::KeyError("The batch does not hold field '", field.name, "'");
    }
    DecodedColumn column;
    column.field = &field;
    const bool tensor_field = field.is_tensor();
    if (tensor_field) {
      column.tensors.reserve(indices.size());
      for (int64_t i : indices) column.tensors.push_back(in->tensors[static_cast<size_t>(i)]);
      // The encoded cells are not needed once decoded.
      column.values = nullptr;
    } else if (consecutive) {
      column.values = in->values->Slice(indices[0], static_cast<int64_t>(indices.size()));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(*in->values, *index_array));
      column.values = std::move(taken);
    }
    out->columns.push_back(std::move(column));
  }
  return out;
}

}  // namespace petastorm
