"""Row-exact `filters`: the rows pyarrow.parquet.read_table(filters=...) returns, on every operator,
numeric, string and hive-partition columns, with nulls; after pruning row groups by statistics."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.predicates import in_lambda
from petastorm.unischema import Unischema, UnischemaField

ROWS = 300


def _label(i):
    return None if i % 7 == 3 else i % 3


def _name(i):
    return None if i % 11 == 5 else 'n{:03d}'.format(i % 40)


@pytest.fixture(scope='module')
def plain_url(tmp_path_factory):
    """Plain Parquet, hive-partitioned by `part`, nulls in `label`, `name` and `x`."""
    root = tmp_path_factory.mktemp('filters') / 'plain'
    ids = np.arange(ROWS)
    table = pa.table({
        'id': pa.array(ids, pa.int64()),
        'label': pa.array([_label(i) for i in ids], pa.int32()),
        'name': pa.array([_name(i) for i in ids], pa.string()),
        'x': pa.array([None if i % 13 == 0 else i * 0.5 for i in ids], pa.float64()),
        'part': pa.array(['abc'[i % 3] for i in ids]),
    })
    pq.write_to_dataset(table, str(root), partition_cols=['part'], row_group_size=25)
    return str(root)


def _ours(url, filters, **kwargs):
    with make_batch_reader('file://' + url, filters=filters, workers_count=2, **kwargs) as reader:
        return sorted(int(i) for b in reader for i in b.id)


def _pyarrow(url, filters):
    return sorted(pq.read_table(url, filters=filters).column('id').to_pylist())


OPERATORS = [
    # numeric
    [('label', '==', 1)], [('label', '=', 1)], [('label', '!=', 1)], [('label', '<', 1)], [('label', '<=', 1)],
    [('label', '>', 1)], [('label', '>=', 1)], [('label', 'in', [0, 2])], [('label', 'not in', [0, 2])],
    [('label', 'in', [1, None])], [('label', 'not in', [1, None])], [('label', 'in', [])],
    [('label', '==', None)], [('id', '<', 57.5)], [('id', '>=', 290)], [('x', '>', 100.25)], [('x', '<=', 3)],
    [('id', 'in', {3, 150, 299, 1000})], [('id', 'not in', range(0, 300, 2))],
    # strings
    [('name', '==', 'n007')], [('name', '!=', 'n007')], [('name', '<', 'n010')], [('name', '>=', 'n035')],
    [('name', 'in', ['n001', 'n002', 'zzz'])], [('name', 'not in', ['n001', 'n002'])],
    [('name', 'in', ['n001', None])],
    # partition keys
    [('part', '==', 'b')], [('part', '!=', 'b')], [('part', 'in', ['a', 'c'])], [('part', 'not in', ['a'])],
    [('part', '>', 'a')],
    # conjunctions and disjunctions
    [('label', '==', 1), ('id', '<', 100)], [('part', '==', 'a'), ('name', 'not in', ['n003'])],
    [[('label', '==', 0)], [('x', '<', 10)]], [[('label', '==', 2), ('part', '==', 'c')], [('id', 'in', [1, 2])]],
    [[('label', '!=', 0)], [('name', '==', None)]],
]


@pytest.mark.parametrize('filters', OPERATORS, ids=[repr(f) for f in OPERATORS])
def test_filters_equal_pyarrow(plain_url, filters):
    expected = _pyarrow(plain_url, filters)
    assert _ours(plain_url, filters) == expected
    # the same with the filter columns left out of the selection, and with shuffled rows
    assert _ours(plain_url, filters, schema_fields=['id'], shuffle_rows=True, seed=3) == expected


def test_the_issue_example_returns_only_the_matching_rows(plain_url):
    matching = [i for i in range(ROWS) if _label(i) == 1]
    assert _ours(plain_url, [('label', '==', 1)]) == matching
    assert len(matching) < ROWS // 3 + 1


def test_pruning_still_comes_first(plain_url):
    # id < 10 lives in the first row group of each partition file only
    with make_batch_reader('file://' + plain_url, filters=[('id', '<', 10)], workers_count=1) as reader:
        ids = sorted(int(i) for b in reader for i in b.id)
        d = reader.diagnostics
    assert ids == list(range(10))
    assert d['items_processed'] == 3  # one row group per partition file, of the 12


def test_filters_and_a_predicate_both_hold(plain_url):
    pred = in_lambda(['id'], lambda ids: ids % 2 == 0)
    ids = _ours(plain_url, [('label', '==', 1)], predicate=pred)
    assert ids == [i for i in range(ROWS) if _label(i) == 1 and i % 2 == 0]


def test_errors_name_the_column(plain_url):
    with pytest.raises(ValueError, match="'nope'"):
        make_batch_reader('file://' + plain_url, filters=[('nope', '==', 1)])
    with pytest.raises(ValueError, match='unknown operator'):
        make_batch_reader('file://' + plain_url, filters=[('id', '~', 1)])
    with pytest.raises(ValueError, match="row-exact filters"):
        make_batch_reader('file://' + plain_url, filters=[('id', '<', 5)], shard_mode='rows', cur_shard=0,
                          shard_count=2)


Schema = Unischema('FilterSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(pa.int64()), False),
    UnischemaField('label', np.int32, (), ScalarCodec(pa.int32()), True),
    UnischemaField('name', np.str_, (), ScalarCodec(pa.string()), True),
    UnischemaField('vec', np.float32, (3,), NdarrayCodec(), False),
])


@pytest.fixture(scope='module')
def petastorm_url(tmp_path_factory):
    from petastorm import write_dataset
    path = tmp_path_factory.mktemp('filters') / 'ps'
    rows = [{'id': i, 'label': _label(i), 'name': _name(i), 'vec': np.full(3, i, np.float32)} for i in range(ROWS)]
    write_dataset(str(path), Schema, rows, rows_per_rowgroup=40)
    return str(path)


@pytest.mark.parametrize('pool', ['thread', 'dummy', 'process'])
def test_make_reader_on_a_petastorm_dataset(petastorm_url, pool):
    filters = [[('label', 'in', [1, None]), ('id', '<', 200)], [('name', '==', 'n039')]]
    expected = _pyarrow(petastorm_url, filters)
    with make_reader('file://' + petastorm_url, filters=filters, reader_pool_type=pool, workers_count=2) as reader:
        rows = list(reader)
    assert sorted(int(r.id) for r in rows) == expected
    for r in rows:  # the other fields are those of the matching rows
        np.testing.assert_array_equal(r.vec, np.full(3, r.id, np.float32))
    assert reader.rows_per_epoch is None  # known only by reading


def test_a_codec_field_is_refused_by_name(petastorm_url):
    with pytest.raises(ValueError, match="'vec'"):
        with make_reader('file://' + petastorm_url, filters=[('vec', '==', 1)]) as reader:
            list(reader)
