"""Work items read by Petastorm's Python reader workers, for a reader whose cache or worker class
is the user's (``petastorm.reader.Reader(fs, path, cache=MyCache())``, petastorm/reader_compat.py).

The engine still plans (the row groups kept, shards, the order of items per epoch, epochs) and
still reads and decodes each item. What Python does, as in Petastorm: a ventilator hands the
plan's items to the pool (``ThreadPool``, ``DummyPool``, ``ProcessPool`` of petastorm.workers_pool),
whose workers (``PyDictReaderWorker``, ``ArrowReaderWorker`` or a subclass) call
``cache.get(key, fill)`` per item, ``fill`` reading the item through an engine reader of their
own (``ItemReader``) and applying the transform; the pool's results are the reader's items.

Thread safety: an ``ItemReader`` belongs to one worker. ``WorkerItems`` is used by the reader's
consumer thread only.
"""
import hashlib
import threading
import time

from petastorm import _core, fs_utils
from petastorm.workers_pool.worker_base import WorkerBase

_VENTILATION_INTERVAL = 0.01
_ITEMS_PER_CALL = 256


def cache_key(dataset_url, path, piece_index):
    """Petastorm's cache key of a work item: '{md5 of the dataset url}:{file path}:{piece index}'
    (a list of URLs joined by ','; Petastorm joins a single URL's characters by '_' [quirk], not kept)."""
    url = ','.join(dataset_url) if isinstance(dataset_url, (list, tuple)) else dataset_url
    return '{}:{}:{}'.format(hashlib.md5(url.encode('utf-8')).hexdigest(), path, piece_index)


class ItemReader(object):
    """Reads one work item at a time through the engine, for a worker.

    ``args`` is Petastorm's worker argument tuple (filesystem, dataset_path, storage_schema,
    ngram, row_groups, cache, transform_spec, transformed_schema, filters, shuffle_rows, seed,
    convert_early_to_numpy); ``row_groups`` from ``load_row_groups`` carries the opened dataset,
    else the worker opens it."""

    def __init__(self, args, batched):
        (filesystem, dataset_path, storage_schema, ngram, row_groups, cache, transform_spec, transformed_schema,
         filters, shuffle_rows, seed, _convert_early_to_numpy) = args
        from petastorm.etl.dataset_metadata import stored_unischema
        self.dataset_path = dataset_path
        self.storage_schema = storage_schema
        self.ngram = ngram
        self.cache = cache
        self.transform_spec = transform_spec
        self.transformed_schema = transformed_schema
        self._batched = batched
        self._dataset = getattr(row_groups, 'dataset', None)
        if self._dataset is None:
            self._dataset = fs_utils.open_dataset(dataset_path, None, filesystem)
        stored, engine_schema = stored_unischema(self._dataset)
        if stored is None:
            engine_schema = _core.infer_schema(self._dataset)[0]
        self._engine_schema = engine_schema
        self._filters = None if filters is None else _core.row_filter(_normalize_filters(filters))
        self._shuffle_rows = bool(shuffle_rows)
        self._seed = seed
        self._readers = {}  # one engine reader per (predicate, drop partitions)

    def _reader_for(self, predicate, num_partitions):
        key = (id(predicate), num_partitions)
        reader = self._readers.get(key)
        if reader is None:
            core_predicate = self._filters
            if predicate is not None:
                from petastorm.predicates import core_predicate_of
                core_predicate = core_predicate_of(predicate, batched=self._batched)
                if self._filters is not None:
                    core_predicate = _core.in_reduce([self._filters, core_predicate], 'all')
            options = _core.ReaderOptions()
            options.schema = self._engine_schema
            options.fields = list(self.storage_schema.fields)
            options.num_epochs = 1
            options.seed = self._seed
            options.shuffle_rows = self._shuffle_rows
            options.shuffle_row_groups = False
            options.shuffle_row_drop_partitions = int(num_partitions)
            options.partition_overlap_rows = self.ngram.length - 1 if self.ngram is not None else 0
            options.predicate = core_predicate
            options.pool = _core.PoolType.dummy
            options.workers_count = 1
            reader = _core.Reader(self._dataset, options)
            self._readers[key] = (reader, predicate)  # the predicate kept alive: its id is the key
        else:
            reader = reader[0]
        return reader

    def read(self, piece_index, worker_predicate, shuffle_row_drop_partition):
        """The DecodedRowGroup of the item: row group `piece_index` (its dataset position), drop
        partition (p, n) of it, the rows `worker_predicate` keeps; None when it keeps none."""
        partition, num_partitions = shuffle_row_drop_partition
        reader = self._reader_for(worker_predicate, num_partitions)
        item = (int(piece_index), int(partition), int(num_partitions), 0, 0, 0, -1, 0, -1)
        reader.restart(([item], 1, 0), None)
        return reader.next()  # None: no row left (the engine skips an item the predicate empties)

    def key(self, piece_index):
        file_index, _ = self._dataset.row_groups[piece_index]
        return cache_key(self.dataset_path, self._dataset.files[file_index], piece_index)

    def close(self):
        for reader, _ in self._readers.values():
            reader.stop()
            reader.join()
        self._readers = {}


class EngineItemWorker(WorkerBase):
    """What Petastorm's two reader workers share: ``process(piece_index, worker_predicate,
    shuffle_row_drop_partition)`` reads the item through an ``ItemReader`` of the worker's own
    and publishes ``value_of(items, group)`` once, through ``cache.get(key, fill)`` when no
    predicate is given (a predicate's rows are not cached, as in Petastorm)."""

    batched = False

    def __init__(self, worker_id, publish_func, args):
        super(EngineItemWorker, self).__init__(worker_id, publish_func, args)
        self._items = None

    def value_of(self, items, group):
        """The published value of an item's DecodedRowGroup (None: no row left)."""
        raise NotImplementedError

    def process(self, piece_index, worker_predicate, shuffle_row_drop_partition):
        if self._items is None:
            self._items = ItemReader(self.args, batched=self.batched)
        items = self._items

        def fill():
            return self.value_of(items, items.read(piece_index, worker_predicate, shuffle_row_drop_partition))

        self.publish_func(fill() if worker_predicate is not None else items.cache.get(items.key(piece_index), fill))

    def shutdown(self):
        if self._items is not None:
            self._items.close()


def _normalize_filters(filters):
    from petastorm.reader import _normalize_filters as normalize
    return normalize(filters)


class PlanVentilator(object):
    """Ventilates the engine plan's items (of ``plan``, a ``_core.Reader`` that is never read)
    from `start` to the pool, as Petastorm's ConcurrentVentilator does its item list: a daemon
    thread, at most ``max_ventilation_queue_size`` items ventilated and not yet processed."""

    def __init__(self, ventilate_fn, plan, start, total, worker_predicate, max_ventilation_queue_size):
        self._ventilate_fn = ventilate_fn
        self._plan = plan
        self._start = start
        self._total = total  # items to ventilate, None: forever
        self._predicate = worker_predicate
        self._max = max_ventilation_queue_size
        self._lock = threading.Lock()
        self._ventilated = 0
        self._processed = 0
        self._stop_requested = False
        self._thread = None
        self.error = None  # what stopped the thread, raised by WorkerItems.next

    def start(self):
        self._thread = threading.Thread(target=self._run, name='PlanVentilator', daemon=True)
        self._thread.start()

    def processed_item(self):
        with self._lock:
            self._processed += 1

    def completed(self):
        return self._stop_requested or self.error is not None or \
            (self._total is not None and self._ventilated >= self._total)

    def stop(self):
        self._stop_requested = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self):
        try:
            k, ahead = 0, []
            while not self.completed():
                with self._lock:
                    in_flight = self._ventilated - self._processed
                if in_flight >= self._max:
                    time.sleep(_VENTILATION_INTERVAL)
                    continue
                if not ahead:  # the plan's items, a chunk at a time
                    end = k + _ITEMS_PER_CALL if self._total is None else min(k + _ITEMS_PER_CALL, self._total)
                    ahead = list(reversed(self._plan.items_at(self._start, list(range(k, end)))))
                item = ahead.pop()
                self._ventilate_fn(piece_index=item[0], worker_predicate=self._predicate,
                                   shuffle_row_drop_partition=(item[1], item[2]))
                k += 1
                with self._lock:
                    self._ventilated += 1
        except Exception as e:  # noqa: B902 — handed to the consumer, never lost in the thread
            self.error = e


class WorkerItems(object):
    """A reader's items from a Petastorm pool of Python workers (its ``_next_item`` source)."""

    def __init__(self, pool, worker_class, worker_args, plan, start, total, worker_predicate):
        self.pool = pool
        self._args = (worker_class, worker_args, plan, total, worker_predicate)
        self._started = False
        self._start_at(start)

    def _start_at(self, start):
        from petastorm.reader import _VENTILATE_EXTRA_ROWGROUPS
        worker_class, worker_args, plan, total, worker_predicate = self._args
        self.ventilator = PlanVentilator(self.pool.ventilate, plan, start, total, worker_predicate,
                                         self.pool.workers_count * (1 + _VENTILATE_EXTRA_ROWGROUPS))
        if not self._started:
            self.pool.start(worker_class, worker_args, ventilator=self.ventilator)
            self._started = True
        else:  # Petastorm's reset: the same pool, a new ventilation
            self.pool._ventilator = self.ventilator
            self.ventilator.start()

    def next(self):
        """The next item's published value (rows: a list of dicts; batches: {name: numpy column}),
        None at the end."""
        from petastorm.workers_pool import EmptyResultError
        try:
            value = self.pool.get_results()
        except EmptyResultError:
            value = None
        if self.ventilator.error is not None:
            raise self.ventilator.error
        return value

    def restart(self, start, seed=None):
        """Ventilates again from `start` (only once every item was read: Petastorm's reset)."""
        self.ventilator.stop()
        self._start_at(start)

    def stop(self):
        self.pool.stop()

    def join(self):
        self.pool.join()

    @property
    def diagnostics(self):
        return dict(self.pool.diagnostics)
