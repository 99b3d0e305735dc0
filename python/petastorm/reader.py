"""make_reader and make_batch_reader: Petastorm's factories, reading through the C++ reader engine.

The engine (plan, shards, shuffles, predicates, cache, worker threads, ordered bounded queue)
is C++; this module turns Petastorm's arguments into its options and decoded row groups into
rows (make_reader) or batches of numpy columns (make_batch_reader, petastorm/batch_reader.py).
Both factories build the same engine in one place (Reader._open; Reader(...) itself takes
Petastorm's constructor arguments, petastorm/reader_compat.py). Transforms and n-grams
are applied here, on the consumer's thread.
"""
import re
import time
import warnings
from urllib.parse import urlparse

import numpy as np

from petastorm import _core, fs_utils, loader_stages, reader_compat
from petastorm._values import describe_value, scalar_or_array
from petastorm.etl.dataset_metadata import stored_unischema
from petastorm.ngram import NGram
from petastorm.transform import transform_row, transform_schema
from petastorm.unischema import Unischema, _field_from_core
from petastorm.worker_items import WorkerItems

_POOL_TYPES = ('thread', 'process', 'dummy')
# Petastorm's names: the cache_type values, and the items ventilated ahead per worker (Python workers).
LOCAL_DISK_CACHE = 'local-disk'
NULL_CACHE = 'null'
_VENTILATE_EXTRA_ROWGROUPS = 3
_STATE_VERSION = 1


def _normalize_url(dataset_url):
    if not isinstance(dataset_url, str):
        if hasattr(dataset_url, '__fspath__'):
            return dataset_url.__fspath__()
        raise ValueError('directory url must be a string')
    return dataset_url[:-1] if dataset_url.endswith('/') and len(dataset_url) > 1 else dataset_url


def _normalize_url_or_urls(dataset_url_or_urls):
    """A URL, or a non-empty list of URLs sharing scheme and netloc (Petastorm's checks)."""
    if not isinstance(dataset_url_or_urls, (list, tuple)):
        return _normalize_url(dataset_url_or_urls)
    if not dataset_url_or_urls:
        raise ValueError('dataset url list must be non-empty.')
    urls = [_normalize_url(url) for url in dataset_url_or_urls]
    parsed = [urlparse(url) for url in urls]
    if any((p.scheme, p.netloc) != (parsed[0].scheme, parsed[0].netloc) for p in parsed):
        raise ValueError('The dataset url list must contain url with the same scheme and netloc.')
    return urls


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
                convert_early_to_numpy=False,
                *, shard_mode='row_groups', shard_remainder='drop', item_slice=None,
                memory_budget_bytes=None, decode_options=None):
    """Reads a Petastorm dataset one row at a time: each row is a namedtuple of numpy values
    (with an NGram, a dict {offset: namedtuple}).

    Arguments, order and defaults are Petastorm's. Differences: with a ``seed`` the sequence of
    rows is the same for every ``workers_count``; ``seed=0`` is a seed like any other;
    ``pyarrow_serialize``, ``zmq_copy_buffers`` and ``convert_early_to_numpy`` tuned Petastorm's
    own machinery and have no effect here. ``dataset_url`` may be any URL of docs/remote-storage.md
    (``s3://``, ``gs://``, ``hdfs://``, fsspec's schemes); ``storage_options`` go to its filesystem;
    ``filesystem`` (a pyarrow or fsspec filesystem) is used as is; ``hdfs_driver='libhdfs3'``
    resolves HDFS namenodes from the Hadoop configuration, as Petastorm's.

    Beyond Petastorm: ``shard_mode='rows'`` splits each epoch's rows (not row groups) among the
    ``shard_count`` shards so that each gets the same number of rows (``shard_count`` may exceed
    the number of row groups); ``shard_remainder`` says what happens to the ``rows % shard_count``
    left over: ``'drop'`` (the last rows of the row stream, storage order) or ``'pad'`` (every
    shard gets ``ceil(rows / shard_count)``, repeating rows from the start of the stream). Not
    with a ``predicate`` (ValueError). ``state_dict()`` / ``load_state_dict()`` save and resume
    the position (docs/resume.md). ``filters`` (pyarrow's DNF) are row-exact, as
    ``pyarrow.parquet.read_table(filters=...)``: row groups are first pruned by their statistics,
    then the rows of the rest are kept only when they match (Petastorm prunes only row groups
    and returns their non-matching rows too; docs/filters.md). ``item_slice=(index, count)``: only the work items
    ``index, index + count, ...`` of this shard's sequence (how the worker processes of torch's
    DataLoader split one plan: :class:`petastorm.pytorch.IterableReaderDataset`); readers with
    the same arguments and seed and slices 0 .. count - 1 read every row of the shard once.
    ``memory_budget_bytes``: a bound on the decoded data in flight — the results waiting, the row
    groups being decoded and, under the PyTorch loaders, their shuffling buffer and batches —
    with backpressure (read-ahead waits) instead of growth; a row group larger than the budget is
    still read, one at a time; ``diagnostics['peak_bytes']`` is the high-water mark (docs/memory.md).
    ``decode_options={field name: {'scale': (num, den), 'crop': (x, y, width, height)}}``: decode
    those ``CompressedImageCodec`` fields smaller — JPEG at a scale TurboJPEG offers (1/2, 1/4,
    1/8, ...: ``petastorm._core.jpeg_scaling_factors()``), in the DCT domain, then the crop
    window in the scaled image's pixels; ``reader.schema`` gives the decoded shapes. PNG has no
    scaled decoding (ValueError for a PNG field with a scale; a crop alone works). docs/images.md.
    """
    if pyarrow_serialize:
        warnings.warn('pyarrow_serialize was deprecated and has no effect')
    cache, cleanup_cache = _check_engine_arguments(
        reader_pool_type, workers_count, num_epochs, cur_shard, shard_count, shard_seed, rowgroup_selector,
        cache_type, cache_location, cache_size_limit, cache_row_size_estimate, cache_extra_settings,
        storage_options, filesystem)
    return Reader._make(_normalize_url(dataset_url), schema_fields=schema_fields, seed=seed,
                  shuffle_rows=shuffle_rows, shuffle_row_groups=shuffle_row_groups,
                  shuffle_row_drop_partitions=shuffle_row_drop_partitions, predicate=predicate,
                  num_epochs=num_epochs, cur_shard=cur_shard, shard_count=shard_count,
                  shard_seed=shard_seed or None, cache=cache, cleanup_cache=cleanup_cache,
                  transform_spec=transform_spec, pool=reader_pool_type, workers_count=workers_count,
                  results_queue_size=results_queue_size, filters=filters, rowgroup_selector=rowgroup_selector,
                  storage_options=storage_options, filesystem=filesystem, hdfs_driver=hdfs_driver,
                  shard_mode=shard_mode, shard_remainder=shard_remainder, item_slice=_check_slice(item_slice, reader_pool_type),
                  memory_budget_bytes=memory_budget_bytes, decode_options=decode_options)


def make_batch_reader(dataset_url_or_urls,
                      schema_fields=None,
                      reader_pool_type='thread', workers_count=10, results_queue_size=50,
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
                      convert_early_to_numpy=False,
                      *, shard_mode='row_groups', shard_remainder='drop', item_slice=None,
                      memory_budget_bytes=None, decode_options=None):
    """Reads any Parquet store in batches: each item is a namedtuple of numpy arrays, one per
    field, whose first dimension is the number of rows in the batch (a row group, or a part of
    one with ``shuffle_row_drop_partitions``). docs/types.md lists what each Arrow type becomes.

    ``dataset_url_or_urls``: a directory or file URL, or a list of them on one filesystem.
    Without a Petastorm Unischema in the store the schema is inferred (hive partition keys
    first, then the file's columns). A Petastorm dataset is read too (with a warning, as in
    Petastorm), its codec fields decoded into arrays. ``predicate``: the native predicates
    (``in_set``, ``in_intersection``, ...) run in C++; ``in_lambda`` and other ``PredicateBase``
    subclasses get a pandas DataFrame and return a boolean Series. ``transform_spec.func``
    takes and returns a pandas DataFrame. The other arguments mean what they mean for
    make_reader, and the same engine runs them: shuffles, shards, epochs and the seed give the
    same sequence of batches for any ``workers_count``. ``zmq_copy_buffers`` and
    ``convert_early_to_numpy`` tuned Petastorm's own machinery and have no effect here;
    ``storage_options``, ``filesystem``, ``hdfs_driver`` and the keyword-only ``shard_mode``,
    ``shard_remainder``, ``item_slice``, ``memory_budget_bytes`` and ``decode_options`` mean what
    they mean for make_reader.
    """
    cache, cleanup_cache = _check_engine_arguments(
        reader_pool_type, workers_count, num_epochs, cur_shard, shard_count, shard_seed, rowgroup_selector,
        cache_type, cache_location, cache_size_limit, cache_row_size_estimate, cache_extra_settings,
        storage_options, filesystem)
    return BatchReader._make(_normalize_url_or_urls(dataset_url_or_urls), schema_fields=schema_fields, seed=seed,
                       shuffle_rows=shuffle_rows, shuffle_row_groups=shuffle_row_groups,
                       shuffle_row_drop_partitions=shuffle_row_drop_partitions, predicate=predicate,
                       num_epochs=num_epochs, cur_shard=cur_shard, shard_count=shard_count,
                       shard_seed=shard_seed or None, cache=cache, cleanup_cache=cleanup_cache,
                       transform_spec=transform_spec, pool=reader_pool_type, workers_count=workers_count,
                       results_queue_size=results_queue_size, filters=filters, rowgroup_selector=rowgroup_selector,
                       storage_options=storage_options, filesystem=filesystem, hdfs_driver=hdfs_driver,
                       shard_mode=shard_mode, shard_remainder=shard_remainder, item_slice=_check_slice(item_slice, reader_pool_type),
                       memory_budget_bytes=memory_budget_bytes, decode_options=decode_options)


def _check_engine_arguments(reader_pool_type, workers_count, num_epochs, cur_shard, shard_count, shard_seed,
                            rowgroup_selector, cache_type, cache_location, cache_size_limit,
                            cache_row_size_estimate, cache_extra_settings, storage_options, filesystem):
    """Checks the arguments both factories pass to the engine; returns (cache, cleanup_cache),
    where cache is (location, size_limit, row_size_estimate, eviction_policy) or None."""
    if reader_pool_type not in _POOL_TYPES:
        raise ValueError('Unknown reader_pool_type: {}'.format(reader_pool_type))
    if num_epochs is not None and (not isinstance(num_epochs, int) or isinstance(num_epochs, bool)
                                   or num_epochs < 1):
        raise ValueError('iterations must be positive integer or None')
    if not isinstance(workers_count, int) or workers_count < 1:
        raise ValueError('workers_count must be a positive integer, got {!r}'.format(workers_count))
    if cache_type not in (None, NULL_CACHE, LOCAL_DISK_CACHE):
        raise ValueError('Unknown cache_type: {}'.format(cache_type))
    if rowgroup_selector is not None:
        from petastorm.selectors import RowGroupSelectorBase
        if not isinstance(rowgroup_selector, RowGroupSelectorBase):
            raise ValueError('rowgroup_selector parameter is expected to be derived from RowGroupSelectorBase')
    if storage_options is not None and not isinstance(storage_options, dict):
        raise ValueError('storage_options must be a dict, got {!r}'.format(type(storage_options).__name__))
    if shard_seed:
        warnings.warn('shard_seed was deprecated and will be removed in future versions. Use seed to apply '
                      'randomization effects on sharding row groups.')
    if (cur_shard is None) != (shard_count is None) or (
            shard_count is not None and (not isinstance(cur_shard, int) or not isinstance(shard_count, int)
                                         or not shard_count)):
        raise ValueError('partition and num_partitions must be ints and both specified to use partitioning')
    cache = None
    cleanup_cache = False
    if cache_type == LOCAL_DISK_CACHE:
        if not cache_location or not cache_size_limit:
            raise ValueError("cache_type='local-disk' needs cache_location and cache_size_limit")
        settings = dict(cache_extra_settings or {})
        cleanup_cache = bool(settings.pop('cleanup', True))
        policy = settings.pop('eviction_policy', 'least-recently-stored')  # Petastorm's (diskcache's) default
        settings.pop('shards', None)  # diskcache's sharding: no meaning here
        if settings:
            warnings.warn('cache_extra_settings {} have no effect on this cache'.format(sorted(settings)))
        cache = (str(cache_location), int(cache_size_limit), int(cache_row_size_estimate or 0), policy)
    return cache, cleanup_cache


def _check_slice(item_slice, reader_pool_type):
    if item_slice is None:
        return (0, 1)
    if reader_pool_type == 'process':
        raise ValueError("item_slice is for readers in processes of their own (thread or dummy pools); "
                         "reader_pool_type='process' splits the plan among its workers itself")
    try:
        index, count = item_slice
    except (TypeError, ValueError):
        index = count = None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (index, count)) \
            or count < 1 or not 0 <= index < count:
        raise ValueError('item_slice must be (index, count) with 0 <= index < count, got {!r}'.format(item_slice))
    return int(index), int(count)


_DECODE_OPTIONS_FORM = "{field name: {'scale': (num, den), 'crop': (x, y, width, height)}}"


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _core_decode_options(decode_options):
    """make_reader's `decode_options` as the engine takes them: {name: (num, den, crop or None)}.
    The form is checked here; the values (scales TurboJPEG offers, crops inside the images, the
    fields read and their codecs) by the engine, which names the field."""
    if decode_options is None:
        return {}
    if not isinstance(decode_options, dict):
        raise ValueError('decode_options must be a dict {}, got {!r}'.format(_DECODE_OPTIONS_FORM, decode_options))
    out = {}
    for name, options in decode_options.items():
        if not isinstance(name, str) or not isinstance(options, dict):
            raise ValueError('decode_options must be a dict {}, got {!r}: {!r}'.format(
                _DECODE_OPTIONS_FORM, name, options))
        unknown = sorted(map(str, set(options) - {'scale', 'crop'}))
        if unknown:
            raise ValueError("decode_options of field '{}': unknown option(s) {} (known: 'scale', 'crop')".format(
                name, ', '.join(map(repr, unknown))))
        scale = options.get('scale', (1, 1))
        if not isinstance(scale, (tuple, list)) or len(scale) != 2 or not all(map(_is_int, scale)):
            raise ValueError("decode_options of field '{}': 'scale' must be (num, den), one of {}; got {!r}".format(
                name, ', '.join('({}, {})'.format(*f) for f in _core.jpeg_scaling_factors()), scale))
        crop = options.get('crop')
        if crop is not None and (not isinstance(crop, (tuple, list)) or len(crop) != 4
                                 or not all(map(_is_int, crop))):
            raise ValueError("decode_options of field '{}': 'crop' must be (x, y, width, height) integers, "
                             'got {!r}'.format(name, crop))
        for v in tuple(scale) + tuple(crop or ()):
            if not -2 ** 31 < v < 2 ** 31:
                raise ValueError("decode_options of field '{}': {} is out of range".format(name, v))
        out[name] = (int(scale[0]), int(scale[1]), None if crop is None else tuple(int(v) for v in crop))
    return out


def _check_non_negative_int(name, value, bound):
    if value is None:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value < bound:
        raise ValueError('{} must be None or an integer in [0, 2**{}), got {!r}'.format(
            name, bound.bit_length() - 1, value))


def _normalize_filters(filters):
    """pyarrow's DNF: a list of (column, op, value) tuples (one conjunction), or a list of such lists."""
    if not isinstance(filters, (list, tuple)) or not filters:
        raise ValueError('filters must be a non-empty list of (column, op, value) tuples or a list of such lists')
    if all(isinstance(f, tuple) for f in filters):
        filters = [filters]
    out = []
    for conjunction in filters:
        if not isinstance(conjunction, (list, tuple)) or not all(
                isinstance(t, tuple) and len(t) == 3 for t in conjunction):
            raise ValueError('Each filter must be a (column, op, value) tuple, got {!r}'.format(conjunction))
        out.append([(str(c), str(op), v) for c, op, v in conjunction])
    return out


def _keep(selected, num_row_groups, wanted):
    """The row groups of `selected` (None: all) that are in `wanted`, in order."""
    return [i for i in (range(num_row_groups) if selected is None else selected) if i in wanted]


def _selected_by(dataset, rowgroup_selector):
    """The row groups `rowgroup_selector` picks from the dataset's indexes."""
    from petastorm.etl.rowgroup_indexing import get_row_group_indexes
    indexes = get_row_group_indexes(dataset)
    required = rowgroup_selector.get_index_names()
    if not set(required).issubset(indexes):
        raise ValueError('Some of required indexes {} are not available in {}'.format(required, list(indexes)))
    return set(rowgroup_selector.select_row_groups(indexes))


class Reader(object):
    """Iterates over the rows of a dataset. A context manager: stops and joins on exit.

    Made by make_reader (and, as :class:`BatchReader`, make_batch_reader). Constructed directly it
    takes Petastorm's arguments (petastorm/reader_compat.py): ``Reader(pyarrow_filesystem,
    dataset_path, schema_fields=None, ..., reader_pool=None, ..., cache=None, worker_class=None,
    transform_spec=None, is_batched_reader=False, ...)``."""

    is_batched_reader = False

    def __new__(cls, *args, **kwargs):
        if cls is Reader and reader_compat.batched_by(args, kwargs):
            cls = BatchReader
        return super(Reader, cls).__new__(cls)

    def __init__(self, pyarrow_filesystem=None, dataset_path=None, schema_fields=None, seed=None, shuffle_rows=False,
                 shuffle_row_groups=True, shuffle_row_drop_partitions=1, predicate=None, rowgroup_selector=None,
                 reader_pool=None, num_epochs=1, cur_shard=None, shard_count=None, cache=None, worker_class=None,
                 transform_spec=None, is_batched_reader=False, filters=None, shard_seed=None,
                 convert_early_to_numpy=False):
        """Petastorm's Reader: see petastorm/reader_compat.py for how each argument maps onto the engine."""
        url, engine = reader_compat.engine_arguments(
            self, pyarrow_filesystem, dataset_path, schema_fields=schema_fields, seed=seed, shuffle_rows=shuffle_rows,
            shuffle_row_groups=shuffle_row_groups, shuffle_row_drop_partitions=shuffle_row_drop_partitions,
            predicate=predicate, rowgroup_selector=rowgroup_selector, reader_pool=reader_pool, num_epochs=num_epochs,
            cur_shard=cur_shard, shard_count=shard_count, cache=cache, worker_class=worker_class,
            transform_spec=transform_spec, filters=filters, shard_seed=shard_seed)
        self._open(url, **engine)

    @classmethod
    def _make(cls, dataset_url, **engine):
        """A reader of the engine's arguments (those of ``_open``): how the factories make one."""
        reader = object.__new__(cls)
        reader._open(dataset_url, **engine)
        return reader

    def _open(self, dataset_url, schema_fields=None, seed=None, shuffle_rows=False, shuffle_row_groups=True,
                 shuffle_row_drop_partitions=1, predicate=None, num_epochs=1, cur_shard=None, shard_count=None,
                 shard_seed=None, cache=None, cleanup_cache=False, transform_spec=None, pool='thread',
                 workers_count=10, results_queue_size=50, filters=None, partition_overlap_rows=0, item_slice=(0, 1),
                 rowgroup_selector=None, row_groups=None, storage_options=None, filesystem=None,
                 hdfs_driver='libhdfs3', shard_mode='row_groups', shard_remainder='drop', memory_budget_bytes=None,
                 decode_options=None, python_workers=None):
        """The engine for make_reader's and make_batch_reader's arguments (see them); `cache` is
        (location, size_limit, row_size_estimate, eviction_policy) or None. `python_workers`:
        (pool, worker_class, cache) when a Petastorm pool's Python workers read the items
        (petastorm/worker_items.py: a user's CacheBase or worker class). `item_slice`
        (index, count): only the work items of that share of the plan, each delivered, an empty
        one too (how worker processes split one plan). `row_groups`: read only these row groups
        (positions in ``dataset_row_groups``), on top of `filters` and `rowgroup_selector`."""
        _check_non_negative_int('seed', seed, 2 ** 64)
        _check_non_negative_int('shard_seed', shard_seed if shard_seed is not False else None, 2 ** 64)
        if not isinstance(results_queue_size, (int, np.integer)) or isinstance(results_queue_size, bool) \
                or results_queue_size < 1:
            raise ValueError('results_queue_size must be a positive integer, got {!r}'.format(results_queue_size))
        if memory_budget_bytes is not None and (not isinstance(memory_budget_bytes, (int, np.integer)) or
                                                isinstance(memory_budget_bytes, bool) or memory_budget_bytes < 1):
            raise ValueError('memory_budget_bytes must be None or a positive integer, got {!r}'.format(
                memory_budget_bytes))
        if shard_mode not in ('row_groups', 'rows'):
            raise ValueError("shard_mode must be 'row_groups' or 'rows', got {!r}".format(shard_mode))
        if shard_remainder not in ('drop', 'pad'):
            raise ValueError("shard_remainder must be 'drop' or 'pad', got {!r}".format(shard_remainder))
        if shard_mode == 'rows' and (predicate is not None or filters is not None):
            raise ValueError("shard_mode='rows' gives every shard the same number of rows, which {} (rows known "
                             'only by reading) would not keep: select the rows after reading, or shard by row groups'
                             .format('a predicate' if predicate is not None else 'row-exact filters'))
        self.dataset_url = dataset_url
        self._filesystem, self._storage_options = filesystem, storage_options
        self.num_epochs = num_epochs
        self.seed = seed  # a loader without a seed of its own takes it (petastorm.pytorch)
        self._seed_given = seed is not None
        self._shard = (cur_shard, shard_count, shard_mode)
        listing = time.perf_counter()
        self._dataset = fs_utils.open_dataset(dataset_url, storage_options, filesystem, hdfs_driver)
        self._list_seconds = time.perf_counter() - listing  # listing files, reading the metadata
        self._transform_seconds = 0.0  # transform_spec run in this process (in the consumer's thread)
        self._column_types = {}  # a transformed decimal field's Arrow type, fixed by its first column (_same_type)
        # The engine reads by the stored Unischema unless given another (an inferred one).
        stored, engine_schema = self._read_schema(dataset_url)

        self.ngram = schema_fields if isinstance(schema_fields, NGram) else None
        if self.ngram is not None and self.is_batched_reader:
            raise NotImplementedError('ngrams are not supported by make_batch_reader')
        if self.ngram is not None:
            if shuffle_rows:
                raise NotImplementedError('NGram needs rows in storage order: shuffle_rows=True is not supported')
            if not self.ngram.timestamp_overlap and shuffle_row_drop_partitions > 1:
                raise NotImplementedError('Using timestamp_overlap=False is not implemented with '
                                          'shuffle_options.shuffle_row_drop_partitions > 1')
            self.ngram.resolve_regex_field_names(stored)
            storage_schema = stored.create_schema_view(
                [stored.fields[n] for n in self.ngram.get_field_names_at_all_timesteps()])
        elif schema_fields is None:
            self._check_deliverable(None)
            storage_schema = stored
        else:
            if isinstance(schema_fields, (str, bytes)) or not hasattr(schema_fields, '__iter__'):
                raise ValueError('Fields must be either None, an iterable collection of Unischema fields '
                                 'or an NGram object.')
            self._check_deliverable(list(schema_fields))
            storage_schema = stored.create_schema_view(list(schema_fields))
            if not storage_schema.fields:
                raise RuntimeError("No fields matching the criteria '{}' were found in the dataset {}."
                                   .format(schema_fields, dataset_url))
        core_decode_options = _core_decode_options(decode_options)
        self._transform_spec = transform_spec
        # Worker processes (and Python workers) transform their items themselves.
        self._transform_here = transform_spec is not None and pool != 'process' and python_workers is None
        self.last_row_consumed = False
        self.stopped = False
        self.cache = _core.local_disk_cache(*cache) if cache is not None else None
        self._cleanup_cache = cleanup_cache

        selected = None
        row_filter = None
        if filters is not None:
            # Two steps, as pyarrow: row groups pruned by their statistics, then the rest row-exact
            # (a predicate on the filter columns, read before the others).
            dnf = _normalize_filters(filters)
            selected = _core.prune_row_groups(self._dataset, dnf)
            row_filter = _core.row_filter(dnf)
        if rowgroup_selector is not None:
            selected = _keep(selected, self._dataset.num_row_groups,
                             _selected_by(self._dataset, rowgroup_selector))
        if row_groups is not None:
            selected = _keep(selected, self._dataset.num_row_groups, set(row_groups))
        if self.ngram is not None:
            # A drop partition also reads the next length-1 rows: n-grams across the cut.
            partition_overlap_rows = self.ngram.length - 1
        self._predicate = predicate
        self._row_filter = row_filter
        core_predicate = row_filter
        if predicate is not None:
            from petastorm.predicates import core_predicate_of
            core_predicate = core_predicate_of(predicate, batched=self.is_batched_reader)
            if row_filter is not None:
                core_predicate = _core.in_reduce([row_filter, core_predicate], 'all')
        # Shards follow the user's seed only: without one they are the deterministic round-robin,
        # whatever the pool (the seed drawn below for worker processes must not move them).
        # (False: explicitly none, as the worker processes of an unseeded reader are told.)
        shard_seed = None if shard_seed is False else (shard_seed if shard_seed is not None else seed)
        if pool == 'process' and seed is None:
            # Every worker process must follow the same plan.
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        options = _core.ReaderOptions()
        options.schema = engine_schema
        options.fields = list(storage_schema.fields)
        options.decode_options = core_decode_options
        options.num_epochs = num_epochs
        options.seed = seed
        options.shuffle_rows = bool(shuffle_rows)
        options.shuffle_row_groups = bool(shuffle_row_groups)
        options.shuffle_row_drop_partitions = int(shuffle_row_drop_partitions)
        options.partition_overlap_rows = int(partition_overlap_rows)
        options.cur_shard = cur_shard
        options.shard_count = shard_count
        options.shard_seed = shard_seed
        options.shard_mode = shard_mode
        options.shard_remainder = shard_remainder
        options.predicate = core_predicate
        options.selected_row_groups = selected
        options.cache = self.cache
        # With Python workers this reader only plans: they read each item with an engine of their own.
        options.pool = _core.PoolType.thread if pool == 'thread' and python_workers is None else _core.PoolType.dummy
        options.workers_count = int(workers_count)
        options.stage_times = loader_stages.TRACKING
        options.results_queue_size = int(results_queue_size)
        # Shared with the loaders, which report the bytes of their shuffling buffer and batches.
        self.memory_budget = None if memory_budget_bytes is None else _core.MemoryBudget(int(memory_budget_bytes))
        options.memory_budget = self.memory_budget
        slice_index, slice_count = item_slice
        self._reader = _core.Reader(self._dataset, options, slice_index=int(slice_index),
                                    slice_count=int(slice_count))
        if core_decode_options:
            # The decoded fields' codecs and shapes, as the engine's schema has them.
            decoded = {f.name: f for f in self._reader.schema.fields if f.name in core_decode_options}
            storage_schema = Unischema(storage_schema._name, [
                _field_from_core(decoded[f.name]) if f.name in decoded else f
                for f in storage_schema.fields.values()])
        self._storage_schema = storage_schema
        self.schema = transform_schema(storage_schema, transform_spec) if transform_spec else storage_schema
        if self._reader.num_row_groups_planned == 0 and slice_index == 0:
            warnings.warn('No matching data is available for loading after rowgroup selector were applied '
                          'and the data was sharded.')
        # The schema of the row groups this reader's items become (the transformed one when a
        # transform runs), and its core form, named after the engine's schema so that a worker
        # process, whose reader is made from the field list, names it the same.
        self._item_schema = self.schema if transform_spec is not None else storage_schema
        self._item_core = self._reader.schema if transform_spec is None else \
            self._item_schema.core_schema_in_memory(self._reader.schema.name + '_transformed')
        self._start = self._reader.start
        self._origin = self._start  # where reset() goes: the first epoch
        self._first_skip = 0   # outputs of the sequence's first item a resume drops
        self._outputs = []     # of the current item
        self._taken = 0        # of them already returned
        self._offset = 0       # outputs of the current item dropped before the first returned
        self._pool_items = 0   # items taken from the process pool
        self._process_pool = None  # the source of items when not the engine: worker processes or Python workers
        self._workers_pool = None  # Petastorm's pool object, when Python workers read
        if python_workers is not None:
            self._process_pool = self._python_workers(python_workers, filesystem, storage_schema, filters,
                                                      shuffle_rows)
        elif pool == 'process':
            from petastorm.process_pool import ProcessPool
            worker_spec = {'reader_class': type(self), 'dataset_url': dataset_url, 'kwargs': dict(
                schema_fields=list(storage_schema.fields), seed=seed, shuffle_rows=shuffle_rows,
                shuffle_row_groups=shuffle_row_groups, shuffle_row_drop_partitions=shuffle_row_drop_partitions,
                predicate=predicate, num_epochs=num_epochs, cur_shard=cur_shard, shard_count=shard_count,
                shard_seed=False if shard_seed is None else shard_seed, cache=cache, transform_spec=transform_spec,
                filters=filters,
                partition_overlap_rows=partition_overlap_rows, row_groups=selected,
                storage_options=storage_options, filesystem=filesystem, hdfs_driver=hdfs_driver,
                shard_mode=shard_mode, shard_remainder=shard_remainder, decode_options=decode_options)}
            self._process_pool = ProcessPool(int(workers_count), worker_spec, self._item_core)

    def _python_workers(self, python_workers, filesystem, storage_schema, filters, shuffle_rows):
        """The items read by Petastorm's Python workers on the user's pool (petastorm/worker_items.py)."""
        from petastorm.etl.dataset_metadata import load_row_groups
        from petastorm.worker_items import WorkerItems
        pool, worker_class, cache = python_workers
        self.cache = cache
        self._workers_pool = pool
        args = (filesystem, self.dataset_url, storage_schema, self.ngram, load_row_groups(self._dataset), cache,
                self._transform_spec, self.schema if self._transform_spec else storage_schema, filters, shuffle_rows,
                int(self._reader.seed), False)
        per_epoch = self._reader.items_per_epoch
        total = None if self.num_epochs is None and per_epoch else per_epoch * (self.num_epochs or 1)
        return WorkerItems(pool, worker_class, args, self._reader, self._start, total, self._predicate)

    def _read_schema(self, dataset_url):
        """(the dataset's Unischema, the core schema to read by or None for the stored one)."""
        schema, engine_schema = stored_unischema(self._dataset)
        if schema is not None:
            return schema, engine_schema
        # Petastorm's way: warn and read by an inferred schema, as long as every column is a scalar
        # (rows of lists, structs or maps are make_batch_reader's).
        warnings.warn('Currently make_reader supports reading only Petastorm datasets. To read from a non-Petastorm '
                      'Parquet store use make_batch_reader')
        inferred, unsupported = _core.infer_schema(self._dataset)
        schema = Unischema.from_core(inferred, declared_storage=False)
        not_scalar = [name for name, field in schema.fields.items() if field.shape != ()] + list(dict(unsupported))
        if not_scalar:
            raise RuntimeError(
                'make_reader has failed. If you were trying to open a Parquet store that was not created using '
                'Petastorm materialize_dataset and it contains only scalar columns, you may use make_batch_reader to '
                'read it.\nInner exception: {} has no Unischema in its metadata, and its columns {} are not scalars: '
                'read it with make_batch_reader'.format(dataset_url, ', '.join(repr(n) for n in not_scalar)))
        return schema, inferred

    def _check_deliverable(self, schema_fields):
        """Raises when `schema_fields` (None: all) asks for a column that cannot be delivered."""

    @property
    def batched_output(self):
        return False

    @property
    def diagnostics(self):
        """Queue fill, rows delivered and time per stage of the C++ engine (``list_seconds``: listing
        the files and reading the metadata; ``plan_seconds``; worker seconds ``io_seconds``,
        ``parquet_decode_seconds`` (their sum ``read_seconds``), ``decode_seconds``, ``predicate_seconds``;
        ``worker_blocked_seconds``, ``consumer_wait_seconds``; ``transform_seconds``, the
        ``transform_spec``'s time, run in the consumer's thread, 0 with worker processes, which
        transform their items themselves); ``peak_bytes``, the
        high-water mark of the decoded bytes held (with a memory budget, the loaders' too), and
        with one ``memory_budget_bytes`` and ``held_bytes`` (what the loaders hold now)."""
        d = self._reader.diagnostics
        if isinstance(self._process_pool, WorkerItems):  # Python workers: the pool's own too
            d.update(self._process_pool.diagnostics)
        elif self._process_pool is not None:  # worker processes: Petastorm's ProcessPool keys
            # (an item is received from its worker when the consumer takes it: none waits in between)
            d.update(items_consumed=self._pool_items, items_produced=self._pool_items, items_inprocess=0)
        d['list_seconds'] = self._list_seconds
        d['transform_seconds'] = self._transform_seconds
        if self.memory_budget is not None:
            d['memory_budget_bytes'] = self.memory_budget.limit
            d['held_bytes'] = self.memory_budget.held
        return d

    def __iter__(self):
        return self

    def __next__(self):
        self._check_not_stopped()
        while True:
            if self._taken < len(self._outputs):
                self._taken += 1
                return self._outputs[self._taken - 1]
            item = self._next_item()
            if item is None:
                self._outputs, self._taken = [], 0
                self.last_row_consumed = True
                raise StopIteration
            self._set_outputs(self._item_output(item))

    def _set_outputs(self, outputs):
        """The outputs of the item just taken; the first item after a resume drops those the
        saved run had returned."""
        self._offset = 0
        if self._first_skip:  # the first item taken since the resume: it is the one resumed in
            self._offset, self._first_skip = self._first_skip, 0
        self._outputs, self._taken = outputs, self._offset

    def _items_taken(self):
        """Work items of the sequence taken since its start (empty ones too)."""
        if self._process_pool is not None:
            return self._pool_items
        return self._reader.diagnostics['items_consumed']

    def state_dict(self):
        """The reader's position, small and JSON-able: resumed with ``load_state_dict`` by a
        reader made with the same arguments, in a new process too, it goes on with exactly the
        outputs (rows, windows, batches) this one would have returned next. Also saves the seed
        (a drawn one too). Not taken inside ``decoded_row_groups()`` items."""
        k = self._items_taken()
        if k and self._taken < len(self._outputs):
            position, skip = self._reader.position_at(self._start, k - 1), self._taken
        else:
            position, skip = self._reader.position_at(self._start, k), 0
        first_items, epoch, item = position
        cur_shard, shard_count, shard_mode = self._shard
        return {'version': _STATE_VERSION, 'kind': 'petastorm.reader', 'seed': int(self._reader.seed),
                'cur_shard': cur_shard, 'shard_count': shard_count, 'shard_mode': shard_mode,
                'items_per_epoch': int(self._reader.items_per_epoch),
                'position': {'first_items': [list(i) for i in first_items], 'epoch': epoch, 'item': item},
                'skip': skip}

    def load_state_dict(self, state):
        """Goes on from a saved position: ``state`` from ``state_dict()`` of a reader made with the
        same arguments (same shard), or, for an elastic resume, the list of the states of every
        shard of the saving run (any shard_count, the same seed): the rest of that epoch is then
        split among this run's shards, each remaining row read once by exactly one of them (in
        another order than the saving run's), and the next epochs follow this run's sharding."""
        states = list(state) if isinstance(state, (list, tuple)) else [state]
        if not states:
            raise ValueError('load_state_dict: no state')
        for s in states:
            if not isinstance(s, dict) or s.get('kind') != 'petastorm.reader':
                raise ValueError('load_state_dict: not a reader state (from Reader.state_dict()): {!r}'.format(
                    type(s).__name__))
            if s.get('version') != _STATE_VERSION:
                raise ValueError('load_state_dict: state version {!r}, this reader reads version {}'.format(
                    s.get('version'), _STATE_VERSION))
        if isinstance(self._process_pool, WorkerItems):
            raise NotImplementedError('load_state_dict: a reader whose items Python workers read (a custom cache or '
                                      'worker_class) does not resume')
        seeds = {s['seed'] for s in states}
        if len(seeds) != 1:
            raise ValueError('load_state_dict: the shard states have different seeds {}: an elastic resume needs '
                             'one seed for every shard'.format(sorted(seeds)))
        seed = seeds.pop()
        if self._seed_given and seed != self._reader.seed:
            raise ValueError('load_state_dict: the state was saved by a reader with seed={}, this one has seed={}'
                             .format(seed, self._reader.seed))
        cur_shard, shard_count, shard_mode = self._shard
        same_shard = len(states) == 1 and (states[0]['cur_shard'], states[0]['shard_count']) == (cur_shard, shard_count)
        if same_shard:
            s = states[0]
            if s['shard_mode'] != shard_mode or s['items_per_epoch'] != self._reader.items_per_epoch:
                raise ValueError('load_state_dict: the state was saved by a reader of another plan ({} work items '
                                 'per epoch, shard_mode={!r}; this one: {}, {!r})'.format(
                                     s['items_per_epoch'], s['shard_mode'], self._reader.items_per_epoch, shard_mode))
            p = s['position']
            start = ([tuple(i) for i in p['first_items']], p['epoch'], p['item'])
            skip = s['skip']
        else:
            if self.ngram is not None:
                raise NotImplementedError('load_state_dict: an elastic resume of an NGram reader is not supported')
            count = len(states)
            by_shard = sorted(states, key=lambda s: -1 if s['cur_shard'] is None else s['cur_shard'])
            if [s['shard_count'] for s in by_shard] != [count] * count or \
                    [s['cur_shard'] for s in by_shard] != list(range(count)):
                raise ValueError('load_state_dict: an elastic resume needs the states of every shard of the saving '
                                 'run (cur_shard 0 .. shard_count - 1), got shards {} of {}'.format(
                                     [s['cur_shard'] for s in states], [s['shard_count'] for s in states]))
            modes = {s['shard_mode'] for s in by_shard}
            progress = [(([tuple(i) for i in s['position']['first_items']], s['position']['epoch'],
                          s['position']['item']), s['skip']) for s in by_shard]
            items, epoch = _core.elastic_share(self._reader, progress, cur_shard, shard_count, modes.pop())
            start, skip = (items, epoch + 1, 0), 0
        self._restart(start, seed)
        self.seed = seed if self.seed is None else self.seed
        self._first_skip = skip

    def _restart(self, start, seed):
        """Starts the sequence again at `start` (a position; `seed`: the plan's, None keeps it),
        the worker processes too: their slices count from the new start."""
        self._reader.restart(start, seed)
        self._start = self._reader.start
        if self._process_pool is not None:
            self._process_pool.restart(self._start, int(self._reader.seed))
            self._pool_items = 0
        self._first_skip = 0
        self._outputs, self._taken, self._offset = [], 0, 0
        self.last_row_consumed = False

    next = __next__

    def _check_not_stopped(self):
        if self.stopped:
            raise RuntimeError('Trying to read a sample after a reader created by make_reader/make_batch_reader '
                               'has stopped. This may happen if the make_reader/make_batch_reader context manager '
                               'has exited but you try to fetch a sample from the reader.')

    def decoded_row_groups(self):
        """Iterates over the decoded row groups this reader delivers, in its order: one
        ``petastorm._core.DecodedRowGroup`` per work item (a row group, or the part of one a
        drop partition or predicate leaves), whose columns are those of ``reader.schema`` (the
        transformed schema when there is a ``transform_spec``). The form the PyTorch loaders,
        the TensorFlow adapter and the worker processes consume: the data stays in C++ buffers
        (``to_numpy_columns()``, ``row_columns()``, ``to_ipc()``), one Python call per row group.

        Shares the reader's position with iteration over rows. TypeError for n-gram readers,
        whose items are windows, not row groups."""
        if self.ngram is not None:
            raise TypeError('An NGram reader delivers windows of rows, not row groups')
        self._check_not_stopped()
        if self._taken < len(self._outputs):
            raise RuntimeError('decoded_row_groups() cannot continue a reader in the middle of a row group')
        keep_empty = self._reader.slice_count > 1
        while True:
            group = self._next_group()
            if group is None:
                return
            if group.num_rows or keep_empty:
                yield group

    def _next_group(self):
        """The next work item as a DecodedRowGroup (maybe of no rows), None at the end."""
        item = self._next_item()
        if item is None:
            self.last_row_consumed = True
            return None
        return item if isinstance(item, _core.DecodedRowGroup) else self._group_of(item)

    # --- For the loaders' resumable state (petastorm/loader_state.py) ---

    def _item_rows(self, n, state=None):
        """Rows each of the first n work items from this reader's start (or from the position of
        `state`, one of its states) delivers, or None when that is known only by reading
        (rows_per_epoch is None)."""
        if self.rows_per_epoch is None:
            return None
        start = self._start if state is None else _position_of(state)
        return list(self._reader.item_rows(start, int(n)))

    def _state_at(self, state, k, skip):
        """`state` (of this reader's shard) moved on by k work items, with `skip` rows of the next
        one delivered: the form an elastic resume takes."""
        start = _position_of(state)
        first_items, epoch, item = self._reader.position_at(start, int(k))
        return dict(state, position={'first_items': [list(i) for i in first_items], 'epoch': epoch, 'item': item},
                    skip=int(skip))

    def _items_at(self, state, offsets):
        """The work items at `offsets` of the sequence from the position of `state` (one of this
        reader's states), as the tuples of a state's position."""
        return self._reader.items_at(_position_of(state), [int(i) for i in offsets])

    def _restart_with(self, offsets, k):
        """Starts again with the work items at `offsets` (of the sequence from the start) first,
        then the sequence after its first k items: a loader's resume reads again only the items
        whose rows its shuffling buffer still held."""
        first = self._reader.items_at(self._start, [int(i) for i in offsets])
        first_items, epoch, item = self._reader.position_at(self._start, int(k))
        self._restart((list(first) + list(first_items), epoch, item), None)

    def _next_item(self):
        """The next work item: a DecodedRowGroup, or (with a transform run here) the transformed
        rows (a list of dicts; make_batch_reader: a dict of numpy columns); None at the end."""
        if self._process_pool is not None:
            item = self._process_pool.next()
            if item is not None:
                self._pool_items += 1
            return item
        group = self._reader.next()
        if group is None or not self._transform_here:
            return group
        if not loader_stages.TRACKING:
            return self._transformed(group)
        began = time.perf_counter()
        try:
            return self._transformed(group)
        finally:
            self._transform_seconds += time.perf_counter() - began

    def _item_output(self, item):
        """What iteration yields for one work item."""
        if not isinstance(item, _core.DecodedRowGroup):
            return self._finish_rows(item)
        if self.ngram is None:
            columns = item.row_columns()
            return list(map(self.schema.namedtuple_type()._make, zip(*columns)))
        return self._finish_rows(self._group_dicts(item))

    def _group_dicts(self, group):
        names = group.field_names
        return [dict(zip(names, values)) for values in zip(*group.row_columns())]

    def _transformed(self, group):
        return [self._transform(row) for row in self._group_dicts(group)]

    def _group_of(self, rows):
        """Transformed rows (dicts) as a DecodedRowGroup of the item schema."""
        columns = []
        for name, field in self._item_schema.fields.items():
            values = [row.get(name) for row in rows]
            columns.append(values if _holds_tensors(field) else self._same_type(name, _arrow_column(name, values)))
        return _core.DecodedRowGroup.from_columns(self._item_core, len(rows), columns)

    def _same_type(self, name, array):
        """A transformed column in the type of the field's first one: pyarrow infers a decimal's
        precision and scale from the values, and the loaders' batches need one type per field
        (decimals are held as decimal128(38, the first column's scale))."""
        import pyarrow as pa
        types = self._column_types
        first = types.get(name)
        if first is None:
            if pa.types.is_decimal(array.type) and len(array):
                first = pa.decimal128(38, array.type.scale)
                types[name] = first
            else:
                return array
        if array.type == first:
            return array
        try:
            return array.cast(first)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise TypeError("Field '{}': the transform returned {} values after {} ones; the loaders batch one type per "
                            'field'.format(name, array.type, first)) from None

    def _finish_rows(self, rows):
        if self.ngram is not None:
            return [self.ngram.make_namedtuple(self.schema, item) for item in self.ngram.form_ngram(rows, self.schema)]
        make = self.schema.make_namedtuple
        return [make(**row) for row in rows]

    def _transform(self, row):
        return transform_row(self._transform_spec, row)

    @property
    def dataset(self):
        """The dataset as a ``pyarrow.parquet.ParquetDataset`` of its files (Petastorm's attribute;
        the reader itself reads through the engine)."""
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq
        fs = self._filesystem
        if not isinstance(fs, pafs.FileSystem):
            fs = fs_utils.get_filesystem_and_path_or_paths(self.dataset_url, storage_options=self._storage_options,
                                                          filesystem=fs)[0]
        return pq.ParquetDataset(list(self._dataset.files), filesystem=fs)

    @property
    def ventilator(self):
        """The ventilator of the Python workers (a user's cache or worker class), else None: the
        engine plans in C++."""
        return getattr(self._process_pool, 'ventilator', None)

    @property
    def dataset_row_groups(self):
        """[(file index, row group in the file)] of the whole dataset, in its order: a row
        group's position is its index (as in row-group indexes; DecodedRowGroup.source)."""
        return self._dataset.row_groups

    @property
    def rows_per_epoch(self):
        """How many rows one epoch delivers, or None when that is known only by reading
        (a predicate, filters, n-grams, a make_batch_reader transform that may change the row count)."""
        if self.ngram is not None or self._predicate is not None or self._row_filter is not None:
            return None
        if self.is_batched_reader and self._transform_spec is not None and self._transform_spec.func is not None:
            return None
        return self._reader.rows_per_epoch

    def reset(self):
        """Starts over from the first epoch. Unlike Petastorm, also in the middle of an epoch."""
        if isinstance(self._process_pool, WorkerItems) and not self.last_row_consumed:
            raise NotImplementedError('Currently do not support resetting a reader while in the middle of iteration. '
                                      'You can call reset only after all samples were consumed.')
        if self._process_pool is not None or self._reader.start != self._origin:
            # (after a resume: the first epoch, not the resumed point)
            self._restart(self._origin, None)
            return
        self._reader.reset()
        self._first_skip = 0
        self._outputs, self._taken, self._offset = [], 0, 0
        self.last_row_consumed = False

    def stop(self):
        """Asks the workers to stop; reading afterwards raises."""
        self.stopped = True
        self._reader.stop()
        if self._process_pool is not None:
            self._process_pool.stop()

    def join(self):
        """Waits for the workers to finish."""
        self._reader.join()
        if self._process_pool is not None:
            self._process_pool.join()

    def cleanup_cache(self):
        """Removes the local-disk cache's entries (done on exit unless
        ``cache_extra_settings={'cleanup': False}``)."""
        if self.cache is None:
            return
        try:
            self.cache.cleanup()
        except (OSError, AttributeError) as e:
            print('Error cleaning cache: {}'.format(e))
        print('Cache cleanup complete.')

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        self.join()
        if self._cleanup_cache:
            self.cleanup_cache()


class BatchReader(Reader):
    """Iterates over the batches of any Parquet store (make_batch_reader): each item is a
    namedtuple of numpy arrays, one per field, first dimension the batch's row count. The
    same engine as Reader; only the schema (inferred when the store has none) and the output
    differ. A context manager: stops and joins on exit."""

    is_batched_reader = True

    def _read_schema(self, dataset_url):
        self._unsupported = {}
        schema, engine_schema = stored_unischema(self._dataset)
        if schema is not None:
            warnings.warn("Please use make_reader (instead of 'make_batch_dataset' function to read this dataset. "
                          'make_batch_reader reads it too, decoding codec fields into arrays of the whole batch.')
            return schema, engine_schema
        inferred, unsupported = _core.infer_schema(self._dataset)
        self._unsupported = dict(unsupported)
        return Unischema.from_core(inferred, declared_storage=False), inferred

    def _check_deliverable(self, schema_fields):
        if not self._unsupported:
            return
        if schema_fields is None:
            asked = list(self._unsupported)
        else:
            names = {f.name for f in schema_fields if isinstance(f, tuple)}
            patterns = [re.compile(f) for f in schema_fields if isinstance(f, str)]
            asked = [n for n in self._unsupported if n in names or any(p.fullmatch(n) for p in patterns)]
        if asked:
            raise NotImplementedError('; '.join(self._unsupported[n] for n in asked))

    @property
    def batched_output(self):
        return True

    def _item_output(self, item):
        columns = item if not isinstance(item, _core.DecodedRowGroup) else (
            item.to_numpy_columns() if item.num_rows else {})
        return self._finish_rows(columns)

    def _transformed(self, group):
        """The group as {name: numpy array} of the transformed schema; {} when it has no rows."""
        from petastorm.batch_reader import transform_columns
        if group.num_rows == 0:
            return {}
        return transform_columns(self._transform_spec, self.schema, group.to_numpy_columns())

    def _group_of(self, columns):
        num_rows = len(next(iter(columns.values()))) if columns else 0
        out = []
        for name, field in self._item_schema.fields.items():
            values = columns.get(name, [])
            if _holds_tensors(field):
                out.append(list(values) if getattr(values, 'dtype', None) == object else values)
            else:
                out.append(self._same_type(name, _arrow_column(name, values)))
        return _core.DecodedRowGroup.from_columns(self._item_core, num_rows, out)

    def _finish_rows(self, columns):
        if not columns or not len(next(iter(columns.values()))):
            return []
        return [self.schema.namedtuple_type()(**columns)]


def _position_of(state):
    """The (first_items, epoch, item) position of a reader state."""
    p = state['position']
    return [tuple(i) for i in p['first_items']], p['epoch'], p['item']


def _holds_tensors(field):
    """Whether the core holds this field's values as one tensor per row (a tensor codec, or an
    array field without codec, as a transform makes)."""
    codec = field.codec
    if codec is not None:
        return codec.core_form()[0] is not None
    return bool(field.shape)


def _arrow_column(name, values):
    """A pyarrow Array of one field's values: a list of Python/numpy values (0-d arrays and torch
    tensors taken as scalars), or a numpy column (multi-dimensional: nested fixed-size lists)."""
    import pyarrow as pa
    if isinstance(values, np.ndarray) and values.ndim > 1 and values.dtype != object:
        array = pa.array(np.ascontiguousarray(values).reshape(-1))
        for size in reversed(values.shape[1:]):
            array = pa.FixedSizeListArray.from_arrays(array, size)
        return array
    if not isinstance(values, np.ndarray) or values.dtype == object:
        values = [scalar_or_array(v) for v in values]
        arrays = [v for v in values if isinstance(v, np.ndarray)]
        if arrays:  # a transform returned arrays for a field the schema calls scalar: batched as they are
            if len(arrays) == len(values) and len({(a.shape, a.dtype) for a in arrays}) == 1 and arrays[0].dtype != object:
                return _arrow_column(name, np.stack(arrays)) if arrays[0].ndim > 0 else pa.array(np.stack(arrays))
            raise TypeError("Field '{}' is a scalar field of the schema, and the transform returned {}: declare its "
                            'shape in the TransformSpec (edit_fields=[({!r}, np.{}, {}, True)])'.format(
                                name, describe_value(arrays[0]), name, arrays[0].dtype.name,
                                tuple(None for _ in arrays[0].shape)))
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        present = [v for v in values if v is not None]
        kinds = sorted({describe_value(v) for v in present})
        raise TypeError("Field '{}': cannot hold values of {} in one column".format(
            name, ', '.join(kinds[:3]) + (', ...' if len(kinds) > 3 else ''))) from None
