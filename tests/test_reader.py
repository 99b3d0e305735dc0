"""make_reader on datasets written by the native writer."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import fs_utils, make_batch_reader, make_reader
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
    pq.write_table(pa.table({'x': [[1], [2, 3], []]}), str(plain / 'part-0.parquet'))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match='make_batch_reader'):
        make_reader('file://' + str(plain))  # scalar columns only are read (test_make_reader_plain_parquet.py)
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
    fs_utils.update_dataset_metadata(url, {'dataset-toolkit.num_row_groups_per_file.v1': json.dumps(counts)})
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


def test_a_file_storing_a_column_as_another_type_is_an_error_naming_file_column_and_types(tmp_path):
    # One file stores `id` as strings while the dataset schema says int32: make_reader used to
    # coerce it.
    import os
    from petastorm import write_dataset
    from petastorm.unischema import Unischema
    schema = Unischema('S', [UnischemaField('id', np.int32, (), None, False),
                             UnischemaField('v', np.float64, (), None, False)])
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, schema, [{'id': i, 'v': i / 2} for i in range(20)], rows_per_file=10)
    names = sorted(f for f in os.listdir(tmp_path / 'ds') if f.endswith('.parquet'))
    path = str(tmp_path / 'ds' / names[1])
    table = pq.read_table(path)
    table = table.set_column(0, pa.field('id', pa.string(), False),
                             pa.array([str(i) for i in table.column('id').to_pylist()], pa.string()))
    pq.write_table(table, path)
    message = (r"'.*%s' row group 0: column 'id' is stored as string, but the dataset schema says int32"
               % names[1])
    for factory in (make_reader, make_batch_reader):
        with pytest.raises(TypeError, match=message):
            with factory(url, shuffle_row_groups=False) as reader:
                list(reader)
    # Columns not read are not checked; the other file reads as before.
    with make_reader(url, schema_fields=['v'], shuffle_row_groups=False) as reader:
        assert sorted(r.v for r in reader) == [i / 2 for i in range(20)]


def test_plain_parquet_files_of_different_column_types_are_an_error(tmp_path):
    # A plain store: `x` int32 in one file and string in another gave batches of two dtypes.
    (tmp_path / 'store').mkdir()
    pq.write_table(pa.table({'x': pa.array([1, 2, 3], pa.int32()), 'y': [1.0, 2.0, 3.0]}),
                   str(tmp_path / 'store' / 'a.parquet'))
    pq.write_table(pa.table({'x': pa.array(['4', '5'], pa.string()), 'y': [4.0, 5.0]}),
                   str(tmp_path / 'store' / 'b.parquet'))
    url = 'file://' + str(tmp_path / 'store')
    with pytest.raises(TypeError, match=r"b\.parquet' row group 0: column 'x' is stored as string, "
                                        r"but the dataset schema says int32"):
        with make_batch_reader(url, shuffle_row_groups=False) as reader:
            list(reader)
    with make_batch_reader(url, schema_fields=['y'], shuffle_row_groups=False) as reader:
        assert sorted(v for b in reader for v in b.y) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_files_differing_only_in_nullability_and_item_names_read_together(tmp_path):
    # What Spark and pyarrow write for the same column: nullable or not, list items named
    # 'element' or 'item'; both read, with one dtype.
    (tmp_path / 'store').mkdir()
    pq.write_table(pa.table({'x': pa.array([[1, 2], [3]], pa.list_(pa.int64()))}),
                   str(tmp_path / 'store' / 'a.parquet'))
    element = pa.list_(pa.field('element', pa.int64(), nullable=False))
    pq.write_table(pa.Table.from_arrays([pa.array([[4]], element)],
                                        schema=pa.schema([pa.field('x', element, nullable=False)])),
                   str(tmp_path / 'store' / 'b.parquet'))
    with make_batch_reader('file://' + str(tmp_path / 'store'), shuffle_row_groups=False) as reader:
        rows = [list(v) for b in reader for v in b.x]
    assert rows == [[1, 2], [3], [4]]


def test_bytes_that_are_not_utf8_in_a_corrupt_cell_stay_escapes_in_an_error_with_context(tmp_path):
    # A corrupt .npy header with bytes that are not UTF-8 used to become a UnicodeDecodeError
    # without file, row group or field.
    import os
    from petastorm import write_dataset
    from petastorm.codecs import NdarrayCodec
    from petastorm.unischema import Unischema
    schema = Unischema('S', [UnischemaField('m', np.float32, (2,), NdarrayCodec(), False)])
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, schema, [{'m': np.zeros(2, np.float32)}])
    [name] = [f for f in os.listdir(tmp_path / 'ds') if f.endswith('.parquet')]
    path = str(tmp_path / 'ds' / name)
    table = pq.read_table(path)
    header = b"{'descr': '<f4\xff\xfe', 'fortran_order': False, 'shape': (2,), }"
    header += b' ' * (64 - 10 - len(header) % 64 - 1) + b'\n'
    corrupt = b'\x93NUMPY\x01\x00' + len(header).to_bytes(2, 'little') + header + b'\0' * 8
    table = table.set_column(0, table.schema.field(0), pa.array([corrupt], pa.binary()))
    pq.write_table(table, path)
    with pytest.raises(ValueError) as raised:
        with make_reader(url) as reader:
            next(reader)
    message = str(raised.value)
    assert name in message and "'m'" in message and 'row group 0' in message, message
    assert '\\xff\\xfe' in message, message


def _small_dataset(tmp_path, name='ds'):
    from petastorm import write_dataset
    from petastorm.unischema import Unischema
    schema = Unischema('S', [UnischemaField('id', np.int64, (), None, False)])
    url = 'file://' + str(tmp_path / name)
    write_dataset(url, schema, [{'id': i} for i in range(4)])
    return url


def test_malformed_metadata_json_names_the_file_or_key_and_the_field_entry(tmp_path):
    import json
    from petastorm import _core
    url = _small_dataset(tmp_path, 'a')
    fs_utils.update_dataset_metadata(url, {'dataset-toolkit.num_row_groups_per_file.v1': '{"x": 1,,}'})
    with pytest.raises(ValueError, match=r"_common_metadata': the value of "
                                         r"dataset-toolkit.num_row_groups_per_file.v1: Malformed JSON at offset 8"):
        make_reader(url)
    url = _small_dataset(tmp_path, 'b')
    fs_utils.update_dataset_metadata(url, {'petastorm.unischema.json': '{"format": bad'})
    with pytest.raises(ValueError, match=r"Unischema of '.*b' \(the value of petastorm.unischema.json in its "
                                         r"metadata\): Malformed JSON at offset 11"):
        make_reader(url)
    url = _small_dataset(tmp_path, 'c')
    doc = json.loads(pq.read_schema(str(tmp_path / 'c' / '_common_metadata')).metadata[b'petastorm.unischema.json'])
    doc['fields'].append(dict(doc['fields'][0], name='other', dtype='nonsense'))
    del doc['fields'][0]['name']
    fs_utils.update_dataset_metadata(url, {'petastorm.unischema.json': json.dumps(doc)})
    with pytest.raises(ValueError, match=r"field entry 0: Missing key 'name'"):
        make_reader(url)
    doc['fields'][0]['name'] = 'id'
    fs_utils.update_dataset_metadata(url, {'petastorm.unischema.json': json.dumps(doc)})
    with pytest.raises(ValueError, match=r"field entry 1 \('other'\): .*nonsense"):
        make_reader(url)


def test_a_dataset_written_with_no_rows_reads_as_no_rows(tmp_path):
    import os
    from petastorm import write_dataset
    from petastorm.unischema import Unischema
    schema = Unischema('S', [UnischemaField('id', np.int64, (), None, False),
                             UnischemaField('name', np.str_, (), None, False)])
    url = 'file://' + str(tmp_path / 'empty')
    write_dataset(url, schema, [])
    [data] = [f for f in os.listdir(tmp_path / 'empty') if f.endswith('.parquet')]
    assert pq.ParquetFile(str(tmp_path / 'empty' / data)).metadata.num_rows == 0
    with make_reader(url) as reader:
        assert list(reader) == []
    with make_batch_reader(url) as reader:
        assert [len(b.id) for b in reader] in ([], [0])


def test_text_that_is_not_utf8_in_a_string_column_is_an_error_with_context_and_escapes(tmp_path):
    (tmp_path / 'store').mkdir()
    values = pa.Array.from_buffers(pa.binary(), 2, [None, pa.py_buffer(np.array([0, 3, 6], np.int32).tobytes()),
                                                   pa.py_buffer(b'ab\xffbad')])
    pq.write_table(pa.table({'s': values.view(pa.string())}), str(tmp_path / 'store' / 'x.parquet'))
    with pytest.raises(ValueError, match=r"x\.parquet' row group 0: field 's' row 0 holds text that is not "
                                         r"UTF-8: b'ab\\xff'"):
        with make_batch_reader('file://' + str(tmp_path / 'store')) as reader:
            list(reader)


@pytest.mark.parametrize('url', ['gs://petastorm-no-such-bucket/ds?retry_limit_seconds=1',
                                 'gs://petastorm-no-such-bucket/ds'])
def test_gcs_out_of_reach_is_an_error_naming_the_url_not_a_hang(url):
    # With no network, gs:// retried for 15 minutes; now for kDefaultRemoteRetrySeconds (15 s)
    # unless the URL's retry_limit_seconds says otherwise. Run in a child, so a hang fails the
    # test instead of stopping the suite.
    import subprocess
    import sys
    code = ('from petastorm import make_reader\n'
            'try:\n    make_reader(%r)\n'
            'except OSError as e:\n    print("OSError:", e)\n' % url)
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("OSError: Opening '%s'" % url), done.stdout
