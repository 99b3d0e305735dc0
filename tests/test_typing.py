"""The package is typed (py.typed, the stubgen stub of petastorm._core) and mypy passes on the examples."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / 'examples' / 'hello_world' / 'hello_world.py'] + sorted((ROOT / 'examples' / 'mnist').glob('*.py'))


def _installed_package_dir():
    return Path(importlib.util.find_spec('petastorm').origin).parent


def test_package_ships_marker_and_core_stub():
    package = _installed_package_dir()
    assert (package / 'py.typed').is_file()
    stub = (package / '_core.pyi').read_text()
    # A few of the bindings the Python layer calls, with their signatures.
    assert 'def register_codec(' in stub
    assert 'def write_dataset_metadata(' in stub
    assert 'class ' in stub


def test_mypy_passes_on_the_examples(tmp_path):
    pytest.importorskip('mypy')
    assert len(EXAMPLES) == 3, EXAMPLES
    # Run from a temporary directory so that mypy checks the installed package (with its stub),
    # not the source tree's python/petastorm; the configuration is the repository's pyproject.toml.
    result = subprocess.run([sys.executable, '-m', 'mypy', '--config-file', str(ROOT / 'pyproject.toml'),
                             '--cache-dir', str(tmp_path / 'cache')] + [str(e) for e in EXAMPLES],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, MYPYPATH=''))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Success: no issues found in 3 source files' in result.stdout


def test_mypy_reports_a_wrong_call_into_the_package(tmp_path):
    pytest.importorskip('mypy')
    wrong = tmp_path / 'wrong.py'
    wrong.write_text('from petastorm import _core\n_core.register_codec(1, 2, 3, 4)\n')
    result = subprocess.run([sys.executable, '-m', 'mypy', '--config-file', str(ROOT / 'pyproject.toml'),
                             '--cache-dir', str(tmp_path / 'cache'), str(wrong)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'wrong.py:2: error' in result.stdout
