"""``PyDictReaderWorker``: Petastorm's make_reader worker — one work item's rows as dicts.

A worker of a petastorm.workers_pool pool (``worker_class(worker_id, publish_func, args)``,
``args`` Petastorm's 12-tuple: see petastorm/worker_items.py ``ItemReader``). ``process`` reads
the item through the engine (decoded, shuffled, the drop partition and predicate applied), makes
its rows dicts, applies the transform, and publishes the list once (an empty list too), through
``cache.get(key, fill)`` when no predicate is given. The reader uses it only for a user's cache
or worker class (petastorm/reader_compat.py); make_reader reads in C++ without it.
"""
from petastorm.transform import transform_row
from petastorm.worker_items import EngineItemWorker


class PyDictReaderWorkerResultsQueueReader(object):
    """Turns a pool's published row lists into rows, one namedtuple at a time."""

    def __init__(self):
        self._rows = []

    @property
    def batched_output(self):
        return False

    def read_next(self, workers_pool, schema, ngram):
        """The next row as ``schema.make_namedtuple(**row)`` (with an NGram: ``{offset: namedtuple}``);
        EmptyResultError (from the pool) at the end."""
        while not self._rows:
            rows = workers_pool.get_results()
            if ngram is not None:
                self._rows = [ngram.make_namedtuple(schema, window) for window in ngram.form_ngram(rows, schema)]
            else:
                self._rows = [schema.make_namedtuple(**row) for row in rows]
            self._rows.reverse()
        return self._rows.pop()


class PyDictReaderWorker(EngineItemWorker):
    """Publishes the rows (dicts, transformed) of row group `piece_index`'s drop partition
    `shuffle_row_drop_partition` ((p, n)) that `worker_predicate` keeps: ``process(piece_index,
    worker_predicate, shuffle_row_drop_partition)``."""

    @staticmethod
    def new_results_queue_reader():
        return PyDictReaderWorkerResultsQueueReader()

    def value_of(self, items, group):
        if group is None:
            return []
        names = group.field_names
        rows = [dict(zip(names, values)) for values in zip(*group.row_columns())]
        if items.transform_spec is not None:
            rows = [transform_row(items.transform_spec, row) for row in rows]
        return rows
