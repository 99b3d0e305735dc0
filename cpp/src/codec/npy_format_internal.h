// The .npy format of numpy.save / numpy.load (numpy/lib/format.py), for NdarrayCodec and
// CompressedNdarrayCodec.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <memory>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>

#include "petastorm/tensor.h"

namespace petastorm::internal {

// The bytes numpy.save(f, value) writes for an array equal to `value`: format 1.0 (2.0 only
// when the header does not fit in 65535 bytes), the header padded so that the data starts at
// a multiple of 64 bytes, then the data as laid out in `value`. A tensor whose layout is the
// same in both orders (at most one dimension longer than 1, or no elements) is written with
// fortran_order False, as numpy does.
// Errors: Invalid when `value` fails Tensor::Validate or has no numpy dtype (decimal, a 'U'
// itemsize that is not a multiple of 4, datetime64 without unit). The buffer comes from `pool`.
arrow::Result<std::shared_ptr<arrow::Buffer>> WriteNpy(const Tensor& value,
                                                       arrow::MemoryPool* pool);

// Parses .npy bytes of format 1.0, 2.0 or 3.0 as any numpy writes them. The data must be
// exactly product(shape) * itemsize bytes. The result keeps the header's fortran_order and
// owns a copy of the data in a buffer from `pool`; `data` is not retained.
// Errors: Invalid for a bad magic, an unknown version, an unparsable header, object ('|O'),
// big-endian or structured dtypes, or a data length that does not match the header.
arrow::Result<Tensor> ReadNpy(const uint8_t* data, int64_t size, arrow::MemoryPool* pool);

// ReadNpy without the copy: the result's data is a slice of `npy` (the data of a .npy that
// starts at a 64-byte aligned address stays 64-byte aligned). Same errors as ReadNpy.
arrow::Result<Tensor> ReadNpyBuffer(const std::shared_ptr<arrow::Buffer>& npy);

}  // namespace petastorm::internal
