"""Where datasets live: URLs, ``storage_options`` and ``filesystem=`` resolved to the engine's filesystems.

One filesystem layer, Arrow's, in C++ (``petastorm/filesystem.h``): ``file://`` and plain paths,
``s3://`` (also ``s3a://``, ``s3n://``), ``gs://`` / ``gcs://`` and ``hdfs://`` are opened there
from the URL and ``storage_options``; the engine's threads then read without the GIL. Other
schemes (``abfs://``, ``dbfs:/``, ``memory://`` ...) and ``filesystem=`` objects the engine cannot
rebuild natively (fsspec filesystems, ``pyarrow.fs.PyFileSystem``, ``SubTreeFileSystem``) are
served through ``_Adapter``: each operation calls the Python filesystem under the GIL.
docs/remote-storage.md lists the schemes and options.
"""
from collections import namedtuple
from urllib.parse import urlparse

from petastorm import _core

# Schemes the C++ layer opens from the URL.
NATIVE_SCHEMES = ('', 'file', 's3', 's3a', 's3n', 'gs', 'gcs', 'hdfs', 'viewfs')

# Where a dataset is: the engine's filesystem, the paths on it, and the URL(s) for messages.
Location = namedtuple('Location', ['filesystem', 'paths', 'url'])


def normalize_dir_url(dataset_url):
    """Petastorm's check: a string URL, one trailing slash stripped."""
    if dataset_url is None or not isinstance(dataset_url, str):
        raise ValueError('directory url must be a string')
    return dataset_url[:-1] if dataset_url.endswith('/') else dataset_url


def get_dataset_path(parsed_url):
    """The path a filesystem object takes for a parsed URL: ``bucket/key`` for object stores
    (s3, gs, ...), the path for file:// and hdfs:// (as Petastorm's)."""
    if parsed_url.scheme in ('', 'file', 'hdfs', 'viewfs'):
        return parsed_url.path
    return parsed_url.netloc + parsed_url.path


def _option_pairs(storage_options):
    """storage_options as the engine takes them: [(key, text)], nested dicts flattened with '.',
    booleans as true/false, None values left out."""
    if storage_options is None:
        return []
    if not isinstance(storage_options, dict):
        raise ValueError('storage_options must be a dict, got {!r}'.format(type(storage_options).__name__))
    pairs = []

    def add(prefix, mapping):
        for key, value in mapping.items():
            name = prefix + str(key)
            if value is None:
                continue
            if isinstance(value, dict):
                add(name + '.', value)
            elif isinstance(value, bool):
                pairs.append((name, 'true' if value else 'false'))
            elif hasattr(value, 'total_seconds'):  # a timedelta
                pairs.append((name, repr(value.total_seconds())))
            else:
                pairs.append((name, str(value)))
    add('', storage_options)
    return pairs


class _Adapter(object):
    """The protocol of python/src/python_filesystem.h over a pyarrow or an fsspec filesystem."""

    def __init__(self, fs):
        self.fs = fs
        import pyarrow.fs as pafs
        self._pyarrow = isinstance(fs, pafs.FileSystem)

    def __reduce__(self):
        return _Adapter, (self.fs,)

    # -- pyarrow.fs.FileSystem or fsspec AbstractFileSystem -----------------------------------
    def info(self, path):
        if self._pyarrow:
            info = self.fs.get_file_info(path)
            return int(info.type), info.size or 0
        try:
            info = self.fs.info(path)
        except (FileNotFoundError, OSError):
            return 0, 0
        return (3, 0) if info.get('type') == 'directory' else (2, int(info.get('size') or 0))

    def list(self, path, recursive):
        if self._pyarrow:
            import pyarrow.fs as pafs
            return [(i.path, int(i.type), i.size or 0)
                    for i in self.fs.get_file_info(pafs.FileSelector(path, recursive=recursive))]
        if recursive:
            entries = self.fs.find(path, withdirs=True, detail=True).values()
        else:
            entries = self.fs.ls(path, detail=True)
        out = []
        for e in entries:
            name = e['name']
            if name.rstrip('/') == path.rstrip('/'):
                continue
            out.append((name, 3 if e.get('type') == 'directory' else 2, int(e.get('size') or 0)))
        return out

    def open_read(self, path):
        return self.fs.open_input_file(path) if self._pyarrow else self.fs.open(path, 'rb')

    def open_write(self, path):
        return self.fs.open_output_stream(path) if self._pyarrow else self.fs.open(path, 'wb')

    def mkdir(self, path, recursive):
        if self._pyarrow:
            self.fs.create_dir(path, recursive=recursive)
        else:
            self.fs.makedirs(path, exist_ok=True)

    def rmdir(self, path):
        if self._pyarrow:
            self.fs.delete_dir(path)
        else:
            self.fs.rm(path, recursive=True)

    def rmdir_contents(self, path, missing_dir_ok):
        if self._pyarrow:
            self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)
            return
        if not self.fs.exists(path):
            if missing_dir_ok:
                return
            raise FileNotFoundError(path)
        for name in self.fs.ls(path, detail=False):
            self.fs.rm(name, recursive=True)

    def rm(self, path):
        if self._pyarrow:
            self.fs.delete_file(path)
        else:
            self.fs.rm(path)

    def move(self, src, dst):
        if self._pyarrow:
            self.fs.move(src, dst)
        else:
            self.fs.mv(src, dst)

    def copy(self, src, dst):
        if self._pyarrow:
            self.fs.copy_file(src, dst)
        else:
            self.fs.copy(src, dst)


def _is_fsspec(obj):
    try:
        from fsspec import AbstractFileSystem
    except ImportError:
        return False
    return isinstance(obj, AbstractFileSystem)


def _fsspec_protocols(fs):
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _native_from_pyarrow(fs):
    """The engine's own filesystem equal to a pyarrow one (same options), or None when the engine
    cannot make it (a PyFileSystem, a SubTreeFileSystem, an option it does not know)."""
    name = fs.type_name
    if name == 'local':
        return _core.resolve_url('file:///', [])[0]
    if name not in ('s3', 'gcs', 'hdfs'):
        return None
    _, args = fs.__reduce__()[:2]
    kwargs = dict(args[0]) if args and isinstance(args[0], dict) else None
    if kwargs is None:
        return None
    url = 's3://'
    if name == 's3':
        retry = kwargs.pop('retry_strategy', None)
        if retry is not None and getattr(retry, 'max_attempts', None) is not None:
            kwargs['retry_max_attempts'] = retry.max_attempts
        proxy = kwargs.pop('proxy_options', None)
        if proxy:
            kwargs['proxy_options'] = proxy if isinstance(proxy, str) else None
        for key in ('default_metadata', 'load_frequency', 'session_name', 'external_id', 'smart_defaults',
                    'allow_delayed_open', 'sse_customer_key', 'tls_ca_dir_path'):
            if not kwargs.get(key) or key == 'load_frequency':
                kwargs.pop(key, None)
        for key in ('connect_timeout', 'request_timeout'):
            if kwargs.get(key) is not None and kwargs[key] < 0:
                kwargs.pop(key)
    elif name == 'gcs':
        url = 'gs://'
        kwargs.pop('default_metadata', None)
        kwargs.pop('credential_token_expiration', None)
        kwargs.pop('target_service_account', None)
        if kwargs.get('retry_time_limit') is not None:
            kwargs['retry_limit_seconds'] = kwargs.pop('retry_time_limit')
    else:
        host, port = kwargs.pop('host', 'default'), kwargs.pop('port', 0)
        url = 'hdfs://{}:{}/'.format(host, port) if port else 'hdfs://{}/'.format(host)
        extra = kwargs.pop('extra_conf', None) or {}
        kwargs['extra_conf'] = dict(extra)
    try:
        return _core.resolve_url(url, _option_pairs(kwargs))[0]
    except ValueError:
        return None


def engine_filesystem(filesystem):
    """The engine's FileSystem for a ``filesystem=`` argument: a pyarrow.fs.FileSystem or an fsspec
    filesystem (Azure's adlfs, Databricks' dbfs, s3fs, gcsfs, memory, ...)."""
    if isinstance(filesystem, _core.FileSystem):
        return filesystem
    import pyarrow.fs as pafs
    if isinstance(filesystem, pafs.PyFileSystem):
        handler = filesystem.handler
        if isinstance(handler, pafs.FSSpecHandler):
            return engine_filesystem(handler.fs)
    if isinstance(filesystem, pafs.FileSystem):
        native = _native_from_pyarrow(filesystem)
        if native is not None:
            return native
        return _core.python_filesystem(_Adapter(filesystem), 'py::' + filesystem.type_name)
    if _is_fsspec(filesystem):
        if set(_fsspec_protocols(filesystem)) & {'file', 'local'}:
            return _core.resolve_url('file:///', [])[0]
        return _core.python_filesystem(_Adapter(filesystem), 'py::' + _fsspec_protocols(filesystem)[0])
    raise ValueError('filesystem must be a pyarrow.fs.FileSystem or an fsspec filesystem, got {!r}'
                     .format(type(filesystem).__name__))


def _path_on(filesystem_obj, url):
    """The path of `url` on a user's filesystem object."""
    if _is_fsspec(filesystem_obj):
        return filesystem_obj._strip_protocol(url).rstrip('/') or '/'
    parsed = urlparse(url)
    if not parsed.scheme:
        return url.rstrip('/') or '/'
    return get_dataset_path(parsed).rstrip('/') or '/'


def _resolve_one(url, storage_options, hdfs_driver):
    """(engine filesystem, path) for one URL."""
    scheme = urlparse(url).scheme
    pairs = _option_pairs(storage_options)
    if scheme in ('hdfs', 'viewfs') and hdfs_driver == 'libhdfs3':
        from petastorm.hdfs.namenode import resolve_hdfs_url
        candidates = resolve_hdfs_url(url)
        error = None
        for candidate in candidates:
            try:
                fs, path = _core.resolve_url(candidate, pairs)
                return fs, path
            except OSError as e:
                error = e
        raise error
    if scheme in NATIVE_SCHEMES or len(scheme) == 1:  # c:/... is a local path
        return _core.resolve_url(url, pairs)
    try:
        return _core.resolve_url(url, pairs)
    except NotImplementedError:
        pass
    try:
        import fsspec
    except ImportError:
        raise NotImplementedError('No filesystem for the scheme {!r} of {!r}: pass filesystem= or install fsspec '
                                  'and the package for that scheme'.format(scheme, url))
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return engine_filesystem(fs), fs._strip_protocol(url).rstrip('/') or '/'


def resolve(url_or_urls, storage_options=None, filesystem=None, hdfs_driver='libhdfs3'):
    """The Location of a dataset URL (or list of URLs on one filesystem). ``filesystem``, when
    given, is used as is (``storage_options`` and ``hdfs_driver`` are then ignored, as in
    Petastorm); each URL's path on it is ``bucket/key`` for object stores, the path otherwise."""
    urls = list(url_or_urls) if isinstance(url_or_urls, (list, tuple)) else [url_or_urls]
    if not urls:
        raise ValueError('dataset url list must be non-empty.')
    urls = [u.__fspath__() if hasattr(u, '__fspath__') else u for u in urls]
    for u in urls:
        if not isinstance(u, str):
            raise ValueError('dataset url must be a string, got {!r}'.format(u))
    display = urls[0] if len(urls) == 1 else '[{}]'.format(', '.join(urls))
    if filesystem is not None:
        fs = engine_filesystem(filesystem)
        return Location(fs, [_path_on(filesystem, u) for u in urls], display)
    fs, paths = None, []
    for u in urls:
        url_fs, path = _resolve_one(u, storage_options, hdfs_driver)
        if fs is None:
            fs = url_fs
        elif not fs == url_fs:
            raise ValueError("The dataset url list must contain url with the same scheme and netloc. '{}' is on "
                             "another filesystem than '{}'".format(u, urls[0]))
        paths.append(path)
    return Location(fs, paths, display)


def open_dataset(url_or_urls, storage_options=None, filesystem=None, hdfs_driver='libhdfs3'):
    """The engine's Dataset (_core.Dataset) at a URL or list of URLs."""
    location = resolve(url_or_urls, storage_options, filesystem, hdfs_driver)
    return _core.Dataset(location.filesystem, location.paths, location.url)


def get_filesystem_and_path_or_paths(url_or_urls, hdfs_driver='libhdfs3', storage_options=None, filesystem=None):
    """Petastorm's helper: (pyarrow filesystem, path or list of paths). The filesystem is the one
    given, else pyarrow's for the URL (``pyarrow.fs.FileSystem.from_uri``; fsspec's for schemes
    pyarrow does not know, wrapped in ``pyarrow.fs.PyFileSystem``)."""
    urls = list(url_or_urls) if isinstance(url_or_urls, (list, tuple)) else [url_or_urls]
    parsed = [urlparse(u) for u in urls]
    if any((p.scheme, p.netloc) != (parsed[0].scheme, parsed[0].netloc) for p in parsed):
        raise ValueError('The dataset url list must contain url with the same scheme and netloc.')
    if filesystem is None:
        import pyarrow.fs as pafs
        try:
            filesystem, _ = pafs.FileSystem.from_uri(urls[0] if parsed[0].scheme else 'file://' + urls[0])
        except (ValueError, OSError):  # pyarrow's ArrowInvalid is a ValueError
            import fsspec
            filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(
                fsspec.core.url_to_fs(urls[0], **(storage_options or {}))[0]))
    paths = [get_dataset_path(p) for p in parsed]
    return filesystem, (paths if isinstance(url_or_urls, (list, tuple)) else paths[0])


def update_dataset_metadata(url, values, storage_options=None, filesystem=None):
    """Sets key-values of the dataset's _common_metadata (_core.update_dataset_metadata)."""
    location = resolve(str(url), storage_options, filesystem)
    _core.update_dataset_metadata(location.filesystem, location.paths[0], location.url, values)


class FilesystemResolver(object):
    """Petastorm's resolver of a dataset URL to a pyarrow filesystem and a path on it.

    ``filesystem()`` is the pyarrow filesystem (``get_filesystem_and_path_or_paths``'s: pyarrow's
    for the URL, fsspec's for schemes pyarrow does not know); ``get_dataset_path()`` the path on
    it; ``parsed_dataset_url()`` the urlparse of the URL; ``filesystem_factory()`` a picklable
    callable that makes the filesystem again (for Spark executors). A scheme-less URL is a
    ValueError, as in Petastorm. ``hadoop_configuration``, ``connector`` and ``user`` are
    accepted for Petastorm's signature: HDFS namenodes are resolved from the Hadoop XML
    configuration with ``hdfs_driver='libhdfs3'`` by the readers (petastorm.hdfs.namenode).
    """

    def __init__(self, dataset_url, hadoop_configuration=None, connector=None, hdfs_driver='libhdfs3', user=None,
                 storage_options=None):
        self._dataset_url = dataset_url
        self._parsed_dataset_url = urlparse(dataset_url)
        if not self._parsed_dataset_url.scheme:
            raise ValueError('ERROR! A scheme-less dataset url ({}) is no longer supported. '
                             'Please prepend "file://" for local filesystem.'.format(dataset_url))
        self._hdfs_driver = hdfs_driver
        self._storage_options = storage_options
        self._filesystem, self._dataset_path = get_filesystem_and_path_or_paths(
            dataset_url, hdfs_driver=hdfs_driver, storage_options=storage_options)

    def parsed_dataset_url(self):
        return self._parsed_dataset_url

    def get_dataset_path(self):
        return self._dataset_path

    def filesystem(self):
        return self._filesystem

    def filesystem_factory(self):
        return _FilesystemFactory(self._dataset_url, self._hdfs_driver, self._storage_options)

    def __getstate__(self):
        raise RuntimeError('Pickling FilesystemResolver is not supported as it may contain some '
                           'file-system instance objects that do not support pickling but do not have '
                           'anti-pickling protection')


class _FilesystemFactory(object):
    """Makes the filesystem of a URL again, wherever it is unpickled."""

    def __init__(self, dataset_url, hdfs_driver, storage_options):
        self._args = (dataset_url, hdfs_driver, storage_options)

    def __call__(self):
        url, hdfs_driver, storage_options = self._args
        return get_filesystem_and_path_or_paths(url, hdfs_driver=hdfs_driver, storage_options=storage_options)[0]
