"""Resumable PyTorch loaders: state_dict / load_state_dict (torchdata's StatefulDataLoader protocol)."""
import json
import subprocess
import sys

import pytest

from petastorm import make_batch_reader, make_reader
from petastorm.predicates import in_lambda
from petastorm.pytorch import BatchedDataLoader, DataLoader

from conftest import ID_VEC_ROWS

ROWS = ID_VEC_ROWS


@pytest.fixture(scope='module')
def url(id_vec_url):
    return id_vec_url


def _make(url, factory, reader_kwargs, loader_cls, loader_kwargs):
    make = make_reader if factory == 'make_reader' else make_batch_reader
    return loader_cls(make(url, **reader_kwargs), **loader_kwargs)


def _batches(loader, n=None):
    out = []
    if n == 0:
        return out
    for batch in loader:
        ids = batch['id'].tolist()
        assert batch['vec'][:, 0].tolist() == [float(i) for i in ids]  # fields travel together
        out.append(ids)
        if n is not None and len(out) == n:
            break
    return out


_CHILD = '''
import json, sys
from petastorm import make_batch_reader, make_reader
from petastorm.pytorch import BatchedDataLoader, DataLoader
url, factory, reader_kwargs, loader_name, loader_kwargs, state = json.loads(sys.stdin.read())
make = make_reader if factory == 'make_reader' else make_batch_reader
loader = dict(DataLoader=DataLoader, BatchedDataLoader=BatchedDataLoader)[loader_name](
    make(url, **reader_kwargs), **loader_kwargs)
loader.load_state_dict(state)
with loader:
    print(json.dumps([b['id'].tolist() for b in loader]))
'''


def _resume_in_new_process(url, factory, reader_kwargs, loader_cls, loader_kwargs, state):
    out = subprocess.run([sys.executable, '-c', _CHILD], capture_output=True, text=True, check=True,
                         input=json.dumps([url, factory, reader_kwargs, loader_cls.__name__, loader_kwargs, state]))
    return json.loads(out.stdout)


@pytest.mark.parametrize('factory', ['make_reader', 'make_batch_reader'])
@pytest.mark.parametrize('pool,workers,capacity', [('thread', 1, 0), ('thread', 1, 50), ('thread', 10, 0),
                                                    ('thread', 10, 50), ('dummy', 1, 0), ('dummy', 1, 50),
                                                    ('process', 3, 50)])
def test_resume_in_a_new_process_gives_the_rest_of_the_uninterrupted_run(url, factory, pool, workers, capacity):
    reader_kwargs = dict(schema_fields=['id', 'vec'], reader_pool_type=pool, workers_count=workers, seed=3,
                         shuffle_rows=True, num_epochs=2)
    loader_kwargs = dict(batch_size=16, shuffling_queue_capacity=capacity)
    with _make(url, factory, reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        full = _batches(loader)
    assert sorted(sum(full, [])) == sorted(list(range(ROWS)) * 2)
    for k in (5, 17):
        with _make(url, factory, reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
            head = _batches(loader, k)
            state = json.loads(json.dumps(loader.state_dict()))
        assert head == full[:k]
        assert state['kind'] == 'petastorm.loader' and state['batches'] == k
        assert 'id' not in json.dumps(state)  # counters, never rows
        assert _resume_in_new_process(url, factory, reader_kwargs, BatchedDataLoader, loader_kwargs,
                                      state) == full[k:]


@pytest.mark.parametrize('loader_cls', [DataLoader, BatchedDataLoader])
@pytest.mark.parametrize('drop_last', [False, True])
def test_resume_at_every_batch_in_process(url, loader_cls, drop_last):
    reader_kwargs = dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=1, shuffle_row_drop_partitions=2)
    loader_kwargs = dict(batch_size=7, shuffling_queue_capacity=30, drop_last=drop_last)
    with _make(url, 'make_reader', reader_kwargs, loader_cls, loader_kwargs) as loader:
        full = _batches(loader)
    for k in range(len(full) + 1):
        with _make(url, 'make_reader', reader_kwargs, loader_cls, loader_kwargs) as loader:
            assert _batches(loader, k) == full[:k]
            state = loader.state_dict()
        with _make(url, 'make_reader', reader_kwargs, loader_cls, loader_kwargs) as loader:
            loader.load_state_dict(state)
            assert _batches(loader) == full[k:], k


def test_resume_reads_again_only_the_live_row_groups(url):
    """A resume reads the row groups the shuffling buffer still held, not the pass so far."""
    reader_kwargs = dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=1, shuffle_row_groups=False)
    loader_kwargs = dict(batch_size=10, shuffling_queue_capacity=0)
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        _batches(loader, 15)
        state = loader.state_dict()
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        loader.load_state_dict(state)
        rest = _batches(loader)
        assert loader.reader.diagnostics['items_consumed'] == 8  # 23 row groups, 15 done
    assert rest == [list(range(i, i + 10)) for i in range(150, ROWS, 10)]


def test_resume_with_a_predicate_replays_the_pass(url):
    reader_kwargs = dict(schema_fields=['id', 'vec'], reader_pool_type='thread', seed=2,
                         predicate=in_lambda(['id'], lambda i: i % 3 != 0))
    loader_kwargs = dict(batch_size=8, shuffling_queue_capacity=40)
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        full = _batches(loader)
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        _batches(loader, 6)
        state = loader.state_dict()
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        loader.load_state_dict(state)
        assert _batches(loader) == full[6:]


def test_state_between_passes_and_after_break(url):
    reader_kwargs = dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=4)
    loader_kwargs = dict(batch_size=20, shuffling_queue_capacity=25)
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        first, second = _batches(loader), _batches(loader)  # two passes (the reader is reset)
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        assert _batches(loader) == first
        state = loader.state_dict()
        assert not state['in_pass'] and state['pass_index'] == 1
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        loader.load_state_dict(state)
        assert _batches(loader) == second
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        for i, _ in enumerate(loader):
            if i == 3:
                break
        state = loader.state_dict()  # the generator is left: the state is where it was left
        assert state['in_pass'] and state['batches'] == 4
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, loader_kwargs) as loader:
        loader.load_state_dict(state)
        assert _batches(loader) == first[4:]
        assert _batches(loader) == second


def test_loaded_state_must_match_the_loader(url):
    reader_kwargs = dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=4)
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, dict(batch_size=20)) as loader:
        _batches(loader, 2)
        state = loader.state_dict()
    with _make(url, 'make_reader', reader_kwargs, BatchedDataLoader, dict(batch_size=10)) as loader:
        with pytest.raises(ValueError, match='batch_size=20'):
            loader.load_state_dict(state)
        with pytest.raises(ValueError, match='not a loader state'):
            loader.load_state_dict(loader.reader.state_dict())
        with pytest.raises(ValueError, match='version'):
            loader.load_state_dict(dict(state, version=99))


def _elastic_loader(url, shard, count, shard_mode, capacity, **reader_kwargs):
    reader_kwargs = dict(dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=9), **reader_kwargs)
    return _make(url, 'make_reader', dict(reader_kwargs, cur_shard=shard, shard_count=count, shard_mode=shard_mode),
                 BatchedDataLoader, dict(batch_size=6, shuffling_queue_capacity=capacity))


@pytest.mark.parametrize('shard_mode', ['rows', 'row_groups'])
@pytest.mark.parametrize('capacity', [0, 20])
@pytest.mark.parametrize('new_count', [2, 8])
def test_elastic_loader_resume_covers_the_rest_once(url, new_count, capacity, shard_mode):
    taken = []
    states = []
    epoch = []  # the rows the saving run's epoch covers (rows: 230 // 4 * 4, the remainder dropped)
    for shard in range(4):
        with _elastic_loader(url, shard, 4, shard_mode, capacity) as loader:
            epoch += sum(_batches(loader), [])
        with _elastic_loader(url, shard, 4, shard_mode, capacity) as loader:
            taken += sum(_batches(loader, shard + 1), [])
            states.append(json.loads(json.dumps(loader.state_dict())))
    assert len(epoch) == len(set(epoch)) == (228 if shard_mode == 'rows' else ROWS)
    rest = []
    counts = []
    for shard in range(new_count):
        with _elastic_loader(url, shard, new_count, shard_mode, capacity, reader_pool_type='thread',
                             workers_count=2) as loader:
            loader.load_state_dict(states)
            mine = sum(_batches(loader), [])
            rest += mine
            counts.append(len(mine))
    # Every row of the epoch the saving run had not returned, exactly once across the new shards
    # (the rows its shuffling buffers held too).
    assert sorted(taken + rest) == sorted(epoch)
    if shard_mode == 'rows':
        assert max(counts) - min(counts) <= 1


def test_elastic_loader_resume_with_a_shuffling_buffer_onto_worker_processes(url):
    taken, states, epoch = [], [], []
    for shard in range(4):
        with _elastic_loader(url, shard, 4, 'row_groups', 20) as loader:
            epoch += sum(_batches(loader), [])
        with _elastic_loader(url, shard, 4, 'row_groups', 20) as loader:
            taken += sum(_batches(loader, shard + 1), [])
            states.append(json.loads(json.dumps(loader.state_dict())))
    rest = []
    for shard in range(3):
        with _elastic_loader(url, shard, 3, 'row_groups', 20, reader_pool_type='process', workers_count=2) as loader:
            loader.load_state_dict(states)
            rest += sum(_batches(loader), [])
    assert sorted(taken + rest) == sorted(epoch) == list(range(ROWS))


def test_elastic_resume_with_a_shuffling_buffer_resumes_exactly_again(url):
    """A state saved in the pass an elastic resume started resumes exactly (same shard)."""
    states = []
    for shard in range(4):
        with _elastic_loader(url, shard, 4, 'rows', 20) as loader:
            _batches(loader, 3)
            states.append(loader.state_dict())
    with _elastic_loader(url, 0, 2, 'rows', 20) as loader:
        loader.load_state_dict(states)
        whole = _batches(loader)
    with _elastic_loader(url, 0, 2, 'rows', 20) as loader:
        loader.load_state_dict(states)
        first = _batches(loader, 4)
        state = json.loads(json.dumps(loader.state_dict()))
    assert any(len(item) == 10 for item in state['reader']['position']['first_items'])  # narrowed items
    assert first + _resume_in_new_process(url, 'make_reader', dict(schema_fields=['id', 'vec'], reader_pool_type='dummy',
                                                                    seed=9, cur_shard=0, shard_count=2,
                                                                    shard_mode='rows'),
                                          BatchedDataLoader, dict(batch_size=6, shuffling_queue_capacity=20),
                                          state) == whole


def test_elastic_resume_needs_row_counts_known_before_reading(url):
    states = []
    keep = in_lambda(['id'], lambda i: i % 3 != 0)
    for shard in range(2):
        with _make(url, 'make_reader', dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=9,
                                            cur_shard=shard, shard_count=2, predicate=keep), BatchedDataLoader,
                   dict(batch_size=6, shuffling_queue_capacity=20)) as loader:
            _batches(loader, 2)
            states.append(loader.state_dict())
    with _make(url, 'make_reader', dict(schema_fields=['id', 'vec'], reader_pool_type='dummy', seed=9, predicate=keep),
               BatchedDataLoader, dict(batch_size=6, shuffling_queue_capacity=20)) as loader:
        with pytest.raises(NotImplementedError, match='row counts known before reading'):
            loader.load_state_dict(states)


def test_torchdata_protocol_names():
    assert callable(BatchedDataLoader.state_dict) and callable(BatchedDataLoader.load_state_dict)
    assert callable(DataLoader.state_dict) and callable(DataLoader.load_state_dict)
