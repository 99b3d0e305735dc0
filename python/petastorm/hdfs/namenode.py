"""HDFS namenode resolution and connection (Petastorm's petastorm.hdfs.namenode).

Resolves ``hdfs://`` URLs to namenode addresses from the Hadoop configuration (HA nameservices,
``fs.defaultFS``) and connects with :class:`pyarrow.fs.HadoopFileSystem`, failing over between
the namenodes of a nameservice. pyarrow is imported only when connecting.

Where the Hadoop configuration is read from, when none is passed: the first of these environment
variables that is set (and not empty) names it, and its ``hdfs-site.xml`` then ``core-site.xml``
are loaded (a key in both takes core-site's value):

1. ``HADOOP_CONF_DIR``: the directory holding the XML files;
2. ``HADOOP_HOME``, 3. ``HADOOP_PREFIX``, 4. ``HADOOP_INSTALL`` (Petastorm's order): a Hadoop
   installation, whose files are in ``<dir>/etc/hadoop``.

``HADOOP_CONF_DIR`` comes first because Hadoop's own scripts use it over
``$HADOOP_HOME/etc/hadoop``; Petastorm read only the other three.
"""
import logging
import os
from urllib.parse import urlparse, urlunparse
from xml.etree import ElementTree as ET

logger = logging.getLogger(__name__)

#: Environment variables naming the Hadoop configuration, in the order they are looked at, each
#: with the sub-directory of its value that holds ``hdfs-site.xml`` and ``core-site.xml``.
HADOOP_CONFIGURATION_ENV_VARS = (('HADOOP_CONF_DIR', ''),
                                 ('HADOOP_HOME', os.path.join('etc', 'hadoop')),
                                 ('HADOOP_PREFIX', os.path.join('etc', 'hadoop')),
                                 ('HADOOP_INSTALL', os.path.join('etc', 'hadoop')))

#: The namenode RPC port used when an address names none (Hadoop's default).
DEFAULT_NAMENODE_PORT = 8020

#: How many times a failed HDFS call fails over to the next namenode and is retried: a call is
#: made at most ``MAX_FAILOVER_ATTEMPTS + 1`` times.
MAX_FAILOVER_ATTEMPTS = 3

HDFS_SETUP_HELP = """\
Petastorm reads HDFS through pyarrow.fs.HadoopFileSystem, which loads libhdfs (the JNI client
that ships with Hadoop) and a Java VM when it connects. Every process that reads HDFS (Spark
executors too) needs in its environment:
  1. A Java runtime, with JAVA_HOME set to its installation directory (libjvm.so is looked up
     under $JAVA_HOME/lib/server or $JAVA_HOME/jre/lib/amd64/server).
  2. A Hadoop distribution, with HADOOP_HOME set to it: libhdfs.so is loaded from
     $HADOOP_HOME/lib/native, or from the directory ARROW_LIBHDFS_DIR names when it is elsewhere.
  3. CLASSPATH holding the Hadoop jars (pyarrow does not infer it):
       export CLASSPATH="$("$HADOOP_HOME/bin/hdfs" classpath --glob)"
  4. The cluster's configuration: HADOOP_CONF_DIR set to the directory with core-site.xml and
     hdfs-site.xml (default $HADOOP_HOME/etc/hadoop) before CLASSPATH is computed, as the
     classpath includes it; petastorm reads it too to resolve HA nameservices.
A failed load of libhdfs or libjvm is remembered by pyarrow for the life of the process:
restart Python after fixing the environment.
See https://arrow.apache.org/docs/python/filesystems.html#hadoop-distributed-file-system-hdfs"""


class HdfsNamenodeResolver(object):
    """Resolves HDFS namenodes, of the default filesystem or of an HA nameservice, from a Hadoop
    configuration."""

    def __init__(self, hadoop_configuration=None):
        """
        :param hadoop_configuration: the Hadoop configuration: any object with ``get(key)``
            returning a property's value or None (a dict, or Spark's
            ``sc._jsc.hadoopConfiguration()``). When None, it is read from the XML files named
            by the environment (see the module's documentation); a named file that does not
            exist raises IOError, one that cannot be parsed is logged and skipped, and no
            variable set leaves an empty configuration (with a warning).
        """
        self._hadoop_env = None
        self._hadoop_path = None
        self._configuration_supplied = hadoop_configuration is not None
        if hadoop_configuration is None:
            hadoop_configuration = {}
            for env, sub_directory in HADOOP_CONFIGURATION_ENV_VARS:
                if os.environ.get(env):
                    self._hadoop_env = env
                    self._hadoop_path = os.environ[env]
                    directory = os.path.join(self._hadoop_path, sub_directory)
                    for name in ('hdfs-site.xml', 'core-site.xml'):
                        self._load_site_xml_into_dict(os.path.join(directory, name), hadoop_configuration)
                    break
            else:
                logger.warning('Unable to find a Hadoop configuration for namenode resolution: none of the '
                               'environment variables %s is set. Set HADOOP_CONF_DIR to the directory holding '
                               'core-site.xml and hdfs-site.xml, or HADOOP_HOME to your Hadoop installation.',
                               ', '.join(env for env, _ in HADOOP_CONFIGURATION_ENV_VARS))
        self._hadoop_configuration = hadoop_configuration

    def _load_site_xml_into_dict(self, xml_path, in_dict):
        """Adds the ``<property>`` name/value pairs of the Hadoop site file `xml_path` to `in_dict`."""
        if not os.path.isfile(xml_path):
            raise FileNotFoundError('Hadoop configuration file {} does not exist (looked for through environment '
                                    'variable {}={}). Please check your Hadoop configuration!'
                                    .format(xml_path, self._hadoop_env, self._hadoop_path))
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as e:
            logger.error('Unable to parse the Hadoop configuration file %s: %s', xml_path, e)
            return
        for prop in root.iter('property'):
            name = prop.findtext('name')
            if name and name.strip():
                in_dict[name.strip()] = (prop.findtext('value') or '').strip()

    def _build_error_string(self, msg):
        """`msg` (ending in 'from') completed with where the configuration came from."""
        if self._hadoop_path is not None:
            return '{} the Hadoop configuration at {} (environment variable {})!\nPlease check your Hadoop ' \
                   'configuration!'.format(msg, self._hadoop_path, self._hadoop_env)
        if self._configuration_supplied:
            return msg + ' the supplied Hadoop configuration'
        return '{} the Hadoop configuration: none was found (none of the environment variables {} is set)' \
            .format(msg, ', '.join(env for env, _ in HADOOP_CONFIGURATION_ENV_VARS))

    def resolve_hdfs_name_service(self, namespace):
        """The namenode RPC addresses (``'host:port'`` strings, in the configured order) of the HA
        nameservice `namespace`: ``dfs.namenode.rpc-address.<namespace>.<nn>`` for each ``<nn>``
        listed in ``dfs.ha.namenodes.<namespace>``.

        :return: the list of addresses; None when ``dfs.ha.namenodes.<namespace>`` is not set (the
            name may be a plain host name; that is not an error)
        :raises RuntimeError: a listed namenode has no ``dfs.namenode.rpc-address`` property
        """
        namenodes = self._hadoop_configuration.get('dfs.ha.namenodes.' + namespace)
        if not namenodes:
            return None
        list_of_namenodes = []
        for nn in str(namenodes).split(','):
            nn = nn.strip()
            if not nn:
                continue
            prop_key = 'dfs.namenode.rpc-address.{}.{}'.format(namespace, nn)
            address = self._hadoop_configuration.get(prop_key)
            if not address:
                raise RuntimeError(self._build_error_string('Failed to get property "{}" from'.format(prop_key)))
            list_of_namenodes.append(str(address).strip())
        return list_of_namenodes

    def resolve_default_hdfs_service(self):
        """The nameservice of ``fs.defaultFS`` (``hdfs://<nameservice>``) and its namenodes.

        :return: a tuple ``(nameservice, list of namenode 'host:port' addresses)``
        :raises RuntimeError: ``fs.defaultFS`` is not set, or a namenode of its nameservice has no
            RPC address
        :raises IOError: ``fs.defaultFS`` does not name an HA nameservice of the configuration
            (e.g. it names a single namenode ``hdfs://host:port``, as in Petastorm)
        """
        default_fs = self._hadoop_configuration.get('fs.defaultFS')
        if not default_fs:
            raise RuntimeError(self._build_error_string('Failed to get property "fs.defaultFS" from'))
        nameservice = urlparse(str(default_fs)).netloc
        list_of_namenodes = self.resolve_hdfs_name_service(nameservice)
        if list_of_namenodes is None:
            raise IOError(self._build_error_string('Unable to get namenodes for default service "{}" from'
                                                   .format(default_fs)))
        return nameservice, list_of_namenodes


class HdfsConnectError(IOError):
    """No connection to HDFS could be made; the message says why and what HDFS access needs."""

    def __init__(self, message, reason=None):
        super(HdfsConnectError, self).__init__(message)
        #: the cause in one short line, without the setup help (None when not known)
        self.reason = reason


class MaxFailoversExceeded(RuntimeError):
    """An HDFS call failed on every namenode tried, `max_failover_attempts` failovers included."""

    def __init__(self, failed_exceptions, max_failover_attempts, func_name):
        self.failed_exceptions = failed_exceptions
        self.max_failover_attempts = max_failover_attempts
        self.func_name = func_name
        self.__name__ = func_name
        message = 'Failover attempts exceeded maximum ({}) for action "{}". Exceptions:\n{}'.format(
            max_failover_attempts, func_name, failed_exceptions)
        super(MaxFailoversExceeded, self).__init__(message)


class namenode_failover(object):
    """Decorator of a method of a client object (:class:`HAHdfsClient`) that has ``_do_connect()``:
    when the call raises OSError (pyarrow's IO errors, e.g. a StandbyException from a standby
    namenode), the client reconnects to its next namenode and the call is retried, up to
    ``MAX_FAILOVER_ATTEMPTS`` failovers; then :class:`MaxFailoversExceeded` is raised, holding the
    errors. Other exceptions, and an :class:`HdfsConnectError` of the reconnection, propagate."""

    #: failovers allowed per call (the module's ``MAX_FAILOVER_ATTEMPTS``)
    MAX_FAILOVER_ATTEMPTS = MAX_FAILOVER_ATTEMPTS

    def __init__(self, func):
        self._func = func
        self.__name__ = getattr(func, '__name__', 'call')
        self.__doc__ = getattr(func, '__doc__', None)

    def __get__(self, obj, obj_type=None):
        """Binds the decorated method to `obj`."""
        if obj is None:
            return self
        return lambda *args, **kwargs: self(obj, *args, **kwargs)

    def __call__(self, obj, *args, **kwargs):
        """Calls the function with `obj`, failing over as described; returns its result."""
        failures = []
        while True:
            try:
                return self._func(obj, *args, **kwargs)
            except OSError as e:
                failures.append(e)
                if len(failures) > self.MAX_FAILOVER_ATTEMPTS:
                    raise MaxFailoversExceeded(failures, self.MAX_FAILOVER_ATTEMPTS, self.__name__) from e
                logger.debug('HDFS call %s failed (%s); failing over to the next namenode', self.__name__, e)
                obj._do_connect()


class HAHdfsClient(object):
    """A high-availability HDFS client: a connection to one namenode of a list, whose public
    attributes are those of the connected filesystem (a :class:`pyarrow.fs.HadoopFileSystem`:
    ``get_file_info``, ``open_input_file``, ...), each method call failing over to the next
    namenode on an IO error (:class:`namenode_failover`). Pickles as its namenodes, reconnecting
    when unpickled.

    Petastorm's subclassed the legacy ``pyarrow.hdfs.HadoopFileSystem``, which pyarrow no longer
    has; this one delegates instead, so it is not a ``pyarrow.fs.FileSystem`` itself.
    """

    def __init__(self, connector_cls, list_of_namenodes, user=None):
        """Connects to the first namenode of `list_of_namenodes` that accepts the connection.

        :param connector_cls: the :class:`HdfsConnector` (sub)class that connects
        :param list_of_namenodes: the namenode ``'host:port'`` addresses to fail over between
        :param user: the HDFS user name; None for the login user
        :raises HdfsConnectError: no namenode could be connected to
        """
        self._connector_cls = connector_cls
        self._list_of_namenodes = list_of_namenodes
        self._user = user
        # -1 so that the first connection attempt starts with the first namenode
        self._index_of_nn = -1
        self._hdfs = None
        self._do_connect()

    def __reduce__(self):
        """Pickled as its connector, namenodes and user."""
        return self.__class__, (self._connector_cls, self._list_of_namenodes, self._user)

    def _do_connect(self):
        """Connects to the namenode after the current one (wrapping around), keeping its index and
        the connection."""
        self._index_of_nn, self._hdfs = self._connector_cls._try_next_namenode(
            self._index_of_nn, self._list_of_namenodes, user=self._user)

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        attribute = getattr(self._hdfs, name)
        if not callable(attribute):
            return attribute

        def call(client, *args, **kwargs):
            # Looked up again on each attempt: a failover replaces the connection.
            return getattr(client._hdfs, name)(*args, **kwargs)
        call.__name__ = name
        return namenode_failover(call).__get__(self)


def _error_summary(error, max_lines=4):
    """The first lines of `error`'s message (pyarrow's libjvm errors list every path tried)."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    summary = '\n'.join(lines[:max_lines])
    if len(lines) > max_lines:
        summary += '\n... ({} more lines)'.format(len(lines) - max_lines)
    return summary


class HdfsConnector(object):
    """Connects to HDFS namenodes with pyarrow; the failover logic lives here (subclass it to mock
    the connection in tests)."""

    #: Petastorm's limit on the namenodes of a list; kept for compatibility but not enforced
    #: (Hadoop 3 allows more than two namenodes per nameservice).
    MAX_NAMENODES = 2

    @classmethod
    def hdfs_connect_namenode(cls, url, driver='libhdfs3', user=None):
        """Connects to the namenode of `url` with ``pyarrow.fs.HadoopFileSystem(host, port, user=user)``.

        :param url: the parsed (``urlparse``) or string ``hdfs://host[:port]/...`` URL; no host
            connects to ``'default'`` (libhdfs then uses ``fs.defaultFS`` of the configuration on
            the CLASSPATH), no port to 8020
        :param driver: Petastorm's driver name ('libhdfs3' or 'libhdfs'); ignored, pyarrow has only
            the JNI libhdfs driver
        :param user: the HDFS user name; None for the login user
        :return: the connected ``pyarrow.fs.HadoopFileSystem``
        :raises HdfsConnectError: pyarrow could not connect (e.g. libhdfs, Java or the CLASSPATH
            is missing); the message holds pyarrow's error and :data:`HDFS_SETUP_HELP`
        """
        if isinstance(url, str):
            url = urlparse(url)
        host = url.hostname or 'default'
        port = url.port or DEFAULT_NAMENODE_PORT
        try:
            from pyarrow.fs import HadoopFileSystem
        except ImportError as e:
            reason = 'pyarrow.fs.HadoopFileSystem is not available in this pyarrow build: {}'.format(e)
            raise HdfsConnectError('{}\n\n{}'.format(reason, HDFS_SETUP_HELP), reason) from e
        try:
            return HadoopFileSystem(host, port, user=user)
        except OSError as e:
            reason = 'Unable to connect to HDFS namenode {}:{}{} with pyarrow.fs.HadoopFileSystem: {}'.format(
                host, port, '' if user is None else ' as user {}'.format(user), _error_summary(e))
            raise HdfsConnectError('{}\n\n{}'.format(reason, HDFS_SETUP_HELP), reason) from e

    @classmethod
    def connect_to_either_namenode(cls, list_of_namenodes, user=None):
        """An :class:`HAHdfsClient` connected to the first of `list_of_namenodes` that accepts,
        failing over between them afterwards.

        :param list_of_namenodes: the namenode ``'host:port'`` addresses
        :param user: the HDFS user name; None for the login user
        :raises HdfsConnectError: no namenode could be connected to
        """
        if list_of_namenodes is None:
            raise ValueError('Must supply a list of namenodes')
        return HAHdfsClient(cls, list_of_namenodes, user=user)

    @classmethod
    def _try_next_namenode(cls, index_of_nn, list_of_namenodes, user=None):
        """Connects to the namenodes after index `index_of_nn`, in turn and wrapping around, each
        tried once; returns ``(index, connection)`` of the first that accepts.

        :raises HdfsConnectError: none accepted (or the list is empty)
        """
        failures = []
        count = len(list_of_namenodes)
        for i in range(1, count + 1):
            idx = (index_of_nn + i) % count
            host = list_of_namenodes[idx]
            try:
                return idx, cls.hdfs_connect_namenode(urlparse('hdfs://' + str(host or 'default')), user=user)
            except OSError as e:
                # Expected when the namenode is not the active one; the next one is tried.
                logger.debug('Attempted to connect to namenode %s but failed: %s', host, e)
                reason = getattr(e, 'reason', None) or _error_summary(e)
                failures.append('{}: {}'.format(host or 'default', reason.replace('\n', '\n    ')))
        if failures:
            reason = 'Unable to connect to HDFS cluster! Tried namenodes:\n  ' + '\n  '.join(failures)
        else:
            reason = 'Unable to connect to HDFS cluster! No namenode was given.'
        raise HdfsConnectError('{}\n\n{}'.format(reason, HDFS_SETUP_HELP), reason)


def _with_netloc(parsed_url, netloc):
    """`parsed_url` as a string with its network location replaced by `netloc`, any user name of
    it kept."""
    user_info = parsed_url.netloc.rpartition('@')[0]
    if user_info:
        netloc = user_info + '@' + netloc
    return urlunparse(parsed_url._replace(netloc=netloc))


def resolve_hdfs_url(url, hdfs_driver='libhdfs3', hadoop_configuration=None):
    """The candidate URLs to connect to for the ``hdfs://`` URL `url`, in the order to try them,
    resolved as Petastorm's ``FilesystemResolver`` does with the 'libhdfs3' driver:

    - ``hdfs:///path`` (no host): the namenodes of the HA nameservice of ``fs.defaultFS``, as
      ``hdfs://host:port/path``; when ``fs.defaultFS`` names a host that is not a nameservice
      (``hdfs://host:port``), that URL with its host (Petastorm raised IOError here);
    - ``hdfs://<nameservice>[:port]/path``: the nameservice's namenodes as above;
    - ``hdfs://host:port/path`` or any host that is not a configured nameservice: ``[url]``.

    Path, query and fragment are kept. With another `hdfs_driver` ('libhdfs') nothing is
    resolved and ``[url]`` is returned: libhdfs resolves nameservices itself from the
    configuration on its CLASSPATH. Only the configuration is read; nothing connects.

    :param url: an ``hdfs://`` URL string
    :param hdfs_driver: Petastorm's driver name; 'libhdfs3' resolves namenodes here
    :param hadoop_configuration: as for :class:`HdfsNamenodeResolver` (None: from the environment)
    :return: a non-empty list of URL strings
    :raises ValueError: `url` is not an ``hdfs://`` URL
    :raises RuntimeError, IOError: as :meth:`HdfsNamenodeResolver.resolve_default_hdfs_service`
        for ``hdfs:///`` URLs, or a nameservice is incompletely configured
    """
    parsed = urlparse(url)
    if parsed.scheme != 'hdfs':
        raise ValueError('Expected an hdfs:// URL, got {!r}'.format(url))
    if hdfs_driver != 'libhdfs3':
        return [url]
    resolver = HdfsNamenodeResolver(hadoop_configuration)
    if parsed.netloc:
        # The part before any port, with its case kept (hostname would lowercase it); a port
        # given with a nameservice (Databricks style URLs) is ignored.
        nameservice = parsed.netloc.rpartition('@')[2].split(':')[0]
        namenodes = resolver.resolve_hdfs_name_service(nameservice)
        if not namenodes:
            return [url]
    else:
        default_fs = resolver._hadoop_configuration.get('fs.defaultFS')
        default_url = urlparse(str(default_fs)) if default_fs else None
        if default_url is not None and default_url.scheme == 'hdfs' and default_url.netloc:
            namenodes = resolver.resolve_hdfs_name_service(default_url.netloc.split(':')[0])
            if not namenodes:
                # A single, non-HA namenode as the default filesystem.
                return [_with_netloc(parsed, default_url.netloc)]
        else:
            # Raises Petastorm's errors: no fs.defaultFS, or not an hdfs:// one.
            _, namenodes = resolver.resolve_default_hdfs_service()
    return [_with_netloc(parsed, namenode) for namenode in namenodes]
