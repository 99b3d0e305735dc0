#include "dataset/metadata_commit_internal.h"

#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/writer.h>

#include "petastorm/dataset.h"
#include "util/json_internal.h"

namespace petastorm::internal {

arrow::Status CommitMetadata(arrow::fs::FileSystem& fs, const std::string& root,
                             const std::string& temp_dir, const arrow::Schema& arrow_schema,
                             const std::string& unischema_json,
                             const std::vector<std::pair<std::string, int>>& row_groups_per_file,
                             const std::vector<std::pair<std::string, std::string>>& extra) {
  Json::Object counts;
  for (const auto& [path, count] : row_groups_per_file) counts.emplace_back(path, int64_t{count});
  std::vector<std::pair<std::string, std::string>> values = {
      {std::string(kUnischemaJsonKey), unischema_json},
      {std::string(kRowGroupsPerFileKey), Json(std::move(counts)).Dump()}};
  values.insert(values.end(), extra.begin(), extra.end());
  return CommitKeyValues(fs, root, temp_dir, arrow_schema, values);
}

arrow::Status CommitKeyValues(arrow::fs::FileSystem& fs, const std::string& root, const std::string& temp_dir,
                              const arrow::Schema& arrow_schema,
                              const std::vector<std::pair<std::string, std::string>>& extra) {
  auto kv = arrow_schema.metadata() ? arrow_schema.metadata()->Copy()
                                    : std::make_shared<arrow::KeyValueMetadata>();
  for (const auto& [key, value] : extra) {
    if (value.empty()) {
      if (kv->FindKey(key) >= 0) ARROW_RETURN_NOT_OK(kv->Delete(key));  // an empty value removes the key
    } else {
      ARROW_RETURN_NOT_OK(kv->Set(key, value));
    }
  }
  // The Arrow schema of the files: written again by the Parquet writer (store_schema).
  if (kv->FindKey("ARROW:schema") >= 0) ARROW_RETURN_NOT_OK(kv->Delete("ARROW:schema"));
  auto schema = arrow_schema.WithMetadata(kv);
  ARROW_RETURN_NOT_OK(fs.CreateDir(temp_dir, /*recursive=*/true));
  const std::string temp_path = temp_dir + "/" + std::string(kCommonMetadataFile);
  {
    ARROW_ASSIGN_OR_RAISE(auto stream, fs.OpenOutputStream(temp_path));
    auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
    ARROW_ASSIGN_OR_RAISE(auto writer, parquet::arrow::FileWriter::Open(
                                           *schema, arrow::default_memory_pool(), stream,
                                           parquet::default_writer_properties(), arrow_props));
    ARROW_RETURN_NOT_OK(writer->Close());
    ARROW_RETURN_NOT_OK(stream->Close());
  }
  return fs.Move(temp_path, root + "/" + std::string(kCommonMetadataFile));
}

}  // namespace petastorm::internal
