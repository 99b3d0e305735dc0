"""The reader engine through make_reader: plan, shuffles, shards, pools, epochs, reset, errors."""
import threading

import numpy as np
import pyarrow as pa
import pytest

from petastorm import NoDataAvailableError, TransformSpec, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.ngram import NGram
from petastorm.unischema import Unischema, UnischemaField

EngineSchema = Unischema('EngineSchema', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('ts', np.int64, ()),
    UnischemaField('label', np.str_, ()),
    UnischemaField('vec', np.float32, (3,), NdarrayCodec()),
])
ROWS = 200
ROWS_PER_GROUP = 10


def _row(i):
    # Timestamps jump by 10 after every 5 rows, to make some n-gram windows invalid.
    return {'id': i, 'ts': i + 10 * (i // 5), 'label': 'l{}'.format(i % 7),
            'vec': np.array([i, i * 2, i * 3], np.float32)}


@pytest.fixture(scope='module')
def engine_url(tmp_path_factory):
    path = tmp_path_factory.mktemp('engine') / 'ds'
    write_dataset(str(path), EngineSchema, [_row(i) for i in range(ROWS)], rows_per_rowgroup=ROWS_PER_GROUP)
    return 'file://' + str(path)


def _ids(url, **kwargs):
    kwargs.setdefault('schema_fields', ['id'])
    with make_reader(url, **kwargs) as reader:
        return [int(r.id) for r in reader]


def test_values_intact_through_the_thread_pool(engine_url):
    with make_reader(engine_url, workers_count=3, seed=1, shuffle_rows=True) as reader:
        rows = list(reader)
    assert sorted(int(r.id) for r in rows) == list(range(ROWS))
    for r in rows:
        expected = _row(int(r.id))
        assert r.ts == expected['ts'] and r.label == expected['label']
        np.testing.assert_array_equal(r.vec, expected['vec'])


def test_same_sequence_for_any_workers_count_with_a_seed(engine_url):
    kwargs = dict(seed=42, shuffle_rows=True, shuffle_row_drop_partitions=3, num_epochs=2)
    sequences = [_ids(engine_url, workers_count=w, **kwargs) for w in (1, 2, 10)]
    sequences.append(_ids(engine_url, reader_pool_type='dummy', **kwargs))
    assert sequences[0] == sequences[1] == sequences[2] == sequences[3]
    assert sorted(sequences[0]) == sorted(list(range(ROWS)) * 2)
    assert sequences[0] != _ids(engine_url, workers_count=2, seed=43, shuffle_rows=True,
                                shuffle_row_drop_partitions=3, num_epochs=2)


def test_unshuffled_order_is_storage_order(engine_url):
    assert _ids(engine_url, shuffle_row_groups=False) == list(range(ROWS))
    assert _ids(engine_url, shuffle_row_groups=False, workers_count=1) == list(range(ROWS))


def test_row_group_shuffle_changes_each_epoch_and_keeps_groups_whole(engine_url):
    ids = _ids(engine_url, seed=7, num_epochs=2)
    first, second = ids[:ROWS], ids[ROWS:]
    assert sorted(first) == sorted(second) == list(range(ROWS))
    assert first != second
    groups = [first[i:i + ROWS_PER_GROUP] for i in range(0, ROWS, ROWS_PER_GROUP)]
    for g in groups:  # rows within a group stay in storage order without shuffle_rows
        assert g == list(range(g[0], g[0] + ROWS_PER_GROUP))
    assert [g[0] for g in groups] != sorted(g[0] for g in groups)


def test_shuffle_rows_permutes_within_row_groups(engine_url):
    ids = _ids(engine_url, seed=3, shuffle_rows=True, shuffle_row_groups=False)
    assert ids != list(range(ROWS))
    for start in range(0, ROWS, ROWS_PER_GROUP):
        assert sorted(ids[start:start + ROWS_PER_GROUP]) == list(range(start, start + ROWS_PER_GROUP))


@pytest.mark.parametrize('partitions', [2, 3, 10, 25])
def test_drop_partitions_keep_every_row_exactly_once(engine_url, partitions):
    ids = _ids(engine_url, seed=5, shuffle_rows=True, shuffle_row_drop_partitions=partitions)
    assert sorted(ids) == list(range(ROWS))


@pytest.mark.parametrize('shard_count', [1, 2, 3, 4])
@pytest.mark.parametrize('seed', [None, 11])
def test_shards_are_disjoint_and_complete(engine_url, shard_count, seed):
    shards = [set(_ids(engine_url, cur_shard=s, shard_count=shard_count, seed=seed)) for s in range(shard_count)]
    for a in range(shard_count):
        for b in range(a + 1, shard_count):
            assert not shards[a] & shards[b]
    assert set().union(*shards) == set(range(ROWS))


def test_shard_seed_changes_assignment_deterministically(engine_url):
    def shard0(seed):
        return sorted(_ids(engine_url, cur_shard=0, shard_count=2, seed=seed))
    assert shard0(1) == shard0(1)
    assert shard0(1) != shard0(2)
    with pytest.warns(UserWarning, match='shard_seed was deprecated'):
        deprecated = sorted(_ids(engine_url, cur_shard=0, shard_count=2, shard_seed=1))
    assert deprecated == shard0(1)


def test_shard_argument_errors(engine_url):
    with pytest.raises(NoDataAvailableError, match='Number of row-groups'):
        make_reader(engine_url, cur_shard=0, shard_count=ROWS // ROWS_PER_GROUP + 1)
    for kwargs in ({'cur_shard': 0}, {'shard_count': 2}, {'cur_shard': 0, 'shard_count': 0},
                   {'cur_shard': '0', 'shard_count': 2}):
        with pytest.raises(ValueError, match='partition and num_partitions'):
            make_reader(engine_url, **kwargs)
    with pytest.raises(ValueError, match='cur_shard'):
        make_reader(engine_url, cur_shard=2, shard_count=2)


def test_reset_mid_iteration_starts_over(engine_url):
    with make_reader(engine_url, schema_fields=['id'], seed=9, workers_count=2) as reader:
        head = [int(next(reader).id) for _ in range(25)]
        reader.reset()
        again = [int(r.id) for r in reader]
        assert again[:25] == head
        assert sorted(again) == list(range(ROWS))
        reader.reset()
        assert len(list(reader)) == ROWS


def test_stop_and_join_leave_no_threads(engine_url):
    before = threading.active_count()
    reader = make_reader(engine_url, workers_count=4, num_epochs=None)
    next(reader)
    reader.stop()
    reader.join()
    with pytest.raises(RuntimeError, match='has stopped'):
        next(reader)
    assert threading.active_count() == before


def test_diagnostics(engine_url):
    with make_reader(engine_url, schema_fields=['id', 'vec'], workers_count=2) as reader:
        rows = list(reader)
        d = reader.diagnostics
    assert d['rows_delivered'] == len(rows) == ROWS
    assert d['items_processed'] == ROWS // ROWS_PER_GROUP
    assert d['output_queue_size'] == 0
    assert d['decode_seconds'] > 0 and d['read_seconds'] > 0


def test_results_queue_size_bounds_read_ahead(engine_url):
    with make_reader(engine_url, workers_count=4, results_queue_size=2, num_epochs=None) as reader:
        for _ in range(30):
            next(reader)
            assert reader.diagnostics['items_in_flight'] <= 2


def test_transform_spec(engine_url):
    def double(row):
        row['vec'] = row['vec'] * 2
        row['id_plus'] = row['id'] + 1
        return row
    spec = TransformSpec(double, edit_fields=[('id_plus', np.int64, (), False)], removed_fields=['label'])
    with make_reader(engine_url, transform_spec=spec, shuffle_row_groups=False) as reader:
        assert list(reader.schema.fields) == ['id', 'ts', 'vec', 'id_plus']
        row = next(reader)
    assert row._fields == ('id', 'ts', 'vec', 'id_plus')
    assert row.id_plus == 1
    np.testing.assert_array_equal(row.vec, [0, 0, 0])
    np.testing.assert_array_equal(next(iter([row])).vec, _row(0)['vec'] * 2)


def test_exception_in_transform_reaches_consumer(engine_url):
    class Boom(Exception):
        pass

    def fail(row):
        raise Boom('transform failed on {}'.format(row['id']))
    with make_reader(engine_url, transform_spec=TransformSpec(fail)) as reader:
        with pytest.raises(Boom, match='transform failed'):
            next(reader)


def test_ngram_windows(engine_url):
    ngram = NGram({-1: [EngineSchema.id, EngineSchema.ts], 0: [EngineSchema.id], 1: ['label']},
                  delta_threshold=1, timestamp_field=EngineSchema.ts)
    with make_reader(engine_url, schema_fields=ngram, shuffle_row_groups=False) as reader:
        windows = list(reader)
    # Within each row group of 10 rows: ts runs of 5 consecutive values, so windows of 3 fit at
    # positions 0-2 of each run: 3 per run, 2 runs per group.
    assert len(windows) == (ROWS // ROWS_PER_GROUP) * 2 * 3
    first = windows[0]
    assert sorted(first) == [-1, 0, 1]
    assert first[-1]._fields == ('id', 'ts') and first[0]._fields == ('id',) and first[1]._fields == ('label',)
    assert (int(first[-1].id), int(first[0].id), first[1].label) == (0, 1, 'l2')
    for w in windows:
        assert int(w[0].id) == int(w[-1].id) + 1
    no_overlap = NGram({0: [EngineSchema.id], 1: [EngineSchema.id]}, delta_threshold=1,
                       timestamp_field=EngineSchema.ts, timestamp_overlap=False)
    with make_reader(engine_url, schema_fields=no_overlap, shuffle_row_groups=False) as reader:
        starts = [int(w[0].id) for w in reader]
    assert starts[:6] == [0, 2, 5, 7, 10, 12]


def test_worker_error_reaches_consumer_and_threads_end(tmp_path):
    """A corrupt cell in one row group: the error names it; the reader does not hang."""
    import json
    import pyarrow.parquet as pq
    path = tmp_path / 'ds'
    write_dataset(str(path), EngineSchema, [_row(i) for i in range(30)], rows_per_rowgroup=10)
    table = pa.table({'id': pa.array([0], pa.int64()), 'ts': pa.array([0], pa.int64()),
                      'label': pa.array(['x']), 'vec': pa.array([b'garbage'], pa.binary())})
    pq.write_table(table, str(path / 'zz-bad.parquet'))
    md = pq.read_metadata(str(path / '_common_metadata'))
    kv = dict(md.metadata)
    counts = json.loads(kv[b'dataset-toolkit.num_row_groups_per_file.v1'])
    counts['zz-bad.parquet'] = 1
    kv[b'dataset-toolkit.num_row_groups_per_file.v1'] = json.dumps(counts).encode()
    pq.write_metadata(md.schema.to_arrow_schema().with_metadata(kv), str(path / '_common_metadata'))
    before = threading.active_count()
    with make_reader('file://' + str(path), workers_count=3, shuffle_row_groups=False) as reader:
        with pytest.raises(ValueError) as info:
            list(reader)
    assert 'zz-bad.parquet' in str(info.value) and "'vec'" in str(info.value)
    assert threading.active_count() == before


def test_filters_prune_row_groups_by_statistics_then_select_rows(engine_url):
    # Row groups are pruned by statistics first, then rows selected (pyarrow's semantics; the
    # original Petastorm stops after the pruning and returns non-matching rows too).
    with make_reader(engine_url, filters=[('id', '>=', 150)], shuffle_row_groups=False) as reader:
        assert [int(r.id) for r in reader] == list(range(150, ROWS))
        assert reader.diagnostics['items_processed'] == (ROWS - 150) // 10
    ids = _ids(engine_url, filters=[[('id', '<', 5)], [('id', 'in', {195})]], shuffle_row_groups=False)
    assert ids == list(range(0, 5)) + [195]
    ids = _ids(engine_url, filters=[('id', '>', 12), ('id', '<=', 25)], shuffle_row_groups=False)
    assert ids == list(range(13, 26))
    assert _ids(engine_url, filters=[('label', '=', 'nothing-like-this')]) == []
    with pytest.raises(ValueError, match="'nope'"):
        make_reader(engine_url, filters=[('nope', '=', 1)])
    with pytest.raises(ValueError, match='tuple'):
        make_reader(engine_url, filters=[('id', '=')])


def test_local_disk_cache_is_reused_across_epochs_and_readers(engine_url, tmp_path):
    cache_dir = tmp_path / 'cache'
    kwargs = dict(cache_type='local-disk', cache_location=str(cache_dir), cache_size_limit=10 << 20,
                  cache_row_size_estimate=100, shuffle_row_groups=False,
                  cache_extra_settings={'cleanup': False})
    # One worker: the second epoch starts after the first stored everything (with more workers
    # the epochs overlap, and a row group being stored can be missed once more).
    with make_reader(engine_url, num_epochs=2, workers_count=1, **kwargs) as reader:
        rows = list(reader)
        stats = reader.cache.stats
    groups = ROWS // ROWS_PER_GROUP
    assert stats['misses'] == groups and stats['hits'] == groups and stats['stores'] == groups
    assert [int(r.id) for r in rows] == list(range(ROWS)) * 2
    for r in rows[:20]:
        np.testing.assert_array_equal(r.vec, _row(int(r.id))['vec'])
    assert len(list(cache_dir.iterdir())) == groups
    # A new reader of the same dataset and fields reads from the cache only.
    with make_reader(engine_url, **kwargs) as reader:
        again = [int(r.id) for r in reader]
        assert reader.cache.stats['hits'] == groups and reader.cache.stats['misses'] == 0
    assert again == list(range(ROWS))
    # Corrupt one entry: it is detected and re-read from the source.
    entry = sorted(cache_dir.iterdir())[0]
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    with make_reader(engine_url, **kwargs) as reader:
        assert [int(r.id) for r in reader] == list(range(ROWS))
        assert reader.cache.stats['dropped'] == 1 and reader.cache.stats['misses'] == 1
    # With predicates and drop partitions too (Petastorm refuses both with a cache).
    with make_reader(engine_url, shuffle_row_drop_partitions=3, seed=1, shuffle_rows=True,
                     **dict(kwargs, shuffle_row_groups=True)) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(ROWS))


def test_local_disk_cache_cleanup_on_exit(engine_url, tmp_path, capsys):
    cache_dir = tmp_path / 'cache'
    with make_reader(engine_url, cache_type='local-disk', cache_location=str(cache_dir),
                     cache_size_limit=10 << 20) as reader:
        list(reader)
        assert any(cache_dir.iterdir())
    assert 'Cache cleanup complete.' in capsys.readouterr().out
    assert not cache_dir.exists() or not any(cache_dir.iterdir())
    with pytest.raises(ValueError, match='needs cache_location'):
        make_reader(engine_url, cache_type='local-disk')
    with pytest.raises(ValueError, match='5'):
        make_reader(engine_url, cache_type='local-disk', cache_location=str(cache_dir),
                    cache_size_limit=1000, cache_row_size_estimate=1000)


def _plus_one(row):
    row['id'] = row['id'] + 1000
    return row


def test_process_pool_gives_the_thread_pool_sequence(engine_url):
    kwargs = dict(seed=21, shuffle_rows=True, shuffle_row_drop_partitions=2, num_epochs=2)
    threads = _ids(engine_url, workers_count=2, **kwargs)
    processes = _ids(engine_url, reader_pool_type='process', workers_count=3, **kwargs)
    assert processes == threads
    spec = TransformSpec(_plus_one)
    with make_reader(engine_url, reader_pool_type='process', workers_count=2, transform_spec=spec,
                     shuffle_row_groups=False) as reader:
        rows = list(reader)
    assert [int(r.id) for r in rows] == [i + 1000 for i in range(ROWS)]
    for r in rows[:15]:
        np.testing.assert_array_equal(r.vec, _row(int(r.id) - 1000)['vec'])
        assert r.label == _row(int(r.id) - 1000)['label']


def test_process_pool_errors(engine_url):
    with pytest.raises(ValueError, match='pickle'):
        make_reader(engine_url, reader_pool_type='process', transform_spec=TransformSpec(lambda row: row))
    with make_reader(engine_url, reader_pool_type='process', workers_count=2,
                     transform_spec=TransformSpec(_fail_transform)) as reader:
        with pytest.raises(KeyError, match='no such key'):
            next(reader)


def _fail_transform(row):
    raise KeyError('no such key')


def test_dropping_a_reader_with_a_python_predicate_does_not_deadlock(tmp_path):
    """Workers blocked on the GIL in a Python predicate while the reader is destroyed."""
    import subprocess
    import sys
    script = tmp_path / 'drop_reader.py'
    script.write_text('''
import time
import numpy as np
from petastorm import make_reader, write_dataset
from petastorm.predicates import in_lambda
from petastorm.unischema import Unischema, UnischemaField
S = Unischema('S', [UnischemaField('id', np.int64, ())])
url = 'file://{}'
write_dataset(url, S, [{{'id': i}} for i in range(2000)], rows_per_rowgroup=10)
def slow(x):
    time.sleep(0.0005)
    return True
for _ in range(3):
    r = make_reader(url, predicate=in_lambda(['id'], slow), workers_count=8)
    next(r)
    del r
print('done')
'''.format(tmp_path / 'ds'))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'done' in result.stdout


def test_predicates_through_make_reader(engine_url):
    from petastorm.predicates import in_lambda, in_negate, in_pseudorandom_split, in_reduce, in_set
    # The predicate's field need not be delivered.
    with make_reader(engine_url, schema_fields=['vec'], predicate=in_set({3, 77, 150}, 'id'),
                     shuffle_row_groups=False, workers_count=3) as reader:
        vecs = [r.vec for r in reader]
    assert [int(v[0]) for v in vecs] == [3, 77, 150]
    assert _ids(engine_url, predicate=in_negate(in_set({'l0'}, 'label')), shuffle_row_groups=False) == \
        [i for i in range(ROWS) if i % 7 != 0]
    both = in_reduce([in_set(set(range(50)), 'id'), in_lambda(['ts'], lambda ts: ts % 2 == 0)], all)
    assert _ids(engine_url, predicate=both, shuffle_row_groups=False) == \
        [i for i in range(50) if _row(i)['ts'] % 2 == 0]
    splits = [set(_ids(engine_url, predicate=in_pseudorandom_split([0.3, 0.7], k, 'id'))) for k in (0, 1)]
    assert not splits[0] & splits[1] and splits[0] | splits[1] == set(range(ROWS))
    assert 30 < len(splits[0]) < 90
    with pytest.raises(ValueError, match='not valid schema names'):
        make_reader(engine_url, predicate=in_set({1}, 'nope'))
    with pytest.raises(ValueError, match='PredicateBase'):
        make_reader(engine_url, predicate=lambda row: True)


PartitionedSchema = Unischema('PartitionedSchema', [
    UnischemaField('partition_key', np.str_, ()),
    UnischemaField('id', np.int64, ()),
    UnischemaField('vec', np.float32, (3,), NdarrayCodec()),
])


@pytest.fixture(scope='module')
def partitioned_url(tmp_path_factory):
    """A hive-partitioned store written by pyarrow, made a Petastorm dataset afterwards."""
    import pyarrow.parquet as pq
    from petastorm.etl.dataset_metadata import write_dataset_metadata
    path = tmp_path_factory.mktemp('partitioned') / 'ds'
    codec = NdarrayCodec()
    ids = list(range(60))
    table = pa.table({
        'partition_key': ['p_{}'.format(i // 10) for i in ids],
        'id': pa.array(ids, pa.int64()),
        'vec': pa.array([codec.encode(PartitionedSchema.vec, _row(i)['vec']) for i in ids], pa.binary())})
    pq.write_to_dataset(table, str(path), partition_cols=['partition_key'], row_group_size=5)
    write_dataset_metadata('file://' + str(path), PartitionedSchema)
    return 'file://' + str(path)


def test_hive_partitions_become_fields(partitioned_url):
    from petastorm import _core
    assert [k for k, _ in _core.Dataset(partitioned_url).partition_keys] == ['partition_key']
    with make_reader(partitioned_url, shuffle_row_groups=False) as reader:
        rows = list(reader)
    assert sorted(int(r.id) for r in rows) == list(range(60))
    for r in rows:
        assert r.partition_key == 'p_{}'.format(int(r.id) // 10) and isinstance(r.partition_key, np.str_)
        np.testing.assert_array_equal(r.vec, _row(int(r.id))['vec'])


def test_partition_predicates_and_filters_prune_at_plan_time(partitioned_url):
    from petastorm.predicates import in_set
    with make_reader(partitioned_url, predicate=in_set({'p_2', 'p_5'}, 'partition_key')) as reader:
        ids = sorted(int(r.id) for r in reader)
        # Only the row groups of the two matching partitions were read.
        assert reader.diagnostics['items_processed'] == 4
    assert ids == list(range(20, 30)) + list(range(50, 60))
    with make_reader(partitioned_url, schema_fields=['id'], filters=[('partition_key', 'in', {'p_0', 'p_3'})]) as r:
        assert sorted(int(x.id) for x in r) == list(range(0, 10)) + list(range(30, 40))
    with make_reader(partitioned_url, schema_fields=['id'],
                     filters=[('partition_key', '=', 'p_1'), ('id', '>=', 15)]) as r:
        assert sorted(int(x.id) for x in r) == list(range(15, 20))


def test_ngram_with_drop_partitions_spans_the_cuts(engine_url):
    ngram = NGram({0: [EngineSchema.id], 1: [EngineSchema.id]}, delta_threshold=1, timestamp_field=EngineSchema.ts)
    with make_reader(engine_url, schema_fields=ngram, shuffle_row_groups=False) as reader:
        whole = [int(w[0].id) for w in reader]
    for parts in (2, 3):
        with make_reader(engine_url, schema_fields=ngram, shuffle_row_groups=False,
                         shuffle_row_drop_partitions=parts) as reader:
            assert sorted(int(w[0].id) for w in reader) == sorted(whole)
