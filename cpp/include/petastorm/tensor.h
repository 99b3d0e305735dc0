// Tensor: a dense n-dimensional array of one element type over an arrow::Buffer.
//
// Ownership: the Tensor shares its buffer (shared_ptr); copying a Tensor copies no data.
// Thread safety: a const Tensor may be read from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>

#include "petastorm/dtype.h"

namespace petastorm {

// The element type of a tensor: a ScalarType plus what numpy's dtype adds to it.
struct ElementType {
  ScalarType type = ScalarType::kUInt8;
  // Bytes per element. Equal to FixedItemSize(type) for fixed-size types; n for 'S<n>' and
  // 4*n for 'U<n>'. May be 0 for an empty string/bytes dtype ('S0', 'U0').
  int64_t itemsize = 1;
  // numpy datetime64 unit ("ns", "us", "D", ...); empty for every other type.
  std::string datetime_unit;

  // The address alignment numpy gives this type (1 for bytes, 4 for UCS4 strings, the
  // component size for complex, else the item size; at most 8).
  int64_t alignment() const;
  // numpy's array-protocol type string: "|u1", "<i4", "<f8", "|S5", "<U3", "<M8[ns]".
  std::string TypeString() const;
  // Parses a numpy type string (byte order '<', '|' or '=' only; big-endian is rejected).
  static arrow::Result<ElementType> FromTypeString(std::string_view descr);
  // The element type of a fixed-size ScalarType (itemsize from FixedItemSize).
  static ElementType Of(ScalarType type);

  bool operator==(const ElementType&) const = default;
};

struct Tensor {
  ElementType element;
  std::vector<int64_t> shape;
  // Column-major layout (numpy's fortran_order) instead of row-major.
  bool fortran_order = false;
  std::shared_ptr<arrow::Buffer> data;

  int64_t num_elements() const;
  int64_t nbytes() const { return num_elements() * element.itemsize; }

  // Checks that `data` holds exactly nbytes() bytes and no dimension is negative.
  arrow::Status Validate() const;

  // Allocates an uninitialized row-major tensor from `pool`.
  static arrow::Result<Tensor> Allocate(ElementType element, std::vector<int64_t> shape,
                                        arrow::MemoryPool* pool = arrow::default_memory_pool());
};

// "(2, 3)" as numpy prints a shape; "()" for a scalar.
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace petastorm
