#include "petastorm/numpy_column.h"

#include <arrow/array/array_primitive.h>
#include <arrow/json/from_string.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "util/test_macros_internal.h"

namespace petastorm {
namespace {

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type, const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> out(static_cast<size_t>(t.nbytes()) / sizeof(T));
  std::memcpy(out.data(), t.data->data(), static_cast<size_t>(t.nbytes()));
  return out;
}

TEST(NumpyColumnTest, NumbersAreZeroCopyViews) {
  auto array = Json(arrow::int32(), "[1, 2, 3, 4]")->Slice(1, 3);
  ASSERT_OK_AND_ASSIGN(NumpyColumn c, ArrowToNumpy(array, NullPolicy::kBatch));
  ASSERT_EQ(c.kind, NumpyColumn::Kind::kTensor);
  EXPECT_TRUE(c.zero_copy);
  EXPECT_EQ(c.tensor.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(c.tensor.element.TypeString(), "<i4");
  EXPECT_EQ(c.tensor.data->data(), array->data()->buffers[1]->data() + 4);
  EXPECT_EQ(Values<int32_t>(c.tensor), (std::vector<int32_t>{2, 3, 4}));
  // A declared type converts (a copy).
  ASSERT_OK_AND_ASSIGN(NumpyColumn as_float, ArrowToNumpy(array, NullPolicy::kBatch, ScalarType::kFloat64));
  EXPECT_FALSE(as_float.zero_copy);
  EXPECT_EQ(Values<double>(as_float.tensor), (std::vector<double>{2, 3, 4}));
}

TEST(NumpyColumnTest, NullsFollowThePolicy) {
  auto ints = Json(arrow::int16(), "[1, null, 3]");
  ASSERT_OK_AND_ASSIGN(NumpyColumn batch, ArrowToNumpy(ints, NullPolicy::kBatch));
  EXPECT_EQ(batch.tensor.element.type, ScalarType::kFloat64);  // as pandas does
  auto values = Values<double>(batch.tensor);
  EXPECT_EQ(values[0], 1);
  EXPECT_TRUE(std::isnan(values[1]));
  ASSERT_OK_AND_ASSIGN(NumpyColumn rows, ArrowToNumpy(ints, NullPolicy::kRows));
  EXPECT_EQ(rows.tensor.element.type, ScalarType::kInt16);
  EXPECT_EQ(rows.null_rows, (std::vector<int64_t>{1}));
  ASSERT_OK_AND_ASSIGN(NumpyColumn bools, ArrowToNumpy(Json(arrow::boolean(), "[true, null]"), NullPolicy::kBatch));
  EXPECT_EQ(bools.kind, NumpyColumn::Kind::kObjects);
  ASSERT_OK_AND_ASSIGN(NumpyColumn stamps,
                       ArrowToNumpy(Json(arrow::timestamp(arrow::TimeUnit::MILLI), "[5, null]"), NullPolicy::kBatch));
  EXPECT_EQ(stamps.tensor.element.TypeString(), "<M8[ms]");
  EXPECT_EQ(Values<int64_t>(stamps.tensor)[1], std::numeric_limits<int64_t>::min());  // NaT
}

TEST(NumpyColumnTest, TextBecomesUcs4) {
  auto words = Json(arrow::utf8(), R"(["a", "ünï", ""])");
  ASSERT_OK_AND_ASSIGN(NumpyColumn c, ArrowToNumpy(words, NullPolicy::kBatch));
  ASSERT_EQ(c.kind, NumpyColumn::Kind::kTensor);
  EXPECT_EQ(c.tensor.element.TypeString(), "<U3");
  auto cps = Values<uint32_t>(c.tensor);
  EXPECT_EQ(cps, (std::vector<uint32_t>{'a', 0, 0, 0xfc, 'n', 0xef, 0, 0, 0}));
  ASSERT_OK_AND_ASSIGN(NumpyColumn empty, ArrowToNumpy(Json(arrow::utf8(), R"(["", ""])"), NullPolicy::kBatch));
  EXPECT_EQ(empty.tensor.element.TypeString(), "<U1");
  ASSERT_OK_AND_ASSIGN(NumpyColumn with_null, ArrowToNumpy(Json(arrow::utf8(), R"(["a", null])"), NullPolicy::kBatch));
  EXPECT_EQ(with_null.kind, NumpyColumn::Kind::kObjects);
  // Bytes that are not UTF-8 in a string column are an error naming the row, never garbage.
  auto offsets = arrow::Buffer::FromString(std::string("\0\0\0\0\1\0\0\0\3\0\0\0", 12));
  auto data = arrow::Buffer::FromString("a\xff\xfe");
  auto invalid = std::make_shared<arrow::StringArray>(2, offsets, data);
  auto bad = ArrowToNumpy(invalid, NullPolicy::kBatch);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Row 1"), std::string::npos) << bad.status();
}

TEST(NumpyColumnTest, ListsReshapeOrBecomeRowsOfViews) {
  auto even = Json(arrow::list(arrow::int64()), "[[1, 2], [3, 4], [5, 6]]");
  ASSERT_OK_AND_ASSIGN(NumpyColumn dense, ArrowToNumpy(even, NullPolicy::kBatch));
  ASSERT_EQ(dense.kind, NumpyColumn::Kind::kTensor);
  EXPECT_EQ(dense.tensor.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(dense.zero_copy);
  auto ragged = Json(arrow::list(arrow::float32()), "[[1], [], [2, 3], null]");
  ASSERT_OK_AND_ASSIGN(NumpyColumn rows, ArrowToNumpy(ragged, NullPolicy::kBatch));
  ASSERT_EQ(rows.kind, NumpyColumn::Kind::kRows);
  EXPECT_EQ(rows.offsets, (std::vector<int64_t>{0, 1, 1, 3, 3}));
  EXPECT_EQ(rows.valid, (std::vector<uint8_t>{1, 1, 1, 0}));
  EXPECT_EQ(rows.child->tensor.shape, (std::vector<int64_t>{3}));
  auto fixed = Json(arrow::fixed_size_list(arrow::fixed_size_list(arrow::int16(), 2), 3),
                    "[[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]]");
  ASSERT_OK_AND_ASSIGN(NumpyColumn grid, ArrowToNumpy(fixed, NullPolicy::kBatch));
  EXPECT_EQ(grid.tensor.shape, (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(Values<int16_t>(grid.tensor)[11], 12);
}

TEST(NumpyColumnTest, DictionariesAndObjects) {
  auto dictionary = arrow::DictionaryArray::FromArrays(Json(arrow::int8(), "[1, 0, 1]"),
                                                       Json(arrow::utf8(), R"(["x", "yy"])"))
                        .ValueOrDie();
  ASSERT_OK_AND_ASSIGN(NumpyColumn c, ArrowToNumpy(dictionary, NullPolicy::kBatch));
  EXPECT_EQ(c.tensor.element.TypeString(), "<U2");
  EXPECT_EQ(Values<uint32_t>(c.tensor), (std::vector<uint32_t>{'y', 'y', 'x', 0, 'y', 'y'}));
  for (auto type : {arrow::decimal128(5, 2), arrow::binary(), arrow::struct_({arrow::field("a", arrow::int32())})}) {
    auto array = arrow::MakeArrayOfNull(type, 2).ValueOrDie();
    ASSERT_OK_AND_ASSIGN(NumpyColumn objects, ArrowToNumpy(array, NullPolicy::kBatch));
    EXPECT_EQ(objects.kind, NumpyColumn::Kind::kObjects) << type->ToString();
  }
  ASSERT_OK_AND_ASSIGN(NumpyColumn bytes, ArrowToNumpy(Json(arrow::binary(), R"(["a"])"), NullPolicy::kRows,
                                                       ScalarType::kBytes));
  EXPECT_EQ(bytes.wrap, ScalarType::kBytes);
  EXPECT_TRUE(ArrowToNumpy(Json(arrow::month_interval(), "[1]"), NullPolicy::kBatch).status().IsNotImplemented());
}

TEST(NumpyColumnTest, TypesSchemaInferenceReports) {
  auto type_of = [](const std::shared_ptr<arrow::DataType>& type) { return NumpyTypeOf("c", *type).ValueOrDie(); };
  EXPECT_EQ(type_of(arrow::time32(arrow::TimeUnit::MILLI)).dtype, ScalarType::kInt32);
  EXPECT_EQ(type_of(arrow::date32()).dtype, ScalarType::kDatetime64);
  EXPECT_EQ(type_of(arrow::large_utf8()).dtype, ScalarType::kString);
  const NumpyType nested = type_of(arrow::list(arrow::fixed_size_list(arrow::float32(), 4)));
  EXPECT_EQ(nested.dtype, ScalarType::kFloat32);
  EXPECT_EQ(nested.shape, (FieldShape{std::nullopt, 4}));
  auto unsupported = NumpyTypeOf("weird", *arrow::month_interval());
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.status().message().find("'weird'"), std::string::npos);
}

TEST(NumpyColumnTest, StackTensors) {
  auto parent = arrow::AllocateBuffer(32).ValueOrDie();
  for (int i = 0; i < 32; ++i) parent->mutable_data()[i] = static_cast<uint8_t>(i);
  std::shared_ptr<arrow::Buffer> shared(std::move(parent));
  std::vector<std::optional<Tensor>> rows;
  for (int i = 0; i < 4; ++i) {
    Tensor t;
    t.element = ElementType::Of(ScalarType::kUInt16);
    t.shape = {4};
    t.data = arrow::SliceBuffer(shared, i * 8, 8);
    rows.emplace_back(t);
  }
  ASSERT_OK_AND_ASSIGN(auto view, StackTensors(rows));
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->shape, (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(view->data->data(), shared->data());  // consecutive slices: no copy
  std::swap(rows[0], rows[1]);
  ASSERT_OK_AND_ASSIGN(auto copy, StackTensors(rows));
  EXPECT_NE(copy->data->data(), shared->data());
  EXPECT_EQ(copy->data->data()[0], 8);
  rows[2]->shape = {2, 2};
  ASSERT_OK_AND_ASSIGN(auto ragged, StackTensors(rows));
  EXPECT_FALSE(ragged.has_value());
  rows[2].reset();
  ASSERT_OK_AND_ASSIGN(auto with_null, StackTensors(rows));
  EXPECT_FALSE(with_null.has_value());
}

}  // namespace
}  // namespace petastorm
