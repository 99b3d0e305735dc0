#include "petastorm/predicate.h"

#include <cstring>
#include <thread>

#include <arrow/json/from_string.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

#include "petastorm/codec.h"
#include "petastorm/dataset_writer.h"
#include "petastorm/reader.h"
#include "predicate/md5_internal.h"
#include "predicate/python_text_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

// --- MD5 ----------------------------------------------------------------------------------

TEST(Md5Test, Rfc1321Vectors) {
  using internal::Md5Hex;
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Md5Hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Md5Hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(Md5Hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  std::string digits;
  for (int i = 0; i < 8; ++i) digits += "1234567890";
  EXPECT_EQ(Md5Hex(digits), "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5Test, PaddingBoundaries) {
  // hashlib.md5(b'x' * n).hexdigest(): the tail fits one block up to 55 bytes, needs two from 56.
  using internal::Md5Hex;
  EXPECT_EQ(Md5Hex(std::string(55, 'x')), "04364420e25c512fd958a70738aa8f72");
  EXPECT_EQ(Md5Hex(std::string(56, 'x')), "668a72d5ba17f08e62dabcafad6db14b");
  EXPECT_EQ(Md5Hex(std::string(63, 'x')), "7dc2ca208106a2f703567bdff99d8981");
  EXPECT_EQ(Md5Hex(std::string(64, 'x')), "c1bb4f81d892b2d57947682aeb252456");
  EXPECT_EQ(Md5Hex(std::string(65, 'x')), "1bc932052302d074bdec39795fe00cf6");
  EXPECT_EQ(Md5Hex(std::string(119, 'x')), "ab347a5f68c8a443cfcddc633f12c24f");
  EXPECT_EQ(Md5Hex(std::string(120, 'x')), "fb98667f98096de92620b64f46e1c5b5");
}

TEST(Md5Test, ModuloMaxsizeMatchesPython) {
  // int(hashlib.md5(s.encode()).hexdigest(), 16) % sys.maxsize
  using internal::Md5ModMaxsize;
  EXPECT_EQ(Md5ModMaxsize(""), 1277653728798287499u);
  EXPECT_EQ(Md5ModMaxsize("a"), 5424169405281637297u);
  EXPECT_EQ(Md5ModMaxsize("abc"), 8545827329296178901u);
  EXPECT_EQ(Md5ModMaxsize("message digest"), 4985768653235456238u);
  EXPECT_EQ(Md5ModMaxsize("guid_7"), 31016307352302394u);
  EXPECT_EQ(Md5ModMaxsize(std::string(63, 'x')), 9141199077502537584u);
}

// --- Python text forms ---------------------------------------------------------------------

TEST(PredicateFormatTest, NumpyFloatStr) {
  using internal::NumpyFloatStr;
  // str(np.float64(v)) == repr(v)
  EXPECT_EQ(NumpyFloatStr(0.1, 64), "0.1");
  EXPECT_EQ(NumpyFloatStr(1.0, 64), "1.0");
  EXPECT_EQ(NumpyFloatStr(-2.0, 64), "-2.0");
  EXPECT_EQ(NumpyFloatStr(1e16, 64), "1e+16");
  EXPECT_EQ(NumpyFloatStr(9999999999999998.0, 64), "9999999999999998.0");
  EXPECT_EQ(NumpyFloatStr(1e-4, 64), "0.0001");
  EXPECT_EQ(NumpyFloatStr(1e-5, 64), "1e-05");
  EXPECT_EQ(NumpyFloatStr(1.5e300, 64), "1.5e+300");
  EXPECT_EQ(NumpyFloatStr(123456.7, 64), "123456.7");
  EXPECT_EQ(NumpyFloatStr(0.0, 64), "0.0");
  EXPECT_EQ(NumpyFloatStr(-0.0, 64), "-0.0");
  EXPECT_EQ(NumpyFloatStr(std::nan(""), 64), "nan");
  EXPECT_EQ(NumpyFloatStr(-HUGE_VAL, 64), "-inf");
  // np.float32: shortest float32 digits, scientific from 1e6.
  EXPECT_EQ(NumpyFloatStr(static_cast<float>(0.1), 32), "0.1");
  EXPECT_EQ(NumpyFloatStr(static_cast<float>(1e-4), 32), "1e-04");  // just below 1e-4
  EXPECT_EQ(NumpyFloatStr(999999.0f, 32), "999999.0");
  EXPECT_EQ(NumpyFloatStr(1e6f, 32), "1e+06");
  EXPECT_EQ(NumpyFloatStr(12345678.0f, 32), "1.2345678e+07");
  // np.float16: scientific from 1e3; at a power of two the shorter neighbour wins.
  EXPECT_EQ(NumpyFloatStr(999.0, 16), "999.0");
  EXPECT_EQ(NumpyFloatStr(1000.0, 16), "1e+03");
  EXPECT_EQ(NumpyFloatStr(65504.0, 16), "6.55e+04");
  EXPECT_EQ(NumpyFloatStr(0.015625, 16), "0.01563");
  EXPECT_EQ(NumpyFloatStr(0.0999755859375, 16), "0.1");  // np.float16(0.1)
}

TEST(PredicateFormatTest, PythonBytesRepr) {
  using internal::PythonBytesRepr;
  EXPECT_EQ(PythonBytesRepr("a"), "b'a'");
  EXPECT_EQ(PythonBytesRepr("it's"), "b\"it's\"");
  EXPECT_EQ(PythonBytesRepr("'\""), "b'\\'\"'");
  EXPECT_EQ(PythonBytesRepr(std::string("x\0y", 3)), "b'x\\x00y'");
  EXPECT_EQ(PythonBytesRepr("\xff\n\t\r\\"), "b'\\xff\\n\\t\\r\\\\'");
}

TEST(PredicateFormatTest, CanonicalDecimal) {
  using internal::CanonicalDecimal;
  EXPECT_EQ(CanonicalDecimal("1.50"), "1.5");
  EXPECT_EQ(CanonicalDecimal("1E+3"), "1000");
  EXPECT_EQ(CanonicalDecimal("1E-7"), "0.0000001");
  EXPECT_EQ(CanonicalDecimal("-0.0"), "0");
  EXPECT_EQ(CanonicalDecimal("-012.3400"), "-12.34");
  EXPECT_EQ(CanonicalDecimal("100"), "100");
  EXPECT_EQ(CanonicalDecimal("NaN"), std::nullopt);
  EXPECT_EQ(CanonicalDecimal("1e999999"), std::nullopt);
  EXPECT_EQ(internal::ExactDecimal(0.5), "0.5");
  EXPECT_EQ(internal::ExactDecimal(0.1), "0.1000000000000000055511151231257827021181583404541015625");
  EXPECT_EQ(internal::ExactDecimal(1e20), "100000000000000000000");
}

// --- Batches built by hand -----------------------------------------------------------------

std::shared_ptr<arrow::Array> FromJson(const std::shared_ptr<arrow::DataType>& type,
                                       const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

template <typename T>
Tensor MakeTensor(const std::string& type_string, std::vector<int64_t> shape, const std::vector<T>& data) {
  ElementType element = ElementType::FromTypeString(type_string).ValueOrDie();
  Tensor t = Tensor::Allocate(element, std::move(shape)).ValueOrDie();
  EXPECT_EQ(static_cast<size_t>(t.nbytes()), data.size() * sizeof(T));
  if (!data.empty()) std::memcpy(t.data->mutable_data(), data.data(), data.size() * sizeof(T));
  return t;
}

// numpy 'U<n>' elements: UCS4 code points, NUL-padded.
Tensor UnicodeTensor(const std::vector<std::u32string>& items, int width) {
  std::vector<uint32_t> data;
  for (const auto& item : items) {
    for (int i = 0; i < width; ++i) data.push_back(i < static_cast<int>(item.size()) ? item[i] : 0);
  }
  return MakeTensor("<U" + std::to_string(width), {static_cast<int64_t>(items.size())}, data);
}

struct ColumnSpec {
  Field field;
  std::shared_ptr<arrow::Array> values;       // scalar fields
  std::vector<std::optional<Tensor>> tensors;  // codec fields
};

std::shared_ptr<const DecodedRowGroup> MakeBatch(std::vector<ColumnSpec> specs, int64_t num_rows) {
  std::vector<Field> fields;
  for (const auto& s : specs) fields.push_back(s.field);
  auto batch = std::make_shared<DecodedRowGroup>();
  batch->schema = Unischema::Make("Test", fields).ValueOrDie();
  batch->num_rows = num_rows;
  for (size_t i = 0; i < specs.size(); ++i) {
    DecodedColumn column;
    column.field = &batch->schema->fields()[i];
    column.values = specs[i].values;
    column.tensors = std::move(specs[i].tensors);
    batch->columns.push_back(std::move(column));
  }
  return batch;
}

Field ScalarField(const std::string& name, ScalarType dtype,
                  std::shared_ptr<arrow::DataType> storage = nullptr) {
  Field f{name, dtype, {}, nullptr, true};
  f.arrow_type = std::move(storage);
  return f;
}

Field ArrayField(const std::string& name, ScalarType dtype, FieldShape shape = {std::nullopt}) {
  return Field{name, dtype, std::move(shape), MakeNdarrayCodec(), true};
}

std::string Flags(const std::vector<bool>& flags) {
  std::string out;
  for (bool f : flags) out.push_back(f ? '1' : '0');
  return out;
}

std::string Eval(const std::shared_ptr<const Predicate>& predicate, const DecodedRowGroup& batch) {
  auto flags = predicate->Evaluate(batch);
  EXPECT_TRUE(flags.ok()) << flags.status().ToString();
  return flags.ok() ? Flags(*flags) : "<error>";
}

std::shared_ptr<const DecodedRowGroup> ScalarBatch() {
  return MakeBatch(
      {
          {ScalarField("i", ScalarType::kInt32), FromJson(arrow::int32(), "[1, 5, null, 0, -3]"), {}},
          {ScalarField("f", ScalarType::kFloat32), FromJson(arrow::float32(), "[0.1, 0.5, 5, null, -0.0]"), {}},
          {ScalarField("d", ScalarType::kFloat64), FromJson(arrow::float64(), "[0.1, 0.5, 5, 1e20, NaN]"), {}},
          {ScalarField("b", ScalarType::kBool), FromJson(arrow::boolean(), "[true, false, null, true, false]"), {}},
          {ScalarField("s", ScalarType::kString), FromJson(arrow::utf8(), R"(["a", "b", null, "a", "é"])"), {}},
          {ScalarField("y", ScalarType::kBytes), FromJson(arrow::binary(), R"(["a", "b", "", null, "a"])"), {}},
          {ScalarField("u", ScalarType::kUInt64),
           FromJson(arrow::uint64(), "[9223372036854775813, 1, 2, 3, 18446744073709551615]"), {}},
      },
      5);
}

TEST(PredicateTest, InSetComparesNumbersByValue) {
  auto batch = ScalarBatch();
  auto in_set = [](std::vector<Value> values, const std::string& field) {
    return MakeInSet(std::move(values), field).ValueOrDie();
  };
  // int32 5 == 5 == 5.0; True == 1; null only when None is a value.
  EXPECT_EQ(Eval(in_set({int64_t{5}}, "i"), *batch), "01000");
  EXPECT_EQ(Eval(in_set({5.0}, "i"), *batch), "01000");
  EXPECT_EQ(Eval(in_set({true}, "i"), *batch), "10000");
  EXPECT_EQ(Eval(in_set({uint64_t{5}, int64_t{-3}}, "i"), *batch), "01001");
  EXPECT_EQ(Eval(in_set({Value{}, int64_t{0}}, "i"), *batch), "00110");
  EXPECT_EQ(Eval(in_set({5.5}, "i"), *batch), "00000");
  // float32 0.1 is not the double 0.1 (np.float32(0.1) == 0.1 is False); 0.5 is exact.
  EXPECT_EQ(Eval(in_set({0.1}, "f"), *batch), "00000");
  EXPECT_EQ(Eval(in_set({static_cast<double>(0.1f)}, "f"), *batch), "10000");
  EXPECT_EQ(Eval(in_set({0.5, int64_t{5}, int64_t{0}}, "f"), *batch), "01101");
  EXPECT_EQ(Eval(in_set({0.1}, "d"), *batch), "10000");
  EXPECT_EQ(Eval(in_set({1e20, std::nan("")}, "d"), *batch), "00010");
  // bool: True == 1 == 1.0
  EXPECT_EQ(Eval(in_set({int64_t{1}}, "b"), *batch), "10010");
  EXPECT_EQ(Eval(in_set({0.0}, "b"), *batch), "01001");
  // uint64 beyond int64
  EXPECT_EQ(Eval(in_set({uint64_t{9223372036854775813u}, uint64_t{18446744073709551615u}}, "u"), *batch),
            "10001");
  EXPECT_EQ(Eval(in_set({int64_t{-1}}, "u"), *batch), "00000");
}

TEST(PredicateTest, InSetComparesTextAndBytesApart) {
  auto batch = ScalarBatch();
  EXPECT_EQ(Eval(MakeInSet({std::string("a"), std::string("é")}, "s").ValueOrDie(), *batch), "10011");
  EXPECT_EQ(Eval(MakeInSet({Bytes{"a"}}, "s").ValueOrDie(), *batch), "00000");
  EXPECT_EQ(Eval(MakeInSet({Bytes{"a"}, Bytes{""}}, "y").ValueOrDie(), *batch), "10101");
  EXPECT_EQ(Eval(MakeInSet({std::string("a")}, "y").ValueOrDie(), *batch), "00000");
  EXPECT_EQ(Eval(MakeInSet({int64_t{1}}, "s").ValueOrDie(), *batch), "00000");
}

TEST(PredicateTest, NullsMatchOnlyNoneAndNegationKeepsThem) {
  // Petastorm: `None in {'a'}` is False, so in_negate keeps the null rows.
  auto batch = ScalarBatch();
  auto in_set = MakeInSet({std::string("a")}, "s").ValueOrDie();
  EXPECT_EQ(Eval(in_set, *batch), "10010");
  EXPECT_EQ(Eval(MakeInNegate(in_set).ValueOrDie(), *batch), "01101");
  EXPECT_EQ(Eval(MakeInSet({Value{}}, "s").ValueOrDie(), *batch), "00100");
}

TEST(PredicateTest, ConvertsToTheFieldDtypeFirst) {
  // A float32 field stored as double compares as np.float32, as the reader delivers it; an int8
  // field stored as int32 wraps as astype does.
  auto batch = MakeBatch(
      {
          {ScalarField("f", ScalarType::kFloat32, arrow::float64()), FromJson(arrow::float64(), "[0.1, 2]"), {}},
          {ScalarField("i", ScalarType::kInt8, arrow::int32()), FromJson(arrow::int32(), "[300, 2]"), {}},
      },
      2);
  EXPECT_EQ(Eval(MakeInSet({0.1}, "f").ValueOrDie(), *batch), "00");
  EXPECT_EQ(Eval(MakeInSet({static_cast<double>(0.1f)}, "f").ValueOrDie(), *batch), "10");
  EXPECT_EQ(Eval(MakeInSet({int64_t{44}}, "i").ValueOrDie(), *batch), "10");
}

TEST(PredicateTest, DecimalsAndDatetimes) {
  auto batch = MakeBatch(
      {
          {ScalarField("dec", ScalarType::kDecimal, arrow::decimal128(10, 2)),
           FromJson(arrow::decimal128(10, 2), R"(["1.50", "2.00", "0.25", null, "-12.34"])"), {}},
          {ScalarField("ts", ScalarType::kDatetime64, arrow::timestamp(arrow::TimeUnit::MICRO)),
           FromJson(arrow::timestamp(arrow::TimeUnit::MICRO), "[1, 2, 3, null, 1000000]"), {}},
          {ScalarField("day", ScalarType::kDatetime64, arrow::date32()),
           FromJson(arrow::date32(), "[0, 1, 2, 3, 4]"), {}},
      },
      5);
  // Decimal('1.5') == Decimal('1.50'); Decimal('2.00') == 2; Decimal('0.25') == 0.25 (exact).
  EXPECT_EQ(Eval(MakeInSet({DecimalText{"1.5"}, int64_t{2}, 0.25}, "dec").ValueOrDie(), *batch), "11100");
  EXPECT_EQ(Eval(MakeInSet({DecimalText{"-1234E-2"}, Value{}}, "dec").ValueOrDie(), *batch), "00011");
  EXPECT_EQ(Eval(MakeInSet({0.1, DecimalText{"1.51"}}, "dec").ValueOrDie(), *batch), "00000");
  EXPECT_EQ(Eval(MakeInSet({DatetimeNs{2000}, DatetimeNs{1000000000}}, "ts").ValueOrDie(), *batch), "01001");
  EXPECT_EQ(Eval(MakeInSet({int64_t{2000}}, "ts").ValueOrDie(), *batch), "00000");
  EXPECT_EQ(Eval(MakeInSet({DatetimeNs{2 * 86400LL * 1000000000}}, "day").ValueOrDie(), *batch), "00100");
  // An int compares equal to a Decimal of the same value and a float too.
  auto ints = MakeBatch({{ScalarField("i", ScalarType::kInt64), FromJson(arrow::int64(), "[2, 3]"), {}}}, 2);
  EXPECT_EQ(Eval(MakeInSet({DecimalText{"2.000"}}, "i").ValueOrDie(), *ints), "10");
  auto floats = MakeBatch({{ScalarField("f", ScalarType::kFloat64), FromJson(arrow::float64(), "[0.25, 0.1]"), {}}}, 2);
  EXPECT_EQ(Eval(MakeInSet({DecimalText{"0.25"}, DecimalText{"0.1"}}, "f").ValueOrDie(), *floats), "10");
}

TEST(PredicateTest, InSetOnTensorsNeedsZeroDimensions) {
  auto batch = MakeBatch(
      {
          {ArrayField("scalar", ScalarType::kInt32, {}), nullptr,
           {MakeTensor<int32_t>("<i4", {}, {7}), std::nullopt, MakeTensor<int32_t>("<i4", {}, {8})}},
          {ArrayField("vector", ScalarType::kInt32), nullptr,
           {MakeTensor<int32_t>("<i4", {2}, {7, 8}), std::nullopt, MakeTensor<int32_t>("<i4", {1}, {8})}},
      },
      3);
  EXPECT_EQ(Eval(MakeInSet({int64_t{7}}, "scalar").ValueOrDie(), *batch), "100");
  EXPECT_EQ(Eval(MakeInSet({Value{}, 8.0}, "scalar").ValueOrDie(), *batch), "011");
  auto error = MakeInSet({int64_t{7}}, "vector").ValueOrDie()->Evaluate(*batch);
  ASSERT_FALSE(error.ok());
  EXPECT_TRUE(error.status().IsTypeError());
  EXPECT_NE(error.status().message().find("in_set on field 'vector'"), std::string::npos) << error.status();
  EXPECT_NE(error.status().message().find("in_intersection"), std::string::npos);
}

TEST(PredicateTest, InIntersectionOnArrays) {
  auto batch = MakeBatch(
      {
          {ArrayField("ints", ScalarType::kInt32), nullptr,
           {MakeTensor<int32_t>("<i4", {3}, {1, 2, 3}), MakeTensor<int32_t>("<i4", {2}, {4, 5}),
            MakeTensor<int32_t>("<i4", {0}, {}), MakeTensor<int32_t>("<i4", {2, 2}, {9, 9, 9, 3})}},
          {ArrayField("floats", ScalarType::kFloat32), nullptr,
           {MakeTensor<float>("<f4", {2}, {0.5f, 0.1f}), MakeTensor<float>("<f4", {1}, {3.0f}),
            MakeTensor<float>("<f4", {1}, {-1.0f}), MakeTensor<float>("<f4", {1}, {0.25f})}},
          {ArrayField("words", ScalarType::kString), nullptr,
           {UnicodeTensor({U"ab", U"é"}, 3), UnicodeTensor({U"abc"}, 3), UnicodeTensor({}, 1),
            UnicodeTensor({U"a"}, 2)}},
          {ArrayField("raw", ScalarType::kBytes), nullptr,
           {MakeTensor<char>("|S2", {2}, {'a', 'b', 'c', '\0'}), MakeTensor<char>("|S2", {1}, {'a', '\0'}),
            MakeTensor<char>("|S2", {1}, {'\0', '\0'}), MakeTensor<char>("|S2", {1}, {'z', 'z'})}},
      },
      4);
  auto in_intersection = [](std::vector<Value> values, const std::string& field) {
    return MakeInIntersection(std::move(values), field).ValueOrDie();
  };
  EXPECT_EQ(Eval(in_intersection({int64_t{3}}, "ints"), *batch), "1001");
  EXPECT_EQ(Eval(in_intersection({5.0, std::string("x")}, "ints"), *batch), "0100");
  EXPECT_EQ(Eval(in_intersection({}, "ints"), *batch), "0000");
  EXPECT_EQ(Eval(in_intersection({0.5, int64_t{3}}, "floats"), *batch), "1100");
  // UCS4 elements, NUL padding stripped, compare with UTF-8 text.
  EXPECT_EQ(Eval(in_intersection({std::string("é")}, "words"), *batch), "1000");
  EXPECT_EQ(Eval(in_intersection({std::string("abc"), std::string("a")}, "words"), *batch), "0101");
  EXPECT_EQ(Eval(in_intersection({Bytes{"c"}, Bytes{""}}, "raw"), *batch), "1010");
  EXPECT_EQ(Eval(in_intersection({std::string("a")}, "raw"), *batch), "0000");
  // any(np.in1d) is False for every row of an array holding none of the values: negate keeps them.
  EXPECT_EQ(Eval(MakeInNegate(in_intersection({int64_t{3}}, "ints")).ValueOrDie(), *batch), "0110");
}

TEST(PredicateTest, InIntersectionNeedsIterables) {
  auto batch = MakeBatch(
      {
          {ArrayField("a", ScalarType::kInt32), nullptr, {MakeTensor<int32_t>("<i4", {1}, {1}), std::nullopt}},
          {ScalarField("i", ScalarType::kInt32), FromJson(arrow::int32(), "[1, 2]"), {}},
          {ScalarField("s", ScalarType::kString), FromJson(arrow::utf8(), R"(["abc", "a"])"), {}},
      },
      2);
  for (const std::string field : {"a", "i"}) {
    auto result = MakeInIntersection({int64_t{1}}, field).ValueOrDie()->Evaluate(*batch);
    ASSERT_FALSE(result.ok()) << field;
    EXPECT_TRUE(result.status().IsInvalid());
    EXPECT_NE(result.status().message().find("in_intersection on field '" + field + "'"), std::string::npos);
    EXPECT_NE(result.status().message().find("Predicate field should have iterable type"), std::string::npos);
  }
  // A str is iterable; np.in1d compares it whole.
  EXPECT_EQ(Eval(MakeInIntersection({std::string("a")}, "s").ValueOrDie(), *batch), "01");
}

TEST(PredicateTest, NegateAndReduce) {
  auto batch = ScalarBatch();
  auto i5 = MakeInSet({int64_t{5}, int64_t{1}}, "i").ValueOrDie();  // 11000
  auto sa = MakeInSet({std::string("a")}, "s").ValueOrDie();        // 10010
  auto all = MakeInReduce({i5, sa}, ReduceOp::kAll).ValueOrDie();
  auto any = MakeInReduce({i5, sa}, ReduceOp::kAny).ValueOrDie();
  EXPECT_EQ(Eval(all, *batch), "10000");
  EXPECT_EQ(Eval(any, *batch), "11010");
  EXPECT_EQ(Eval(MakeInNegate(any).ValueOrDie(), *batch), "00101");
  EXPECT_EQ(all->fields(), (std::vector<std::string>{"i", "s"}));
  auto nested = MakeInReduce({all, MakeInSet({0.5}, "f").ValueOrDie(), sa}, ReduceOp::kAny).ValueOrDie();
  EXPECT_EQ(nested->fields(), (std::vector<std::string>{"i", "s", "f"}));
  EXPECT_EQ(Eval(MakeInReduce({}, ReduceOp::kAll).ValueOrDie(), *batch), "11111");
  EXPECT_EQ(Eval(MakeInReduce({}, ReduceOp::kAny).ValueOrDie(), *batch), "00000");
  EXPECT_FALSE(MakeInNegate(nullptr).ok());
  EXPECT_FALSE(MakeInReduce({i5, nullptr}, ReduceOp::kAll).ok());
  EXPECT_EQ(MakeInNegate(i5).ValueOrDie()->ToString(), "in_negate(in_set([5, 1], 'i'))");
}

TEST(PredicateTest, ErrorsNameThePredicateAndField) {
  auto batch = ScalarBatch();
  auto missing = MakeInSet({int64_t{1}}, "nope").ValueOrDie()->Evaluate(*batch);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsKeyError());
  EXPECT_NE(missing.status().message().find("in_set on field 'nope'"), std::string::npos);
  auto tensor_value = MakeInSet({MakeTensor<int32_t>("<i4", {1}, {1})}, "i");
  ASSERT_FALSE(tensor_value.ok());
  EXPECT_TRUE(tensor_value.status().IsTypeError());
  EXPECT_NE(tensor_value.status().message().find("in_set on field 'i'"), std::string::npos);
  auto split = MakeInPseudorandomSplit({0.5, 0.5}, 2, "i");
  ASSERT_FALSE(split.ok());
  EXPECT_NE(split.status().message().find("in_pseudorandom_split on field 'i'"), std::string::npos);
  EXPECT_NE(split.status().message().find("out of range"), std::string::npos);
  EXPECT_FALSE(MakeInPseudorandomSplit({0.5}, -1, "i").ok());
}

// --- in_pseudorandom_split ----------------------------------------------------------------

std::string Subsets(const std::vector<double>& fractions, const DecodedRowGroup& batch, const std::string& field) {
  std::string out(batch.num_rows, '?');
  for (size_t k = 0; k < fractions.size(); ++k) {
    auto flags = MakeInPseudorandomSplit(fractions, static_cast<int>(k), field).ValueOrDie()->Evaluate(batch);
    EXPECT_TRUE(flags.ok()) << flags.status().ToString();
    if (!flags.ok()) return "<error>";
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      if (!(*flags)[i]) continue;
      EXPECT_EQ(out[i], '?') << "row " << i << " is in two subsets";  // a partition
      out[i] = static_cast<char>('0' + k);
    }
  }
  return out;
}

TEST(PredicateTest, PseudorandomSplitMatchesPetastorm) {
  // Expected subsets computed with Python: int(hashlib.md5(str(v).encode()).hexdigest(), 16)
  // % sys.maxsize against the cumulative fractions * (sys.maxsize - 1).
  std::string ints = "[", guids = "[";
  for (int i = 0; i < 40; ++i) {
    ints += (i ? ", " : "") + std::to_string(i);
    guids += std::string(i ? ", " : "") + "\"guid_" + std::to_string(i) + "\"";
  }
  auto batch = MakeBatch(
      {
          {ScalarField("id", ScalarType::kInt64), FromJson(arrow::int64(), ints + "]"), {}},
          {ScalarField("guid", ScalarType::kString), FromJson(arrow::utf8(), guids + "]"), {}},
      },
      40);
  EXPECT_EQ(Subsets({0.3, 0.7}, *batch, "id"), "0010100111011011111111011011111111111111");
  EXPECT_EQ(Subsets({0.3, 0.7}, *batch, "guid"), "1101010000100111001011111111111111011101");
  EXPECT_EQ(Subsets({0.3, 0.4, 0.1, 0.0, 0.2}, *batch, "id"), "0040200444041011144111011044141224142111");
}

TEST(PredicateTest, PseudorandomSplitFormatsValuesAsPython) {
  const std::string floats = "[0.1, 1.5, 1e-5, 123456.7, 1e7, -2.0, 1e16, 3e-5]";
  auto batch = MakeBatch(
      {
          {ScalarField("f32", ScalarType::kFloat32), FromJson(arrow::float32(), floats), {}},
          {ScalarField("f64", ScalarType::kFloat64), FromJson(arrow::float64(), floats), {}},
      },
      8);
  // str(np.float32(v)) -> '0.1', '1e+07'; str(np.float64(v)) -> '10000000.0'.
  EXPECT_EQ(Subsets({0.5, 0.5}, *batch, "f32"), "10100011");
  EXPECT_EQ(Subsets({0.5, 0.5}, *batch, "f64"), "10101011");

  auto others = MakeBatch(
      {
          {ScalarField("y", ScalarType::kBytes), FromJson(arrow::binary(), R"(["a", "it's", "x\u0000y", null])"), {}},
          {ScalarField("b", ScalarType::kBool), FromJson(arrow::boolean(), "[true, false, null, true]"), {}},
      },
      4);
  // b'a', b"it's", b'x\x00y'; None hashes as 'None' (subset 0).
  EXPECT_EQ(Subsets({0.5, 0.5}, *others, "y"), "0000");
  EXPECT_EQ(Subsets({0.5, 0.5}, *others, "b"), "1001");

  auto half = MakeBatch(
      {{ScalarField("h", ScalarType::kFloat16, arrow::float64()), FromJson(arrow::float64(), "[0.1, 1000, 0.015625]"), {}}},
      3);
  EXPECT_EQ(Subsets({0.5, 0.5}, *half, "h"), "101");  // '0.1', '1e+03', '0.01563'

  // str(Decimal) of what pyarrow delivers: '1.5000000', '1E-7', '1.23E+4', ...
  auto d7 = MakeBatch({{ScalarField("d", ScalarType::kDecimal, arrow::decimal128(10, 7)),
                        FromJson(arrow::decimal128(10, 7),
                                 R"(["1.5000000", "0.0000001", "-12.3450000", "100.0000000", "0.0000010"])"),
                        {}}},
                      5);
  auto d2 = MakeBatch({{ScalarField("d", ScalarType::kDecimal, arrow::decimal128(12, 2)),
                        FromJson(arrow::decimal128(12, 2), R"(["1.50", "-12.34", "100.00", "0.00"])"), {}}},
                      4);
  EXPECT_EQ(Subsets({0.3, 0.3, 0.4}, *d7, "d"), "01120");
  EXPECT_EQ(Subsets({0.3, 0.3, 0.4}, *d2, "d"), "2002");

  auto tensors = MakeBatch({{ArrayField("a", ScalarType::kInt32), nullptr, {MakeTensor<int32_t>("<i4", {1}, {1})}}}, 1);
  auto result = MakeInPseudorandomSplit({1.0}, 0, "a").ValueOrDie()->Evaluate(*tensors);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsNotImplemented());
  EXPECT_NE(result.status().message().find("field 'a'"), std::string::npos);
}

TEST(PredicateTest, PseudorandomSplitOnWrittenDataset) {
  // Rows written with DatasetWriter and loaded with LoadRowGroup; the label of every third
  // row is null and hashes as 'None'.
  testing::ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  WriteOptions options;
  options.rows_per_rowgroup = 40;
  auto writer = DatasetWriter::Open(url, testing::TestSchema(), options).ValueOrDie();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(writer->Write(testing::TestRow(i)).ok());
  ASSERT_TRUE(writer->Close().ok());
  auto dataset = Dataset::Open(url).ValueOrDie();
  auto view = dataset->schema()->View({"id", "label", "matrix"}).ValueOrDie();
  const RowGroupRef ref = dataset->row_groups()[0];
  auto file = dataset->OpenFile(ref.file_index).ValueOrDie();
  auto batch = LoadRowGroup(*dataset, view, ref, file.get()).ValueOrDie();
  ASSERT_EQ(batch->num_rows, 40);
  EXPECT_EQ(Subsets({0.3, 0.7}, *batch, "id"), "0010100111011011111111011011111111111111");
  EXPECT_EQ(Subsets({0.3, 0.7}, *batch, "label"), "1001111011111011111001011111111011111111");
  auto none_rows = MakeInSet({Value{}}, "label").ValueOrDie();
  EXPECT_EQ(Eval(none_rows, *batch), "1001001001001001001001001001001001001001");
  // Row i's matrix holds i + 0.5 * k for k < 2 * (1 + i % 4).
  auto any_matrix = MakeInIntersection({0.5, 3.0}, "matrix").ValueOrDie();
  EXPECT_EQ(Eval(any_matrix, *batch), "1011" + std::string(36, '0'));
}

TEST(PredicateTest, EvaluatesConcurrently) {
  auto batch = ScalarBatch();
  auto predicate = MakeInReduce({MakeInSet({int64_t{5}}, "i").ValueOrDie(),
                                 MakeInPseudorandomSplit({0.5, 0.5}, 1, "s").ValueOrDie()},
                                ReduceOp::kAny)
                       .ValueOrDie();
  const std::string expected = Eval(predicate, *batch);
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) results[t] = Flags(predicate->Evaluate(*batch).ValueOrDie());
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

}  // namespace
}  // namespace petastorm
