// petastorm._core: the C++ core seen from Python. Bindings convert; the work is in C++.
#include <nanobind/nanobind.h>

#include "arrow_bridge.h"
#include "numpy_api.h"

namespace nb = nanobind;

namespace petastorm::python {
void BindSchema(nb::module_& m);
void BindCodecs(nb::module_& m);
void BindWriter(nb::module_& m);
void BindReader(nb::module_& m);
void BindPredicates(nb::module_& m);
void BindBatcher(nb::module_& m);
void BindSchemaInference(nb::module_& m);
void BindDecodedRowGroup(nb::module_& m);
void BindNumpyColumns(nb::module_& m);
void BindProcessPool(nb::module_& m);
void BindFileSystem(nb::module_& m);
}  // namespace petastorm::python

NB_MODULE(_core, m) {
  // nanobind's exit-time report of objects still alive is a debugging aid; objects held at exit
  // by another library's globals (TensorFlow's function caches keep user modules, and with them
  // our schemas, alive past shutdown) are not leaks of this module, and users would see the report.
  nb::set_leak_warnings(false);
  // pyarrow must be loaded first: its libarrow is the one this module links against.
  nb::module_::import_("pyarrow");
  using namespace petastorm::python;
  ImportNumpyApi();
  BindArrowBridge(m);
  BindSchema(m);
  BindCodecs(m);
  BindFileSystem(m);
  BindWriter(m);
  BindReader(m);
  BindPredicates(m);
  BindBatcher(m);
  BindSchemaInference(m);
  BindDecodedRowGroup(m);
  BindNumpyColumns(m);
  BindProcessPool(m);
}
