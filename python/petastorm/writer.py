"""Writing Petastorm datasets without Spark: ``write_dataset`` and ``DatasetWriter``.

Rows (dicts of field name -> value) are validated, encoded in parallel by the C++ core and
written as Parquet row groups; ``_common_metadata`` is committed last.
"""
from petastorm import _core, fs_utils
from petastorm.etl.dataset_metadata import petastorm_metadata

_MODES = ('error', 'overwrite')


class DatasetWriter(object):
    """Streams rows into a new dataset at `dataset_url`. A context manager: leaving the block
    normally commits the dataset; leaving it with an exception removes what was written.

    :param dataset_url: a local path or any URL of docs/remote-storage.md (``s3://``, ``gs://``, ...).
    :param schema: the Unischema of the rows.
    :param rowgroup_size_mb: target encoded size of a row group, in MiB.
    :param rows_per_rowgroup: cut row groups by row count instead of size.
    :param rows_per_file: / :param bytes_per_file: start a new file past these.
    :param mode: 'error' (refuse to write over an existing dataset) or 'overwrite'.
    :param compression: Parquet page compression ('uncompressed', 'snappy', 'zstd', ...).
    :param petastorm_compatible: also store Petastorm's pickled Unischema, so that the original
        Petastorm reads the dataset: None (when the schema allows; a warning otherwise), True
        (an error otherwise), False (never).
    :param storage_options: / :param filesystem: as for make_reader.
    """

    def __init__(self, dataset_url, schema, rowgroup_size_mb=256, rows_per_rowgroup=None,
                 rows_per_file=None, bytes_per_file=None, mode='error', compression='uncompressed',
                 petastorm_compatible=None, storage_options=None, filesystem=None):
        if mode not in _MODES:
            raise ValueError('mode must be one of {}, got {!r}'.format(_MODES, mode))
        if rowgroup_size_mb is None or rowgroup_size_mb <= 0:
            raise ValueError('rowgroup_size_mb must be positive, got {!r}'.format(rowgroup_size_mb))
        for name, value in (('rows_per_rowgroup', rows_per_rowgroup), ('rows_per_file', rows_per_file),
                            ('bytes_per_file', bytes_per_file)):
            if value is not None and value <= 0:
                raise ValueError('{} must be positive, got {!r}'.format(name, value))
        self.schema = schema
        if isinstance(dataset_url, (list, tuple)):
            raise ValueError('DatasetWriter writes one dataset: dataset_url must be one URL')
        location = fs_utils.resolve(str(dataset_url), storage_options, filesystem)
        self._writer = _core.DatasetWriter(
            location.filesystem, location.paths[0], location.url, schema.core_schema(), int(rowgroup_size_mb * 1024 * 1024),
            int(rows_per_rowgroup or 0), int(rows_per_file or 0), int(bytes_per_file or 0),
            mode == 'overwrite', compression, petastorm_metadata(schema, petastorm_compatible))

    def write(self, row):
        """Validates and writes one row (a dict). Errors name the field and the row number."""
        self._writer.write(row)

    def close(self):
        """Writes what is pending and commits the dataset's metadata."""
        self._writer.close()

    def abort(self):
        """Removes everything written; no dataset is left behind."""
        self._writer.abort()

    @property
    def rows_written(self):
        return self._writer.rows_written

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_dataset(dataset_url, schema, rows, rowgroup_size_mb=256, **kwargs):
    """Writes an iterable of row dicts as a dataset; returns the number of rows written.

    On any error nothing is left that looks like a dataset. Keyword arguments are those of
    DatasetWriter.
    """
    writer = DatasetWriter(dataset_url, schema, rowgroup_size_mb, **kwargs)
    try:
        for row in rows:
            writer.write(row)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer.rows_written
