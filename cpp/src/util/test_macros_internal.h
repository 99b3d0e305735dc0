// GoogleTest assertions for arrow::Status and arrow::Result (the wheel ships no arrow_testing).
#pragma once

#include <gtest/gtest.h>

#include <arrow/result.h>
#include <arrow/status.h>

#define PETASTORM_CONCAT_INNER(a, b) a##b
#define PETASTORM_CONCAT(a, b) PETASTORM_CONCAT_INNER(a, b)

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const arrow::Status _st = (expr);                         \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (false)

#define PETASTORM_ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, rexpr)              \
  auto result = (rexpr);                                                     \
  ASSERT_TRUE(result.ok()) << #rexpr << ": " << result.status().ToString(); \
  lhs = std::move(result).ValueUnsafe()

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  PETASTORM_ASSERT_OK_AND_ASSIGN_IMPL(PETASTORM_CONCAT(_result_, __LINE__), lhs, rexpr)
