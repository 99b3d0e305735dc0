"""Packaging as a user meets it (slow: builds and fresh venvs, a few minutes; runs in make test).

- the manylinux wheel of `make wheel`, installed into a fresh venv holding only pip and PyPI's numpy
  and pyarrow, runs the hello world with the system's libturbojpeg and libspng made unloadable (a
  private mount namespace binds /dev/null over them), and the loader's own log (LD_DEBUG=libs)
  shows the copies in petastorm.libs/ and pyarrow's libarrow loaded; with pyarrow 25 instead,
  `import petastorm` is an ImportError naming the pyarrow it needs;
- `pip install <clean copy of the source>` with build isolation into a fresh venv;
- the C++ package: `cmake --install` of the build tree, then examples/cpp configured with
  find_package(petastorm), built and run.
"""
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from petastorm import _pyarrow_abi

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SYSTEM_LIB_DIR = Path('/usr/lib/x86_64-linux-gnu')
PYARROW = 'pyarrow==26.0.1'
HELLO_ROWS = 20


def _run(cmd, timeout, **kwargs):
    """Runs cmd; on failure the assertion shows its output."""
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert out.returncode == 0, '{} failed ({}):\n{}\n{}'.format(
        ' '.join(map(str, cmd)), out.returncode, out.stdout[-4000:], out.stderr[-4000:])
    return out


def _fresh_venv(path, *packages):
    """A venv of the interpreter behind this one, with pip and `packages` from the package index."""
    _run([getattr(sys, '_base_executable', sys.executable), '-m', 'venv', path], timeout=120)
    python = path / 'bin' / 'python'
    if packages:
        _run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', *packages], timeout=600)
    return python


def _clean_env():
    """The environment without this venv's PATH entry, PYTHONPATH or LD_LIBRARY_PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'LD_LIBRARY_PATH', 'VIRTUAL_ENV')}
    venv_bin = str(Path(sys.executable).parent)
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep) if p != venv_bin)
    return env


@pytest.fixture(scope='module')
def wheel():
    """`make wheel`'s manylinux wheel (build/wheel is reused by a second run), or the wheel that
    PETASTORM_TEST_WHEEL names (a wheel built elsewhere, tested as it is)."""
    if os.environ.get('PETASTORM_TEST_WHEEL'):
        return Path(os.environ['PETASTORM_TEST_WHEEL'])
    _run(['make', '--no-print-directory', 'wheel'], timeout=1200, cwd=REPO)
    wheels = sorted((REPO / 'dist').glob('petastorm-*manylinux*.whl'), key=lambda p: p.stat().st_mtime)
    assert wheels, 'make wheel left no manylinux wheel in dist/'
    return wheels[-1]


def test_wheel_bundles_image_libs_not_arrow(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    bundled = [n for n in names if n.startswith('petastorm.libs/')]
    assert any('libturbojpeg' in n for n in bundled), bundled
    assert any('libspng' in n for n in bundled), bundled
    assert not any(re.search(r'lib(arrow|parquet)', n) for n in bundled), bundled
    tags = wheel.name.split('-')[-1]
    assert 'manylinux' in tags and tags.endswith('x86_64.whl'), wheel.name


@pytest.fixture(scope='module')
def wheel_venv(wheel, tmp_path_factory):
    """A fresh venv: pip, numpy and pyarrow from the index, then the wheel (no other dependency)."""
    python = _fresh_venv(tmp_path_factory.mktemp('wheel') / 'venv', 'numpy', PYARROW)
    _run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', wheel], timeout=300)
    return python


def _hidden_system_libs():
    """The real files of the Debian libturbojpeg and libspng the wheel must not need."""
    return sorted({str(p.resolve()) for pattern in ('libturbojpeg.so*', 'libspng.so*')
                   for p in SYSTEM_LIB_DIR.glob(pattern)})


def test_wheel_runs_hello_world_with_its_own_libs(wheel_venv, tmp_path):
    if subprocess.run(['unshare', '-m', 'true'], capture_output=True).returncode != 0:
        pytest.skip('unshare -m is not permitted here: the system libraries cannot be hidden')
    hidden = _hidden_system_libs()
    assert hidden, 'no system libturbojpeg/libspng to hide (the Debian -dev packages are installed for the build)'
    # In a private mount namespace the system copies read as empty files: loading them fails.
    binds = ' && '.join('mount --bind /dev/null {}'.format(p) for p in hidden)
    hello = REPO / 'examples' / 'hello_world' / 'hello_world.py'
    # First proof that the hiding works: dlopen of the system names fails in the namespace.
    probe = ("import ctypes, sys\nfor name in ('libturbojpeg.so.0', 'libspng.so.0'):\n"
             "    try: ctypes.CDLL(name); sys.exit(name + ' still loads')\n"
             "    except OSError: pass\nprint('system libs unloadable')")
    script = "{} && {} -c \"$PROBE\" && exec {} {} --output-url file://{} --rows {}".format(
        binds, wheel_venv, wheel_venv, hello, tmp_path / 'ds', HELLO_ROWS)
    env = dict(_clean_env(), PROBE=probe, LD_DEBUG='libs', LD_DEBUG_OUTPUT=str(tmp_path / 'ld'))
    out = _run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script], timeout=300, env=env, cwd=tmp_path)
    assert out.stdout.startswith('system libs unloadable\n'), out.stdout
    assert 'Read {} rows back, values equal to what was written'.format(HELLO_ROWS) in out.stdout, out.stdout

    # The loader's log: every libturbojpeg/libspng/libarrow that was initialized, by path.
    log = ''.join(p.read_text() for p in tmp_path.glob('ld.*'))
    loaded = re.findall(r'calling init: (\S+)', log)
    site = Path(_run([wheel_venv, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                     timeout=60).stdout.strip())
    for name, where in (('libturbojpeg', site / 'petastorm.libs'), ('libspng', site / 'petastorm.libs'),
                        ('libarrow.so', site / 'pyarrow'), ('libparquet.so', site / 'pyarrow')):
        paths = [p for p in loaded if Path(p).name.startswith(name)]
        assert paths, '{} was not loaded: {}'.format(name, loaded)
        assert all(Path(p).resolve().parent == where.resolve() for p in paths), (name, paths)
    assert not any(p.startswith(str(SYSTEM_LIB_DIR)) and re.search('turbojpeg|spng', p) for p in loaded), loaded


def test_wheel_extension_finds_arrow_through_pyarrow(wheel_venv):
    code = ('import petastorm, petastorm._core as c, pyarrow; print(c.__file__); print(pyarrow.__file__)')
    core, pyarrow_init = _run([wheel_venv, '-c', code], timeout=60, env=_clean_env()).stdout.split()
    dynamic = _run(['readelf', '-d', core], timeout=60).stdout
    runpath = re.search(r'\((?:RUNPATH|RPATH)\).*\[(.*)\]', dynamic).group(1).split(':')
    assert '$ORIGIN/../pyarrow' in runpath, runpath
    needed = re.findall(r'\(NEEDED\).*\[(.*)\]', dynamic)
    assert 'libarrow.so.{}'.format(_pyarrow_abi.SO_VERSION) in needed, needed
    # The bundled copies under their new names (auditwheel's hash): the system names are not asked for.
    assert any(n.startswith('libturbojpeg-') for n in needed), needed
    assert not any(n in ('libturbojpeg.so.0', 'libspng.so.0') for n in needed), needed
    # Resolved without `import pyarrow` first too: ldd finds libarrow in site-packages/pyarrow.
    ldd = _run(['ldd', core], timeout=60, env=_clean_env()).stdout
    arrow = re.search(r'libarrow\.so\.\S+ => (\S+)', ldd).group(1)
    assert Path(arrow).resolve().parent == Path(pyarrow_init).resolve().parent, ldd


def test_wheel_with_pyarrow_25_names_the_pyarrow_it_needs(wheel, tmp_path):
    python = _fresh_venv(tmp_path / 'venv', 'numpy', 'pyarrow==25.0.0')
    _run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '--no-deps', wheel], timeout=300)
    out = subprocess.run([python, '-c', 'import petastorm'], capture_output=True, text=True, timeout=60,
                         env=_clean_env(), cwd=tmp_path)
    assert out.returncode != 0
    assert 'ImportError' in out.stderr, out.stderr
    assert "pip install 'pyarrow{}'".format(_pyarrow_abi.PYARROW_RANGE) in out.stderr, out.stderr
    assert 'pyarrow 25.0.0 (libarrow.so.2500)' in out.stderr, out.stderr


def _clean_source_copy(dest):
    """The files git tracks (or would: untracked, not ignored) of this checkout, nothing built."""
    listed = subprocess.run(['git', '-C', REPO, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                            capture_output=True, timeout=60)
    if listed.returncode != 0:
        pytest.skip('not a git checkout: no clean copy of the source to make')
    for name in filter(None, listed.stdout.decode().split('\0')):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def test_pip_install_from_source_with_build_isolation(tmp_path):
    source = _clean_source_copy(tmp_path / 'src')
    python = _fresh_venv(tmp_path / 'venv')
    # Build isolation: pip makes the build environment from [build-system] requires alone.
    _run([python, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', source], timeout=1500,
         env=_clean_env(), cwd=tmp_path)
    code = ('import numpy as np, petastorm; from petastorm import make_reader, write_dataset\n'
            'from petastorm.unischema import Unischema, UnischemaField\n'
            'from petastorm.codecs import CompressedImageCodec\n'
            "S = Unischema('S', [UnischemaField('id', np.int64, ()), "
            "UnischemaField('im', np.uint8, (4, 4, 3), CompressedImageCodec('png'))])\n"
            "write_dataset('file://{0}', S, [{{'id': i, 'im': np.full((4, 4, 3), i, np.uint8)}} for i in range(5)])\n"
            "with make_reader('file://{0}', shuffle_rows=False, shuffle_row_groups=False) as r:\n"
            "    rows = [(int(x.id), int(x.im[0, 0, 0])) for x in r]\n"
            'print(petastorm.__file__); print(sorted(rows))').format(tmp_path / 'ds')
    out = _run([python, '-c', code], timeout=120, env=_clean_env(), cwd=tmp_path).stdout.split('\n')
    assert out[0].startswith(str(tmp_path / 'venv')), out
    assert out[1] == str([(i, i) for i in range(5)]), out


def test_cpp_package_builds_the_example(tmp_path):
    """cmake --install of make build's tree (its C++ package component), then examples/cpp alone."""
    build = REPO / 'build' / 'py'
    if not (build / 'CMakeCache.txt').exists():
        pytest.skip('build/py is not configured (make build makes it)')
    cmake = shutil.which('cmake') or str(Path(sys.executable).parent / 'cmake')
    prefix = tmp_path / 'prefix'
    _run([cmake, '--install', build, '--prefix', prefix, '--component', 'petastorm_cpp'], timeout=120)
    assert (prefix / 'include' / 'petastorm' / 'reader.h').is_file()
    assert (prefix / 'lib' / 'libpetastorm_core.a').is_file()
    assert (prefix / 'lib' / 'cmake' / 'petastorm' / 'petastormConfig.cmake').is_file()
    _run([cmake, '-S', REPO / 'examples' / 'cpp', '-B', tmp_path / 'build', '-DCMAKE_BUILD_TYPE=Release',
          '-DCMAKE_PREFIX_PATH={}'.format(prefix), '-DPython_EXECUTABLE={}'.format(sys.executable)], timeout=300)
    _run([cmake, '--build', tmp_path / 'build', '-j2'], timeout=600)
    out = _run([tmp_path / 'build' / 'hello_world_cpp', tmp_path / 'ds'], timeout=120, cwd=tmp_path)
    assert 'wrote and read back 100 rows' in out.stdout, out.stdout


def test_cpp_package_without_pyarrow_says_what_it_needs(tmp_path):
    """find_package(petastorm) with a Python that has no pyarrow (and no system Arrow): a clear error."""
    build = REPO / 'build' / 'py'
    if not (build / 'CMakeCache.txt').exists():
        pytest.skip('build/py is not configured (make build makes it)')
    cmake = shutil.which('cmake') or str(Path(sys.executable).parent / 'cmake')
    prefix = tmp_path / 'prefix'
    _run([cmake, '--install', build, '--prefix', prefix, '--component', 'petastorm_cpp'], timeout=120)
    bare = _fresh_venv(tmp_path / 'venv')
    out = subprocess.run([cmake, '-S', REPO / 'examples' / 'cpp', '-B', tmp_path / 'build',
                          '-DCMAKE_PREFIX_PATH={}'.format(prefix), '-DPython_EXECUTABLE={}'.format(bare)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    message = ' '.join((out.stdout + out.stderr).split())
    assert 'petastorm needs Arrow C++ with libarrow.so.{}'.format(_pyarrow_abi.SO_VERSION) in message, message
    assert 'pyarrow is not importable by {}'.format(bare) in message, message
