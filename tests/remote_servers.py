"""Real object-storage servers on loopback for the remote-storage tests.

Each server is a real process started on 127.0.0.1 at a free port picked at run time, waited for
(bounded: STARTUP_TIMEOUT seconds, then an error quoting the server's output), and always ended
(SIGTERM, then SIGKILL) when its fixture closes, also when a test fails (and, on Linux, when the
test process itself dies):

* ``s3_server``: ``moto_server`` (moto[server]), an S3 API that accepts any key.
* ``s3_auth_server``: a second ``moto_server`` that enforces authentication, with one IAM user whose
  key is allowed everything; any other key is rejected (InvalidAccessKeyId, SignatureDoesNotMatch,
  or a bodiless 403 on HEAD).
* ``gcs_server``: gcp-storage-emulator (GCS JSON API), in memory, run multi-threaded (see
  ``GCS_LAUNCHER``).
* ``own_s3_server`` / ``own_gcs_server`` (function scope): a server of the test's own.

The first three are module-scoped views of servers shared by the whole session (started on first
use, ended when the session ends). ``stop()`` ends one at once (its port is closed on return), for
the rest of that module: the next module that asks gets a fresh, empty one on a new port. A test that
stops a server and is not the module's last user should take an own_* server. Bucket names:
``make_bucket()`` without a name makes a unique one, as tests sharing a server should.

Use them from a test module with ``from remote_servers import s3_server, ...  # noqa: F401`` (tests/
is on sys.path under pytest's default import mode); no other fixture of this module needs importing.
The first use puts AWS_* variables (fixed test credentials, no profile or config file, no instance
metadata, no proxy for loopback) into os.environ for the session; its end restores them.
"""
import atexit
import contextlib
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

HOST = '127.0.0.1'
STARTUP_TIMEOUT = 30.0
S3_REGION = 'us-east-1'
S3_ACCESS_KEY = 'testing'
S3_SECRET_KEY = 'testing'
GCS_PROJECT = 'test-project'

# What the AWS clients (Arrow's AWS SDK, botocore/boto3, s3fs) must see in the test session: fixed
# credentials, no profile/config/credentials file from $HOME, no EC2/ECS metadata look-ups (which
# would leave loopback), no endpoint override from the environment, no proxy for loopback.
AWS_TEST_ENV = {
    'AWS_ACCESS_KEY_ID': S3_ACCESS_KEY,
    'AWS_SECRET_ACCESS_KEY': S3_SECRET_KEY,
    'AWS_DEFAULT_REGION': S3_REGION,
    'AWS_REGION': S3_REGION,
    'AWS_EC2_METADATA_DISABLED': 'true',
    'AWS_CONFIG_FILE': os.devnull,
    'AWS_SHARED_CREDENTIALS_FILE': os.devnull,
}
AWS_UNSET = ('AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN',
             'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE',
             'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
             'AWS_CONTAINER_AUTHORIZATION_TOKEN')

# gcp-storage-emulator serves with http.server.HTTPServer, one request at a time. Arrow's GCS
# input file opens a full-object download stream when the file is opened and then issues ranged
# reads on new connections; once an object is larger than the loopback socket buffers (measured:
# 3 MB works, 18 MB does not) the emulator blocks writing the first response and never accepts the
# ranged read, and Arrow fails after libcurl's 120 s stall timeout (DEADLINE_EXCEEDED, CURL error
# 28). So the emulator runs with ThreadingHTTPServer, its request handlers serialised by one lock
# (its storage is not thread-safe); responses are written outside the lock.
GCS_LAUNCHER = r'''
import functools, http.server, sys, threading
http.server.HTTPServer = http.server.ThreadingHTTPServer
from gcp_storage_emulator import server as _server
_lock = threading.Lock()
def _locked(handler):
    @functools.wraps(handler)
    def run(*args, **kwargs):
        with _lock:
            return handler(*args, **kwargs)
    return run
_server.HANDLERS = tuple((regex, {method: _locked(h) for method, h in handlers.items()})
                         for regex, handlers in _server.HANDLERS)
from gcp_storage_emulator.__main__ import main
sys.argv[0] = 'gcp-storage-emulator'
sys.exit(main())
'''

_LIVE = set()


@atexit.register
def _stop_leftovers():
    for server in list(_LIVE):
        server.stop()


def _die_with_parent():
    """In the child before exec (Linux): SIGTERM when the test process dies, even by SIGKILL."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except Exception:  # noqa: B902 - not Linux: atexit and the fixtures still stop the servers
        pass


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def venv_script(name):
    """The console script `name` installed next to this interpreter (the venv's bin/), or None."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def require_script(name):
    path = venv_script(name)
    if path is None:
        pytest.skip('%s is not installed next to %s (pip install -r requirements-dev.txt)'
                    % (name, sys.executable))
    return path


@contextlib.contextmanager
def patched_environ(updates, unset=()):
    """Sets `updates` and removes `unset` in os.environ; restores the previous values on exit."""
    saved = {k: os.environ.get(k) for k in list(updates) + list(unset)}
    try:
        for k in unset:
            os.environ.pop(k, None)
        os.environ.update(updates)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _no_proxy_env():
    hosts = [h for h in os.environ.get('NO_PROXY', os.environ.get('no_proxy', '')).split(',') if h]
    for h in (HOST, 'localhost'):
        if h not in hosts:
            hosts.append(h)
    return {'NO_PROXY': ','.join(hosts), 'no_proxy': ','.join(hosts)}


class ServerProcess(object):
    """One server subprocess: started by start(), ready once http://127.0.0.1:PORT`probe_path` answers any HTTP status,
    ended by stop(). `argv_for_port(port)` gives the command line for a port; a server that exits
    before it is ready (say the port was taken in the meantime) is retried on a new port, twice."""

    def __init__(self, name, argv_for_port, probe_path, env=None, startup_timeout=STARTUP_TIMEOUT):
        self.name = name
        self._argv_for_port = argv_for_port
        self._probe_path = probe_path
        self._env = env
        self._startup_timeout = startup_timeout
        self._proc = None
        self._log = None
        self.port = None
        self.startup_seconds = None

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def log_text(self, limit=4000):
        """The last `limit` characters the server wrote to stdout/stderr."""
        if self._log is None:
            return ''
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode('utf-8', 'replace')[-limit:]

    def start(self):
        t0 = time.monotonic()
        deadline = t0 + self._startup_timeout
        for attempt in range(3):
            self.port = free_port()
            self._spawn()
            if self._wait_ready(deadline):
                self.startup_seconds = time.monotonic() - t0
                return self
            if self.running or attempt == 2 or time.monotonic() >= deadline:
                break
        output = self.log_text()
        status = 'still running' if self.running else 'exit code %s' % self._proc.returncode
        self.__exit__(None, None, None)
        raise RuntimeError('%s did not come up on %s:%s within %.0f s (%s). Its output:\n%s'
                           % (self.name, HOST, self.port, self._startup_timeout, status, output))

    def _spawn(self):
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(self._argv_for_port(self.port), stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT, env=self._env,
                                      preexec_fn=_die_with_parent if sys.platform.startswith('linux')
                                      else None)
        _LIVE.add(self)

    def _wait_ready(self, deadline):
        url = 'http://%s:%d%s' % (HOST, self.port, self._probe_path)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                opener.open(url, timeout=1).close()
                return True
            except urllib.error.HTTPError:
                return True          # it answers: any status will do
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        """Ends the server (SIGTERM, after 5 s SIGKILL); its port is closed when this returns."""
        _LIVE.discard(self)
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None


def unique_name(prefix='bucket'):
    """A fresh bucket name valid for S3 and GCS (3-63 lowercase letters, digits, dashes)."""
    return '%s-%s' % (prefix, uuid.uuid4().hex[:12])


class _Server(object):
    def __init__(self, process):
        self._process = process

    port = property(lambda self: self._process.port)
    endpoint = property(lambda self: '%s:%d' % (HOST, self.port))
    endpoint_url = property(lambda self: 'http://%s:%d' % (HOST, self.port))
    startup_seconds = property(lambda self: self._process.startup_seconds)
    running = property(lambda self: self._process.running)

    def log_text(self, limit=4000):
        return self._process.log_text(limit)

    def stop(self):
        """Stops the server now; its port is closed on return."""
        self._process.stop()


class S3Server(_Server):
    """A running moto_server. storage_options are pyarrow.fs.S3FileSystem keyword arguments."""
    region = S3_REGION

    def __init__(self, process, access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY):
        super(S3Server, self).__init__(process)
        self.access_key = access_key
        self.secret_key = secret_key

    @property
    def storage_options(self):
        return {'access_key': self.access_key, 'secret_key': self.secret_key,
                'endpoint_override': self.endpoint_url, 'region': self.region}

    def pyarrow_fs(self, **overrides):
        from pyarrow import fs
        return fs.S3FileSystem(**dict(self.storage_options, **overrides))

    @property
    def s3fs_options(self):
        """s3fs.S3FileSystem keyword arguments. No region_name in client_kwargs: with it s3fs's
        mkdir sends LocationConstraint=us-east-1, which S3 (and moto) reject."""
        return {'key': self.access_key, 'secret': self.secret_key,
                'client_kwargs': {'endpoint_url': self.endpoint_url}}

    def boto3_client(self, service='s3', access_key=None, secret_key=None):
        import boto3
        import botocore.config
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret_key or self.secret_key,
                            config=botocore.config.Config(connect_timeout=5, read_timeout=30,
                                                          retries={'max_attempts': 2}))

    def make_bucket(self, name=None):
        """Creates bucket `name` (a fresh unique one if None) and returns its name."""
        name = name or unique_name()
        self.boto3_client().create_bucket(Bucket=name)
        return name


class GcsServer(_Server):
    """A running gcp-storage-emulator. storage_options are pyarrow.fs.GcsFileSystem keyword
    arguments (anonymous: Arrow's GCS client must not look for Google credentials, which would
    leave loopback)."""
    project_id = GCS_PROJECT

    @property
    def storage_options(self):
        return {'anonymous': True, 'endpoint_override': self.endpoint, 'scheme': 'http',
                'project_id': self.project_id,
                'retry_time_limit': datetime.timedelta(seconds=5)}

    def pyarrow_fs(self, **overrides):
        from pyarrow import fs
        return fs.GcsFileSystem(**dict(self.storage_options, **overrides))

    def api(self, method, path, body=None):
        """One JSON API request (path below /storage/v1); returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = urllib.request.Request(self.endpoint_url + '/storage/v1' + path, data=data,
                                         method=method,
                                         headers={'Content-Type': 'application/json'})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw.decode('utf-8')) if raw else None

    def make_bucket(self, name=None):
        """Creates bucket `name` (a fresh unique one if None) and returns its name."""
        name = name or unique_name()
        self.api('POST', '/b?project=' + self.project_id, {'name': name})
        return name


def moto_process(env, name='moto_server'):
    script = require_script('moto_server')
    return ServerProcess(name, lambda port: [script, '-H', HOST, '-p', str(port)],
                         '/moto-api/', env=env)


def gcs_emulator_process():
    require_script('gcp-storage-emulator')
    env = dict(os.environ, **_no_proxy_env())
    return ServerProcess('gcp-storage-emulator',
                         lambda port: [sys.executable, '-c', GCS_LAUNCHER, 'start', '--host', HOST,
                                       '--port', str(port), '--in-memory'],
                         '/storage/v1/b', env=env)


# Requests moto lets through before it enforces authentication: the three IAM calls below.
_AUTH_SETUP_REQUESTS = 3
_ALLOW_ALL_POLICY = json.dumps({'Version': '2012-10-17',
                                'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]})


def _make_auth_server(process):
    """On a moto started with INITIAL_NO_AUTH_ACTION_COUNT=3: an IAM user with an allow-all
    policy and an access key, made with the three unauthenticated requests moto allows; every
    request after them is authenticated (moto counts the requests of all services, not the
    /moto-api/ ones). Checks that a wrong key is rejected before handing the server out."""
    import botocore.exceptions
    anon = S3Server(process)
    iam = anon.boto3_client('iam')
    iam.create_user(UserName='petastorm-test')
    key = iam.create_access_key(UserName='petastorm-test')['AccessKey']
    iam.put_user_policy(UserName='petastorm-test', PolicyName='allow-all',
                        PolicyDocument=_ALLOW_ALL_POLICY)
    server = S3Server(process, access_key=key['AccessKeyId'],
                      secret_key=key['SecretAccessKey'])
    try:
        server.boto3_client(access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY).list_buckets()
    except botocore.exceptions.ClientError as e:
        if e.response['Error']['Code'] != 'InvalidAccessKeyId':
            raise
    else:
        raise RuntimeError('moto_server with INITIAL_NO_AUTH_ACTION_COUNT=%d accepted an unknown key'
                           % _AUTH_SETUP_REQUESTS)
    server.boto3_client().list_buckets()
    return server


class _SharedServers(object):
    """The servers shared by the session: started on first use, restarted (new port, empty) when
    a module asks for one that a test stopped, ended when the session ends. The first use also
    puts AWS_TEST_ENV into os.environ, which the end of the session restores."""

    def __init__(self):
        self._env = patched_environ(dict(AWS_TEST_ENV, **_no_proxy_env()), AWS_UNSET)
        self._env.__enter__()
        self.environ = dict(os.environ)
        self._servers = {}

    def get(self, kind):
        server = self._servers.get(kind)
        if server is None or not server.running:
            if server is not None:
                server._process.__exit__(None, None, None)
            process = _PROCESSES[kind](self.environ)
            process.start()
            try:
                server = _WRAP[kind](process)
            except BaseException:
                process.__exit__(None, None, None)
                raise
            self._servers[kind] = server
        return server

    def close(self):
        try:
            for server in self._servers.values():
                server._process.__exit__(None, None, None)
            self._servers.clear()
        finally:
            self._env.__exit__(None, None, None)


_PROCESSES = {
    's3': moto_process,
    's3_auth': lambda env: moto_process(
        dict(env, INITIAL_NO_AUTH_ACTION_COUNT=str(_AUTH_SETUP_REQUESTS)), 'moto_server (auth)'),
    'gcs': lambda env: gcs_emulator_process(),
}
_WRAP = {
    's3': S3Server,
    's3_auth': _make_auth_server,
    'gcs': GcsServer,
}


def _shared(request):
    config = request.config
    pool = getattr(config, '_petastorm_remote_servers', None)
    if pool is None:
        pool = config._petastorm_remote_servers = _SharedServers()

        def close():
            del config._petastorm_remote_servers
            pool.close()
        config.add_cleanup(close)
    return pool


# The fixtures below depend on no other fixture of this module, so importing just the ones a test
# module uses is enough.

@pytest.fixture(scope='session')
def aws_test_environment(request):
    """os.environ as the AWS clients of the session see it (AWS_TEST_ENV set, AWS_UNSET removed, no
    proxy for loopback); the previous environment comes back when the session ends."""
    return _shared(request).environ


@pytest.fixture(scope='module')
def s3_server(request):
    """The session's moto S3 server (any credentials accepted; use S3Server's own). stop() ends it
    for the rest of the module; the next module gets a fresh one (own_s3_server: a test's own)."""
    return _shared(request).get('s3')


@pytest.fixture(scope='module')
def s3_auth_server(request):
    """The session's moto S3 server that enforces authentication: .access_key/.secret_key are the
    only valid key (an IAM user allowed everything), anything else is rejected."""
    return _shared(request).get('s3_auth')


@pytest.fixture(scope='module')
def gcs_server(request):
    """The session's gcp-storage-emulator (in memory, no authentication); stop() as s3_server."""
    return _shared(request).get('gcs')


@pytest.fixture
def own_s3_server(request):
    """A moto S3 server for this test alone, stopped when the test ends (or by stop())."""
    with moto_process(_shared(request).environ) as process:
        yield S3Server(process)


@pytest.fixture
def own_gcs_server():
    """A gcp-storage-emulator for this test alone, stopped when the test ends (or by stop())."""
    with gcs_emulator_process() as process:
        yield GcsServer(process)
