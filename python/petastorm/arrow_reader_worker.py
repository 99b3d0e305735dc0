"""``ArrowReaderWorker``: Petastorm's make_batch_reader worker — one work item as a batch.

A worker of a petastorm.workers_pool pool (``worker_class(worker_id, publish_func, args)``,
``args`` Petastorm's 12-tuple: see petastorm/worker_items.py ``ItemReader``). ``process`` reads
the item through the engine, takes its numpy columns (the engine's conversion), applies the
transform (a pandas DataFrame function), and publishes ``{name: numpy column}`` once, through
``cache.get(key, fill)`` when no predicate is given. The reader uses it only for a user's cache
or worker class (petastorm/reader_compat.py); make_batch_reader reads in C++ without it.
``convert_arrow_table_to_numpy_dict`` converts a pyarrow Table by the same C++ rules.
"""
from petastorm import _core
from petastorm.batch_reader import transform_columns
from petastorm.worker_items import EngineItemWorker


def convert_arrow_table_to_numpy_dict(table, schema):
    """``{name: numpy array}`` of a pyarrow Table's columns named by ``schema``'s fields, in its
    order, converted as make_batch_reader converts (docs/types.md: strings as numpy 'U', lists of
    one length stacked and reshaped to the field's shape, ...); codec fields' encoded values are
    decoded by their codec."""
    import pyarrow as pa
    core = schema.core_schema()
    columns = []
    for name, field in schema.fields.items():
        column = table.column(name).combine_chunks()
        if field.codec is not None and (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            column = [None if v is None else field.codec.decode(field, v) for v in column.to_pylist()]
        columns.append(column)
    return _core.DecodedRowGroup.from_columns(core, table.num_rows, columns).to_numpy_columns()


class ArrowReaderWorkerResultsQueueReader(object):
    """Turns a pool's published batches into ``schema.make_namedtuple(**columns)``."""

    @property
    def batched_output(self):
        return True

    def read_next(self, workers_pool, schema, ngram):
        """The next non-empty batch; EmptyResultError (from the pool) at the end."""
        if ngram is not None:
            raise NotImplementedError('ngrams are not supported by ArrowReaderWorker')
        while True:
            columns = workers_pool.get_results()
            if columns and len(next(iter(columns.values()))):
                return schema.make_namedtuple(**columns)


class ArrowReaderWorker(EngineItemWorker):
    """Publishes the batch ({name: numpy column}, transformed; {} when no row is left) of row
    group `piece_index`'s drop partition `shuffle_row_drop_partition` ((p, n)) that
    `worker_predicate` keeps: ``process(piece_index, worker_predicate, shuffle_row_drop_partition)``."""

    batched = True

    @staticmethod
    def new_results_queue_reader():
        return ArrowReaderWorkerResultsQueueReader()

    def process(self, piece_index, worker_predicate, shuffle_row_drop_partition):
        if self.args[3] is not None:
            raise NotImplementedError('ngrams are not supported by ArrowReaderWorker')
        super(ArrowReaderWorker, self).process(piece_index, worker_predicate, shuffle_row_drop_partition)

    def value_of(self, items, group):
        if group is None or group.num_rows == 0:
            return {}
        columns = group.to_numpy_columns()
        if items.transform_spec is not None:
            columns = transform_columns(items.transform_spec, items.transformed_schema, columns)
        return columns
