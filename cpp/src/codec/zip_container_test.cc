#include "codec/zip_container_internal.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "util/test_macros_internal.h"

namespace petastorm::internal {
namespace {

const uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::shared_ptr<arrow::Buffer> Zip(const std::vector<std::pair<std::string, std::string>>& members,
                                   ZipMethod method = ZipMethod::kDeflated) {
  std::vector<ZipMemberInput> inputs;
  for (const auto& [name, data] : members) {
    inputs.push_back({name, Bytes(data), static_cast<int64_t>(data.size()), method});
  }
  return WriteZip(inputs, arrow::default_memory_pool()).ValueOrDie();
}

std::string Read(const arrow::Buffer& zip, const std::string& name) {
  auto member = ReadZipMember(zip.data(), zip.size(), name, arrow::default_memory_pool()).ValueOrDie();
  return member->ToString();
}

TEST(ZipContainerTest, RoundTripsStoredAndDeflatedMembers) {
  const std::string text(5000, 'a');
  for (ZipMethod method : {ZipMethod::kStored, ZipMethod::kDeflated}) {
    auto zip = Zip({{"arr.npy", text}, {"other.npy", "xyz"}, {"empty", ""}}, method);
    EXPECT_EQ(std::memcmp(zip->data(), "PK\x03\x04", 4), 0);
    ASSERT_OK_AND_ASSIGN(auto names, ListZipMembers(zip->data(), zip->size()));
    EXPECT_EQ(names, (std::vector<std::string>{"arr.npy", "other.npy", "empty"}));
    EXPECT_EQ(Read(*zip, "arr.npy"), text);
    EXPECT_EQ(Read(*zip, "other.npy"), "xyz");
    EXPECT_EQ(Read(*zip, "empty"), "");
    if (method == ZipMethod::kDeflated) EXPECT_LT(zip->size(), 1000);  // compressed
  }
}

TEST(ZipContainerTest, SameInputSameBytes) {
  auto a = Zip({{"arr.npy", "payload"}});
  auto b = Zip({{"arr.npy", "payload"}});
  EXPECT_TRUE(a->Equals(*b));
}

TEST(ZipContainerTest, LastOfTwoMembersOfOneNameWins) {
  auto zip = Zip({{"arr.npy", "first"}, {"arr.npy", "second"}});
  EXPECT_EQ(Read(*zip, "arr.npy"), "second");
}

TEST(ZipContainerTest, CorruptInputIsInvalidNeverACrash) {
  auto zip = Zip({{"arr.npy", std::string(300, 'q')}});
  const std::string bytes = zip->ToString();
  auto missing = ReadZipMember(zip->data(), zip->size(), "nope.npy", arrow::default_memory_pool());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.npy"), std::string::npos);
  // Every truncation, and a flipped byte at every position, fails cleanly or reads back.
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto truncated = ReadZipMember(Bytes(bytes), static_cast<int64_t>(n), "arr.npy", arrow::default_memory_pool());
    EXPECT_FALSE(truncated.ok()) << n;
  }
  int detected = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    auto read = ReadZipMember(Bytes(flipped), static_cast<int64_t>(flipped.size()), "arr.npy",
                              arrow::default_memory_pool());
    if (!read.ok()) {
      EXPECT_TRUE(read.status().IsInvalid()) << read.status();
      ++detected;
    } else {
      EXPECT_EQ(read.ValueOrDie()->ToString(), std::string(300, 'q')) << i;  // a byte that does not matter
    }
  }
  EXPECT_GT(detected, 0);
}

TEST(ZipContainerTest, WriterRejectsBadNames) {
  std::string data = "x";
  EXPECT_FALSE(WriteZip({{"", Bytes(data), 1, ZipMethod::kStored}}, arrow::default_memory_pool()).ok());
  EXPECT_FALSE(WriteZip({{std::string(70000, 'n'), Bytes(data), 1, ZipMethod::kStored}},
                        arrow::default_memory_pool()).ok());
}

}  // namespace
}  // namespace petastorm::internal
