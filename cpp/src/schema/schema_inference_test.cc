#include "petastorm/schema_inference.h"

#include <filesystem>

#include <arrow/array/array_nested.h>
#include <arrow/array/array_primitive.h>
#include <arrow/extension_type.h>
#include <arrow/io/file.h>
#include <arrow/json/from_string.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include "petastorm/predicate.h"
#include "petastorm/reader.h"
#include "util/test_macros_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::ScratchDir;

// An extension type the reader does not know how to deliver.
class OpaqueType : public arrow::ExtensionType {
 public:
  OpaqueType() : arrow::ExtensionType(arrow::fixed_size_binary(4)) {}
  std::string extension_name() const override { return "petastorm.test.opaque"; }
  bool ExtensionEquals(const arrow::ExtensionType& other) const override {
    return other.extension_name() == extension_name();
  }
  std::shared_ptr<arrow::Array> MakeArray(std::shared_ptr<arrow::ArrayData> data) const override {
    return std::make_shared<arrow::ExtensionArray>(data);
  }
  arrow::Result<std::shared_ptr<arrow::DataType>> Deserialize(
      std::shared_ptr<arrow::DataType> storage, const std::string&) const override {
    return std::make_shared<OpaqueType>();
  }
  std::string Serialize() const override { return ""; }
};

void RegisterOpaqueType() {
  static const bool registered = [] {
    (void)arrow::RegisterExtensionType(std::make_shared<OpaqueType>());
    return true;
  }();
  (void)registered;
}

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type, const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

void WriteParquet(const arrow::Table& table, const std::string& path, int64_t rows_per_group = 1024) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
  auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
  ASSERT_OK(parquet::arrow::WriteTable(table, arrow::default_memory_pool(), out, rows_per_group,
                                      parquet::default_writer_properties(), arrow_props));
  ASSERT_OK(out->Close());
}

std::shared_ptr<arrow::Table> MakeTable(
    const std::vector<std::pair<std::string, std::shared_ptr<arrow::Array>>>& columns) {
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (const auto& [name, array] : columns) {
    fields.push_back(arrow::field(name, array->type()));
    arrays.push_back(array);
  }
  return arrow::Table::Make(arrow::schema(fields), arrays);
}

std::string Shape(const FieldShape& shape) {
  Field f;
  f.shape = shape;
  return f.ShapeString();
}

struct TypeCase {
  std::shared_ptr<arrow::DataType> type;
  ScalarType dtype;
  FieldShape shape;
};

TEST(InferFieldTypeTest, EveryArrowType) {
  const std::optional<int64_t> any = std::nullopt;
  const std::vector<TypeCase> cases = {
      {arrow::boolean(), ScalarType::kBool, {}},
      {arrow::int8(), ScalarType::kInt8, {}},
      {arrow::int16(), ScalarType::kInt16, {}},
      {arrow::int32(), ScalarType::kInt32, {}},
      {arrow::int64(), ScalarType::kInt64, {}},
      {arrow::uint8(), ScalarType::kUInt8, {}},
      {arrow::uint16(), ScalarType::kUInt16, {}},
      {arrow::uint32(), ScalarType::kUInt32, {}},
      {arrow::uint64(), ScalarType::kUInt64, {}},
      {arrow::float16(), ScalarType::kFloat16, {}},
      {arrow::float32(), ScalarType::kFloat32, {}},
      {arrow::float64(), ScalarType::kFloat64, {}},
      {arrow::utf8(), ScalarType::kString, {}},
      {arrow::large_utf8(), ScalarType::kString, {}},
      {arrow::utf8_view(), ScalarType::kString, {}},
      {arrow::binary(), ScalarType::kBytes, {}},
      {arrow::large_binary(), ScalarType::kBytes, {}},
      {arrow::binary_view(), ScalarType::kBytes, {}},
      {arrow::fixed_size_binary(7), ScalarType::kBytes, {}},
      {arrow::date32(), ScalarType::kDatetime64, {}},
      {arrow::date64(), ScalarType::kDatetime64, {}},
      {arrow::timestamp(arrow::TimeUnit::SECOND), ScalarType::kDatetime64, {}},
      {arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), ScalarType::kDatetime64, {}},
      {arrow::timestamp(arrow::TimeUnit::MICRO, "Europe/Paris"), ScalarType::kDatetime64, {}},
      {arrow::timestamp(arrow::TimeUnit::NANO), ScalarType::kDatetime64, {}},
      {arrow::time32(arrow::TimeUnit::SECOND), ScalarType::kInt32, {}},
      {arrow::time32(arrow::TimeUnit::MILLI), ScalarType::kInt32, {}},
      {arrow::time64(arrow::TimeUnit::MICRO), ScalarType::kInt64, {}},
      {arrow::time64(arrow::TimeUnit::NANO), ScalarType::kInt64, {}},
      {arrow::duration(arrow::TimeUnit::SECOND), ScalarType::kInt64, {}},
      {arrow::duration(arrow::TimeUnit::NANO), ScalarType::kInt64, {}},
      {arrow::decimal128(10, 2), ScalarType::kDecimal, {}},
      {arrow::decimal256(60, 5), ScalarType::kDecimal, {}},
      {arrow::dictionary(arrow::int32(), arrow::utf8()), ScalarType::kString, {}},
      {arrow::dictionary(arrow::int8(), arrow::float64()), ScalarType::kFloat64, {}},
      {arrow::struct_({arrow::field("a", arrow::int32())}), ScalarType::kObject, {}},
      {arrow::map(arrow::utf8(), arrow::int32()), ScalarType::kObject, {}},
      {arrow::null(), ScalarType::kObject, {}},
      {arrow::list(arrow::int32()), ScalarType::kInt32, {any}},
      {arrow::large_list(arrow::float32()), ScalarType::kFloat32, {any}},
      {arrow::fixed_size_list(arrow::float32(), 3), ScalarType::kFloat32, {3}},
      {arrow::list(arrow::list(arrow::int64())), ScalarType::kInt64, {any, any}},
      {arrow::fixed_size_list(arrow::list(arrow::int8()), 2), ScalarType::kInt8, {2, any}},
      {arrow::list(arrow::fixed_size_list(arrow::uint16(), 4)), ScalarType::kUInt16, {any, 4}},
      {arrow::list(arrow::utf8()), ScalarType::kString, {any}},
      {arrow::list(arrow::timestamp(arrow::TimeUnit::MICRO)), ScalarType::kDatetime64, {any}},
      {arrow::list(arrow::struct_({arrow::field("a", arrow::int32())})), ScalarType::kObject, {any}},
  };
  for (const TypeCase& c : cases) {
    SCOPED_TRACE(c.type->ToString());
    ASSERT_OK_AND_ASSIGN(InferredType inferred, InferFieldType("col", *c.type));
    EXPECT_EQ(ScalarTypeName(inferred.dtype), ScalarTypeName(c.dtype));
    EXPECT_EQ(Shape(inferred.shape), Shape(c.shape));
  }
}

TEST(InferFieldTypeTest, UndeliverableTypesNameTheColumn) {
  RegisterOpaqueType();
  for (const auto& type : {arrow::month_day_nano_interval(), arrow::month_interval(),
                           arrow::dense_union({arrow::field("a", arrow::int32())}),
                           std::shared_ptr<arrow::DataType>(std::make_shared<OpaqueType>()),
                           arrow::list(std::shared_ptr<arrow::DataType>(std::make_shared<OpaqueType>()))}) {
    SCOPED_TRACE(type->ToString());
    auto inferred = InferFieldType("weird", *type);
    ASSERT_FALSE(inferred.ok());
    EXPECT_TRUE(inferred.status().IsNotImplemented());
    EXPECT_NE(inferred.status().message().find("'weird'"), std::string::npos) << inferred.status();
    EXPECT_NE(inferred.status().message().find("schema_fields"), std::string::npos);
  }
}

std::shared_ptr<arrow::Table> EveryTypeTable() {
  return MakeTable({
      {"i8", Json(arrow::int8(), "[1, null, -128]")},
      {"u64", Json(arrow::uint64(), "[18446744073709551615, 0, null]")},
      {"f16", Json(arrow::float16(), "[1.5, null, -2]")},
      {"s", Json(arrow::utf8(), R"(["a", null, "ccc"])")},
      {"ls", Json(arrow::large_utf8(), R"(["x", "y", null])")},
      {"fsb", Json(arrow::fixed_size_binary(2), R"(["ab", null, "cd"])")},
      {"d64", Json(arrow::date64(), "[0, 86400000, null]")},
      {"ts", Json(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), "[0, null, 5]")},
      {"t32", Json(arrow::time32(arrow::TimeUnit::MILLI), "[0, null, 5]")},
      {"dur", Json(arrow::duration(arrow::TimeUnit::NANO), "[0, null, 5]")},
      {"dec", Json(arrow::decimal128(5, 2), R"(["1.23", null, "-4.56"])")},
      {"dict", arrow::DictionaryArray::FromArrays(arrow::dictionary(arrow::int32(), arrow::utf8()),
                                                  Json(arrow::int32(), "[0, null, 1]"),
                                                  Json(arrow::utf8(), R"(["p", "q"])"))
                   .ValueOrDie()},
      {"st", Json(arrow::struct_({arrow::field("a", arrow::int32()), arrow::field("b", arrow::utf8())}),
                  R"([{"a": 1, "b": "x"}, null, {"a": null, "b": "z"}])")},
      {"lst", Json(arrow::list(arrow::int32()), "[[1, 2], null, [3]]")},
      {"fsl", Json(arrow::fixed_size_list(arrow::float32(), 3), "[[1, 2, 3], null, [4, 5, 6]]")},
      {"lol", Json(arrow::list(arrow::list(arrow::int64())), "[[[1], [2, 3]], null, []]")},
      {"mp", Json(arrow::map(arrow::utf8(), arrow::int32()), R"([[["k", 1]], null, []])")},
      {"nul", Json(arrow::null(), "[null, null, null]")},
      {"tail", Json(arrow::int32(), "[10, 20, 30]")},
  });
}

TEST(InferUnischemaTest, ColumnsInFileOrderWithTheirStoredTypes) {
  ScratchDir scratch;
  WriteParquet(*EveryTypeTable(), scratch.Path("ds/part-0.parquet"));
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(scratch.Path("ds")));
  EXPECT_EQ(dataset->schema(), nullptr);
  ASSERT_OK_AND_ASSIGN(auto schema, InferUnischema(*dataset));
  EXPECT_EQ(schema->name(), "inferred_schema");
  std::vector<std::string> names;
  for (const Field& f : schema->fields()) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"i8", "u64", "f16", "s", "ls", "fsb", "d64", "ts", "t32", "dur",
                                             "dec", "dict", "st", "lst", "fsl", "lol", "mp", "nul", "tail"}));
  for (const Field& f : schema->fields()) {
    EXPECT_EQ(f.codec, nullptr);
    ASSERT_NE(f.arrow_type, nullptr) << f.name;
    EXPECT_TRUE(f.nullable) << f.name;
  }
  // As the Parquet reader returns them: date64 comes back as date32.
  EXPECT_EQ(schema->GetField("d64")->arrow_type->ToString(), "date32[day]");
  EXPECT_EQ(schema->GetField("ts")->arrow_type->ToString(), "timestamp[us, tz=UTC]");
  EXPECT_EQ(schema->GetField("dict")->dtype, ScalarType::kString);
  EXPECT_EQ(schema->GetField("fsl")->ShapeString(), "(3,)");
  EXPECT_EQ(schema->GetField("lol")->ShapeString(), "(None, None)");
  EXPECT_EQ(schema->GetField("st")->dtype, ScalarType::kObject);
  ASSERT_OK_AND_ASSIGN(auto storage, schema->GetField("lst")->StorageType());
  EXPECT_EQ(storage->id(), arrow::Type::LIST);
}

TEST(InferUnischemaTest, PartitionKeysComeFirst) {
  ScratchDir scratch;
  auto table = MakeTable({{"v", Json(arrow::float64(), "[1, 2]")}});
  WriteParquet(*table, scratch.Path("ds/year=2020/city=a%20b/part-0.parquet"));
  WriteParquet(*table, scratch.Path("ds/year=2021/city=nyc/part-0.parquet"));
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(scratch.Path("ds")));
  ASSERT_OK_AND_ASSIGN(auto schema, InferUnischema(*dataset));
  ASSERT_EQ(schema->fields().size(), 3u);
  EXPECT_EQ(schema->fields()[0].name, "year");
  EXPECT_EQ(schema->fields()[0].dtype, ScalarType::kInt64);
  EXPECT_EQ(schema->fields()[1].name, "city");
  EXPECT_EQ(schema->fields()[1].dtype, ScalarType::kString);
  EXPECT_FALSE(schema->fields()[1].nullable);
  EXPECT_EQ(schema->fields()[2].name, "v");

  // A partition key that is also a stored column is ambiguous.
  WriteParquet(*MakeTable({{"year", Json(arrow::int64(), "[1]")}}), scratch.Path("dup/year=1/part-0.parquet"));
  ASSERT_OK_AND_ASSIGN(auto dup, Dataset::Open(scratch.Path("dup")));
  auto inferred = InferUnischema(*dup);
  ASSERT_FALSE(inferred.ok());
  EXPECT_NE(inferred.status().message().find("'year'"), std::string::npos);
}

TEST(InferUnischemaTest, UndeliverableColumnsFailOrAreListed) {
  RegisterOpaqueType();
  ScratchDir scratch;
  auto storage = Json(arrow::fixed_size_binary(4), R"(["abcd", "efgh"])");
  auto opaque = arrow::ExtensionType::WrapArray(std::make_shared<OpaqueType>(), storage);
  WriteParquet(*MakeTable({{"id", Json(arrow::int32(), "[1, 2]")}, {"blob", opaque}}),
               scratch.Path("ds/part-0.parquet"));
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(scratch.Path("ds")));
  auto failed = InferUnischema(*dataset);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().IsNotImplemented());
  EXPECT_NE(failed.status().message().find("'blob'"), std::string::npos) << failed.status();

  std::vector<UnsupportedColumn> unsupported;
  ASSERT_OK_AND_ASSIGN(auto schema, InferUnischema(*dataset, &unsupported));
  ASSERT_EQ(schema->fields().size(), 1u);
  EXPECT_EQ(schema->fields()[0].name, "id");
  ASSERT_EQ(unsupported.size(), 1u);
  EXPECT_EQ(unsupported[0].name, "blob");
  EXPECT_NE(unsupported[0].reason.find("petastorm.test.opaque"), std::string::npos) << unsupported[0].reason;
}

// Reads every row of `fields` through the reader engine, in storage order.
std::vector<std::shared_ptr<const DecodedRowGroup>> ReadAll(const std::shared_ptr<const Dataset>& dataset,
                                                         std::vector<std::string> fields,
                                                         std::shared_ptr<const Predicate> predicate = nullptr) {
  ReaderOptions options;
  options.schema = InferUnischema(*dataset).ValueOrDie();
  options.fields = std::move(fields);
  options.shuffle_row_groups = false;
  options.predicate = std::move(predicate);
  auto reader = Reader::Open(dataset, options).ValueOrDie();
  std::vector<std::shared_ptr<const DecodedRowGroup>> batches;
  while (auto batch = reader->Next().ValueOrDie()) batches.push_back(batch);
  return batches;
}

TEST(InferredDatasetTest, NestedColumnsReadThroughTheEngine) {
  ScratchDir scratch;
  auto table = EveryTypeTable();
  WriteParquet(*table, scratch.Path("ds/part-0.parquet"));
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(scratch.Path("ds")));
  // Columns after nested ones are found by their Parquet leaves, in any order.
  auto batches = ReadAll(dataset, {"tail", "mp", "lol", "st", "i8"});
  ASSERT_EQ(batches.size(), 1u);
  const DecodedRowGroup& batch = *batches[0];
  ASSERT_EQ(batch.num_rows, 3);
  EXPECT_TRUE(batch.column("tail")->values->Equals(*table->GetColumnByName("tail")->chunk(0)));
  EXPECT_TRUE(batch.column("st")->values->Equals(*table->GetColumnByName("st")->chunk(0)))
      << batch.column("st")->values->ToString();
  EXPECT_TRUE(batch.column("i8")->values->Equals(*table->GetColumnByName("i8")->chunk(0)));
  EXPECT_EQ(batch.column("lol")->values->ToString(), table->GetColumnByName("lol")->chunk(0)->ToString());
  EXPECT_EQ(batch.column("mp")->values->length(), 3);

  // Every column, as stored (date64 aside, which Parquet keeps as date32).
  auto all = ReadAll(dataset, {});
  ASSERT_EQ(all.size(), 1u);
  for (const DecodedColumn& column : all[0]->columns) {
    if (column.field->name == "d64") continue;
    auto expected = table->GetColumnByName(column.field->name)->chunk(0);
    EXPECT_TRUE(column.values->Equals(*expected)) << column.field->name << ": " << column.values->ToString();
  }
}

TEST(InferredDatasetTest, PredicatesOnDictionaryListAndTimeColumns) {
  ScratchDir scratch;
  auto table = MakeTable({
      {"tail", Json(arrow::int32(), "[10, 20, 30]")},
      {"dict", arrow::DictionaryArray::FromArrays(arrow::dictionary(arrow::int32(), arrow::utf8()),
                                                  Json(arrow::int32(), "[0, null, 1]"),
                                                  Json(arrow::utf8(), R"(["p", "q"])"))
                   .ValueOrDie()},
      {"t32", Json(arrow::time32(arrow::TimeUnit::MILLI), "[0, null, 5]")},
      {"lst", Json(arrow::list(arrow::int32()), "[[1, 2], [], [3]]")},
      {"fsl", Json(arrow::fixed_size_list(arrow::float32(), 3), "[[1, 2, 3], [0, 0, 0], [4, 5, 6]]")},
      {"lol", Json(arrow::list(arrow::list(arrow::int64())), "[[[1], [2, 3]], null, []]")},
  });
  WriteParquet(*table, scratch.Path("ds/part-0.parquet"));
  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(scratch.Path("ds")));
  auto ids = [&](std::shared_ptr<const Predicate> predicate) {
    std::vector<int32_t> out;
    for (const auto& batch : ReadAll(dataset, {"tail"}, predicate)) {
      const auto& tail = static_cast<const arrow::Int32Array&>(*batch->column("tail")->values);
      for (int64_t i = 0; i < batch->num_rows; ++i) out.push_back(tail.Value(i));
    }
    return out;
  };
  EXPECT_EQ(ids(MakeInSet({std::string("q")}, "dict").ValueOrDie()), std::vector<int32_t>{30});
  EXPECT_EQ(ids(MakeInSet({Value{}}, "dict").ValueOrDie()), std::vector<int32_t>{20});
  EXPECT_EQ(ids(MakeInSet({int64_t{5}}, "t32").ValueOrDie()), std::vector<int32_t>{30});
  EXPECT_EQ(ids(MakeInIntersection({int64_t{2}, int64_t{3}}, "lst").ValueOrDie()),
            (std::vector<int32_t>{10, 30}));
  EXPECT_EQ(ids(MakeInIntersection({double{5}}, "fsl").ValueOrDie()), std::vector<int32_t>{30});

  // A null list is not iterable; in_set does not compare lists.
  ReaderOptions options;
  options.schema = InferUnischema(*dataset).ValueOrDie();
  options.predicate = MakeInIntersection({int64_t{1}}, "lol").ValueOrDie();
  options.pool = PoolType::kDummy;
  auto reader = Reader::Open(dataset, options).ValueOrDie();
  auto next = reader->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("iterable"), std::string::npos) << next.status();
  options.predicate = MakeInSet({int64_t{1}}, "lst").ValueOrDie();
  reader = Reader::Open(dataset, options).ValueOrDie();
  next = reader->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(next.status().IsTypeError()) << next.status();
  EXPECT_NE(next.status().message().find("in_intersection"), std::string::npos);
}

TEST(DatasetUrlListTest, FilesAndDirectoriesUnderTheirCommonParent) {
  ScratchDir scratch;
  auto table = MakeTable({{"v", Json(arrow::int64(), "[1, 2, 3]")}});
  WriteParquet(*table, scratch.Path("ds/year=2020/part-0.parquet"));
  WriteParquet(*table, scratch.Path("ds/year=2020/part-1.parquet"));
  WriteParquet(*table, scratch.Path("ds/year=2021/part-0.parquet"));
  WriteParquet(*table, scratch.Path("ds/year=2022/part-0.parquet"), 1);
  std::filesystem::create_directories(scratch.Path("ds/year=2021/_temporary"));
  WriteParquet(*table, scratch.Path("ds/year=2021/_temporary/junk.parquet"));

  ASSERT_OK_AND_ASSIGN(auto dataset, Dataset::Open(std::vector<std::string>{
                                         scratch.Path("ds/year=2022/part-0.parquet"),
                                         scratch.Path("ds/year=2020"),
                                         "file://" + scratch.Path("ds/year=2021/"),
                                         scratch.Path("ds/year=2020/part-1.parquet")}));
  EXPECT_EQ(dataset->root(), scratch.Path("ds"));
  ASSERT_EQ(dataset->files().size(), 4u);  // deduplicated, _temporary skipped
  EXPECT_EQ(dataset->files()[0], scratch.Path("ds/year=2020/part-0.parquet"));
  EXPECT_EQ(dataset->files()[3], scratch.Path("ds/year=2022/part-0.parquet"));
  EXPECT_EQ(dataset->row_groups().size(), 3u + 3u);  // 1 + 1 + 1 + 3 rows of one row each
  ASSERT_EQ(dataset->partition_keys().size(), 1u);
  EXPECT_EQ(dataset->partition_keys()[0].name, "year");
  ASSERT_OK_AND_ASSIGN(auto year, dataset->PartitionValue(3, 0));
  EXPECT_EQ(year->ToString(), "2022");

  // One URL is the same as opening it.
  ASSERT_OK_AND_ASSIGN(auto one, Dataset::Open(std::vector<std::string>{scratch.Path("ds")}));
  EXPECT_EQ(one->files().size(), 4u);
  EXPECT_EQ(one->url(), scratch.Path("ds"));
}

TEST(DatasetUrlListTest, Errors) {
  ScratchDir scratch;
  WriteParquet(*MakeTable({{"v", Json(arrow::int64(), "[1]")}}), scratch.Path("ds/part-0.parquet"));
  auto empty = Dataset::Open(std::vector<std::string>{});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("non-empty"), std::string::npos);
  auto missing = Dataset::Open(std::vector<std::string>{scratch.Path("ds"), scratch.Path("nothing")});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_NE(missing.status().message().find("nothing"), std::string::npos);
  auto mixed = Dataset::Open(std::vector<std::string>{scratch.Path("ds"), "mock:///elsewhere"});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("same scheme and netloc"), std::string::npos) << mixed.status();
}

}  // namespace
}  // namespace petastorm
