#include "petastorm/row_encoder.h"

#include <arrow/array.h>
#include <gtest/gtest.h>

#include "petastorm/codec.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

using testing::FilledTensor;
using testing::SameBytes;
using testing::TestRow;
using testing::TestSchema;

TEST(RowEncoderTest, EncodesRowsIntoStorageColumnsThatDecodeBack) {
  auto encoder = RowEncoder::Make(TestSchema()).ValueOrDie();
  std::vector<NamedRow> rows;
  for (int i = 0; i < 12; ++i) rows.push_back(TestRow(i));
  auto batch = encoder->EncodeRows(rows).ValueOrDie();
  ASSERT_EQ(batch->num_rows(), 12);
  EXPECT_TRUE(batch->schema()->Equals(*encoder->arrow_schema()));
  EXPECT_EQ(batch->schema()->field(0)->type()->id(), arrow::Type::INT64);
  EXPECT_EQ(batch->schema()->field(2)->type()->id(), arrow::Type::BINARY);

  auto ids = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
  auto labels = std::static_pointer_cast<arrow::StringArray>(batch->column(1));
  auto matrices = std::static_pointer_cast<arrow::BinaryArray>(batch->column(2));
  auto images = std::static_pointer_cast<arrow::BinaryArray>(batch->column(3));
  const Field& matrix_field = *encoder->schema()->GetField("matrix");
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(ids->Value(i), i);
    EXPECT_EQ(labels->IsNull(i), i % 3 == 0);
    if (i % 3 != 0) EXPECT_EQ(labels->GetString(i), "row-" + std::to_string(i));
    EXPECT_EQ(images->IsNull(i), i % 5 == 0);
    auto view = matrices->GetView(i);
    auto decoded = DecodeField(matrix_field, reinterpret_cast<const uint8_t*>(view.data()),
                               static_cast<int64_t>(view.size()))
                       .ValueOrDie();
    EXPECT_TRUE(SameBytes(decoded, FilledTensor(ScalarType::kFloat32, {2, 1 + i % 4}, i))) << i;
  }
}

TEST(RowEncoderTest, ARejectedRowNamesItsNumberAndFieldAndIsNotQueued) {
  auto encoder = RowEncoder::Make(TestSchema()).ValueOrDie();
  ASSERT_TRUE(encoder->Append(TestRow(0), 0).ok());
  NamedRow bad = TestRow(1);
  bad[2].second = FilledTensor(ScalarType::kFloat32, {3, 1}, 1);  // matrix must be (2, None)
  auto status = encoder->Append(bad, 41);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("Row 41"), std::string::npos) << status;
  EXPECT_NE(status.message().find("matrix"), std::string::npos) << status;
  EXPECT_EQ(encoder->queued_rows(), 1);

  ASSERT_TRUE(encoder->EncodeQueued().ok());
  EXPECT_EQ(encoder->encoded_rows(), 1);
  int64_t bytes = encoder->TakeEncodedRow().ValueOrDie();
  EXPECT_GT(bytes, 8);
  EXPECT_FALSE(encoder->TakeEncodedRow().ok());  // nothing left to take
  EXPECT_EQ(encoder->FinishBatch().ValueOrDie()->num_rows(), 1);
  EXPECT_EQ(encoder->FinishBatch().ValueOrDie()->num_rows(), 0);  // the next batch starts empty
}

TEST(RowEncoderTest, EncodeRowsKeepsNoneOfAFailedCall) {
  auto encoder = RowEncoder::Make(TestSchema()).ValueOrDie();
  std::vector<NamedRow> rows = {TestRow(0), TestRow(1)};
  rows[1].emplace_back("unknown", int64_t{1});
  auto failed = encoder->EncodeRows(rows, 100);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("Row 101"), std::string::npos) << failed.status();
  EXPECT_NE(failed.status().message().find("'unknown'"), std::string::npos) << failed.status();
  EXPECT_EQ(encoder->queued_rows(), 0);
  auto batch = encoder->EncodeRows({TestRow(7)}).ValueOrDie();
  ASSERT_EQ(batch->num_rows(), 1);
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Array>(batch->column(0))->Value(0), 7);
}

}  // namespace
}  // namespace petastorm
