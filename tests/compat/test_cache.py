"""petastorm.cache and petastorm.local_disk_cache, from the inventory (sections 1, 2.4, 6.12)."""
import os

import numpy as np
import pytest

from petastorm.cache import CacheBase, NullCache
from petastorm.local_disk_cache import LocalDiskCache
from petastorm.reader import Reader


def test_cache_base_is_abstract():
    with pytest.raises(TypeError):
        CacheBase()


def test_null_cache_always_calls_fill():
    calls = []
    cache = NullCache()
    assert isinstance(cache, CacheBase)
    assert cache.get('k', lambda: calls.append(1) or 'v') == 'v'
    assert cache.get('k', lambda: calls.append(1) or 'v') == 'v'
    assert len(calls) == 2


def test_user_subclass():
    class DictCache(CacheBase):
        def __init__(self):
            self.d = {}

        def get(self, key, fill_cache_func):
            if key not in self.d:
                self.d[key] = fill_cache_func()
            return self.d[key]

    c = DictCache()
    assert c.get('a', lambda: 1) == 1
    assert c.get('a', lambda: 2) == 1


def test_local_disk_cache_hit_and_miss(tmp_path):
    cache = LocalDiskCache(str(tmp_path / 'c'), 10 ** 6, 100)
    calls = []

    def fill():
        calls.append(1)
        return {'x': np.arange(5)}

    first = cache.get('key1', fill)
    second = cache.get('key1', fill)
    assert len(calls) == 1
    np.testing.assert_array_equal(first['x'], second['x'])
    assert cache.get('key2', lambda: [1, 2]) == [1, 2]
    assert cache.volume() > 0
    # A new instance on the same directory sees the stored values.
    again = LocalDiskCache(str(tmp_path / 'c'), 10 ** 6, 100)
    assert again.get('key2', lambda: 'other') == [1, 2]


def test_stored_none_is_a_miss(tmp_path):
    cache = LocalDiskCache(str(tmp_path), 10 ** 6, 100)
    calls = []
    cache.get('n', lambda: calls.append(1))
    cache.get('n', lambda: calls.append(1))
    assert len(calls) == 2


def test_size_condition_raises(tmp_path):
    with pytest.raises(ValueError, match="Condition 'size_limit_bytes / shards < 5 \\* expected_row_size_bytes'"):
        LocalDiskCache(str(tmp_path), 1000, 100)  # 1000 / 6 < 500
    LocalDiskCache(str(tmp_path), 3000, 100)  # 500 >= 500
    LocalDiskCache(str(tmp_path), 1000, 100, shards=1)
    LocalDiskCache(str(tmp_path), 1000, 100, eviction_policy='none')


def test_eviction_keeps_volume_under_limit(tmp_path):
    cache = LocalDiskCache(str(tmp_path), 20000, 1000, shards=1)
    for i in range(50):
        cache.get(str(i), lambda: bytes(1000))
    assert cache.volume() <= 20000
    # least-recently-stored: the first ones are gone, the last one is there
    calls = []
    cache.get('49', lambda: calls.append(1) or bytes(1000))
    assert calls == []
    cache.get('0', lambda: calls.append(1) or bytes(1000))
    assert calls == [1]


def test_none_policy_stops_storing_at_limit(tmp_path):
    cache = LocalDiskCache(str(tmp_path), 5000, 1000, eviction_policy='none')
    for i in range(20):
        cache.get(str(i), lambda: bytes(1000))
    calls = []
    cache.get('0', lambda: calls.append(1) or bytes(1000))
    assert calls == []  # never evicted
    cache.get('19', lambda: calls.append(1) or bytes(1000))
    assert calls == [1]  # not stored: the limit was reached


def test_cleanup(tmp_path, capsys):
    path = tmp_path / 'c'
    LocalDiskCache(str(path), 10 ** 6, 100, cleanup=False).cleanup()
    assert path.exists()
    LocalDiskCache(str(path), 10 ** 6, 100).cleanup()
    assert not path.exists()


def test_reader_takes_null_and_local_disk_cache(id_vec_url, tmp_path, capsys):
    with Reader(id_vec_url, cache=NullCache(), num_epochs=1, shuffle_row_groups=False) as reader:
        assert reader.cache is None
        ids = [row.id for row in reader]
    assert ids == list(range(230))
    path = tmp_path / 'rc'
    with Reader(id_vec_url, cache=LocalDiskCache(str(path), 10 ** 8, 1000), num_epochs=2,
                shuffle_row_groups=False) as reader:
        assert reader.cache is not None
        ids = [row.id for row in reader]
        assert reader.cache.stats['stores'] > 0
        assert reader.cache.stats['hits'] > 0
    assert ids == list(range(230)) * 2
    assert 'Cache cleanup complete.' in capsys.readouterr().out
    assert not path.exists() or not any(p.is_file() for p in path.rglob('*'))
