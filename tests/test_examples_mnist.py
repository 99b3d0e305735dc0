"""examples/mnist runs end to end: writes its dataset, trains two epochs through
BatchedDataLoader and prints an accuracy well above chance."""
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip('torch')

EXAMPLE = os.path.join(os.path.dirname(__file__), '..', 'examples', 'mnist', 'mnist.py')


def test_mnist_example_learns(tmp_path):
    result = subprocess.run([sys.executable, EXAMPLE, '--dataset-url', 'file://' + str(tmp_path / 'mnist')],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    found = re.search(r'^accuracy: ([0-9.]+)$', result.stdout, re.MULTILINE)
    assert found, result.stdout
    assert float(found.group(1)) > 0.5, result.stdout


def test_mnist_tf_example_learns(tmp_path):
    """examples/mnist/tf_example.py: one epoch of a Keras CNN from make_petastorm_dataset."""
    pytest.importorskip('tensorflow')
    example = os.path.join(os.path.dirname(__file__), '..', 'examples', 'mnist', 'tf_example.py')
    result = subprocess.run([sys.executable, example, '--dataset-url', 'file://' + str(tmp_path / 'mnist')],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'leaked' not in result.stderr
    found = re.search(r'^accuracy: ([0-9.]+)$', result.stdout, re.MULTILINE)
    assert found, result.stdout
    assert float(found.group(1)) > 0.5, result.stdout  # chance is 0.1
