"""petastorm.reader.Reader constructed as Petastorm's (inventory 2.4, 6.1-6.6): a filesystem and a
path, pool objects, a user's CacheBase, worker classes; and the worker modules on their own."""
import hashlib
import threading

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader
from petastorm.arrow_reader_worker import (ArrowReaderWorker, ArrowReaderWorkerResultsQueueReader,
                                           convert_arrow_table_to_numpy_dict)
from petastorm.cache import CacheBase, NullCache
from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, infer_or_load_unischema, load_row_groups
from petastorm.predicates import in_lambda
from petastorm.py_dict_reader_worker import PyDictReaderWorker, PyDictReaderWorkerResultsQueueReader
from petastorm.reader import LOCAL_DISK_CACHE, NULL_CACHE, _VENTILATE_EXTRA_ROWGROUPS, BatchReader, Reader
from petastorm.transform import TransformSpec
from petastorm.workers_pool import EmptyResultError
from petastorm.workers_pool.dummy_pool import DummyPool
from petastorm.workers_pool.process_pool import ProcessPool
from petastorm.workers_pool.thread_pool import ThreadPool
from petastorm.workers_pool.ventilator import ConcurrentVentilator

ROWS = 230
ROW_GROUPS = 23


class DictCache(CacheBase):
    """A user's cache: a dict, counting fills and gets (thread safe)."""

    def __init__(self):
        self.values = {}
        self.fills = 0
        self.gets = 0
        self._lock = threading.Lock()

    def get(self, key, fill_cache_func):
        with self._lock:
            self.gets += 1
            if key in self.values:
                return self.values[key]
        value = fill_cache_func()
        with self._lock:
            self.fills += 1
            self.values.setdefault(key, value)
        return value


def _path(url):
    return url[len('file://'):]


def test_constants():
    assert (LOCAL_DISK_CACHE, NULL_CACHE, _VENTILATE_EXTRA_ROWGROUPS) == ('local-disk', 'null', 3)


@pytest.mark.parametrize('pool', [None, lambda: ThreadPool(3), lambda: DummyPool(), lambda: ProcessPool(2)],
                         ids=['default', 'thread', 'dummy', 'process'])
def test_filesystem_and_path_with_each_pool(id_vec_url, pool):
    with Reader(pafs.LocalFileSystem(), _path(id_vec_url), reader_pool=pool() if pool else None,
                shuffle_row_groups=False) as reader:
        assert isinstance(reader, Reader) and not reader.batched_output
        rows = list(reader)
    assert sorted(r.id for r in rows) == list(range(ROWS))
    assert all(np.array_equal(r.vec, [r.id, -r.id]) for r in rows)


def test_same_rows_as_make_reader_in_order(id_vec_url):
    with make_reader(id_vec_url, seed=5, num_epochs=2) as reader:
        expected = [r.id for r in reader]
    with Reader(pafs.LocalFileSystem(), _path(id_vec_url), seed=5, num_epochs=2, reader_pool=ThreadPool(4)) as reader:
        assert [r.id for r in reader] == expected


def test_url_as_only_location(id_vec_url):
    with Reader(id_vec_url, shuffle_row_groups=False, reader_pool=DummyPool()) as reader:
        assert [r.id for r in reader] == list(range(ROWS))
    with pytest.raises(ValueError, match='dataset_path'):
        Reader(pafs.LocalFileSystem())


def test_batched_reader_by_flag_and_by_worker_class(id_vec_url):
    for kwargs in ({'is_batched_reader': True}, {'worker_class': ArrowReaderWorker}):
        with Reader(pafs.LocalFileSystem(), _path(id_vec_url), shuffle_row_groups=False, **kwargs) as reader:
            assert isinstance(reader, BatchReader) and reader.batched_output
            batches = list(reader)
        assert np.concatenate([b.id for b in batches]).tolist() == list(range(ROWS))


def test_bad_pool_and_worker_class(id_vec_url):
    with pytest.raises(ValueError, match='reader_pool'):
        Reader(id_vec_url, reader_pool='thread')
    with pytest.raises(ValueError, match='worker_class'):
        Reader(id_vec_url, worker_class=dict)
    with pytest.raises(ValueError, match='ArrowReaderWorker reads batches'):
        Reader(id_vec_url, worker_class=PyDictReaderWorker, is_batched_reader=True)


def test_null_cache_object_is_no_cache(id_vec_url):
    with Reader(id_vec_url, cache=NullCache(), shuffle_row_groups=False) as reader:
        assert [r.id for r in reader] == list(range(ROWS))


@pytest.mark.parametrize('pool', [lambda: DummyPool(), lambda: ThreadPool(3)], ids=['dummy', 'thread'])
def test_user_cache_fills_once_per_row_group(id_vec_url, pool):
    cache = DictCache()
    with Reader(pafs.LocalFileSystem(), _path(id_vec_url), cache=cache, num_epochs=3, shuffle_row_groups=False,
                reader_pool=pool()) as reader:
        assert reader.cache is cache
        ids = [r.id for r in reader]
    assert sorted(ids) == sorted(list(range(ROWS)) * 3)
    assert len(cache.values) == ROW_GROUPS
    assert cache.gets == 3 * ROW_GROUPS
    assert ROW_GROUPS <= cache.fills <= ROW_GROUPS + 3  # threads may race on a miss, as in Petastorm


def test_user_cache_keys_and_values(id_vec_url):
    cache = DictCache()
    with Reader(pafs.LocalFileSystem(), _path(id_vec_url), cache=cache, shuffle_row_groups=False,
                reader_pool=DummyPool()) as reader:
        ids = [r.id for r in reader]
    assert ids == list(range(ROWS))  # the dummy pool keeps the plan's order
    pieces = load_row_groups(id_vec_url)
    digest = hashlib.md5(_path(id_vec_url).encode()).hexdigest()
    assert sorted(cache.values) == sorted('{}:{}:{}'.format(digest, p.path, i) for i, p in enumerate(pieces))
    rows = cache.values['{}:{}:{}'.format(digest, pieces[3].path, 3)]
    assert [r['id'] for r in rows] == list(range(30, 40))  # the decoded rows (dicts) of row group 3
    assert np.array_equal(rows[0]['vec'], [30, -30])


def test_user_cache_serves_without_reading(id_vec_url):
    cache = DictCache()
    with Reader(id_vec_url, cache=cache, shuffle_row_groups=False, reader_pool=DummyPool()) as reader:
        list(reader)
    # Replace every cached value: a second reader must deliver what the cache holds.
    for key, rows in cache.values.items():
        cache.values[key] = [dict(r, id=-1) for r in rows]
    with Reader(id_vec_url, cache=cache, reader_pool=DummyPool()) as reader:
        assert {r.id for r in reader} == {-1}
    assert cache.fills == ROW_GROUPS


def test_user_cache_with_transform_caches_transformed_rows(id_vec_url):
    cache = DictCache()
    spec = TransformSpec(lambda row: dict(row, id=row['id'] * 2), removed_fields=['vec'])
    with Reader(id_vec_url, cache=cache, transform_spec=spec, shuffle_row_groups=False,
                reader_pool=ThreadPool(2)) as reader:
        assert list(reader.schema.fields) == ['id']
        ids = [r.id for r in reader]
    assert ids == [2 * i for i in range(ROWS)]  # the thread pool collects round-robin: the plan's order
    assert all(set(r) == {'id'} for rows in cache.values.values() for r in rows)


def test_user_cache_batched(id_vec_url):
    cache = DictCache()
    with make_batch_reader(id_vec_url, shuffle_row_groups=False) as reader:
        expected = [b.id.tolist() for b in reader]
    with Reader(id_vec_url, cache=cache, is_batched_reader=True, shuffle_row_groups=False,
                reader_pool=ThreadPool(2)) as reader:
        batches = list(reader)
    assert [b.id.tolist() for b in batches] == expected
    assert batches[0].vec.shape == (10, 2)
    assert len(cache.values) == ROW_GROUPS
    assert all(set(v) == {'id', 'vec'} for v in cache.values.values())


def test_user_cache_with_shards_and_seed(id_vec_url):
    with make_reader(id_vec_url, cur_shard=1, shard_count=3, seed=7) as reader:
        expected = [r.id for r in reader]
    with Reader(id_vec_url, cache=DictCache(), cur_shard=1, shard_count=3, seed=7, reader_pool=DummyPool()) as reader:
        assert [r.id for r in reader] == expected


def test_user_cache_refuses_predicate_and_drop_partitions(id_vec_url):
    with pytest.raises(RuntimeError, match='not supported together with shuffle_row_drop_partitions'):
        Reader(id_vec_url, cache=DictCache(), predicate=in_lambda(['id'], lambda i: i < 5))
    with pytest.raises(RuntimeError, match='not supported together with shuffle_row_drop_partitions'):
        Reader(id_vec_url, cache=DictCache(), shuffle_row_drop_partitions=2)


def test_user_cache_reset_only_at_the_end(id_vec_url):
    cache = DictCache()
    with Reader(id_vec_url, cache=cache, shuffle_row_groups=False, reader_pool=ThreadPool(2)) as reader:
        next(reader)
        with pytest.raises(NotImplementedError, match='resetting a reader while in the middle'):
            reader.reset()
        rest = [r.id for r in reader]
        assert rest == list(range(1, ROWS))
        reader.reset()
        assert [r.id for r in reader] == list(range(ROWS))
    assert len(cache.values) == ROW_GROUPS and cache.gets == 2 * ROW_GROUPS


def test_user_cache_error_in_fill_reaches_the_consumer(id_vec_url):
    class Failing(CacheBase):
        def get(self, key, fill_cache_func):
            raise KeyError('cache backend down: ' + key)

    with Reader(id_vec_url, cache=Failing(), reader_pool=ThreadPool(2)) as reader:
        with pytest.raises(KeyError, match='cache backend down'):
            next(reader)


def test_custom_worker_class(id_vec_url):
    seen = []

    class Counting(PyDictReaderWorker):
        def process(self, piece_index, worker_predicate, shuffle_row_drop_partition):
            seen.append(piece_index)
            super(Counting, self).process(piece_index, worker_predicate, shuffle_row_drop_partition)

    with Reader(id_vec_url, worker_class=Counting, reader_pool=DummyPool(), shuffle_row_groups=False,
                shuffle_row_drop_partitions=2) as reader:
        ids = [r.id for r in reader]
    assert ids == list(range(ROWS))
    assert seen == [i for i in range(ROW_GROUPS) for _ in range(2)]


def test_custom_worker_class_with_predicate(id_vec_url):
    class Mine(PyDictReaderWorker):
        pass

    with Reader(id_vec_url, worker_class=Mine, predicate=in_lambda(['id'], lambda i: i % 50 == 0),
                reader_pool=ThreadPool(2), shuffle_row_groups=False) as reader:
        assert [r.id for r in reader] == [0, 50, 100, 150, 200]


def _pool_items(pieces):
    return [{'piece_index': i, 'worker_predicate': None, 'shuffle_row_drop_partition': (0, 1)}
            for i in range(len(pieces))]


def _worker_args(url, schema, pieces, cache=None, transform_spec=None, transformed=None):
    return (pafs.LocalFileSystem(), _path(url), schema, None, pieces, cache or NullCache(), transform_spec,
            transformed or schema, None, False, None, False)


def test_py_dict_reader_worker_on_its_own(id_vec_url):
    schema = get_schema_from_dataset_url(id_vec_url)
    pieces = load_row_groups(id_vec_url)
    pool = ThreadPool(3)
    pool.start(PyDictReaderWorker, _worker_args(id_vec_url, schema, pieces),
               ventilator=ConcurrentVentilator(pool.ventilate, _pool_items(pieces)))
    results = PyDictReaderWorker.new_results_queue_reader()
    assert isinstance(results, PyDictReaderWorkerResultsQueueReader) and not results.batched_output
    ids = []
    with pytest.raises(EmptyResultError):
        while True:
            row = results.read_next(pool, schema, None)
            ids.append(row.id)
    pool.stop()
    pool.join()
    assert ids == list(range(ROWS))  # round-robin collection keeps the ventilation order


def test_arrow_reader_worker_on_its_own(id_vec_url):
    schema = get_schema_from_dataset_url(id_vec_url)
    pieces = load_row_groups(id_vec_url)
    pool = DummyPool()
    pool.start(ArrowReaderWorker, _worker_args(id_vec_url, schema, pieces),
               ventilator=ConcurrentVentilator(pool.ventilate, _pool_items(pieces)[:3]))
    results = ArrowReaderWorker.new_results_queue_reader()
    assert isinstance(results, ArrowReaderWorkerResultsQueueReader) and results.batched_output
    batches = [results.read_next(pool, schema, None) for _ in range(3)]
    with pytest.raises(EmptyResultError):
        results.read_next(pool, schema, None)
    pool.stop()
    pool.join()
    assert np.concatenate([b.id for b in batches]).tolist() == list(range(30))
    assert batches[1].vec.tolist() == [[i, -i] for i in range(10, 20)]


def test_arrow_reader_worker_refuses_ngram(id_vec_url):
    from petastorm.ngram import NGram
    schema = get_schema_from_dataset_url(id_vec_url)
    with pytest.raises(NotImplementedError, match='ngrams are not supported by ArrowReaderWorker'):
        ArrowReaderWorkerResultsQueueReader().read_next(DummyPool(), schema, NGram({0: [schema.id]}, 1, schema.id))


def test_convert_arrow_table_to_numpy_dict(tmp_path):
    table = pa.table({'s': ['a', 'bc'], 'i': pa.array([1, 2], pa.int32()),
                      'l': pa.array([[1, 2], [3, 4]], pa.list_(pa.int64())), 'f': [1.5, None]})
    pq.write_table(table, str(tmp_path / 't.parquet'))
    schema = infer_or_load_unischema('file://' + str(tmp_path))
    out = convert_arrow_table_to_numpy_dict(table, schema)
    assert list(out) == ['s', 'i', 'l', 'f']
    assert out['s'].dtype.kind == 'U' and out['s'].tolist() == ['a', 'bc']
    assert out['i'].dtype == np.int32 and out['i'].tolist() == [1, 2]
    assert out['l'].shape == (2, 2) and out['l'].tolist() == [[1, 2], [3, 4]]
    assert out['f'][0] == 1.5 and np.isnan(out['f'][1])


def test_load_row_groups(tmp_path):
    for part in ('a', 'b'):
        d = tmp_path / 'ds' / 'p={}'.format(part)
        d.mkdir(parents=True)
        pq.write_table(pa.table({'x': list(range(6))}), str(d / 'f.parquet'), row_group_size=2)
    pieces = load_row_groups('file://' + str(tmp_path / 'ds'))
    assert len(pieces) == 6
    assert [(p.path.split('/')[-2], p.row_group, p.partition_keys) for p in pieces] == \
        [('p=a', i, [('p', 'a')]) for i in range(3)] + [('p=b', i, [('p', 'b')]) for i in range(3)]
    import pickle
    assert pickle.loads(pickle.dumps(pieces)) == list(pieces)


def test_user_cache_on_a_process_pool(id_vec_url, tmp_path):
    from pool_workers import PickleFileCache
    cache = PickleFileCache(str(tmp_path))
    for _ in range(2):
        with Reader(id_vec_url, cache=cache, reader_pool=ProcessPool(2), shuffle_row_groups=False) as reader:
            assert sorted(r.id for r in reader) == list(range(ROWS))
    assert len(list(tmp_path.iterdir())) == ROW_GROUPS


def test_reader_attributes(id_vec_url):
    with Reader(pafs.LocalFileSystem(), _path(id_vec_url), num_epochs=1) as reader:
        assert reader.num_epochs == 1 and reader.ngram is None and not reader.is_batched_reader
        assert reader.ventilator is None and reader._workers_pool is None and reader.cache is None
        assert not reader.last_row_consumed and not reader.stopped
        dataset = reader.dataset
        assert sum(f.num_row_groups for f in dataset.fragments) == ROW_GROUPS
        assert dataset.read(columns=['id']).num_rows == ROWS
        list(reader)
        assert reader.last_row_consumed
    assert reader.stopped
    pool = ThreadPool(2)
    with Reader(id_vec_url, cache=DictCache(), reader_pool=pool) as reader:
        assert reader._workers_pool is pool and reader.ventilator is not None
        assert 'output_queue_size' in reader.diagnostics
        with pytest.raises(NotImplementedError, match='does not resume'):
            reader.load_state_dict(reader.state_dict())


def test_user_cache_endless_and_empty(id_vec_url):
    with Reader(id_vec_url, cache=DictCache(), num_epochs=None, reader_pool=ThreadPool(2)) as reader:
        ids = [next(reader).id for _ in range(3 * ROWS)]
    assert sorted(ids) == sorted(list(range(ROWS)) * 3)
    with pytest.warns(UserWarning, match='No matching data'):
        reader = Reader(id_vec_url, cache=DictCache(), num_epochs=None, filters=[('id', '>', 10 ** 6)])
    with reader:
        assert list(reader) == []


def test_user_cache_with_filters(id_vec_url):
    with Reader(id_vec_url, cache=DictCache(), filters=[('id', '<', 15)], reader_pool=DummyPool(),
                shuffle_row_groups=False) as reader:
        assert [r.id for r in reader] == list(range(15))


def test_process_pool_diagnostics_have_petastorms_keys(id_vec_url):
    with make_reader(id_vec_url, reader_pool_type='process', workers_count=2) as reader:
        list(reader)
        d = reader.diagnostics
    assert d['items_consumed'] == d['items_produced'] == ROW_GROUPS and d['items_inprocess'] == 0


@pytest.mark.parametrize('batched', [False, True])
def test_torch_loaders_over_a_user_cache_reader(id_vec_url, batched):
    from petastorm.pytorch import BatchedDataLoader, DataLoader
    loader_class = BatchedDataLoader if batched else DataLoader
    reader = Reader(id_vec_url, cache=DictCache(), reader_pool=ThreadPool(2), shuffle_row_groups=False,
                    is_batched_reader=batched)
    with loader_class(reader, batch_size=16) as loader:
        batches = list(loader)
    ids = np.concatenate([b['id'].numpy() for b in batches])
    assert ids.tolist() == list(range(ROWS))
    assert batches[0]['vec'].shape == (16, 2) and batches[0]['vec'][3].tolist() == [3, -3]
