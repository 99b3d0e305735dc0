// Writing _common_metadata: the last step of every dataset write.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/status.h>
#include <arrow/type.h>

namespace petastorm::internal {

// Writes <root>/_common_metadata: a Parquet file of `arrow_schema` with no row groups, whose
// key-value metadata holds `arrow_schema`'s own (e.g. a previous _common_metadata's), then the
// Unischema JSON, the row groups per file (paths relative to root) and `extra`, each replacing a
// key of the same name (an empty value removes the key). Written in `temp_dir` first, then moved into place.
arrow::Status CommitMetadata(arrow::fs::FileSystem& fs, const std::string& root,
                             const std::string& temp_dir, const arrow::Schema& arrow_schema,
                             const std::string& unischema_json,
                             const std::vector<std::pair<std::string, int>>& row_groups_per_file,
                             const std::vector<std::pair<std::string, std::string>>& extra = {});

// Writes <root>/_common_metadata of `arrow_schema` and its key-values with `extra` set (an
// empty value removes the key), through `temp_dir`.
arrow::Status CommitKeyValues(arrow::fs::FileSystem& fs, const std::string& root, const std::string& temp_dir,
                              const arrow::Schema& arrow_schema,
                              const std::vector<std::pair<std::string, std::string>>& extra);

}  // namespace petastorm::internal
