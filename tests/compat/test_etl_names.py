"""petastorm.etl / etl.dataset_metadata / etl.rowgroup_indexing names without another behaviour
test: RowGroupIndexerBase, the metadata keys, get_schema, infer_or_load_unischema, PieceInfo,
PARALLEL_SLICE_NUM (inventory sections 1, 5.2, 5.5, 6.11)."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.etl import RowGroupIndexerBase
from petastorm.etl import dataset_metadata as dm
from petastorm.etl.rowgroup_indexers import FieldNotNullIndexer, SingleFieldIndexer
from petastorm.etl.rowgroup_indexing import PARALLEL_SLICE_NUM, ROWGROUPS_INDEX_KEY, PieceInfo
from petastorm.unischema import Unischema, UnischemaField

EtlSchema = Unischema('EtlSchema', [UnischemaField('id', np.int64, ()),
                                    UnischemaField('vec', np.float32, (2,), NdarrayCodec())])


@pytest.fixture(scope='module')
def stores(tmp_path_factory):
    """(petastorm store URL and path: 25 rows in row groups of 10; plain Parquet store URL)."""
    root = tmp_path_factory.mktemp('etl_names')
    write_dataset('file://' + str(root / 'ds'), EtlSchema,
                  [{'id': i, 'vec': np.array([i, -i], np.float32)} for i in range(25)], rows_per_rowgroup=10)
    (root / 'plain').mkdir()
    pq.write_table(pa.table({'a': pa.array([1, 2, 3], pa.int32()), 'b': ['x', 'y', 'z']}),
                   str(root / 'plain' / 'part-0.parquet'))
    return 'file://' + str(root / 'ds'), root / 'ds', 'file://' + str(root / 'plain')


def test_metadata_keys_are_petastorms_bytes():
    assert dm.UNISCHEMA_KEY == b'dataset-toolkit.unischema.v1'
    assert dm.ROW_GROUPS_PER_FILE_KEY == b'dataset-toolkit.num_row_groups_per_file.v1'
    assert dm.ROWGROUPS_INDEX_KEY == ROWGROUPS_INDEX_KEY == b'dataset-toolkit.rowgroups_index.v1'


def test_row_groups_per_file_key_maps_relative_paths_to_counts(stores):
    _, path, _ = stores
    metadata = pq.read_metadata(str(path / '_common_metadata')).metadata
    counts = json.loads(metadata[dm.ROW_GROUPS_PER_FILE_KEY].decode())
    files = sorted(p.name for p in path.glob('*.parquet'))
    assert sorted(counts) == files  # relative to the dataset root
    assert sum(counts.values()) == 3  # 25 rows in row groups of 10
    assert dm.UNISCHEMA_KEY in metadata  # Petastorm's pickled schema too


def test_get_schema_of_a_url_and_of_a_pyarrow_parquet_dataset(stores):
    url, path, _ = stores
    for dataset in (url, pq.ParquetDataset(str(path))):
        schema = dm.get_schema(dataset)
        assert list(schema.fields) == ['id', 'vec']
        assert schema.vec.shape == (2,) and isinstance(schema.vec.codec, NdarrayCodec)
        assert schema.id.numpy_dtype is np.int64


def test_get_schema_without_a_stored_unischema_raises_petastorm_metadata_error(stores, tmp_path):
    _, _, plain_url = stores
    with pytest.raises(dm.PetastormMetadataError, match='Could not find _common_metadata file'):
        dm.get_schema(plain_url)
    pq.write_table(pa.table({'a': [1]}), str(tmp_path / 'part-0.parquet'))
    pq.write_metadata(pa.schema([('a', pa.int64())]), str(tmp_path / '_common_metadata'))
    with pytest.raises(dm.PetastormMetadataError, match='Could not find the unischema'):
        dm.get_schema('file://' + str(tmp_path))
    assert issubclass(dm.PetastormMetadataGenerationError, Exception)


def test_infer_or_load_unischema_loads_the_stored_schema_else_infers_one(stores):
    url, _, plain_url = stores
    stored = dm.infer_or_load_unischema(url)
    assert stored._name == 'EtlSchema' and list(stored.fields) == ['id', 'vec']
    inferred = dm.infer_or_load_unischema(plain_url)
    assert inferred._name == 'inferred_schema'
    assert [(f.name, f.numpy_dtype, f.shape, f.codec) for f in inferred.fields.values()] == \
        [('a', np.int32, (), None), ('b', np.str_, (), None)]


def test_get_schema_from_dataset_url_reads_the_stored_schema(stores):
    url, _, _ = stores
    assert list(dm.get_schema_from_dataset_url(url).fields) == ['id', 'vec']
    with pytest.raises(ValueError, match='scheme-less'):
        dm.get_schema_from_dataset_url('/no_scheme')


def test_piece_info_and_parallel_slice_num():
    assert PARALLEL_SLICE_NUM == 2000
    info = PieceInfo(3, 'part-0.parquet', 1, {'p': 'x'})
    assert info._fields == ('piece_index', 'path', 'row_group', 'partition_keys')
    assert (info.piece_index, info.row_group) == (3, 1)


def test_row_group_indexer_base_is_the_abstract_api_of_the_indexers():
    assert issubclass(SingleFieldIndexer, RowGroupIndexerBase)
    assert issubclass(FieldNotNullIndexer, RowGroupIndexerBase)
    with pytest.raises(TypeError):
        RowGroupIndexerBase()

    class Incomplete(RowGroupIndexerBase):
        def build_index(self, decoded_rows, piece_index):
            pass

    with pytest.raises(TypeError):
        Incomplete()


def test_a_user_indexer_built_on_the_base_class_indexes_and_merges():
    class EvenIndexer(RowGroupIndexerBase):
        """Row groups holding an even value of a column."""

        def __init__(self, index_name, column):
            self._name, self._column, self._data = index_name, column, set()

        def __add__(self, other):
            self._data |= other._data
            return self

        @property
        def index_name(self):
            return self._name

        @property
        def column_names(self):
            return {self._column}

        @property
        def indexed_values(self):
            return ['even'] if self._data else []

        def get_row_group_indexes(self, value_key='even'):
            return self._data

        def build_index(self, decoded_rows, piece_index):
            if any(row[self._column] % 2 == 0 for row in decoded_rows):
                self._data.add(piece_index)
            return self._data

    a, b = EvenIndexer('even', 'id'), EvenIndexer('even', 'id')
    a.build_index([{'id': 1}, {'id': 2}], 0)
    b.build_index([{'id': 3}], 1)
    b.build_index([{'id': 4}], 2)
    merged = a + b
    assert merged.get_row_group_indexes() == {0, 2}
    assert merged.column_names == {'id'} and merged.indexed_values == ['even']
