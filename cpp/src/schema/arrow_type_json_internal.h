// JSON form of the Arrow types a ScalarCodec may store: {"id": "int32"},
// {"id": "decimal128", "precision": 10, "scale": 9}, {"id": "timestamp", "unit": "us", "tz": "UTC"}.
#pragma once

#include <memory>

#include <arrow/result.h>
#include <arrow/type_fwd.h>
#include <arrow/type.h>

#include "util/json_internal.h"

namespace petastorm::internal {

// Invalid for types outside the supported set (nested types, dictionaries, ...).
arrow::Result<Json> ArrowTypeToJson(const arrow::DataType& type);
arrow::Result<std::shared_ptr<arrow::DataType>> ArrowTypeFromJson(const Json& json);

// "s", "ms", "us", "ns": Arrow's time unit as numpy (and this JSON) name it.
const char* TimeUnitName(arrow::TimeUnit::type unit);

}  // namespace petastorm::internal
