#include "petastorm/batcher.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <set>

#include <arrow/array/builder_base.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/initialize.h>
#include <arrow/util/bit_util.h>

#include "petastorm/codec.h"
#include "convert/element_copy_internal.h"
#include "petastorm/numpy_column.h"
#include "util/random_internal.h"

namespace petastorm {

namespace {

using internal::CanConvert;
using internal::CopyElements;
using internal::Elements;
using internal::ElementsOf;
using internal::IsNumeric;
using internal::PhysicalType;
using internal::RowMajor;


ScalarType Promote(ScalarType type, bool for_torch) {
  if (!for_torch) return type;
  switch (type) {
    case ScalarType::kUInt16: return ScalarType::kInt32;
    case ScalarType::kUInt32: return ScalarType::kInt64;
    case ScalarType::kBool: return ScalarType::kUInt8;
    default: return type;
  }
}

// How one input lays out one field's rows.
enum class SourceKind {
  kStacked,  // numbers (rows, *row_shape), row-major: a Tensor, or an Arrow column's numpy form
  kList,     // ragged rows of numbers: row r is elements [offsets[r], offsets[r+1]) * row_shape
  kTensors,  // one Tensor per row
  kObject,   // any other Arrow array, batched as an Arrow array
};

struct Source {
  SourceKind kind = SourceKind::kObject;
  std::shared_ptr<arrow::Array> array;  // the Arrow column (keeps its buffers alive)
  Elements elements;                    // numeric Arrow kinds and kStacked: the values
  std::vector<int64_t> row_shape;       // fixed-shape kinds; kList: the shape inside a list item
  int64_t row_elements = 1;             // product of row_shape
  std::optional<Tensor> stacked;        // kStacked, kList: the values (keeps the buffer alive)
  std::shared_ptr<const NumpyColumn> numpy;  // kList: the numpy form holding `offsets`
  const int64_t* offsets = nullptr;     // kList
  std::vector<std::optional<Tensor>> tensors;  // kTensors
  bool numeric_tensors = false;                // kTensors: whether the element type is numeric

  bool numeric() const {
    return kind == SourceKind::kTensors ? numeric_tensors : kind != SourceKind::kObject;
  }

  int64_t ListBegin(int64_t row) const { return offsets[row]; }
  int64_t ListLength(int64_t row) const { return ListBegin(row + 1) - ListBegin(row); }
};

struct Chunk {
  int64_t num_rows = 0;
  std::vector<Source> sources;  // in field order
  bool has_tensors = false;     // some source is kTensors
};

std::string NullMessage(const std::string& name) {
  return "Pytorch does not support nullable fields. Found None in " + name;
}

// A dictionary-encoded array decoded to its value type.
arrow::Result<std::shared_ptr<arrow::Array>> Decoded(std::shared_ptr<arrow::Array> array) {
  if (array->type_id() != arrow::Type::DICTIONARY) return array;
  static const arrow::Status init = arrow::compute::Initialize();
  ARROW_RETURN_NOT_OK(init);
  auto& dict = static_cast<const arrow::DictionaryArray&>(*array);
  return arrow::compute::Take(*dict.dictionary(), *dict.indices());
}

// Whether the array, or the values of its lists at any depth, hold a null.
bool AnyNulls(const arrow::Array& array) {
  if (array.null_count() > 0) return true;
  switch (array.type_id()) {
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& list = static_cast<const arrow::FixedSizeListArray&>(array);
      const int64_t k = list.value_length();
      return AnyNulls(*list.values()->Slice(list.offset() * k, list.length() * k));
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST: {
      const auto& list = static_cast<const arrow::BaseListArray<arrow::ListType>&>(array);
      if (array.type_id() == arrow::Type::LIST) {
        if (list.length() == 0) return false;
        const int64_t begin = list.value_offset(0);
        return AnyNulls(*list.values()->Slice(begin, list.value_offset(list.length()) - begin));
      }
      const auto& large = static_cast<const arrow::LargeListArray&>(array);
      if (large.length() == 0) return false;
      const int64_t begin = large.value_offset(0);
      return AnyNulls(*large.values()->Slice(begin, large.value_offset(large.length()) - begin));
    }
    default:
      return false;
  }
}

bool IsTimeOrDuration(const arrow::DataType& type) {
  return type.id() == arrow::Type::TIME32 || type.id() == arrow::Type::TIME64 || type.id() == arrow::Type::DURATION;
}

// The source of an Arrow column whose values are declared as `declared` (the field's numpy
// type; std::nullopt: as the Arrow type says). What is numeric, and its layout, is the numpy
// rule's (numpy_column.h): numbers (and, when the field declares a number, the integer storage
// of dates and times) become kStacked, ragged lists of numbers kList, everything else kObject.
arrow::Result<Source> ArraySource(const std::string& name, std::shared_ptr<arrow::Array> array,
                                  std::optional<ScalarType> declared, bool float_nulls_as_nan) {
  ARROW_ASSIGN_OR_RAISE(array, Decoded(std::move(array)));
  Source s;
  s.array = array;
  s.kind = SourceKind::kObject;
  const arrow::DataType& type = *array->type();
  if (declared && !IsNumeric(*declared)) return s;
  if (!declared && IsTimeOrDuration(type)) return s;  // numbers only when the field says so
  auto numpy_type = NumpyTypeOf(name, type);
  const bool storage_as_number = declared && PhysicalType(type).has_value();
  if (!storage_as_number && (!numpy_type.ok() || !IsNumeric(numpy_type->dtype))) return s;
  if (AnyNulls(*array)) {
    const bool float_scalar = PhysicalType(type) == ScalarType::kFloat32 || PhysicalType(type) == ScalarType::kFloat64;
    if (!float_nulls_as_nan || !float_scalar) return arrow::Status::TypeError(NullMessage(name));
  }
  ARROW_ASSIGN_OR_RAISE(NumpyColumn column, ArrowToNumpy(array, NullPolicy::kBatch));
  auto as_numbers = [](Tensor t) {
    if (t.element.type == ScalarType::kDatetime64) t.element = ElementType::Of(ScalarType::kInt64);
    return t;
  };
  if (column.kind == NumpyColumn::Kind::kTensor &&
      (IsNumeric(column.tensor.element.type) || storage_as_number)) {
    s.kind = SourceKind::kStacked;
    s.stacked = as_numbers(std::move(column.tensor));
  } else if (column.kind == NumpyColumn::Kind::kRows && column.child->kind == NumpyColumn::Kind::kTensor &&
             IsNumeric(column.child->tensor.element.type)) {
    s.kind = SourceKind::kList;
    s.numpy = std::make_shared<const NumpyColumn>(std::move(column));
    s.offsets = s.numpy->offsets.data();
    s.stacked = s.numpy->child->tensor;
  } else {
    return s;
  }
  s.row_shape.assign(s.stacked->shape.begin() + 1, s.stacked->shape.end());
  for (int64_t d : s.row_shape) s.row_elements *= d;
  s.elements.type = s.stacked->element.type;
  s.elements.data = s.stacked->data ? s.stacked->data->data() : nullptr;
  return s;
}

arrow::Result<Source> TensorsSource(const std::string& name, std::vector<std::optional<Tensor>> tensors,
                                    std::optional<ScalarType> declared) {
  Source s;
  s.kind = SourceKind::kTensors;
  std::optional<ScalarType> element = declared;
  for (const auto& t : tensors) {
    if (t) {
      if (!element) element = t->element.type;
      if (IsNumeric(t->element.type) != IsNumeric(*element)) {
        return arrow::Status::TypeError("Field '", name, "': tensors of ", t->element.TypeString(),
                                        " and of ", ScalarTypeName(*element), " in one input");
      }
    }
  }
  s.numeric_tensors = element && IsNumeric(*element);
  if (s.numeric_tensors) {
    for (const auto& t : tensors) {
      if (!t) return arrow::Status::TypeError(NullMessage(name));
    }
  }
  s.tensors = std::move(tensors);
  return s;
}

// A run of consecutive rows of one chunk.
struct Run {
  std::shared_ptr<Chunk> chunk;
  int64_t begin = 0;
  int64_t count = 0;
};

// The rows of one batch, in order.
struct Selection {
  int64_t num_rows = 0;
  std::vector<Run> runs;
};

// A row of the shuffling buffer. Small: a batch is drawn at random positions of the buffer.
struct Entry {
  std::shared_ptr<Chunk> chunk;
  int64_t row = 0;
};

// What a field becomes, fixed by the first input holding it.
struct FieldPlan {
  enum class Out { kUndecided, kNumeric, kTensorObjects, kArrowObjects };
  Out out = Out::kUndecided;
  ScalarType type = ScalarType::kUInt8;        // kNumeric: the output element type
  std::shared_ptr<arrow::DataType> arrow_type; // kArrowObjects
};

}  // namespace

class Batcher::Impl {
 public:
  Impl(std::vector<std::string> names, BatcherOptions options)
      : names_(std::move(names)), options_(options), plans_(names_.size()),
        rng_(internal::DeriveSeed(options.seed, kShuffleBufferTag)) {}

  const std::vector<std::string>& names() const { return names_; }
  const BatcherOptions& options() const { return options_; }
  int64_t rows_held() const { return pending_rows_ + static_cast<int64_t>(buffer_.size()); }
  bool finished() const { return finished_; }
  void Finish() { finished_ = true; }

  arrow::Status Add(std::shared_ptr<const DecodedRowGroup> batch) {
    if (finished_) return arrow::Status::Invalid("Batcher: Add after Finish");
    if (!batch || batch->num_rows == 0) return arrow::Status::OK();
    auto chunk = std::make_shared<Chunk>();
    chunk->num_rows = batch->num_rows;
    for (const std::string& name : names_) {
      const DecodedColumn* column = batch->column(name);
      if (!column) return arrow::Status::Invalid("Batcher: the input has no field '", name, "'");
      const Field& field = *column->field;
      Source source;
      if (field.is_tensor()) {
        if (static_cast<int64_t>(column->tensors.size()) != batch->num_rows) {
          return arrow::Status::Invalid("Batcher: field '", name, "' has ", column->tensors.size(),
                                        " tensors for ", batch->num_rows, " rows");
        }
        ARROW_ASSIGN_OR_RAISE(source, TensorsSource(name, column->tensors, field.dtype));
      } else {
        if (!column->values || column->values->length() != batch->num_rows) {
          return arrow::Status::Invalid("Batcher: field '", name, "' does not have ", batch->num_rows,
                                        " values");
        }
        ARROW_ASSIGN_OR_RAISE(source, ArraySource(name, column->values, field.dtype,
                                                  options_.float_nulls_as_nan));
      }
      chunk->sources.push_back(std::move(source));
    }
    return Enqueue(std::move(chunk));
  }

  arrow::Status AddColumns(int64_t num_rows, std::vector<ColumnInput> columns) {
    if (finished_) return arrow::Status::Invalid("Batcher: AddColumns after Finish");
    if (columns.size() != names_.size()) {
      return arrow::Status::Invalid("Batcher: ", columns.size(), " columns for ", names_.size(), " fields");
    }
    if (num_rows == 0) return arrow::Status::OK();
    auto chunk = std::make_shared<Chunk>();
    chunk->num_rows = num_rows;
    for (size_t f = 0; f < columns.size(); ++f) {
      const std::string& name = names_[f];
      ColumnInput& column = columns[f];
      Source source;
      switch (column.kind) {
        case ColumnInput::Kind::kStacked: {
          if (!column.stacked) return arrow::Status::Invalid("Batcher: field '", name, "': no stacked tensor");
          Tensor& t = *column.stacked;
          ARROW_RETURN_NOT_OK(t.Validate());
          if (t.shape.empty() || t.shape[0] != num_rows) {
            return arrow::Status::Invalid("Batcher: field '", name, "' has shape ", ShapeToString(t.shape),
                                          " for ", num_rows, " rows");
          }
          if (!IsNumeric(t.element.type)) {
            return arrow::Status::TypeError("Batcher: field '", name, "': stacked rows of ",
                                            t.element.TypeString(), " are not numeric");
          }
          if (t.fortran_order && t.shape.size() > 1) {
            ARROW_ASSIGN_OR_RAISE(t, RowMajor(t));
          }
          source.kind = SourceKind::kStacked;
          source.row_shape.assign(t.shape.begin() + 1, t.shape.end());
          for (int64_t d : source.row_shape) source.row_elements *= d;
          source.elements.type = t.element.type;
          source.elements.data = t.data ? t.data->data() : nullptr;
          source.stacked = std::move(t);
          break;
        }
        case ColumnInput::Kind::kArray: {
          if (!column.array || column.array->length() != num_rows) {
            return arrow::Status::Invalid("Batcher: field '", name, "' does not have ", num_rows, " values");
          }
          ARROW_ASSIGN_OR_RAISE(source, ArraySource(name, column.array, std::nullopt,
                                                    options_.float_nulls_as_nan));
          break;
        }
        case ColumnInput::Kind::kTensors: {
          if (static_cast<int64_t>(column.tensors.size()) != num_rows) {
            return arrow::Status::Invalid("Batcher: field '", name, "' has ", column.tensors.size(),
                                          " tensors for ", num_rows, " rows");
          }
          ARROW_ASSIGN_OR_RAISE(source, TensorsSource(name, std::move(column.tensors), std::nullopt));
          break;
        }
      }
      chunk->sources.push_back(std::move(source));
    }
    return Enqueue(std::move(chunk));
  }

  arrow::Result<std::unique_ptr<TrainingBatch>> Next() {
    Selection selection;
    if (options_.shuffling_queue_capacity > 0) {
      Refill();
      const int64_t threshold = options_.shuffling_queue_capacity - 1 + options_.batch_size;
      const int64_t size = static_cast<int64_t>(buffer_.size());
      if (size == 0 || (size < threshold && !finished_)) return nullptr;
      const int64_t n = std::min(options_.batch_size, size);
      if (n < options_.batch_size && options_.drop_last) {
        buffer_.clear();
        return nullptr;
      }
      Pick(n, &selection);
      ARROW_ASSIGN_OR_RAISE(auto batch, Assemble(selection));
      ReleaseTensors(selection);
      return batch;
    } else {
      if (pending_rows_ == 0 || (pending_rows_ < options_.batch_size && !finished_)) return nullptr;
      const int64_t n = std::min(options_.batch_size, pending_rows_);
      if (n < options_.batch_size && options_.drop_last) {
        queue_.clear();
        pending_rows_ = 0;
        front_offset_ = 0;
        return nullptr;
      }
      TakeInOrder(n, &selection);
    }
    return Assemble(selection);
  }

 private:
  static constexpr uint64_t kShuffleBufferTag = 101;

  arrow::Status Enqueue(std::shared_ptr<Chunk> chunk) {
    for (size_t f = 0; f < names_.size(); ++f) {
      Source& source = chunk->sources[f];
      ARROW_RETURN_NOT_OK(CheckPlan(f, source));
      if (source.kind == SourceKind::kTensors) chunk->has_tensors = true;
    }
    pending_rows_ += chunk->num_rows;
    queue_.push_back(std::move(chunk));
    return arrow::Status::OK();
  }

  // Fixes the field's plan at its first input; later inputs must agree with it.
  arrow::Status CheckPlan(size_t f, const Source& source) {
    FieldPlan& plan = plans_[f];
    const std::string& name = names_[f];
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
        plan.type = Promote(type, options_.promote_for_torch);
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

  static arrow::Status ConvertError(const std::string& name, ScalarType from, ScalarType to) {
    return arrow::Status::TypeError("Batcher: field '", name, "': cannot convert ", ScalarTypeName(from),
                                    " to ", ScalarTypeName(to));
  }

  void TakeInOrder(int64_t n, Selection* selection) {
    selection->num_rows = n;
    while (n > 0) {
      const std::shared_ptr<Chunk>& chunk = queue_.front();
      const int64_t take = std::min(n, chunk->num_rows - front_offset_);
      selection->runs.push_back(Run{chunk, front_offset_, take});
      front_offset_ += take;
      pending_rows_ -= take;
      n -= take;
      if (front_offset_ == chunk->num_rows) {
        queue_.pop_front();
        front_offset_ = 0;
      }
    }
  }

  // Moves waiting rows into the shuffling buffer until it holds capacity - 1 + batch_size.
  void Refill() {
    const auto limit = static_cast<size_t>(options_.shuffling_queue_capacity - 1 + options_.batch_size);
    while (buffer_.size() < limit && !queue_.empty()) {
      const std::shared_ptr<Chunk>& chunk = queue_.front();
      buffer_.push_back(Entry{chunk, front_offset_});
      --pending_rows_;
      if (++front_offset_ == chunk->num_rows) {
        queue_.pop_front();
        front_offset_ = 0;
      }
    }
  }

  // Draws n rows uniformly at random from the buffer.
  void Pick(int64_t n, Selection* selection) {
    selection->num_rows = n;
    selection->runs.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const size_t j = static_cast<size_t>(rng_.Below(buffer_.size()));
      Entry& entry = buffer_[j];
      selection->runs.push_back(Run{std::move(entry.chunk), entry.row, 1});
      if (j + 1 != buffer_.size()) entry = std::move(buffer_.back());
      buffer_.pop_back();
    }
  }

  // Lets go of the tensors of rows drawn from the shuffling buffer, so that a row group's
  // tensors are released row by row as they leave the buffer, not with its last row.
  void ReleaseTensors(const Selection& selection) {
    for (const Run& run : selection.runs) {
      if (!run.chunk->has_tensors) continue;
      for (Source& source : run.chunk->sources) {
        if (source.kind != SourceKind::kTensors) continue;
        for (int64_t row = run.begin; row < run.begin + run.count; ++row) {
          source.tensors[static_cast<size_t>(row)].reset();
        }
      }
    }
  }

  static const std::optional<Tensor>& TensorAt(const Selection& selection, size_t run_index,
                                               int64_t row, size_t f) {
    return selection.runs[run_index].chunk->sources[f].tensors[static_cast<size_t>(row)];
  }

  arrow::Result<std::unique_ptr<TrainingBatch>> Assemble(const Selection& selection) {
    auto batch = std::make_unique<TrainingBatch>();
    batch->num_rows = selection.num_rows;
    batch->columns.resize(names_.size());
    for (size_t f = 0; f < names_.size(); ++f) {
      BatchColumn& out = batch->columns[f];
      switch (plans_[f].out) {
        case FieldPlan::Out::kNumeric:
          ARROW_RETURN_NOT_OK(AssembleNumeric(selection, f, &out));
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
          ARROW_ASSIGN_OR_RAISE(out.array, AssembleArray(selection, f));
          break;
        }
        case FieldPlan::Out::kUndecided:
          return arrow::Status::Invalid("Batcher: field '", names_[f], "' has no input");
      }
    }
    return batch;
  }

  arrow::Result<std::shared_ptr<arrow::Array>> AssembleArray(const Selection& selection, size_t f) {
    if (selection.runs.size() == 1) {
      const Run& run = selection.runs[0];
      return run.chunk->sources[f].array->Slice(run.begin, run.count);
    }
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), plans_[f].arrow_type, &builder));
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
        return status.WithMessage("Batcher: field '", names_[f], "' (", plans_[f].arrow_type->ToString(),
                                  "): ", status.message());
      }
    }
    std::shared_ptr<arrow::Array> array;
    ARROW_RETURN_NOT_OK(builder->Finish(&array));
    return array;
  }

  // The elements of one row of a numeric non-tensor source: (first element, count).
  static std::pair<int64_t, int64_t> RowElements(const Source& s, int64_t row) {
    if (s.kind == SourceKind::kList) {
      return {s.ListBegin(row) * s.row_elements, s.ListLength(row) * s.row_elements};
    }
    return {row * s.row_elements, s.row_elements};
  }

  static void RowShape(const Source& s, int64_t row, std::vector<int64_t>* shape) {
    shape->clear();
    if (s.kind == SourceKind::kList) shape->push_back(s.ListLength(row));
    shape->insert(shape->end(), s.row_shape.begin(), s.row_shape.end());
  }

  arrow::Status AssembleNumeric(const Selection& selection, size_t f, BatchColumn* out) {
    const ScalarType type = plans_[f].type;
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
      ARROW_ASSIGN_OR_RAISE(Tensor dense, Tensor::Allocate(ElementType::Of(type), std::move(dense_shape)));
      int64_t row_elements = 1;
      for (int64_t d : *common) row_elements *= d;
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

  const std::vector<std::string> names_;
  const BatcherOptions options_;
  std::vector<FieldPlan> plans_;
  internal::Rng rng_;
  bool finished_ = false;
  // Inputs not yet (fully) taken, oldest first; front_offset_ rows of the front one are taken.
  std::deque<std::shared_ptr<Chunk>> queue_;
  int64_t front_offset_ = 0;
  int64_t pending_rows_ = 0;
  std::vector<Entry> buffer_;  // the shuffling buffer
};

arrow::Result<std::unique_ptr<Batcher>> Batcher::Make(std::vector<std::string> field_names,
                                                      BatcherOptions options) {
  if (options.batch_size <= 0) {
    return arrow::Status::Invalid("batch_size must be positive, got ", options.batch_size);
  }
  if (options.shuffling_queue_capacity < 0) {
    return arrow::Status::Invalid("shuffling_queue_capacity must not be negative, got ",
                                  options.shuffling_queue_capacity);
  }
  if (field_names.empty()) return arrow::Status::Invalid("Batcher: no fields to batch");
  std::set<std::string> seen;
  for (const auto& name : field_names) {
    if (name.empty()) return arrow::Status::Invalid("Batcher: empty field name");
    if (!seen.insert(name).second) return arrow::Status::Invalid("Batcher: field '", name, "' appears twice");
  }
  return std::unique_ptr<Batcher>(
      new Batcher(std::make_unique<Impl>(std::move(field_names), options)));
}

Batcher::Batcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Batcher::~Batcher() = default;

const std::vector<std::string>& Batcher::field_names() const { return impl_->names(); }
const BatcherOptions& Batcher::options() const { return impl_->options(); }
arrow::Status Batcher::Add(std::shared_ptr<const DecodedRowGroup> batch) { return impl_->Add(std::move(batch)); }
arrow::Status Batcher::AddColumns(int64_t num_rows, std::vector<ColumnInput> columns) {
  return impl_->AddColumns(num_rows, std::move(columns));
}
void Batcher::Finish() { impl_->Finish(); }
arrow::Result<std::unique_ptr<TrainingBatch>> Batcher::Next() { return impl_->Next(); }
int64_t Batcher::rows_held() const { return impl_->rows_held(); }
bool Batcher::finished() const { return impl_->finished(); }

}  // namespace petastorm
