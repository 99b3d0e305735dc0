// A minimal ZIP writer and reader for the npz container of numpy.savez_compressed.
//
// The writer makes plain (non-zip64) archives with a fixed timestamp (1980-01-01 00:00), so
// equal inputs give equal bytes. The reader takes what Python's zipfile writes for numpy:
// zip64 extra fields and end-of-central-directory records, data descriptors (general purpose
// flag bit 3), stored and deflated members. Sizes, CRC-32 and method come from the central
// directory. Every offset read from the input is bounds-checked; corrupt or truncated input
// gives Status::Invalid. Encrypted members and multi-disk archives are rejected.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>

namespace petastorm::internal {

enum class ZipMethod : uint16_t { kStored = 0, kDeflated = 8 };

// One member to write. `data` must stay valid during WriteZip.
struct ZipMemberInput {
  std::string name;
  const uint8_t* data = nullptr;
  int64_t size = 0;
  ZipMethod method = ZipMethod::kDeflated;
};

// Writes a ZIP archive of `members` in order (deflated members at zlib's default level).
// Errors: Invalid when a name is empty or longer than 65535 bytes, there are more than 65535
// members, or the archive would need zip64 (a member or the archive of 4 GiB or more).
arrow::Result<std::shared_ptr<arrow::Buffer>> WriteZip(const std::vector<ZipMemberInput>& members,
                                                       arrow::MemoryPool* pool);

// The names of the members, in central directory order.
// Errors: Invalid when the input is not a readable ZIP archive.
arrow::Result<std::vector<std::string>> ListZipMembers(const uint8_t* data, int64_t size);

// The uncompressed contents of the member called `name` (the last one, when the name occurs
// twice, as Python's zipfile does), in a buffer from `pool`; `data` is not retained.
// Errors: Invalid when the input is not a readable ZIP archive, has no member `name` (the
// message names it), uses an unsupported method or encryption, or fails the CRC-32 check;
// or the error of `check_size` (when given), called with the member's declared uncompressed
// size before anything is allocated, so a caller bounds what a small archive may inflate to.
using ZipSizeCheck = std::function<arrow::Status(int64_t uncompressed_size)>;
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadZipMember(const uint8_t* data, int64_t size,
                                                            std::string_view name,
                                                            arrow::MemoryPool* pool,
                                                            const ZipSizeCheck& check_size = {});

}  // namespace petastorm::internal
