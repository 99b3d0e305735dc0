#include "value_convert.h"

#include <nanobind/stl/string.h>

#include "petastorm/codec.h"
#include "tensor_convert.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

struct PyTypes {
  nb::object ndarray, np_generic, np_bool, np_integer, np_floating, np_datetime64, np_bytes,
      decimal, datetime_date, int64_dtype;
};

const PyTypes& Types() {
  static PyTypes* types = [] {
    nb::module_ np = nb::module_::import_("numpy");
    auto* t = new PyTypes{np.attr("ndarray"),  np.attr("generic"),    np.attr("bool_"),
                          np.attr("integer"),  np.attr("floating"),   np.attr("datetime64"),
                          np.attr("bytes_"),   nb::module_::import_("decimal").attr("Decimal"),
                          nb::module_::import_("datetime").attr("date"), np.attr("int64")};
    return t;
  }();
  return *types;
}

std::string TypeName(nb::handle v) { return nb::str(v.type().attr("__name__")).c_str(); }

// `field` null: a scalar for a comparison, named `what` in errors.
Value Convert(nb::handle v, const Field* field, const std::string& what) {
  const PyTypes& t = Types();
  if (v.is_none()) return std::monostate{};
  const bool tensor_field = field && field->is_tensor();
  if (nb::isinstance(v, t.ndarray)) {
    if (tensor_field) {
      try {
        return TensorFromNumpy(v);
      } catch (nb::builtin_exception& e) {
        throw nb::type_error((what + ": " + e.what()).c_str());
      }
    }
    if (nb::cast<int>(v.attr("ndim")) == 0) return Convert(v.attr("item")(), field, what);
    if (field) {
      throw nb::type_error((what + " is a scalar field of dtype " +
                            std::string(ScalarTypeName(field->dtype)) +
                            " with no codec; got an array of shape " + nb::repr(v.attr("shape")).c_str())
                               .c_str());
    }
    throw nb::type_error((what + ": expected a scalar, got an array of shape " +
                          nb::repr(v.attr("shape")).c_str())
                             .c_str());
  }
  if (PyBool_Check(v.ptr()) || nb::isinstance(v, t.np_bool)) return nb::cast<bool>(nb::bool_(v));
  if (PyLong_Check(v.ptr()) || nb::isinstance(v, t.np_integer)) {
    nb::int_ as_int(v);
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(as_int.ptr(), &overflow);
    if (overflow == 0) return static_cast<int64_t>(value);
    if (overflow > 0) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(as_int.ptr());
      if (!PyErr_Occurred()) return static_cast<uint64_t>(u);
      PyErr_Clear();
    }
    throw nb::value_error((what + ": integer " + nb::str(v).c_str() + " does not fit in 64 bits").c_str());
  }
  if (PyFloat_Check(v.ptr()) || nb::isinstance(v, t.np_floating)) return nb::cast<double>(nb::float_(v));
  if (PyUnicode_Check(v.ptr())) return nb::cast<std::string>(v);
  if (PyBytes_Check(v.ptr()) || PyByteArray_Check(v.ptr())) {
    nb::bytes data = nb::bytes(nb::steal(PyBytes_FromObject(v.ptr())));
    return Bytes{std::string(data.c_str(), data.size())};
  }
  if (nb::isinstance(v, t.decimal)) return DecimalText{nb::str(v).c_str()};
  if (nb::isinstance(v, t.np_datetime64) || nb::isinstance(v, t.datetime_date)) {
    nb::object ns = t.np_datetime64(v, "ns").attr("astype")(t.int64_dtype);
    return DatetimeNs{nb::cast<int64_t>(ns)};
  }
  if (tensor_field) {
    // ValueError, as Petastorm's codecs raise for a value that is not an ndarray.
    throw nb::value_error((what + " (" + field->codec->ToString() + ") expects a numpy array, got " +
                          TypeName(v))
                             .c_str());
  }
  if (field) throw nb::type_error((what + ": cannot store a value of type " + TypeName(v)).c_str());
  throw nb::type_error((what + ": cannot compare a value of type " + TypeName(v)).c_str());
}

}  // namespace

Value ValueFromPython(const Field& field, nb::handle value) {
  return Convert(value, &field, "Field '" + field.name + "'");
}

std::optional<Value> ScalarFromPython(nb::handle value, const std::string& what) {
  if (PyLong_Check(value.ptr()) && !PyBool_Check(value.ptr())) {
    int overflow = 0;
    PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow != 0) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(value.ptr());
      if (!PyErr_Occurred() && overflow > 0) return Value{static_cast<uint64_t>(u)};
      PyErr_Clear();
      // Beyond 64 bits only a float can be equal (10**20 == 1e20).
      const double d = PyLong_AsDouble(value.ptr());
      if (PyErr_Occurred()) {
        PyErr_Clear();
        return std::nullopt;
      }
      nb::object back = nb::steal(PyLong_FromDouble(d));
      if (PyObject_RichCompareBool(back.ptr(), value.ptr(), Py_EQ) == 1) return Value{d};
      return std::nullopt;
    }
  }
  return Convert(value, nullptr, what);
}

std::vector<std::pair<std::string, std::string>> KeyValuesFromPython(nb::handle mapping, const std::string& what) {
  auto text = [&](nb::handle v) -> std::string {
    if (PyBytes_Check(v.ptr())) return std::string(PyBytes_AS_STRING(v.ptr()), PyBytes_GET_SIZE(v.ptr()));
    if (PyUnicode_Check(v.ptr())) return nb::cast<std::string>(v);
    throw nb::type_error((what + ": keys and values must be str or bytes, got " + TypeName(v)).c_str());
  };
  std::vector<std::pair<std::string, std::string>> out;
  if (mapping.is_none()) return out;
  nb::dict items = nb::cast<nb::dict>(mapping);
  for (auto [key, value] : items) out.emplace_back(text(key), text(value));
  return out;
}

}  // namespace petastorm::python
