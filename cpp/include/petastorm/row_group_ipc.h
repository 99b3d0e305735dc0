// The one Arrow IPC form of a decoded row group: what the local-disk cache stores and what the
// process pool's workers send.
//
// One IPC stream: a schema, exactly one record batch, the end-of-stream marker. Each field of
// the Unischema is one column of the same name, tagged in its field metadata:
//   "values":  DecodedColumn::values as it is (native fields; tensor fields not decoded);
//   "tensors": struct<data: large_binary, shape: list<int64>, dtype: utf8, fortran: bool>, one
//              row per tensor, null for a null tensor. `data` holds the tensor bytes padded with
//              zeros to a multiple of 8, so that every tensor read back starts 8-byte aligned in
//              the buffer and can be a zero-copy slice of it.
// The schema metadata holds the form's version, the Unischema JSON of the fields, the row count
// and the source RowGroupRef, plus whatever the writer adds (the cache's key).
//
// Thread safety: pure functions. Errors: Invalid saying what is wrong with a buffer that is not
// this form (or holds another schema); NotImplemented for a tensor whose element type has no
// numpy type string.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>

#include "petastorm/decoded_row_group.h"
#include "petastorm/schema.h"

namespace petastorm {

using IpcMetadata = std::vector<std::pair<std::string, std::string>>;

// Writes `group` (which holds every field of `schema`) to `out` as the IPC form; `schema_json`
// is schema.ToJson() (passed to save recomputing it). Tensor bytes are copied once, into `out`.
arrow::Status WriteRowGroupIpc(const DecodedRowGroup& group, const Unischema& schema, const std::string& schema_json,
                               const IpcMetadata& extra, arrow::io::OutputStream* out);

// The IPC form in one buffer.
arrow::Result<std::shared_ptr<arrow::Buffer>> RowGroupToIpc(const DecodedRowGroup& group,
                                                            const IpcMetadata& extra = {});

// The IPC form written into memory of exactly its size, which `allocate(size)` provides (a
// shared-memory mapping, say): the tensor bytes are copied once into one column, then once into
// that memory, with no reallocation on the way. Returns the size.
using IpcAllocator = std::function<arrow::Result<std::shared_ptr<arrow::MutableBuffer>>(int64_t size)>;
arrow::Result<int64_t> RowGroupToIpcInto(const DecodedRowGroup& group, const IpcAllocator& allocate);

// Reads the IPC form in `buffer`, which must hold batches of `schema` (compared as JSON: the
// JSON stored, schema->ToJson()). The result's fields point into `schema`; its tensors and
// arrays are zero-copy slices of `buffer` (a tensor that would be misaligned is copied), so any
// of them keeps the buffer alive. Its tensor columns hold tensors only (`values` null), as after
// TakeRows, unless they were stored undecoded. `extra`, when given, receives the writer's
// additional metadata.
arrow::Result<std::shared_ptr<const DecodedRowGroup>> RowGroupFromIpc(const std::shared_ptr<arrow::Buffer>& buffer,
                                                                      const std::shared_ptr<const Unischema>& schema,
                                                                      IpcMetadata* extra = nullptr);

}  // namespace petastorm
