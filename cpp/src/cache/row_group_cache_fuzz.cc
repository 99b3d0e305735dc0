// libFuzzer target: a local-disk cache entry file read back by LocalDiskCache::GetOrLoad (the
// trailer, its CRC-32, then the row-group IPC form of row_group_ipc.h). Any file must be a hit
// with a consistent batch or be dropped with a reason; never a crash.
//
// Input: one mode byte, then the bytes. Mode bit 0 clear: the bytes are the entry file as it is
// (trailer and CRC included, as corruption on disk leaves them). Set: the bytes are the payload,
// and the target appends a valid trailer, so that mutations reach the IPC reader past the CRC.
// The schema and key the entry is read with are the ones it records when those parse (as a
// reader with the same fields would ask), else a fixed schema and key.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/util/key_value_metadata.h>

#include "batch/decoded_row_group_fuzz_internal.h"
#include "petastorm/codec.h"
#include "petastorm/row_group_cache.h"
#include "petastorm/schema.h"
#include "util/crc32_internal.h"
#include "util/fuzz_environment_internal.h"

namespace {

using petastorm::Field;
using petastorm::ScalarType;
using petastorm::Unischema;

// The entry format of row_group_cache.cc (its header comment): the file name is FNV-1a-64 of
// the key in 16 hex digits + ".pscache"; the 24-byte trailer is u64 payload size | u32 CRC-32 |
// u32 format version | "PSTMCACH". Repeated here, as a reader of the format would.
constexpr uint32_t kEntryFormatVersion = 2;
constexpr char kEntryMagic[8] = {'P', 'S', 'T', 'M', 'C', 'A', 'C', 'H'};

std::string EntryFileName(const std::string& key) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char name[17];
  std::snprintf(name, sizeof(name), "%016llx", static_cast<unsigned long long>(hash));
  return std::string(name) + ".pscache";
}

void PutLE(std::vector<uint8_t>* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}

std::shared_ptr<const Unischema> FallbackSchema() {
  static const auto schema = [] {
    std::vector<Field> fields;
    fields.push_back({"id", ScalarType::kInt64, {}, nullptr, false});
    fields.push_back({"matrix", ScalarType::kFloat32, {std::nullopt, 3}, petastorm::MakeNdarrayCodec(), true});
    fields.push_back({"image", ScalarType::kUInt8, {std::nullopt, std::nullopt, 3},
                      petastorm::MakeCompressedImageCodec("png").ValueOrDie(), false});
    return Unischema::Make("FuzzSchema", std::move(fields)).ValueOrDie();
  }();
  return schema;
}

// The Unischema JSON and cache key an IPC payload records, when it has them.
void RecordedSchemaAndKey(const uint8_t* data, int64_t size, std::string* schema_json, std::string* key) {
  auto buffer = std::make_shared<arrow::Buffer>(data, size);
  auto reader = arrow::ipc::RecordBatchStreamReader::Open(std::make_shared<arrow::io::BufferReader>(buffer));
  if (!reader.ok() || !(*reader)->schema()->metadata()) return;
  const auto& metadata = *(*reader)->schema()->metadata();
  if (auto value = metadata.Get("petastorm.row_group.schema"); value.ok()) *schema_json = *value;
  if (auto value = metadata.Get("petastorm.cache.key"); value.ok()) *key = *value;
}

std::string& CacheDir() {
  static std::string dir;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  petastorm::internal::SetFuzzEnvironment();
  CacheDir() = petastorm::internal::FuzzScratchDir("cache");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool add_trailer = data[0] & 1;
  const uint8_t* bytes = data + 1;
  const auto n = static_cast<int64_t>(size - 1);

  std::string schema_json;
  std::string key = "fuzz";
  RecordedSchemaAndKey(bytes, n, &schema_json, &key);
  std::shared_ptr<const Unischema> schema;
  if (!schema_json.empty()) {
    if (auto recorded = Unischema::FromJson(schema_json); recorded.ok()) schema = *recorded;
  }
  if (!schema) schema = FallbackSchema();

  std::vector<uint8_t> file(bytes, bytes + n);
  if (add_trailer) {
    const uint32_t crc = petastorm::internal::Crc32(0, bytes, n);
    PutLE(&file, static_cast<uint64_t>(n), 8);
    PutLE(&file, crc, 4);
    PutLE(&file, kEntryFormatVersion, 4);
    file.insert(file.end(), kEntryMagic, kEntryMagic + sizeof(kEntryMagic));
  }
  const std::string path = CacheDir() + "/" + EntryFileName(key);
  FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) std::abort();
  if (!file.empty() && std::fwrite(file.data(), 1, file.size(), out) != file.size()) std::abort();
  std::fclose(out);

  petastorm::LocalDiskCacheOptions options;
  options.path = CacheDir();
  options.size_limit_bytes = int64_t{1} << 30;
  options.eviction_policy = petastorm::EvictionPolicy::kLeastRecentlyStored;
  auto cache = petastorm::MakeLocalDiskCache(options).ValueOrDie();
  bool loaded = false;
  auto group = cache->GetOrLoad(key, schema, [&]() -> arrow::Result<std::shared_ptr<const petastorm::DecodedRowGroup>> {
    loaded = true;  // the entry was dropped; nothing is stored for a null batch
    return nullptr;
  });
  if (!group.ok()) std::abort();  // a bad entry is a miss, not an error
  if (*group) {
    if (loaded) std::abort();
    petastorm::internal::CheckDecodedRowGroupForFuzzing(**group);
  } else if (!loaded) {
    std::abort();
  }
  std::remove(path.c_str());
  return 0;
}
