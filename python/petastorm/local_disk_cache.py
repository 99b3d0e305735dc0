"""``LocalDiskCache``: Petastorm's local-disk cache, a directory of pickled values with a size limit.

Two uses:

* on its own, as Petastorm's ``CacheBase``: ``get(key, fill_cache_func)`` returns the value stored
  under ``key`` or computes, stores and returns ``fill_cache_func()``. Values are pickled with
  ``pickle.HIGHEST_PROTOCOL``, one file per key in ``<path>/petastorm-kv/``. A stored ``None``
  reads as a miss (as in Petastorm).
* passed to ``petastorm.reader.Reader(..., cache=...)``: the reader's C++ row-group cache is
  made at the same path with the same size limit, row size estimate and eviction policy (the
  C++ cache stores decoded row groups; it has no key/value interface of its own).

Eviction policies (``eviction_policy=`` in ``settings``): ``'least-recently-stored'`` (default,
as Petastorm), ``'least-recently-used'``, ``'none'`` (stores only while ``volume() < size_limit``).
"""
import hashlib
import os
import pickle
import shutil
import tempfile

from petastorm.cache import CacheBase

_POLICIES = ('least-recently-stored', 'least-recently-used', 'none')
_KV_DIR = 'petastorm-kv'


class LocalDiskCache(CacheBase):
    def __init__(self, path, size_limit_bytes, expected_row_size_bytes, shards=6, cleanup=True, **settings):
        """:param path: the cache directory (created if missing).
        :param size_limit_bytes: the most bytes the stored values take; the oldest (per the
            policy) are evicted past it.
        :param expected_row_size_bytes: the expected size of one value; unless the policy is
            ``'none'``, ``size_limit_bytes / shards >= 5 * expected_row_size_bytes`` must hold,
            else ``ValueError``.
        :param shards: Petastorm's diskcache shard count: only checked in that condition.
        :param cleanup: ``cleanup()`` deletes the directory when True, does nothing when False.
        :param settings: ``eviction_policy`` (see the module); other diskcache settings are
            accepted and have no effect."""
        self._path = str(path)
        self._size_limit_bytes = int(size_limit_bytes)
        self._expected_row_size_bytes = int(expected_row_size_bytes or 0)
        self._shards = shards
        self._cleanup = cleanup
        self._eviction_policy = settings.pop('eviction_policy', 'least-recently-stored')
        if self._eviction_policy not in _POLICIES:
            raise ValueError('Unknown eviction_policy {!r}: use one of {}'.format(self._eviction_policy, _POLICIES))
        self._settings = settings
        if self._eviction_policy != 'none' and \
                self._size_limit_bytes / shards < 5 * self._expected_row_size_bytes:
            raise ValueError("Condition 'size_limit_bytes / shards < 5 * expected_row_size_bytes' needs to hold, "
                             'but size_limit_bytes={}, shards={}, expected_row_size_bytes={}'
                             .format(self._size_limit_bytes, shards, self._expected_row_size_bytes))
        self._dir = os.path.join(self._path, _KV_DIR)
        os.makedirs(self._dir, exist_ok=True)

    @property
    def path(self):
        return self._path

    @property
    def size_limit_bytes(self):
        return self._size_limit_bytes

    @property
    def eviction_policy(self):
        return self._eviction_policy

    @property
    def cleanup_enabled(self):
        """Whether ``cleanup()`` deletes the directory (the ``cleanup`` argument)."""
        return bool(self._cleanup)

    def engine_options(self):
        """(path, size_limit_bytes, expected_row_size_bytes, eviction_policy): the C++
        row-group cache's arguments, as ``petastorm.reader.Reader`` takes them."""
        return self._path, self._size_limit_bytes, self._expected_row_size_bytes, self._eviction_policy

    def _file(self, key):
        return os.path.join(self._dir, hashlib.sha256(str(key).encode('utf-8')).hexdigest() + '.pkl')

    def _entries(self):
        out = []
        for name in os.listdir(self._dir):
            if name.endswith('.pkl'):
                full = os.path.join(self._dir, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue
                out.append((st.st_mtime_ns, name, full, st.st_size))
        return out

    def volume(self):
        """Bytes the stored values take on disk."""
        return sum(e[3] for e in self._entries())

    def _load(self, key):
        file_name = self._file(key)
        try:
            with open(file_name, 'rb') as f:
                value = pickle.load(f)
        except (FileNotFoundError, EOFError, pickle.UnpicklingError):
            return None
        if self._eviction_policy == 'least-recently-used':
            try:
                os.utime(file_name)
            except FileNotFoundError:
                pass
        return value

    def _store(self, key, value):
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=self._dir, suffix='.tmp')
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, self._file(key))
        if self._eviction_policy != 'none':
            self._evict()

    def _evict(self):
        entries = sorted(self._entries())
        total = sum(e[3] for e in entries)
        for _, _, full, size in entries:
            if total <= self._size_limit_bytes:
                break
            try:
                os.remove(full)
            except FileNotFoundError:
                pass
            total -= size

    def get(self, key, fill_cache_func):
        """The value stored under `key`; on a miss (nothing stored, or None stored) the value
        of ``fill_cache_func()``, stored first (with policy ``'none'`` only while
        ``volume() < size_limit_bytes``)."""
        value = self._load(key)
        if value is None:
            value = fill_cache_func()
            if self._eviction_policy != 'none' or self.volume() < self._size_limit_bytes:
                self._store(key, value)
        return value

    def cleanup(self):
        """Deletes the cache directory when made with ``cleanup=True`` (errors are printed)."""
        if self._cleanup:
            try:
                shutil.rmtree(self._path)
            except OSError as e:
                print('Error cleaning cache: {}'.format(e))
