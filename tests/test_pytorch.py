"""petastorm.pytorch: DataLoader, BatchedDataLoader, InMemBatchedDataLoader over make_reader and
make_batch_reader, with batches assembled by the C++ batcher."""
import logging
import os
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import TransformSpec, make_batch_reader, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

torch = pytest.importorskip('torch')
from petastorm.pytorch import (BatchedDataLoader, DataLoader, InMemBatchedDataLoader,  # noqa: E402
                               _sanitize_pytorch_types, decimal_friendly_collate, shard_for_rank)

TorchSchema = Unischema('TorchSchema', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('u16', np.uint16, ()),
    UnischemaField('u32', np.uint32, ()),
    UnischemaField('flag', np.bool_, ()),
    UnischemaField('name', np.str_, ()),
    UnischemaField('price', Decimal, (), ScalarCodec(pa.decimal128(10, 2))),
    UnischemaField('vec', np.float32, (2, 3), NdarrayCodec()),
    UnischemaField('var', np.float32, (None,), NdarrayCodec()),
])
ROWS = 60
PER_GROUP = 7
NUMERIC = ['id', 'u16', 'u32', 'flag', 'vec']


def _row(i):
    return {'id': i, 'u16': np.uint16(60000 + i), 'u32': np.uint32(4000000000 + i), 'flag': i % 3 == 0,
            'name': 'name{}'.format(i), 'price': Decimal('{}.25'.format(i)),
            'vec': np.arange(6, dtype=np.float32).reshape(2, 3) + i, 'var': np.full(1 + i % 3, i, np.float32)}


@pytest.fixture(scope='module')
def url(tmp_path_factory):
    path = tmp_path_factory.mktemp('torch') / 'ds'
    write_dataset('file://' + str(path), TorchSchema, [_row(i) for i in range(ROWS)], rows_per_rowgroup=PER_GROUP)
    return 'file://' + str(path)


@pytest.fixture(scope='module')
def plain_url(tmp_path_factory):
    """Plain Parquet (no Unischema): 100 rows in row groups of 30."""
    path = tmp_path_factory.mktemp('torch_plain') / 'data.parquet'
    n = 100
    pq.write_table(pa.table({
        'a': np.arange(n, dtype=np.int64),
        'f': pa.array([None if i % 10 == 3 else i / 2 for i in range(n)], pa.float32()),
        's': [str(i) for i in range(n)],
        'l': pa.array([[i, -i] for i in range(n)], pa.list_(pa.int32())),
        'u': np.arange(n, dtype=np.uint16),
    }), str(path), row_group_size=30)
    return 'file://' + str(path)


def _reader(url, fields=NUMERIC, **kwargs):
    kwargs.setdefault('shuffle_row_groups', False)
    return make_reader(url, schema_fields=fields, **kwargs)


def _ids(batches, key='id'):
    return [int(i) for b in batches for i in b[key]]


# --- every row once, in order, in batches of batch_size ---------------------------------------

@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_every_row_once_in_storage_order(url, loader_class):
    with _reader(url) as reader:
        batches = list(loader_class(reader, batch_size=8))
    assert [len(b['id']) for b in batches] == [8] * 7 + [4]
    assert _ids(batches) == list(range(ROWS))
    for b in batches:
        for i, row_id in enumerate(b['id'].tolist()):
            np.testing.assert_array_equal(b['vec'][i].numpy(), _row(row_id)['vec'])


@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_shapes_and_dtypes_with_petastorms_promotions(url, loader_class):
    with _reader(url) as reader:
        batch = next(iter(loader_class(reader, batch_size=5)))
    assert batch['id'].dtype == torch.int64 and batch['id'].shape == (5,)
    assert batch['u16'].dtype == torch.int32 and batch['u16'].tolist() == [60000 + i for i in range(5)]
    assert batch['u32'].dtype == torch.int64 and batch['u32'].tolist() == [4000000000 + i for i in range(5)]
    assert batch['flag'].dtype == torch.uint8 and batch['flag'].tolist() == [1, 0, 0, 1, 0]
    assert batch['vec'].dtype == torch.float32 and batch['vec'].shape == (5, 2, 3)


def test_default_collate_matches_petastorms_per_row_collate(url):
    with _reader(url) as reader:
        ours = next(iter(DataLoader(reader, batch_size=6)))
    with _reader(url) as reader:
        rows = [next(reader)._asdict() for _ in range(6)]
    for row in rows:
        _sanitize_pytorch_types(row)
    expected = decimal_friendly_collate(rows)
    for name in ['id', 'flag', 'vec']:
        assert ours[name].dtype == expected[name].dtype, name
        assert torch.equal(ours[name], expected[name]), name
    # Petastorm promotes arrays only; here scalars are promoted too (uint16 -> int32).
    assert ours['u16'].tolist() == expected['u16'].tolist()


@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_strings_and_decimals_are_lists(url, loader_class):
    with _reader(url, fields=['id', 'name', 'price']) as reader:
        batches = list(loader_class(reader, batch_size=16))
    assert [n for b in batches for n in b['name']] == ['name{}'.format(i) for i in range(ROWS)]
    assert [p for b in batches for p in b['price']] == [Decimal('{}.25'.format(i)) for i in range(ROWS)]
    assert isinstance(batches[0]['name'], list)


def test_drop_last(url):
    with _reader(url) as reader:
        batches = list(BatchedDataLoader(reader, batch_size=8, drop_last=True))
    assert [len(b['id']) for b in batches] == [8] * 7
    assert _ids(batches) == list(range(56))
    with _reader(url) as reader:
        batches = list(DataLoader(reader, batch_size=8, drop_last=True, shuffling_queue_capacity=10, seed=3))
    assert [len(b['id']) for b in batches] == [8] * 7


def test_len(url):
    with _reader(url, num_epochs=2) as reader:
        loader = BatchedDataLoader(reader, batch_size=8)
        assert len(loader) == 15  # 120 rows
        assert len(list(loader)) == 15
        assert len(BatchedDataLoader(reader, batch_size=8, drop_last=True)) == 15
        assert len(DataLoader(reader, batch_size=7, drop_last=True)) == 17
        assert len(DataLoader(reader, batch_size=7)) == 18
    with _reader(url, num_epochs=None) as reader:
        with pytest.raises(TypeError, match='not known'):
            len(BatchedDataLoader(reader, batch_size=8))


def test_len_over_a_batch_reader(plain_url):
    with make_batch_reader(plain_url, schema_fields=['a']) as reader:
        loader = BatchedDataLoader(reader, batch_size=32)
        assert len(loader) == 4
        assert sum(len(b['a']) for b in loader) == 100


# --- shuffling ---------------------------------------------------------------------------------

@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_shuffle_is_reproducible_with_a_seed(url, loader_class):
    def run(seed):
        with _reader(url, fields=['id', 'vec', 'name']) as reader:
            batches = list(loader_class(reader, batch_size=8, shuffling_queue_capacity=20, seed=seed))
        for b in batches:  # fields travel with their rows
            for i, row_id in enumerate(b['id'].tolist()):
                assert b['name'][i] == 'name{}'.format(row_id)
                np.testing.assert_array_equal(b['vec'][i].numpy(), _row(row_id)['vec'])
        return _ids(batches)

    first = run(5)
    assert sorted(first) == list(range(ROWS))
    assert first != list(range(ROWS))
    assert run(5) == first
    assert run(6) != first


def test_unseeded_shuffle_follows_torchs_global_seed(url):
    def run():
        torch.manual_seed(11)
        with _reader(url) as reader:
            return _ids(BatchedDataLoader(reader, batch_size=8, shuffling_queue_capacity=30))
    assert run() == run()


def test_shuffling_buffer_over_several_epochs_keeps_every_row_once_per_epoch(url):
    with _reader(url, num_epochs=3) as reader:
        ids = _ids(BatchedDataLoader(reader, batch_size=10, shuffling_queue_capacity=5, seed=1))
    assert sorted(ids) == sorted(list(range(ROWS)) * 3)


# --- make_batch_reader -------------------------------------------------------------------------

@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_over_make_batch_reader(plain_url, loader_class):
    with make_batch_reader(plain_url, shuffle_row_groups=False) as reader:
        batches = list(loader_class(reader, batch_size=16))
    assert [len(b['a']) for b in batches] == [16] * 6 + [4]
    assert _ids(batches, 'a') == list(range(100))
    b = batches[0]
    assert b['a'].dtype == torch.int64
    assert b['u'].dtype == torch.int32  # uint16 promoted
    assert b['l'].dtype == torch.int32 and b['l'].shape == (16, 2)
    assert b['l'][5].tolist() == [5, -5]
    assert b['s'] == [str(i) for i in range(16)]
    # A null in a float column is NaN, as in Petastorm's make_batch_reader.
    assert np.isnan(b['f'][3].item()) and b['f'][4].item() == 2.0


def test_over_make_batch_reader_shuffled(plain_url):
    def run(seed):
        with make_batch_reader(plain_url, schema_fields=['a', 's'], seed=3) as reader:
            batches = list(BatchedDataLoader(reader, batch_size=16, shuffling_queue_capacity=40, seed=seed))
        for b in batches:
            assert b['s'] == [str(i) for i in b['a'].tolist()]
        return _ids(batches, 'a')
    first = run(1)
    assert sorted(first) == list(range(100)) and first != sorted(first)
    assert run(1) == first


def test_null_in_an_integer_field_is_an_error_naming_it(tmp_path):
    path = tmp_path / 'nulls.parquet'
    pq.write_table(pa.table({'n': pa.array([1, None, 3], pa.int64())}), str(path))
    with make_batch_reader('file://' + str(path)) as reader:
        with pytest.raises(TypeError, match='Found None in n'):
            list(BatchedDataLoader(reader, batch_size=2))


# --- variable shapes ---------------------------------------------------------------------------

@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_variable_shape_field_is_an_error_naming_it(url, loader_class):
    with _reader(url, fields=['id', 'var']) as reader:
        with pytest.raises(TypeError, match="Field 'var' has rows of different shapes"):
            list(loader_class(reader, batch_size=4))


def test_variable_shape_field_through_transform_fn(url):
    def pad(column):
        if isinstance(column, list):
            out = torch.zeros(len(column), 3)
            for i, row in enumerate(column):
                out[i, :len(row)] = torch.as_tensor(row)
            return out
        return torch.as_tensor(column)

    with _reader(url, fields=['id', 'var']) as reader:
        batches = list(BatchedDataLoader(reader, batch_size=4, transform_fn=pad))
    assert batches[0]['var'].shape == (4, 3)
    assert batches[0]['var'][2].tolist() == [2, 2, 2]
    assert batches[0]['var'][1].tolist() == [1, 1, 0]


def test_variable_shape_field_through_collate_fn(url):
    seen = []

    def collate(rows):
        seen.append(rows)
        return [r['id'] for r in rows]

    with _reader(url, fields=['id', 'var', 'u16', 'flag']) as reader:
        batches = list(DataLoader(reader, batch_size=4, collate_fn=collate))
    assert [int(i) for b in batches for i in b] == list(range(ROWS))
    row = seen[0][1]
    assert set(row) == {'id', 'var', 'u16', 'flag'}
    np.testing.assert_array_equal(row['var'], np.full(2, 1, np.float32))
    # Petastorm's promotions reach collate_fn too.
    assert row['u16'].dtype == np.int32 and row['flag'].dtype == np.uint8


# --- readers whose rows are made in Python (transforms) -----------------------------------------

def _double_id(row):
    row['id'] = row['id'] * 2
    return row


def test_reader_with_a_transform(url):
    spec = TransformSpec(_double_id, removed_fields=['var'])
    with make_reader(url, schema_fields=['id', 'vec', 'name', 'var'], transform_spec=spec,
                     shuffle_row_groups=False) as reader:
        batches = list(BatchedDataLoader(reader, batch_size=8, shuffling_queue_capacity=10, seed=2))
    ids = _ids(batches)
    assert sorted(ids) == [2 * i for i in range(ROWS)]
    for b in batches:
        assert b['vec'].shape[1:] == (2, 3)
        assert b['name'] == ['name{}'.format(i // 2) for i in b['id'].tolist()]


def _add_one(frame):
    frame['a'] = frame['a'] + 1
    return frame


def test_batch_reader_with_a_transform(plain_url):
    spec = TransformSpec(_add_one, selected_fields=['a', 's'])
    with make_batch_reader(plain_url, transform_spec=spec, shuffle_row_groups=False) as reader:
        batches = list(BatchedDataLoader(reader, batch_size=32))
    assert _ids(batches, 'a') == list(range(1, 101))
    assert batches[0]['s'][:2] == ['0', '1']


# --- iteration rules, context manager ----------------------------------------------------------

def test_second_pass_resets_the_reader_with_a_warning(url, caplog):
    with _reader(url) as reader:
        loader = BatchedDataLoader(reader, batch_size=16)
        first = _ids(loader)
        with caplog.at_level(logging.WARNING, logger='petastorm.pytorch'):
            second = _ids(loader)
    assert first == second == list(range(ROWS))
    assert 'reset underlying Petastorm reader' in caplog.text


def test_nested_iteration_raises(url):
    with _reader(url) as reader:
        loader = DataLoader(reader, batch_size=16)
        outer = iter(loader)
        next(outer)
        with pytest.raises(RuntimeError, match='full pass'):
            next(iter(loader))


def test_iteration_after_a_failure_raises(url):
    with _reader(url, fields=['id', 'var']) as reader:
        loader = BatchedDataLoader(reader, batch_size=4)
        with pytest.raises(TypeError):
            list(loader)
        with pytest.raises(RuntimeError, match='last time iteration failed'):
            list(loader)


def test_context_manager_stops_the_reader(url):
    reader = _reader(url)
    with BatchedDataLoader(reader, batch_size=4) as loader:
        next(iter(loader))
    assert reader.stopped
    with pytest.raises(RuntimeError):
        next(reader)


def test_bad_arguments(url):
    with _reader(url) as reader:
        with pytest.raises(ValueError):
            BatchedDataLoader(reader, batch_size=0)
        with pytest.raises(ValueError):
            DataLoader(reader, shuffling_queue_capacity=-1)


# --- InMemBatchedDataLoader ----------------------------------------------------------------------

def test_in_memory_loader_shuffles_as_petastorm(url):
    reader = _reader(url, fields=['id', 'vec', 'name'])
    loader = InMemBatchedDataLoader(reader, batch_size=16, num_epochs=2, seed=7, rows_capacity=50, shuffle=True)
    assert reader.stopped
    assert len(loader) == 8
    batches = list(loader)
    assert [len(b['id']) for b in batches] == [16, 16, 16, 2] * 2
    ids = _ids(batches)
    for epoch in range(2):
        g = torch.Generator()
        g.manual_seed(7 + epoch)
        assert ids[epoch * 50:(epoch + 1) * 50] == torch.randperm(50, generator=g).tolist()
    for b in batches:
        assert b['vec'].shape[1:] == (2, 3)
        assert b['name'] == ['name{}'.format(i) for i in b['id'].tolist()]
    with pytest.raises(RuntimeError, match="couldn't be used multiple times"):
        list(loader)


def test_in_memory_loader_in_order_with_drop_last(url):
    with _reader(url) as reader:
        loader = InMemBatchedDataLoader(reader, batch_size=16, rows_capacity=1000, drop_last=True)
        batches = list(loader)
    assert len(loader) == 3
    assert _ids(batches) == list(range(48))
    assert batches[0]['u16'].dtype == torch.int32


def test_in_memory_loader_over_an_endless_batch_reader(plain_url):
    reader = make_batch_reader(plain_url, schema_fields=['a'], num_epochs=None, shuffle_row_groups=False)
    loader = InMemBatchedDataLoader(reader, batch_size=100, rows_capacity=250)
    assert _ids(list(loader), 'a') == list(range(100)) * 2 + list(range(50))


# --- helpers -------------------------------------------------------------------------------------

def test_shard_for_rank(url, monkeypatch):
    assert shard_for_rank(1, 4) == {'cur_shard': 1, 'shard_count': 4}
    with pytest.raises(ValueError):
        shard_for_rank(4, 4)
    monkeypatch.delenv('WORLD_SIZE', raising=False)
    assert shard_for_rank() == {'cur_shard': 0, 'shard_count': 1}
    monkeypatch.setenv('RANK', '2')
    monkeypatch.setenv('WORLD_SIZE', '3')
    assert shard_for_rank() == {'cur_shard': 2, 'shard_count': 3}
    ids = []
    for rank in range(3):
        with _reader(url, **shard_for_rank(rank, 3)) as reader:
            ids += _ids(BatchedDataLoader(reader, batch_size=100))
    assert sorted(ids) == list(range(ROWS))


def test_decimal_friendly_collate():
    batch = decimal_friendly_collate([{'d': Decimal('1.5'), 's': 'a', 'x': np.float32(1)},
                                      {'d': Decimal('2.5'), 's': 'b', 'x': np.float32(2)}])
    assert batch['d'] == [Decimal('1.5'), Decimal('2.5')] and batch['s'] == ['a', 'b']
    assert batch['x'].dtype == torch.float32


def test_petastorm_imports_without_torch():
    code = ('import sys; sys.modules["torch"] = None\n'
            'import petastorm, petastorm.pytorch\n'
            'assert petastorm.pytorch.shard_for_rank(0, 2) == {"cur_shard": 0, "shard_count": 2}\n')
    subprocess.run([sys.executable, '-c', code], check=True, env=dict(os.environ))


def test_batches_are_views_of_the_cpp_buffer():
    from petastorm import _core
    batcher = _core.Batcher(['x', 's'], 4, promote_for_torch=True)
    batcher.add_columns(6, [np.arange(12, dtype=np.uint16).reshape(6, 2), pa.array(list('abcdef'))])
    x, s = batcher.next()
    assert x.dtype == np.int32 and x.shape == (4, 2) and not x.flags.owndata
    assert torch.from_numpy(x).data_ptr() == x.__array_interface__['data'][0]
    assert s.to_pylist() == list('abcd')
    assert batcher.next() is None  # 2 rows wait for more input
    batcher.finish()
    assert batcher.next()[0].tolist() == [[8, 9], [10, 11]]
    assert batcher.next() is None


def test_in_order_batches_share_the_row_group_and_are_writable(tmp_path):
    """In order, batches inside one row group are views of its decoded buffer: right values,
    writable tensors (torch warns for read-only arrays), a write changes only its own batch."""
    import warnings
    path = tmp_path / 'data.parquet'
    pq.write_table(pa.table({'a': np.arange(100, dtype=np.int64), 'x': np.arange(100, dtype=np.float32) / 4}),
                   str(path), row_group_size=50)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # "The given NumPy array is not writable" would raise
        with make_batch_reader('file://' + str(path), shuffle_row_groups=False, workers_count=1) as reader:
            batches = []
            for batch in BatchedDataLoader(reader, batch_size=16):
                batch['a'].add_(1000)  # in place, as training code normalizes
                batch['x'].mul_(2)
                batches.append(batch)
    assert [len(b['a']) for b in batches] == [16, 16, 16, 16, 16, 16, 4]
    assert _ids(batches, 'a') == [1000 + i for i in range(100)]
    assert [v for b in batches for v in b['x'].tolist()] == [i / 2 for i in range(100)]
    assert all(b['a'].dtype == torch.int64 and b['x'].dtype == torch.float32 for b in batches)
    # Batches 0 and 1 lie in the first row group: consecutive pieces of one buffer.
    assert batches[1]['a'].data_ptr() - batches[0]['a'].data_ptr() == 16 * 8


def test_batch_reader_over_a_petastorm_dataset(url):
    with pytest.warns(UserWarning):
        reader = make_batch_reader(url, schema_fields=['id', 'vec', 'name'], shuffle_row_groups=False)
    with reader:
        batches = list(BatchedDataLoader(reader, batch_size=16))
    assert _ids(batches) == list(range(ROWS))
    assert batches[0]['vec'].shape == (16, 2, 3)
    assert batches[0]['name'][:2] == ['name0', 'name1']


def test_len_of_a_sharded_reader(tmp_path):
    import numpy as np
    from petastorm import make_reader, write_dataset
    from petastorm.pytorch import BatchedDataLoader
    from petastorm.unischema import Unischema, UnischemaField
    schema = Unischema('S', [UnischemaField('id', np.int64, ())])
    write_dataset(str(tmp_path / 'ds'), schema, [{'id': i} for i in range(100)], rows_per_rowgroup=10)
    for shard in range(3):
        with make_reader('file://' + str(tmp_path / 'ds'), cur_shard=shard, shard_count=3) as reader:
            loader = BatchedDataLoader(reader, batch_size=7)
            rows = sum(len(batch['id']) for batch in loader)
            assert len(loader) == -(-rows // 7)


_ONE_SEED_RUN = '''
import sys
from petastorm import make_reader
from petastorm.pytorch import BatchedDataLoader, DataLoader
cls = {'batched': BatchedDataLoader, 'rows': DataLoader}[sys.argv[2]]
with cls(make_reader(sys.argv[1], schema_fields=['id'], seed=7, workers_count=3), batch_size=8, shuffling_queue_capacity=20) as loader:
    print(' '.join(str(int(i)) for batch in loader for i in batch['id']))
'''


@pytest.mark.parametrize('kind', ['batched', 'rows'])
def test_a_loader_without_a_seed_takes_the_readers_in_every_run(url, kind):
    """One seed for the whole pipeline: two processes give the same batches."""
    import subprocess
    import sys
    runs = [subprocess.run([sys.executable, '-c', _ONE_SEED_RUN, url, kind], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs[0] == runs[1]
    assert sorted(map(int, runs[0])) == list(range(ROWS))
    assert list(map(int, runs[0])) != list(range(ROWS))  # shuffled


def test_the_loaders_own_seed_wins_over_the_readers(url):
    def ids(reader_seed, loader_seed):
        with BatchedDataLoader(make_reader(url, schema_fields=['id'], seed=reader_seed, shuffle_row_groups=False,
                                           workers_count=1),
                               batch_size=8, shuffling_queue_capacity=20, seed=loader_seed) as loader:
            return [int(i) for batch in loader for i in batch['id']]
    assert ids(1, 5) == ids(2, 5)  # the reader reads in storage order: only the loader shuffles
    assert ids(1, None) != ids(2, None)
    assert ids(1, None) == ids(1, None)
