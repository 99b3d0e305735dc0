#include "codec/zip_container_internal.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "util/crc32_internal.h"

namespace petastorm::internal {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfCentralDirSignature = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDirSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;

constexpr int64_t kLocalHeaderSize = 30;
constexpr int64_t kCentralHeaderSize = 46;
constexpr int64_t kEndOfCentralDirSize = 22;
constexpr int64_t kZip64LocatorSize = 20;
constexpr int64_t kZip64EndOfCentralDirSize = 56;
constexpr int64_t kMaxCommentSize = 0xFFFF;

constexpr uint16_t kVersionNeeded = 20;                 // 2.0: deflate
constexpr uint16_t kVersionMadeBy = (3 << 8) | 20;      // Unix, 2.0
constexpr uint32_t kExternalAttributes = 0100644u << 16;  // regular file, rw-r--r--
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint16_t kDosTimeMidnight = 0;
constexpr uint16_t kFlagEncrypted = 1 << 0;
constexpr uint16_t kFlagUtf8 = 1 << 11;

// A deflate stream expands at most 1032:1 (a 258-byte match per 2 bits); a declared size
// beyond that is corrupt, and must not drive a huge allocation.
constexpr int64_t kMaxDeflateRatio = 1032;

// --- Writing ----------------------------------------------------------------------------------

class ByteWriter {
 public:
  explicit ByteWriter(uint8_t* out) : out_(out) {}
  void U16(uint16_t v) {
    out_[pos_++] = static_cast<uint8_t>(v);
    out_[pos_++] = static_cast<uint8_t>(v >> 8);
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_[pos_++] = static_cast<uint8_t>(v >> (8 * i));
  }
  void Bytes(const void* data, int64_t n) {
    if (n > 0) std::memcpy(out_ + pos_, data, static_cast<size_t>(n));
    pos_ += n;
  }
  uint8_t* cursor() { return out_ + pos_; }
  void Skip(int64_t n) { pos_ += n; }
  void Seek(int64_t pos) { pos_ = pos; }
  int64_t pos() const { return pos_; }

 private:
  uint8_t* out_;
  int64_t pos_ = 0;
};

// Names that are not ASCII are written as UTF-8 and flagged so (Python's zipfile does too).
uint16_t NameFlags(std::string_view name) {
  return std::any_of(name.begin(), name.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 0x7F; })
             ? kFlagUtf8
             : 0;
}

uint32_t Crc32(const uint8_t* data, int64_t size) { return internal::Crc32(0, data, size); }

// Raw-deflates `size` bytes into `out` (room for `capacity` bytes); returns the size written.
arrow::Result<int64_t> Deflate(const uint8_t* data, int64_t size, uint8_t* out, int64_t capacity) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return arrow::Status::OutOfMemory("zlib deflateInit2 failed");
  }
  struct End {
    z_stream* s;
    ~End() { deflateEnd(s); }
  } end{&stream};
  static uint8_t empty = 0;
  constexpr int64_t kChunk = std::numeric_limits<uInt>::max();
  int64_t in_left = size, out_left = capacity;
  stream.next_in = size > 0 ? const_cast<Bytef*>(data) : &empty;
  stream.next_out = out;
  while (true) {
    if (stream.avail_in == 0 && in_left > 0) {
      stream.avail_in = static_cast<uInt>(std::min(in_left, kChunk));
      in_left -= stream.avail_in;
    }
    if (stream.avail_out == 0 && out_left > 0) {
      stream.avail_out = static_cast<uInt>(std::min(out_left, kChunk));
      out_left -= stream.avail_out;
    }
    const int ret = deflate(&stream, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    if (ret == Z_STREAM_END) break;
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return arrow::Status::UnknownError("zlib deflate failed: ",
                                         stream.msg ? stream.msg : "error " + std::to_string(ret));
    }
    if (ret == Z_BUF_ERROR && stream.avail_out == 0 && out_left == 0) {
      return arrow::Status::UnknownError("zlib deflate output exceeds deflateBound");
    }
  }
  return static_cast<int64_t>(stream.total_out);
}

// --- Reading ----------------------------------------------------------------------------------

// Little-endian reads at offsets the caller has bounds-checked with Has().
class ByteReader {
 public:
  ByteReader(const uint8_t* data, int64_t size) : data_(data), size_(size) {}
  int64_t size() const { return size_; }
  // True when [offset, offset + length) lies inside the input.
  bool Has(uint64_t offset, uint64_t length) const {
    const uint64_t size = static_cast<uint64_t>(size_);
    return offset <= size && length <= size - offset;
  }
  uint16_t U16(int64_t at) const { return static_cast<uint16_t>(data_[at] | (data_[at + 1] << 8)); }
  uint32_t U32(int64_t at) const {
    return static_cast<uint32_t>(data_[at]) | (static_cast<uint32_t>(data_[at + 1]) << 8) |
           (static_cast<uint32_t>(data_[at + 2]) << 16) |
           (static_cast<uint32_t>(data_[at + 3]) << 24);
  }
  uint64_t U64(int64_t at) const { return U32(at) | (static_cast<uint64_t>(U32(at + 4)) << 32); }
  const uint8_t* At(int64_t at) const { return data_ + at; }
  std::string_view String(int64_t at, int64_t length) const {
    return {reinterpret_cast<const char*>(data_ + at), static_cast<size_t>(length)};
  }

 private:
  const uint8_t* data_;
  int64_t size_;
};

arrow::Status Corrupt(std::string_view why) {
  return arrow::Status::Invalid("Corrupt or truncated ZIP archive: ", why);
}

struct CentralDirectory {
  int64_t offset = 0;
  int64_t size = 0;
  uint64_t entries = 0;
};

struct MemberInfo {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

// Finds the end of central directory record (and its zip64 form, when there is a locator).
arrow::Result<CentralDirectory> FindCentralDirectory(const ByteReader& in) {
  if (in.size() < kEndOfCentralDirSize) return Corrupt("too short for an end record");
  // The record sits at the end, followed by a comment of at most 64 KiB. Prefer a record whose
  // comment ends exactly at the end of the input; else take the last one that fits.
  const int64_t last = in.size() - kEndOfCentralDirSize;
  const int64_t first = std::max<int64_t>(0, last - kMaxCommentSize);
  std::optional<int64_t> eocd;
  for (int64_t pos = last; pos >= first; --pos) {
    if (in.U32(pos) != kEndOfCentralDirSignature) continue;
    const int64_t end = pos + kEndOfCentralDirSize + in.U16(pos + 20);
    if (end == in.size()) {
      eocd = pos;
      break;
    }
    if (end < in.size() && !eocd) eocd = pos;
  }
  if (!eocd) return Corrupt("no end of central directory record");
  const int64_t pos = *eocd;
  uint32_t disk = in.U16(pos + 4);
  uint32_t cd_disk = in.U16(pos + 6);
  uint64_t entries_on_disk = in.U16(pos + 8);
  uint64_t entries = in.U16(pos + 10);
  uint64_t cd_size = in.U32(pos + 12);
  uint64_t cd_offset = in.U32(pos + 16);

  if (pos >= kZip64LocatorSize && in.U32(pos - kZip64LocatorSize) == kZip64LocatorSignature) {
    const int64_t locator = pos - kZip64LocatorSize;
    const uint64_t record = in.U64(locator + 8);
    if (in.U32(locator + 4) != 0 || in.U32(locator + 16) > 1) {
      return arrow::Status::Invalid("Multi-disk ZIP archives are not supported");
    }
    if (!in.Has(record, kZip64EndOfCentralDirSize) ||
        record + kZip64EndOfCentralDirSize > static_cast<uint64_t>(locator)) {
      return Corrupt("zip64 end of central directory record out of bounds");
    }
    const int64_t at = static_cast<int64_t>(record);
    if (in.U32(at) != kZip64EndOfCentralDirSignature) {
      return Corrupt("bad zip64 end of central directory signature");
    }
    disk = in.U32(at + 16);
    cd_disk = in.U32(at + 20);
    entries_on_disk = in.U64(at + 24);
    entries = in.U64(at + 32);
    cd_size = in.U64(at + 40);
    cd_offset = in.U64(at + 48);
  }
  if (disk != 0 || cd_disk != 0 || entries_on_disk != entries) {
    return arrow::Status::Invalid("Multi-disk ZIP archives are not supported");
  }
  if (!in.Has(cd_offset, cd_size) || cd_offset + cd_size > static_cast<uint64_t>(pos)) {
    return Corrupt("central directory out of bounds");
  }
  return CentralDirectory{static_cast<int64_t>(cd_offset), static_cast<int64_t>(cd_size), entries};
}

// Replaces the 0xFFFFFFFF sizes and offset of a central directory entry by the values of its
// zip64 extra field.
arrow::Status ApplyZip64Extra(const ByteReader& in, int64_t extra, int64_t extra_size,
                              MemberInfo* member) {
  const int64_t end = extra + extra_size;
  int64_t pos = extra;
  while (pos + 4 <= end) {
    const uint16_t id = in.U16(pos);
    const int64_t length = in.U16(pos + 2);
    pos += 4;
    if (pos + length > end) return Corrupt("extra field overruns its entry");
    if (id == kZip64ExtraId) {
      int64_t field = pos;
      auto take = [&](uint64_t* value) -> arrow::Status {
        if (field + 8 > pos + length) return Corrupt("zip64 extra field too short");
        *value = in.U64(field);
        field += 8;
        return arrow::Status::OK();
      };
      if (member->uncompressed_size == 0xFFFFFFFFu) {
        ARROW_RETURN_NOT_OK(take(&member->uncompressed_size));
      }
      if (member->compressed_size == 0xFFFFFFFFu) {
        ARROW_RETURN_NOT_OK(take(&member->compressed_size));
      }
      if (member->local_header_offset == 0xFFFFFFFFu) {
        ARROW_RETURN_NOT_OK(take(&member->local_header_offset));
      }
    }
    pos += length;
  }
  return arrow::Status::OK();
}

// Calls visit(member) for each central directory entry, in order.
template <typename Visit>
arrow::Status ForEachMember(const ByteReader& in, Visit&& visit) {
  ARROW_ASSIGN_OR_RAISE(CentralDirectory cd, FindCentralDirectory(in));
  const int64_t end = cd.offset + cd.size;
  int64_t pos = cd.offset;
  for (uint64_t i = 0; i < cd.entries; ++i) {
    if (pos + kCentralHeaderSize > end) {
      return Corrupt("central directory ends before entry " + std::to_string(i));
    }
    if (in.U32(pos) != kCentralHeaderSignature) {
      return Corrupt("bad central directory signature at entry " + std::to_string(i));
    }
    MemberInfo member;
    member.flags = in.U16(pos + 8);
    member.method = in.U16(pos + 10);
    member.crc32 = in.U32(pos + 16);
    member.compressed_size = in.U32(pos + 20);
    member.uncompressed_size = in.U32(pos + 24);
    const int64_t name_size = in.U16(pos + 28);
    const int64_t extra_size = in.U16(pos + 30);
    const int64_t comment_size = in.U16(pos + 32);
    member.local_header_offset = in.U32(pos + 42);
    const int64_t name = pos + kCentralHeaderSize;
    const int64_t next = name + name_size + extra_size + comment_size;
    if (next > end) return Corrupt("central directory entry " + std::to_string(i) + " overruns");
    member.name = std::string(in.String(name, name_size));
    ARROW_RETURN_NOT_OK(ApplyZip64Extra(in, name + name_size, extra_size, &member));
    ARROW_RETURN_NOT_OK(visit(std::move(member)));
    pos = next;
  }
  return arrow::Status::OK();
}

arrow::Status Inflate(const uint8_t* data, int64_t size, uint8_t* out, int64_t out_size,
                      std::string_view name) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    return arrow::Status::OutOfMemory("zlib inflateInit2 failed");
  }
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&stream};
  static uint8_t empty = 0;
  constexpr int64_t kChunk = std::numeric_limits<uInt>::max();
  int64_t in_left = size, out_left = out_size;
  stream.next_in = size > 0 ? const_cast<Bytef*>(data) : &empty;
  stream.next_out = out_size > 0 ? out : &empty;
  while (true) {
    if (stream.avail_in == 0 && in_left > 0) {
      stream.avail_in = static_cast<uInt>(std::min(in_left, kChunk));
      in_left -= stream.avail_in;
    }
    if (stream.avail_out == 0 && out_left > 0) {
      stream.avail_out = static_cast<uInt>(std::min(out_left, kChunk));
      out_left -= stream.avail_out;
    }
    const int ret = inflate(&stream, Z_NO_FLUSH);
    if (ret == Z_STREAM_END) break;
    if (ret == Z_BUF_ERROR) {
      if (stream.avail_out == 0 && out_left == 0) {
        return Corrupt("member '" + std::string(name) + "' inflates to more than its " +
                       std::to_string(out_size) + " declared bytes");
      }
      return Corrupt("deflate stream of member '" + std::string(name) + "' is truncated");
    }
    if (ret != Z_OK) {
      return Corrupt("bad deflate stream in member '" + std::string(name) +
                     "': " + (stream.msg ? stream.msg : "zlib error " + std::to_string(ret)));
    }
  }
  if (static_cast<int64_t>(stream.total_out) != out_size) {
    return Corrupt("member '" + std::string(name) + "' inflates to " +
                   std::to_string(stream.total_out) + " bytes, " + std::to_string(out_size) +
                   " declared");
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ExtractMember(const ByteReader& in,
                                                            const MemberInfo& member,
                                                            arrow::MemoryPool* pool,
                                                            const ZipSizeCheck& check_size) {
  const std::string& name = member.name;
  if (member.flags & kFlagEncrypted) {
    return arrow::Status::Invalid("ZIP member '", name, "' is encrypted");
  }
  if (member.method != static_cast<uint16_t>(ZipMethod::kStored) &&
      member.method != static_cast<uint16_t>(ZipMethod::kDeflated)) {
    return arrow::Status::Invalid("ZIP member '", name, "' uses compression method ",
                                  member.method,
                                  "; only stored (0) and deflated (8) are supported");
  }
  // The local header: its sizes may be 0 (data descriptor) or 0xFFFFFFFF (zip64), so only its
  // name and extra field lengths are used, to find the data.
  if (!in.Has(member.local_header_offset, kLocalHeaderSize)) {
    return Corrupt("local header of '" + name + "' out of bounds");
  }
  const int64_t header = static_cast<int64_t>(member.local_header_offset);
  if (in.U32(header) != kLocalHeaderSignature) {
    return Corrupt("bad local header signature for '" + name + "'");
  }
  const int64_t name_size = in.U16(header + 26);
  const int64_t extra_size = in.U16(header + 28);
  if (!in.Has(header + kLocalHeaderSize, name_size + extra_size)) {
    return Corrupt("local header of '" + name + "' is truncated");
  }
  if (in.String(header + kLocalHeaderSize, name_size) != name) {
    return Corrupt("file name in the central directory and the local header of '" + name +
                   "' differ");
  }
  const int64_t data = header + kLocalHeaderSize + name_size + extra_size;
  if (!in.Has(data, member.compressed_size)) {
    return Corrupt("data of '" + name + "' is truncated");
  }
  const int64_t compressed = static_cast<int64_t>(member.compressed_size);
  const uint64_t declared = member.uncompressed_size;
  if (member.method == static_cast<uint16_t>(ZipMethod::kStored)) {
    if (declared != member.compressed_size) {
      return Corrupt("stored member '" + name +
                     "' has different compressed and uncompressed sizes");
    }
  } else if (declared > static_cast<uint64_t>(compressed) * kMaxDeflateRatio + 1024) {
    return Corrupt("member '" + name + "' declares " + std::to_string(declared) +
                   " bytes, more than its " + std::to_string(compressed) +
                   " deflated bytes can hold");
  }
  const int64_t out_size = static_cast<int64_t>(declared);
  if (check_size) ARROW_RETURN_NOT_OK(check_size(out_size));
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> out, arrow::AllocateBuffer(out_size, pool));
  if (member.method == static_cast<uint16_t>(ZipMethod::kStored)) {
    if (out_size > 0) std::memcpy(out->mutable_data(), in.At(data), static_cast<size_t>(out_size));
  } else {
    ARROW_RETURN_NOT_OK(Inflate(in.At(data), compressed, out->mutable_data(), out_size, name));
  }
  const uint32_t crc = Crc32(out->data(), out_size);
  if (crc != member.crc32) {
    return Corrupt("CRC-32 mismatch in member '" + name + "'");
  }
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

arrow::Status CheckInput(const uint8_t* data, int64_t size) {
  if (size < 0 || (data == nullptr && size > 0)) {
    return arrow::Status::Invalid("Invalid ZIP input buffer");
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Buffer>> WriteZip(const std::vector<ZipMemberInput>& members,
                                                       arrow::MemoryPool* pool) {
  constexpr int64_t kMax32 = 0xFFFFFFFE;  // 0xFFFFFFFF would mean "see the zip64 field"
  if (members.size() >= 0xFFFF) {
    return arrow::Status::Invalid("Too many ZIP members (", members.size(), ")");
  }
  int64_t capacity = kEndOfCentralDirSize;
  for (const ZipMemberInput& member : members) {
    if (member.name.empty() || member.name.size() > 0xFFFF) {
      return arrow::Status::Invalid("Invalid ZIP member name '", member.name, "'");
    }
    if (member.size < 0 || (member.data == nullptr && member.size > 0) || member.size > kMax32) {
      return arrow::Status::Invalid("ZIP member '", member.name, "' has an invalid size (",
                                    member.size, "); members of 4 GiB or more are not supported");
    }
    const int64_t name_size = static_cast<int64_t>(member.name.size());
    const int64_t data_capacity =
        member.method == ZipMethod::kStored
            ? member.size
            : static_cast<int64_t>(deflateBound(nullptr, static_cast<uLong>(member.size)));
    capacity += kLocalHeaderSize + kCentralHeaderSize + 2 * name_size + data_capacity;
  }
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::ResizableBuffer> out,
                        arrow::AllocateResizableBuffer(capacity, pool));
  ByteWriter writer(out->mutable_data());

  struct Written {
    uint32_t crc;
    int64_t compressed_size;
    int64_t offset;
  };
  std::vector<Written> written;
  for (const ZipMemberInput& member : members) {
    const int64_t offset = writer.pos();
    const uint16_t flags = NameFlags(member.name);
    const uint32_t crc = Crc32(member.data, member.size);
    writer.U32(kLocalHeaderSignature);
    writer.U16(kVersionNeeded);
    writer.U16(flags);
    writer.U16(static_cast<uint16_t>(member.method));
    writer.U16(kDosTimeMidnight);
    writer.U16(kDosDate1980);
    writer.U32(crc);
    const int64_t sizes_at = writer.pos();
    writer.Skip(8);  // compressed and uncompressed sizes, written below
    writer.U16(static_cast<uint16_t>(member.name.size()));
    writer.U16(0);  // extra field length
    writer.Bytes(member.name.data(), static_cast<int64_t>(member.name.size()));
    int64_t compressed_size = member.size;
    if (member.method == ZipMethod::kStored) {
      writer.Bytes(member.data, member.size);
    } else {
      const int64_t room = capacity - writer.pos();
      ARROW_ASSIGN_OR_RAISE(compressed_size,
                            Deflate(member.data, member.size, writer.cursor(), room));
      writer.Skip(compressed_size);
    }
    const int64_t end = writer.pos();
    if (end > kMax32) {
      return arrow::Status::Invalid("ZIP archive would exceed 4 GiB; zip64 is not written");
    }
    writer.Seek(sizes_at);
    writer.U32(static_cast<uint32_t>(compressed_size));
    writer.U32(static_cast<uint32_t>(member.size));
    writer.Seek(end);
    written.push_back({crc, compressed_size, offset});
  }

  const int64_t cd_offset = writer.pos();
  for (size_t i = 0; i < members.size(); ++i) {
    const ZipMemberInput& member = members[i];
    const uint16_t flags = NameFlags(member.name);
    writer.U32(kCentralHeaderSignature);
    writer.U16(kVersionMadeBy);
    writer.U16(kVersionNeeded);
    writer.U16(flags);
    writer.U16(static_cast<uint16_t>(member.method));
    writer.U16(kDosTimeMidnight);
    writer.U16(kDosDate1980);
    writer.U32(written[i].crc);
    writer.U32(static_cast<uint32_t>(written[i].compressed_size));
    writer.U32(static_cast<uint32_t>(member.size));
    writer.U16(static_cast<uint16_t>(member.name.size()));
    writer.U16(0);  // extra field length
    writer.U16(0);  // comment length
    writer.U16(0);  // disk number
    writer.U16(0);  // internal attributes
    writer.U32(kExternalAttributes);
    writer.U32(static_cast<uint32_t>(written[i].offset));
    writer.Bytes(member.name.data(), static_cast<int64_t>(member.name.size()));
  }
  const int64_t cd_size = writer.pos() - cd_offset;
  if (writer.pos() + kEndOfCentralDirSize > kMax32) {
    return arrow::Status::Invalid("ZIP archive would exceed 4 GiB; zip64 is not written");
  }
  writer.U32(kEndOfCentralDirSignature);
  writer.U16(0);  // this disk
  writer.U16(0);  // disk with the central directory
  writer.U16(static_cast<uint16_t>(members.size()));
  writer.U16(static_cast<uint16_t>(members.size()));
  writer.U32(static_cast<uint32_t>(cd_size));
  writer.U32(static_cast<uint32_t>(cd_offset));
  writer.U16(0);  // comment length
  ARROW_RETURN_NOT_OK(out->Resize(writer.pos(), /*shrink_to_fit=*/true));
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

arrow::Result<std::vector<std::string>> ListZipMembers(const uint8_t* data, int64_t size) {
  ARROW_RETURN_NOT_OK(CheckInput(data, size));
  const ByteReader in(data, size);
  std::vector<std::string> names;
  ARROW_RETURN_NOT_OK(ForEachMember(in, [&](MemberInfo member) {
    names.push_back(std::move(member.name));
    return arrow::Status::OK();
  }));
  return names;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadZipMember(const uint8_t* data, int64_t size,
                                                            std::string_view name,
                                                            arrow::MemoryPool* pool,
                                                            const ZipSizeCheck& check_size) {
  ARROW_RETURN_NOT_OK(CheckInput(data, size));
  const ByteReader in(data, size);
  std::optional<MemberInfo> found;
  std::string others;
  int listed = 0;
  ARROW_RETURN_NOT_OK(ForEachMember(in, [&](MemberInfo member) {
    if (member.name == name) {
      found = std::move(member);
    } else if (listed < 10) {
      others += (listed++ ? ", '" : "'") + member.name + "'";
    }
    return arrow::Status::OK();
  }));
  if (!found) {
    return arrow::Status::Invalid("ZIP archive has no member '", name, "' (members: ",
                                  others.empty() ? "none" : others, ")");
  }
  return ExtractMember(in, *found, pool, check_size);
}

}  // namespace petastorm::internal
