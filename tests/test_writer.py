"""The native writer: validation, plain-Parquet output, atomic commit."""
import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import DatasetWriter, make_reader, write_dataset
from petastorm.codecs import CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

from conftest import HelloWorldSchema, hello_world_row

ScalarsSchema = Unischema('ScalarsSchema', [
    UnischemaField('i8', np.int8, ()),
    UnischemaField('u16', np.uint16, ()),
    UnischemaField('i64', np.int64, ()),
    UnischemaField('f32', np.float32, ()),
    UnischemaField('b', np.bool_, ()),
    UnischemaField('s', np.str_, ()),
    UnischemaField('raw', np.bytes_, ()),
    UnischemaField('dec', Decimal, (), ScalarCodec(pa.decimal128(10, 3)), True),
    UnischemaField('when', np.datetime64, (), None, True),
    UnischemaField('maybe', np.int32, (), None, True),
    UnischemaField('vec', np.float64, (None,), CompressedNdarrayCodec(), True),
])


def _scalar_row(i):
    return {'i8': i - 5, 'u16': 1000 + i, 'i64': 2 ** 40 + i, 'f32': i / 4, 'b': i % 2 == 0,
            's': 'name-{}'.format(i), 'raw': bytes([i, 0, 255]), 'dec': Decimal('{}.125'.format(i)),
            'when': np.datetime64('2024-01-02T03:04:05', 'ns') + np.timedelta64(i, 's'),
            'maybe': None if i % 3 == 0 else i, 'vec': None if i == 1 else np.arange(i, dtype=np.float64)}


def test_output_is_plain_parquet_readable_by_pyarrow(hello_world_dataset):
    url, path, rows = hello_world_dataset
    table = pq.ParquetDataset(str(path)).read()
    assert table.num_rows == len(rows)
    assert table.schema.field('id').type == pa.int32()
    assert table.schema.field('image1').type == pa.binary()
    ids = sorted(table.column('id').to_pylist())
    assert ids == list(range(len(rows)))
    # Codec columns hold the encoded bytes: .npy for NdarrayCodec.
    first = table.filter(pa.compute.equal(table.column('id'), 3)).column('array_4d')[0].as_py()
    assert first.startswith(b'\x93NUMPY')


def test_metadata_is_json_committed_last(hello_world_dataset):
    url, path, rows = hello_world_dataset
    md = pq.read_metadata(str(path / '_common_metadata'))
    assert md.num_row_groups == 0
    kv = md.metadata
    schema = json.loads(kv[b'petastorm.unischema.json'])
    assert schema['version'] == 1 and schema['name'] == 'HelloWorldSchema'
    assert [f['name'] for f in schema['fields']] == ['id', 'image1', 'array_4d']
    counts = json.loads(kv[b'dataset-toolkit.num_row_groups_per_file.v1'])
    assert sum(counts.values()) == 7  # 50 rows in groups of 8
    for name, count in counts.items():
        assert pq.ParquetFile(str(path / name)).metadata.num_row_groups == count
        # Each data file carries the schema too.
        assert b'petastorm.unischema.json' in pq.ParquetFile(str(path / name)).metadata.metadata
    assert not (path / '_temporary').exists()


def test_scalar_types_round_trip_through_pyarrow_and_make_reader(tmp_path):
    url = 'file://' + str(tmp_path / 'scalars')
    rows = [_scalar_row(i) for i in range(10)]
    assert write_dataset(url, ScalarsSchema, rows) == 10
    table = pq.read_table(str(tmp_path / 'scalars'))
    assert table.schema.field('u16').type == pa.uint16()
    assert table.schema.field('dec').type == pa.decimal128(10, 3)
    assert table.column('dec').to_pylist()[2] == Decimal('2.125')
    assert table.column('maybe').to_pylist()[:4] == [None, 1, 2, None]
    with make_reader(url) as reader:
        read = sorted(reader, key=lambda r: r.i64)
    assert len(read) == 10
    for row, expected in zip(read, rows):
        assert row.i8 == expected['i8'] and isinstance(row.i8, np.int8)
        assert row.u16 == expected['u16'] and isinstance(row.u16, np.uint16)
        assert row.i64 == expected['i64']
        assert row.f32 == np.float32(expected['f32'])
        assert bool(row.b) == expected['b']
        assert row.s == expected['s']
        assert row.raw == expected['raw']
        assert row.dec == expected['dec']
        assert row.when == expected['when']
        assert row.maybe == expected['maybe']
        if expected['vec'] is None:
            assert row.vec is None
        else:
            np.testing.assert_array_equal(row.vec, expected['vec'])


@pytest.mark.parametrize('bad_row, message', [
    ({'id': 1, 'image1': np.zeros((128, 256, 3), np.uint8)}, "'array_4d'"),
    (dict(hello_world_row(0), extra=1), "'extra'"),
    (dict(hello_world_row(0), id=None), 'not nullable'),
    (dict(hello_world_row(0), image1=np.zeros((128, 255, 3), np.uint8)), '(128, 256, 3)'),
    (dict(hello_world_row(0), image1=np.zeros((128, 256, 3), np.float32)), "'image1'"),
    (dict(hello_world_row(0), array_4d=np.zeros((4, 128, 30), np.uint8)), "'array_4d'"),
    (dict(hello_world_row(0), array_4d=[1, 2, 3]), "'array_4d'"),
    (dict(hello_world_row(0), id='seven'), "'id'"),
    (dict(hello_world_row(0), id=2 ** 40), "'id'"),
])
def test_validation_errors_name_field_and_row(tmp_path, bad_row, message):
    url = 'file://' + str(tmp_path / 'ds')
    with pytest.raises((ValueError, TypeError)) as info:
        write_dataset(url, HelloWorldSchema, [hello_world_row(0), hello_world_row(1), bad_row])
    assert message in str(info.value)
    assert 'Row 2' in str(info.value)
    # The failed write left nothing behind.
    assert not (tmp_path / 'ds').exists() or not any((tmp_path / 'ds').iterdir())


def test_streaming_writer_rejects_bad_row_and_continues(tmp_path):
    url = str(tmp_path / 'ds')  # a plain local path works too
    with DatasetWriter(url, HelloWorldSchema, rowgroup_size_mb=1) as writer:
        writer.write(hello_world_row(0))
        with pytest.raises(ValueError, match="Row 1: field 'nope'"):
            writer.write(dict(hello_world_row(1), nope=1))
        writer.write(hello_world_row(2))
    assert writer.rows_written == 2
    with make_reader('file://' + url) as reader:
        assert [int(r.id) for r in reader] == [0, 2]


def test_exception_inside_with_block_leaves_no_dataset(tmp_path):
    path = tmp_path / 'ds'
    with pytest.raises(RuntimeError, match='boom'):
        with DatasetWriter('file://' + str(path), HelloWorldSchema, rows_per_rowgroup=2) as writer:
            for i in range(10):
                writer.write(hello_world_row(i))
            raise RuntimeError('boom')
    assert not (path / '_common_metadata').exists()
    assert list(path.rglob('*.parquet')) == []
    with pytest.raises(ValueError, match='No Parquet data files'):
        make_reader('file://' + str(path))


def test_existing_dataset_is_not_mixed_with_new_one(tmp_path):
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, HelloWorldSchema, [hello_world_row(i) for i in range(3)])
    with pytest.raises(FileExistsError, match='already exists'):
        write_dataset(url, HelloWorldSchema, [hello_world_row(i) for i in range(5)])
    with make_reader(url) as reader:
        assert len(list(reader)) == 3
    write_dataset(url, HelloWorldSchema, [hello_world_row(i) for i in range(5)], mode='overwrite')
    with make_reader(url) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(5))


def test_rows_and_bytes_per_file(tmp_path):
    path = tmp_path / 'ds'
    schema = Unischema('S', [UnischemaField('id', np.int64, ()),
                             UnischemaField('m', np.float32, (16,), NdarrayCodec())])
    rows = [{'id': i, 'm': np.full(16, i, np.float32)} for i in range(100)]
    write_dataset(str(path), schema, rows, rows_per_rowgroup=10, rows_per_file=25)
    files = sorted(path.glob('*.parquet'))
    assert [pq.ParquetFile(str(f)).metadata.num_rows for f in files] == [25, 25, 25, 25]
    write_dataset(str(path), schema, rows, rows_per_rowgroup=10, bytes_per_file=2000, mode='overwrite')
    assert len(list(path.glob('*.parquet'))) > 1
    assert sum(pq.ParquetFile(str(f)).metadata.num_rows for f in path.glob('*.parquet')) == 100


def test_invalid_writer_arguments(tmp_path):
    with pytest.raises(ValueError, match='mode'):
        DatasetWriter(str(tmp_path / 'a'), HelloWorldSchema, mode='append')
    with pytest.raises(ValueError, match='rowgroup_size_mb'):
        DatasetWriter(str(tmp_path / 'a'), HelloWorldSchema, rowgroup_size_mb=0)
    with pytest.raises(ValueError, match='compression'):
        DatasetWriter(str(tmp_path / 'a'), HelloWorldSchema, compression='zip')
