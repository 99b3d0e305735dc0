#include "petastorm/row_access.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <list>
#include <map>
#include <thread>
#include <unordered_map>

#include <arrow/array/concatenate.h>
#include <arrow/array/util.h>

#include "read/row_group_loader_internal.h"
#include "util/mutex_internal.h"

namespace petastorm {

namespace {

using RowGroupPtr = std::shared_ptr<const DecodedRowGroup>;

// Runs task(k) for k in [0, count) on min(threads, count) native threads (the caller's thread
// alone when that is 1); the first error by k is returned, after every thread is joined.
arrow::Status RunParallel(int64_t count, int threads,
                          const std::function<arrow::Status(int64_t)>& task) {
  std::vector<arrow::Status> results(static_cast<size_t>(count));
  std::atomic<int64_t> next{0};
  auto work = [&]() {
    for (int64_t k = next++; k < count; k = next++) {
      try {
        results[static_cast<size_t>(k)] = task(k);
      } catch (const std::exception& e) {  // nothing escapes a thread
        results[static_cast<size_t>(k)] = arrow::Status::UnknownError(e.what());
      }
    }
  };
  const int64_t n = std::min<int64_t>(threads, count);
  if (n <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) pool.emplace_back(work);
    for (auto& thread : pool) thread.join();
  }
  for (const auto& status : results) ARROW_RETURN_NOT_OK(status);
  return arrow::Status::OK();
}

// The rows of `pieces` one after the other (same schema): values concatenated, tensors appended.
arrow::Result<RowGroupPtr> Concatenate(const std::vector<RowGroupPtr>& pieces) {
  if (pieces.size() == 1) return pieces[0];
  auto out = std::make_shared<DecodedRowGroup>();
  out->schema = pieces[0]->schema;
  out->source = pieces[0]->source;
  for (const auto& piece : pieces) out->num_rows += piece->num_rows;
  for (size_t c = 0; c < pieces[0]->columns.size(); ++c) {
    DecodedColumn column;
    column.field = pieces[0]->columns[c].field;
    if (column.field->is_tensor()) {
      column.tensors.reserve(static_cast<size_t>(out->num_rows));
      for (const auto& piece : pieces) {
        const auto& tensors = piece->columns[c].tensors;
        column.tensors.insert(column.tensors.end(), tensors.begin(), tensors.end());
      }
    } else {
      arrow::ArrayVector arrays;
      for (const auto& piece : pieces) arrays.push_back(piece->columns[c].values);
      ARROW_ASSIGN_OR_RAISE(column.values, arrow::Concatenate(arrays));
    }
    out->columns.push_back(std::move(column));
  }
  return out;
}

}  // namespace

arrow::Result<std::vector<RowGroupPtr>> LoadRowGroups(const std::shared_ptr<const Dataset>& dataset,
                                                      const std::shared_ptr<const Unischema>& fields,
                                                      const std::vector<int64_t>& positions, int threads,
                                                      bool decode) {
  if (threads < 1) return arrow::Status::Invalid("threads must be at least 1, got ", threads);
  const int64_t count = static_cast<int64_t>(dataset->row_groups().size());
  for (int64_t p : positions) {
    if (p < 0 || p >= count) {
      return arrow::Status::IndexError("Row group ", p, " out of range: '", dataset->url(), "' has ", count,
                                       " row groups");
    }
  }
  std::vector<RowGroupPtr> out(positions.size());
  const std::vector<int64_t> none;  // decode_rows when not decoding
  ARROW_RETURN_NOT_OK(RunParallel(static_cast<int64_t>(positions.size()), threads, [&](int64_t k) -> arrow::Status {
    const RowGroupRef ref = dataset->row_groups()[static_cast<size_t>(positions[static_cast<size_t>(k)])];
    ARROW_ASSIGN_OR_RAISE(auto file, dataset->OpenFile(ref.file_index));
    internal::LoadOptions options;
    if (!decode) options.decode_rows = &none;
    ARROW_ASSIGN_OR_RAISE(out[static_cast<size_t>(k)], internal::LoadRowGroup(*dataset, fields, ref, file.get(), options));
    return arrow::Status::OK();
  }));
  return out;
}

// The LRU cache: positions most recently used first; entries hold their list iterator.
struct RowAccess::CacheState {
  internal::Mutex mutex;
  std::list<int64_t> order GUARDED_BY(mutex);
  struct Entry {
    RowGroupPtr group;
    int64_t bytes = 0;
    std::list<int64_t>::iterator at;
  };
  std::unordered_map<int64_t, Entry> entries GUARDED_BY(mutex);
  int64_t bytes GUARDED_BY(mutex) = 0;
  int64_t hits GUARDED_BY(mutex) = 0;
  int64_t misses GUARDED_BY(mutex) = 0;
};

arrow::Result<std::shared_ptr<RowAccess>> RowAccess::Open(std::shared_ptr<const Dataset> dataset,
                                                          RowAccessOptions options) {
  if (options.threads < 1) return arrow::Status::Invalid("threads must be at least 1, got ", options.threads);
  if (options.cache_bytes < 0 || options.cache_row_groups < 0) {
    return arrow::Status::Invalid("cache_bytes and cache_row_groups must not be negative");
  }
  std::shared_ptr<const Unischema> stored = options.schema ? options.schema : dataset->schema();
  if (!stored) {
    return arrow::Status::Invalid("'", dataset->url(),
                                  "' is not a Petastorm dataset (no Unischema in its metadata): pass a schema");
  }
  std::shared_ptr<RowAccess> access(new RowAccess());
  if (options.fields.empty()) {
    access->schema_ = stored;
  } else {
    ARROW_ASSIGN_OR_RAISE(access->schema_, stored->View(options.fields));
  }
  const int64_t groups = static_cast<int64_t>(dataset->row_groups().size());
  access->starts_.assign(1, 0);
  access->starts_.reserve(static_cast<size_t>(groups + 1));
  for (int64_t g = 0; g < groups; ++g) {
    ARROW_ASSIGN_OR_RAISE(const int64_t rows, dataset->RowGroupNumRows(g));
    access->starts_.push_back(access->starts_.back() + rows);
  }
  access->dataset_ = std::move(dataset);
  access->options_ = std::move(options);
  access->cache_ = std::make_shared<CacheState>();
  return access;
}

arrow::Result<std::pair<int64_t, int64_t>> RowAccess::Locate(int64_t row) const {
  if (row < 0 || row >= num_rows()) {
    return arrow::Status::IndexError("Row ", row, " out of range: '", dataset_->url(), "' has ", num_rows(),
                                     " rows");
  }
  // The last row group starting at or before `row` (empty row groups share a start).
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), row) - 1;
  return std::make_pair(static_cast<int64_t>(it - starts_.begin()), row - *it);
}

RowGroupPtr RowAccess::Lookup(int64_t position) {
  CacheState& c = *cache_;
  internal::MutexLock lock(&c.mutex);
  auto it = c.entries.find(position);
  if (it == c.entries.end()) {
    ++c.misses;
    return nullptr;
  }
  ++c.hits;
  c.order.splice(c.order.begin(), c.order, it->second.at);
  return it->second.group;
}

void RowAccess::Store(int64_t position, RowGroupPtr group) {
  const int64_t bytes = group->MemoryBytes();
  if (options_.cache_row_groups == 0 || bytes > options_.cache_bytes) return;
  CacheState& c = *cache_;
  internal::MutexLock lock(&c.mutex);
  if (c.entries.count(position)) return;  // another Take stored it meanwhile
  while (!c.order.empty() && (c.bytes + bytes > options_.cache_bytes ||
                              static_cast<int64_t>(c.entries.size()) >= options_.cache_row_groups)) {
    auto last = c.entries.find(c.order.back());
    c.bytes -= last->second.bytes;
    c.entries.erase(last);
    c.order.pop_back();
  }
  c.order.push_front(position);
  c.entries[position] = CacheState::Entry{std::move(group), bytes, c.order.begin()};
  c.bytes += bytes;
}

RowAccessStats RowAccess::stats() const {
  CacheState& c = *cache_;
  internal::MutexLock lock(&c.mutex);
  return RowAccessStats{c.hits, c.misses, static_cast<int64_t>(c.entries.size()), c.bytes};
}

arrow::Result<RowGroupPtr> RowAccess::Take(const std::vector<int64_t>& rows) {
  // The row groups touched (ascending) and, per group, its distinct rows (ascending).
  std::map<int64_t, std::vector<int64_t>> wanted;
  std::vector<std::pair<int64_t, int64_t>> located;
  located.reserve(rows.size());
  for (int64_t row : rows) {
    ARROW_ASSIGN_OR_RAISE(auto at, Locate(row));
    located.push_back(at);
    wanted[at.first].push_back(at.second);
  }
  if (wanted.empty()) {
    // No rows: an empty batch of the schema, from the first non-empty row group (or none).
    for (int64_t g = 0; g + 1 < static_cast<int64_t>(starts_.size()); ++g) {
      if (starts_[g + 1] > starts_[g]) {
        wanted[g] = {};
        break;
      }
    }
    if (wanted.empty()) return EmptyRowGroup(schema_);
  }
  std::vector<int64_t> positions;
  std::vector<RowGroupPtr> groups;
  for (auto& [position, local] : wanted) {
    std::sort(local.begin(), local.end());
    local.erase(std::unique(local.begin(), local.end()), local.end());
    positions.push_back(position);
    groups.push_back(Lookup(position));
  }
  std::vector<int64_t> missing;
  for (size_t k = 0; k < positions.size(); ++k) {
    if (!groups[k]) missing.push_back(positions[k]);
  }
  if (!missing.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto loaded, LoadRowGroups(dataset_, schema_, missing, options_.threads, /*decode=*/false));
    size_t next = 0;
    for (size_t k = 0; k < positions.size(); ++k) {
      if (groups[k]) continue;
      groups[k] = loaded[next++];
      Store(positions[k], groups[k]);
    }
  }
  // Each group's wanted rows, decoded: across groups on native threads, or (one group) across
  // its rows on Arrow's CPU pool.
  std::vector<RowGroupPtr> pieces(positions.size());
  const bool one_group = positions.size() == 1;
  ARROW_RETURN_NOT_OK(RunParallel(static_cast<int64_t>(positions.size()), options_.threads,
                                  [&](int64_t k) -> arrow::Status {
    const std::vector<int64_t>& local = wanted[positions[static_cast<size_t>(k)]];
    ARROW_ASSIGN_OR_RAISE(auto decoded, internal::DecodeRows(*dataset_, *groups[static_cast<size_t>(k)], local, one_group));
    ARROW_ASSIGN_OR_RAISE(pieces[static_cast<size_t>(k)], TakeRows(*decoded, local, schema_));
    return arrow::Status::OK();
  }));
  ARROW_ASSIGN_OR_RAISE(auto all, Concatenate(pieces));
  // Where each asked row is in `all`: its group's first row there plus its rank in the group.
  std::unordered_map<int64_t, int64_t> base;
  int64_t offset = 0;
  for (size_t k = 0; k < positions.size(); ++k) {
    base[positions[k]] = offset;
    offset += static_cast<int64_t>(wanted[positions[k]].size());
  }
  std::vector<int64_t> order;
  order.reserve(located.size());
  for (const auto& [position, row] : located) {
    const auto& local = wanted[position];
    order.push_back(base[position] + (std::lower_bound(local.begin(), local.end(), row) - local.begin()));
  }
  return TakeRows(*all, order, schema_);
}

}  // namespace petastorm
