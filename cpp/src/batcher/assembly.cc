#include "batcher/assembly_internal.h"

#include <optional>
#include <utility>

#include <arrow/array/builder_base.h>
#include <arrow/array/data.h>
#include <arrow/buffer.h>

namespace petastorm::internal {

ScalarType Promote(ScalarType type, bool for_torch) {
  if (!for_torch) return type;
  switch (type) {
    case ScalarType::kUInt16: return ScalarType::kInt32;
    case ScalarType::kUInt32: return ScalarType::kInt64;
    case ScalarType::kBool: return ScalarType::kUInt8;
    default: return type;
  }
}

namespace {

arrow::Status ConvertError(const std::string& name, ScalarType from, ScalarType to) {
  return arrow::Status::TypeError("Batcher: field '", name, "': cannot convert ", ScalarTypeName(from),
                                  " to ", ScalarTypeName(to));
}

}  // namespace

arrow::Status CheckPlan(const std::string& name, const Source& source, bool promote_for_torch, FieldPlan* plan_out) {
  FieldPlan& plan = *plan_out;
  if (plan.out == FieldPlan::Out::kUndecided) {
    if (source.kind == SourceKind::kObject) {
      plan.out = FieldPlan::Out::kArrowObjects;
      plan.arrow_type = source.array->type();
    } else if (source.kind == SourceKind::kTensors && !source.numeric_tensors) {
      plan.out = FieldPlan::Out::kTensorObjects;
    } else {
      plan.out = FieldPlan::Out::kNumeric;
      ScalarType type = source.elements.type;
      if (source.kind == SourceKind::kTensors) {
        type = ScalarType::kUInt8;
        for (const auto& t : source.tensors) {
          if (t) {
            type = t->element.type;
            break;
          }
        }
      }
      plan.type = Promote(type, promote_for_torch);
    }
  }
  switch (plan.out) {
    case FieldPlan::Out::kArrowObjects:
      if (source.kind != SourceKind::kObject || !source.array->type()->Equals(*plan.arrow_type)) {
        return arrow::Status::TypeError("Batcher: field '", name, "' was ", plan.arrow_type->ToString(),
                                        ", now ", source.array ? source.array->type()->ToString()
                                                               : std::string("tensors"));
      }
      return arrow::Status::OK();
    case FieldPlan::Out::kTensorObjects:
      if (source.kind != SourceKind::kTensors || source.numeric_tensors) {
        return arrow::Status::TypeError("Batcher: field '", name, "' was non-numeric tensors, now not");
      }
      return arrow::Status::OK();
    case FieldPlan::Out::kNumeric: {
      if (!source.numeric()) {
        return arrow::Status::TypeError("Batcher: field '", name, "' was numeric (",
                                        ScalarTypeName(plan.type), "), now not");
      }
      if (source.kind == SourceKind::kTensors) {
        for (const auto& t : source.tensors) {
          if (t && !CanConvert(t->element.type, plan.type)) return ConvertError(name, t->element.type, plan.type);
        }
      } else if (!CanConvert(source.elements.type, plan.type)) {
        return ConvertError(name, source.elements.type, plan.type);
      }
      return arrow::Status::OK();
    }
    case FieldPlan::Out::kUndecided:
      break;
  }
  return arrow::Status::OK();
}

namespace {

const std::optional<Tensor>& TensorAt(const Selection& selection, size_t run_index,
                                             int64_t row, size_t f) {
  return selection.runs[run_index].chunk->sources[f].tensors[static_cast<size_t>(row)];
}

arrow::Result<std::shared_ptr<arrow::Array>> AssembleArray(const std::string& name, const FieldPlan& plan, const Selection& selection, size_t f) {
  if (selection.runs.size() == 1) {
    const Run& run = selection.runs[0];
    return run.chunk->sources[f].array->Slice(run.begin, run.count);
  }
  std::unique_ptr<arrow::ArrayBuilder> builder;
  ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), plan.arrow_type, &builder));
  ARROW_RETURN_NOT_OK(builder->Reserve(selection.num_rows));
  const arrow::ArrayData* span_of = nullptr;
  arrow::ArraySpan span;
  for (const Run& run : selection.runs) {
    const arrow::ArrayData* data = run.chunk->sources[f].array->data().get();
    if (data != span_of) {
      span = arrow::ArraySpan(*data);
      span_of = data;
    }
    auto status = builder->AppendArraySlice(span, run.begin, run.count);
    if (!status.ok()) {
      return status.WithMessage("Batcher: field '", name, "' (", plan.arrow_type->ToString(),
                                "): ", status.message());
    }
  }
  std::shared_ptr<arrow::Array> array;
  ARROW_RETURN_NOT_OK(builder->Finish(&array));
  return array;
}

// The elements of one row of a numeric non-tensor source: (first element, count).
std::pair<int64_t, int64_t> RowElements(const Source& s, int64_t row) {
  if (s.kind == SourceKind::kList) {
    return {s.ListBegin(row) * s.row_elements, s.ListLength(row) * s.row_elements};
  }
  return {row * s.row_elements, s.row_elements};
}

void RowShape(const Source& s, int64_t row, std::vector<int64_t>* shape) {
  shape->clear();
  if (s.kind == SourceKind::kList) shape->push_back(s.ListLength(row));
  shape->insert(shape->end(), s.row_shape.begin(), s.row_shape.end());
}

arrow::Status AssembleNumeric(const std::string& name, const FieldPlan& plan, const Selection& selection, size_t f, BatchColumn* out) {
  const ScalarType type = plan.type;
  const int64_t itemsize = FixedItemSize(type);
  // Do the rows share a shape?
  std::optional<std::vector<int64_t>> common;
  bool uniform = true;
  std::vector<int64_t> shape;
  for (size_t r = 0; r < selection.runs.size() && uniform; ++r) {
    const Run& run = selection.runs[r];
    const Source& s = run.chunk->sources[f];
    const bool per_row = s.kind == SourceKind::kList || s.kind == SourceKind::kTensors;
    const int64_t rows_to_check = per_row ? run.count : 1;
    for (int64_t i = 0; i < rows_to_check && uniform; ++i) {
      const int64_t row = run.begin + i;
      if (s.kind == SourceKind::kTensors) {
        shape = TensorAt(selection, r, row, f)->shape;
      } else {
        RowShape(s, row, &shape);
      }
      if (!common) {
        common = shape;
      } else if (*common != shape) {
        uniform = false;
      }
    }
  }
  if (uniform) {
    std::vector<int64_t> dense_shape{selection.num_rows};
    dense_shape.insert(dense_shape.end(), common->begin(), common->end());
    int64_t row_elements = 1;
    for (int64_t d : *common) row_elements *= d;
    if (selection.runs.size() == 1 && selection.runs[0].chunk->lends_buffers) {
      // Consecutive rows of one decoded row group, already of the batch's type: a view of its
      // buffer (writable when the buffer is).
      const Run& run = selection.runs[0];
      const Source& s = run.chunk->sources[f];
      if ((s.kind == SourceKind::kStacked || s.kind == SourceKind::kList) && s.stacked &&
          s.stacked->data && !s.elements.bits && s.elements.type == type) {
        const int64_t first = RowElements(s, run.begin).first;
        Tensor view;
        view.element = ElementType::Of(type);
        view.shape = std::move(dense_shape);
        const uint8_t* begin = s.elements.data + first * itemsize;
        const int64_t size = run.count * row_elements * itemsize;
        std::shared_ptr<arrow::Buffer> root = s.stacked->data;
        while (root->parent()) root = root->parent();
        view.data = root->is_mutable() ? arrow::SliceMutableBuffer(root, begin - root->data(), size)
                                       : arrow::SliceBuffer(s.stacked->data, begin - s.elements.data, size);
        out->kind = BatchColumn::Kind::kDense;
        out->dense = std::move(view);
        return arrow::Status::OK();
      }
    }
    ARROW_ASSIGN_OR_RAISE(Tensor dense, Tensor::Allocate(ElementType::Of(type), std::move(dense_shape)));
    uint8_t* dst = dense.data->mutable_data();
    for (size_t r = 0; r < selection.runs.size(); ++r) {
      const Run& run = selection.runs[r];
      const Source& s = run.chunk->sources[f];
      if (s.kind == SourceKind::kTensors) {
        for (int64_t row = run.begin; row < run.begin + run.count; ++row) {
          ARROW_RETURN_NOT_OK(internal::CopyTensorAs(*TensorAt(selection, r, row, f), type, dst));
          dst += row_elements * itemsize;
        }
      } else {
        // Consecutive rows of one source are consecutive elements.
        const int64_t first = RowElements(s, run.begin).first;
        const int64_t count = run.count * row_elements;
        CopyElements(s.elements, first, count, type, dst);
        dst += count * itemsize;
      }
    }
    out->kind = BatchColumn::Kind::kDense;
    out->dense = std::move(dense);
    return arrow::Status::OK();
  }
  // Rows of different shapes: one tensor per row.
  out->kind = BatchColumn::Kind::kTensors;
  out->tensors.reserve(static_cast<size_t>(selection.num_rows));
  for (size_t r = 0; r < selection.runs.size(); ++r) {
    const Run& run = selection.runs[r];
    const Source& s = run.chunk->sources[f];
    for (int64_t row = run.begin; row < run.begin + run.count; ++row) {
      if (s.kind == SourceKind::kTensors) {
        const Tensor& t = *TensorAt(selection, r, row, f);
        if (t.element.type == type && !(t.fortran_order && t.shape.size() > 1)) {
          out->tensors.push_back(t);  // shared, not copied
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(Tensor copy, Tensor::Allocate(ElementType::Of(type), t.shape));
        ARROW_RETURN_NOT_OK(internal::CopyTensorAs(t, type, copy.data->mutable_data()));
        out->tensors.push_back(std::move(copy));
      } else {
        RowShape(s, row, &shape);
        ARROW_ASSIGN_OR_RAISE(Tensor copy, Tensor::Allocate(ElementType::Of(type), shape));
        const auto [first, count] = RowElements(s, row);
        CopyElements(s.elements, first, count, type, copy.data->mutable_data());
        out->tensors.push_back(std::move(copy));
      }
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::unique_ptr<TrainingBatch>> Assemble(const std::vector<std::string>& names_,
                                                       const std::vector<FieldPlan>& plans_,
                                                       const Selection& selection) {
  auto batch = std::make_unique<TrainingBatch>();
  batch->num_rows = selection.num_rows;
  batch->columns.resize(names_.size());
  for (size_t f = 0; f < names_.size(); ++f) {
    BatchColumn& out = batch->columns[f];
    switch (plans_[f].out) {
      case FieldPlan::Out::kNumeric:
        ARROW_RETURN_NOT_OK(AssembleNumeric(names_[f], plans_[f], selection, f, &out));
        break;
      case FieldPlan::Out::kTensorObjects:
        out.kind = BatchColumn::Kind::kTensors;
        out.tensors.reserve(static_cast<size_t>(selection.num_rows));
        for (size_t r = 0; r < selection.runs.size(); ++r) {
          const Run& run = selection.runs[r];
          for (int64_t row = run.begin; row < run.begin + run.count; ++row) {
            out.tensors.push_back(TensorAt(selection, r, row, f));
          }
        }
        break;
      case FieldPlan::Out::kArrowObjects: {
        out.kind = BatchColumn::Kind::kArray;
        ARROW_ASSIGN_OR_RAISE(out.array, AssembleArray(names_[f], plans_[f], selection, f));
        break;
      }
      case FieldPlan::Out::kUndecided:
        return arrow::Status::Invalid("Batcher: field '", names_[f], "' has no input");
    }
  }
  return batch;
}
}  // namespace petastorm::internal
