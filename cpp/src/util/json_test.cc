#include "util/json_internal.h"

#include <gtest/gtest.h>

namespace petastorm::internal {
namespace {

TEST(JsonTest, RoundTripsNestedDocument) {
  Json doc(Json::Object{{"name", "a \"quoted\"\n\\ name"},
                        {"n", int64_t{-42}},
                        {"x", 1.5},
                        {"flags", Json::Array{true, false, nullptr}},
                        {"nested", Json::Object{{"k", "v"}}}});
  auto parsed = Json::Parse(doc.Dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Dump(), doc.Dump());
  EXPECT_EQ(*(*parsed->Member("name"))->GetString("name"), "a \"quoted\"\n\\ name");
  EXPECT_EQ(*(*parsed->Member("n"))->GetInt("n"), -42);
  EXPECT_DOUBLE_EQ(*(*parsed->Member("x"))->GetDouble("x"), 1.5);
}

TEST(JsonTest, DecodesUnicodeEscapes) {
  auto parsed = Json::Parse(R"({"s": "caf\u00e9 \ud83d\ude00"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*(*parsed->Member("s"))->GetString("s"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "{\"a\" 1}", "[1,]x", "{\"a\": tru}", "\"unterminated", "[1 2]",
                          "{\"a\": \"\\ud800\"}"}) {
    EXPECT_FALSE(Json::Parse(bad).ok()) << bad;
  }
}

TEST(JsonTest, TypedAccessNamesWhatWasExpected) {
  auto parsed = Json::Parse(R"({"a": "text"})");
  ASSERT_TRUE(parsed.ok());
  auto as_int = (*parsed->Member("a"))->GetInt("a");
  ASSERT_FALSE(as_int.ok());
  EXPECT_NE(as_int.status().message().find("'a'"), std::string::npos);
  EXPECT_FALSE(parsed->Member("missing").ok());
}

}  // namespace
}  // namespace petastorm::internal
