// libFuzzer target: a Parquet data file read through our read path, as Arrow's
// parquet-arrow-fuzz reads one through parquet::arrow: the bytes become the one file of a
// dataset directory, which is opened (footer, stored Unischema or the inferred one) and read by
// a Reader (dummy pool: on this thread) to the end, every row group loaded and its codec cells
// decoded. Any file must end in batches or a Status; never a crash, and no exception may escape.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "batch/decoded_row_group_fuzz_internal.h"
#include "petastorm/dataset.h"
#include "petastorm/reader.h"
#include "petastorm/schema_inference.h"
#include "util/fuzz_environment_internal.h"

namespace {

std::string& DatasetDir() {
  static std::string dir;
  return dir;
}

arrow::Status ReadAll(const std::string& dir) {
  ARROW_ASSIGN_OR_RAISE(auto dataset, petastorm::Dataset::Open(dir));
  petastorm::ReaderOptions options;
  options.schema = dataset->schema();
  if (!options.schema) {
    std::vector<petastorm::UnsupportedColumn> unsupported;
    ARROW_ASSIGN_OR_RAISE(options.schema, petastorm::InferUnischema(*dataset, &unsupported));
  }
  options.pool = petastorm::PoolType::kDummy;
  options.workers_count = 1;
  options.seed = 0;
  options.shuffle_row_groups = false;
  ARROW_ASSIGN_OR_RAISE(auto reader, petastorm::Reader::Open(dataset, options));
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto group, reader->Next());
    if (!group) break;
    petastorm::internal::CheckDecodedRowGroupForFuzzing(*group);
  }
  return arrow::Status::OK();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  petastorm::internal::SetFuzzEnvironment();
  DatasetDir() = petastorm::internal::FuzzScratchDir("parquet");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = DatasetDir() + "/part-00000.parquet";
  FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, out) != size) std::abort();
  std::fclose(out);
  (void)ReadAll(DatasetDir());
  return 0;
}
