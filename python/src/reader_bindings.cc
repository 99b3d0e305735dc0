// Bindings of petastorm/dataset.h and petastorm/reader.h.
#include <algorithm>

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "petastorm/filter.h"
#include "petastorm/reader.h"
#include "petastorm/row_access.h"
#include "petastorm/row_group_cache.h"
#include "arrow_bridge.h"
#include "handles.h"
#include "status.h"
#include "tensor_convert.h"
#include "value_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// Owns a Reader. Destroying a Reader joins its workers, and a worker may be waiting for the
// GIL (a Python predicate or codec): so the GIL is released around the destruction.
class ReaderHandle {
 public:
  explicit ReaderHandle(std::unique_ptr<Reader> reader) : reader_(std::move(reader)) {}
  ~ReaderHandle() {
    if (!reader_) return;
    reader_->Stop();
    if (Py_IsInitialized() && PyGILState_Check()) {
      nb::gil_scoped_release release;
      reader_.reset();
    } else {
      reader_.reset();
    }
  }
  Reader& operator*() { return *reader_; }
  const Reader& operator*() const { return *reader_; }

 private:
  std::unique_ptr<Reader> reader_;
};

// A WorkItem as a tuple (row_group, partition, num_partitions, epoch, index, row_begin,
// row_end, skip, limit), and back: how resume states carry them (JSON-able).
// A work item of a resume state: 9 numbers, and its positions as a 10th element when it has some.
nb::tuple ItemToPython(const WorkItem& w) {
  if (!w.positions.empty()) {
    return nb::make_tuple(w.row_group, w.partition, w.num_partitions, w.epoch, w.index, w.row_begin, w.row_end,
                          w.skip, w.limit, nb::cast(w.positions));
  }
  return nb::make_tuple(w.row_group, w.partition, w.num_partitions, w.epoch, w.index, w.row_begin, w.row_end,
                        w.skip, w.limit);
}
WorkItem ItemFromPython(nb::handle h) {
  nb::sequence seq = nb::borrow<nb::sequence>(h);
  const size_t n = nb::len(seq);
  if (n != 9 && n != 10) {
    throw nb::value_error("A work item of a resume state has 9 numbers (and a list of positions)");
  }
  std::vector<int64_t> t;
  for (size_t i = 0; i < 9; ++i) t.push_back(nb::cast<int64_t>(seq[i]));
  WorkItem w;
  w.row_group = t[0]; w.partition = t[1]; w.num_partitions = t[2]; w.epoch = t[3]; w.index = t[4];
  w.row_begin = t[5]; w.row_end = t[6]; w.skip = t[7]; w.limit = t[8];
  if (n == 10) {
    w.positions = nb::cast<std::vector<int64_t>>(seq[9]);
    if (!std::is_sorted(w.positions.begin(), w.positions.end()) ||
        (!w.positions.empty() && w.positions.front() < 0)) {
      throw nb::value_error("The positions of a work item of a resume state are ascending and not negative");
    }
  }
  return w;
}
nb::tuple PositionToPython(const ReaderPosition& p) {
  nb::list items;
  for (const WorkItem& w : p.first_items) items.append(ItemToPython(w));
  return nb::make_tuple(items, p.epoch, p.item);
}
ReaderPosition PositionFromPython(nb::handle h) {
  nb::tuple t = nb::cast<nb::tuple>(h);
  if (t.size() != 3) throw nb::value_error("A reader position is (first_items, epoch, item)");
  ReaderPosition p;
  for (nb::handle item : t[0]) p.first_items.push_back(ItemFromPython(item));
  p.epoch = nb::cast<int64_t>(t[1]);
  p.item = nb::cast<int64_t>(t[2]);
  return p;
}

// [[(column, op, value), ...], ...] (normalized by petastorm.reader) as Filters; None is a null.
Filters FiltersFromPython(nb::list dnf) {
  Filters filters;
  for (nb::handle conjunction : dnf) {
    std::vector<FilterTerm> terms;
    for (nb::handle term : conjunction) {
      nb::tuple t = nb::cast<nb::tuple>(term);
      if (t.size() != 3) throw nb::value_error("Each filter must be a (column, op, value) tuple");
      FilterTerm filter;
      filter.column = nb::cast<std::string>(t[0]);
      filter.op = nb::cast<std::string>(t[1]);
      const std::string what = "filter on '" + filter.column + "'";
      const bool set_op = filter.op == "in" || filter.op == "not in";
      nb::list values;
      if (set_op) {
        for (nb::handle v : t[2]) values.append(v);
      } else {
        values.append(t[2]);
      }
      for (nb::handle v : values) {
        auto value = ScalarFromPython(v, what);
        if (value) filter.values.push_back(std::move(*value));
      }
      if (!set_op && filter.values.empty()) {
        throw nb::value_error(("Cannot compare " + what).c_str());
      }
      terms.push_back(std::move(filter));
    }
    filters.push_back(std::move(terms));
  }
  return filters;
}

}  // namespace

void BindReader(nb::module_& m) {
  nb::class_<DatasetHandle>(m, "Dataset")
      .def(nb::new_([](const std::string& url) {
             nb::gil_scoped_release release;
             return DatasetHandle{ValueOrThrow(Dataset::Open(url))};
           }),
           nb::arg("url"))
      .def(nb::new_([](const std::vector<std::string>& urls) {
             nb::gil_scoped_release release;
             return DatasetHandle{ValueOrThrow(Dataset::Open(urls))};
           }),
           nb::arg("urls"), "The files at several URLs (data files or directories) as one dataset.")
      .def(nb::new_([](const FileSystemHandle& fs, const std::vector<std::string>& paths, const std::string& url) {
             nb::gil_scoped_release release;
             return DatasetHandle{ValueOrThrow(Dataset::Open(fs.filesystem, paths, url))};
           }),
           nb::arg("filesystem"), nb::arg("paths"), nb::arg("url"),
           "The dataset at paths on a filesystem; `url` names it in messages.")
      .def_prop_ro("filesystem", [](const DatasetHandle& d) { return FileSystemHandle{d.dataset->filesystem()}; })
      .def_prop_ro("root", [](const DatasetHandle& d) { return d.dataset->root(); })
      .def_prop_ro("url", [](const DatasetHandle& d) { return d.dataset->url(); })
      .def_prop_ro("files", [](const DatasetHandle& d) { return d.dataset->files(); })
      .def_prop_ro("num_row_groups",
                   [](const DatasetHandle& d) { return d.dataset->row_groups().size(); })
      .def_prop_ro("row_groups",
                   [](const DatasetHandle& d) {
                     nb::list out;
                     for (const auto& ref : d.dataset->row_groups()) out.append(nb::make_tuple(ref.file_index, ref.row_group));
                     return out;
                   },
                   "[(file index, row group in the file)], in the dataset's order: a row group's position here "
                   "is its index (Petastorm's piece index).")
      .def_prop_ro("footers_read", [](const DatasetHandle& d) { return d.dataset->footers_read(); })
      .def_prop_ro("metadata",
                   [](const DatasetHandle& d) {
                     nb::dict out;
                     if (const auto& kv = d.dataset->metadata()) {
                       for (int64_t i = 0; i < kv->size(); ++i) {
                         out[nb::bytes(kv->key(i).data(), kv->key(i).size())] =
                             nb::bytes(kv->value(i).data(), kv->value(i).size());
                       }
                     }
                     return out;
                   },
                   "{key: value} (bytes) of the dataset's _common_metadata (else _metadata, else the first "
                   "file's footer).")
      .def_prop_ro("partition_keys", [](const DatasetHandle& d) {
        nb::list keys;
        for (const auto& key : d.dataset->partition_keys()) {
          keys.append(nb::make_tuple(key.name, TypeToPyArrow(key.type)));
        }
        return keys;
      })
      .def_prop_ro("schema", [](const DatasetHandle& d) -> nb::object {
        if (!d.dataset->schema()) return nb::none();
        return nb::cast(SchemaHandle{d.dataset->schema()});
      });

  m.def("write_dataset_metadata",
        [](const FileSystemHandle& fs, const std::string& path, const std::string& url, const SchemaHandle& schema,
           nb::handle extra) {
          auto extra_kv = KeyValuesFromPython(extra, "extra metadata");
          nb::gil_scoped_release release;
          ThrowIfError(WriteDatasetMetadata(StorageLocation{fs.filesystem, path, url}, *schema.schema, extra_kv));
        },
        nb::arg("filesystem"), nb::arg("path"), nb::arg("url"), nb::arg("schema"),
        nb::arg("extra").none() = nb::none(),
        "Writes _common_metadata for the Parquet files at `url` (petastorm/dataset.h).");
  m.def("update_dataset_metadata",
        [](const FileSystemHandle& fs, const std::string& path, const std::string& url, nb::handle values) {
          auto kv = KeyValuesFromPython(values, "metadata values");
          nb::gil_scoped_release release;
          ThrowIfError(UpdateDatasetMetadata(StorageLocation{fs.filesystem, path, url}, kv));
        },
        nb::arg("filesystem"), nb::arg("path"), nb::arg("url"), nb::arg("values"),
        "Sets key-values of the dataset's existing _common_metadata (petastorm/dataset.h).");

  nb::enum_<PoolType>(m, "PoolType")
      .value("thread", PoolType::kThread)
      .value("dummy", PoolType::kDummy);

  nb::class_<ReaderOptions>(m, "ReaderOptions", "petastorm/reader.h ReaderOptions: what to read, and how.")
      .def(nb::init<>())
      .def_prop_rw("schema",
                   [](const ReaderOptions& o) -> nb::object {
                     return o.schema ? nb::cast(SchemaHandle{o.schema}) : nb::none();
                   },
                   [](ReaderOptions& o, const SchemaHandle* schema) {
                     o.schema = schema ? schema->schema : nullptr;
                   },
                   nb::arg("schema").none())
      .def_rw("fields", &ReaderOptions::fields)
      .def_prop_rw("decode_options",
                   [](const ReaderOptions& o) {
                     nb::dict out;
                     for (const auto& [name, d] : o.decode_options) {
                       nb::object crop = nb::none();
                       if (d.crop) crop = nb::make_tuple(d.crop->x, d.crop->y, d.crop->width, d.crop->height);
                       out[nb::str(name.c_str())] = nb::make_tuple(d.scale_num, d.scale_den, crop);
                     }
                     return out;
                   },
                   [](ReaderOptions& o, nb::dict options) {
                     std::map<std::string, ImageDecodeOptions> out;
                     for (auto [key, value] : options) {
                       // (scale_num, scale_den, crop): crop None or (x, y, width, height).
                       auto t = nb::cast<nb::tuple>(value);
                       if (t.size() != 3) throw nb::value_error("decode_options values are (num, den, crop)");
                       ImageDecodeOptions d;
                       d.scale_num = nb::cast<int>(t[0]);
                       d.scale_den = nb::cast<int>(t[1]);
                       if (!t[2].is_none()) {
                         auto c = nb::cast<nb::tuple>(t[2]);
                         if (c.size() != 4) throw nb::value_error("a crop is (x, y, width, height)");
                         d.crop = ImageCrop{nb::cast<int64_t>(c[0]), nb::cast<int64_t>(c[1]),
                                            nb::cast<int64_t>(c[2]), nb::cast<int64_t>(c[3])};
                       }
                       out[nb::cast<std::string>(key)] = d;
                     }
                     o.decode_options = std::move(out);
                   },
                   "{field name: (scale_num, scale_den, crop None or (x, y, width, height))}: "
                   "CompressedImageCodec fields decoded scaled and/or cropped.")
      .def_rw("num_epochs", &ReaderOptions::num_epochs, nb::arg("num_epochs").none())
      .def_rw("seed", &ReaderOptions::seed, nb::arg("seed").none())
      .def_rw("shuffle_rows", &ReaderOptions::shuffle_rows)
      .def_rw("shuffle_row_groups", &ReaderOptions::shuffle_row_groups)
      .def_rw("shuffle_row_drop_partitions", &ReaderOptions::shuffle_row_drop_partitions)
      .def_rw("partition_overlap_rows", &ReaderOptions::partition_overlap_rows)
      .def_rw("cur_shard", &ReaderOptions::cur_shard, nb::arg("cur_shard").none())
      .def_rw("shard_count", &ReaderOptions::shard_count, nb::arg("shard_count").none())
      .def_rw("shard_seed", &ReaderOptions::shard_seed, nb::arg("shard_seed").none())
      .def_prop_rw("shard_mode", [](const ReaderOptions& o) { return o.shard_mode == ShardMode::kRows ? "rows" : "row_groups"; },
                   [](ReaderOptions& o, const std::string& mode) {
                     if (mode != "rows" && mode != "row_groups") {
                       throw nb::value_error(("shard_mode must be 'row_groups' or 'rows', got '" + mode + "'").c_str());
                     }
                     o.shard_mode = mode == "rows" ? ShardMode::kRows : ShardMode::kRowGroups;
                   })
      .def_prop_rw("shard_remainder", [](const ReaderOptions& o) { return o.shard_remainder == ShardRemainder::kPad ? "pad" : "drop"; },
                   [](ReaderOptions& o, const std::string& policy) {
                     if (policy != "drop" && policy != "pad") {
                       throw nb::value_error(("shard_remainder must be 'drop' or 'pad', got '" + policy + "'").c_str());
                     }
                     o.shard_remainder = policy == "pad" ? ShardRemainder::kPad : ShardRemainder::kDrop;
                   })
      .def_prop_rw("start", [](const ReaderOptions& o) { return PositionToPython(o.start); },
                   [](ReaderOptions& o, nb::handle p) { o.start = PositionFromPython(p); })
      .def_prop_rw("predicate",
                   [](const ReaderOptions& o) -> nb::object {
                     return o.predicate ? nb::cast(PredicateHandle{o.predicate}) : nb::none();
                   },
                   [](ReaderOptions& o, const PredicateHandle* p) { o.predicate = p ? p->predicate : nullptr; },
                   nb::arg("predicate").none())
      .def_rw("selected_row_groups", &ReaderOptions::selected_row_groups, nb::arg("selected_row_groups").none())
      .def_prop_rw("cache",
                   [](const ReaderOptions& o) -> nb::object {
                     return o.cache ? nb::cast(CacheHandle{o.cache}) : nb::none();
                   },
                   [](ReaderOptions& o, const CacheHandle* c) { o.cache = c ? c->cache : nullptr; },
                   nb::arg("cache").none())
      .def_rw("pool", &ReaderOptions::pool)
      .def_rw("workers_count", &ReaderOptions::workers_count)
      .def_rw("results_queue_size", &ReaderOptions::results_queue_size)
      .def_rw("results_queue_bytes", &ReaderOptions::results_queue_bytes)
      .def_rw("memory_budget", &ReaderOptions::memory_budget, nb::arg("memory_budget").none())
      .def_rw("stage_times", &ReaderOptions::stage_times);

  nb::class_<MemoryBudget>(m, "MemoryBudget",
                           "A bound in bytes on a pipeline's decoded data, shared by a reader and its consumers "
                           "(petastorm/memory_budget.h).")
      .def(nb::init<int64_t>(), nb::arg("limit_bytes"))
      .def_prop_ro("limit", &MemoryBudget::limit)
      .def_prop_ro("held", &MemoryBudget::held)
      .def_prop_ro("reading", &MemoryBudget::reading)
      .def_prop_ro("peak", &MemoryBudget::peak)
      .def("set_held", &MemoryBudget::SetHeld, nb::arg("bytes"), "The bytes the consumers hold now.");

  nb::class_<ReaderHandle>(m, "Reader")
      .def(nb::new_([](const DatasetHandle& dataset, const ReaderOptions& options, int64_t slice_index,
                       int64_t slice_count) {
             ReaderOptions copy = options;
             nb::gil_scoped_release release;
             return std::make_unique<ReaderHandle>(ValueOrThrow(
                 Reader::OpenSlice(dataset.dataset, std::move(copy), ItemSlice{slice_index, slice_count})));
           }),
           nb::arg("dataset"), nb::arg("options"), nb::arg("slice_index") = 0, nb::arg("slice_count") = 1,
           "A reader of `dataset` (petastorm/reader.h); with slice_count > 1, only the work items of "
           "ItemSlice{slice_index, slice_count}, every one delivered (an empty one as an empty batch).")
      .def_prop_ro("schema", [](const ReaderHandle& h) { return SchemaHandle{(*h).schema()}; })
      .def_prop_ro("seed", [](const ReaderHandle& h) { return (*h).seed(); })
      .def_prop_ro("slice_count", [](const ReaderHandle& h) { return (*h).item_slice().count; })
      .def_prop_ro("planned_row_groups",
                   [](const ReaderHandle& h) { return (*h).planned_row_groups(); })
      .def_prop_ro("num_row_groups_planned",
                   [](const ReaderHandle& h) { return (*h).num_row_groups_planned(); })
      .def("next", [](ReaderHandle& h) -> nb::object {
        Reader& r = *h;
        std::shared_ptr<const DecodedRowGroup> batch;
        {
          nb::gil_scoped_release release;
          batch = ValueOrThrow(r.Next());
        }
        if (!batch) return nb::none();
        return nb::cast(RowGroupHandle{std::move(batch)});
      }, "The next decoded row group in plan order, or None at the end.")
      .def("reset", [](ReaderHandle& h) {
        nb::gil_scoped_release release;
        ThrowIfError((*h).Reset());
      })
      .def("restart", [](ReaderHandle& h, nb::handle start, std::optional<uint64_t> seed) {
        ReaderPosition position = PositionFromPython(start);
        nb::gil_scoped_release release;
        ThrowIfError((*h).Restart(std::move(position), seed));
      }, nb::arg("start"), nb::arg("seed").none() = nb::none(),
         "Starts over from `start` ((first_items, epoch, item)), with `seed` when given.")
      .def_prop_ro("start", [](const ReaderHandle& h) { return PositionToPython((*h).start()); })
      .def_prop_ro("items_per_epoch", [](const ReaderHandle& h) { return (*h).items_per_epoch(); })
      .def("position_at", [](const ReaderHandle& h, nb::handle from, int64_t k) {
        return PositionToPython((*h).PositionAt(PositionFromPython(from), k));
      }, nb::arg("start"), nb::arg("k"), "The position of the k-th work item of the sequence from `start`.")
      .def("items_at", [](const ReaderHandle& h, nb::handle from, const std::vector<int64_t>& ks) {
        nb::list out;
        for (const WorkItem& w : (*h).ItemsAt(PositionFromPython(from), ks)) out.append(ItemToPython(w));
        return out;
      }, nb::arg("start"), nb::arg("ks"))
      .def("item_rows", [](const ReaderHandle& h, nb::handle from, int64_t n) {
        ReaderPosition position = PositionFromPython(from);
        nb::gil_scoped_release release;
        return ValueOrThrow((*h).ItemRows(position, n));
      }, nb::arg("start"), nb::arg("n"), "Rows each of the next n work items from `start` delivers (no predicate).")
      .def_prop_ro("rows_per_epoch", [](const ReaderHandle& h) {
        nb::gil_scoped_release release;
        return ValueOrThrow((*h).RowsPerEpoch());
      })
      .def("stop", [](ReaderHandle& h) { (*h).Stop(); })
      .def("join", [](ReaderHandle& h) {
        nb::gil_scoped_release release;
        (*h).Join();
      })
      .def_prop_ro("diagnostics", [](const ReaderHandle& h) {
        const ReaderDiagnostics d = (*h).diagnostics();
        nb::dict out;
        out["output_queue_size"] = d.output_queue_size;
        out["output_queue_bytes"] = d.output_queue_bytes;
        out["items_in_flight"] = d.items_in_flight;
        out["items_processed"] = d.items_processed;
        out["rows_delivered"] = d.rows_delivered;
        out["epoch"] = d.epoch;
        out["io_seconds"] = d.io_seconds;
        out["parquet_decode_seconds"] = d.parquet_decode_seconds;
        out["read_seconds"] = d.read_seconds;
        out["decode_seconds"] = d.decode_seconds;
        out["predicate_seconds"] = d.predicate_seconds;
        out["plan_seconds"] = d.plan_seconds;
        out["worker_blocked_seconds"] = d.worker_blocked_seconds;
        out["consumer_wait_seconds"] = d.consumer_wait_seconds;
        out["peak_bytes"] = d.peak_bytes;
        out["items_consumed"] = d.items_consumed;
        out["footers_read"] = d.footers_read;
        return out;
      });

  m.def("elastic_share",
        [](const ReaderHandle& reader, nb::list progress, const std::optional<int64_t>& cur_shard,
           const std::optional<int64_t>& shard_count, const std::string& old_mode) {
          std::vector<ShardProgress> shards;
          for (nb::handle p : progress) {
            nb::tuple t = nb::cast<nb::tuple>(p);
            shards.push_back(ShardProgress{PositionFromPython(t[0]), nb::cast<int64_t>(t[1])});
          }
          PlanOptions old = (*reader).plan_options();
          old.shard_mode = old_mode == "rows" ? ShardMode::kRows : ShardMode::kRowGroups;
          PlanOptions now = (*reader).plan_options();
          now.cur_shard = cur_shard;
          now.shard_count = shard_count;
          int64_t epoch = 0;
          std::vector<WorkItem> share;
          {
            nb::gil_scoped_release release;
            share = ValueOrThrow(ElasticShare(*(*reader).dataset(), old, shards, now,
                                              (*reader).partition_overlap_rows(), &epoch));
          }
          nb::list items;
          for (const WorkItem& w : share) items.append(ItemToPython(w));
          return nb::make_tuple(items, epoch);
        },
        nb::arg("reader"), nb::arg("progress"), nb::arg("cur_shard").none(),
        nb::arg("shard_count").none(), nb::arg("old_mode"),
        "Elastic resume (petastorm/reader.h ElasticShare): (this shard's work items, epoch).");

  m.def("prune_row_groups",
        [](const DatasetHandle& dataset, nb::list dnf) {
          Filters filters = FiltersFromPython(dnf);
          nb::gil_scoped_release release;
          return ValueOrThrow(PruneRowGroups(*dataset.dataset, filters));
        },
        nb::arg("dataset"), nb::arg("filters"),
        "Indexes of the row groups that may match pyarrow-style DNF filters (by statistics).");
  m.def("row_filter",
        [](nb::list dnf) { return PredicateHandle{ValueOrThrow(MakeRowFilter(FiltersFromPython(dnf)))}; },
        nb::arg("filters"),
        "The row-exact step of pyarrow-style DNF filters: a predicate keeping exactly the matching rows.");

  nb::class_<RowAccess>(m, "RowAccess",
                        "Random access to a dataset's rows by index (petastorm/row_access.h).")
      .def(nb::new_([](const DatasetHandle& dataset, const SchemaHandle* schema, std::vector<std::string> fields,
                       int threads, int64_t cache_bytes, int64_t cache_row_groups) {
             RowAccessOptions options;
             options.schema = schema ? schema->schema : nullptr;
             options.fields = std::move(fields);
             options.threads = threads;
             options.cache_bytes = cache_bytes;
             options.cache_row_groups = cache_row_groups;
             nb::gil_scoped_release release;
             return ValueOrThrow(RowAccess::Open(dataset.dataset, std::move(options)));
           }),
           nb::arg("dataset"), nb::arg("schema").none(), nb::arg("fields"), nb::arg("threads"),
           nb::arg("cache_bytes"), nb::arg("cache_row_groups"))
      .def_prop_ro("num_rows", &RowAccess::num_rows)
      .def_prop_ro("schema", [](const RowAccess& a) { return SchemaHandle{a.schema()}; })
      .def("locate", [](const RowAccess& a, int64_t row) {
        auto at = ValueOrThrow(a.Locate(row));
        return nb::make_tuple(at.first, at.second);
      }, nb::arg("row"), "(row group position, row within it) of dataset row `row`.")
      .def("take", [](RowAccess& a, const std::vector<int64_t>& rows) {
        std::shared_ptr<const DecodedRowGroup> batch;
        {
          nb::gil_scoped_release release;
          batch = ValueOrThrow(a.Take(rows));
        }
        return RowGroupHandle{std::move(batch)};
      }, nb::arg("rows"), "The rows at `rows` (dataset row indexes), in that order, as one DecodedRowGroup.")
      .def_prop_ro("stats", [](const RowAccess& a) {
        const RowAccessStats s = a.stats();
        nb::dict out;
        out["hits"] = s.hits;
        out["misses"] = s.misses;
        out["cached_row_groups"] = s.cached_row_groups;
        out["cached_bytes"] = s.cached_bytes;
        return out;
      });

  nb::class_<CacheHandle>(m, "RowGroupCache")
      .def_prop_ro("stats", [](const CacheHandle& c) {
        const CacheStats s = c.cache->stats();
        nb::dict out;
        out["hits"] = s.hits;
        out["misses"] = s.misses;
        out["stores"] = s.stores;
        out["evictions"] = s.evictions;
        out["dropped"] = s.dropped;
        out["skipped_stores"] = s.skipped_stores;
        out["store_failures"] = s.store_failures;
        out["last_store_error"] = s.last_store_error;
        out["last_drop_reason"] = s.last_drop_reason;
        return out;
      })
      .def("cleanup", [](CacheHandle& c) {
        nb::gil_scoped_release release;
        ThrowIfError(c.cache->Cleanup());
      });
  m.def("local_disk_cache",
        [](const std::string& path, int64_t size_limit_bytes, int64_t expected_row_size_bytes,
           const std::string& eviction_policy) {
          LocalDiskCacheOptions options;
          options.path = path;
          options.size_limit_bytes = size_limit_bytes;
          options.expected_row_size_bytes = expected_row_size_bytes;
          if (eviction_policy == "least-recently-used") {
            options.eviction_policy = EvictionPolicy::kLeastRecentlyUsed;
          } else if (eviction_policy == "least-recently-stored") {
            options.eviction_policy = EvictionPolicy::kLeastRecentlyStored;
          } else if (eviction_policy == "none") {
            options.eviction_policy = EvictionPolicy::kNone;
          } else {
            throw nb::value_error(("Unknown eviction_policy '" + eviction_policy +
                                   "': use least-recently-used, least-recently-stored or none").c_str());
          }
          return CacheHandle{ValueOrThrow(MakeLocalDiskCache(std::move(options)))};
        },
        nb::arg("path"), nb::arg("size_limit_bytes"), nb::arg("expected_row_size_bytes"),
        nb::arg("eviction_policy"));
}

}  // namespace petastorm::python
