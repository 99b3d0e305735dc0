// For the fuzz targets that get a DecodedRowGroup out of untrusted bytes (a cache entry, a
// Parquet file): checks the promises of decoded_row_group.h and reads every byte the batch
// points at, so that AddressSanitizer sees a tensor or array that reaches past its buffer.
// Aborts (a fuzzer finding) when a promise is broken.
#pragma once

#include <cstdint>
#include <cstdlib>

#include <arrow/array.h>

#include "petastorm/decoded_row_group.h"
#include "petastorm/schema.h"

namespace petastorm::internal {

inline void CheckDecodedRowGroupForFuzzing(const DecodedRowGroup& group) {
  if (!group.schema || group.num_rows < 0) std::abort();
  if (group.columns.size() > group.schema->fields().size()) std::abort();
  volatile uint8_t sink = 0;
  for (const DecodedColumn& column : group.columns) {
    if (column.field == nullptr) std::abort();
    if (column.values) {
      if (column.values->length() != group.num_rows) std::abort();
      if (!column.values->ValidateFull().ok()) std::abort();
    }
    if (!column.tensors.empty() && static_cast<int64_t>(column.tensors.size()) != group.num_rows) {
      std::abort();
    }
    for (const auto& tensor : column.tensors) {
      if (!tensor) continue;
      if (!tensor->Validate().ok()) std::abort();
      const int64_t nbytes = tensor->nbytes();
      if (!tensor->data) {
        if (nbytes > 0) std::abort();
        continue;
      }
      if (nbytes > tensor->data->size()) std::abort();
      const uint8_t* bytes = tensor->data->data();
      for (int64_t i = 0; i < nbytes; ++i) sink = sink ^ bytes[i];
    }
  }
  (void)sink;
}

}  // namespace petastorm::internal
