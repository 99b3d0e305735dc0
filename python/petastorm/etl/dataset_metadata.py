"""Petastorm metadata of a dataset (Petastorm's petastorm.etl.dataset_metadata): the stored
Unischema, read from our JSON form or from Petastorm's pickled one without executing it, and
``_common_metadata`` written for files Spark (or anything else) wrote."""
import os
import warnings
from collections import namedtuple
from contextlib import contextmanager
from urllib.parse import urlparse

from petastorm import _core, fs_utils
from petastorm.unischema import Unischema

# Petastorm's key-value metadata keys (bytes, as Petastorm spells them).
UNISCHEMA_KEY = b'dataset-toolkit.unischema.v1'
ROW_GROUPS_PER_FILE_KEY = b'dataset-toolkit.num_row_groups_per_file.v1'
ROWGROUPS_INDEX_KEY = b'dataset-toolkit.rowgroups_index.v1'
# Ours: the row-group indexes as JSON (petastorm.etl.rowgroup_indexing).
ROWGROUPS_INDEX_JSON_KEY = b'petastorm.rowgroups_index.json'


class PetastormMetadataError(Exception):
    """The dataset has no (or unreadable) Petastorm metadata."""


class PetastormMetadataGenerationError(Exception):
    """Writing a dataset's Petastorm metadata failed."""


def stored_unischema(dataset):
    """The Unischema stored in a ``_core.Dataset``: the JSON form when there is one, else
    Petastorm's pickled form (read by petastorm.etl.legacy, nothing executed), else None.
    Returns (schema, core schema to read by: None for the JSON form, which the core holds)."""
    if dataset.schema is not None:
        return Unischema.from_core(dataset.schema), None
    pickled = dataset.metadata.get(UNISCHEMA_KEY)
    if pickled is None:
        return None, None
    from petastorm.etl.legacy import loads_unischema
    try:
        schema = loads_unischema(pickled)
    except Exception as e:
        raise PetastormMetadataError('Reading the pickled Unischema ({}) of the dataset at {} failed: {}: {}'.format(
            UNISCHEMA_KEY.decode(), dataset.url, type(e).__name__, e)) from e
    return schema, schema.core_schema()


def petastorm_metadata(schema, petastorm_compatible=None):
    """The extra _common_metadata key-values that let original Petastorm read a dataset of
    `schema`: its pickled Unischema. `petastorm_compatible`: True (an error when the schema
    cannot be pickled for Petastorm), False (none), None (when it can; a warning otherwise)."""
    if petastorm_compatible is False:
        return {}
    from petastorm.etl.legacy import dumps_unischema
    try:
        return {UNISCHEMA_KEY: dumps_unischema(schema)}
    except ValueError as e:
        if petastorm_compatible:
            raise
        warnings.warn('The dataset will not be readable by the original Petastorm: {} '
                      '(pass petastorm_compatible=False to silence this)'.format(e))
        return {UNISCHEMA_KEY: b''}  # an empty value removes a stale pickled schema


def write_dataset_metadata(dataset_url, schema, petastorm_compatible=None, storage_options=None, filesystem=None):
    """Makes the Parquet files at `dataset_url` (written by Spark, pyarrow, ...) a Petastorm
    dataset: writes ``_common_metadata`` with `schema` (our JSON form and, see
    petastorm_metadata, Petastorm's pickled form) and every file's row-group count, keeping
    the other keys of an existing ``_common_metadata``. `storage_options` / `filesystem` as
    for make_reader."""
    location = fs_utils.resolve(str(dataset_url), storage_options, filesystem)
    _core.write_dataset_metadata(location.filesystem, location.paths[0], location.url, schema.core_schema(),
                                 petastorm_metadata(schema, petastorm_compatible))


# The Hadoop settings materialize_dataset changes, restored afterwards: Petastorm's six, and
# parquet.page.size.row.check.min, which is what makes current parquet-mr measure a row group
# after 3 rows rather than 100 (without it, small row-group sizes of big rows are not honoured).
_HADOOP_KEYS = ('parquet.summary.metadata.level', 'parquet.enable.summary-metadata',
                'parquet.summary.metadata.propagate-errors', 'parquet.block.size.row.check.min',
                'parquet.row-group.size.row.check.min', 'parquet.page.size.row.check.min', 'parquet.block.size')


def _factory_filesystem(filesystem_factory):
    """The filesystem a `filesystem_factory` (Petastorm's recipe for a pyarrow filesystem, or the
    filesystem itself) makes, or None."""
    if filesystem_factory is None:
        return None
    filesystem = filesystem_factory() if callable(filesystem_factory) else filesystem_factory
    if isinstance(filesystem, type):  # pyarrow.LocalFileSystem, the class itself (legacy pyarrow)
        filesystem = filesystem()
    return filesystem


@contextmanager
def materialize_dataset(spark, dataset_url, schema, row_group_size_mb=None, use_summary_metadata=False,
                        filesystem_factory=None, petastorm_compatible=None, storage_options=None):
    """Wraps the Spark job that writes a dataset's Parquet files to `dataset_url`
    (``df.write.parquet(dataset_url)``): sets Petastorm's Hadoop settings for the job (row groups
    of `row_group_size_mb` through ``parquet.block.size``, summary metadata level ``ALL`` when
    `use_summary_metadata` else ``NONE``, row-size checks every 3 rows), and when the block ends
    without an error writes the dataset's metadata (write_dataset_metadata: the Unischema, in our
    form and Petastorm's, and every file's row-group count from its footer, read in C++ in
    parallel). The Hadoop settings are restored in every case (unset when they were unset).
    Row-group indexes are built after the block (petastorm.etl.rowgroup_indexing). The metadata
    is written through `filesystem_factory`'s filesystem when given (a pyarrow or fsspec one),
    else through the URL's with `storage_options` (``s3a://`` is read as ``s3://``).

    Raises PetastormMetadataGenerationError when the metadata cannot be written (no Parquet
    files at the URL, an unreadable footer, ...)."""
    hadoop_config = spark.sparkContext._jsc.hadoopConfiguration()
    saved = {key: hadoop_config.get(key) for key in _HADOOP_KEYS}
    try:
        hadoop_config.set('parquet.summary.metadata.level', 'ALL' if use_summary_metadata else 'NONE')
        hadoop_config.setBoolean('parquet.summary.metadata.propagate-errors', True)
        hadoop_config.setInt('parquet.block.size.row.check.min', 3)
        hadoop_config.setInt('parquet.row-group.size.row.check.min', 3)
        hadoop_config.setInt('parquet.page.size.row.check.min', 3)
        if row_group_size_mb:
            hadoop_config.setInt('parquet.block.size', int(row_group_size_mb * 1024 * 1024))
        yield
        try:
            write_dataset_metadata(dataset_url, schema, petastorm_compatible, storage_options,
                                   _factory_filesystem(filesystem_factory))
        except (ValueError, OSError, RuntimeError) as e:
            raise PetastormMetadataGenerationError(
                'Writing the Petastorm metadata of {} failed: {}. The Parquet files may exist; run '
                'petastorm-generate-metadata on them once the cause is fixed.'.format(dataset_url, e)) from e
    finally:
        for key, value in saved.items():
            if value is None:
                hadoop_config.unset(key)
            else:
                hadoop_config.set(key, value)


def _dataset_of(dataset):
    """A ``_core.Dataset`` from a URL, a ``_core.Dataset``, a ``pyarrow.parquet.ParquetDataset``
    (what Petastorm passes: opened by its files and filesystem), or an object naming one
    directory in ``url`` or ``paths``."""
    if isinstance(dataset, _core.Dataset):
        return dataset
    url = dataset if isinstance(dataset, str) else getattr(dataset, 'url', None) or getattr(dataset, 'paths', None)
    if isinstance(url, str):
        return fs_utils.open_dataset(url)
    files = getattr(dataset, 'files', None)
    if files is not None and not isinstance(files, str):
        return fs_utils.open_dataset(list(files), filesystem=getattr(dataset, 'filesystem', None))
    raise ValueError('Expected a dataset URL or a dataset of a single path, got {!r}'.format(dataset))


class RowGroupPiece(namedtuple('RowGroupPiece', ['path', 'row_group', 'partition_keys'])):
    """One row group of a dataset, as Petastorm's ``ParquetDatasetPiece``: the file's path, the row
    group's index in the file, its hive partition keys [(name, value as written in the path)]."""


class RowGroupPieces(list):
    """The row groups of a dataset (RowGroupPiece), in its order; ``dataset`` the ``_core.Dataset``
    they are of (not pickled: a worker process opens the dataset again)."""

    dataset = None

    def __reduce__(self):
        return list, (list(self),)


def load_row_groups(dataset):
    """Every row group of `dataset` (see _dataset_of) as a RowGroupPiece, in the dataset's order
    (files by path, row groups in file order): the index in this list is the row group's piece
    index (row-group indexes, shards). Counts come from ``_metadata`` or the
    ``num_row_groups_per_file`` key when present, else from the footers (read by the engine)."""
    dataset = _dataset_of(dataset)
    files = dataset.files
    root = dataset.root.rstrip('/')
    pieces = RowGroupPieces()
    for file_index, row_group in dataset.row_groups:
        path = files[file_index]
        relative = path[len(root) + 1:] if path.startswith(root + '/') else path
        keys = [tuple(part.split('=', 1)) for part in relative.split('/')[:-1] if '=' in part]
        pieces.append(RowGroupPiece(path, row_group, keys))
    pieces.dataset = dataset
    return pieces


def get_schema(dataset):
    """The Unischema stored in `dataset` (see _dataset_of); PetastormMetadataError when none."""
    dataset = _dataset_of(dataset)
    schema, _ = stored_unischema(dataset)
    if schema is None:
        if not _has_common_metadata(dataset):
            raise PetastormMetadataError('Could not find _common_metadata file. Use materialize_dataset(..) in '
                                         'petastorm.etl.dataset_metadata.py to generate this file in your ETL code. '
                                         'You can generate it on an existing dataset using '
                                         'petastorm-generate-metadata.py (dataset {})'.format(dataset.url))
        raise PetastormMetadataError('Could not find the unischema in the dataset common metadata file. '
                                     'Please provide or generate dataset with the unischema attached.')
    return schema


def _has_common_metadata(dataset):
    """Whether the dataset's directory has a _common_metadata file (True when that cannot be told)."""
    try:
        import pyarrow.fs as pafs
        fs, root = fs_utils.get_filesystem_and_path_or_paths(dataset.url)
        return fs.get_file_info(root.rstrip('/') + '/_common_metadata').type != pafs.FileType.NotFound
    except Exception:  # noqa: B902 — a URL list or an unusual filesystem: the general message
        return True


def infer_or_load_unischema(dataset):
    """The stored Unischema, else the one inferred from the Parquet schema (make_batch_reader's)."""
    dataset = _dataset_of(dataset)
    schema, _ = stored_unischema(dataset)
    if schema is not None:
        return schema
    inferred, _ = _core.infer_schema(dataset)
    return Unischema.from_core(inferred, declared_storage=False)


def get_schema_from_dataset_url(dataset_url_or_urls, hdfs_driver='libhdfs3', storage_options=None,
                                filesystem=None):
    """The Unischema stored in a dataset. Raises PetastormMetadataError when there is none."""
    url = dataset_url_or_urls[0] if isinstance(dataset_url_or_urls, (list, tuple)) else dataset_url_or_urls
    if filesystem is None and isinstance(url, str) and not urlparse(url).scheme:
        # Petastorm's rule here (the readers take plain local paths too: docs/design.md)
        raise ValueError('ERROR! A scheme-less dataset url ({}) is no longer supported. '
                         'Please prepend "file://" for local filesystem.'.format(url))
    return get_schema(fs_utils.open_dataset(str(url), storage_options, filesystem, hdfs_driver))
