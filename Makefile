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

.PHONY: demo test build setup cpp-test py-test clean

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

# --- make bench: this project against Petastorm 0.13.1 and the raw limits (benchmarks/) ----------
# Writes docs/benchmarks.md and docs/benchmarks/*.png. Datasets are cached in .bench-data/;
# the reference environment .venv-ref (Petastorm 0.13.1 from PyPI, matplotlib) and the C++
# decode loop (built with the C++ tests, build/py/benchmarks) are made once. Options: make bench BENCH_ARGS='--workloads W1,W2 --runs 3'
VENV_REF := .venv-ref
BENCH_ARGS ?=

.PHONY: bench
bench: build $(VENV_REF)/.stamp
	$(VPY) benchmarks/run.py --decode-loop $(BUILD_DIR)/benchmarks/decode_loop $(BENCH_ARGS)

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
