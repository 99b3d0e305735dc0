"""Resumable readers (state_dict / load_state_dict, exact and elastic) and shard_mode='rows'."""
import json
import subprocess
import sys

import pytest

from petastorm import make_batch_reader, make_reader

from conftest import ID_VEC_ROWS

ROWS = ID_VEC_ROWS


@pytest.fixture(scope='module')
def url(id_vec_url):
    return id_vec_url


def _ids(reader, n=None):
    out = []
    if n == 0:
        return out
    for row in reader:
        out.append(int(row.id))
        if n is not None and len(out) == n:
            break
    return out


def _resume_in_new_process(url, kwargs, state):
    """The ids a new process's reader gives after load_state_dict(state)."""
    code = ('import json, sys\nfrom petastorm import make_reader\n'
            'url, kwargs, state = json.loads(sys.stdin.read())\n'
            'with make_reader(url, **kwargs) as r:\n    r.load_state_dict(state)\n'
            '    print(json.dumps([int(x.id) for x in r]))\n')
    out = subprocess.run([sys.executable, '-c', code], input=json.dumps([url, kwargs, state]), capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize('pool,workers,k', [(pool, workers, k) for pool, workers in
                                             [('thread', 1), ('thread', 10), ('dummy', 1)]
                                             for k in [0, 7, 10, 95, 229]] +
                         [('process', 1, 7), ('process', 10, 0), ('process', 10, 95), ('process', 10, 229)])
def test_resume_gives_the_rest_of_the_uninterrupted_run(url, pool, workers, k):
    kwargs = dict(schema_fields=['id'], reader_pool_type=pool, workers_count=workers, shuffle_rows=True,
                  shuffle_row_drop_partitions=2, num_epochs=2)
    with make_reader(url, seed=5, **kwargs) as reader:
        full = _ids(reader)
    with make_reader(url, seed=5, **kwargs) as reader:
        head = _ids(reader, k)
        state = json.loads(json.dumps(reader.state_dict()))
    assert head == full[:k]
    with make_reader(url, seed=5, **kwargs) as reader:
        reader.load_state_dict(state)
        assert _ids(reader) == full[k:]


@pytest.mark.parametrize('pool', ['thread', 'process'])
def test_resume_in_a_new_process_adopts_a_drawn_seed(url, pool):
    kwargs = dict(schema_fields=['id'], shuffle_rows=True, workers_count=3, reader_pool_type=pool)
    with make_reader(url, **kwargs) as reader:
        head = _ids(reader, 42)
        state = reader.state_dict()
        rest = _ids(reader)
    assert _resume_in_new_process(url, kwargs, state) == rest
    assert sorted(head + rest) == list(range(ROWS))


def test_batch_reader_resume(url):
    kwargs = dict(schema_fields=['id'], seed=3, num_epochs=3)
    with make_batch_reader(url, **kwargs) as reader:
        full = [list(b.id) for b in reader]
    with make_batch_reader(url, **kwargs) as reader:
        head = [list(next(reader).id) for _ in range(30)]
        state = reader.state_dict()
    with make_batch_reader(url, **kwargs) as reader:
        reader.load_state_dict(state)
        assert head + [list(b.id) for b in reader] == full


def test_state_of_another_seed_is_refused(url):
    with make_reader(url, seed=1, schema_fields=['id']) as reader:
        state = reader.state_dict()
    with make_reader(url, seed=2, schema_fields=['id']) as reader:
        with pytest.raises(ValueError, match='seed=1'):
            reader.load_state_dict(state)
    with pytest.raises(ValueError, match='not a reader state'):
        make_reader(url, seed=2).load_state_dict({'kind': 'x'})


@pytest.mark.parametrize('mode,new_count,pool', [('row_groups', 2, 'thread'), ('row_groups', 8, 'thread'),
                                                 ('rows', 2, 'thread'), ('rows', 8, 'thread'), ('rows', 2, 'process')])
def test_elastic_resume_covers_the_rest_of_the_epoch_once(url, mode, new_count, pool):
    common = dict(schema_fields=['id'], seed=9, shuffle_rows=True, num_epochs=2, shard_mode=mode,
                  reader_pool_type=pool, workers_count=2)
    states, seen = [], []
    for shard in range(4):
        with make_reader(url, cur_shard=shard, shard_count=4, **common) as reader:
            seen += _ids(reader, 13 + shard)
            states.append(reader.state_dict())
    rest = []
    for shard in range(new_count):
        with make_reader(url, cur_shard=shard, shard_count=new_count, **common) as reader:
            reader.load_state_dict(states)
            ids = _ids(reader)
            rest.append(ids)
    per_epoch_rows = (ROWS // 4) * 4 if mode == 'rows' else ROWS
    first_epoch_rest = []
    for shard, ids in enumerate(rest):
        with make_reader(url, cur_shard=shard, shard_count=new_count, **dict(common, num_epochs=1)) as reader:
            epoch_rows = len(_ids(reader))
        first_epoch_rest += ids[:len(ids) - epoch_rows]
    assert sorted(seen + first_epoch_rest) == sorted(set(seen + first_epoch_rest))
    assert len(seen) + len(first_epoch_rest) == per_epoch_rows
    if mode == 'rows':
        lengths = [len(ids) for ids in rest]
        assert max(lengths) - min(lengths) <= 1


@pytest.mark.parametrize('remainder', ['drop', 'pad'])
def test_row_shards_are_equal(url, remainder):
    shards = []
    for shard in range(7):  # 230 rows: 32 each (drop) or 33 each (pad)
        with make_reader(url, schema_fields=['id'], cur_shard=shard, shard_count=7, shard_mode='rows',
                         shard_remainder=remainder, seed=1) as reader:
            shards.append(_ids(reader))
            assert reader.rows_per_epoch == (32 if remainder == 'drop' else 33)
    assert {len(s) for s in shards} == {32 if remainder == 'drop' else 33}
    everything = [i for s in shards for i in s]
    if remainder == 'drop':
        assert len(set(everything)) == len(everything) == 224
    else:
        assert set(everything) == set(range(ROWS))


def test_row_shards_may_outnumber_row_groups(url):
    ids = []
    for shard in range(46):
        with make_reader(url, schema_fields=['id'], cur_shard=shard, shard_count=46, shard_mode='rows') as reader:
            got = _ids(reader)
            assert len(got) == 5
            ids += got
    assert sorted(ids) == list(range(ROWS))


def test_row_shards_refuse_a_predicate_and_bad_names(url):
    from petastorm.predicates import in_lambda
    with pytest.raises(ValueError, match='predicate'):
        make_reader(url, cur_shard=0, shard_count=2, shard_mode='rows', predicate=in_lambda(['id'], lambda i: True))
    with pytest.raises(ValueError, match='shard_mode'):
        make_reader(url, shard_mode='row')
    with pytest.raises(ValueError, match='shard_remainder'):
        make_reader(url, shard_remainder='keep')


@pytest.mark.parametrize('pool', ['dummy', 'process'])
def test_reset_after_a_resume_starts_from_the_first_epoch(url, pool):
    kwargs = dict(schema_fields=['id'], reader_pool_type=pool, workers_count=2, seed=5, shuffle_rows=True)
    with make_reader(url, **kwargs) as reader:
        full = _ids(reader)
    with make_reader(url, **kwargs) as reader:
        _ids(reader, 40)
        state = reader.state_dict()
    with make_reader(url, **kwargs) as reader:
        reader.load_state_dict(state)
        assert _ids(reader) == full[40:]
        reader.reset()
        assert _ids(reader) == full
