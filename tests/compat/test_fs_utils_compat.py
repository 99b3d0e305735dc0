"""petastorm.fs_utils.FilesystemResolver and petastorm.utils.run_in_subprocess."""
import os
import pickle

import pyarrow.fs as pafs
import pytest

from petastorm.fs_utils import FilesystemResolver
from petastorm.utils import run_in_subprocess


def test_resolver_of_a_local_url(tmp_path):
    (tmp_path / 'f.txt').write_text('hello')
    resolver = FilesystemResolver('file://' + str(tmp_path))
    assert resolver.parsed_dataset_url().scheme == 'file'
    assert resolver.get_dataset_path() == str(tmp_path)
    fs = resolver.filesystem()
    assert isinstance(fs, pafs.FileSystem)
    with fs.open_input_stream(str(tmp_path / 'f.txt')) as f:
        assert f.read() == b'hello'
    factory = pickle.loads(pickle.dumps(resolver.filesystem_factory()))
    assert isinstance(factory(), pafs.FileSystem)
    with pytest.raises(RuntimeError, match='Pickling FilesystemResolver is not supported'):
        pickle.dumps(resolver)


def test_a_scheme_less_url_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match='scheme-less dataset url'):
        FilesystemResolver(str(tmp_path))


def test_run_in_subprocess_returns_the_result_of_another_process():
    assert run_in_subprocess(os.getpid) != os.getpid()
    assert run_in_subprocess(divmod, 17, 5) == (3, 2)
    with pytest.raises(ZeroDivisionError):
        run_in_subprocess(divmod, 1, 0)


def test_get_schema_from_a_scheme_less_url_is_a_value_error(tmp_path):
    from petastorm.etl.dataset_metadata import get_schema_from_dataset_url
    with pytest.raises(ValueError, match='scheme-less dataset url'):
        get_schema_from_dataset_url('/no_scheme')
    with pytest.raises(ValueError, match='Please prepend "file://"'):
        get_schema_from_dataset_url(str(tmp_path))
