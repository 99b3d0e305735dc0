"""The inventory's module map (section 1): every module imports and has its public names; and
the names of the map that are small helpers, each with its behaviour."""
import importlib
import io
import pickle
import sys

import numpy as np
import pytest

MODULE_MAP = {
    'petastorm': ['NoDataAvailableError', 'make_reader', 'make_batch_reader', 'TransformSpec', '__version__'],
    'petastorm.reader': [
        'make_reader', 'make_batch_reader', 'Reader', '_VENTILATE_EXTRA_ROWGROUPS', 'LOCAL_DISK_CACHE',
        'NULL_CACHE'
    ],
    'petastorm.unischema': [
        'UnischemaField', 'Unischema', 'dict_to_spark_row', 'insert_explicit_nulls',
        'match_unischema_fields', '_NamedtupleCache', '_UNISCHEMA_FIELD_ORDER'
    ],
    'petastorm.codecs': [
        'DataframeColumnCodec', 'CompressedImageCodec', 'NdarrayCodec', 'CompressedNdarrayCodec',
        'ScalarCodec', '_is_compliant_shape'
    ],
    'petastorm.utils': ['decode_row', 'DecodeFieldError', 'add_to_dataset_metadata', 'run_in_subprocess'],
    'petastorm.errors': ['NoDataAvailableError'],
    'petastorm.predicates': [
        'PredicateBase', 'in_set', 'in_intersection', 'in_lambda', 'in_negate', 'in_reduce',
        'in_pseudorandom_split'
    ],
    'petastorm.transform': ['TransformSpec', 'edit_field', 'transform_schema'],
    'petastorm.ngram': ['NGram'],
    'petastorm.selectors': [
        'RowGroupSelectorBase', 'SingleIndexSelector', 'IntersectIndexSelector', 'UnionIndexSelector'
    ],
    'petastorm.etl': ['RowGroupIndexerBase'],
    'petastorm.etl.dataset_metadata': [
        'materialize_dataset', 'load_row_groups', 'get_schema', 'get_schema_from_dataset_url',
        'infer_or_load_unischema', 'PetastormMetadataError', 'PetastormMetadataGenerationError'
    ],
    'petastorm.etl.rowgroup_indexing': [
        'build_rowgroup_index', 'get_row_group_indexes', 'ROWGROUPS_INDEX_KEY', 'PieceInfo',
        'PARALLEL_SLICE_NUM'
    ],
    'petastorm.etl.rowgroup_indexers': ['SingleFieldIndexer', 'FieldNotNullIndexer'],
    'petastorm.etl.legacy': ['RestrictedUnpickler', 'restricted_loads', 'depickle_legacy_package_name_compatible'],
    'petastorm.etl.petastorm_generate_metadata': ['generate_petastorm_metadata'],
    'petastorm.etl.metadata_util': [],
    'petastorm.arrow_reader_worker': [
        'ArrowReaderWorker', 'ArrowReaderWorkerResultsQueueReader', 'convert_arrow_table_to_numpy_dict'
    ],
    'petastorm.py_dict_reader_worker': ['PyDictReaderWorker', 'PyDictReaderWorkerResultsQueueReader'],
    'petastorm.cache': ['CacheBase', 'NullCache'],
    'petastorm.local_disk_cache': ['LocalDiskCache'],
    'petastorm.fs_utils': [
        'FilesystemResolver', 'get_filesystem_and_path_or_paths', 'get_dataset_path', 'normalize_dir_url'
    ],
    'petastorm.hdfs.namenode': [
        'HdfsNamenodeResolver', 'HdfsConnector', 'HAHdfsClient', 'namenode_failover',
        'MAX_FAILOVER_ATTEMPTS'
    ],
    'petastorm.workers_pool': [
        'EmptyResultError', 'TimeoutWaitingForResultError', 'VentilatedItemProcessedMessage'
    ],
    'petastorm.workers_pool.worker_base': ['WorkerBase'],
    'petastorm.workers_pool.thread_pool': ['ThreadPool', 'WorkerThread'],
    'petastorm.workers_pool.process_pool': ['ProcessPool'],
    'petastorm.workers_pool.dummy_pool': ['DummyPool'],
    'petastorm.workers_pool.ventilator': ['Ventilator', 'ConcurrentVentilator'],
    'petastorm.workers_pool.exec_in_new_process': ['exec_in_new_process'],
    'petastorm.reader_impl.pickle_serializer': ['PickleSerializer'],
    'petastorm.reader_impl.arrow_table_serializer': ['ArrowTableSerializer'],
    'petastorm.reader_impl.shuffling_buffer': [
        'ShufflingBufferBase', 'NoopShufflingBuffer', 'RandomShufflingBuffer'
    ],
    'petastorm.reader_impl.pytorch_shuffling_buffer': [
        'BatchedShufflingBufferBase', 'BatchedNoopShufflingBuffer', 'BatchedRandomShufflingBuffer'
    ],
    'petastorm.pytorch': [
        'DataLoader', 'BatchedDataLoader', 'InMemBatchedDataLoader', 'decimal_friendly_collate',
        '_sanitize_pytorch_types', 'LoaderBase'
    ],
    'petastorm.tf_utils': ['tf_tensors', 'make_petastorm_dataset'],
    'petastorm.spark': ['make_spark_converter', 'SparkDatasetConverter'],
    'petastorm.spark.spark_dataset_converter': ['make_spark_converter', 'SparkDatasetConverter'],
    'petastorm.spark_utils': ['dataset_as_rdd'],
    'petastorm.weighted_sampling_reader': ['WeightedSamplingReader'],
    'petastorm.tools.copy_dataset': ['copy_dataset'],
    'petastorm.tools.spark_session_cli': ['add_configure_spark_arguments', 'configure_spark'],
    'petastorm.benchmark.throughput': ['reader_throughput', 'WorkerPoolType', 'ReadMethod', 'BenchmarkResult'],
    'petastorm.benchmark.cli': [],
    'petastorm.benchmark.dummy_reader': ['DummyReader'],
    'petastorm.generator': ['generate_datapoint', 'LIST_SIZE'],
    'petastorm.namedtuple_gt_255_fields': ['namedtuple_gt_255_fields'],
    'petastorm.pyarrow_helpers.batching_table_queue': ['BatchingTableQueue'],
    'petastorm.test_util.reader_mock': ['ReaderMock', 'schema_data_generator_example'],
    'petastorm.test_util.shuffling_analysis': [
        'generate_shuffle_analysis_dataset', 'compute_correlation_distribution'
    ],
}


@pytest.mark.parametrize('module', sorted(MODULE_MAP))
def test_module_has_its_public_names(module):
    mod = importlib.import_module(module)
    missing = [name for name in MODULE_MAP[module] if not hasattr(mod, name)]
    assert not missing, '{} lacks {}'.format(module, missing)


def test_top_level_exports():
    import petastorm
    from petastorm.errors import NoDataAvailableError
    assert petastorm.NoDataAvailableError is NoDataAvailableError
    assert isinstance(petastorm.__version__, str)


def test_is_compliant_shape():
    from petastorm.codecs import _is_compliant_shape
    assert _is_compliant_shape((2, 3), (2, 3))
    assert _is_compliant_shape((None, 3), (7, 3))
    assert _is_compliant_shape((0, 3), (7, 3))  # 0 is a wildcard too, as in Petastorm
    assert not _is_compliant_shape((2, 3), (2, 4))
    assert not _is_compliant_shape((2, 3), (2, 3, 1))
    assert _is_compliant_shape((), ())


def test_namedtuple_gt_255_fields():
    from petastorm.namedtuple_gt_255_fields import namedtuple_gt_255_fields
    names = ['f{}'.format(i) for i in range(300)]
    t = namedtuple_gt_255_fields('Wide', names)
    row = t(*range(300))
    assert row.f299 == 299 and len(row) == 300


def test_restricted_unpickler_and_legacy_depickle():
    from petastorm.codecs import ScalarCodec
    from petastorm.etl.legacy import (RestrictedUnpickler, depickle_legacy_package_name_compatible,
                                      dumps_unischema, restricted_loads)
    from petastorm.unischema import Unischema, UnischemaField
    import pyarrow as pa
    schema = Unischema('S', [UnischemaField('id', np.int32, (), ScalarCodec(pa.int32()), False)])
    data = dumps_unischema(schema)
    loaded = depickle_legacy_package_name_compatible(data)
    assert isinstance(loaded, Unischema) and list(loaded.fields) == ['id']
    assert loaded.fields['id'].numpy_dtype == np.int32
    assert RestrictedUnpickler(io.BytesIO(pickle.dumps([1, 'a']))).load() == [1, 'a']
    assert depickle_legacy_package_name_compatible(pickle.dumps({'a': (1, 2)})) == {'a': (1, 2)}
    evil = pickle.dumps(sys.exit)
    for load in (restricted_loads, depickle_legacy_package_name_compatible,
                 lambda d: RestrictedUnpickler(io.BytesIO(d)).load()):
        with pytest.raises(pickle.UnpicklingError, match="global 'sys.exit' is forbidden"):
            load(evil)
