"""petastorm.pytorch LoaderBase and petastorm.tf_utils _NUMPY_TO_TF_DTYPES_MAPPING, and the
top-level names (inventory sections 1, 7.1, 7.2)."""
import logging
from decimal import Decimal

import numpy as np
import pytest

import petastorm
from petastorm import errors, make_reader, write_dataset
from petastorm.unischema import Unischema, UnischemaField

LoaderSchema = Unischema('LoaderSchema', [UnischemaField('id', np.int64, ())])


@pytest.fixture(scope='module')
def loader_url(tmp_path_factory):
    path = tmp_path_factory.mktemp('loader_names') / 'ds'
    write_dataset('file://' + str(path), LoaderSchema, [{'id': i} for i in range(12)], rows_per_rowgroup=4)
    return 'file://' + str(path)


def test_top_level_exports_petastorms_names():
    from petastorm.reader import make_batch_reader as batch_factory, make_reader as factory
    from petastorm.transform import TransformSpec
    for name in ('NoDataAvailableError', 'make_reader', 'make_batch_reader', 'TransformSpec', '__version__'):
        assert hasattr(petastorm, name), name
    assert petastorm.NoDataAvailableError is errors.NoDataAvailableError
    assert issubclass(errors.NoDataAvailableError, Exception)
    assert petastorm.make_reader is factory and petastorm.make_batch_reader is batch_factory
    assert petastorm.TransformSpec is TransformSpec
    assert isinstance(petastorm.__version__, str) and petastorm.__version__.split('.')[0].isdigit()


def test_loader_base_is_the_base_of_the_torch_loaders_and_guards_iteration(loader_url, caplog):
    pytest.importorskip('torch')
    from petastorm.pytorch import _PARALLEL_ITER_ERROR, BatchedDataLoader, DataLoader, LoaderBase
    assert issubclass(DataLoader, LoaderBase) and issubclass(BatchedDataLoader, LoaderBase)
    with make_reader(loader_url, reader_pool_type='dummy', shuffle_rows=False,
                     shuffle_row_groups=False) as reader:
        loader = DataLoader(reader, batch_size=5)
        assert isinstance(loader, LoaderBase)
        outer = iter(loader)
        assert next(outer)['id'].tolist() == [0, 1, 2, 3, 4]
        with pytest.raises(RuntimeError) as error:
            next(iter(loader))  # a second pass while the first runs
        assert str(error.value) == _PARALLEL_ITER_ERROR
        rest = [batch['id'].tolist() for batch in outer]
        assert rest == [[5, 6, 7, 8, 9], [10, 11]]  # the final partial batch
        with caplog.at_level(logging.WARNING, logger='petastorm.pytorch'):
            again = [batch['id'].tolist() for batch in loader]  # a full second pass resets the reader
        assert again == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
        assert 'reset underlying Petastorm reader to position 0' in caplog.text


def test_numpy_to_tf_dtypes_mapping_is_petastorms():
    tf = pytest.importorskip('tensorflow')
    from petastorm.tf_utils import _NUMPY_TO_TF_DTYPES_MAPPING as mapping
    expected = {np.int8: tf.int8, np.int16: tf.int16, np.int32: tf.int32, np.int64: tf.int64,
                np.uint8: tf.uint8, np.uint16: tf.int32, np.uint32: tf.int64, np.float32: tf.float32,
                np.float64: tf.float64, np.bytes_: tf.string, np.str_: tf.string, np.bool_: tf.bool,
                Decimal: tf.string, np.datetime64: tf.int64}
    for numpy_type, tf_type in expected.items():
        assert mapping[numpy_type] == tf_type, numpy_type
    assert np.uint64 not in mapping
