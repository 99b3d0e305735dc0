"""make_reader on datasets written by the native writer."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader
from petastorm.unischema import UnischemaField

from conftest import HelloWorldSchema


def test_hello_world_reads_back_equal(hello_world_dataset):
    url, _, rows = hello_world_dataset
    with make_reader(url, shuffle_row_groups=False) as reader:
        read = list(reader)
    assert len(read) == len(rows)
    assert type(read[0]).__name__ == 'HelloWorldSchema_view'
    for row in read:
        expected = rows[int(row.id)]
        assert isinstance(row.id, np.int32)
        assert row.image1.dtype == np.uint8 and row.image1.shape == (128, 256, 3)
        np.testing.assert_array_equal(row.image1, expected['image1'])
        np.testing.assert_array_equal(row.array_4d, expected['array_4d'])
    # Without shuffling the order is the storage order.
    assert [int(r.id) for r in read] == list(range(len(rows)))


def test_schema_fields_by_field_and_regex(hello_world_dataset):
    url, _, rows = hello_world_dataset
    with make_reader(url, schema_fields=[HelloWorldSchema.id, 'array_.*']) as reader:
        assert list(reader.schema.fields) == ['id', 'array_4d']
        row = next(reader)
        assert row._fields == ('id', 'array_4d')
    with pytest.raises(RuntimeError, match='No fields matching'):
        make_reader(url, schema_fields=['nothing.*'])
    with pytest.raises(ValueError, match='does not belong'):
        make_reader(url, schema_fields=[UnischemaField('ghost', np.int32, ())])
    with pytest.raises(ValueError, match='Fields must be'):
        make_reader(url, schema_fields='id')


def test_num_epochs_and_reset(hello_world_dataset):
    url, _, rows = hello_world_dataset
    with make_reader(url, schema_fields=['id'], num_epochs=3, shuffle_row_groups=False) as reader:
        ids = [int(r.id) for r in reader]
        assert ids == list(range(len(rows))) * 3
        assert reader.last_row_consumed
        reader.reset()
        assert len(list(reader)) == 3 * len(rows)
    with make_reader(url, schema_fields=['id'], num_epochs=None, shuffle_row_groups=False) as reader:
        endless = [int(next(reader).id) for _ in range(len(rows) * 2 + 5)]
    assert endless[len(rows):2 * len(rows)] == list(range(len(rows)))
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match='iterations must be positive integer or None'):
            make_reader(url, num_epochs=bad)


def test_reading_after_stop_raises(hello_world_dataset):
    url, _, _ = hello_world_dataset
    with make_reader(url, schema_fields=['id']) as reader:
        next(reader)
    with pytest.raises(RuntimeError, match='has stopped'):
        next(reader)


def test_errors(tmp_path, hello_world_dataset):
    with pytest.raises(OSError, match='does not exist'):
        make_reader('file://' + str(tmp_path / 'missing'))
    plain = tmp_path / 'plain'
    plain.mkdir()
    pq.write_table(pa.table({'x': [1, 2, 3]}), str(plain / 'part-0.parquet'))
    with pytest.raises(RuntimeError, match='make_batch_reader'):
        make_reader('file://' + str(plain))
    url, _, _ = hello_world_dataset
    with pytest.raises(ValueError, match='Unknown reader_pool_type'):
        make_reader(url, reader_pool_type='gpu')
    with pytest.raises(ValueError, match='Unknown cache_type'):
        make_reader(url, cache_type='memory')
    with pytest.warns(UserWarning, match='Please use make_reader'):
        with make_batch_reader(url, schema_fields=['id']):
            pass
    with pytest.raises(ValueError, match='workers_count'):
        make_reader(url, workers_count=0)


def test_corrupt_cell_names_field_file_and_row_group(tmp_path):
    """A cell whose bytes are not a valid encoding fails with a message naming where."""
    import json
    path = tmp_path / 'corrupt'
    path.mkdir()
    schema_json = HelloWorldSchema.to_json()
    table = pa.table({'id': pa.array([0, 1], pa.int32()),
                      'image1': pa.array([b'not a png', b'neither'], pa.binary()),
                      'array_4d': pa.array([b'x', b'y'], pa.binary())})
    table = table.replace_schema_metadata({'petastorm.unischema.json': schema_json})
    pq.write_table(table, str(path / 'part-0.parquet'))
    pq.write_metadata(table.schema.with_metadata({
        'petastorm.unischema.json': schema_json,
        'dataset-toolkit.num_row_groups_per_file.v1': json.dumps({'part-0.parquet': 1})}),
        str(path / '_common_metadata'))
    with make_reader('file://' + str(path), schema_fields=['image1']) as reader:
        with pytest.raises(Exception) as info:
            next(reader)
    message = str(info.value)
    assert "'image1'" in message and 'part-0.parquet' in message and 'row group 0' in message


def test_ndarray_cells_decode_aligned_whatever_their_offsets(tmp_path):
    """Cells of odd sizes put the .npy payloads at odd offsets of the column: decoded arrays
    are still right and aligned (a view of the column where aligned, else a copy)."""
    from petastorm import write_dataset
    from petastorm.codecs import NdarrayCodec
    from petastorm.unischema import Unischema
    schema = Unischema('S', [UnischemaField('id', np.int64, ()),
                             UnischemaField('a', np.float64, (None,), NdarrayCodec()),
                             UnischemaField('s', np.bytes_, (None,), NdarrayCodec())])
    rows = [{'id': i, 'a': np.arange(i % 7, dtype=np.float64) + i,
             's': np.array([b'x' * (i % 5 + 1)] * (i % 3 + 1))} for i in range(40)]
    write_dataset(str(tmp_path / 'ds'), schema, rows, rows_per_rowgroup=40)
    with make_reader('file://' + str(tmp_path / 'ds'), shuffle_row_groups=False) as reader:
        for row in reader:
            expected = rows[int(row.id)]
            np.testing.assert_array_equal(row.a, expected['a'])
            np.testing.assert_array_equal(row.s, expected['s'])
            assert row.a.flags.aligned


def test_64_bit_integers_come_back_as_numpy_int64_not_longlong(tmp_path):
    from petastorm import write_dataset
    from petastorm.codecs import NdarrayCodec
    from petastorm.unischema import Unischema
    schema = Unischema('S', [UnischemaField('a', np.int64, (), None, False),
                             UnischemaField('b', np.uint64, (), None, False),
                             UnischemaField('m', np.int64, (2,), NdarrayCodec(), False)])
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, schema, [{'a': i, 'b': i, 'm': np.array([i, i], np.int64)} for i in range(3)])
    with make_reader(url) as reader:
        row = next(reader)
    assert type(row.a) is np.int64 and type(row.b) is np.uint64 and type(row.m[0]) is np.int64
    with make_batch_reader(url) as reader:
        batch = next(reader)
    assert type(batch.a[0]) is np.int64 and batch.a.dtype.char == np.dtype(np.int64).char


@pytest.mark.parametrize('kwargs, message', [
    (dict(seed=-1), r'seed must be None or an integer in \[0, 2\*\*64\), got -1'),
    (dict(seed=2 ** 64), r'seed must be None or an integer'),
    (dict(seed='7'), r'seed must be None or an integer'),
    (dict(results_queue_size=0), 'results_queue_size must be a positive integer, got 0'),
    (dict(results_queue_size=-3), 'results_queue_size must be a positive integer, got -3'),
])
def test_bad_seed_and_queue_size_are_value_errors_naming_the_argument(hello_world_dataset, kwargs, message):
    url = hello_world_dataset[0]
    for factory in (make_reader, make_batch_reader):
        with pytest.raises(ValueError, match=message):
            factory(url, **kwargs)


@pytest.mark.parametrize('claim, error, message', [
    (4, OSError, "has 2 row groups in its footer, the dataset metadata .* says 4"),
    (1, OSError, "has 2 row groups in its footer, the dataset metadata .* says 1"),  # silently 15 of 20 rows
    (0, OSError, "has 2 row groups in its footer, the dataset metadata .* says 0"),  # silently 10 of 20
    (-1, ValueError, "says 'part-00000-.*' has -1 row groups"),
])
def test_row_group_counts_of_the_metadata_must_match_the_footers(tmp_path, claim, error, message):
    import json
    import os
    import pyarrow.parquet as pq
    from petastorm import _core, write_dataset
    from petastorm.unischema import Unischema, UnischemaField
    schema = Unischema('S', [UnischemaField('id', np.int64, (), None, False)])
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, schema, [{'id': i} for i in range(20)], rows_per_rowgroup=5, rows_per_file=10)
    files = sorted(f for f in os.listdir(tmp_path / 'ds') if f.endswith('.parquet'))
    counts = {f: pq.ParquetFile(str(tmp_path / 'ds' / f)).num_row_groups for f in files}
    assert list(counts.values()) == [2, 2]
    with make_reader(url) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(20))
    counts[files[0]] = claim
    _core.update_dataset_metadata(url, {'dataset-toolkit.num_row_groups_per_file.v1': json.dumps(counts)})
    with pytest.raises(error, match=message):
        with make_reader(url, workers_count=2) as reader:
            list(reader)


@pytest.mark.parametrize('shape, env, message', [
    ((64, 64), None, r"more than the 4096 bytes of field 'matrix' \(shape \(64, 64\), dtype uint8\)"),
    ((None, None), '1000000', r"more than the 1000000-byte limit on one cell of field 'matrix'.*"
                              r"PETASTORM_MAX_CELL_BYTES"),
])
def test_a_cell_that_inflates_beyond_its_bound_is_an_error(tmp_path, monkeypatch, shape, env, message):
    # A ~16 KB compressed cell holding 16 MiB: decoding is bounded by the field's fixed shape,
    # else by the per-cell limit, and the error names the field and the file.
    import os
    from petastorm import write_dataset
    from petastorm.codecs import CompressedNdarrayCodec
    from petastorm.unischema import Unischema
    codec = CompressedNdarrayCodec()
    schema = Unischema('S', [UnischemaField('matrix', np.uint8, shape, codec, False)])
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, schema, [{'matrix': np.zeros((64, 64), np.uint8)}])
    [name] = [f for f in os.listdir(tmp_path / 'ds') if f.endswith('.parquet')]
    path = str(tmp_path / 'ds' / name)
    table = pq.read_table(path)
    bomb = codec.encode(UnischemaField('matrix', np.uint8, (None, None), codec, False),
                        np.zeros((4096, 4096), np.uint8))
    assert len(bomb) < 40000
    table = table.set_column(0, table.schema.field(0), pa.array([bomb], table.schema.field(0).type))
    pq.write_table(table, path)
    if env:
        monkeypatch.setenv('PETASTORM_MAX_CELL_BYTES', env)
    for factory in (make_reader, make_batch_reader):
        with pytest.raises(ValueError, match=message) as raised:
            with factory(url) as reader:
                list(reader)
        assert name in str(raised.value)


_TRUNCATE_UNDER_A_READER = '''
import os, sys
import numpy as np
from petastorm import make_batch_reader, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.unischema import Unischema, UnischemaField
path, factory = sys.argv[1], {'row': make_reader, 'batch': make_batch_reader}[sys.argv[2]]
schema = Unischema('S', [UnischemaField('id', np.int64, (), None, False),
                         UnischemaField('x', np.float32, (1000,), NdarrayCodec(), False)])
write_dataset('file://' + path, schema, [{'id': i, 'x': np.full(1000, i, np.float32)} for i in range(400)],
              rows_per_rowgroup=100)
[name] = [f for f in os.listdir(path) if f.endswith('.parquet')]
with factory('file://' + path, shuffle_row_groups=False, workers_count=1, results_queue_size=1) as reader:
    next(reader)
    os.truncate(os.path.join(path, name), 2000)
    try:
        for _ in reader:
            pass
    except OSError as e:
        assert name in str(e), e
        print('OSError:', e)
'''


@pytest.mark.parametrize('kind', ['row', 'batch'])
def test_a_file_truncated_under_a_reader_is_an_error_naming_it_not_a_signal(tmp_path, kind):
    # Files used to be memory-mapped: reading a page past the new end killed the process (SIGBUS).
    import subprocess
    import sys
    done = subprocess.run([sys.executable, '-c', _TRUNCATE_UNDER_A_READER, str(tmp_path / 'ds'), kind],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert 'OSError:' in done.stdout and 'row group' in done.stdout, done.stdout
