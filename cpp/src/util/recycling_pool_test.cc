#include "util/recycling_pool_internal.h"

#include <cstring>
#include <vector>

#include <arrow/buffer.h>
#include <gtest/gtest.h>

#include "util/test_macros_internal.h"

namespace petastorm::internal {
namespace {

TEST(RecyclingMemoryPoolTest, ReusesFreedLargeBlocksForSimilarSizes) {
  RecyclingMemoryPool pool;
  uint8_t* first = nullptr;
  ASSERT_OK(pool.Allocate(3 << 20, 64, &first));
  std::memset(first, 7, 3 << 20);
  EXPECT_EQ(pool.bytes_allocated(), 3 << 20);
  pool.Free(first, 3 << 20, 64);
  EXPECT_EQ(pool.bytes_allocated(), 0);
  EXPECT_EQ(pool.cached_bytes(), 3 << 20);

  uint8_t* again = nullptr;  // a little smaller: the same block
  ASSERT_OK(pool.Allocate((3 << 20) - 1000, 64, &again));
  EXPECT_EQ(again, first);
  EXPECT_EQ(pool.cached_bytes(), 0);
  uint8_t* other = nullptr;  // no cached block: a new one
  ASSERT_OK(pool.Allocate(2 << 20, 64, &other));
  EXPECT_NE(other, first);
  pool.Free(again, (3 << 20) - 1000, 64);
  uint8_t* small = nullptr;  // less than half of the cached block: not given it
  ASSERT_OK(pool.Allocate(1 << 20, 64, &small));
  EXPECT_NE(small, first);
  pool.Free(small, 1 << 20, 64);
  pool.Free(other, 2 << 20, 64);
  EXPECT_EQ(pool.bytes_allocated(), 0);
  pool.ReleaseUnused();
  EXPECT_EQ(pool.cached_bytes(), 0);
}

TEST(RecyclingMemoryPoolTest, SmallAndOverAlignedAllocationsGoToTheBasePool) {
  RecyclingMemoryPool pool;
  uint8_t* small = nullptr;
  ASSERT_OK(pool.Allocate(1000, 64, &small));
  pool.Free(small, 1000, 64);
  uint8_t* aligned = nullptr;
  ASSERT_OK(pool.Allocate(4 << 20, 4096, &aligned));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(aligned) % 4096, 0u);
  pool.Free(aligned, 4 << 20, 4096);
  EXPECT_EQ(pool.cached_bytes(), 0);
  EXPECT_EQ(pool.bytes_allocated(), 0);
}

TEST(RecyclingMemoryPoolTest, KeepsAtMostItsCapAndReallocatesInPlace) {
  RecyclingMemoryPool pool;
  std::vector<uint8_t*> blocks(5);
  for (auto& block : blocks) ASSERT_OK(pool.Allocate(40 << 20, 64, &block));
  for (auto* block : blocks) pool.Free(block, 40 << 20, 64);
  EXPECT_EQ(pool.cached_bytes(), 40 << 20);  // one of 40 MiB fits in 64 MiB
  EXPECT_LE(pool.cached_bytes(), RecyclingMemoryPool::kMaxCachedBytes);

  // 2.5 MiB takes a 3 MiB block: growing within it stays in place; beyond, it moves, keeping
  // the contents.
  auto buffer = arrow::AllocateResizableBuffer(5 << 19, &pool).ValueOrDie();
  std::memset(buffer->mutable_data(), 3, 5 << 19);
  const uint8_t* before = buffer->data();
  ASSERT_OK(buffer->Resize(3 << 20));
  EXPECT_EQ(buffer->data(), before);
  ASSERT_OK(buffer->Resize(5 << 20));
  EXPECT_EQ(buffer->data()[(5 << 19) - 1], 3);
  EXPECT_EQ(buffer->data()[0], 3);
}

}  // namespace
}  // namespace petastorm::internal
