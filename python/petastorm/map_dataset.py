"""make_map_dataset: random access to a dataset's rows by index (a map-style dataset).

The C++ core (petastorm/row_access.h) finds row i's row group and offset from the footers' row
counts, reads the row groups a request touches on native threads, keeps them in a bounded LRU
cache (as read from Parquet: codec cells still encoded) and decodes only the rows asked for. This
module turns indexes into one call to it and its result into rows or batches (docs/random_access.md).
"""
import numpy as np

from petastorm import _core, fs_utils
from petastorm.etl.dataset_metadata import stored_unischema
from petastorm.unischema import Unischema

_DEFAULT_CACHE_BYTES = 512 << 20


def make_map_dataset(dataset_url, schema_fields=None, workers_count=4, cache_bytes=_DEFAULT_CACHE_BYTES,
                     cache_row_groups=64, storage_options=None, filesystem=None, hdfs_driver='libhdfs3'):
    """A :class:`MapDataset` over a Petastorm dataset (codec fields decoded) or any Parquet store
    (schema inferred as by make_batch_reader).

    ``len(ds)`` is the number of rows (files sorted by path, row groups in file order). ``ds[i]``
    (negative counts from the end) is one row: ``{name: value}`` with make_reader's values (numpy
    scalars, arrays for tensor fields, Python objects, None for nulls). ``ds[[i, j, ...]]``, a
    numpy array of ints or a slice is a batch: ``{name: numpy array}`` whose first dimension is the
    rows in the order asked (make_batch_reader's columns). ``schema_fields``: as for make_reader
    (UnischemaFields, names or regular expressions). ``workers_count``: native threads reading and
    decoding the row groups of one request. The cache keeps up to ``cache_row_groups`` row groups
    and ``cache_bytes`` bytes (0: no cache). ``storage_options``, ``filesystem`` and ``hdfs_driver``
    as for make_reader.

    It is a map-style ``torch.utils.data.Dataset`` as it is: ``DataLoader(ds, batch_size=...,
    sampler=..., num_workers=N)`` works with any sampler, and fetches each batch with one call
    (``__getitems__``). It pickles without its open files: each DataLoader worker reopens it.
    """
    return MapDataset(dataset_url, schema_fields=schema_fields, workers_count=workers_count,
                      cache_bytes=cache_bytes, cache_row_groups=cache_row_groups,
                      storage_options=storage_options, filesystem=filesystem, hdfs_driver=hdfs_driver)


def _check_count(name, value, minimum):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError('{} must be an integer >= {}, got {!r}'.format(name, minimum, value))
    return int(value)


class MapDataset(object):
    """Rows of a dataset by index; see :func:`make_map_dataset`."""

    def __init__(self, dataset_url, schema_fields=None, workers_count=4, cache_bytes=_DEFAULT_CACHE_BYTES,
                 cache_row_groups=64, storage_options=None, filesystem=None, hdfs_driver='libhdfs3'):
        from petastorm.reader import _normalize_url_or_urls
        self._args = dict(dataset_url=_normalize_url_or_urls(dataset_url), schema_fields=schema_fields,
                          workers_count=_check_count('workers_count', workers_count, 1),
                          cache_bytes=_check_count('cache_bytes', cache_bytes, 0),
                          cache_row_groups=_check_count('cache_row_groups', cache_row_groups, 0),
                          storage_options=storage_options, filesystem=filesystem, hdfs_driver=hdfs_driver)
        if schema_fields is not None and (isinstance(schema_fields, (str, bytes)) or
                                          not hasattr(schema_fields, '__iter__')):
            raise ValueError('schema_fields must be None or an iterable of Unischema fields, names or patterns')
        self._open()

    def _open(self):
        a = self._args
        dataset = fs_utils.open_dataset(a['dataset_url'], a['storage_options'], a['filesystem'], a['hdfs_driver'])
        stored, engine_schema = stored_unischema(dataset)
        if stored is None:  # plain Parquet: the schema make_batch_reader infers
            inferred, unsupported = _core.infer_schema(dataset)
            stored, engine_schema = Unischema.from_core(inferred, declared_storage=False), inferred
            unsupported = dict(unsupported)
        else:
            unsupported = {}
        if a['schema_fields'] is None:
            view = stored
        else:
            view = stored.create_schema_view(list(a['schema_fields']))
            if not view.fields:
                raise ValueError("No fields matching the criteria '{}' were found in the dataset {}".format(
                    a['schema_fields'], a['dataset_url']))
        asked = [n for n in view.fields if n in unsupported]
        if asked:
            raise NotImplementedError('; '.join(unsupported[n] for n in asked))
        self.schema = view
        self._access = _core.RowAccess(dataset, engine_schema, list(view.fields), a['workers_count'],
                                       a['cache_bytes'], a['cache_row_groups'])
        self._len = self._access.num_rows

    def __getstate__(self):
        return {'_args': self._args}

    def __setstate__(self, state):
        self._args = state['_args']
        self._access = None  # reopened on first use, in the process that uses it

    def _core_access(self):
        if self._access is None:
            self._open()
        return self._access

    def __len__(self):
        if self._access is None:
            self._open()
        return self._len

    def _row_index(self, index):
        n = len(self)
        i = int(index)
        if not -n <= i < n:
            raise IndexError('row index {} out of range for a dataset of {} rows'.format(i, n))
        return i + n if i < 0 else i

    def _indexes(self, index):
        """The dataset rows a list, array or slice asks for."""
        if isinstance(index, slice):
            return list(range(*index.indices(len(self))))
        array = np.asarray(index)
        if array.ndim != 1 or not (array.dtype.kind in 'iu' or (array.size == 0 and array.dtype.kind == 'f')):
            raise TypeError('MapDataset indexes are an int, a slice or a 1-D sequence of ints, got {!r}'.format(
                type(index).__name__ if array.ndim != 1 else 'a sequence of ' + str(array.dtype)))
        n = len(self)
        array = array.astype(np.int64)
        bad = (array < -n) | (array >= n)
        if bad.any():
            raise IndexError('row index {} out of range for a dataset of {} rows'.format(int(array[bad][0]), n))
        return np.where(array < 0, array + n, array).tolist()

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
            group = self._core_access().take([self._row_index(index)])
            return dict(zip(group.field_names, (column[0] for column in group.row_columns())))
        if isinstance(index, (bool, np.bool_, str, bytes, float)) or index is None:
            raise TypeError('MapDataset indexes are an int, a slice or a 1-D sequence of ints, got {!r}'.format(
                type(index).__name__))
        return self._core_access().take(self._indexes(index)).to_numpy_columns()

    def __getitems__(self, indexes):
        """Rows at `indexes` as a list of rows (``[ds[i] for i in indexes]``), read with one call:
        torch's DataLoader fetches a batch this way before collating it."""
        group = self._core_access().take(self._indexes(list(indexes)))
        names = group.field_names
        return [dict(zip(names, values)) for values in zip(*group.row_columns())]

    def locate(self, index):
        """(row group position in the dataset, row within it) of row `index`."""
        return self._core_access().locate(self._row_index(index))

    @property
    def cache_stats(self):
        """{'hits', 'misses'} (row groups found in the cache or read), and what it holds now
        ({'cached_row_groups', 'cached_bytes'})."""
        return self._core_access().stats
