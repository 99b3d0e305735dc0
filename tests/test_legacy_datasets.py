"""Datasets written by original Petastorm releases 0.4.0, 0.5.1 and 0.7.0 (pickled Unischema only,
Python 2 era pickles) read with make_reader and make_batch_reader, the pickle never executed."""
import shutil
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader
from petastorm.etl.dataset_metadata import PetastormMetadataError, get_schema_from_dataset_url

REPO = Path(__file__).resolve().parents[1]
LEGACY_ROOT = next((p for p in [REPO.parent / 'shared' / 'data' / 'petastorm-legacy',
                                Path('/work/shared/data/petastorm-legacy')] if p.exists()), None)
pytestmark = pytest.mark.skipif(LEGACY_ROOT is None, reason='shared/data/petastorm-legacy is not present')
VERSIONS = ['0.4.0', '0.5.1', '0.7.0']


def _url(version):
    return 'file://' + str(LEGACY_ROOT / version)


def _expected_string_array(i):
    if i % 5 == 0:
        return None
    if i % 4 == 0:
        return []
    return [str(i), str(i + 1)]


@pytest.mark.parametrize('version', VERSIONS)
def test_make_reader_reads_the_values_the_readme_gives(version):
    with make_reader(_url(version), workers_count=1) as reader:
        rows = list(reader)
    assert len(rows) == 100
    assert len(rows[0]._fields) > 5
    assert sorted(r.id for r in rows) == list(range(100))
    for r in rows:
        i = int(r.id)
        assert r.partition_key == 'p_{}'.format(i // 10)
        assert r.id2 == i % 2 and isinstance(r.id2, np.int32)
        if 'id_float' in r._fields:
            assert r.id_float == float(i) and r.id_odd == bool(i % 2)
        assert r.matrix.shape == (32, 16, 3) and r.matrix.dtype == np.float32
        assert r.image_png.shape == (32, 16, 3) and r.image_png.dtype == np.uint8
        assert r.matrix_uint16.shape == (32, 16, 3) and r.matrix_uint16.dtype == np.uint16
        assert r.matrix_nullable is None
        assert list(r.sensor_name) == ['test_sensor']
        expected = _expected_string_array(i)
        if expected is None:
            assert r.string_array_nullable is None
        else:
            assert list(r.string_array_nullable) == expected
        assert isinstance(r.decimal, Decimal) and Decimal(0) <= r.decimal <= Decimal('2.55')
        assert isinstance(r.python_primitive_uint8, np.uint8)
        assert r.empty_matrix_string.shape == (0,)
        assert r.matrix_string.dtype.kind == 'S'


@pytest.mark.parametrize('version', VERSIONS)
def test_make_batch_reader_gives_the_same_values(version):
    with make_reader(_url(version), workers_count=1) as reader:
        by_id = {int(r.id): r for r in reader}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # "Please use make_reader": a Petastorm dataset
        with make_batch_reader(_url(version), workers_count=1) as reader:
            batches = list(reader)
    ids = np.concatenate([b.id for b in batches])
    assert sorted(ids.tolist()) == list(range(100))
    for b in batches:
        assert b.matrix.shape == (len(b.id), 32, 16, 3)
        for j, i in enumerate(b.id.tolist()):
            row = by_id[i]
            np.testing.assert_array_equal(b.matrix[j], row.matrix)
            np.testing.assert_array_equal(b.image_png[j], row.image_png)
            assert b.partition_key[j] == row.partition_key
            assert b.id2[j] == row.id2 and b.decimal[j] == row.decimal


@pytest.mark.parametrize('version', VERSIONS)
def test_the_stored_schema_is_petastorms(version):
    schema = get_schema_from_dataset_url(_url(version))
    assert schema.fields['matrix'].shape == (32, 16, 3)
    assert type(schema.fields['image_png'].codec).__name__ == 'CompressedImageCodec'
    assert schema.fields['partition_key'].numpy_dtype is np.str_


def _copy_with_pickle(tmp_path, transform):
    target = tmp_path / 'ds'
    shutil.copytree(LEGACY_ROOT / '0.7.0', target)
    target.chmod(0o755)
    common = target / '_common_metadata'
    common.chmod(0o644)
    schema = pq.read_schema(str(common))
    metadata = dict(schema.metadata)
    metadata[b'dataset-toolkit.unischema.v1'] = transform(metadata[b'dataset-toolkit.unischema.v1'])
    pq.write_metadata(schema.with_metadata(metadata), str(common))
    return 'file://' + str(target)


def test_a_global_planted_in_the_metadata_is_refused_by_make_reader(tmp_path):
    marker = tmp_path / 'pwned'
    url = _copy_with_pickle(tmp_path, lambda p: "cos\nsystem\n(S'touch {}'\ntR0".format(marker).encode() + p)
    with pytest.raises(PetastormMetadataError, match="global 'os.system' is forbidden"):
        make_reader(url, workers_count=1)
    with pytest.raises(PetastormMetadataError, match="global 'os.system' is forbidden"):
        make_batch_reader(url, workers_count=1)
    assert not marker.exists()


def test_a_user_codec_in_the_metadata_is_named(tmp_path):
    url = _copy_with_pickle(tmp_path, lambda p: p.replace(b'cpetastorm.codecs\nNdarrayCodec\n',
                                                          b'cmy_package.codecs\nMyCodec\n'))
    with pytest.raises(PetastormMetadataError, match="my_package.codecs.MyCodec"):
        make_reader(url, workers_count=1)
