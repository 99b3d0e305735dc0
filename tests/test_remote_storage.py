"""Remote storage against real servers on loopback (tests/remote_servers.py starts them): write a
dataset to s3:// with write_dataset and with materialize_dataset, read it back with make_reader,
make_batch_reader and BatchedDataLoader; storage_options, filesystem= (pyarrow, s3fs, fsspec
memory), URL lists, and the errors of a missing bucket, wrong credentials and a stopped server."""
import time

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from petastorm import fs_utils, make_batch_reader, make_reader, write_dataset
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, materialize_dataset
from petastorm.unischema import Unischema, UnischemaField

from remote_servers import gcs_server, s3_auth_server, s3_server  # noqa: F401 (fixtures)

Schema = Unischema('RemoteSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(pa.int64()), False),
    UnischemaField('matrix', np.float32, (4, 3), NdarrayCodec(), False),
    UnischemaField('image', np.uint8, (16, 8, 3), CompressedImageCodec('png'), False),
])
ROWS = 60


def row(i):
    return {'id': i, 'matrix': np.full((4, 3), i, np.float32),
            'image': np.random.default_rng(i).integers(0, 255, (16, 8, 3), dtype=np.uint8)}


def check_rows(got):
    got = sorted(got, key=lambda r: int(r.id))
    assert [int(r.id) for r in got] == list(range(ROWS))
    for r in got:
        expected = row(int(r.id))
        np.testing.assert_array_equal(r.matrix, expected['matrix'])
        np.testing.assert_array_equal(r.image, expected['image'])


@pytest.fixture(scope='module')
def s3_dataset(s3_server):
    """A dataset written to s3:// by write_dataset: (url, storage_options)."""
    s3_server.make_bucket('data')
    url = 's3://data/petastorm/ds'
    write_dataset(url, Schema, (row(i) for i in range(ROWS)), rows_per_rowgroup=7,
                  storage_options=s3_server.storage_options)
    return url, s3_server.storage_options


def test_write_dataset_to_s3_then_read_with_make_reader(s3_dataset):
    url, options = s3_dataset
    with make_reader(url, storage_options=options, workers_count=3) as reader:
        check_rows(list(reader))
    assert get_schema_from_dataset_url(url, storage_options=options).fields.keys() == Schema.fields.keys()


def test_make_reader_from_s3_in_storage_order_and_with_process_pool(s3_dataset):
    url, options = s3_dataset
    with make_reader(url, storage_options=options, shuffle_row_groups=False, workers_count=2) as reader:
        assert [int(r.id) for r in reader] == list(range(ROWS))
    with make_reader(url, storage_options=options, reader_pool_type='process', workers_count=2) as reader:
        check_rows(list(reader))


def test_make_batch_reader_from_s3(s3_dataset):
    url, options = s3_dataset
    with make_batch_reader(url, storage_options=options, schema_fields=['id', 'matrix'],
                           shuffle_row_groups=False) as reader:
        batches = list(reader)
    ids = np.concatenate([b.id for b in batches])
    assert ids.tolist() == list(range(ROWS))
    matrices = np.concatenate([b.matrix for b in batches])
    np.testing.assert_array_equal(matrices[:, 0, 0], np.arange(ROWS, dtype=np.float32))


def test_batched_data_loader_from_s3_equals_the_local_copy(s3_dataset, tmp_path):
    torch = pytest.importorskip('torch')
    from petastorm.pytorch import BatchedDataLoader
    url, options = s3_dataset
    local = 'file://' + str(tmp_path / 'local')
    write_dataset(local, Schema, (row(i) for i in range(ROWS)), rows_per_rowgroup=7)

    def batches(u, **kw):
        with BatchedDataLoader(make_reader(u, shuffle_row_groups=False, workers_count=2, **kw),
                               batch_size=16) as loader:
            return [{k: v.clone() for k, v in b.items()} for b in loader]
    remote, here = batches(url, storage_options=options), batches(local)
    assert len(remote) == len(here) == 4
    for a, b in zip(remote, here):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k


def test_storage_options_in_s3fs_names_and_in_the_query_string(s3_server, s3_dataset):
    url, _ = s3_dataset
    s3fs_style = {'key': 'testing', 'secret': 'testing',
                  'client_kwargs': {'endpoint_url': s3_server.endpoint_url, 'region_name': 'us-east-1'}}
    with make_reader(url, storage_options=s3fs_style) as reader:
        check_rows(list(reader))
    query = '{}?endpoint_override={}&scheme=http&region=us-east-1'.format(url, s3_server.endpoint)
    with make_batch_reader(query, storage_options={'access_key': 'testing', 'secret_key': 'testing'},
                           schema_fields=['id']) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(ROWS))


def test_an_unknown_storage_option_names_the_key_and_the_url(s3_dataset):
    url, options = s3_dataset
    with pytest.raises(ValueError, match=r"'endpiont'.*s3://data/petastorm/ds"):
        make_reader(url, storage_options=dict(options, endpiont='x'))


def test_filesystem_pyarrow_s3(s3_server, s3_dataset):
    url, _ = s3_dataset
    fs = pafs.S3FileSystem(access_key='testing', secret_key='testing', endpoint_override=s3_server.endpoint,
                           scheme='http', region='us-east-1')
    with make_reader(url, filesystem=fs) as reader:
        check_rows(list(reader))
    # A path without a scheme names bucket/key on the filesystem given.
    with make_batch_reader('data/petastorm/ds', filesystem=fs, schema_fields=['id']) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(ROWS))


def test_filesystem_fsspec_s3fs_read_and_write(s3_server, s3_dataset):
    s3fs = pytest.importorskip('s3fs')
    url, _ = s3_dataset
    fs = s3fs.S3FileSystem(key='testing', secret='testing', client_kwargs={'endpoint_url': s3_server.endpoint_url})
    with make_reader(url, filesystem=fs, workers_count=2) as reader:
        check_rows(list(reader))
    write_dataset('s3://data/through-s3fs', Schema, (row(i) for i in range(ROWS)), rows_per_rowgroup=20,
                  filesystem=fs)
    assert fs.exists('data/through-s3fs/_common_metadata')
    with make_reader('s3://data/through-s3fs', filesystem=fs, reader_pool_type='process', workers_count=2) as reader:
        check_rows(list(reader))


def test_fsspec_memory_filesystem_by_url_and_by_object():
    fsspec = pytest.importorskip('fsspec')
    write_dataset('memory://petastorm-tests/ds', Schema, (row(i) for i in range(ROWS)), rows_per_rowgroup=11)
    with make_reader('memory://petastorm-tests/ds', workers_count=2) as reader:
        check_rows(list(reader))
    fs = fsspec.filesystem('memory')
    with make_batch_reader('/petastorm-tests/ds', filesystem=fs, schema_fields=['id']) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(ROWS))
    # pyarrow's own wrapping of an fsspec filesystem is unwrapped to it.
    wrapped = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    with make_reader('/petastorm-tests/ds', filesystem=wrapped) as reader:
        check_rows(list(reader))


def test_a_list_of_urls_on_s3(s3_server):
    s3_server.make_bucket('lists')
    fs = pafs.S3FileSystem(access_key='testing', secret_key='testing', endpoint_override=s3_server.endpoint,
                           scheme='http', region='us-east-1')
    for part in range(3):
        pq.write_table(pa.table({'x': list(range(part * 10, part * 10 + 10))}),
                       'lists/plain/part-{}.parquet'.format(part), filesystem=fs)
    urls = ['s3://lists/plain/part-{}.parquet'.format(p) for p in (0, 2)]
    with make_batch_reader(urls, storage_options=s3_server.storage_options, shuffle_row_groups=False) as reader:
        assert np.concatenate([b.x for b in reader]).tolist() == list(range(10)) + list(range(20, 30))


def test_materialize_dataset_writes_the_metadata_to_s3(s3_server, spark):
    """Spark writes the Parquet files (here to a local directory: the S3A connector is not in
    pyspark's jars), the files are on S3 when the block ends; materialize_dataset writes the
    metadata there, and make_reader reads the dataset from S3."""
    import os
    import tempfile
    from petastorm.unischema import dict_to_spark_row
    s3_server.make_bucket('spark')
    fs = pafs.S3FileSystem(access_key='testing', secret_key='testing', endpoint_override=s3_server.endpoint,
                           scheme='http', region='us-east-1')
    url = 's3a://spark/materialized'
    with materialize_dataset(spark, url, Schema, row_group_size_mb=1, storage_options=s3_server.storage_options):
        local = tempfile.mkdtemp()
        rdd = spark.sparkContext.parallelize(range(ROWS), 3).map(lambda i: dict_to_spark_row(Schema, row(i)))
        spark.createDataFrame(rdd, Schema.as_spark_schema()).write.mode('overwrite').parquet('file://' + local)
        pafs.copy_files(local, 'spark/materialized', source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=fs)
        assert not os.path.exists(os.path.join(local, '_common_metadata'))
    assert fs.get_file_info('spark/materialized/_common_metadata').type == pafs.FileType.File
    with make_reader(url, storage_options=s3_server.storage_options) as reader:
        check_rows(list(reader))


def test_a_missing_bucket_is_an_oserror_naming_the_url(s3_server):
    with pytest.raises(OSError, match=r"s3://no-such-bucket/ds"):
        make_reader('s3://no-such-bucket/ds', storage_options=s3_server.storage_options)
    with pytest.raises(OSError, match=r"s3://no-such-bucket/ds"):
        write_dataset('s3://no-such-bucket/ds', Schema, [row(0)], storage_options=s3_server.storage_options)


def test_wrong_credentials_are_an_oserror_naming_the_url(s3_auth_server):
    s3_auth_server.make_bucket('secured')
    url = 's3://secured/ds'
    write_dataset(url, Schema, (row(i) for i in range(ROWS)), storage_options=s3_auth_server.storage_options)
    with make_reader(url, storage_options=s3_auth_server.storage_options) as reader:
        check_rows(list(reader))
    wrong = dict(s3_auth_server.storage_options, access_key='AKIAWRONGWRONGWRONG1', secret_key='wrong')
    started = time.monotonic()
    with pytest.raises(OSError, match=r"s3://secured/ds") as raised:
        make_reader(url, storage_options=wrong)
    # A HEAD response has no body: S3 says ACCESS_DENIED there, INVALID_ACCESS_KEY_ID on a listing.
    assert 'ACCESS_DENIED' in str(raised.value) or 'INVALID_ACCESS_KEY_ID' in str(raised.value), str(raised.value)
    assert time.monotonic() - started < 60


def test_a_stopped_server_is_an_error_within_the_timeout(s3_server, s3_dataset):
    url, options = s3_dataset
    options = dict(options, connect_timeout=2, retry_max_attempts=2)
    with make_reader(url, storage_options=options) as reader:
        next(reader)
    s3_server.stop()
    started = time.monotonic()
    with pytest.raises(OSError, match=r"s3://data/petastorm/ds"):
        make_reader(url, storage_options=options)
    assert time.monotonic() - started < 30


def test_gcs_emulator_round_trip(gcs_server):
    options = gcs_server.storage_options
    gcs_server.make_bucket('gcs-data')
    url = 'gs://gcs-data/ds'
    write_dataset(url, Schema, (row(i) for i in range(ROWS)), rows_per_rowgroup=13, storage_options=options)
    with make_reader(url, storage_options=options, workers_count=2) as reader:
        check_rows(list(reader))


def test_hdfs_without_libhdfs_says_what_to_install():
    try:
        make_reader('hdfs://namenode.invalid:8020/ds')
    except OSError as e:
        message = str(e)
    else:
        pytest.skip('libhdfs and a JVM are installed here')
    assert 'hdfs://namenode.invalid:8020/ds' in message
    assert 'JAVA_HOME' in message and 'ARROW_LIBHDFS_DIR' in message and 'CLASSPATH' in message


def test_hdfs_urls_resolve_namenodes_from_the_hadoop_configuration(tmp_path, monkeypatch):
    (tmp_path / 'core-site.xml').write_text(
        '<configuration><property><name>fs.defaultFS</name><value>hdfs://ns1</value></property></configuration>')
    (tmp_path / 'hdfs-site.xml').write_text(
        '<configuration>'
        '<property><name>dfs.ha.namenodes.ns1</name><value>nn1,nn2</value></property>'
        '<property><name>dfs.namenode.rpc-address.ns1.nn1</name><value>nn1.invalid:8020</value></property>'
        '<property><name>dfs.namenode.rpc-address.ns1.nn2</name><value>nn2.invalid:8020</value></property>'
        '</configuration>')
    for var in ('HADOOP_HOME', 'HADOOP_PREFIX', 'HADOOP_INSTALL'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('HADOOP_CONF_DIR', str(tmp_path))
    from petastorm.hdfs.namenode import resolve_hdfs_url
    assert resolve_hdfs_url('hdfs:///data/ds') == ['hdfs://nn1.invalid:8020/data/ds', 'hdfs://nn2.invalid:8020/data/ds']
    assert resolve_hdfs_url('hdfs://ns1/data/ds') == ['hdfs://nn1.invalid:8020/data/ds',
                                                      'hdfs://nn2.invalid:8020/data/ds']
    assert resolve_hdfs_url('hdfs://host:9000/ds') == ['hdfs://host:9000/ds']
    # The reader tries each namenode; the error (no libhdfs here) names the last one tried.
    with pytest.raises(OSError, match='nn2.invalid'):
        make_reader('hdfs:///data/ds')


def test_filesystem_argument_of_the_wrong_type_is_a_value_error():
    with pytest.raises(ValueError, match='filesystem'):
        make_reader('s3://x/y', filesystem='not a filesystem')
    with pytest.raises(ValueError, match='storage_options'):
        make_reader('s3://x/y', storage_options=[('key', 'v')])


def test_location_of_object_store_urls_on_a_given_filesystem():
    assert fs_utils.get_dataset_path(fs_utils.urlparse('s3://bucket/a/b')) == 'bucket/a/b'
    assert fs_utils.get_dataset_path(fs_utils.urlparse('hdfs://nn:8020/a/b')) == '/a/b'
    assert fs_utils.normalize_dir_url('s3://bucket/a/') == 's3://bucket/a'
    with pytest.raises(ValueError, match='directory url must be a string'):
        fs_utils.normalize_dir_url(None)


def test_tools_take_s3_urls_with_the_endpoint_from_the_environment(s3_auth_server, monkeypatch, tmp_path):
    """The tools take URLs only: credentials and endpoint come from the usual AWS variables,
    which both Arrow's C++ layer and pyarrow read."""
    import io
    from petastorm.etl.metadata_util import print_metadata
    from petastorm.tools.copy_dataset import copy_dataset
    options = s3_auth_server.storage_options
    s3_auth_server.make_bucket('tools')
    write_dataset('s3://tools/source', Schema, (row(i) for i in range(ROWS)), rows_per_rowgroup=9,
                  storage_options=options)
    monkeypatch.setenv('AWS_ENDPOINT_URL', options['endpoint_override'])
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', options['access_key'])
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', options['secret_key'])
    copy_dataset(None, 's3://tools/source', 's3://tools/copy', ['id', 'matrix'], None, False, None, None,
                 progress=False)
    with make_batch_reader('s3://tools/copy', storage_options=options) as reader:
        assert sorted(np.concatenate([b.id for b in reader]).tolist()) == list(range(ROWS))
    out = io.StringIO()
    print_metadata('s3://tools/copy', schema=True, out=out)
    assert 'matrix' in out.getvalue() and 'image' not in out.getvalue()


def test_get_filesystem_and_path_or_paths_gives_pyarrow_filesystems(tmp_path):
    fs, path = fs_utils.get_filesystem_and_path_or_paths('file://' + str(tmp_path))
    assert isinstance(fs, pafs.LocalFileSystem) and path == str(tmp_path)
    fs, paths = fs_utils.get_filesystem_and_path_or_paths(['s3://b/x', 's3://b/y'], filesystem=fs)
    assert paths == ['b/x', 'b/y']
    fs, path = fs_utils.get_filesystem_and_path_or_paths('memory://petastorm-tests/ds')
    assert isinstance(fs, pafs.PyFileSystem) and path == 'petastorm-tests/ds'
    with pytest.raises(ValueError, match='same scheme and netloc'):
        fs_utils.get_filesystem_and_path_or_paths(['s3://a/x', 's3://b/y'])
