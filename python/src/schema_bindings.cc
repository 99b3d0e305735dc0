// Bindings of petastorm/dtype.h and petastorm/schema.h.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "handles.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

Field MakeField(std::string name, std::string dtype, std::vector<std::optional<int64_t>> shape,
                const CodecHandle* codec, bool nullable) {
  Field field;
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
                       bool nullable) {
             return MakeField(std::move(name), std::move(dtype), std::move(shape), codec, nullable);
           }),
           nb::arg("name"), nb::arg("dtype"), nb::arg("shape"), nb::arg("codec").none(),
           nb::arg("nullable"))
      .def_ro("name", &Field::name)
      .def_prop_ro("dtype", [](const Field& f) { return std::string(ScalarTypeName(f.dtype)); })
      .def_ro("shape", &Field::shape)
      .def_prop_ro("codec", &CodecOf)
      .def_ro("nullable", &Field::nullable);

  nb::class_<SchemaHandle>(m, "Unischema")
      .def(nb::new_([](std::string name, std::vector<Field> fields) {
             return SchemaHandle{ValueOrThrow(Unischema::Make(std::move(name), std::move(fields)))};
           }),
           nb::arg("name"), nb::arg("fields"))
      .def_prop_ro("name", [](const SchemaHandle& s) { return s.schema->name(); })
      .def_prop_ro("fields", [](const SchemaHandle& s) { return s.schema->fields(); })
      .def("to_json", [](const SchemaHandle& s) { return s.schema->ToJson(); })
      .def_static("from_json", [](const std::string& json) {
        return SchemaHandle{ValueOrThrow(Unischema::FromJson(json))};
      });
}

}  // namespace petastorm::python
