#include "arrow_bridge.h"

#include <nanobind/stl/string.h>

#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/memory_pool.h>
#include <arrow/config.h>
#include <arrow/record_batch.h>

#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

// Capsule destructors: release a struct nobody imported, then free it.
void ReleaseSchemaCapsule(PyObject* capsule) {
  auto* schema = static_cast<ArrowSchema*>(PyCapsule_GetPointer(capsule, "arrow_schema"));
  if (schema && schema->release) schema->release(schema);
  delete schema;
}

void ReleaseArrayCapsule(PyObject* capsule) {
  auto* array = static_cast<ArrowArray*>(PyCapsule_GetPointer(capsule, "arrow_array"));
  if (array && array->release) array->release(array);
  delete array;
}

void ReleaseStreamCapsule(PyObject* capsule) {
  auto* stream = static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule, "arrow_array_stream"));
  if (stream && stream->release) stream->release(stream);
  delete stream;
}

nb::object Pyarrow() { return nb::module_::import_("pyarrow"); }

template <typename T>
T* CapsulePointer(nb::handle capsule, const char* name) {
  auto* ptr = static_cast<T*>(PyCapsule_GetPointer(capsule.ptr(), name));
  if (!ptr) throw nb::python_error();
  return ptr;
}

// A buffer from the default pool, to show that pyarrow counts our allocations: one libarrow.
struct PoolProbe {
  std::shared_ptr<arrow::Buffer> buffer;
};

}  // namespace

nb::object TypeToPyArrow(const std::shared_ptr<arrow::DataType>& type) {
  auto* schema = new ArrowSchema();
  auto status = arrow::ExportType(*type, schema);
  if (!status.ok()) {
    delete schema;
    ThrowIfError(status);
  }
  nb::object capsule = nb::steal(PyCapsule_New(schema, "arrow_schema", ReleaseSchemaCapsule));
  return Pyarrow().attr("DataType").attr("_import_from_c_capsule")(capsule);
}

nb::object SchemaToPyArrow(const std::shared_ptr<arrow::Schema>& arrow_schema) {
  auto* schema = new ArrowSchema();
  auto status = arrow::ExportSchema(*arrow_schema, schema);
  if (!status.ok()) {
    delete schema;
    ThrowIfError(status);
  }
  nb::object capsule = nb::steal(PyCapsule_New(schema, "arrow_schema", ReleaseSchemaCapsule));
  return Pyarrow().attr("Schema").attr("_import_from_c_capsule")(capsule);
}

std::shared_ptr<arrow::DataType> TypeFromPyArrow(nb::handle obj) {
  if (!nb::hasattr(obj, "__arrow_c_schema__")) {
    throw nb::type_error("expected a pyarrow.DataType (an object with __arrow_c_schema__)");
  }
  nb::object capsule = obj.attr("__arrow_c_schema__")();
  auto* schema = CapsulePointer<ArrowSchema>(capsule, "arrow_schema");
  return ValueOrThrow(arrow::ImportType(schema));
}

nb::object ArrayToPyArrow(const std::shared_ptr<arrow::Array>& array) {
  auto* c_array = new ArrowArray();
  auto* c_schema = new ArrowSchema();
  auto status = arrow::ExportArray(*array, c_array, c_schema);
  if (!status.ok()) {
    delete c_array;
    delete c_schema;
    ThrowIfError(status);
  }
  nb::object schema_capsule = nb::steal(PyCapsule_New(c_schema, "arrow_schema", ReleaseSchemaCapsule));
  nb::object array_capsule = nb::steal(PyCapsule_New(c_array, "arrow_array", ReleaseArrayCapsule));
  return Pyarrow().attr("Array").attr("_import_from_c_capsule")(schema_capsule, array_capsule);
}

std::shared_ptr<arrow::Array> ArrayFromPyArrow(nb::handle obj) {
  if (!nb::hasattr(obj, "__arrow_c_array__")) {
    throw nb::type_error("expected a pyarrow.Array (an object with __arrow_c_array__)");
  }
  nb::tuple capsules = nb::cast<nb::tuple>(obj.attr("__arrow_c_array__")());
  auto* schema = CapsulePointer<ArrowSchema>(capsules[0], "arrow_schema");
  auto* array = CapsulePointer<ArrowArray>(capsules[1], "arrow_array");
  return ValueOrThrow(arrow::ImportArray(array, schema));
}

std::shared_ptr<arrow::Table> TableFromPyArrow(nb::handle obj) {
  if (!nb::hasattr(obj, "__arrow_c_stream__")) {
    throw nb::type_error("expected a pyarrow.Table (an object with __arrow_c_stream__)");
  }
  nb::object capsule = obj.attr("__arrow_c_stream__")();
  auto* stream = CapsulePointer<ArrowArrayStream>(capsule, "arrow_array_stream");
  auto reader = ValueOrThrow(arrow::ImportRecordBatchReader(stream));
  nb::gil_scoped_release release;
  return ValueOrThrow(reader->ToTable());
}

nb::object TableToPyArrow(const std::shared_ptr<arrow::Table>& table) {
  auto reader = std::make_shared<arrow::TableBatchReader>(table);
  auto* stream = new ArrowArrayStream();
  auto status = arrow::ExportRecordBatchReader(reader, stream);
  if (!status.ok()) {
    delete stream;
    ThrowIfError(status);
  }
  nb::object capsule = nb::steal(PyCapsule_New(stream, "arrow_array_stream", ReleaseStreamCapsule));
  return Pyarrow()
      .attr("RecordBatchReader")
      .attr("_import_from_c_capsule")(capsule)
      .attr("read_all")();
}

void BindArrowBridge(nb::module_& m) {
  m.def("_roundtrip_table",
        [](nb::handle table) { return TableToPyArrow(TableFromPyArrow(table)); },
        "Hands a table to the C++ core and back through the Arrow C stream interface "
        "(no copy). For tests.");
  nb::class_<PoolProbe>(m, "_PoolProbe").def_prop_ro("size", [](const PoolProbe& p) {
    return p.buffer->size();
  });
  m.def(
      "_allocate_from_default_pool",
      [](int64_t size) {
        auto buffer = ValueOrThrow(arrow::AllocateBuffer(size, arrow::default_memory_pool()));
        return PoolProbe{std::shared_ptr<arrow::Buffer>(std::move(buffer))};
      },
      "Allocates `size` bytes from Arrow's default memory pool. For tests.");
  m.def("_arrow_version", []() { return std::string(arrow::GetBuildInfo().version_string); });
}

}  // namespace petastorm::python
