"""The documentation site builds with warnings as errors (what make docs runs) and holds every page."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_sphinx_builds_the_site_with_warnings_as_errors(tmp_path):
    pytest.importorskip('sphinx')
    pytest.importorskip('myst_parser')
    out = tmp_path / 'html'
    result = subprocess.run([sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html',
                             '-d', str(tmp_path / 'doctrees'), str(ROOT / 'docs'), str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ['index', 'readme', 'guide', 'coming-from-petastorm', 'troubleshooting', 'api', 'cpp-api',
                 'dataset-format', 'benchmarks', 'design']:
        assert (out / (page + '.html')).is_file(), page
    # The plots of the benchmarks page are copied with it.
    assert (out / '_images' / 'summary.png').is_file()
    # The API reference is generated from the docstrings of the package.
    api = (out / 'api.html').read_text()
    for name in ['reader.make_reader', 'make_batch_reader', 'pytorch.BatchedDataLoader', 'pytorch.DataLoader',
                 'tf_utils.make_petastorm_dataset', 'unischema.Unischema', 'codecs.CompressedImageCodec',
                 'predicates.in_lambda', 'TransformSpec', 'make_map_dataset', 'write_dataset', 'DatasetWriter',
                 'codecs.register_codec', 'etl.dataset_metadata.write_dataset_metadata']:
        assert 'id="petastorm.{}"'.format(name) in api, name
    # The C++ page shows every public header.
    cpp = (out / 'cpp-api.html').read_text()
    for header in sorted((ROOT / 'cpp' / 'include' / 'petastorm').glob('*.h')):
        assert 'petastorm/' + header.name in cpp, header.name
    # Every deliberate difference of docs/design.md is on the coming-from-Petastorm page.
    migration = (out / 'coming-from-petastorm.html').read_text()
    assert 'WeightedSamplingReader' in migration and 'hdfs_driver' in migration


def test_every_docs_page_is_in_the_site():
    index = (ROOT / 'docs' / 'index.md').read_text()
    for page in (ROOT / 'docs').glob('*.md'):
        if page.stem != 'index':
            assert '\n' + page.stem + '\n' in index, page.name
