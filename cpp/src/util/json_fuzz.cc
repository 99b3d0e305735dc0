// libFuzzer target: the JSON metadata this library stores, through Json::Parse (with a
// Dump/Parse round trip of what parses) and Unischema::FromJson (the stored schema).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "petastorm/schema.h"
#include "util/json_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = petastorm::internal::Json::Parse(text);
  if (json.ok()) {
    // What the writer dumps, the parser reads back.
    auto again = petastorm::internal::Json::Parse(json->Dump());
    if (!again.ok()) {
      std::fprintf(stderr, "Dump() does not parse back: %s\n", again.status().ToString().c_str());
      std::abort();
    }
  }
  auto schema = petastorm::Unischema::FromJson(text);
  if (schema.ok()) {
    // A schema that was read writes and reads back.
    auto again = petastorm::Unischema::FromJson((*schema)->ToJson());
    if (!again.ok()) {
      std::fprintf(stderr, "ToJson() does not read back: %s\n", again.status().ToString().c_str());
      std::abort();
    }
    (void)(*schema)->ToArrowSchema();
  }
  return 0;
}
