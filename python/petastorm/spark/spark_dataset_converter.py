"""The Spark Dataset Converter (Petastorm's ``petastorm.spark``): a Spark DataFrame materialized
once as Parquet under a cache directory, then read by ``make_batch_reader`` into a PyTorch
DataLoader or a tf.data.Dataset.

``make_spark_converter(df)`` writes ``df`` (Spark ML vectors as arrays, floating-point columns
cast to ``dtype``) to a new directory under the Spark conf
``petastorm.spark.converter.parentCacheDirUrl`` and returns a :class:`SparkDatasetConverter`
(picklable: the cache directory, its file URLs and the row count). A DataFrame with the same
analyzed plan, row-group size, codec, dtype and parent directory reuses the directory already
written in this process. The directories are deleted by ``converter.delete()`` or, best effort,
when the interpreter exits.
"""
import atexit
import datetime
import logging
import os
import shutil
import threading
import time
import uuid
import warnings
from urllib.parse import urlparse

from petastorm import make_batch_reader

DEFAULT_ROW_GROUP_SIZE_BYTES = 32 * 1024 * 1024

_COMPRESSION_CODECS = ('uncompressed', 'bzip2', 'gzip', 'lz4', 'snappy', 'deflate')

# How long make_tf_dataset/make_torch_dataloader wait for the files to appear (eventually
# consistent stores).
_FILE_AVAILABILITY_WAIT_TIMEOUT_SECS = 30

_RECOMMENDED_FILE_SIZE_BYTES = 50 * 1024 * 1024

logger = logging.getLogger(__name__)


def _get_spark_session():
    """The driver's SparkSession (created when there is none). Not callable in a Spark task."""
    import pyspark
    from pyspark.sql import SparkSession
    if pyspark.TaskContext.get() is not None:
        raise RuntimeError('_get_spark_session should not be invoked from executor side.')
    return SparkSession.builder.getOrCreate()


def _check_url(dir_url):
    if not urlparse(dir_url).scheme:
        raise ValueError('ERROR! A scheme-less directory url ({}) is no longer supported. '
                         'Please prepend "file://" for local filesystem.'.format(dir_url))


def _normalize_dir_url(dir_url):
    if not isinstance(dir_url, str) or not dir_url:
        raise ValueError('Expected a directory URL string, got {!r}'.format(dir_url))
    return dir_url.rstrip('/') if len(dir_url.rstrip('/')) > len('file://') else dir_url


def _get_parent_cache_dir_url():
    """The parent cache directory from the Spark conf (ValueError when unset or scheme-less)."""
    url = _get_spark_session().conf.get(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, None)
    if url is None:
        raise ValueError('Please set the spark config {}.'.format(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF))
    url = _normalize_dir_url(url)
    _check_url(url)
    if 'DATABRICKS_RUNTIME_VERSION' in os.environ and _is_local_url(url) and not _is_spark_local_mode():
        logger.warning("Usually, when running on databricks spark cluster, you should specify a dbfs fuse path "
                       "for %s, like: 'file:/dbfs/path/to/cache_dir', otherwise, you should mount NFS to this "
                       "directory '%s' on all nodes of the cluster, e.g. using EFS.",
                       SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, url)
    return url


def _is_spark_local_mode():
    return _get_spark_session().conf.get('spark.master').strip().lower().startswith('local')


def _is_local_url(url):
    return urlparse(url).scheme in ('', 'file')


def _local_path(url):
    parsed = urlparse(url)
    return parsed.path if parsed.scheme == 'file' else url


def _filesystem(url):
    """(pyarrow.fs.FileSystem, path) of `url`: Arrow's filesystem layer."""
    import pyarrow.fs
    return pyarrow.fs.FileSystem.from_uri(url)


# --- Deleting cache directories --------------------------------------------------------------

def _default_delete_dir_handler(dataset_url):
    if _is_local_url(dataset_url):
        path = _local_path(dataset_url)
        if os.path.exists(path):
            shutil.rmtree(path)
        return
    import pyarrow.fs
    fs, path = _filesystem(dataset_url)
    if fs.get_file_info(path).type != pyarrow.fs.FileType.NotFound:
        fs.delete_dir(path)


_delete_dir_handler = _default_delete_dir_handler


def register_delete_dir_handler(handler):
    """Sets the function that deletes a cache directory (it takes the directory's URL); None
    restores the default (Arrow's filesystem for the URL's scheme)."""
    global _delete_dir_handler  # pylint: disable=global-statement
    _delete_dir_handler = _default_delete_dir_handler if handler is None else handler


def _delete_cache_data_atexit(dataset_url):
    try:
        _delete_dir_handler(dataset_url)
    except Exception as e:  # pylint: disable=broad-except  (best effort at exit)
        logger.warning('Delete cache data %s failed due to %s', dataset_url, repr(e))


# --- Horovod ---------------------------------------------------------------------------------

def _get_horovod_rank_and_size():
    """(rank, size) from Horovod's, Open MPI's or PMI's environment; (None, None) without both."""
    for rank_var, size_var in (('HOROVOD_RANK', 'HOROVOD_SIZE'), ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE'),
                               ('PMI_RANK', 'PMI_SIZE')):
        rank, size = os.environ.get(rank_var), os.environ.get(size_var)
        if rank is not None and size is not None:
            return int(rank), int(size)
        if rank is not None or size is not None:
            return None, None
    return None, None


def _check_rank_and_size_consistent_with_horovod(petastorm_reader_kwargs):
    """False (and a warning) when cur_shard/shard_count differ from the Horovod environment's."""
    rank, size = _get_horovod_rank_and_size()
    cur_shard = petastorm_reader_kwargs.get('cur_shard')
    shard_count = petastorm_reader_kwargs.get('shard_count')
    if rank is not None and size is not None and (cur_shard != rank or shard_count != size):
        logger.warning('The petastorm reader arguments cur_shard(%s) and shard_count(%s) is not consistent with '
                       'horovod environments hvd_rank(%d) and hvd_size(%d), If you want each horovod worker train '
                       'on one corresponding shard data, you should set argument `cur_shard` to be `hvd.rank()` '
                       'and argument `shard_count` to be `hvd.size()`.', cur_shard, shard_count, rank, size)
        return False
    return True


_warned_infinite = False


def _warn_infinite_once(num_epochs):
    global _warned_infinite  # pylint: disable=global-statement
    if num_epochs is None and not _warned_infinite:
        _warned_infinite = True
        warnings.warn('num_epochs=None (the default, as in Petastorm) reads the data forever: the loader has no '
                      'len() and a loop over it does not end. Pass num_epochs=1 (or more) for a finite pass.',
                      UserWarning, stacklevel=3)


# --- The converter ---------------------------------------------------------------------------

class SparkDatasetConverter(object):
    """A materialized DataFrame: its cache directory, Parquet file URLs and row count.
    Picklable; ``len()`` is the row count. ``make_tf_dataset`` / ``make_torch_dataloader`` read
    it, ``delete()`` removes it."""

    PARENT_CACHE_DIR_URL_CONF = 'petastorm.spark.converter.parentCacheDirUrl'

    def __init__(self, cache_dir_url, file_urls, dataset_size):
        self.cache_dir_url = cache_dir_url
        self.file_urls = file_urls
        self.dataset_size = dataset_size

    def __len__(self):
        return self.dataset_size

    @staticmethod
    def _check_and_set_overriden_petastorm_args(petastorm_reader_kwargs, num_epochs, workers_count):
        petastorm_reader_kwargs['num_epochs'] = num_epochs
        petastorm_reader_kwargs['workers_count'] = 4 if workers_count is None else workers_count
        _check_rank_and_size_consistent_with_horovod(petastorm_reader_kwargs)

    def make_tf_dataset(self, batch_size=None, prefetch=None, num_epochs=None, workers_count=None,
                        shuffling_queue_capacity=None, **petastorm_reader_kwargs):
        """A context manager giving a ``tf.data.Dataset`` of batches (namedtuples of tensors) of
        ``batch_size`` rows (None: 32), shuffled in a buffer of ``shuffling_queue_capacity`` rows
        when given, prefetched (None: AUTOTUNE). ``num_epochs=None`` repeats forever (Petastorm's
        default); with a number the dataset's cardinality (``len()``) is exact. The reader
        (``make_batch_reader``, ``workers_count`` None: 4, other keyword arguments passed on) is
        stopped on exit."""
        _warn_infinite_once(num_epochs)
        self._check_and_set_overriden_petastorm_args(petastorm_reader_kwargs, num_epochs, workers_count)
        return TFDatasetContextManager(self.file_urls, batch_size, prefetch, petastorm_reader_kwargs,
                                       shuffling_queue_capacity)

    def make_torch_dataloader(self, batch_size=32, num_epochs=None, workers_count=None, shuffling_queue_capacity=0,
                              data_loader_fn=None, **petastorm_reader_kwargs):
        """A context manager giving ``data_loader_fn(reader=..., batch_size=...,
        shuffling_queue_capacity=...)`` (default ``petastorm.pytorch.DataLoader``) over a
        ``make_batch_reader`` reader (``workers_count`` None: 4, other keyword arguments passed
        on), stopped on exit. ``num_epochs=None`` reads forever (Petastorm's default); with a
        number ``len(loader)`` is exact."""
        _warn_infinite_once(num_epochs)
        self._check_and_set_overriden_petastorm_args(petastorm_reader_kwargs, num_epochs, workers_count)
        return TorchDatasetContextManager(self.file_urls, batch_size, petastorm_reader_kwargs,
                                          shuffling_queue_capacity, data_loader_fn)

    def delete(self):
        """Deletes the cache directory (and forgets it, so the DataFrame is materialized anew)."""
        _remove_cache_metadata_and_data(self.cache_dir_url)


class _ReaderContextManager(object):
    """Opens a make_batch_reader reader over the files on enter (after waiting for them) and
    makes what it yields from it; stops and joins the reader on exit, or when making fails."""

    def __init__(self, parquet_file_url_list, petastorm_reader_kwargs):
        self.parquet_file_url_list = parquet_file_url_list
        self.petastorm_reader_kwargs = petastorm_reader_kwargs
        self.reader = None

    def _make(self, reader):
        raise NotImplementedError

    def __enter__(self):
        _wait_file_available(self.parquet_file_url_list)
        self.reader = make_batch_reader(self.parquet_file_url_list, **self.petastorm_reader_kwargs)
        try:
            return self._make(self.reader)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc_value, exc_traceback):
        self.reader.stop()
        self.reader.join()


class TFDatasetContextManager(_ReaderContextManager):
    """Yields the tf.data.Dataset of make_tf_dataset."""

    def __init__(self, parquet_file_url_list, batch_size, prefetch, petastorm_reader_kwargs,
                 shuffling_queue_capacity):
        super().__init__(parquet_file_url_list, petastorm_reader_kwargs)
        self.batch_size = batch_size
        self.prefetch = prefetch
        self.shuffling_queue_capacity = shuffling_queue_capacity

    def _make(self, reader):
        import tensorflow as tf  # pylint: disable=import-error
        from petastorm.tf_utils import make_petastorm_dataset
        batch_size = self.batch_size or 32
        dataset = make_petastorm_dataset(reader).unbatch()
        if self.shuffling_queue_capacity:
            dataset = dataset.shuffle(self.shuffling_queue_capacity)
        dataset = dataset.batch(batch_size)
        rows, epochs = reader.rows_per_epoch, reader.num_epochs
        if rows is not None and epochs is not None:
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-rows * epochs // batch_size)))
        return dataset.prefetch(tf.data.experimental.AUTOTUNE if self.prefetch is None else self.prefetch)


class TorchDatasetContextManager(_ReaderContextManager):
    """Yields the loader of make_torch_dataloader."""

    def __init__(self, parquet_file_url_list, batch_size, petastorm_reader_kwargs, shuffling_queue_capacity,
                 data_loader_fn):
        super().__init__(parquet_file_url_list, petastorm_reader_kwargs)
        self.batch_size = batch_size
        self.shuffling_queue_capacity = shuffling_queue_capacity
        self.data_loader_fn = data_loader_fn
        self.loader = None

    def _make(self, reader):
        from petastorm.pytorch import DataLoader
        self.loader = (self.data_loader_fn or DataLoader)(reader=reader, batch_size=self.batch_size,
                                                          shuffling_queue_capacity=self.shuffling_queue_capacity)
        return self.loader


# --- Materializing DataFrames, once per plan -------------------------------------------------

def _get_df_plan(df):
    return df._jdf.queryExecution().analyzed()


class CachedDataFrameMeta(object):
    """A DataFrame materialized in this process: its plan, the write settings and where."""

    def __init__(self, df, parent_cache_dir_url, row_group_size, compression_codec, dtype):
        self.row_group_size = row_group_size
        self.compression_codec = compression_codec
        self.df_plan = _get_df_plan(df)
        self.cache_dir_url = None
        self.dtype = dtype
        self.parent_cache_dir_url = parent_cache_dir_url

    @classmethod
    def create_cached_dataframe_meta(cls, df, parent_cache_dir_url, row_group_size, compression_codec, dtype):
        meta = cls(df, parent_cache_dir_url, row_group_size, compression_codec, dtype)
        meta.cache_dir_url = _materialize_df(df, parent_cache_dir_url, row_group_size, compression_codec, dtype)
        return meta

    def matches(self, df_plan, parent_cache_dir_url, row_group_size, compression_codec, dtype):
        return (self.row_group_size == row_group_size and self.compression_codec == compression_codec
                and self.dtype == dtype and self.parent_cache_dir_url == parent_cache_dir_url
                and self.df_plan.sameResult(df_plan))


_cache_df_meta_list = []
_cache_df_meta_list_lock = threading.Lock()


def _cache_df_or_retrieve_cache_data_url(df, parent_cache_dir_url, parquet_row_group_size_bytes, compression_codec,
                                         dtype):
    """The cache directory of `df`: one written before for the same plan and settings, else a
    new one (deleted at exit)."""
    with _cache_df_meta_list_lock:
        plan = _get_df_plan(df)
        for meta in _cache_df_meta_list:
            if meta.matches(plan, parent_cache_dir_url, parquet_row_group_size_bytes, compression_codec, dtype):
                return meta.cache_dir_url
        meta = CachedDataFrameMeta.create_cached_dataframe_meta(df, parent_cache_dir_url, parquet_row_group_size_bytes,
                                                                compression_codec, dtype)
        _cache_df_meta_list.append(meta)
        return meta.cache_dir_url


def _remove_cache_metadata_and_data(cache_dir_url):
    with _cache_df_meta_list_lock:
        _cache_df_meta_list[:] = [m for m in _cache_df_meta_list if m.cache_dir_url != cache_dir_url]
    _delete_dir_handler(cache_dir_url)


def _convert_precision(df, dtype):
    """Double (and array<double>) columns cast to float for 'float32', float to double for
    'float64'; None leaves them."""
    from pyspark.sql.types import ArrayType, DoubleType, FloatType
    if dtype is None:
        return df
    if dtype not in ('float32', 'float64'):
        raise ValueError("dtype {} is not supported. Use 'float32' or float64".format(dtype))
    source, target = (DoubleType, FloatType) if dtype == 'float32' else (FloatType, DoubleType)
    logger.warning('Converting floating-point columns to %s', dtype)
    for field in df.schema:
        if isinstance(field.dataType, source):
            df = df.withColumn(field.name, df[field.name].cast(target()))
        elif isinstance(field.dataType, ArrayType) and isinstance(field.dataType.elementType, source):
            df = df.withColumn(field.name, df[field.name].cast(ArrayType(target())))
    return df


def _convert_vector(df, dtype):
    """Spark ML (and MLlib) vector columns as arrays of `dtype` (None: float64)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.mllib.linalg import VectorUDT as OldVectorUDT
    for field in df.schema:
        if isinstance(field.dataType, (VectorUDT, OldVectorUDT)):
            df = df.withColumn(field.name, vector_to_array(df[field.name], dtype or 'float64'))
    return df


def _gen_cache_dir_name():
    """'{%Y%m%d%H%M%S}-appid-{application id}-{uuid4}': a directory left behind names its job."""
    return '{}-appid-{}-{}'.format(datetime.datetime.now().strftime('%Y%m%d%H%M%S'),
                                   _get_spark_session().sparkContext.applicationId, uuid.uuid4())


def _make_sub_dir_url(dir_url, name):
    parsed = urlparse(dir_url)
    return parsed._replace(path=parsed.path.rstrip('/') + '/' + name).geturl()


def _materialize_df(df, parent_cache_dir_url, parquet_row_group_size_bytes, compression_codec, dtype):
    if dtype is not None and dtype not in ('float32', 'float64'):
        raise ValueError("dtype {} is not supported. Use 'float32' or float64".format(dtype))
    url = _make_sub_dir_url(parent_cache_dir_url, _gen_cache_dir_name())
    df = _convert_precision(_convert_vector(df, dtype), dtype)
    df.write.option('compression', compression_codec) \
        .option('parquet.block.size', parquet_row_group_size_bytes).parquet(url)
    logger.info('Materialize dataframe to url %s successfully.', url)
    atexit.register(_delete_cache_data_atexit, url)
    return url


def _wait_file_available(url_list):
    """Waits up to _FILE_AVAILABILITY_WAIT_TIMEOUT_SECS for every file to exist (stores that
    are only eventually consistent); RuntimeError naming the missing ones."""
    deadline = time.time() + _FILE_AVAILABILITY_WAIT_TIMEOUT_SECS
    missing = list(url_list)
    while True:
        missing = [url for url in missing if not _exists(url)]
        if not missing or time.time() >= deadline:
            break
        time.sleep(0.1)
    if missing:
        raise RuntimeError('Timeout while waiting for all parquet-store files to appear at urls {failed_list},'
                           'Please check whether these files were saved successfully when materializing dataframe.'
                           .format(failed_list=','.join(missing)))


def _exists(url):
    if _is_local_url(url):
        return os.path.exists(_local_path(url))
    import pyarrow.fs
    fs, path = _filesystem(url)
    return fs.get_file_info(path).type != pyarrow.fs.FileType.NotFound


def _check_dataset_file_median_size(url_list):
    """Warns when the median local file is under 50 MB (many small files read slowly)."""
    if not url_list or not all(_is_local_url(u) for u in url_list):
        return
    sizes = sorted(os.path.getsize(_local_path(u)) for u in url_list)
    median = sizes[len(sizes) // 2]
    if median < _RECOMMENDED_FILE_SIZE_BYTES:
        logger.warning('The median size %d B (< 50 MB) of the parquet files is too small. Total size: %d B. Increase '
                       'the median file size by calling df.repartition(n) or df.coalesce(n), which might help '
                       'improve the performance. Parquet files: %s, ...', median, sum(sizes), url_list[0])


def _normalize_databricks_dbfs_url(url, err_msg):
    if not (url.startswith('file:/dbfs/') or url.startswith('file:///dbfs/') or url.startswith('dbfs:///')
            or (url.startswith('dbfs:/') and not url.startswith('dbfs://'))):
        raise ValueError(err_msg)
    if url.startswith('dbfs:///'):
        return 'file:/dbfs/' + url[len('dbfs:///'):]
    if url.startswith('dbfs:/'):
        return 'file:/dbfs/' + url[len('dbfs:/'):]
    return url


def make_spark_converter(df, parquet_row_group_size_bytes=DEFAULT_ROW_GROUP_SIZE_BYTES, compression_codec=None,
                         dtype='float32'):
    """Materializes `df` (a DataFrame, or the URL of a Parquet directory to read as it is) under
    the parent cache directory and returns a :class:`SparkDatasetConverter`.

    :param parquet_row_group_size_bytes: row-group size of the written files (``parquet.block.size``).
    :param compression_codec: None ('uncompressed'), 'uncompressed', 'bzip2', 'gzip', 'lz4',
        'snappy' or 'deflate'; anything else is a RuntimeError.
    :param dtype: 'float32' (double columns become float), 'float64' (float become double) or
        None (unchanged); also the element type of Spark ML vector columns, which become arrays.
    """
    parent_cache_dir_url = _get_parent_cache_dir_url()
    if isinstance(df, str):
        dataset_dir_url = df
        if 'DATABRICKS_RUNTIME_VERSION' in os.environ:
            dataset_dir_url = _normalize_databricks_dbfs_url(
                dataset_dir_url, "On databricks runtime, if `df` argument is a string, it must be a dbfs fuse path "
                                 "like 'file:/dbfs/xxx' or a dbfs path like 'dbfs:/xxx'.")
    else:
        compression_codec = compression_codec or 'uncompressed'
        if compression_codec.lower() not in _COMPRESSION_CODECS:
            raise RuntimeError("compression_codec should be None or one of the following values: "
                               "'uncompressed', 'bzip2', 'gzip', 'lz4', 'snappy', 'deflate'")
        dataset_dir_url = _cache_df_or_retrieve_cache_data_url(df, parent_cache_dir_url, parquet_row_group_size_bytes,
                                                               compression_codec, dtype)
    spark_df = _get_spark_session().read.parquet(dataset_dir_url)
    dataset_size = spark_df.count()
    file_urls = list(spark_df._jdf.inputFiles())
    _check_dataset_file_median_size(file_urls)
    return SparkDatasetConverter(dataset_dir_url, file_urls, dataset_size)
