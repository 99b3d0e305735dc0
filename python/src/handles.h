// Python-visible handles on immutable C++ objects shared through shared_ptr<const T>.
#pragma once

#include <memory>

#include "petastorm/codec.h"
#include "petastorm/dataset.h"
#include "petastorm/filesystem.h"
#include "petastorm/decoded_row_group.h"
#include "petastorm/predicate.h"
#include "petastorm/row_group_cache.h"
#include "petastorm/schema.h"

namespace petastorm::python {

struct CodecHandle {
  std::shared_ptr<const Codec> codec;
};

struct CacheHandle {
  std::shared_ptr<RowGroupCache> cache;
};

struct PredicateHandle {
  std::shared_ptr<const Predicate> predicate;
};

// A filesystem (petastorm/filesystem.h): native, or a Python one (python_filesystem.h).
struct FileSystemHandle {
  std::shared_ptr<arrow::fs::FileSystem> filesystem;
};

struct DatasetHandle {
  std::shared_ptr<const Dataset> dataset;
};

// A decoded row group, as _core.Reader.next() returns it (_core.DecodedRowGroup).
struct RowGroupHandle {
  std::shared_ptr<const DecodedRowGroup> batch;
  // Its buffers belong to it alone (received from a worker process): numpy arrays over them
  // may be writable.
  bool exclusive = false;
};

struct SchemaHandle {
  std::shared_ptr<const Unischema> schema;
};

}  // namespace petastorm::python
