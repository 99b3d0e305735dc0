#include "petastorm/tensor.h"

#include <gtest/gtest.h>

namespace petastorm {
namespace {

TEST(ElementTypeTest, TypeStringsRoundTrip) {
  for (const char* descr : {"|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2",
                            "<f4", "<f8", "<c8", "<c16", "|S5", "<U3", "<M8[ns]", "<M8[D]", "|S0"}) {
    auto element = ElementType::FromTypeString(descr);
    ASSERT_TRUE(element.ok()) << descr << ": " << element.status();
    EXPECT_EQ(element->TypeString(), descr);
  }
  EXPECT_EQ(ElementType::FromTypeString("<U3")->itemsize, 12);
  EXPECT_EQ(ElementType::FromTypeString("<U3")->type, ScalarType::kString);
}

TEST(ElementTypeTest, RejectsUnsupportedTypeStrings) {
  for (const char* descr : {">i4", "|O", "<V8", "<i3", "<f16", "", "<M8", "xi4"}) {
    EXPECT_FALSE(ElementType::FromTypeString(descr).ok()) << descr;
  }
}

TEST(TensorTest, ValidateChecksBufferSize) {
  auto tensor = Tensor::Allocate(ElementType::Of(ScalarType::kInt32), {2, 3});
  ASSERT_TRUE(tensor.ok());
  EXPECT_EQ(tensor->nbytes(), 24);
  EXPECT_TRUE(tensor->Validate().ok());
  tensor->shape = {2, 4};
  EXPECT_FALSE(tensor->Validate().ok());
  EXPECT_EQ(ShapeToString({2, 4}), "(2, 4)");
  EXPECT_EQ(ShapeToString({5}), "(5,)");
  EXPECT_EQ(ShapeToString({}), "()");
}

}  // namespace
}  // namespace petastorm
