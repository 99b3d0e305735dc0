"""Training-loop sharding: 3 DDP ranks (gloo, CPU) with equal row shards, and torch's DataLoader
with worker processes over IterableReaderDataset."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from petastorm import make_batch_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.unischema import Unischema, UnischemaField

torch = pytest.importorskip('torch')

Schema = Unischema('DistSchema', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('vec', np.float32, (3,), NdarrayCodec()),
])
ROWS = 1000  # 7 row groups of 150 and one of 100: 1000 % 3 == 1, and not a multiple of the batch size


@pytest.fixture(scope='module')
def url(tmp_path_factory):
    path = tmp_path_factory.mktemp('dist') / 'ds'
    write_dataset(str(path), Schema, [{'id': i, 'vec': np.full(3, i, np.float32)} for i in range(ROWS)],
                  rows_per_rowgroup=150)
    return 'file://' + str(path)


_RANK = '''
import json, sys, datetime
import torch, torch.distributed as dist
from petastorm import make_reader
from petastorm.pytorch import BatchedDataLoader, shard_for_rank
url, remainder = sys.argv[1], sys.argv[2]
dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=60))
reader = make_reader(url, reader_pool_type='thread', workers_count=2, seed=11, num_epochs=2,
                     **shard_for_rank(shard_mode='rows', shard_remainder=remainder))
ids, batches = [], 0
with BatchedDataLoader(reader, batch_size=32, shuffling_queue_capacity=64) as loader:
    for batch in loader:
        total = batch['vec'][:, 0].sum().reshape(1)
        dist.all_reduce(total)  # every rank takes part in every step, or the job hangs
        ids += batch['id'].tolist()
        batches += 1
counts = [None] * dist.get_world_size()
dist.all_gather_object(counts, batches)
everyone = [None] * dist.get_world_size()
dist.all_gather_object(everyone, ids)
if dist.get_rank() == 0:
    print(json.dumps({'batches': counts, 'ids': everyone}))
dist.destroy_process_group()
'''


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('remainder', ['drop', 'pad'])
def test_three_ddp_ranks_get_equal_batches(url, remainder):
    env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()), WORLD_SIZE='3')
    procs = [subprocess.Popen([sys.executable, '-c', _RANK, url, remainder], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(env, RANK=str(rank)))
             for rank in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    result = json.loads(outs[0][0])
    per_rank = ROWS // 3 if remainder == 'drop' else -(-ROWS // 3)
    assert result['batches'] == [-(-per_rank * 2 // 32)] * 3  # two epochs, equal on every rank
    ids = [i for rank_ids in result['ids'] for i in rank_ids]
    assert all(len(r) == per_rank * 2 for r in result['ids'])
    counts = np.bincount(ids, minlength=ROWS)
    if remainder == 'drop':
        assert sorted(counts.tolist()) == [0] * (ROWS % 3) + [2] * (ROWS - ROWS % 3)  # each kept row once an epoch
    else:
        assert counts.min() >= 2 and counts.sum() == 3 * per_rank * 2  # every row at least once an epoch


@pytest.mark.parametrize('workers', [0, 2])
def test_iterable_dataset_under_torch_dataloader_workers(url, workers):
    from petastorm.pytorch import IterableReaderDataset
    dataset = IterableReaderDataset(url, schema_fields=['id', 'vec'], reader_pool_type='thread', workers_count=2,
                                    shuffle_rows=True)
    assert isinstance(dataset, torch.utils.data.IterableDataset)
    loader = torch.utils.data.DataLoader(dataset, batch_size=25, num_workers=workers)
    first = []
    for batch in loader:
        assert torch.equal(batch['vec'][:, 0].long(), batch['id'])
        first += batch['id'].tolist()
    assert sorted(first) == list(range(ROWS))  # no row twice, none missing
    again = [i for batch in loader for i in batch['id'].tolist()]
    assert again == first  # the seed drawn once: the same plan every pass
    dataset.set_epoch(1)
    third = [i for batch in loader for i in batch['id'].tolist()]
    assert sorted(third) == list(range(ROWS)) and third != first


def test_iterable_dataset_of_batches_with_spawned_workers(url):
    from petastorm.pytorch import IterableReaderDataset
    dataset = IterableReaderDataset(url, reader_factory=make_batch_reader, schema_fields=['id'],
                                    reader_pool_type='dummy', seed=3)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context='spawn')
    ids = [i for batch in loader for i in batch['id'].tolist()]
    assert sorted(ids) == list(range(ROWS))


def test_iterable_dataset_refuses_what_it_sets_itself(url):
    from petastorm.pytorch import IterableReaderDataset
    with pytest.raises(ValueError, match='item_slice'):
        IterableReaderDataset(url, item_slice=(0, 2))
    with pytest.raises(ValueError, match='process'):
        IterableReaderDataset(url, reader_pool_type='process')


def test_shard_for_rank_passes_the_shard_mode():
    from petastorm.pytorch import shard_for_rank
    assert shard_for_rank(1, 3, shard_mode='rows', shard_remainder='pad') == dict(
        cur_shard=1, shard_count=3, shard_mode='rows', shard_remainder='pad')
    with pytest.raises(ValueError, match='shard_mode'):
        shard_for_rank(0, 1, shard_mode='files')
