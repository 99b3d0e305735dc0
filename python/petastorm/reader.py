"""make_reader: Petastorm's factory, reading through the C++ core.

The factory takes Petastorm's arguments, names and defaults. This is the sequential read
path; features of the reader engine (pools, shuffles, shards, predicates, transforms, n-grams,
cache) raise NotImplementedError when asked for until the engine lands.
"""
import warnings

import numpy as np
import pyarrow as pa

from petastorm import _core
from petastorm.unischema import Unischema

_NOT_YET = 'make_reader: {} is not implemented yet in this version (it comes with the reader engine)'


def _normalize_url(dataset_url):
    if not isinstance(dataset_url, str):
        if hasattr(dataset_url, '__fspath__'):
            return dataset_url.__fspath__()
        raise ValueError('directory url must be a string')
    return dataset_url[:-1] if dataset_url.endswith('/') and len(dataset_url) > 1 else dataset_url


def make_reader(dataset_url,
                schema_fields=None,
                reader_pool_type='thread', workers_count=10, pyarrow_serialize=False, results_queue_size=50,
                seed=None, shuffle_rows=False,
                shuffle_row_groups=True, shuffle_row_drop_partitions=1,
                predicate=None,
                rowgroup_selector=None,
                num_epochs=1,
                cur_shard=None, shard_count=None, shard_seed=None,
                cache_type='null', cache_location=None, cache_size_limit=None,
                cache_row_size_estimate=None, cache_extra_settings=None,
                hdfs_driver='libhdfs3',
                transform_spec=None,
                filters=None,
                storage_options=None,
                zmq_copy_buffers=True,
                filesystem=None,
                convert_early_to_numpy=False):
    """Reads a Petastorm dataset one row at a time: each row is a namedtuple of numpy values.

    Arguments are Petastorm's. ``pyarrow_serialize``, ``zmq_copy_buffers`` and ``hdfs_driver``
    tuned Petastorm's own machinery and have no effect here.
    """
    if reader_pool_type not in ('thread', 'process', 'dummy'):
        raise ValueError('Unknown reader_pool_type: {}'.format(reader_pool_type))
    if num_epochs is not None and (not isinstance(num_epochs, int) or num_epochs < 1):
        raise ValueError('iterations must be positive integer or None')
    if cache_type not in (None, 'null', 'local-disk'):
        raise ValueError('Unknown cache_type: {}'.format(cache_type))
    unsupported = {
        'shuffle_rows': shuffle_rows, 'shuffle_row_drop_partitions': shuffle_row_drop_partitions != 1,
        'predicate': predicate is not None, 'rowgroup_selector': rowgroup_selector is not None,
        'cur_shard/shard_count': cur_shard is not None or shard_count is not None,
        "cache_type='local-disk'": cache_type == 'local-disk', 'transform_spec': transform_spec is not None,
        'filters': filters is not None, 'storage_options': bool(storage_options),
        'filesystem': filesystem is not None, "reader_pool_type='process'": reader_pool_type == 'process',
    }
    for name, asked in unsupported.items():
        if asked:
            raise NotImplementedError(_NOT_YET.format(name))
    if schema_fields is not None and type(schema_fields).__name__ == 'NGram':
        raise NotImplementedError(_NOT_YET.format('NGram'))
    return Reader(_normalize_url(dataset_url), schema_fields, num_epochs)


def make_batch_reader(dataset_url_or_urls, *args, **kwargs):
    """Reads any Parquet store in batches (Petastorm's make_batch_reader)."""
    raise NotImplementedError('make_batch_reader is not implemented yet in this version')


def _scalar_column(field, array):
    """A list of the field's values (numpy scalars, str, Decimal, None) from a pyarrow Array."""
    dtype = field.numpy_dtype
    if array.null_count == 0 and isinstance(dtype, type) and issubclass(dtype, (np.number, np.bool_)):
        return list(array.to_numpy(zero_copy_only=False).astype(dtype, copy=False))
    if isinstance(dtype, type) and issubclass(dtype, np.datetime64) and array.null_count == 0:
        return list(array.to_numpy(zero_copy_only=False))
    values = array.to_pylist()
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        return [None if v is None else dtype(v) for v in values]
    return values


class Reader(object):
    """Iterates over the rows of a dataset. A context manager (stop and join on exit)."""

    def __init__(self, dataset_url, schema_fields=None, num_epochs=1):
        self.dataset_url = dataset_url
        self.num_epochs = num_epochs
        self._dataset = _core.Dataset(dataset_url)
        core_schema = self._dataset.schema
        if core_schema is None:
            raise RuntimeError(
                'make_reader has failed. {} is not a Petastorm dataset (it has no Unischema in its metadata). '
                'To read a Parquet store that was not created by Petastorm, use make_batch_reader.'
                .format(dataset_url))
        stored = Unischema._from_core(core_schema)
        if schema_fields is None:
            self.schema = stored
        else:
            if isinstance(schema_fields, (str, bytes)) or not hasattr(schema_fields, '__iter__'):
                raise ValueError('Fields must be either None, an iterable collection of Unischema fields '
                                 'or an NGram object.')
            self.schema = stored.create_schema_view(list(schema_fields))
            if not self.schema.fields:
                raise RuntimeError("No fields matching the criteria '{}' were found in the dataset {}."
                                   .format(schema_fields, dataset_url))
        self.ngram = None
        self.is_batched_reader = False
        self.last_row_consumed = False
        self.stopped = False
        self._field_names = list(self.schema.fields)
        self._start()

    def _start(self):
        self._reader = _core.Reader(self._dataset, self._field_names, self.num_epochs)
        self._rows = iter(())
        self.last_row_consumed = False

    @property
    def batched_output(self):
        return False

    @property
    def diagnostics(self):
        return {}

    def __iter__(self):
        return self

    def __next__(self):
        if self.stopped:
            raise RuntimeError('Trying to read a sample after a reader created by make_reader/make_batch_reader '
                               'has stopped. This may happen if the make_reader/make_batch_reader context manager '
                               'has exited but you try to fetch a sample from the reader.')
        while True:
            row = next(self._rows, None)
            if row is not None:
                return row
            batch = self._reader.next()
            if batch is None:
                self.last_row_consumed = True
                raise StopIteration
            self._rows = iter(self._batch_rows(batch))

    next = __next__

    def _batch_rows(self, batch):
        fields = list(self.schema.fields.values())
        columns = []
        for field, column in zip(fields, batch.columns()):
            columns.append(column if isinstance(column, list) else _scalar_column(field, column))
        make = self.schema._get_namedtuple()._make
        return list(map(make, zip(*columns)))

    def reset(self):
        """Starts another pass over `num_epochs` epochs, after the last row was read."""
        if not self.last_row_consumed:
            raise NotImplementedError('Currently do not support resetting a reader while in the middle of '
                                      'iteration. You can call reset only after all samples were consumed.')
        self._start()

    def stop(self):
        self.stopped = True

    def join(self):
        pass

    def cleanup_cache(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        self.join()
