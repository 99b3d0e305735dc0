#include "read/work_item_processor_internal.h"

#include <algorithm>
#include <chrono>

#include <arrow/io/caching.h>
#include <arrow/io/interfaces.h>
#include <parquet/file_reader.h>

#include "util/random_internal.h"

namespace petastorm::internal {

using RowGroupPtr = std::shared_ptr<const DecodedRowGroup>;

arrow::Result<std::shared_ptr<const DecodedRowGroup>> WorkItemProcessor::Process(const WorkItem& item) {
    if (config_->read_ahead) item_file_ = config_->read_ahead->Take(item);
    auto result = ProcessItem(item);
    item_file_.reset();
    ReleaseReadCache();
    return result;
  }

void WorkItemProcessor::ReleaseReadCache() {
    // The Parquet reader keeps the ranges it pre-buffered for the last row group until the next
    // read: the whole row group's column chunks, held by every idle worker (10 workers x 23 MB
    // on W4). Pre-buffering nothing drops them; the file stays open.
    if (!open_file_) return;
    try {
      open_file_->parquet_reader()->PreBuffer({}, {}, arrow::io::default_io_context(),
                                              arrow::io::CacheOptions::LazyDefaults());
    } catch (const std::exception&) {
      open_file_.reset();  // then the next item opens the file again
      open_file_index_ = -1;
    }
  }

arrow::Result<std::shared_ptr<const DecodedRowGroup>> WorkItemProcessor::ProcessItem(const WorkItem& item) {
    const Dataset& dataset = *config_->dataset;
    const RowGroupRef ref = dataset.row_groups()[static_cast<size_t>(item.row_group)];
    parquet::arrow::FileReader* file = item_file_.get();
    if (file == nullptr) {
      ARROW_ASSIGN_OR_RAISE(file, OpenFile(ref.file_index));
    }
    ARROW_ASSIGN_OR_RAISE(const int64_t num_rows, dataset.RowGroupNumRows(item.row_group));

    RowGroupPtr full;       // every loaded field decoded for every row (cache path)
    RowGroupPtr predicate;  // the predicate's fields (no-cache path)
    std::vector<bool> keep;
    if (config_->cache) {
      const std::string key = config_->dataset->url() + "|" + dataset.files()[ref.file_index] + "|" +
                              std::to_string(ref.row_group) + "|" + config_->load_schema->ToJson();
      const RowGroupCache::Loader load = [&]() {
        return LoadRowGroup(dataset, config_->load_schema, ref, file, Options(nullptr));
      };
      ARROW_ASSIGN_OR_RAISE(full, config_->cache->GetOrLoad(key, config_->load_schema, load));
      if (config_->predicate) {
        ARROW_ASSIGN_OR_RAISE(keep, Evaluate(*full));
      }
    } else if (config_->predicate) {
      ARROW_ASSIGN_OR_RAISE(predicate, LoadRowGroup(dataset, config_->predicate_schema,
                                                              ref, file, Options(nullptr)));
      ARROW_ASSIGN_OR_RAISE(keep, Evaluate(*predicate));
      if (std::none_of(keep.begin(), keep.end(), [](bool b) { return b; })) return nullptr;
    }

    std::vector<int64_t> rows = SelectRows(item, num_rows, keep);
    if (rows.empty()) return nullptr;
    if (full) return TakeRows(*full, rows, config_->output_schema);

    // Read the fields the predicate did not, decoding only the selected rows.
    std::vector<std::string> rest;
    for (const Field& f : config_->output_schema->fields()) {
      if (!predicate || !predicate->column(f.name)) rest.push_back(f.name);
    }
    DecodedRowGroup merged;
    if (predicate) merged.columns = predicate->columns;
    RowGroupPtr loaded;
    if (!rest.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto rest_schema, config_->load_schema->View(rest));
      ARROW_ASSIGN_OR_RAISE(loaded, LoadRowGroup(dataset, rest_schema, ref, file, Options(&rows)));
      merged.columns.insert(merged.columns.end(), loaded->columns.begin(), loaded->columns.end());
    }
    merged.num_rows = num_rows;
    merged.source = ref;
    return TakeRows(merged, rows, config_->output_schema);
  }

LoadOptions WorkItemProcessor::Options(const std::vector<int64_t>* rows) const {
    LoadOptions options;
    options.decode_rows = rows;
    options.prebuffered = item_file_ != nullptr;  // the read-ahead requested its column chunks
    options.stats = stats_;
    return options;
  }

arrow::Result<std::vector<bool>> WorkItemProcessor::Evaluate(const DecodedRowGroup& batch) {
    const auto start = stats_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    auto keep = config_->predicate->Evaluate(batch);
    if (stats_) {
      stats_->predicate_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - start).count();
    }
    if (keep.ok() && static_cast<int64_t>(keep->size()) != batch.num_rows) {
      return arrow::Status::Invalid("Predicate ", config_->predicate->ToString(), " returned ",
                                    keep->size(), " flags for ", batch.num_rows, " rows");
    }
    return keep;
  }

std::vector<int64_t> WorkItemProcessor::SelectRows(const WorkItem& item, int64_t num_rows,
                                  const std::vector<bool>& keep) const {
    // The piece [first, last) of the row group, its drop partition [begin, end) of positions.
    const int64_t first = std::min(item.row_begin, num_rows);
    const int64_t last = item.row_end < 0 ? num_rows : std::min(item.row_end, num_rows);
    const int64_t piece_rows = std::max<int64_t>(0, last - first);
    const auto [begin, end] = PartitionRange(item, piece_rows, config_->partition_overlap_rows);
    std::vector<int64_t> order;  // position -> row; empty: storage order
    if (config_->shuffle_rows) {
      order.resize(static_cast<size_t>(piece_rows));
      for (int64_t i = 0; i < piece_rows; ++i) order[static_cast<size_t>(i)] = first + i;
      Rng rng(DeriveSeed(config_->seed, kRowOrderTag, static_cast<uint64_t>(item.epoch),
                         static_cast<uint64_t>(item.row_group)));
      Shuffle(&order, &rng);
    }
    std::vector<int64_t> rows;
    rows.reserve(static_cast<size_t>(end - begin));
    int64_t skip = item.skip;
    for (int64_t pos = begin; pos < end; ++pos) {
      const int64_t row = order.empty() ? first + pos : order[static_cast<size_t>(pos)];
      if (!keep.empty() && !keep[static_cast<size_t>(row)]) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      if (item.limit >= 0 && static_cast<int64_t>(rows.size()) >= item.limit) break;
      rows.push_back(row);
    }
    if (!item.positions.empty()) {  // only these of them
      std::vector<int64_t> chosen;
      chosen.reserve(item.positions.size());
      for (int64_t p : item.positions) {
        if (p >= 0 && p < static_cast<int64_t>(rows.size())) chosen.push_back(rows[static_cast<size_t>(p)]);
      }
      rows = std::move(chosen);
    }
    return rows;
  }

arrow::Result<parquet::arrow::FileReader*> WorkItemProcessor::OpenFile(int file_index) {
    if (file_index != open_file_index_) {
      open_file_.reset();
      open_file_index_ = -1;
      // Without pre-buffering: LoadRowGroup requests the chunks itself, to time the I/O apart.
      ARROW_ASSIGN_OR_RAISE(open_file_, config_->dataset->OpenFile(file_index, /*pre_buffer=*/false));
      open_file_index_ = file_index;
    }
    return open_file_.get();
  }
}  // namespace petastorm::internal
