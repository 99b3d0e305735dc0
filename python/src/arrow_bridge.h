// Arrow data across the Python boundary through the Arrow C data interface (PyCapsules):
// zero-copy, and the same libarrow on both sides. All functions need the GIL.
#pragma once

#include <memory>

#include <arrow/array.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <nanobind/nanobind.h>

namespace petastorm::python {

// A pyarrow.DataType for `type`.
nanobind::object TypeToPyArrow(const std::shared_ptr<arrow::DataType>& type);
// A pyarrow.Schema for `schema`.
nanobind::object SchemaToPyArrow(const std::shared_ptr<arrow::Schema>& schema);
// The Arrow type of any object with __arrow_c_schema__ (pyarrow.DataType, Field, ...).
std::shared_ptr<arrow::DataType> TypeFromPyArrow(nanobind::handle obj);
// A pyarrow.Array sharing `array`'s buffers.
nanobind::object ArrayToPyArrow(const std::shared_ptr<arrow::Array>& array);
// The Array of any object with __arrow_c_array__ (pyarrow.Array, ...), sharing its buffers.
std::shared_ptr<arrow::Array> ArrayFromPyArrow(nanobind::handle obj);
// A Table from any object with __arrow_c_stream__ (pyarrow.Table, RecordBatchReader, ...).
std::shared_ptr<arrow::Table> TableFromPyArrow(nanobind::handle obj);
// A pyarrow.Table sharing `table`'s buffers.
nanobind::object TableToPyArrow(const std::shared_ptr<arrow::Table>& table);

void BindArrowBridge(nanobind::module_& m);

}  // namespace petastorm::python
