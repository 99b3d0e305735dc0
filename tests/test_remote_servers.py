"""Arrow's own filesystems (and s3fs) against real storage servers on loopback (remote_servers.py):
what works, and how fast and with which message they fail when the server is gone, hangs or
refuses the credentials."""
import datetime
import socket
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import remote_servers
from remote_servers import (HOST, ServerProcess, gcs_server, own_gcs_server, own_s3_server,  # noqa: F401
                            aws_test_environment, s3_auth_server, s3_server, unique_name)


def _table(n=1000):
    return pa.table({'id': pa.array(np.arange(n, dtype=np.int64)),
                     'name': pa.array(['row-%d' % i for i in range(n)])})


def _timed(fn):
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # noqa: B902 - the caller checks the type
        return time.monotonic() - t0, e
    raise AssertionError('%r did not fail' % fn)


class _SilentServer(object):
    """A loopback TCP server that accepts connections and never answers (a hung server)."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self._conns.append(self._sock.accept()[0])
            except OSError:
                return

    def close(self):
        self._sock.close()
        for c in self._conns:
            c.close()


@pytest.fixture
def silent_server():
    server = _SilentServer()
    yield server
    server.close()


# --- the fixtures themselves ------------------------------------------------------------------


def test_s3_server_fixture(s3_server):
    assert s3_server.endpoint == '127.0.0.1:%d' % s3_server.port
    assert s3_server.endpoint_url == 'http://' + s3_server.endpoint
    assert s3_server.storage_options == {'access_key': 'testing', 'secret_key': 'testing',
                                         'endpoint_override': s3_server.endpoint_url,
                                         'region': 'us-east-1'}
    assert s3_server.startup_seconds < 30
    name = s3_server.make_bucket()
    assert name in [b['Name'] for b in s3_server.boto3_client().list_buckets()['Buckets']]


def test_a_stopped_shared_server_is_replaced_on_next_use():
    pool = remote_servers._SharedServers()
    try:
        first = pool.get('gcs')
        bucket = first.make_bucket()
        assert pool.get('gcs') is first
        first.stop()
        assert not first.running
        with socket.socket() as s:
            assert s.connect_ex((HOST, first.port)) != 0      # the port is closed
        second = pool.get('gcs')
        assert second is not first and second.running
        assert bucket not in [b['name'] for b in second.api('GET', '/b').get('items', [])]
    finally:
        pool.close()
    assert not second.running


def test_aws_environment_is_isolated(aws_test_environment):
    import os
    assert os.environ['AWS_ACCESS_KEY_ID'] == 'testing'
    assert os.environ['AWS_EC2_METADATA_DISABLED'] == 'true'
    assert 'AWS_PROFILE' not in os.environ
    assert '127.0.0.1' in os.environ['NO_PROXY'].split(',')


def test_server_that_exits_reports_its_output():
    process = ServerProcess('failing-server',
                            lambda port: [sys.executable, '-c',
                                          'import sys; sys.stderr.write("boom: no such option\\n"); '
                                          'sys.exit(3)'],
                            '/', startup_timeout=10)
    with pytest.raises(RuntimeError, match=r'(?s)did not come up.*exit code 3.*boom: no such option'):
        process.start()
    assert not process.running


def test_server_that_never_listens_times_out_and_is_stopped():
    process = ServerProcess('mute-server',
                            lambda port: [sys.executable, '-c',
                                          'import sys, time; print("starting", flush=True); '
                                          'time.sleep(60)'],
                            '/', startup_timeout=1.5)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r'(?s)within 2 s \(still running\).*starting'):
        process.start()
    assert time.monotonic() - t0 < 10
    assert not process.running


# --- pyarrow.fs.S3FileSystem against moto ------------------------------------------------------


def test_pyarrow_s3_parquet_round_trip(s3_server):
    fs = pafs.S3FileSystem(access_key=s3_server.access_key, secret_key=s3_server.secret_key,
                           endpoint_override=s3_server.endpoint, scheme='http',
                           region='us-east-1')
    bucket = s3_server.make_bucket()
    table = _table()
    pq.write_table(table, bucket + '/dir/x.parquet', filesystem=fs)
    infos = fs.get_file_info(pafs.FileSelector(bucket, recursive=True))
    assert {(i.path, i.type) for i in infos} == {(bucket + '/dir', pafs.FileType.Directory),
                                                 (bucket + '/dir/x.parquet', pafs.FileType.File)}
    assert fs.get_file_info(bucket + '/dir/x.parquet').size > 0
    assert pq.read_table(bucket + '/dir/x.parquet', filesystem=fs).equals(table)
    assert fs.get_file_info(bucket + '/missing').type == pafs.FileType.NotFound


def test_pyarrow_s3_storage_options_and_bucket_creation(s3_server):
    # endpoint_override may carry the scheme; bucket creation needs allow_bucket_creation.
    bucket = unique_name()
    with pytest.raises(OSError, match='allow_bucket_creation'):
        s3_server.pyarrow_fs().create_dir(bucket)
    fs = s3_server.pyarrow_fs(allow_bucket_creation=True)
    fs.create_dir(bucket)
    assert fs.get_file_info(bucket).type == pafs.FileType.Directory
    uri_fs, path = pafs.FileSystem.from_uri('s3://testing:testing@%s/d?endpoint_override=%s&scheme=http'
                                            % (bucket, s3_server.endpoint))
    with uri_fs.open_output_stream(path + '/a.bin') as f:
        f.write(b'abc')
    assert fs.open_input_stream(bucket + '/d/a.bin').read() == b'abc'


def test_pyarrow_s3_dataset_round_trip(s3_server):
    fs = s3_server.pyarrow_fs()
    bucket = s3_server.make_bucket()
    table = _table(3000)
    ds.write_dataset(table, bucket + '/ds', filesystem=fs, format='parquet',
                     max_rows_per_file=1000, max_rows_per_group=500)
    dataset = ds.dataset(bucket + '/ds', filesystem=fs, format='parquet')
    assert len(dataset.files) == 3
    assert dataset.to_table().sort_by('id').equals(table)


def test_pyarrow_s3_stopped_server_fails_fast(own_s3_server):
    server = own_s3_server
    bucket = server.make_bucket()
    fs = server.pyarrow_fs(connect_timeout=1, request_timeout=1)
    pq.write_table(_table(10), bucket + '/x.parquet', filesystem=fs)
    server.stop()
    # A closed port: connection refused at once; the default retry strategy (AwsStandard, 3
    # attempts) adds its back-off (measured 0.2-2.7 s).
    elapsed, error = _timed(lambda: pq.read_table(bucket + '/x.parquet', filesystem=fs))
    assert isinstance(error, OSError)
    assert 'AWS Error NETWORK_CONNECTION during HeadObject operation' in str(error)
    assert 'Could not connect to server' in str(error)
    assert elapsed < 15, elapsed
    one_try = server.pyarrow_fs(connect_timeout=1, request_timeout=1,
                                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1))
    elapsed, error = _timed(lambda: one_try.get_file_info(bucket + '/x.parquet'))
    assert 'NETWORK_CONNECTION' in str(error) and elapsed < 5, (elapsed, error)


def test_pyarrow_s3_hung_server_is_bounded_by_request_timeout(silent_server):
    fs = pafs.S3FileSystem(access_key='testing', secret_key='testing', scheme='http',
                           endpoint_override='%s:%d' % (HOST, silent_server.port),
                           region='us-east-1', connect_timeout=1, request_timeout=2,
                           retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1))
    elapsed, error = _timed(lambda: fs.get_file_info('bucket/x.parquet'))
    assert isinstance(error, OSError)
    assert 'curlCode: 28, Timeout was reached' in str(error)
    assert 1.5 < elapsed < 10, elapsed


# --- authentication (moto with INITIAL_NO_AUTH_ACTION_COUNT) ----------------------------------


def test_s3_auth_server_rejects_wrong_credentials(s3_auth_server):
    import botocore.exceptions
    server = s3_auth_server
    assert server.access_key != 'testing'
    bucket = server.make_bucket()
    good = server.pyarrow_fs()
    table = _table(100)
    pq.write_table(table, bucket + '/x.parquet', filesystem=good)
    assert pq.read_table(bucket + '/x.parquet', filesystem=good).equals(table)

    unknown = server.pyarrow_fs(access_key='testing', secret_key='testing')
    with pytest.raises(OSError, match='AWS Error INVALID_ACCESS_KEY_ID during ListObjectsV2 operation: '
                                      'The AWS Access Key Id you provided does not exist in our records'):
        unknown.get_file_info(pafs.FileSelector(bucket))
    with pytest.raises(OSError, match='INVALID_ACCESS_KEY_ID during CreateMultipartUpload'):
        pq.write_table(table, bucket + '/y.parquet', filesystem=unknown)
    # HEAD responses have no body: the 403 comes without its error code.
    with pytest.raises(OSError, match='AWS Error ACCESS_DENIED during HeadObject operation'):
        unknown.get_file_info(bucket + '/x.parquet')

    wrong_secret = server.pyarrow_fs(secret_key='not-the-secret')
    with pytest.raises(OSError, match='SIGNATURE_DOES_NOT_MATCH during ListObjectsV2'):
        wrong_secret.get_file_info(pafs.FileSelector(bucket))

    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.boto3_client(access_key='testing', secret_key='testing').list_objects_v2(Bucket=bucket)
    assert e.value.response['Error']['Code'] == 'InvalidAccessKeyId'


# --- pyarrow.fs.GcsFileSystem against gcp-storage-emulator -----------------------------------


def test_pyarrow_gcs_parquet_round_trip(gcs_server):
    fs = pafs.GcsFileSystem(anonymous=True, endpoint_override=gcs_server.endpoint, scheme='http',
                            retry_time_limit=datetime.timedelta(seconds=5),
                            project_id=gcs_server.project_id)
    bucket = gcs_server.make_bucket()
    table = _table()
    pq.write_table(table, bucket + '/dir/x.parquet', filesystem=fs)
    infos = fs.get_file_info(pafs.FileSelector(bucket, recursive=True))
    # Unlike S3FileSystem, Arrow's GCS listing reports only objects (and directory marker objects),
    # not the implied 'bucket/dir'.
    assert [(i.path, i.type) for i in infos] == [(bucket + '/dir/x.parquet', pafs.FileType.File)]
    assert fs.get_file_info(bucket + '/dir').type == pafs.FileType.Directory
    assert pq.read_table(bucket + '/dir/x.parquet', filesystem=fs).equals(table)
    assert fs.get_file_info(bucket + '/missing').type == pafs.FileType.NotFound
    with pytest.raises(FileNotFoundError):
        fs.open_input_stream(bucket + '/missing')


def test_pyarrow_gcs_buckets_dirs_moves_and_datasets(gcs_server):
    fs = gcs_server.pyarrow_fs()
    bucket = unique_name()
    fs.create_dir(bucket)                       # creates the bucket (needs project_id)
    assert gcs_server.api('GET', '/b/' + bucket)['name'] == bucket
    fs.create_dir(bucket + '/e/f')              # directory marker objects 'e/' and 'e/f/'
    table = _table(3000)
    ds.write_dataset(table, bucket + '/ds', filesystem=fs, format='parquet',
                     max_rows_per_file=1000, max_rows_per_group=500)
    dataset = ds.dataset(bucket + '/ds', filesystem=fs, format='parquet')
    assert len(dataset.files) == 3
    assert dataset.to_table().sort_by('id').equals(table)
    fs.move(bucket + '/ds/part-0.parquet', bucket + '/moved.parquet')
    fs.copy_file(bucket + '/moved.parquet', bucket + '/copied.parquet')
    assert pq.read_table(bucket + '/copied.parquet', filesystem=fs).num_rows == 1000
    paths = {i.path for i in fs.get_file_info(pafs.FileSelector(bucket, recursive=True))}
    assert {bucket + '/e', bucket + '/e/f', bucket + '/moved.parquet',
            bucket + '/ds/part-1.parquet'} <= paths
    # Non-recursive listing: files at that level are listed; the emulator leaves directory marker
    # objects out of `items` under includeTrailingDelimiter=true, so subdirectories are missing.
    flat = {i.path for i in fs.get_file_info(pafs.FileSelector(bucket + '/ds'))}
    assert flat == {bucket + '/ds/part-1.parquet', bucket + '/ds/part-2.parquet'}
    fs.delete_dir(bucket + '/e')
    assert fs.get_file_info(bucket + '/e/f').type == pafs.FileType.NotFound


def test_pyarrow_gcs_large_file_ranged_reads(gcs_server):
    # 16 MB: larger than the socket buffers, so it passes only with the threaded emulator.
    fs = gcs_server.pyarrow_fs()
    bucket = gcs_server.make_bucket()
    table = pa.table({'x': np.random.default_rng(0).integers(0, 1 << 60, size=2000000)})
    pq.write_table(table, bucket + '/big.parquet', filesystem=fs, row_group_size=200000,
                   compression='none')
    assert fs.get_file_info(bucket + '/big.parquet').size > 16 * 10**6
    t0 = time.monotonic()
    with fs.open_input_file(bucket + '/big.parquet') as f:
        parquet_file = pq.ParquetFile(f)
        assert parquet_file.read_row_group(7).equals(table.slice(1400000, 200000))
    assert pq.read_table(bucket + '/big.parquet', filesystem=fs).equals(table)
    assert time.monotonic() - t0 < 30


def test_pyarrow_gcs_stopped_server_fails_within_retry_time_limit(own_gcs_server):
    server = own_gcs_server
    bucket = server.make_bucket()
    fs = server.pyarrow_fs(retry_time_limit=datetime.timedelta(seconds=1))
    pq.write_table(_table(10), bucket + '/x.parquet', filesystem=fs)
    server.stop()
    elapsed, error = _timed(lambda: pq.read_table(bucket + '/x.parquet', filesystem=fs))
    assert isinstance(error, OSError)
    assert 'UNAVAILABLE: Retry policy exhausted' in str(error)
    assert 'CURL error [7]=Could not connect to server' in str(error)
    assert elapsed < 10, elapsed       # measured 1.1-1.7 s (5 s limit: 5-11 s)
    elapsed, error = _timed(lambda: pq.write_table(_table(10), bucket + '/y.parquet', filesystem=fs))
    assert 'gcloud-cpp.retry.function=CreateResumableUpload' in str(error) and elapsed < 10


# --- s3fs (fsspec) against moto --------------------------------------------------------------


def test_s3fs_round_trip(s3_server):
    s3fs = pytest.importorskip('s3fs')
    fs = s3fs.S3FileSystem(key=s3_server.access_key, secret=s3_server.secret_key,
                           client_kwargs={'endpoint_url': s3_server.endpoint_url},
                           skip_instance_cache=True)
    bucket = unique_name()
    fs.mkdir(bucket)
    with fs.open(bucket + '/dir/a.txt', 'wb') as f:
        f.write(b'hello')
    assert fs.ls(bucket) == [bucket + '/dir']
    assert fs.ls(bucket + '/dir') == [bucket + '/dir/a.txt']
    with fs.open(bucket + '/dir/a.txt', 'rb') as f:
        assert f.read() == b'hello'
    table = _table()
    with fs.open(bucket + '/dir/t.parquet', 'wb') as f:
        pq.write_table(table, f)
    assert pq.read_table(bucket + '/dir/t.parquet', filesystem=fs).equals(table)
    # The same object through Arrow's own S3 client, and s3fs wrapped as an Arrow filesystem.
    assert pq.read_table(bucket + '/dir/t.parquet', filesystem=s3_server.pyarrow_fs()).equals(table)
    wrapped = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    assert {i.path for i in wrapped.get_file_info(pafs.FileSelector(bucket, recursive=True))} == \
        {bucket + '/dir', bucket + '/dir/a.txt', bucket + '/dir/t.parquet'}
