// Bindings of petastorm/predicate.h (placeholder until written).
#include <nanobind/nanobind.h>

namespace nb = nanobind;

namespace petastorm::python {
void BindPredicates(nb::module_& m) {}
}  // namespace petastorm::python
