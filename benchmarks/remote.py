"""The S3 test server of the remote workloads (W6c, W2s3, W3s3): moto's S3 API server, on this machine.

    python benchmarks/remote.py upload --endpoint http://127.0.0.1:PORT --bucket bench LOCAL_DIR KEY [LOCAL_DIR KEY ...]

run.py starts `moto_server` (from moto[server], installed beside --our-python) on a free loopback
port with `S3Server`, uploads the cached datasets it needs once per run (this file's `upload`
command, run by --our-python: pyarrow's `copy_files`; then, on the store of most files, the
server's request rate: `probe`), and stops the server at the end, also on
error. moto keeps the objects in memory (MOTO_S3_DEFAULT_KEY_BUFFER_SIZE: 1 GiB, so that none
spills to a temporary file): nothing outlives the run. moto answers every GET by reading the whole
object, then slicing the range asked for: a request costs its object's size (report_remote.py says so). The credentials are moto's
dummy ones.

`contender_options` gives each family the connection in its own vocabulary: this project's
`storage_options` in Arrow's names, Petastorm 0.13.1's s3fs arguments (runner.py wraps them in a
legacy pyarrow filesystem, see `runner.petastorm_s3_filesystem`), pyarrow's `S3FileSystem`
arguments.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

KEY, SECRET, REGION = 'testing', 'testing', 'us-east-1'
BUCKET = 'bench'


def free_port():
    """A free loopback port: bound to port 0, read, released (moto then binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the server's process: SIGTERM when run.py dies, however it dies (Linux's PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


class S3Server(object):
    """moto_server on 127.0.0.1:<free port>, started by start() and ended by stop() (idempotent)."""

    def __init__(self, python, log_path):
        self.program = os.path.join(os.path.dirname(python), 'moto_server')
        self.log_path = log_path
        open(log_path, 'w').close()  # a log of this run's requests (a line each)
        self.proc = None
        self.port = None
        self.version = None

    @property
    def endpoint(self):
        return 'http://127.0.0.1:{}'.format(self.port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=30):
        """Starts the server and waits until it answers; raises RuntimeError with the reason."""
        if not os.access(self.program, os.X_OK):
            raise RuntimeError('moto_server is not installed ({}; pip install "moto[server]")'.format(self.program))
        # Objects in memory whatever their size (moto spills those over 5 MB to temporary files).
        env = dict(os.environ, AWS_EC2_METADATA_DISABLED='true', MOTO_S3_DEFAULT_KEY_BUFFER_SIZE=str(2 ** 30))
        for attempt in range(3):  # the port may be taken between free_port() and moto's bind
            self.port = free_port()
            log = open(self.log_path, 'a')
            self.proc = subprocess.Popen([self.program, '-H', '127.0.0.1', '-p', str(self.port)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                         preexec_fn=_die_with_parent)
            log.close()
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    urllib.request.urlopen(self.endpoint + '/', timeout=2).read()
                    return self
                except urllib.error.HTTPError:
                    return self  # it answers
                except (urllib.error.URLError, OSError):
                    time.sleep(0.2)
            self.stop()
        with open(self.log_path) as f:
            tail = f.read().strip().splitlines()[-1:] or ['no output']
        raise RuntimeError('moto_server did not answer on 127.0.0.1 (log {}: {})'.format(self.log_path, tail[0][:200]))

    def cpu_seconds(self):
        """The server's CPU seconds so far (utime + stime of /proc/PID/stat)."""
        return process_cpu_seconds(self.pid)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def process_cpu_seconds(pid):
    if not pid:
        return None
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return sum(int(v) for v in fields[11:15]) / os.sysconf('SC_CLK_TCK')


def url(key):
    return 's3://{}/{}'.format(BUCKET, key)


def contender_options(family, endpoint):
    """The runner.py arguments that give `family` the S3 connection in its own vocabulary."""
    if family == 'petastorm':  # s3fs's arguments, as Petastorm's users pass storage_options
        return ['--s3fs', json.dumps({'key': KEY, 'secret': SECRET,
                                      'client_kwargs': {'endpoint_url': endpoint, 'region_name': REGION}})]
    # This project's storage_options in Arrow's names (it takes s3fs's too); pyarrow's S3FileSystem
    # is made from the same ones by runner.py.
    return ['--storage-options', json.dumps({'access_key': KEY, 'secret_key': SECRET, 'endpoint_override': endpoint,
                                             'region': REGION})]


def pyarrow_s3(endpoint, **kwargs):
    import pyarrow.fs as pafs
    scheme, _, host = endpoint.partition('://')
    return pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=host, scheme=scheme,
                             region=REGION, **kwargs)


def upload(endpoint, bucket, pairs):
    """Copies each local directory to bucket/key; returns {key: {'seconds', 'files', 'bytes'}}."""
    import pyarrow.fs as pafs
    s3 = pyarrow_s3(endpoint, allow_bucket_creation=True)
    s3.create_dir(bucket)
    done = {}
    for local, key in pairs:
        t0 = time.perf_counter()
        pafs.copy_files(local, '{}/{}'.format(bucket, key), source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=s3, use_threads=True)
        infos = s3.get_file_info(pafs.FileSelector('{}/{}'.format(bucket, key), recursive=True))
        done[key] = {'seconds': round(time.perf_counter() - t0, 2), 'files': len(infos),
                     'bytes': sum(i.size or 0 for i in infos)}
    return done


def probe(endpoint, bucket, key, threads=8):
    """The server's request rate: pyarrow alone, a HEAD (get_file_info) and a GET (open_input_stream,
    read) per file under bucket/key, on `threads` threads."""
    from concurrent.futures import ThreadPoolExecutor
    import pyarrow.fs as pafs
    s3 = pyarrow_s3(endpoint)
    paths = [i.path for i in s3.get_file_info(pafs.FileSelector('{}/{}'.format(bucket, key)))]

    def pair(path):
        s3.get_file_info(path)
        with s3.open_input_stream(path) as f:
            f.read()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(pair, paths))
    seconds = time.perf_counter() - t0
    return {'key': key, 'files': len(paths), 'threads': threads, 'seconds': round(seconds, 2),
            'requests_per_s': round(2 * len(paths) / seconds, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('upload')
    up.add_argument('--endpoint', required=True)
    up.add_argument('--bucket', default=BUCKET)
    up.add_argument('pairs', nargs='+', help='LOCAL_DIR KEY ...')
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error('LOCAL_DIR KEY pairs expected')
    try:
        from importlib.metadata import version
        moto_version = version('moto')
    except Exception:  # noqa: BLE001 (only informative)
        moto_version = None
    try:
        uploads = upload(args.endpoint, args.bucket, list(zip(args.pairs[::2], args.pairs[1::2])))
        result = {'status': 'ok', 'uploads': uploads, 'moto': moto_version}
        many = max(uploads, key=lambda k: uploads[k]['files'])
        if uploads[many]['files'] >= 100:  # a store of many small files: the server's request rate
            result['probe'] = probe(args.endpoint, args.bucket, many)
    except Exception as e:  # reported by run.py
        result = {'status': 'error', 'reason': '{}: {}'.format(type(e).__name__, e)}
    print(json.dumps(result))


if __name__ == '__main__':
    sys.exit(main())
