"""Petastorm's ``Reader(pyarrow_filesystem, dataset_path, ...)`` arguments, as the engine's.

Petastorm's factories open the filesystem, then construct ``Reader`` with pool, cache and
worker objects; code written for Petastorm does so too. Each argument here:

- ``pyarrow_filesystem``, ``dataset_path``: a filesystem (pyarrow's or fsspec's) and a path, or a
  list of paths, on it. Without a filesystem, ``dataset_path`` is a URL, as make_reader's; so is
  a lone first argument (``Reader(url, ...)``).
- ``reader_pool``: ``None`` is Petastorm's default ``ThreadPool(10)``. A ``ThreadPool(n)``,
  ``ProcessPool(n)`` or ``DummyPool()`` (petastorm.workers_pool) says which of the engine's pools
  reads and with how many workers (the engine's C++ threads, its worker processes, the consumer's
  thread); the pool object itself runs only for Python workers (below).
- ``cache``: ``None`` or ``NullCache()``: none; a ``LocalDiskCache``: the engine's C++ cache at its
  path. Any other ``CacheBase``, or a ``worker_class`` other than Petastorm's two: the work items
  are read by Python workers of that class on the pool, as in Petastorm, each item through
  ``cache.get(key, fill)`` with ``fill`` reading it through the engine (petastorm/worker_items.py).
  Such a cache with a predicate or ``shuffle_row_drop_partitions > 1``: RuntimeError (Petastorm's).
- ``is_batched_reader=True`` or ``worker_class=ArrowReaderWorker``: make_batch_reader's reader.
- ``convert_early_to_numpy``: no effect (as for the factories).
"""
import warnings


def batched_by(args, kwargs):
    """Whether ``Reader(*args, **kwargs)`` (Petastorm's signature) asks for make_batch_reader's reader."""
    names = ('pyarrow_filesystem', 'dataset_path', 'schema_fields', 'seed', 'shuffle_rows', 'shuffle_row_groups',
             'shuffle_row_drop_partitions', 'predicate', 'rowgroup_selector', 'reader_pool', 'num_epochs',
             'cur_shard', 'shard_count', 'cache', 'worker_class', 'transform_spec', 'is_batched_reader')
    given = dict(zip(names, args), **kwargs)
    worker_class = given.get('worker_class')
    if worker_class is not None:
        from petastorm.arrow_reader_worker import ArrowReaderWorker
        if isinstance(worker_class, type) and issubclass(worker_class, ArrowReaderWorker):
            return True
    return bool(given.get('is_batched_reader'))


def engine_arguments(reader, pyarrow_filesystem, dataset_path, reader_pool, cache, worker_class, shard_seed,
                     **common):
    """(dataset url or paths, keyword arguments of Reader._open) for Petastorm's Reader arguments."""
    from petastorm.arrow_reader_worker import ArrowReaderWorker
    from petastorm.cache import CacheBase, NullCache
    from petastorm.local_disk_cache import LocalDiskCache
    from petastorm.py_dict_reader_worker import PyDictReaderWorker
    from petastorm.reader import _check_engine_arguments, _normalize_url, _normalize_url_or_urls
    from petastorm.workers_pool.dummy_pool import DummyPool
    from petastorm.workers_pool.process_pool import ProcessPool
    from petastorm.workers_pool.thread_pool import ThreadPool

    if dataset_path is None and (isinstance(pyarrow_filesystem, (str, list, tuple)) or
                                 hasattr(pyarrow_filesystem, '__fspath__')):
        pyarrow_filesystem, dataset_path = None, pyarrow_filesystem  # Reader(url, ...)
    if dataset_path is None:
        raise ValueError('Reader(pyarrow_filesystem, dataset_path, ...): dataset_path is required')
    url = _normalize_url_or_urls(dataset_path) if reader.is_batched_reader else _normalize_url(dataset_path)
    if reader_pool is None:
        pool, workers_count = 'thread', 10
    elif isinstance(reader_pool, ThreadPool):
        pool, workers_count = 'thread', reader_pool.workers_count
    elif isinstance(reader_pool, ProcessPool):
        pool, workers_count = 'process', reader_pool.workers_count
    elif isinstance(reader_pool, DummyPool):
        pool, workers_count = 'dummy', 1
    else:
        raise ValueError('reader_pool must be None, a ThreadPool, a ProcessPool or a DummyPool of '
                         'petastorm.workers_pool, got {!r}'.format(type(reader_pool).__name__))
    ours = (None, PyDictReaderWorker, ArrowReaderWorker)
    if worker_class not in ours and not (isinstance(worker_class, type) and
                                         issubclass(worker_class, (PyDictReaderWorker, ArrowReaderWorker))):
        raise ValueError('worker_class must be PyDictReaderWorker, ArrowReaderWorker or a subclass of one, got {!r}'
                         .format(worker_class))
    if worker_class is not None and issubclass(worker_class, ArrowReaderWorker) != reader.is_batched_reader:
        raise ValueError('worker_class={} with is_batched_reader={}: ArrowReaderWorker reads batches, '
                         'PyDictReaderWorker rows'.format(worker_class.__name__, reader.is_batched_reader))
    engine_cache, cleanup_cache, python_workers = None, False, None
    if cache is None or isinstance(cache, NullCache):
        pass
    elif isinstance(cache, LocalDiskCache):
        engine_cache, cleanup_cache = cache.engine_options(), cache.cleanup_enabled
    elif not isinstance(cache, CacheBase):
        raise ValueError('cache must be a CacheBase or None, got {!r}'.format(type(cache).__name__))
    own_cache = cache is not None and engine_cache is None and not isinstance(cache, NullCache)
    if own_cache or worker_class not in ours:
        if own_cache and (common['predicate'] is not None or common['shuffle_row_drop_partitions'] != 1):
            raise RuntimeError('Local cache is not supported together with shuffle_row_drop_partitions > 1 or '
                               'when using a predicate: cache={!r}'.format(type(cache).__name__))
        if worker_class is None:
            worker_class = ArrowReaderWorker if reader.is_batched_reader else PyDictReaderWorker
        python_workers = (reader_pool if reader_pool is not None else ThreadPool(10), worker_class,
                          cache if cache is not None else NullCache())
    if shard_seed:
        warnings.warn('shard_seed was deprecated and will be removed in future versions. Use seed to apply '
                      'randomization effects on sharding row groups.')
    _check_engine_arguments(pool, workers_count, common['num_epochs'], common['cur_shard'], common['shard_count'],
                            None, common['rowgroup_selector'], 'null', None, None, None, None, None, None)
    filesystem = pyarrow_filesystem
    engine = dict(common, shard_seed=shard_seed or None, cache=engine_cache, cleanup_cache=cleanup_cache,
                  pool=pool, workers_count=workers_count, filesystem=filesystem, python_workers=python_workers)
    if python_workers is not None:
        engine['results_queue_size'] = getattr(python_workers[0], '_results_queue_size', 50)
    return url, engine
