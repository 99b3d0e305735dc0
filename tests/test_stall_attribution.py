"""Stall attribution: the loaders' time per stage, its summary line, petastorm-throughput --profile."""
import subprocess
import sys
import time

import pytest
import torch  # noqa: F401 -- imported here: its first import is not a loader stage

from petastorm import make_reader
from petastorm.pytorch import BatchedDataLoader, DataLoader


def test_loader_stages_sum_to_the_wall_time_and_see_a_slow_consumer(id_vec_url):
    with BatchedDataLoader(make_reader(id_vec_url, seed=1, workers_count=2, num_epochs=2), batch_size=10,
                           shuffling_queue_capacity=40) as loader:
        begin = time.perf_counter()
        for _ in loader:
            time.sleep(0.01)  # a consumer slower than the reader
        wall = time.perf_counter() - begin
        d = loader.diagnostics
    assert d['batches'] == 46
    stages = ('reader_wait', 'shuffling', 'batching', 'conversion', 'consumer')
    assert set(d) >= set(stages) | {'wall_seconds', 'reader'}
    assert abs(sum(d[s] for s in stages) - d['wall_seconds']) < 1e-9
    assert d['shuffling'] > 0  # the shuffling buffer's share of the batcher's time
    assert abs(d['wall_seconds'] - wall) <= 0.1 * wall
    assert d['consumer'] >= 46 * 0.01
    assert d['consumer'] > d['reader_wait'] + d['shuffling'] + d['batching'] + d['conversion']
    assert d['reader']['rows_delivered'] == 460
    line = loader.stall_summary()
    assert line.startswith('the consumer waited ') and 'mostly on ' in line


def test_a_slow_transform_is_named(id_vec_url):
    def slow(column):
        time.sleep(0.02)
        return column
    with BatchedDataLoader(make_reader(id_vec_url, seed=1, workers_count=1), batch_size=23, transform_fn=slow) as loader:
        for _ in loader:
            pass
        assert loader.diagnostics['conversion'] >= 10 * 2 * 0.02
        assert loader.stall_summary().endswith('mostly on conversion to torch')


def test_a_slow_transform_spec_is_its_own_stage(id_vec_url):
    from petastorm.transform import TransformSpec

    def slow(row):
        time.sleep(0.002)
        return row
    with BatchedDataLoader(make_reader(id_vec_url, seed=1, workers_count=1, transform_spec=TransformSpec(slow)),
                           batch_size=23) as loader:
        assert sum(len(b['id']) for b in loader) == 230
        d = loader.diagnostics
        line = loader.stall_summary()
    assert d['reader']['transform_seconds'] >= 230 * 0.002
    assert d['reader_wait'] >= d['reader']['transform_seconds'] * 0.9  # it runs inside the loader's wait
    assert line.endswith('mostly on the transform'), line
    # a reader on its own counts it too; without a transform it stays 0
    with make_reader(id_vec_url, workers_count=1, transform_spec=TransformSpec(slow)) as reader:
        assert len(list(reader)) == 230
        assert reader.diagnostics['transform_seconds'] >= 230 * 0.002
    with make_reader(id_vec_url, workers_count=1) as reader:
        list(reader)
        assert reader.diagnostics['transform_seconds'] == 0


def test_data_loader_has_the_stages_too(id_vec_url):
    with DataLoader(make_reader(id_vec_url, workers_count=1), batch_size=7) as loader:
        assert sum(len(b['id']) for b in loader) == 230
        d = loader.diagnostics
    assert d['batches'] == 33 and d['wall_seconds'] > 0
    assert d['shuffling'] == 0  # no shuffling buffer


class _SlowFile(object):
    def __init__(self, f):
        self._f = f

    def read(self, n=-1):
        time.sleep(0.02)  # storage far slower than decoding
        return self._f.read(n)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _slow_local_filesystem():
    from fsspec.implementations.local import LocalFileSystem

    class SlowLocal(LocalFileSystem):
        protocol = ('slowlocal',)  # not 'file': the engine reads through it, not natively

        def open(self, path, mode='rb', **kwargs):
            return _SlowFile(super(SlowLocal, self).open(path, mode, **kwargs))
    return SlowLocal()


def test_slow_storage_is_told_from_decoding(id_vec_url):
    path = id_vec_url[len('file://'):]
    reader = make_reader(path, filesystem=_slow_local_filesystem(), workers_count=2, num_epochs=2)
    with BatchedDataLoader(reader, batch_size=10) as loader:
        assert sum(len(b['id']) for b in loader) == 460
        r = loader.diagnostics['reader']
        assert r['io_seconds'] > 10 * r['parquet_decode_seconds'] > 0
        assert r['read_seconds'] == r['io_seconds'] + r['parquet_decode_seconds']
        assert r['list_seconds'] > 0
        assert loader.stall_summary().endswith('mostly on I/O wait'), loader.stall_summary()


def test_throughput_profile_prints_the_breakdown(id_vec_url):
    out = subprocess.run([sys.executable, '-m', 'petastorm.benchmark.cli', id_vec_url, '-m', '5', '-n', '50',
                          '--no-progress', '--profile'], capture_output=True, text=True, check=True).stdout
    assert 'Profile (worker seconds, summed over workers):' in out
    for stage in ('I/O wait', 'decompression and Parquet decoding', 'codec decode', 'the predicate',
                  'the transform (transform_spec)', 'consumer waiting for data', 'listing files and metadata', 'planning'):
        assert stage in out
    assert 'the consumer waited ' in out and 'Average sample read rate' in out


def test_tracking_off_gives_the_same_batches_and_no_times(id_vec_url):
    from petastorm import loader_stages

    def batches():
        with BatchedDataLoader(make_reader(id_vec_url, seed=3, workers_count=2), batch_size=16,
                               shuffling_queue_capacity=30) as loader:
            out = [b['id'].tolist() for b in loader]
            return out, loader.diagnostics
    tracked, on = batches()
    loader_stages.TRACKING = False
    try:
        untracked, off = batches()
        with BatchedDataLoader(make_reader(id_vec_url, workers_count=1), batch_size=16) as loader:
            it = iter(loader)
            next(it)
            with pytest.raises(RuntimeError, match='TRACKING'):
                loader.state_dict()
    finally:
        loader_stages.TRACKING = True
    assert untracked == tracked and len(tracked) == 15
    assert on['wall_seconds'] > 0 and on['reader']['parquet_decode_seconds'] > 0
    assert off['wall_seconds'] == 0 and off['batches'] == 0
    assert off['reader']['parquet_decode_seconds'] == off['reader']['decode_seconds'] == 0
