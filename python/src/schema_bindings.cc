// Bindings of petastorm/dtype.h and petastorm/schema.h.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrow_bridge.h"
#include "handles.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

Field MakeField(std::string name, std::string dtype, std::vector<std::optional<int64_t>> shape,
                const CodecHandle* codec, bool nullable, nb::handle arrow_type) {
  Field field;
  if (arrow_type.is_valid() && !arrow_type.is_none()) field.arrow_type = TypeFromPyArrow(arrow_type);
  field.name = std::move(name);
  field.dtype = ValueOrThrow(ScalarTypeFromName(dtype));
  field.shape = std::move(shape);
  if (codec) field.codec = codec->codec;
  field.nullable = nullable;
  return field;
}

nb::object CodecOf(const Field& field) {
  if (!field.codec) return nb::none();
  return nb::cast(CodecHandle{field.codec});
}

}  // namespace

void BindSchema(nb::module_& m) {
  m.def("scalar_type_names", []() {
    std::vector<std::string> names;
    for (ScalarType t : AllScalarTypes()) names.emplace_back(ScalarTypeName(t));
    return names;
  }, "The element type names a field may have, as numpy names them (and 'decimal').");

  nb::class_<Field>(m, "Field")
      .def(nb::new_([](std::string name, std::string dtype,
                       std::vector<std::optional<int64_t>> shape, const CodecHandle* codec,
                       bool nullable, nb::handle arrow_type) {
             return MakeField(std::move(name), std::move(dtype), std::move(shape), codec, nullable,
                              arrow_type);
           }),
           nb::arg("name"), nb::arg("dtype"), nb::arg("shape"), nb::arg("codec").none(),
           nb::arg("nullable"), nb::arg("arrow_type").none() = nb::none())
      .def_ro("name", &Field::name)
      .def_prop_ro("dtype", [](const Field& f) { return std::string(ScalarTypeName(f.dtype)); })
      .def_ro("shape", &Field::shape)
      .def_prop_ro("codec", &CodecOf)
      .def_ro("nullable", &Field::nullable)
      .def_prop_ro("arrow_type", [](const Field& f) -> nb::object {
        return f.arrow_type ? TypeToPyArrow(f.arrow_type) : nb::none();
      });

  nb::class_<SchemaHandle>(m, "Unischema")
      .def(nb::new_([](std::string name, std::vector<Field> fields) {
             return SchemaHandle{ValueOrThrow(Unischema::Make(std::move(name), std::move(fields)))};
           }),
           nb::arg("name"), nb::arg("fields"))
      .def_prop_ro("name", [](const SchemaHandle& s) { return s.schema->name(); })
      .def_prop_ro("fields", [](const SchemaHandle& s) { return s.schema->fields(); })
      .def_static("in_memory",
                  [](std::string name, std::vector<Field> fields) {
                    return SchemaHandle{ValueOrThrow(Unischema::MakeInMemory(std::move(name), std::move(fields)))};
                  },
                  nb::arg("name"), nb::arg("fields"),
                  "A schema of values held in memory (a transform's output): fields need no storage.")
      .def("to_json", [](const SchemaHandle& s) { return s.schema->ToJson(); })
      .def_static("from_json", [](const std::string& json) {
        return SchemaHandle{ValueOrThrow(Unischema::FromJson(json))};
      });
}

}  // namespace petastorm::python
