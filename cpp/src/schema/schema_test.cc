#include "petastorm/schema.h"

#include <algorithm>

#include <arrow/type.h>
#include <gtest/gtest.h>

#include "petastorm/codec.h"

namespace petastorm {
namespace {

std::vector<Field> HelloWorldFields() {
  return {
      {"id", ScalarType::kInt32, {}, nullptr, false, arrow::int32()},
      {"image1", ScalarType::kUInt8, {128, 256, 3}, MakeCompressedImageCodec("png").ValueOrDie(), false},
      {"array_4d", ScalarType::kUInt8, {std::nullopt, 128, 30, std::nullopt}, MakeNdarrayCodec(), false},
      {"price", ScalarType::kDecimal, {}, nullptr, true, arrow::decimal128(10, 9)},
      {"when", ScalarType::kDatetime64, {}, nullptr, true, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"name", ScalarType::kString, {}, nullptr, true},
  };
}

TEST(UnischemaTest, JsonRoundTripKeepsEverything) {
  auto schema = Unischema::Make("HelloWorldSchema", HelloWorldFields()).ValueOrDie();
  const std::string json = schema->ToJson();
  auto parsed = Unischema::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)->ToJson(), json);
  ASSERT_EQ((*parsed)->fields().size(), 6u);
  const Field& a = (*parsed)->fields()[2];
  EXPECT_EQ(a.name, "array_4d");
  EXPECT_EQ(a.ShapeString(), "(None, 128, 30, None)");
  EXPECT_EQ(a.codec->ToString(), "NdarrayCodec()");
  EXPECT_EQ((*parsed)->fields()[1].codec->ToString(), "CompressedImageCodec('png', 80)");
  EXPECT_TRUE((*parsed)->fields()[3].arrow_type->Equals(arrow::decimal128(10, 9)));
  EXPECT_TRUE((*parsed)->fields()[4].arrow_type
                  ->Equals(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_EQ((*parsed)->fields()[5].codec, nullptr);
  EXPECT_TRUE((*parsed)->fields()[5].nullable);
}

// Petastorm's ScalarCodec on a field declared with a shape (UnischemaField('x', np.int32, (2,),
// ScalarCodec(IntegerType()))): FromJson reads it, so ToJson must write it the same way. It wrote
// no codec for it, and the dataset write_dataset had just written could not be opened ("has
// shape (2,) but no codec"). Found by the json_metadata fuzzer.
TEST(UnischemaTest, JsonRoundTripOfAScalarCodecFieldWithAShape) {
  auto schema = Unischema::Make("S", {{"x", ScalarType::kInt32, {2}, nullptr, false, arrow::int32()}}).ValueOrDie();
  const std::string json = schema->ToJson();
  auto parsed = Unischema::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << " reading " << json;
  EXPECT_EQ((*parsed)->ToJson(), json);
  EXPECT_EQ((*parsed)->fields()[0].ShapeString(), "(2,)");
  EXPECT_TRUE((*parsed)->fields()[0].arrow_type->Equals(arrow::int32()));
}

TEST(UnischemaTest, ArrowSchemaStoresCodecFieldsAsBinary) {
  auto schema = Unischema::Make("S", HelloWorldFields()).ValueOrDie();
  auto arrow_schema = schema->ToArrowSchema().ValueOrDie();
  EXPECT_TRUE(arrow_schema->field(0)->type()->Equals(arrow::int32()));
  EXPECT_TRUE(arrow_schema->field(1)->type()->Equals(arrow::binary()));
  EXPECT_TRUE(arrow_schema->field(5)->type()->Equals(arrow::utf8()));
  EXPECT_FALSE(arrow_schema->field(0)->nullable());
}

TEST(UnischemaTest, RejectsInvalidSchemas) {
  auto dup = Unischema::Make("S", {{"a", ScalarType::kInt32, {}, nullptr, false},
                                   {"a", ScalarType::kInt64, {}, nullptr, false}});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("'a'"), std::string::npos);
  auto no_codec = Unischema::Make("S", {{"m", ScalarType::kFloat32, {3, 3}, nullptr, false}});
  ASSERT_FALSE(no_codec.ok());
  EXPECT_NE(no_codec.status().message().find("'m'"), std::string::npos);
  auto decimal = Unischema::Make("S", {{"d", ScalarType::kDecimal, {}, nullptr, false}});
  EXPECT_FALSE(decimal.ok());
}

TEST(UnischemaTest, ViewSelectsAndOrdersFields) {
  auto schema = Unischema::Make("S", HelloWorldFields()).ValueOrDie();
  auto view = schema->View({"name", "id"}).ValueOrDie();
  ASSERT_EQ(view->fields().size(), 2u);
  EXPECT_EQ(view->fields()[0].name, "name");
  EXPECT_EQ(view->name(), "S_view");
  auto bad = schema->View({"nope"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'nope'"), std::string::npos);
}

TEST(UnischemaTest, FromJsonRejectsNewerVersionsAndUnknownCodecs) {
  EXPECT_TRUE(Unischema::FromJson(R"({"format": "petastorm.unischema", "version": 99, "name": "S", "fields": []})")
                  .status()
                  .IsNotImplemented());
  auto unknown = Unischema::FromJson(
      R"({"format": "petastorm.unischema", "version": 1, "name": "S", "fields": [)"
      R"({"name": "x", "dtype": "uint8", "shape": [2], "codec": {"name": "my.codec", "params": {}}, "nullable": false}]})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("my.codec"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("'x'"), std::string::npos);
}

TEST(FieldTest, MatchesShapeWithWildcards) {
  Field f{"f", ScalarType::kUInt8, {std::nullopt, 3}, nullptr, false};
  EXPECT_TRUE(f.MatchesShape({7, 3}));
  EXPECT_TRUE(f.MatchesShape({0, 3}));
  EXPECT_FALSE(f.MatchesShape({7, 4}));
  EXPECT_FALSE(f.MatchesShape({7}));
}

}  // namespace
}  // namespace petastorm

namespace petastorm {
namespace {

// A codec defined by a C++ program: stores uint8 vectors reversed.
class ReversedBytesCodec final : public Codec {
 public:
  std::string name() const override { return "test.reversed_bytes"; }
  std::string ToString() const override { return "ReversedBytesCodec()"; }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Encode(const Field&, const Tensor& value,
                                                       arrow::MemoryPool* pool) const override {
    ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateBuffer(value.nbytes(), pool));
    std::reverse_copy(value.data->data(), value.data->data() + value.nbytes(), out->mutable_data());
    return std::shared_ptr<arrow::Buffer>(std::move(out));
  }
  arrow::Result<Tensor> Decode(const Field&, const uint8_t* data, int64_t size,
                               arrow::MemoryPool* pool) const override {
    ARROW_ASSIGN_OR_RAISE(auto t, Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {size}, pool));
    std::reverse_copy(data, data + size, t.data->mutable_data());
    return t;
  }
};

TEST(CodecRegistryTest, CustomCppCodecRoundTripsThroughSchemaJson) {
  CodecRegistry::Global().Register("test.reversed_bytes", [](std::string_view) {
    return arrow::Result<std::shared_ptr<const Codec>>(std::make_shared<ReversedBytesCodec>());
  });
  auto schema = Unischema::Make(
      "S", {{"v", ScalarType::kUInt8, {std::nullopt}, std::make_shared<ReversedBytesCodec>(), false}})
                    .ValueOrDie();
  auto parsed = Unischema::FromJson(schema->ToJson()).ValueOrDie();
  const Field& field = parsed->fields()[0];
  EXPECT_EQ(field.codec->ToString(), "ReversedBytesCodec()");
  Tensor value = Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {3}).ValueOrDie();
  for (int i = 0; i < 3; ++i) value.data->mutable_data()[i] = static_cast<uint8_t>(i + 1);
  auto encoded = EncodeField(field, value).ValueOrDie();
  EXPECT_EQ(encoded->data()[0], 3);
  auto decoded = DecodeField(field, encoded->data(), encoded->size()).ValueOrDie();
  EXPECT_EQ(decoded.data->ToString(), value.data->ToString());
  // The decoded value is checked against the field: a uint8 codec output for a float field fails.
  Field float_field = field;
  float_field.dtype = ScalarType::kFloat32;
  auto mismatch = DecodeField(float_field, encoded->data(), encoded->size());
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("'v'"), std::string::npos);
}

}  // namespace
}  // namespace petastorm
