#include "petastorm/batcher.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

#include "petastorm/codec.h"
#include "petastorm/dataset_writer.h"
#include "petastorm/reader.h"
#include "util/test_macros_internal.h"
#include "write/test_util_internal.h"

namespace petastorm {
namespace {

// Rows [first, first + n) of a batch of fields id (int64), flag (bool), small (uint16),
// name (string) and vec (float32 tensors of shape (2,) from a codec).
std::shared_ptr<const Unischema> Schema() {
  static const auto schema =
      Unischema::Make("BatcherSchema", {{"id", ScalarType::kInt64, {}, nullptr, false},
                                        {"flag", ScalarType::kBool, {}, nullptr, false},
                                        {"small", ScalarType::kUInt16, {}, nullptr, false},
                                        {"name", ScalarType::kString, {}, nullptr, true},
                                        {"vec", ScalarType::kFloat32, {2}, MakeNdarrayCodec(), false}})
          .ValueOrDie();
  return schema;
}

Tensor Vec(int64_t i) {
  Tensor t = Tensor::Allocate(ElementType::Of(ScalarType::kFloat32), {2}).ValueOrDie();
  auto* f = reinterpret_cast<float*>(t.data->mutable_data());
  f[0] = static_cast<float>(i);
  f[1] = static_cast<float>(-i);
  return t;
}

std::shared_ptr<const DecodedRowGroup> Rows(int64_t first, int64_t n) {
  auto batch = std::make_shared<DecodedRowGroup>();
  batch->schema = Schema();
  batch->num_rows = n;
  arrow::Int64Builder ids;
  arrow::BooleanBuilder flags;
  arrow::UInt16Builder smalls;
  arrow::StringBuilder names;
  std::vector<std::optional<Tensor>> vecs;
  for (int64_t i = first; i < first + n; ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    EXPECT_TRUE(flags.Append(i % 3 == 0).ok());
    EXPECT_TRUE(smalls.Append(static_cast<uint16_t>(60000 + i % 7)).ok());
    if (i % 5 == 0) {
      EXPECT_TRUE(names.AppendNull().ok());
    } else {
      EXPECT_TRUE(names.Append("n" + std::to_string(i)).ok());
    }
    vecs.push_back(Vec(i));
  }
  const auto& fields = batch->schema->fields();
  batch->columns.resize(fields.size());
  for (size_t f = 0; f < fields.size(); ++f) batch->columns[f].field = &fields[f];
  batch->columns[0].values = ids.Finish().ValueOrDie();
  batch->columns[1].values = flags.Finish().ValueOrDie();
  batch->columns[2].values = smalls.Finish().ValueOrDie();
  batch->columns[3].values = names.Finish().ValueOrDie();
  batch->columns[4].tensors = std::move(vecs);
  return batch;
}

std::vector<int64_t> Ids(const TrainingBatch& batch, size_t column = 0) {
  const BatchColumn& c = batch.columns[column];
  EXPECT_EQ(c.kind, BatchColumn::Kind::kDense);
  EXPECT_EQ(c.dense->element.type, ScalarType::kInt64);
  const auto* p = reinterpret_cast<const int64_t*>(c.dense->data->data());
  return std::vector<int64_t>(p, p + batch.num_rows);
}

// Feeds row groups of `group` rows (total rows) and collects every batch.
std::vector<std::unique_ptr<TrainingBatch>> RunBatcher(Batcher* batcher, int64_t total, int64_t group) {
  std::vector<std::unique_ptr<TrainingBatch>> out;
  for (int64_t first = 0; first < total; first += group) {
    EXPECT_TRUE(batcher->Add(Rows(first, std::min(group, total - first))).ok());
    while (auto batch = batcher->Next().ValueOrDie()) out.push_back(std::move(batch));
  }
  batcher->Finish();
  while (auto batch = batcher->Next().ValueOrDie()) out.push_back(std::move(batch));
  return out;
}

TEST(BatcherTest, InOrderExactBatchesAndPartialLast) {
  BatcherOptions options;
  options.batch_size = 4;
  auto batcher = Batcher::Make({"id", "vec"}, options).ValueOrDie();
  auto batches = RunBatcher(batcher.get(), 23, 7);
  ASSERT_EQ(batches.size(), 6u);
  std::vector<int64_t> ids;
  for (size_t b = 0; b < batches.size(); ++b) {
    EXPECT_EQ(batches[b]->num_rows, b + 1 < batches.size() ? 4 : 3);
    auto part = Ids(*batches[b]);
    ids.insert(ids.end(), part.begin(), part.end());
    const BatchColumn& vec = batches[b]->columns[1];
    ASSERT_EQ(vec.kind, BatchColumn::Kind::kDense);
    EXPECT_EQ(vec.dense->shape, (std::vector<int64_t>{batches[b]->num_rows, 2}));
    const auto* v = reinterpret_cast<const float*>(vec.dense->data->data());
    for (int64_t r = 0; r < batches[b]->num_rows; ++r) {
      EXPECT_EQ(v[2 * r], static_cast<float>(part[r]));
      EXPECT_EQ(v[2 * r + 1], static_cast<float>(-part[r]));
    }
  }
  std::vector<int64_t> expected(23);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(ids, expected);
}

// In order, a batch inside one row group views the group's buffer; a batch across two groups,
// a promoted field and AddColumns' inputs are copied; every batch holds the right rows.
TEST(BatcherTest, InOrderBatchesInsideOneRowGroupViewItsBuffer) {
  BatcherOptions options;
  options.batch_size = 4;
  options.promote_for_torch = true;
  auto batcher = Batcher::Make({"id", "small"}, options).ValueOrDie();
  auto group = Rows(0, 10);
  const uint8_t* ids = group->columns[0].values->data()->buffers[1]->data();
  ASSERT_OK(batcher->Add(group));
  ASSERT_OK(batcher->Add(Rows(10, 10)));
  std::vector<std::unique_ptr<TrainingBatch>> batches;
  while (auto b = batcher->Next().ValueOrDie()) batches.push_back(std::move(b));
  ASSERT_EQ(batches.size(), 5u);
  const Tensor& first = *batches[0]->columns[0].dense;
  EXPECT_EQ(first.data->data(), ids);
  EXPECT_TRUE(first.data->is_mutable());
  EXPECT_EQ(batches[1]->columns[0].dense->data->data(), ids + 4 * sizeof(int64_t));
  // Rows 8..11 span both groups: a buffer of its own.
  EXPECT_NE(batches[2]->columns[0].dense->data->data(), ids + 8 * sizeof(int64_t));
  EXPECT_EQ(Ids(*batches[2]), (std::vector<int64_t>{8, 9, 10, 11}));
  EXPECT_EQ(batches[0]->columns[1].dense->element.type, ScalarType::kInt32);  // uint16 promoted
  const auto* small = reinterpret_cast<const int32_t*>(batches[0]->columns[1].dense->data->data());
  EXPECT_EQ(small[3], 60003);
  group.reset();
  batcher.reset();  // the views keep the buffers alive
  EXPECT_EQ(Ids(*batches[1]), (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(Ids(*batches[4]), (std::vector<int64_t>{16, 17, 18, 19}));

  // AddColumns: the caller keeps its buffer, so the batch is a copy.
  Tensor stacked = Tensor::Allocate(ElementType::Of(ScalarType::kInt64), {8}).ValueOrDie();
  auto* p = reinterpret_cast<int64_t*>(stacked.data->mutable_data());
  std::iota(p, p + 8, 100);
  batcher = Batcher::Make({"id"}, options).ValueOrDie();
  std::vector<ColumnInput> inputs(1);
  inputs[0].stacked = stacked;
  ASSERT_OK(batcher->AddColumns(8, std::move(inputs)));
  auto copied = batcher->Next().ValueOrDie();
  ASSERT_TRUE(copied);
  EXPECT_NE(copied->columns[0].dense->data->data(), stacked.data->data());
  EXPECT_EQ(Ids(*copied), (std::vector<int64_t>{100, 101, 102, 103}));
}

TEST(BatcherTest, DropLastDropsThePartialBatch) {
  BatcherOptions options;
  options.batch_size = 4;
  options.drop_last = true;
  auto batcher = Batcher::Make({"id"}, options).ValueOrDie();
  auto batches = RunBatcher(batcher.get(), 23, 7);
  ASSERT_EQ(batches.size(), 5u);
  for (const auto& b : batches) EXPECT_EQ(b->num_rows, 4);
  EXPECT_EQ(batcher->rows_held(), 0);
  options.shuffling_queue_capacity = 5;
  batcher = Batcher::Make({"id"}, options).ValueOrDie();
  batches = RunBatcher(batcher.get(), 23, 7);
  ASSERT_EQ(batches.size(), 5u);
  for (const auto& b : batches) EXPECT_EQ(b->num_rows, 4);
}

TEST(BatcherTest, ShuffleIsSeededAndKeepsEveryRowOnce) {
  auto shuffled = [](uint64_t seed) {
    BatcherOptions options;
    options.batch_size = 8;
    options.shuffling_queue_capacity = 20;
    options.seed = seed;
    auto batcher = Batcher::Make({"id", "vec", "name"}, options).ValueOrDie();
    std::vector<int64_t> ids;
    for (const auto& batch : RunBatcher(batcher.get(), 100, 10)) {
      auto part = Ids(*batch);
      // The other fields travel with their rows.
      const auto* v = reinterpret_cast<const float*>(batch->columns[1].dense->data->data());
      const auto& names = static_cast<const arrow::StringArray&>(*batch->columns[2].array);
      for (int64_t r = 0; r < batch->num_rows; ++r) {
        EXPECT_EQ(v[2 * r], static_cast<float>(part[r]));
        if (part[r] % 5 == 0) {
          EXPECT_TRUE(names.IsNull(r));
        } else {
          EXPECT_EQ(names.GetString(r), "n" + std::to_string(part[r]));
        }
      }
      ids.insert(ids.end(), part.begin(), part.end());
    }
    return ids;
  };
  const auto a = shuffled(7);
  EXPECT_EQ(a, shuffled(7));
  EXPECT_NE(a, shuffled(8));
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(sorted, expected);
  EXPECT_NE(a, expected);
}

TEST(BatcherTest, ShufflingBufferWaitsForCapacityMinusOnePlusBatch) {
  BatcherOptions options;
  options.batch_size = 4;
  options.shuffling_queue_capacity = 10;  // a batch once 13 rows are held
  auto batcher = Batcher::Make({"id"}, options).ValueOrDie();
  ASSERT_OK(batcher->Add(Rows(0, 12)));
  EXPECT_EQ(batcher->Next().ValueOrDie(), nullptr);
  ASSERT_OK(batcher->Add(Rows(12, 1)));
  auto batch = batcher->Next().ValueOrDie();
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->num_rows, 4);
  EXPECT_EQ(batcher->rows_held(), 9);
  EXPECT_EQ(batcher->Next().ValueOrDie(), nullptr);
  batcher->Finish();
  int64_t rows = 0;
  while (auto b = batcher->Next().ValueOrDie()) rows += b->num_rows;
  EXPECT_EQ(rows, 9);
}

TEST(BatcherTest, CountsTheShufflingBuffersTime) {
  for (int64_t capacity : {0, 50}) {
    BatcherOptions options;
    options.batch_size = 8;
    options.shuffling_queue_capacity = capacity;
    auto batcher = Batcher::Make({"id"}, options).ValueOrDie();
    EXPECT_EQ(batcher->shuffle_nanos(), 0);
    EXPECT_EQ(RunBatcher(batcher.get(), 1000, 100).size(), 125u);
    if (capacity == 0) {
      EXPECT_EQ(batcher->shuffle_nanos(), 0) << "no shuffling buffer, no shuffling time";
    } else {
      EXPECT_GT(batcher->shuffle_nanos(), 0);
    }
  }
}

TEST(BatcherTest, PromotesForTorch) {
  BatcherOptions options;
  options.batch_size = 6;
  options.promote_for_torch = true;
  auto batcher = Batcher::Make({"flag", "small"}, options).ValueOrDie();
  auto batches = RunBatcher(batcher.get(), 6, 4);
  ASSERT_EQ(batches.size(), 1u);
  const Tensor& flag = *batches[0]->columns[0].dense;
  const Tensor& small = *batches[0]->columns[1].dense;
  EXPECT_EQ(flag.element.type, ScalarType::kUInt8);
  EXPECT_EQ(small.element.type, ScalarType::kInt32);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(flag.data->data()[i], i % 3 == 0 ? 1 : 0);
    EXPECT_EQ(reinterpret_cast<const int32_t*>(small.data->data())[i], 60000 + i % 7);
  }
  options.promote_for_torch = false;
  batcher = Batcher::Make({"flag", "small"}, options).ValueOrDie();
  batches = RunBatcher(batcher.get(), 6, 4);
  EXPECT_EQ(batches[0]->columns[0].dense->element.type, ScalarType::kBool);
  EXPECT_EQ(batches[0]->columns[1].dense->element.type, ScalarType::kUInt16);
  EXPECT_EQ(batches[0]->columns[0].dense->data->data()[3], 1);
}

TEST(BatcherTest, StringsBecomeArrowArrays) {
  BatcherOptions options;
  options.batch_size = 5;
  auto batcher = Batcher::Make({"name"}, options).ValueOrDie();
  auto batches = RunBatcher(batcher.get(), 12, 3);
  ASSERT_EQ(batches.size(), 3u);
  int64_t i = 0;
  for (const auto& batch : batches) {
    ASSERT_EQ(batch->columns[0].kind, BatchColumn::Kind::kArray);
    const auto& names = static_cast<const arrow::StringArray&>(*batch->columns[0].array);
    ASSERT_EQ(names.length(), batch->num_rows);
    for (int64_t r = 0; r < names.length(); ++r, ++i) {
      EXPECT_EQ(names.IsNull(r), i % 5 == 0);
      if (!names.IsNull(r)) EXPECT_EQ(names.GetString(r), "n" + std::to_string(i));
    }
  }
}

TEST(BatcherTest, NullInANumericFieldNamesIt) {
  auto batch = std::make_shared<DecodedRowGroup>(*Rows(0, 3));
  arrow::Int64Builder ids;
  ASSERT_OK(ids.AppendValues({1, 2}));
  ASSERT_OK(ids.AppendNull());
  batch->columns[0].values = ids.Finish().ValueOrDie();
  auto batcher = Batcher::Make({"id"}, BatcherOptions{}).ValueOrDie();
  auto status = batcher->Add(batch);
  EXPECT_TRUE(status.IsTypeError());
  EXPECT_NE(status.message().find("Found None in id"), std::string::npos) << status.ToString();
  EXPECT_TRUE(batcher->Add(Rows(0, 2)).ok());

  // Floats may take NaN for their nulls.
  arrow::DoubleBuilder doubles;
  ASSERT_OK(doubles.AppendValues({1.5, 2.5}));
  ASSERT_OK(doubles.AppendNull());
  std::vector<ColumnInput> columns(1);
  columns[0].kind = ColumnInput::Kind::kArray;
  columns[0].array = doubles.Finish().ValueOrDie();
  EXPECT_TRUE(batcher->AddColumns(3, columns).IsTypeError());
  BatcherOptions options;
  options.batch_size = 3;
  options.float_nulls_as_nan = true;
  auto nan_batcher = Batcher::Make({"x"}, options).ValueOrDie();
  ASSERT_OK(nan_batcher->AddColumns(3, columns));
  auto out = nan_batcher->Next().ValueOrDie();
  ASSERT_NE(out, nullptr);
  const auto* x = reinterpret_cast<const double*>(out->columns[0].dense->data->data());
  EXPECT_EQ(x[1], 2.5);
  EXPECT_TRUE(std::isnan(x[2]));

  auto missing = Batcher::Make({"nope"}, BatcherOptions{}).ValueOrDie();
  status = missing->Add(Rows(0, 2));
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("nope"), std::string::npos);
}

TEST(BatcherTest, ListsAreDenseWhenTheirLengthsAgreeElseOneTensorPerRow) {
  auto list_column = [](std::vector<std::vector<int32_t>> rows) {
    arrow::ListBuilder builder(arrow::default_memory_pool(), std::make_shared<arrow::Int32Builder>());
    auto& values = static_cast<arrow::Int32Builder&>(*builder.value_builder());
    for (const auto& row : rows) {
      EXPECT_TRUE(builder.Append().ok());
      EXPECT_TRUE(values.AppendValues(row).ok());
    }
    return builder.Finish().ValueOrDie();
  };
  BatcherOptions options;
  options.batch_size = 3;
  auto batcher = Batcher::Make({"l"}, options).ValueOrDie();
  std::vector<ColumnInput> columns(1);
  columns[0].kind = ColumnInput::Kind::kArray;
  // Sliced, so that the offsets do not start at 0.
  columns[0].array = list_column({{9}, {1, 2}, {3, 4}, {5, 6}, {7}})->Slice(1, 4);
  ASSERT_OK(batcher->AddColumns(4, std::move(columns)));
  batcher->Finish();
  auto first = batcher->Next().ValueOrDie();
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->columns[0].kind, BatchColumn::Kind::kDense);
  EXPECT_EQ(first->columns[0].dense->shape, (std::vector<int64_t>{3, 2}));
  const auto* v = reinterpret_cast<const int32_t*>(first->columns[0].dense->data->data());
  EXPECT_EQ(std::vector<int32_t>(v, v + 6), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  auto second = batcher->Next().ValueOrDie();
  ASSERT_NE(second, nullptr);
  ASSERT_EQ(second->columns[0].kind, BatchColumn::Kind::kDense);
  EXPECT_EQ(second->columns[0].dense->shape, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(batcher->Next().ValueOrDie(), nullptr);

  options.batch_size = 5;
  batcher = Batcher::Make({"l"}, options).ValueOrDie();
  columns.assign(1, ColumnInput{});
  columns[0].kind = ColumnInput::Kind::kArray;
  columns[0].array = list_column({{9}, {1, 2}, {3, 4}, {5, 6}, {7}});
  ASSERT_OK(batcher->AddColumns(5, std::move(columns)));
  auto ragged = batcher->Next().ValueOrDie();
  ASSERT_NE(ragged, nullptr);
  ASSERT_EQ(ragged->columns[0].kind, BatchColumn::Kind::kTensors);
  ASSERT_EQ(ragged->columns[0].tensors.size(), 5u);
  EXPECT_EQ(ragged->columns[0].tensors[1]->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(reinterpret_cast<const int32_t*>(ragged->columns[0].tensors[4]->data->data())[0], 7);
}

TEST(BatcherTest, StackedColumnsAndVariableTensors) {
  BatcherOptions options;
  options.batch_size = 4;
  auto batcher = Batcher::Make({"x", "t"}, options).ValueOrDie();
  for (int chunk = 0; chunk < 2; ++chunk) {
    std::vector<ColumnInput> columns(2);
    Tensor x = Tensor::Allocate(ElementType::Of(ScalarType::kFloat64), {3, 2}).ValueOrDie();
    auto* xs = reinterpret_cast<double*>(x.data->mutable_data());
    for (int i = 0; i < 6; ++i) xs[i] = chunk * 6 + i;
    columns[0].kind = ColumnInput::Kind::kStacked;
    columns[0].stacked = x;
    columns[1].kind = ColumnInput::Kind::kTensors;
    for (int r = 0; r < 3; ++r) {
      // Chunk 0 has rows of shape (2,), chunk 1 of shape (1 + r,).
      columns[1].tensors.push_back(
          Tensor::Allocate(ElementType::Of(ScalarType::kUInt8), {chunk == 0 ? 2 : 1 + r}).ValueOrDie());
    }
    ASSERT_OK(batcher->AddColumns(3, std::move(columns)));
  }
  batcher->Finish();
  auto first = batcher->Next().ValueOrDie();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->columns[0].dense->shape, (std::vector<int64_t>{4, 2}));
  const auto* x = reinterpret_cast<const double*>(first->columns[0].dense->data->data());
  EXPECT_EQ(x[7], 7.0);
  // Rows 0-2 have shape (2,), row 3 (1,): one tensor per row.
  ASSERT_EQ(first->columns[1].kind, BatchColumn::Kind::kTensors);
  EXPECT_EQ(first->columns[1].tensors[3]->shape, (std::vector<int64_t>{1}));
  auto second = batcher->Next().ValueOrDie();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->num_rows, 2);
  ASSERT_EQ(second->columns[1].kind, BatchColumn::Kind::kTensors);
}

TEST(BatcherTest, BatchesWhatTheReaderDelivers) {
  testing::ScratchDir scratch;
  const std::string url = scratch.Path("ds");
  WriteOptions write_options;
  write_options.rows_per_rowgroup = 7;
  auto writer = DatasetWriter::Open(url, testing::TestSchema(), write_options).ValueOrDie();
  for (int i = 0; i < 30; ++i) ASSERT_OK(writer->Write(testing::TestRow(i)));
  ASSERT_OK(writer->Close());
  ReaderOptions reader_options;
  reader_options.fields = {"id", "label", "matrix"};
  reader_options.shuffle_row_groups = false;
  auto reader = Reader::Open(Dataset::Open(url).ValueOrDie(), reader_options).ValueOrDie();
  BatcherOptions options;
  options.batch_size = 8;
  options.shuffling_queue_capacity = 6;
  options.seed = 1;
  auto batcher = Batcher::Make({"id", "label", "matrix"}, options).ValueOrDie();
  std::vector<int64_t> ids;
  auto take = [&](const TrainingBatch& batch) {
    auto part = Ids(batch);
    const BatchColumn& matrix = batch.columns[2];
    for (int64_t r = 0; r < batch.num_rows; ++r) {
      const Tensor expected = std::get<Tensor>(testing::TestRow(part[r])[2].second);
      const Tensor& got = matrix.kind == BatchColumn::Kind::kTensors ? *matrix.tensors[r] : expected;
      EXPECT_TRUE(testing::SameBytes(got, expected)) << part[r];
    }
    ids.insert(ids.end(), part.begin(), part.end());
  };
  while (auto decoded = reader->Next().ValueOrDie()) {
    ASSERT_OK(batcher->Add(decoded));
    while (auto batch = batcher->Next().ValueOrDie()) take(*batch);
  }
  batcher->Finish();
  while (auto batch = batcher->Next().ValueOrDie()) take(*batch);
  std::sort(ids.begin(), ids.end());
  std::vector<int64_t> expected(30);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(ids, expected);
}

TEST(BatcherTest, PlaceholdersResumeWithTheSameBatches) {
  // Groups of 10 rows; save after `cut` batches; resume: placeholders for the groups fed,
  // Skip() the batches emitted, Fill() the live placeholders, then carry on with real data.
  for (int64_t capacity : {0, 20}) {
    for (bool drop_last : {false, true}) {
      BatcherOptions options;
      options.batch_size = 8;
      options.shuffling_queue_capacity = capacity;
      options.drop_last = drop_last;
      options.seed = 3;
      auto whole = Batcher::Make({"id"}, options).ValueOrDie();
      std::vector<int64_t> expected;
      for (const auto& batch : RunBatcher(whole.get(), 95, 10)) {
        auto part = Ids(*batch);
        expected.insert(expected.end(), part.begin(), part.end());
      }
      const int64_t num_batches = drop_last ? 95 / 8 : (95 + 7) / 8;
      ASSERT_EQ(static_cast<int64_t>(expected.size()), drop_last ? 88 : 95);
      for (int64_t cut = 0; cut <= num_batches; ++cut) {
        // The uninterrupted loop's counters after `cut` batches: groups fed, finished or not.
        auto probe = Batcher::Make({"id"}, options).ValueOrDie();
        int64_t groups = 0, emitted = 0;
        bool finished = false;
        for (; groups * 10 < 95 && emitted < cut; ) {
          ASSERT_TRUE(probe->Add(Rows(groups * 10, std::min<int64_t>(10, 95 - groups * 10))).ok());
          ++groups;
          while (emitted < cut && probe->Skip()) ++emitted;
        }
        if (emitted < cut) {
          probe->Finish();
          finished = true;
          while (emitted < cut && probe->Skip()) ++emitted;
        }
        ASSERT_EQ(emitted, cut);
        auto resumed = Batcher::Make({"id"}, options).ValueOrDie();
        int64_t skipped = 0;
        for (int64_t g = 0; g < groups; ++g) {
          ASSERT_TRUE(resumed->AddPlaceholder(std::min<int64_t>(10, 95 - g * 10)).ok());
          while (skipped < cut && resumed->Skip()) ++skipped;
        }
        if (finished) resumed->Finish();
        while (skipped < cut && resumed->Skip()) ++skipped;
        ASSERT_EQ(skipped, cut);
        for (int64_t g : resumed->LivePlaceholders()) {
          ASSERT_TRUE(resumed->Fill(g, Rows(g * 10, std::min<int64_t>(10, 95 - g * 10))).ok());
        }
        std::vector<int64_t> rest;
        auto drain = [&] {
          while (auto batch = resumed->Next().ValueOrDie()) {
            auto part = Ids(*batch);
            rest.insert(rest.end(), part.begin(), part.end());
          }
        };
        drain();
        for (int64_t g = groups; g * 10 < 95; ++g) {
          ASSERT_TRUE(resumed->Add(Rows(g * 10, std::min<int64_t>(10, 95 - g * 10))).ok());
          drain();
        }
        if (!finished) resumed->Finish();
        drain();
        std::vector<int64_t> tail(expected.begin() + std::min<int64_t>(cut * 8, expected.size()), expected.end());
        EXPECT_EQ(rest, tail) << "capacity " << capacity << " drop_last " << drop_last << " cut " << cut;
      }
    }
  }
}

TEST(BatcherTest, HeldPlaceholderRowsAreTheRowsNotDrawn) {
  BatcherOptions options;
  options.batch_size = 4;
  options.shuffling_queue_capacity = 6;
  options.seed = 3;
  auto real = Batcher::Make({"id"}, options).ValueOrDie();
  auto counted = Batcher::Make({"id"}, options).ValueOrDie();
  std::set<int64_t> drawn;
  for (int64_t g = 0; g < 4; ++g) {  // inputs of 5 rows: ids 5g .. 5g + 4
    ASSERT_OK(real->Add(Rows(5 * g, 5)));
    ASSERT_OK(counted->AddPlaceholder(5));
    while (auto batch = real->Next().ValueOrDie()) {
      for (int64_t id : Ids(*batch)) drawn.insert(id);
      ASSERT_TRUE(counted->Skip());
    }
  }
  EXPECT_FALSE(counted->Skip());
  std::set<int64_t> held;
  for (const auto& [placeholder, rows] : counted->HeldPlaceholderRows()) {
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
    for (int64_t row : rows) held.insert(5 * placeholder + row);
  }
  EXPECT_EQ(static_cast<int64_t>(held.size()), real->rows_held());
  for (int64_t id = 0; id < 20; ++id) EXPECT_NE(drawn.count(id), held.count(id)) << id;  // one or the other
}

TEST(BatcherTest, PlaceholderErrors) {
  BatcherOptions options;
  options.batch_size = 4;
  auto batcher = Batcher::Make({"id"}, options).ValueOrDie();
  ASSERT_TRUE(batcher->AddPlaceholder(10).ok());
  EXPECT_EQ(batcher->LivePlaceholders(), std::vector<int64_t>{0});
  auto next = batcher->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("placeholder"), std::string::npos);
  auto fill = batcher->Fill(0, Rows(0, 9));
  ASSERT_TRUE(fill.IsInvalid());
  EXPECT_NE(fill.message().find("10 rows"), std::string::npos);
  EXPECT_TRUE(batcher->Fill(1, Rows(0, 10)).IsInvalid());
  ASSERT_TRUE(batcher->Fill(0, Rows(0, 10)).ok());
  EXPECT_TRUE(batcher->Fill(0, Rows(0, 10)).IsInvalid());  // filled already
  EXPECT_EQ(Ids(*batcher->Next().ValueOrDie()), (std::vector<int64_t>{0, 1, 2, 3}));
  batcher->Finish();
  EXPECT_TRUE(batcher->AddPlaceholder(3).IsInvalid());
}

TEST(BatcherTest, RejectsBadOptions) {
  BatcherOptions options;
  options.batch_size = 0;
  EXPECT_TRUE(Batcher::Make({"id"}, options).status().IsInvalid());
  options.batch_size = 1;
  options.shuffling_queue_capacity = -1;
  EXPECT_TRUE(Batcher::Make({"id"}, options).status().IsInvalid());
  EXPECT_TRUE(Batcher::Make({"id", "id"}, BatcherOptions{}).status().IsInvalid());
  auto batcher = Batcher::Make({"id"}, BatcherOptions{}).ValueOrDie();
  batcher->Finish();
  EXPECT_TRUE(batcher->Add(Rows(0, 1)).IsInvalid());
}

}  // namespace
}  // namespace petastorm
