// Python-visible handles on immutable C++ objects shared through shared_ptr<const T>.
#pragma once

#include <memory>

#include "petastorm/codec.h"
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

struct SchemaHandle {
  std::shared_ptr<const Unischema> schema;
};

}  // namespace petastorm::python
