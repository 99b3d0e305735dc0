#include "petastorm/collate.h"

#include <arrow/array/builder_binary.h>
#include <arrow/json/from_string.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "petastorm/batcher.h"
#include "util/test_macros_internal.h"

namespace petastorm {
namespace {

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type, const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

BatchColumn ArrayColumn(std::shared_ptr<arrow::Array> array) {
  BatchColumn column;
  column.kind = BatchColumn::Kind::kArray;
  column.array = std::move(array);
  return column;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> out(static_cast<size_t>(t.num_elements()));
  if (!out.empty()) std::memcpy(out.data(), t.data->data(), out.size() * sizeof(T));
  return out;
}

// The parts by dotted path: "values", "b.offsets".
std::map<std::string, Tensor> ByPath(const std::vector<CollatedPart>& parts) {
  std::map<std::string, Tensor> out;
  for (const auto& p : parts) {
    std::string key;
    for (const auto& s : p.path) key += (key.empty() ? "" : ".") + s;
    EXPECT_TRUE(out.emplace(key, p.tensor).second) << key;
  }
  return out;
}

CollateOptions Offsets() { return CollateOptions{}; }

CollateOptions Padded(double pad = 0, int64_t max_length = -1, bool truncate = false) {
  CollateOptions o;
  o.policy = CollateOptions::Policy::kPadded;
  o.pad_value = pad;
  o.max_length = max_length;
  o.truncate = truncate;
  return o;
}

TEST(CollateTest, StringsAsCodePointsWithOffsets) {
  auto column = ArrayColumn(Json(arrow::utf8(), R"(["h\u00e9\u4e16", "", "ab"])"));
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("text", column, Offsets()));
  auto p = ByPath(parts);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p["values"].element.type, ScalarType::kInt32);
  EXPECT_EQ(Values<int32_t>(p["values"]), (std::vector<int32_t>{'h', 0xe9, 0x4e16, 'a', 'b'}));
  EXPECT_EQ(Values<int64_t>(p["offsets"]), (std::vector<int64_t>{0, 3, 3, 5}));
}

TEST(CollateTest, StringsPaddedWithLengthsAndMask) {
  auto column = ArrayColumn(Json(arrow::large_utf8(), R"(["abc", "", "d"])"));
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("text", column, Padded(-1)));
  auto p = ByPath(parts);
  EXPECT_EQ(p["padded"].shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(Values<int32_t>(p["padded"]), (std::vector<int32_t>{'a', 'b', 'c', -1, -1, -1, 'd', -1, -1}));
  EXPECT_EQ(Values<int64_t>(p["lengths"]), (std::vector<int64_t>{3, 0, 1}));
  EXPECT_EQ(p["mask"].element.type, ScalarType::kBool);
  EXPECT_EQ(Values<uint8_t>(p["mask"]), (std::vector<uint8_t>{1, 1, 1, 0, 0, 0, 1, 0, 0}));
}

TEST(CollateTest, SlicedBinaryAsBytes) {
  auto array = Json(arrow::binary(), R"(["xx", "a\u0001", "", "bcd"])")->Slice(1, 3);
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("blob", ArrayColumn(array), Offsets()));
  auto p = ByPath(parts);
  EXPECT_EQ(p["values"].element.type, ScalarType::kUInt8);
  EXPECT_EQ(Values<uint8_t>(p["values"]), (std::vector<uint8_t>{'a', 1, 'b', 'c', 'd'}));
  EXPECT_EQ(Values<int64_t>(p["offsets"]), (std::vector<int64_t>{0, 2, 2, 5}));
}

TEST(CollateTest, RaggedFloatsPaddedToMaxLength) {
  auto column = ArrayColumn(Json(arrow::list(arrow::float32()), "[[1.5, 2, 3], [], [4]]"));
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("v", column, Padded(0, 2, /*truncate=*/true)));
  auto p = ByPath(parts);
  EXPECT_EQ(p["padded"].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values<float>(p["padded"]), (std::vector<float>{1.5, 2, 0, 0, 4, 0}));
  EXPECT_EQ(Values<int64_t>(p["lengths"]), (std::vector<int64_t>{2, 0, 1}));
  // Wider than the longest row: the batch is max_length wide.
  ASSERT_OK_AND_ASSIGN(parts, Collate("v", column, Padded(0, 5)));
  EXPECT_EQ(ByPath(parts)["padded"].shape, (std::vector<int64_t>{3, 5}));

  auto too_long = Collate("v", column, Padded(0, 2));
  ASSERT_TRUE(too_long.status().IsInvalid());
  EXPECT_NE(too_long.status().message().find("field 'v': row 0 has 3 elements, more than max_length=2"),
            std::string::npos) << too_long.status().message();
}

TEST(CollateTest, ListOfFixedSizeListsKeepsTheInnerDimension) {
  auto column = ArrayColumn(Json(arrow::list(arrow::fixed_size_list(arrow::int16(), 2)), "[[[1, 2], [3, 4]], [[5, 6]]]"));
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("pts", column, Padded(-7)));
  auto p = ByPath(parts);
  EXPECT_EQ(p["padded"].shape, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(Values<int16_t>(p["padded"]), (std::vector<int16_t>{1, 2, 3, 4, 5, 6, -7, -7}));
}

TEST(CollateTest, ListOfListsHasOffsetsPerLevel) {
  auto array = Json(arrow::list(arrow::list(arrow::int32())), "[[[9]], [[1, 2], [], [3]], [], [[4, 5, 6]]]")->Slice(1, 3);
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("ll", ArrayColumn(array), Offsets()));
  auto p = ByPath(parts);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(Values<int64_t>(p["offsets"]), (std::vector<int64_t>{0, 3, 3, 4}));
  EXPECT_EQ(Values<int64_t>(p["offsets_1"]), (std::vector<int64_t>{0, 2, 2, 3, 6}));
  EXPECT_EQ(Values<int32_t>(p["values"]), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));

  auto padded = Collate("ll", ArrayColumn(array), Padded());
  ASSERT_TRUE(padded.status().IsTypeError());
  EXPECT_NE(padded.status().message().find("use 'offsets'"), std::string::npos) << padded.status().message();
}

TEST(CollateTest, ListOfStructsFlattensEachChild) {
  auto type = arrow::list(arrow::struct_({arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8())}));
  auto column = ArrayColumn(Json(type, R"([[{"a": 1, "b": "x"}, {"a": 2, "b": ""}], [], [{"a": 3, "b": "yz"}]])"));
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("s", column, Offsets()));
  auto p = ByPath(parts);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(Values<int64_t>(p["offsets"]), (std::vector<int64_t>{0, 2, 2, 3}));
  EXPECT_EQ(Values<int64_t>(p["a.values"]), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Values<int64_t>(p["b.offsets"]), (std::vector<int64_t>{0, 1, 1, 3}));
  EXPECT_EQ(Values<int32_t>(p["b.values"]), (std::vector<int32_t>{'x', 'y', 'z'}));
}

TEST(CollateTest, NullsAreErrorsNamingTheFieldAndThePlace) {
  auto top = Collate("text", ArrayColumn(Json(arrow::utf8(), R"(["a", null])")), Padded());
  ASSERT_TRUE(top.status().IsTypeError());
  EXPECT_NE(top.status().message().find("field 'text': a null at row 1"), std::string::npos) << top.status().message();

  auto type = arrow::list(arrow::struct_({arrow::field("b", arrow::utf8())}));
  auto nested = Collate("s", ArrayColumn(Json(type, R"([[{"b": "x"}], [{"b": null}]])")), Offsets());
  ASSERT_TRUE(nested.status().IsTypeError());
  EXPECT_NE(nested.status().message().find("field 's' at 's.b': a null at item 1"), std::string::npos)
      << nested.status().message();
}

TEST(CollateTest, TextThatIsNotUtf8IsInvalid) {
  arrow::StringBuilder builder;
  ASSERT_OK(builder.Append("ok"));
  ASSERT_OK(builder.Append(std::string("a\xff", 2)));
  std::shared_ptr<arrow::Array> array;
  ASSERT_OK(builder.Finish(&array));
  auto result = Collate("text", ArrayColumn(array), Offsets());
  ASSERT_TRUE(result.status().IsInvalid());
  EXPECT_NE(result.status().message().find("row 1 is not UTF-8 (at byte 1)"), std::string::npos)
      << result.status().message();
}

TEST(CollateTest, UnsupportedValuesAndScalarsAreTypeErrors) {
  auto decimals = Collate("d", ArrayColumn(Json(arrow::list(arrow::decimal128(5, 2)), R"([["1.00"]])")), Offsets());
  ASSERT_TRUE(decimals.status().IsTypeError());
  EXPECT_NE(decimals.status().message().find("decimal128(5, 2) have no tensor form"), std::string::npos)
      << decimals.status().message();

  BatchColumn dense;
  dense.kind = BatchColumn::Kind::kDense;
  dense.dense = Tensor::Allocate(ElementType::Of(ScalarType::kInt64), {4}).ValueOrDie();
  auto scalars = Collate("id", dense, Offsets());
  ASSERT_TRUE(scalars.status().IsTypeError());
  EXPECT_NE(scalars.status().message().find("holds scalars"), std::string::npos);

  auto pad = Collate("v", ArrayColumn(Json(arrow::list(arrow::int32()), "[[1]]")), Padded(0.5));
  ASSERT_TRUE(pad.status().IsInvalid());
  EXPECT_NE(pad.status().message().find("pad_value 0.5 is not exactly a int32 value"), std::string::npos)
      << pad.status().message();
}

Tensor Floats(std::vector<int64_t> shape, float first) {
  Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kFloat32), std::move(shape)).ValueOrDie();
  auto* f = reinterpret_cast<float*>(t.data->mutable_data());
  for (int64_t i = 0; i < t.num_elements(); ++i) f[i] = first + static_cast<float>(i);
  return t;
}

TEST(CollateTest, PerRowTensorsLineUpAlongTheFirstDimension) {
  BatchColumn column;
  column.kind = BatchColumn::Kind::kTensors;
  column.tensors = {Floats({2, 2}, 0), Floats({0, 2}, 0), Floats({1, 2}, 10)};
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("t", column, Offsets()));
  auto p = ByPath(parts);
  EXPECT_EQ(p["values"].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values<float>(p["values"]), (std::vector<float>{0, 1, 2, 3, 10, 11}));
  EXPECT_EQ(Values<int64_t>(p["offsets"]), (std::vector<int64_t>{0, 2, 2, 3}));
  ASSERT_OK_AND_ASSIGN(parts, Collate("t", column, Padded(-1)));
  p = ByPath(parts);
  EXPECT_EQ(p["padded"].shape, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(Values<float>(p["padded"]), (std::vector<float>{0, 1, 2, 3, -1, -1, -1, -1, 10, 11, -1, -1}));

  column.tensors[1] = Floats({1, 3}, 0);
  auto mismatch = Collate("t", column, Offsets());
  ASSERT_TRUE(mismatch.status().IsTypeError());
  EXPECT_NE(mismatch.status().message().find("rows of shapes (2, 2) and (1, 3)"), std::string::npos)
      << mismatch.status().message();
}

TEST(CollateTest, DenseRowsAreOneLevelOfEqualLengths) {
  BatchColumn column;
  column.kind = BatchColumn::Kind::kDense;
  column.dense = Floats({2, 3}, 0);
  ASSERT_OK_AND_ASSIGN(auto parts, Collate("d", column, Offsets()));
  auto p = ByPath(parts);
  EXPECT_EQ(Values<int64_t>(p["offsets"]), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(p["values"].shape, (std::vector<int64_t>{6}));
  EXPECT_EQ(p["values"].data, column.dense->data);  // the batch's buffer, not a copy
}

TEST(CollateTest, BatcherCollatesTheFieldsItIsTold) {
  BatcherOptions options;
  options.batch_size = 2;
  options.shuffling_queue_capacity = 3;
  options.seed = 5;
  options.collate = {{"text", Padded(0)}};
  ASSERT_OK_AND_ASSIGN(auto batcher, Batcher::Make({"id", "text"}, options));
  Tensor ids = Tensor::Allocate(ElementType::Of(ScalarType::kInt64), {4}).ValueOrDie();
  for (int i = 0; i < 4; ++i) reinterpret_cast<int64_t*>(ids.data->mutable_data())[i] = i;
  std::vector<ColumnInput> columns(2);
  columns[0].kind = ColumnInput::Kind::kStacked;
  columns[0].stacked = ids;
  columns[1].kind = ColumnInput::Kind::kArray;
  columns[1].array = Json(arrow::utf8(), R"(["", "a", "bb", "ccc"])");
  ASSERT_OK(batcher->AddColumns(4, std::move(columns)));
  batcher->Finish();
  int64_t rows = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto batch, batcher->Next());
    if (!batch) break;
    ASSERT_EQ(batch->columns[1].kind, BatchColumn::Kind::kCollated);
    auto p = ByPath(batch->columns[1].parts);
    auto id = Values<int64_t>(*batch->columns[0].dense);
    auto lengths = Values<int64_t>(p["lengths"]);
    auto padded = Values<int32_t>(p["padded"]);
    const int64_t width = p["padded"].shape[1];
    for (size_t r = 0; r < id.size(); ++r) {
      EXPECT_EQ(lengths[r], id[r]);  // row i is i characters long
      for (int64_t c = 0; c < width; ++c) {
        EXPECT_EQ(padded[r * width + c], c < id[r] ? 'a' + id[r] - 1 : 0);
      }
    }
    rows += batch->num_rows;
  }
  EXPECT_EQ(rows, 4);

  options.collate = {{"nope", Offsets()}};
  auto unknown = Batcher::Make({"id"}, options);
  ASSERT_TRUE(unknown.status().IsInvalid());
  EXPECT_NE(unknown.status().message().find("collate names field 'nope', which is not batched"),
            std::string::npos);
}

TEST(CollateTest, BatcherCollatesArrowListsStraightFromTheirArrays) {
  BatcherOptions options;
  options.batch_size = 3;
  options.shuffling_queue_capacity = 2;
  options.seed = 1;
  options.promote_for_torch = true;
  options.collate = {{"v", Padded(-1)}, {"fixed", Offsets()}};
  ASSERT_OK_AND_ASSIGN(auto batcher, Batcher::Make({"v", "fixed"}, options));
  for (int input = 0; input < 2; ++input) {
    std::vector<ColumnInput> columns(2);
    columns[0].kind = columns[1].kind = ColumnInput::Kind::kArray;
    // Row i (0..5) is i % 3 uint16 values (3 for row 3), all equal to i; `fixed` is [i, 10 * i].
    columns[0].array = Json(arrow::list(arrow::uint16()), input == 0 ? "[[], [1], [2, 2]]" : "[[3, 3, 3], [4], [5, 5]]");
    columns[1].array = Json(arrow::fixed_size_list(arrow::int32(), 2),
                            input == 0 ? "[[0, 0], [1, 10], [2, 20]]" : "[[3, 30], [4, 40], [5, 50]]");
    ASSERT_OK(batcher->AddColumns(3, std::move(columns)));
  }
  batcher->Finish();
  std::vector<int> seen;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto batch, batcher->Next());
    if (!batch) break;
    auto v = ByPath(batch->columns[0].parts);
    auto fixed = ByPath(batch->columns[1].parts);
    EXPECT_EQ(v["padded"].element.type, ScalarType::kInt32);  // uint16 promoted
    auto f = Values<int32_t>(fixed["values"]);
    EXPECT_EQ(Values<int64_t>(fixed["offsets"]), (std::vector<int64_t>{0, 2, 4, 6}));
    auto padded = Values<int32_t>(v["padded"]);
    auto lengths = Values<int64_t>(v["lengths"]);
    const int64_t width = v["padded"].shape[1];
    for (int64_t r = 0; r < batch->num_rows; ++r) {
      const int i = f[2 * r];
      seen.push_back(i);
      EXPECT_EQ(f[2 * r + 1], 10 * i);
      EXPECT_EQ(lengths[r], i == 3 ? 3 : i % 3);
      for (int64_t c = 0; c < width; ++c) EXPECT_EQ(padded[r * width + c], c < lengths[r] ? i : -1);
    }
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(CollateTest, ANullInsideAListNamesItsItem) {
  auto result = Collate("v", ArrayColumn(Json(arrow::list(arrow::float32()), "[[1], [2, null]]")), Padded());
  ASSERT_TRUE(result.status().IsTypeError());
  EXPECT_NE(result.status().message().find("field 'v': a null at item 2 of list level 1"), std::string::npos)
      << result.status().message();
}

}  // namespace
}  // namespace petastorm
