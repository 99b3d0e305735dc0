"""Row-group indexes (Petastorm's petastorm.etl.rowgroup_indexing): build_rowgroup_index reads
the indexed columns of every row group, on Spark or (spark_context=None) on this machine with the
C++ reader, and stores the indexes in the dataset's ``_common_metadata``; get_row_group_indexes
reads them back, ours (JSON) or Petastorm's (a pickle, read without executing it).

Our form, under ``petastorm.rowgroups_index.json``: ``{"version": 1, "num_row_groups": N,
"indexes": {name: indexer.to_json()}}``; row groups are piece indexes, positions in the
dataset's row-group order (files sorted by path, then row groups in file order: Petastorm's)."""
import json
import logging
import time
from collections import namedtuple

from petastorm import _core, fs_utils
from petastorm.etl.dataset_metadata import ROWGROUPS_INDEX_JSON_KEY, ROWGROUPS_INDEX_KEY
from petastorm.etl.rowgroup_indexers import INDEXER_CLASSES, FieldNotNullIndexer, SingleFieldIndexer

logger = logging.getLogger(__name__)

PARALLEL_SLICE_NUM = 2000

PieceInfo = namedtuple('PieceInfo', ['piece_index', 'path', 'row_group', 'partition_keys'])


def build_rowgroup_index(dataset_url, spark_context, indexers, hdfs_driver='libhdfs3'):
    """Builds `indexers` (RowGroupIndexerBase, e.g. SingleFieldIndexer) over every row group of
    the dataset at `dataset_url` and stores them in its metadata, next to earlier indexes of
    other names. With a SparkContext the row groups are read by Spark tasks (at most
    PARALLEL_SLICE_NUM); with None, here, by the C++ reader's threads."""
    url = str(dataset_url).rstrip('/')
    indexers = list(indexers)
    if not indexers:
        raise ValueError('build_rowgroup_index needs at least one indexer')
    names = [indexer.index_name for indexer in indexers]
    if len(set(names)) != len(names):
        raise ValueError('Index names must be unique, got {}'.format(names))
    for indexer in indexers:
        if type(indexer) not in INDEXER_CLASSES.values():
            raise TypeError('Index {!r}: only {} can be stored, got {}'.format(
                indexer.index_name, ' and '.join(sorted(INDEXER_CLASSES)), type(indexer).__name__))
    dataset = fs_utils.open_dataset(url)
    num_row_groups = dataset.num_row_groups
    columns = sorted({name for indexer in indexers for name in indexer.column_names})
    start = time.time()
    if spark_context is None:
        built = _index_pieces(url, list(range(num_row_groups)), indexers, columns, progress=True)
    else:
        slices = max(1, min(num_row_groups, PARALLEL_SLICE_NUM))

        def index_slice(pieces):
            pieces = list(pieces)
            return [_index_pieces(url, pieces, indexers, columns)] if pieces else []

        built = spark_context.parallelize(range(num_row_groups), slices) \
            .mapPartitions(index_slice).reduce(_combine_indexers)
    indexes = dict(get_row_group_indexes_of(dataset, missing_ok=True))
    indexes.update({indexer.index_name: indexer for indexer in built})
    value = json.dumps({'version': 1, 'num_row_groups': num_row_groups,
                        'indexes': {name: indexer.to_json() for name, indexer in indexes.items()}})
    # Petastorm's pickled index (if any) would now disagree: ours is the one read first.
    fs_utils.update_dataset_metadata(url, {ROWGROUPS_INDEX_JSON_KEY: value.encode(), ROWGROUPS_INDEX_KEY: b''})
    logger.info('Elapsed time of index creation: %f s', time.time() - start)


def _index_pieces(url, pieces, indexers, columns, progress=False):
    """Fresh copies of `indexers`, built over row groups `pieces` of the dataset at `url` (a
    progress bar of rows on a terminal when `progress`)."""
    from petastorm.reader import Reader
    from petastorm.tools.progress import RowProgress
    built = [_empty_copy(indexer) for indexer in indexers]
    with Reader._make(url, schema_fields=columns, shuffle_row_groups=False, num_epochs=1, row_groups=pieces,
                workers_count=2) as reader, RowProgress('index', reader.rows_per_epoch, enabled=progress) as bar:
        position = {tuple(ref): index for index, ref in enumerate(reader.dataset_row_groups)}
        for group in reader.decoded_row_groups():
            names = group.field_names
            rows = [dict(zip(names, values)) for values in zip(*group.row_columns())]
            bar.add(len(rows))
            if not rows:
                continue
            piece = position[tuple(group.source)]
            for indexer in built:
                indexer.build_index(rows, piece)
    return built


def _empty_copy(indexer):
    return type(indexer)(indexer.index_name, indexer.column_names[0])


def _combine_indexers(indexers1, indexers2):
    if len(indexers1) != len(indexers2):
        raise ValueError('Cannot reduce results with different dimensions')
    return [a + b for a, b in zip(indexers1, indexers2)]


def get_row_group_indexes(dataset):
    """{index name: indexer} stored in a dataset (a URL, or a ``_core.Dataset``): ours (JSON)
    or Petastorm's pickled ones. ValueError when it has none."""
    if not isinstance(dataset, _core.Dataset):
        dataset = fs_utils.open_dataset(str(getattr(dataset, 'url', dataset)))
    return get_row_group_indexes_of(dataset)


def get_row_group_indexes_of(dataset, missing_ok=False):
    metadata = dataset.metadata
    if ROWGROUPS_INDEX_JSON_KEY in metadata:
        stored = json.loads(metadata[ROWGROUPS_INDEX_JSON_KEY].decode())
        if stored.get('num_row_groups') != dataset.num_row_groups:
            raise ValueError('The row-group index of {} was built for {} row groups; the dataset has {}: build '
                             'it again (build_rowgroup_index)'.format(dataset.url, stored.get('num_row_groups'),
                                                                      dataset.num_row_groups))
        out = {}
        for name, obj in stored['indexes'].items():
            cls = INDEXER_CLASSES.get(obj.get('class'))
            if cls is None:
                raise ValueError('Index {!r} of {}: unknown indexer class {!r}'.format(name, dataset.url,
                                                                                     obj.get('class')))
            out[name] = cls.from_json(obj)
        return out
    if ROWGROUPS_INDEX_KEY in metadata:
        return _petastorm_indexes(metadata[ROWGROUPS_INDEX_KEY], dataset.url)
    if missing_ok:
        return {}
    raise ValueError('Row groups index is not available in the dataset metadata file. '
                     'You can generate it on an existing dataset using build_rowgroup_index')


def _petastorm_indexes(data, url):
    """Petastorm's pickled {name: indexer}, as our indexer classes (nothing executed)."""
    from petastorm.etl.legacy import PickledObject, restricted_loads
    loaded = restricted_loads(data)
    if not isinstance(loaded, dict):
        raise ValueError('The row-group index of {} is not a dict of indexers'.format(url))
    out = {}
    for name, stub in loaded.items():
        kind = type(stub).global_name.rsplit('.', 1)[-1] if isinstance(stub, PickledObject) else None
        state = stub.state_dict() if isinstance(stub, PickledObject) else None
        if kind not in ('SingleFieldIndexer', 'FieldNotNullIndexer') or not isinstance(state, dict):
            raise ValueError('Index {!r} of {}: not a Petastorm SingleFieldIndexer or FieldNotNullIndexer'
                             .format(name, url))
        cls = SingleFieldIndexer if kind == 'SingleFieldIndexer' else FieldNotNullIndexer
        empty = {} if cls is SingleFieldIndexer else ()
        out[name] = cls.from_data(state.get('_index_name', name), state.get('_column_name'),
                                  state.get('_index_data') or empty)
    return out
