#include "read/read_ahead_internal.h"

#include "read/row_group_loader_internal.h"

#include <vector>

#include <arrow/io/caching.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/thread_pool.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>

namespace petastorm::internal {

void ReadAhead::Start(const WorkItem& item) {
  {
    MutexLock lock(&mutex_);
    if (started_.count(KeyOf(item))) return;
  }
  std::shared_ptr<const Dataset> dataset = dataset_;
  std::shared_ptr<const Unischema> fields = fields_;
  const int64_t row_group_index = item.row_group;
  auto task = [dataset, fields, row_group_index]() -> arrow::Result<Opened> {
    const RowGroupRef ref = dataset->row_groups().at(static_cast<size_t>(row_group_index));
    ARROW_ASSIGN_OR_RAISE(auto file, dataset->OpenFile(ref.file_index, /*pre_buffer=*/false));
    if (ref.row_group >= file->num_row_groups()) return arrow::Status::IndexError("stale metadata");
    std::shared_ptr<arrow::Schema> schema;
    ARROW_RETURN_NOT_OK(file->GetSchema(&schema));
    std::vector<int> columns;
    for (const auto& field : fields->fields()) {
      const int index = schema->GetFieldIndex(field.name);
      if (index < 0 || static_cast<size_t>(index) >= file->manifest().schema_fields.size()) continue;
      AppendLeaves(file->manifest().schema_fields[static_cast<size_t>(index)], &columns);
    }
    try {
      // Returns once the (coalesced) ranges are requested; the reads complete on the I/O pool.
      file->parquet_reader()->PreBuffer({ref.row_group}, columns, arrow::io::default_io_context(),
                                        arrow::io::CacheOptions::Defaults());
    } catch (const std::exception& e) {
      return arrow::Status::IOError(e.what());
    }
    return std::make_shared<std::unique_ptr<parquet::arrow::FileReader>>(std::move(file));
  };
  auto submitted = arrow::io::default_io_context().executor()->Submit(std::move(task));
  if (!submitted.ok()) return;
  MutexLock lock(&mutex_);
  started_.emplace(KeyOf(item), std::move(*submitted));
}

std::unique_ptr<parquet::arrow::FileReader> ReadAhead::Take(const WorkItem& item) {
  arrow::Future<Opened> future;
  {
    MutexLock lock(&mutex_);
    auto it = started_.find(KeyOf(item));
    if (it == started_.end()) return nullptr;
    future = std::move(it->second);
    started_.erase(it);
  }
  const arrow::Result<Opened>& opened = future.result();  // waits for the open, not the reads
  if (!opened.ok() || !*opened) return nullptr;
  return std::move(**opened);
}

void ReadAhead::Clear() {
  MutexLock lock(&mutex_);
  started_.clear();
}

}  // namespace petastorm::internal
