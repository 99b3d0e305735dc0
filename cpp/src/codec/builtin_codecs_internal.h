// Registration of the built-in codecs; each codec's .cc file provides its factory.
#pragma once

#include <string_view>

#include "petastorm/codec.h"

namespace petastorm::internal {

// Called once by the CodecRegistry constructor.
void RegisterBuiltinCodecs(CodecRegistry* registry);

// Factories from JSON parameters (the output of params_json()).
arrow::Result<std::shared_ptr<const Codec>> MakeImageCodecFromParams(std::string_view params);

}  // namespace petastorm::internal
