"""make_batch_reader: any Parquet store, every Arrow type, batches of numpy columns, through the
same engine as make_reader (docs/types.md)."""
import datetime
import os
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import NoDataAvailableError, TransformSpec, _core, make_batch_reader
from petastorm.predicates import (PredicateBase, in_intersection, in_lambda, in_negate, in_pseudorandom_split,
                                  in_reduce, in_set)
from petastorm.transform import edit_field
from petastorm.unischema import UnischemaField

N = 5  # rows of the every-type file; row 1 holds the nulls
NULL_ROW = 1


def test_signature_is_petastorms():
    import inspect
    signature = inspect.signature(make_batch_reader).parameters.values()
    params = [(p.name, p.default) for p in signature if p.kind != inspect.Parameter.KEYWORD_ONLY]
    # Beyond Petastorm, keyword-only after its parameters: row shards and slices (docs/resume.md), the
    # memory budget (docs/memory.md), images decoded smaller (docs/images.md).
    assert [(p.name, p.default) for p in signature if p.kind == inspect.Parameter.KEYWORD_ONLY] == [
        ('shard_mode', 'row_groups'), ('shard_remainder', 'drop'), ('item_slice', None), ('memory_budget_bytes', None),
        ('decode_options', None)]
    assert params == [
        ('dataset_url_or_urls', inspect.Parameter.empty), ('schema_fields', None), ('reader_pool_type', 'thread'),
        ('workers_count', 10), ('results_queue_size', 50), ('seed', None), ('shuffle_rows', False),
        ('shuffle_row_groups', True), ('shuffle_row_drop_partitions', 1), ('predicate', None),
        ('rowgroup_selector', None), ('num_epochs', 1), ('cur_shard', None), ('shard_count', None),
        ('shard_seed', None), ('cache_type', 'null'), ('cache_location', None), ('cache_size_limit', None),
        ('cache_row_size_estimate', None), ('cache_extra_settings', None), ('hdfs_driver', 'libhdfs3'),
        ('transform_spec', None), ('filters', None), ('storage_options', None), ('zmq_copy_buffers', True),
        ('filesystem', None), ('convert_early_to_numpy', False)]


def _nulled(values):
    return [None if i == NULL_ROW else v for i, v in enumerate(values)]


def _every_type_columns():
    """{name: (pyarrow array, expected numpy column)} for every type make_batch_reader reads."""
    cols = {}
    ints = [0, 1, 2, 3, 4]
    for t, dt in [(pa.int8(), np.int8), (pa.int16(), np.int16), (pa.int32(), np.int32), (pa.int64(), np.int64),
                  (pa.uint8(), np.uint8), (pa.uint16(), np.uint16), (pa.uint32(), np.uint32),
                  (pa.uint64(), np.uint64)]:
        values = [np.iinfo(dt).min, 1, np.iinfo(dt).max, 3, 4]
        cols[str(t)] = (pa.array(values, t), np.array(values, dt))
        # With nulls: float64 with NaN, as Petastorm (pandas) delivers them.
        cols[str(t) + '_null'] = (pa.array(_nulled(ints), t), np.array([0, np.nan, 2, 3, 4]))
    for t, dt in [(pa.float16(), np.float16), (pa.float32(), np.float32), (pa.float64(), np.float64)]:
        cols[str(t)] = (pa.array(np.array([0.5, -1, 2.25, np.inf, 4], dt), t), np.array([0.5, -1, 2.25, np.inf, 4], dt))
        cols[str(t) + '_null'] = (pa.array(np.array([0.5, 0, 2, 3, 4], dt), t, mask=np.arange(N) == NULL_ROW),
                                  np.array([0.5, np.nan, 2, 3, 4], dt))
    cols['bool'] = (pa.array([True, False, True, True, False]), np.array([True, False, True, True, False]))
    cols['bool_null'] = (pa.array(_nulled([True, False, True, True, False])),
                         np.array([True, None, True, True, False], dtype=object))
    words = ['a', 'bb', 'ünïcode', '', 'e' * 20]
    cols['string'] = (pa.array(words, pa.string()), np.array(words, dtype=np.str_))
    cols['string_null'] = (pa.array(_nulled(words), pa.string()), np.array(_nulled(words), dtype=object))
    cols['large_string'] = (pa.array(words, pa.large_string()), np.array(words, dtype=np.str_))
    cols['large_string_null'] = (pa.array(_nulled(words), pa.large_string()), np.array(_nulled(words), dtype=object))
    blobs = [b'\x00a', b'bb', b'', b'\xff' * 3, b'e']
    cols['binary'] = (pa.array(_nulled(blobs), pa.binary()), np.array(_nulled(blobs), dtype=object))
    cols['large_binary'] = (pa.array(blobs, pa.large_binary()), np.array(blobs, dtype=object))
    fixed = [b'ab', b'\x00\x00', b'cd', b'ef', b'gh']
    cols['fixed_size_binary'] = (pa.array(_nulled(fixed), pa.binary(2)), np.array(_nulled(fixed), dtype=object))
    days = [0, 1, -1, 18000, 20000]
    cols['date32'] = (pa.array(_nulled(days), pa.date32()),
                      np.array(_nulled(days), dtype='datetime64[D]'))
    cols['date64'] = (pa.array([d * 86400000 for d in days], pa.date64()), np.array(days, dtype='datetime64[D]'))
    stamps = [0, 1, 1700000000, -5, 42]
    for unit in ('s', 'ms', 'us', 'ns'):
        # Parquet has no seconds: timestamp[s] reads back as timestamp[ms].
        cols['timestamp_' + unit] = (pa.array(_nulled(stamps), pa.timestamp(unit)),
                                     np.array(_nulled(stamps), dtype='datetime64[{}]'.format(unit))
                                     .astype('datetime64[{}]'.format('ms' if unit == 's' else unit)))
    # Time zones: the values are the UTC instants.
    cols['timestamp_ms_tz'] = (pa.array(stamps, pa.timestamp('ms', tz='America/New_York')),
                               np.array(stamps, dtype='datetime64[ms]'))
    cols['timestamp_us_utc'] = (pa.array(_nulled(stamps), pa.timestamp('us', tz='UTC')),
                                np.array(_nulled(stamps), dtype='datetime64[us]'))
    # Times and durations: the integer counts of the unit (Parquet stores time32[s] as ms).
    seconds = [0, 1, 59, 3600, 86399]
    cols['time32_s'] = (pa.array(seconds, pa.time32('s')), np.array(seconds, np.int32) * 1000)
    cols['time32_ms'] = (pa.array(_nulled(seconds), pa.time32('ms')), np.array([0, np.nan, 59, 3600, 86399]))
    cols['time64_us'] = (pa.array(seconds, pa.time64('us')), np.array(seconds, np.int64))
    cols['time64_ns'] = (pa.array(seconds, pa.time64('ns')), np.array(seconds, np.int64))
    cols['duration_s'] = (pa.array([-3, 0, 5, 7, 2 ** 40], pa.duration('s')), np.array([-3, 0, 5, 7, 2 ** 40]))
    cols['duration_ns'] = (pa.array(_nulled(ints), pa.duration('ns')), np.array([0, np.nan, 2, 3, 4]))
    decimals = [Decimal('1.25'), Decimal('-0.01'), Decimal('999.99'), Decimal('0.00'), Decimal('3.10')]
    cols['decimal128'] = (pa.array(_nulled(decimals), pa.decimal128(5, 2)),
                          np.array(_nulled(decimals), dtype=object))
    big = [Decimal('1' * 45 + '.5'), Decimal('-2.5'), Decimal('0.0'), Decimal('7.1'), Decimal('8.2')]
    cols['decimal256'] = (pa.array(big, pa.decimal256(50, 1)), np.array(big, dtype=object))
    labels = ['x', 'y', 'x', 'z', 'x']
    cols['dictionary'] = (pa.array(labels).dictionary_encode(), np.array(labels, dtype=np.str_))
    cols['dictionary_null'] = (pa.array(_nulled(labels)).dictionary_encode(), np.array(_nulled(labels), dtype=object))
    ragged = [[1, 2], [], [3], [4, 5, 6], [7]]
    cols['list_int32'] = (pa.array(_nulled(ragged), pa.list_(pa.int32())),
                          [None if v is None else np.array(v, np.int32) for v in _nulled(ragged)])
    cols['large_list_float64'] = (pa.array(ragged, pa.large_list(pa.float64())),
                                  [np.array(v, np.float64) for v in ragged])
    even = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]
    cols['list_equal_lengths'] = (pa.array(even, pa.list_(pa.int64())), np.array(even, np.int64))
    vectors = [[i, i + 0.5, -i] for i in range(N)]
    cols['fixed_size_list'] = (pa.array(vectors, pa.list_(pa.float32(), 3)), np.array(vectors, np.float32))
    cols['fixed_size_list_null'] = (pa.array(_nulled(vectors), pa.list_(pa.float32(), 3)),
                                    [None if v is None else np.array(v, np.float32) for v in _nulled(vectors)])
    matrices = [[[i, 1], [2, 3], [4, 5]] for i in range(N)]
    cols['fixed_size_list_2d'] = (pa.array(matrices, pa.list_(pa.list_(pa.int16(), 2), 3)),
                                  np.array(matrices, np.int16))
    nested = [[[1], [2, 3]], None, [[4, 5, 6], None], [[]], [[7], [8], [9]]]
    cols['list_of_lists'] = (pa.array(nested, pa.list_(pa.list_(pa.int64()))), nested)
    string_lists = [['a', 'b'], ['c'], [], ['dd', 'e', 'f'], ['g']]
    cols['list_string'] = (pa.array(string_lists, pa.list_(pa.string())),
                           [np.array(v, dtype=np.str_) for v in string_lists])
    string_lists = [['a', None], None, [], ['b'], ['c', 'd']]
    cols['list_string_null'] = (pa.array(string_lists, pa.list_(pa.string())),
                                [None if v is None else np.array(v, dtype=object) for v in string_lists])
    records = [{'a': 1, 'b': 'x'}, None, {'a': None, 'b': 'z'}, {'a': 4, 'b': None}, {'a': 5, 'b': 'w'}]
    cols['struct'] = (pa.array(records, pa.struct([('a', pa.int32()), ('b', pa.string())])),
                      np.array(records, dtype=object))
    maps = [[('k', 1)], None, [], [('a', 2), ('b', 3)], [('z', None)]]
    cols['map'] = (pa.array(maps, pa.map_(pa.string(), pa.int32())), maps)
    cols['null'] = (pa.nulls(N), np.array([None] * N, dtype=object))
    cols['id'] = (pa.array(np.arange(N, dtype=np.int64)), np.arange(N))
    return cols


# numpy type and shape each column's field gets (docs/types.md).
EXPECTED_FIELDS = {
    'bool': (np.bool_, ()), 'string': (np.str_, ()), 'large_string': (np.str_, ()), 'binary': (np.bytes_, ()),
    'fixed_size_binary': (np.bytes_, ()), 'date32': (np.datetime64, ()), 'date64': (np.datetime64, ()),
    'timestamp_ms_tz': (np.datetime64, ()), 'time32_s': (np.int32, ()), 'time64_ns': (np.int64, ()),
    'duration_s': (np.int64, ()), 'decimal128': (Decimal, ()), 'decimal256': (Decimal, ()),
    'dictionary': (np.str_, ()), 'list_int32': (np.int32, (None,)), 'large_list_float64': (np.float64, (None,)),
    'fixed_size_list': (np.float32, (3,)), 'fixed_size_list_2d': (np.int16, (3, 2)),
    'list_of_lists': (np.int64, (None, None)), 'list_string': (np.str_, (None,)), 'struct': (np.object_, ()),
    'map': (np.object_, ()), 'null': (np.object_, ()), 'uint64': (np.uint64, ()), 'halffloat': (np.float16, ()),
}


def _assert_column_equal(name, actual, expected):
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, (name, actual.dtype, expected.dtype)
        assert actual.shape == expected.shape, (name, actual.shape)
        if expected.dtype == object:
            assert list(actual) == list(expected), name
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=name)
        return
    # Object columns of per-row values.
    assert actual.dtype == object and actual.shape == (len(expected),), name
    for got, want in zip(actual, expected):
        if want is None:
            assert got is None, name
        elif isinstance(want, np.ndarray):
            assert isinstance(got, np.ndarray), (name, got)
            assert got.dtype == want.dtype or got.dtype.kind == want.dtype.kind == 'U', (name, got)
            np.testing.assert_array_equal(got, want, err_msg=name)
        elif name == 'list_of_lists':
            assert [None if x is None else list(x) for x in got] == want, name
        else:
            assert got == want, name


@pytest.fixture(scope='module')
def every_type(tmp_path_factory):
    cols = _every_type_columns()
    path = tmp_path_factory.mktemp('every_type') / 'data.parquet'
    pq.write_table(pa.table({name: array for name, (array, _) in cols.items()}), str(path))
    return 'file://' + str(path), {name: expected for name, (_, expected) in cols.items()}


def test_every_type_reads_back(every_type):
    url, expected = every_type
    with make_batch_reader(url, reader_pool_type='dummy') as reader:
        assert reader.batched_output and reader.is_batched_reader
        assert list(reader.schema.fields) == list(expected)
        for name, (dtype, shape) in EXPECTED_FIELDS.items():
            field = reader.schema.fields[name]
            assert (field.numpy_dtype, field.shape, field.codec) == (dtype, shape, None), name
        assert reader.schema.fields['string_null'].nullable
        batches = list(reader)
    assert len(batches) == 1
    batch = batches[0]
    assert type(batch).__name__ == 'inferred_schema_view'
    for name, want in expected.items():
        _assert_column_equal(name, getattr(batch, name), want)


def test_every_type_survives_row_shuffles(every_type):
    """Shuffled rows go through Arrow's take on every type (lists, structs, maps, dictionaries)."""
    url, expected = every_type
    with make_batch_reader(url, shuffle_rows=True, seed=3, workers_count=2) as reader:
        batch = next(reader)
    order = batch.id.tolist()
    assert sorted(order) == list(range(N)) and order != list(range(N))
    for name, want in expected.items():
        permuted = want[order] if isinstance(want, np.ndarray) else [want[i] for i in order]
        _assert_column_equal(name, getattr(batch, name), permuted)


def _plain(value):
    """A value as plain Python, nulls (None, NaN, NaT) as None: to compare across dtypes."""
    if value is None:
        return None
    if isinstance(value, (np.ndarray, list)):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (np.datetime64, np.timedelta64)) and np.isnat(value):
        return None
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def test_every_type_in_slices_of_row_groups(every_type):
    """Drop partitions deliver slices (Arrow offsets) of every type; a slice without the null
    row has the null-free dtypes."""
    url, expected = every_type
    with make_batch_reader(url, shuffle_row_groups=False, shuffle_row_drop_partitions=3) as reader:
        batches = list(reader)
    assert [b.id.tolist() for b in batches] == [[0], [1, 2], [3, 4]]
    assert batches[2].int32_null.dtype == np.int32 and batches[2].string_null.dtype.kind == 'U'
    for batch in batches:
        for name, want in expected.items():
            got = getattr(batch, name)
            assert len(got) == len(batch.id), name
            for k, i in enumerate(batch.id):
                assert _plain(got[k]) == _plain(want[i]), (name, i)


def test_numeric_columns_are_zero_copy_views(every_type):
    url, _ = every_type
    with make_batch_reader(url, schema_fields=['int64', 'float', 'fixed_size_list', 'list_equal_lengths',
                                               'timestamp_ms_tz', 'duration_s', 'time64_us'],
                           reader_pool_type='dummy') as reader:
        batch = next(reader)
    for name, column in batch._asdict().items():
        assert not column.flags.owndata, name  # a view of the Arrow buffer
        assert not column.flags.writeable, name


def test_batches_follow_row_groups_and_drop_partitions(tmp_path):
    pq.write_table(pa.table({'id': np.arange(100), 'v': np.arange(100) * 0.5}), str(tmp_path / 'a.parquet'),
                   row_group_size=30)
    url = 'file://' + str(tmp_path / 'a.parquet')
    with make_batch_reader(url, shuffle_row_groups=False) as reader:
        sizes = [len(b.id) for b in reader]
    assert sizes == [30, 30, 30, 10]
    with make_batch_reader(url, shuffle_row_groups=False, shuffle_row_drop_partitions=3) as reader:
        batches = list(reader)
    assert sorted(np.concatenate([b.id for b in batches]).tolist()) == list(range(100))
    assert [len(b.id) for b in batches][:3] == [10, 10, 10]
    for b in batches:
        np.testing.assert_array_equal(b.v, b.id * 0.5)


# --------------------------------------------------------------------------------------------
# Stores: directories, partitions, many files, URL lists, other writers
# --------------------------------------------------------------------------------------------

def _write_partitioned(root):
    ids = np.arange(60)
    table = pa.table({'id': ids, 'year': 2020 + ids % 3, 'city': [['nyc', 'sf', 'la'][i // 20] for i in ids],
                      'value': ids * 1.5})
    pq.write_to_dataset(table, str(root), partition_cols=['year', 'city'], row_group_size=5)
    return ids


def test_hive_partitioned_store(tmp_path):
    ids = _write_partitioned(tmp_path / 'ds')
    url = 'file://' + str(tmp_path / 'ds')
    with make_batch_reader(url) as reader:
        assert list(reader.schema.fields)[:2] == ['year', 'city']
        assert reader.schema.fields['year'].numpy_dtype is np.int64
        assert reader.schema.fields['city'].numpy_dtype is np.str_
        batches = list(reader)
    got = {}
    for b in batches:
        assert b.year.dtype == np.int64 and b.city.dtype.kind == 'U'
        assert len(set(b.year)) == 1 and len(set(b.city)) == 1  # constant within a file
        for i, y, c, v in zip(b.id, b.year, b.city, b.value):
            got[int(i)] = (int(y), str(c), float(v))
    assert got == {int(i): (2020 + int(i) % 3, ['nyc', 'sf', 'la'][int(i) // 20], i * 1.5) for i in ids}
    # A predicate on partition keys only is decided per file, before reading.
    with make_batch_reader(url, predicate=in_set({2021}, 'year'), schema_fields=['id', 'year']) as reader:
        rows = np.concatenate([b.id for b in reader])
        planned = reader._reader.num_row_groups_planned
    assert sorted(rows.tolist()) == [i for i in ids.tolist() if i % 3 == 1]
    assert planned < _core.Dataset(url).num_row_groups
    with make_batch_reader(url, predicate=in_lambda(['city'], lambda c: c == 'sf'), schema_fields=['id']) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(20, 40))
        assert reader._reader.num_row_groups_planned < _core.Dataset(url).num_row_groups
    with make_batch_reader(url, schema_fields=['id'], filters=[('city', '=', 'sf'), ('year', '=', 2020)]) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == [i for i in range(20, 40) if i % 3 == 0]


def test_many_small_files_and_non_data_files(tmp_path):
    root = tmp_path / 'ds'
    root.mkdir()
    for k in range(20):
        pq.write_table(pa.table({'id': [2 * k, 2 * k + 1]}), str(root / 'part-{:05d}.parquet'.format(k)))
    (root / '_SUCCESS').write_bytes(b'')
    (root / '.part-00000.parquet.crc').write_bytes(b'junk')
    (root / 'part-00000.parquet.crc').write_bytes(b'junk')
    (root / '.hidden').write_bytes(b'junk')
    (root / '_temporary').mkdir()
    (root / '_temporary' / 'x.parquet').write_bytes(b'junk')
    with make_batch_reader('file://' + str(root), workers_count=4) as reader:
        ids = sorted(np.concatenate([b.id for b in reader]).tolist())
    assert ids == list(range(40))


def test_list_of_urls(tmp_path):
    ids = _write_partitioned(tmp_path / 'ds')
    root = tmp_path / 'ds'
    dirs = sorted(str(p) for p in root.glob('year=*'))
    one_file = sorted((root / 'year=2020' / 'city=la').glob('*.parquet'))[0]
    urls = ['file://' + d for d in dirs[1:]] + ['file://' + str(one_file)]
    with make_batch_reader(urls, schema_fields=['id', 'year', 'city']) as reader:
        got = sorted((int(i), int(y), str(c)) for b in reader for i, y, c in zip(b.id, b.year, b.city))
    expected = sorted((int(i), 2020 + int(i) % 3, ['nyc', 'sf', 'la'][int(i) // 20]) for i in ids
                      if i % 3 != 0 or i >= 40)
    assert got == expected
    # Files listed one by one (and a duplicate) read like the directory.
    files = sorted(str(p) for p in root.rglob('*.parquet'))
    with make_batch_reader(files + files[:1], schema_fields=['id']) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(60))


def test_bad_url_lists(tmp_path):
    pq.write_table(pa.table({'id': [1]}), str(tmp_path / 'a.parquet'))
    with pytest.raises(ValueError, match='dataset url list must be non-empty'):
        make_batch_reader([])
    with pytest.raises(ValueError, match='same scheme and netloc'):
        make_batch_reader(['file://' + str(tmp_path / 'a.parquet'), 's3://bucket/a.parquet'])
    with pytest.raises(ValueError, match='same scheme and netloc'):
        make_batch_reader(['hdfs://nn1/a', 'hdfs://nn2/b'])
    with pytest.raises(ValueError, match='directory url must be a string'):
        make_batch_reader([str(tmp_path / 'a.parquet'), 5])
    with pytest.raises(OSError, match='missing'):
        make_batch_reader(['file://' + str(tmp_path / 'a.parquet'), 'file://' + str(tmp_path / 'missing')])
    with pytest.raises(OSError, match='does not exist'):
        make_batch_reader('file://' + str(tmp_path / 'nothing'))


def test_pandas_written_store_with_index_and_categories(tmp_path):
    import pandas as pd
    frame = pd.DataFrame({'x': np.arange(6, dtype=np.int16), 'c': pd.Categorical(list('abcabc')),
                          'ts': pd.date_range('2024-01-01', periods=6, freq='h', tz='UTC')},
                         index=pd.Index(list('uvwxyz'), name='key'))
    frame.to_parquet(tmp_path / 'p.parquet')
    with make_batch_reader('file://' + str(tmp_path / 'p.parquet')) as reader:
        batch = next(reader)
    assert list(batch._fields) == ['x', 'c', 'ts', 'key']
    np.testing.assert_array_equal(batch.x, np.arange(6, dtype=np.int16))
    assert batch.c.tolist() == list('abcabc') and batch.c.dtype.kind == 'U'
    np.testing.assert_array_equal(batch.ts, frame.ts.dt.tz_convert(None).to_numpy())
    assert batch.key.tolist() == list('uvwxyz')


# --------------------------------------------------------------------------------------------
# Unsupported columns and schema_fields
# --------------------------------------------------------------------------------------------

class _OpaqueType(pa.ExtensionType):
    def __init__(self):
        super().__init__(pa.binary(4), 'petastorm.test.python_opaque')

    def __arrow_ext_serialize__(self):
        return b''

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type, serialized):
        return cls()


@pytest.fixture
def opaque_store(tmp_path):
    pa.register_extension_type(_OpaqueType())
    try:
        blob = pa.ExtensionArray.from_storage(_OpaqueType(), pa.array([b'abcd', b'efgh'], pa.binary(4)))
        pq.write_table(pa.table({'id': [1, 2], 'blob': blob}), str(tmp_path / 'x.parquet'))
        yield 'file://' + str(tmp_path / 'x.parquet')
    finally:
        pa.unregister_extension_type('petastorm.test.python_opaque')


def test_undeliverable_column_is_named_unless_left_out(opaque_store):
    with pytest.raises(NotImplementedError, match="Column 'blob'.*schema_fields"):
        make_batch_reader(opaque_store)
    with pytest.raises(NotImplementedError, match="'blob'"):
        make_batch_reader(opaque_store, schema_fields=['.*'])
    with make_batch_reader(opaque_store, schema_fields=['id']) as reader:
        assert next(reader).id.tolist() == [1, 2]


def test_schema_fields(every_type):
    url, expected = every_type
    with make_batch_reader(url, schema_fields=['id', 'timestamp_.*']) as reader:
        assert list(reader.schema.fields) == ['timestamp_s', 'timestamp_ms', 'timestamp_us', 'timestamp_ns',
                                              'timestamp_ms_tz', 'timestamp_us_utc', 'id']
        batch = next(reader)
    assert batch._fields == tuple(reader.schema.fields)
    with make_batch_reader(url, schema_fields=[UnischemaField('struct', np.object_, ()), 'id']) as reader:
        assert list(reader.schema.fields) == ['struct', 'id']
    with pytest.raises(ValueError, match='does not belong'):
        make_batch_reader(url, schema_fields=[UnischemaField('ghost', np.int32, ())])
    with pytest.raises(RuntimeError, match='No fields matching'):
        make_batch_reader(url, schema_fields=['ghost.*'])
    with pytest.raises(ValueError, match='Fields must be'):
        make_batch_reader(url, schema_fields='id')


# --------------------------------------------------------------------------------------------
# Petastorm datasets
# --------------------------------------------------------------------------------------------

def test_petastorm_dataset_codec_fields_decoded_per_batch(hello_world_dataset):
    url, _, rows = hello_world_dataset
    with pytest.warns(UserWarning, match='Please use make_reader'):
        reader = make_batch_reader(url, shuffle_row_groups=False)
    with reader:
        assert reader.schema.fields['image1'].codec is not None
        batches = list(reader)
    assert [len(b.id) for b in batches] == [8] * 6 + [2]
    ids = np.concatenate([b.id for b in batches])
    assert ids.dtype == np.int32 and ids.tolist() == list(range(50))
    for b in batches:
        assert b.image1.shape == (len(b.id), 128, 256, 3) and b.image1.dtype == np.uint8
        assert b.array_4d.dtype == object or b.array_4d.ndim == 5  # stacked when the shapes agree
        for i, image, array in zip(b.id, b.image1, b.array_4d):
            np.testing.assert_array_equal(image, rows[i]['image1'])
            np.testing.assert_array_equal(array, rows[i]['array_4d'])


# --------------------------------------------------------------------------------------------
# Predicates and filters
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def store(tmp_path_factory):
    """100 rows in row groups of 10: id, label (str), tags (list<int32>), score (nullable)."""
    path = tmp_path_factory.mktemp('store') / 'ds'
    path.mkdir()
    ids = np.arange(100)
    table = pa.table({
        'id': ids,
        'label': ['l{}'.format(i % 7) for i in ids],
        'tags': pa.array([[int(i) % 5, int(i) % 3] for i in ids], pa.list_(pa.int32())),
        'score': pa.array([None if i % 10 == 3 else float(i) for i in ids]),
        'vec': pa.array([[i, i + 1] for i in ids], pa.list_(pa.float32(), 2)),
    })
    pq.write_table(table.slice(0, 50), str(path / 'part-0.parquet'), row_group_size=10)
    pq.write_table(table.slice(50), str(path / 'part-1.parquet'), row_group_size=10)
    return 'file://' + str(path)


def _ids(url, **kwargs):
    kwargs.setdefault('schema_fields', ['id'])
    with make_batch_reader(url, **kwargs) as reader:
        return [int(i) for b in reader for i in b.id]


class _LabelIs(PredicateBase):
    """A custom predicate: do_include gets a DataFrame, returns a boolean Series."""

    def __init__(self, label):
        self._label = label

    def get_fields(self):
        return {'label'}

    def do_include(self, values):
        return values['label'] == self._label


def _odd(ids):
    return ids % 2 == 1


def test_predicates(store):
    every = list(range(100))
    assert sorted(_ids(store, predicate=in_set({3, 50, 77}, 'id'))) == [3, 50, 77]
    assert sorted(_ids(store, predicate=in_set({'l2'}, 'label'))) == [i for i in every if i % 7 == 2]
    assert sorted(_ids(store, predicate=in_lambda(['id'], lambda ids: ids >= 95))) == [95, 96, 97, 98, 99]
    assert sorted(_ids(store, predicate=in_lambda(['id', 'label'], lambda ids, labels, k: (ids < k) & (labels == 'l1'),
                                                  state_arg=30))) == [1, 8, 15, 22, 29]
    assert sorted(_ids(store, predicate=_LabelIs('l0'))) == [i for i in every if i % 7 == 0]
    assert sorted(_ids(store, predicate=in_negate(in_lambda(['id'], _odd)))) == every[::2]
    assert sorted(_ids(store, predicate=in_reduce([in_set({'l1'}, 'label'), in_lambda(['id'], _odd)], all))) == \
        [i for i in every if i % 7 == 1 and i % 2]
    assert sorted(_ids(store, predicate=in_reduce([in_set({1}, 'id'), in_lambda(['id'], lambda x: x > 97)], any))) \
        == [1, 98, 99]
    assert sorted(_ids(store, predicate=in_intersection([4], 'tags'))) == [i for i in every if i % 5 == 4]
    # A lambda sees Series (vectors of the batch): vectorized code works.
    assert sorted(_ids(store, predicate=in_lambda(['score'], lambda s: s.isna()))) == [i for i in every if i % 10 == 3]
    assert sorted(_ids(store, predicate=in_lambda(['vec'], lambda v: v.map(lambda a: a[1] == 10.0)))) == [9]
    splits = [set(_ids(store, predicate=in_pseudorandom_split([0.3, 0.3, 0.4], k, 'label'))) for k in range(3)]
    assert set().union(*splits) == set(every)
    assert sum(len(s) for s in splits) == 100
    # Only row groups with a match are delivered; the predicate's fields need not be read out.
    with make_batch_reader(store, schema_fields=['label'], predicate=in_set({42}, 'id')) as reader:
        batches = list(reader)
    assert len(batches) == 1 and batches[0].label.tolist() == ['l0']


def test_predicate_errors(store):
    with pytest.raises(ValueError, match='not valid schema names'):
        make_batch_reader(store, predicate=in_set({1}, 'nope'))
    with pytest.raises(ValueError, match='derived from PredicateBase'):
        make_batch_reader(store, predicate=lambda x: True)
    with pytest.raises(ValueError, match='boolean Series'):
        _ids(store, predicate=in_lambda(['id'], lambda ids: True))
    with pytest.raises(ValueError, match='one value per row'):
        _ids(store, predicate=in_lambda(['id'], lambda ids: ids[:3] > 0))
    with pytest.raises(ValueError, match='boolean'):
        _ids(store, predicate=in_lambda(['id'], lambda ids: ids * 2))

    def boom(ids):
        raise KeyError('predicate failed')
    with pytest.raises(KeyError, match='predicate failed'):
        _ids(store, predicate=in_lambda(['id'], boom))
    with pytest.raises(TypeError, match='in_intersection'):
        _ids(store, predicate=in_set({1}, 'tags'))


def test_filters(store):
    with make_batch_reader(store, schema_fields=['id'], filters=[('id', '>=', 85)]) as reader:
        ids = [int(i) for b in reader for i in b.id]
        assert reader._reader.num_row_groups_planned == 2  # pruned by statistics
    assert sorted(ids) == list(range(85, 100))  # row-exact, after pruning by statistics
    assert _ids(store, filters=[[('id', '<', 10)], [('id', '>', 94)]], shuffle_row_groups=False) == \
        list(range(10)) + list(range(95, 100))
    with pytest.raises(ValueError, match="'nope'"):
        make_batch_reader(store, filters=[('nope', '=', 1)])


# --------------------------------------------------------------------------------------------
# Transforms
# --------------------------------------------------------------------------------------------

def _add_columns(frame):
    frame['double'] = frame['id'] * 2
    frame['grid'] = [np.full((2, 2), i, np.float32) for i in frame['id']]
    frame['label'] = frame['label'].str.upper()
    return frame


def test_transform_spec(store):
    spec = TransformSpec(_add_columns, edit_fields=[edit_field('double', np.int64, ()),
                                                    edit_field('grid', np.float32, (2, 2))],
                         removed_fields=['tags'])
    with make_batch_reader(store, schema_fields=['id', 'label', 'tags'], transform_spec=spec,
                           shuffle_row_groups=False) as reader:
        assert list(reader.schema.fields) == ['id', 'label', 'double', 'grid']
        batch = next(reader)
    np.testing.assert_array_equal(batch.double, batch.id * 2)
    assert batch.grid.shape == (10, 2, 2) and batch.grid.dtype == np.float32
    np.testing.assert_array_equal(batch.grid[3], np.full((2, 2), 3, np.float32))
    assert batch.label.dtype.kind == 'U' and batch.label[1] == 'L1'
    # selected_fields pick and order the output; func may be None.
    spec = TransformSpec(selected_fields=['label', 'id'])
    with make_batch_reader(store, transform_spec=spec, shuffle_row_groups=False) as reader:
        assert next(reader)._fields == ('label', 'id')


def _drop_everything(frame):
    return frame[[]]


def _not_a_frame(frame):
    return {'id': frame['id']}


def _wrong_shape(frame):
    frame['grid'] = [np.zeros((3, 3)) for _ in frame['id']]
    return frame


def test_transform_errors(store):
    with pytest.raises(ValueError, match='do not match required schema columns'):
        _ids(store, transform_spec=TransformSpec(_drop_everything))
    with pytest.raises(TypeError, match='DataFrame'):
        _ids(store, transform_spec=TransformSpec(_not_a_frame))
    with pytest.raises(ValueError, match="'grid'"):
        _ids(store, transform_spec=TransformSpec(_wrong_shape, edit_fields=[edit_field('grid', np.float64, (2, 2))]))


# --------------------------------------------------------------------------------------------
# The engine: shuffles, shards, epochs, pools, cache, lifecycle
# --------------------------------------------------------------------------------------------

def test_same_sequence_for_any_workers_count_with_a_seed(store):
    kwargs = dict(seed=9, shuffle_rows=True, shuffle_row_drop_partitions=2, num_epochs=2)
    sequences = [_ids(store, workers_count=w, **kwargs) for w in (1, 3)]
    sequences.append(_ids(store, reader_pool_type='dummy', **kwargs))
    assert sequences[0] == sequences[1] == sequences[2]
    assert sorted(sequences[0]) == sorted(list(range(100)) * 2)
    assert sequences[0] != _ids(store, seed=10, shuffle_rows=True, shuffle_row_drop_partitions=2, num_epochs=2)
    assert _ids(store, shuffle_row_groups=False) == list(range(100))


@pytest.mark.parametrize('shard_count', [2, 3])
def test_shards(store, shard_count):
    shards = [set(_ids(store, cur_shard=s, shard_count=shard_count, seed=4)) for s in range(shard_count)]
    assert set().union(*shards) == set(range(100)) and sum(len(s) for s in shards) == 100
    with pytest.raises(NoDataAvailableError):
        make_batch_reader(store, cur_shard=0, shard_count=11)
    with pytest.raises(ValueError, match='partition and num_partitions'):
        make_batch_reader(store, cur_shard=0)


def test_epochs_reset_stop_and_diagnostics(store):
    with make_batch_reader(store, schema_fields=['id'], num_epochs=None, shuffle_row_groups=False) as reader:
        first = [next(reader).id[0] for _ in range(25)]
        assert first[:10] == first[10:20] == list(range(0, 100, 10))
        reader.reset()
        assert next(reader).id[0] == 0
        assert reader.diagnostics['rows_delivered'] > 0
    with pytest.raises(RuntimeError, match='has stopped'):
        next(reader)
    with make_batch_reader(store, schema_fields=['id'], num_epochs=2) as reader:
        assert len(list(reader)) == 20 and reader.last_row_consumed
        reader.reset()
        assert len(list(reader)) == 20
    with pytest.raises(ValueError, match='iterations must be positive integer or None'):
        make_batch_reader(store, num_epochs=0)
    with pytest.raises(ValueError, match='Unknown reader_pool_type'):
        make_batch_reader(store, reader_pool_type='gpu')
    with pytest.raises(ValueError, match='rowgroup_selector parameter is expected to be derived from '
                                         'RowGroupSelectorBase'):
        make_batch_reader(store, rowgroup_selector=object())
    from petastorm.ngram import NGram
    with pytest.raises(NotImplementedError, match='ngram'):
        make_batch_reader(store, schema_fields=NGram({0: ['id']}, 1, 'id'))


def test_local_disk_cache(every_type, tmp_path):
    url, expected = every_type
    kwargs = dict(cache_type='local-disk', cache_location=str(tmp_path / 'cache'), cache_size_limit=10 << 20,
                  cache_extra_settings={'cleanup': False}, reader_pool_type='dummy')
    with make_batch_reader(url, **kwargs) as reader:
        next(reader)
        assert reader.cache.stats['stores'] == 1
    with make_batch_reader(url, **kwargs) as reader:
        batch = next(reader)
        assert reader.cache.stats['hits'] == 1
    for name, want in expected.items():
        _assert_column_equal(name, getattr(batch, name), want)


def _times_ten(frame):
    frame['id'] = frame['id'] * 10
    return frame


def test_process_pool(store, every_type):
    kwargs = dict(seed=5, shuffle_rows=True, shuffle_row_drop_partitions=2)
    assert _ids(store, reader_pool_type='process', workers_count=3, **kwargs) == _ids(store, workers_count=2, **kwargs)
    with make_batch_reader(store, reader_pool_type='process', workers_count=2, transform_spec=TransformSpec(_times_ten),
                           predicate=in_lambda(['id'], _odd), shuffle_row_groups=False) as reader:
        batches = list(reader)
    assert [int(i) for b in batches for i in b.id] == [10 * i for i in range(1, 100, 2)]
    assert batches[0].id.flags.writeable
    assert batches[0].vec.shape == (5, 2)
    np.testing.assert_array_equal(batches[0].vec[:, 0], np.arange(1, 10, 2))
    url, expected = every_type
    with make_batch_reader(url, reader_pool_type='process', workers_count=2) as reader:
        batch = next(reader)
    for name, want in expected.items():
        _assert_column_equal(name, getattr(batch, name), want)


# --------------------------------------------------------------------------------------------
# A store written by Spark (optional: needs pyspark and Java)
# --------------------------------------------------------------------------------------------

def test_store_written_by_spark(tmp_path, spark):
    from pyspark.sql import types as st
    schema = st.StructType([
        st.StructField('id', st.LongType(), False),
        st.StructField('name', st.StringType(), True),
        st.StructField('amount', st.DecimalType(10, 2), True),
        st.StructField('at', st.TimestampType(), True),
        st.StructField('day', st.DateType(), True),
        st.StructField('scores', st.ArrayType(st.DoubleType()), True),
        st.StructField('props', st.MapType(st.StringType(), st.IntegerType()), True),
        st.StructField('point', st.StructType([st.StructField('x', st.IntegerType()),
                                               st.StructField('y', st.IntegerType())]), True),
        st.StructField('part', st.IntegerType(), False),
    ])
    rows = [(i, None if i == 3 else 'n{}'.format(i), Decimal('{}.25'.format(i)),
             datetime.datetime(2024, 1, 1, 0, 0, i), datetime.date(2024, 1, 1 + i),
             [float(i)] * (i % 3), {'k': i}, (i, -i), i % 2) for i in range(8)]
    path = str(tmp_path / 'spark')
    spark.createDataFrame(rows, schema).repartition(2).write.partitionBy('part').parquet(path)
    assert os.path.exists(os.path.join(path, '_SUCCESS'))
    with make_batch_reader('file://' + path) as reader:
        assert list(reader.schema.fields) == ['part', 'id', 'name', 'amount', 'at', 'day', 'scores', 'props', 'point']
        batches = list(reader)
    got = {}
    for b in batches:
        for k in range(len(b.id)):
            got[int(b.id[k])] = (int(b.part[k]), b.name[k], b.amount[k], b.day[k], list(b.scores[k]), b.props[k],
                                 b.point[k])
    assert sorted(got) == list(range(8))
    for i, (part, name, amount, day, scores, props, point) in got.items():
        assert part == i % 2 and name == (None if i == 3 else 'n{}'.format(i))
        assert amount == Decimal('{}.25'.format(i)) and day == np.datetime64('2024-01-{:02d}'.format(1 + i))
        assert scores == [float(i)] * (i % 3) and props == [('k', i)] and point == {'x': i, 'y': -i}


@pytest.mark.parametrize('seed', [None, 7])
def test_shards_are_the_same_rows_for_every_pool_and_run(tmp_path, seed):
    """With no seed the shards are the deterministic round-robin (the process pool drew a seed
    for its workers and moved them); with a seed they follow it, for every pool alike."""
    for f in range(4):
        pq.write_table(pa.table({'id': np.arange(f * 100, f * 100 + 100)}), str(tmp_path / 'p{}.parquet'.format(f)),
                       row_group_size=10)
    found = []
    for pool in ('thread', 'process', 'dummy', 'process'):
        with make_batch_reader('file://' + str(tmp_path), reader_pool_type=pool, cur_shard=0, shard_count=5,
                               seed=seed, workers_count=2) as reader:
            found.append(sorted(int(i) for batch in reader for i in batch.id))
    assert all(ids == found[0] for ids in found), [ids[:12] for ids in found]
    assert len(found[0]) == 80
    if seed is None:  # Petastorm's round-robin: row groups 0, 5, 10, ... of the 40
        assert found[0][:20] == list(range(0, 10)) + list(range(50, 60))


def test_directory_symlinks_are_followed_once(tmp_path):
    """A link to its own directory listed every file 41 times; each real directory is visited
    once, and a link to another directory is followed (docs/dataset-format.md)."""
    store = tmp_path / 'store'
    other = tmp_path / 'other'
    (store / 'day=1').mkdir(parents=True)
    other.mkdir()
    pq.write_table(pa.table({'id': np.arange(5)}), str(store / 'day=1' / 'a.parquet'))
    pq.write_table(pa.table({'id': np.arange(100, 103)}), str(other / 'b.parquet'))
    os.symlink('..', str(store / 'day=1' / 'loop'))          # back to the store itself
    os.symlink(str(store / 'day=1'), str(store / 'again'))   # a second way into day=1
    os.symlink(str(other), str(store / 'day=2'))              # another real directory
    with make_batch_reader('file://' + str(store), shuffle_row_groups=False) as reader:
        ids = sorted(int(i) for batch in reader for i in batch.id)
    assert ids == [0, 1, 2, 3, 4, 100, 101, 102]
