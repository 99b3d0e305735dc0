import numpy as np
import pytest

from petastorm import write_dataset
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

HelloWorldSchema = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])


def hello_world_row(i):
    rng = np.random.default_rng(i)
    return {'id': i,
            'image1': rng.integers(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'array_4d': rng.integers(0, 255, dtype=np.uint8, size=(int(rng.integers(1, 5)), 128, 30, 3))}


@pytest.fixture(scope='session')
def hello_world_dataset(tmp_path_factory):
    """50 hello-world rows in row groups of 8 rows: (url, path, rows)."""
    path = tmp_path_factory.mktemp('hello') / 'ds'
    rows = [hello_world_row(i) for i in range(50)]
    write_dataset('file://' + str(path), HelloWorldSchema, rows, rows_per_rowgroup=8)
    return 'file://' + str(path), path, rows


ID_VEC_ROWS = 230  # 23 row groups of 10
IdVecSchema = Unischema('IdVecSchema', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('vec', np.float32, (2,), NdarrayCodec()),
])


@pytest.fixture(scope='session')
def id_vec_url(tmp_path_factory):
    """ID_VEC_ROWS rows {'id': i, 'vec': [i, -i]} in row groups of 10: the resume tests' dataset."""
    path = tmp_path_factory.mktemp('id_vec') / 'ds'
    write_dataset(str(path), IdVecSchema, [{'id': i, 'vec': np.array([i, -i], np.float32)}
                                           for i in range(ID_VEC_ROWS)], rows_per_rowgroup=10)
    return 'file://' + str(path)


@pytest.fixture(scope='session')
def spark():
    """A local[2] SparkSession (real Spark) for the tests, its Python workers this interpreter,
    importing modules from tests/ as the driver does."""
    import os
    import shutil
    import sys
    pytest.importorskip('pyspark')
    if not shutil.which('java') and not os.environ.get('JAVA_HOME'):
        pytest.skip('Java is not installed (Spark needs it)')
    os.environ['PYSPARK_PYTHON'] = sys.executable
    os.environ['PYSPARK_DRIVER_PYTHON'] = sys.executable
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    os.environ['PYTHONPATH'] = os.pathsep.join([tests_dir] + [p for p in os.environ.get('PYTHONPATH', '').split(
        os.pathsep) if p])
    from pyspark.sql import SparkSession
    session = SparkSession.builder.master('local[2]').appName('petastorm-tests') \
        .config('spark.ui.enabled', 'false').config('spark.driver.memory', '2g') \
        .config('spark.sql.shuffle.partitions', '4').getOrCreate()
    session.sparkContext.setLogLevel('ERROR')
    yield session
    session.stop()
