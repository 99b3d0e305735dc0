# Two commands on a fresh Debian 12 machine, as root:
#   make demo   installs what is missing, builds, runs the hello-world job
#   make test   installs what is missing, builds, runs every C++ and Python test
# Both are idempotent: a second run with nothing changed only re-runs the job or the tests.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
BUILD_DIR := build/py
DEBS := g++ make pkg-config libturbojpeg0-dev libspng-dev libgtest-dev zlib1g-dev
SOURCES := $(shell find cpp python examples/cpp benchmarks -type f \( -name '*.cc' -o -name '*.h' -o -name '*.py' -o -name 'CMakeLists.txt' \) 2>/dev/null) CMakeLists.txt pyproject.toml

.PHONY: demo test build setup cpp-test py-test clean fuzz test-asan test-tsan wheel

demo: build
	$(VPY) examples/hello_world/hello_world.py --output-url file://$(CURDIR)/build/hello_world_dataset

test: build
	$(VENV)/bin/ctest --test-dir $(BUILD_DIR) --output-on-failure -j2
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VPY) -m pytest -q tests

setup: build/.debs-stamp $(VENV)/.stamp

build: build/.install-stamp

# Debian packages: installed only when one is missing.
build/.debs-stamp: Makefile
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import sysconfig, os, venv; assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null \
	  || missing="$$missing python3-dev python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p build && touch $@

$(VENV)/.stamp: requirements-dev.txt build/.debs-stamp
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The extension, the C++ library and the C++ tests come from one CMake tree (build/py),
# built incrementally by scikit-build-core and installed into .venv.
build/.install-stamp: $(VENV)/.stamp $(SOURCES)
	flock build/.build-lock $(VPY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
	  -C build-dir=$(BUILD_DIR) -C cmake.define.PETASTORM_BUILD_TESTS=ON -C build.verbose=false .
	touch $@

clean:
	rm -rf build

# --- make docs: the documentation site (docs/conf.py), into build/docs ---------------------------
# Sphinx + MyST over docs/*.md and the README; the API reference is autodoc of the installed
# package (hence `build`). Warnings are errors. tests/test_docs_site.py runs the same build.
.PHONY: docs
docs: build
	$(VPY) -m sphinx -W --keep-going -q -b html docs build/docs

# --- make wheel: a manylinux wheel in dist/ -----------------------------------------------------
# Release, no tests, built in build/wheel (incremental on a second run), then repaired by auditwheel:
# libturbojpeg and libspng are copied into petastorm.libs/ (zlib is not: manylinux allows the
# system's); pyarrow's libarrow*/libparquet* are not (the extension finds them in site-packages/pyarrow:
# its RPATH $$ORIGIN/../pyarrow, and `import petastorm` imports pyarrow first).
WHEEL_BUILD_DIR ?= build/wheel
$(VENV)/.wheel-stamp: requirements-wheel.txt $(VENV)/.stamp
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements-wheel.txt
	touch $@

wheel: $(VENV)/.wheel-stamp
	rm -rf $(WHEEL_BUILD_DIR)/unrepaired && mkdir -p dist
	flock build/.build-lock $(VPY) -m pip wheel -q --disable-pip-version-check --no-build-isolation --no-deps \
	  -C build-dir=$(WHEEL_BUILD_DIR) -C cmake.build-type=Release -C cmake.define.PETASTORM_BUILD_TESTS=OFF \
	  -w $(WHEEL_BUILD_DIR)/unrepaired .
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/auditwheel repair -w dist \
	  --exclude 'libarrow*.so.*' --exclude 'libparquet*.so.*' $(WHEEL_BUILD_DIR)/unrepaired/petastorm-*.whl
	@ls -l dist/petastorm-*manylinux*.whl


# --- make bench: this project against Petastorm 0.13.1 and the raw limits (benchmarks/) ----------
# Writes docs/benchmarks.md, docs/benchmarks/*.png and the raw docs/benchmarks/results.json. Datasets
# (and the peers' converted copies) are cached in .bench-data/; the reference environment .venv-ref
# (Petastorm 0.13.1 from PyPI, matplotlib), the peers' environments and the C++ decode loop (built with
# the C++ tests, build/py/benchmarks) are made once. Options: make bench BENCH_ARGS='--workloads W1,W2 --runs 3'.
# A loaded machine: make bench BENCH_ARGS='--load 2' (2 spinning processes) or '--load-threads 8' (one
# process of 8 bursty threads) writes docs/benchmarks-load.md against the last quiet run's results.json.
VENV_REF := .venv-ref
BENCH_ARGS ?=

# The peers (benchmarks/peers.py) each have a pinned environment of their own, made like .venv-ref:
# .venv-hf (Hugging Face datasets) and .venv-lance (pylance). A peer whose environment fails to
# install is reported "not run" with the reason (the bench goes on: the stamp's failure is ignored).
VENV_HF := .venv-hf
VENV_LANCE := .venv-lance
# Ray Data (.venv-ray) only with BENCH_ARGS='--with-ray': its start-up takes ~9 s and ~3 GB.
VENV_RAY := .venv-ray
PEER_STAMPS := $(VENV_HF)/.stamp $(VENV_LANCE)/.stamp

.PHONY: bench bench-peers
bench: build $(VENV_REF)/.stamp
	-@$(MAKE) --no-print-directory bench-peers $(if $(findstring --with-ray,$(BENCH_ARGS)),$(VENV_RAY)/.stamp)
	$(VPY) benchmarks/run.py --decode-loop $(BUILD_DIR)/benchmarks/decode_loop $(BENCH_ARGS)

bench-peers: $(PEER_STAMPS)

# One pip call with --no-deps: every package is pinned in the file; pip check proves the pins complete.
.venv-%/.stamp: benchmarks/requirements-peer-%.txt build/.debs-stamp
	test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --disable-pip-version-check --no-deps -r $<
	.venv-$*/bin/python -m pip check
	touch $@

# requirements-ref.txt pins every package (installed as is, --no-deps). petastorm 0.13.1 declares
# setuptools<70, which torch's setuptools>=77 contradicts; petastorm never imports setuptools, so
# torch (then TensorFlow) comes in a second (third) pip call, with its dependencies, and pip's
# warning about it is dropped.
$(VENV_REF)/.stamp: benchmarks/requirements-ref.txt benchmarks/requirements-ref-torch.txt benchmarks/requirements-ref-tf.txt build/.debs-stamp
	test -x $(VENV_REF)/bin/python || $(PYTHON) -m venv $(VENV_REF)
	$(VENV_REF)/bin/python -m pip install -q --disable-pip-version-check --no-deps -r benchmarks/requirements-ref.txt
	$(VENV_REF)/bin/python -m pip install -q --disable-pip-version-check -r benchmarks/requirements-ref-torch.txt 2>&1 \
	  | grep -v -e 'requires setuptools<70' -e 'dependency resolver does not currently' || true
	$(VENV_REF)/bin/python -m pip install -q --disable-pip-version-check -r benchmarks/requirements-ref-tf.txt 2>&1 \
	  | grep -v -e 'requires setuptools<70' -e 'dependency resolver does not currently' || true
	TF_CPP_MIN_LOG_LEVEL=2 $(VENV_REF)/bin/python -c 'from petastorm import make_reader, make_batch_reader; import petastorm.pytorch, petastorm.tf_utils, cv2, matplotlib'
	touch $@

# --- make fuzz, make test-asan, make test-tsan: clang builds of their own (docs/testing.md) ------
# Not part of make test. clang comes from its own Debian-package stamp, so make test never needs it.
# Each build folder is configured directly with CMake (no pip), against the .venv's pyarrow.
CLANG_DEBS := clang libclang-rt-14-dev
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= npy_format npz_container png_decode jpeg_decode json_metadata cache_entry parquet_file
SAN_CMAKE = $(VENV)/bin/cmake -G Ninja -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(VENV)/bin/ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE=$(CURDIR)/$(VPY)
SAN_BUILD = nice -n 10 $(VENV)/bin/cmake --build
# Arrow's buffers from malloc, where the sanitizers see them (not from the wheel's mimalloc).
SAN_ENV = ARROW_DEFAULT_MEMORY_POOL=system
ASAN_RUNTIME = $$(clang++ -print-resource-dir)/lib/linux/libclang_rt.asan-x86_64.so
# The Python suite under ASan: Python and the wheels are not instrumented, so leak checking is off
# (CPython and numpy keep memory to exit by design); any other report fails the run.
# The interpreter is build/asan/venv: a venv whose site-packages holds the package's Python files
# and the ASan-built _core, then (through a .pth) the packages of .venv; its bin/ has the package's
# console scripts (the tests run them beside sys.executable). Not PYTHONPATH, which the
# tests' subprocesses of the reference Petastorm (.venv-ref) would inherit.
ASAN_VENV := build/asan/venv
ASAN_PY_ENV = $(SAN_ENV) LD_PRELOAD=$(ASAN_RUNTIME) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PATH=$(CURDIR)/$(ASAN_VENV)/bin:$(CURDIR)/$(VENV)/bin:$$PATH
# tests/test_petastorm_compat.py is left out: it runs the reference Petastorm's Spark jobs in
# .venv-ref, whose spark-class calls ps, and ps deadlocks at start with the ASan runtime preloaded
# (LD_PRELOAD reaches every subprocess). What it checks of ours runs in make test.
ASAN_PYTEST_ARGS ?= tests --ignore=tests/test_petastorm_compat.py

build/.clang-stamp: Makefile build/.debs-stamp
	@missing=""; for p in $(CLANG_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

# libFuzzer targets (ASan + UBSan), seeds from cpp/fuzz/make_corpus.py, FUZZ_SECONDS each, in turn.
fuzz: build/.clang-stamp $(VENV)/.stamp
	$(SAN_CMAKE) -S . -B build/fuzz -DPETASTORM_BUILD_PYTHON=OFF -DPETASTORM_BUILD_FUZZERS=ON >/dev/null
	$(SAN_BUILD) build/fuzz -j2
	$(VPY) cpp/fuzz/make_corpus.py build/fuzz/corpus
	cpp/fuzz/run_fuzzers.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The C++ tests and the Python tests under ASan + UBSan. `import petastorm` finds build/asan/site
# first: the package's Python files and the ASan-built _core.
test-asan: build/.clang-stamp $(VENV)/.stamp
	$(SAN_CMAKE) -S . -B build/asan -DPETASTORM_SANITIZE='address;undefined' -DPETASTORM_BUILD_TESTS=ON >/dev/null
	$(SAN_BUILD) build/asan -j2
	$(SAN_ENV) ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/asan/cpp/petastorm_cpp_tests
	rm -rf $(ASAN_VENV) && $$($(VPY) -c 'import sys; print(sys._base_executable)') -m venv --without-pip $(ASAN_VENV)
	site=$$($(ASAN_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	  base=$$($(VPY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	  cp -r python/petastorm $$site/ && cp build/asan/python/src/_core*.so $$site/petastorm/ \
	  && echo "import site; site.addsitedir('$$base')" > $$site/zz_dev_venv.pth
	for f in $(VENV)/bin/petastorm-*; do \
	  sed '1s|^#!.*|#!$(CURDIR)/$(ASAN_VENV)/bin/python|' $$f > $(ASAN_VENV)/bin/$${f##*/} && chmod +x $(ASAN_VENV)/bin/$${f##*/}; \
	done
	$(ASAN_PY_ENV) $(ASAN_VENV)/bin/python -c 'import petastorm._core as c; assert c.__file__.startswith("$(CURDIR)/$(ASAN_VENV)/"), c.__file__'
	$(ASAN_PY_ENV) $(ASAN_VENV)/bin/python -m pytest -q -p no:cacheprovider $(ASAN_PYTEST_ARGS)

# The C++ tests under ThreadSanitizer; the build also checks the thread-safety annotations
# (-Werror=thread-safety). Arrow's buffers come from malloc (SAN_ENV): with the wheel's mimalloc
# pool TSan reports memory that mimalloc hands from one thread to another (its atomics are not
# instrumented). cpp/sanitizers/tsan.supp says what else is suppressed, and why.
test-tsan: build/.clang-stamp $(VENV)/.stamp
	$(SAN_CMAKE) -S . -B build/tsan -DPETASTORM_SANITIZE=thread -DPETASTORM_BUILD_TESTS=ON -DPETASTORM_BUILD_PYTHON=OFF \
	  -DCMAKE_CXX_FLAGS=-Werror=thread-safety >/dev/null
	$(SAN_BUILD) build/tsan -j2
	$(SAN_ENV) TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/cpp/sanitizers/tsan.supp" \
	  build/tsan/cpp/petastorm_cpp_tests
