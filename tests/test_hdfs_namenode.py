"""petastorm.hdfs.namenode: namenode resolution from Hadoop configuration (mocked, files in temp
directories, environment set with monkeypatch), resolve_hdfs_url, connection failover with mock
connectors, and the error of a real pyarrow.fs.HadoopFileSystem connection without libhdfs."""
import ctypes.util
import logging
import os
import pickle
import textwrap
from urllib.parse import urlparse

import pytest

from petastorm.hdfs.namenode import (HDFS_SETUP_HELP, MAX_FAILOVER_ATTEMPTS, HAHdfsClient, HdfsConnectError,
                                     HdfsConnector, HdfsNamenodeResolver, MaxFailoversExceeded,
                                     namenode_failover, resolve_hdfs_url)

WARP_TURTLE = 'WARP-TURTLE'
FS_WARP_TURTLE = 'hdfs://{}'.format(WARP_TURTLE)
DEFAULT_NN = 'default:8020'
NN1 = 'some.domain.name.net:8020'
NN2 = 'some.other.domain.name.net:8020'
OTHER_NS = 'OtherService'
OTHER_NN = 'other.namenode.net:9000'
ENV_VARS = ('HADOOP_CONF_DIR', 'HADOOP_HOME', 'HADOOP_PREFIX', 'HADOOP_INSTALL')


class MockHadoopConfiguration(object):
    """Like Spark's jvm hadoopConfiguration: get(key) is the value or None."""

    def __init__(self):
        self._dict = {}

    def get(self, key):
        return self._dict.get(key)

    def set(self, key, val):
        self._dict[key] = val


@pytest.fixture(autouse=True)
def no_hadoop_env(monkeypatch):
    """No Hadoop configuration variables from the machine running the tests."""
    for env in ENV_VARS:
        monkeypatch.delenv(env, raising=False)


def _site_xml(properties):
    body = ''.join('  <property>\n    <name>{}</name>\n    <value>{}</value>\n  </property>\n'.format(k, v)
                   for k, v in properties)
    return ('<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>\n'
            '<configuration>\n' + body + '</configuration>\n')


def _write_hadoop_home(home, nameservice, namenodes):
    """A Hadoop installation directory whose etc/hadoop has fs.defaultFS = hdfs://<nameservice>
    with namenodes nn2,nn1 (in that order) and a badly defined nameservice 'foobar'."""
    conf = home / 'etc' / 'hadoop'
    conf.mkdir(parents=True)
    (conf / 'core-site.xml').write_text(_site_xml([('fs.defaultFS', 'hdfs://' + nameservice)]))
    nn_names = ['nn{}'.format(i + 1) for i in range(len(namenodes))]
    hdfs = [('dfs.ha.namenodes.' + nameservice, ','.join(reversed(nn_names)))]
    hdfs += [('dfs.namenode.rpc-address.{}.{}'.format(nameservice, name), address)
             for name, address in zip(nn_names, namenodes)]
    hdfs += [('dfs.ha.namenodes.foobar', 'nn')]
    (conf / 'hdfs-site.xml').write_text(_site_xml(hdfs))
    return str(home)


@pytest.fixture
def hadoop_home(tmp_path):
    """Hadoop installation with the WARP-TURTLE nameservice (namenodes NN2, NN1)."""
    return _write_hadoop_home(tmp_path / 'hadoop', WARP_TURTLE, [NN1, NN2])


@pytest.fixture
def other_hadoop_home(tmp_path):
    """Hadoop installation with the OtherService nameservice (one namenode)."""
    return _write_hadoop_home(tmp_path / 'other', OTHER_NS, [OTHER_NN])


@pytest.fixture
def config():
    return MockHadoopConfiguration()


def _ha_config(config, nameservice=WARP_TURTLE, namenodes=(('nn1', NN1), ('nn2', NN2))):
    config.set('fs.defaultFS', 'hdfs://' + nameservice)
    config.set('dfs.ha.namenodes.' + nameservice, ','.join(name for name, _ in namenodes))
    for name, address in namenodes:
        config.set('dfs.namenode.rpc-address.{}.{}'.format(nameservice, name), address)
    return config


# ------------------------------------------------------------------------------------------------
# HdfsNamenodeResolver with a supplied configuration

def test_default_hdfs_service_errors(config):
    suj = HdfsNamenodeResolver(config)
    with pytest.raises(RuntimeError, match='Failed to get property "fs.defaultFS" from the supplied Hadoop '
                                           'configuration'):
        suj.resolve_default_hdfs_service()
    for default_fs in ['invalidFS', 'hdfs://random', FS_WARP_TURTLE]:
        config.set('fs.defaultFS', default_fs)
        with pytest.raises(IOError) as e:
            suj.resolve_default_hdfs_service()
        assert 'Unable to get namenodes for default service "{}" from the supplied Hadoop configuration'.format(
            default_fs) == str(e.value)


def test_default_hdfs_service_typical(config):
    suj = HdfsNamenodeResolver(config)
    config.set('fs.defaultFS', FS_WARP_TURTLE)
    config.set('dfs.ha.namenodes.' + WARP_TURTLE, 'nn1')
    config.set('dfs.namenode.rpc-address.{}.nn1'.format(WARP_TURTLE), NN1)
    assert suj.resolve_default_hdfs_service() == (WARP_TURTLE, [NN1])

    # The first listed of two namenodes is undefined
    config.set('dfs.ha.namenodes.' + WARP_TURTLE, 'nn2,nn1')
    with pytest.raises(RuntimeError) as e:
        suj.resolve_default_hdfs_service()
    assert str(e.value) == ('Failed to get property "dfs.namenode.rpc-address.{}.nn2" from the supplied Hadoop '
                            'configuration'.format(WARP_TURTLE))

    # Two defined namenodes, in the listed order
    config.set('dfs.namenode.rpc-address.{}.nn2'.format(WARP_TURTLE), NN2)
    nameservice, namenodes = suj.resolve_default_hdfs_service()
    assert nameservice == WARP_TURTLE
    assert namenodes == [NN2, NN1]


def test_resolve_hdfs_name_service(config):
    assert HdfsNamenodeResolver({}).resolve_hdfs_name_service('') is None
    suj = HdfsNamenodeResolver(config)
    assert suj.resolve_hdfs_name_service('') is None
    assert suj.resolve_hdfs_name_service('some.host.name') is None

    config.set('dfs.ha.namenodes.' + WARP_TURTLE, 'nn1')
    with pytest.raises(RuntimeError, match='rpc-address.WARP-TURTLE.nn1'):
        suj.resolve_hdfs_name_service(WARP_TURTLE)
    config.set('dfs.ha.namenodes.' + WARP_TURTLE, 'nn1,nn2,nn3,nn4,nn5,nn6,nn7,nn8')
    with pytest.raises(RuntimeError):
        suj.resolve_hdfs_name_service(WARP_TURTLE)

    # Spaces and empty entries in the list are ignored; more than two namenodes are kept
    namenodes = [('nn{}'.format(i), 'host{}:8020'.format(i)) for i in range(1, 4)]
    _ha_config(config, namenodes=namenodes)
    config.set('dfs.ha.namenodes.' + WARP_TURTLE, ' nn1, nn2 ,,nn3 ')
    assert suj.resolve_hdfs_name_service(WARP_TURTLE) == ['host1:8020', 'host2:8020', 'host3:8020']


def test_dict_as_hadoop_configuration(hadoop_home, monkeypatch):
    """A dict is a configuration; the environment is not read when one is given."""
    monkeypatch.setenv('HADOOP_HOME', hadoop_home)
    suj = HdfsNamenodeResolver({'fs.defaultFS': 'hdfs://ns',
                                'dfs.ha.namenodes.ns': 'a,b',
                                'dfs.namenode.rpc-address.ns.a': 'a.host:8020',
                                'dfs.namenode.rpc-address.ns.b': 'b.host:8020'})
    assert suj._hadoop_env is None
    assert suj.resolve_default_hdfs_service() == ('ns', ['a.host:8020', 'b.host:8020'])
    assert suj.resolve_hdfs_name_service(WARP_TURTLE) is None


# ------------------------------------------------------------------------------------------------
# HdfsNamenodeResolver from the environment

def _check_env_resolution(expected_env, expected_path):
    suj = HdfsNamenodeResolver()
    assert suj._hadoop_env == expected_env
    assert suj._hadoop_path == expected_path
    nameservice, namenodes = suj.resolve_default_hdfs_service()
    assert nameservice == WARP_TURTLE
    assert namenodes == [NN2, NN1]
    # Badly defined nameservice of the XML
    with pytest.raises(RuntimeError) as e:
        suj.resolve_hdfs_name_service('foobar')
    assert 'Failed to get property "dfs.namenode.rpc-address.foobar.nn" from the Hadoop configuration at {} ' \
           '(environment variable {})'.format(expected_path, expected_env) in str(e.value)
    assert suj.resolve_hdfs_name_service('nonexistent') is None


def test_env_hadoop_home_prefix_install(hadoop_home, monkeypatch):
    monkeypatch.setenv('HADOOP_HOME', hadoop_home)
    monkeypatch.setenv('HADOOP_PREFIX', hadoop_home + '/no/where/here')
    monkeypatch.setenv('HADOOP_INSTALL', hadoop_home + '/no/where/here')
    _check_env_resolution('HADOOP_HOME', hadoop_home)


@pytest.mark.parametrize('env', ['HADOOP_HOME', 'HADOOP_PREFIX', 'HADOOP_INSTALL'])
def test_env_single_installation_variable(env, hadoop_home, monkeypatch):
    monkeypatch.setenv(env, hadoop_home)
    _check_env_resolution(env, hadoop_home)


def test_env_hadoop_conf_dir(hadoop_home, monkeypatch):
    conf_dir = os.path.join(hadoop_home, 'etc', 'hadoop')
    monkeypatch.setenv('HADOOP_CONF_DIR', conf_dir)
    _check_env_resolution('HADOOP_CONF_DIR', conf_dir)


@pytest.mark.parametrize('winner,loser', [('HADOOP_CONF_DIR', 'HADOOP_HOME'),
                                          ('HADOOP_CONF_DIR', 'HADOOP_INSTALL'),
                                          ('HADOOP_HOME', 'HADOOP_PREFIX'),
                                          ('HADOOP_HOME', 'HADOOP_INSTALL'),
                                          ('HADOOP_PREFIX', 'HADOOP_INSTALL')])
def test_env_precedence(winner, loser, hadoop_home, other_hadoop_home, monkeypatch):
    """HADOOP_CONF_DIR, then HADOOP_HOME, HADOOP_PREFIX, HADOOP_INSTALL: the first set is read."""
    def value(env, home):
        return os.path.join(home, 'etc', 'hadoop') if env == 'HADOOP_CONF_DIR' else home
    monkeypatch.setenv(winner, value(winner, other_hadoop_home))
    monkeypatch.setenv(loser, value(loser, hadoop_home))
    suj = HdfsNamenodeResolver()
    assert suj._hadoop_env == winner
    assert suj.resolve_default_hdfs_service() == (OTHER_NS, [OTHER_NN])


def test_env_empty_value_is_skipped(hadoop_home, monkeypatch):
    monkeypatch.setenv('HADOOP_HOME', '')
    monkeypatch.setenv('HADOOP_PREFIX', hadoop_home)
    _check_env_resolution('HADOOP_PREFIX', hadoop_home)


def test_env_bad_hadoop_home_with_hadoop_install(hadoop_home, monkeypatch):
    """The first variable set is used even when its files are missing: IOError naming the file."""
    bad = hadoop_home + '/no/where/here'
    monkeypatch.setenv('HADOOP_HOME', bad)
    monkeypatch.setenv('HADOOP_INSTALL', hadoop_home)
    with pytest.raises(IOError) as e:
        HdfsNamenodeResolver()
    assert isinstance(e.value, FileNotFoundError)
    assert os.path.join(bad, 'etc', 'hadoop', 'hdfs-site.xml') in str(e.value)
    assert 'HADOOP_HOME={}'.format(bad) in str(e.value)


def test_unmatched_env_var(hadoop_home, monkeypatch, caplog):
    monkeypatch.setenv('HADOOP_HOME_X', hadoop_home)
    with caplog.at_level(logging.WARNING, logger='petastorm.hdfs.namenode'):
        suj = HdfsNamenodeResolver()
    assert 'Unable to find a Hadoop configuration' in caplog.text
    assert suj._hadoop_env is None
    with pytest.raises(RuntimeError) as e:
        suj.resolve_default_hdfs_service()
    assert str(e.value) == ('Failed to get property "fs.defaultFS" from the Hadoop configuration: none was found '
                            '(none of the environment variables HADOOP_CONF_DIR, HADOOP_HOME, HADOOP_PREFIX, '
                            'HADOOP_INSTALL is set)')


def test_missing_or_empty_core_site(hadoop_home, monkeypatch, caplog):
    monkeypatch.setenv('HADOOP_HOME', hadoop_home)
    core_site = os.path.join(hadoop_home, 'etc', 'hadoop', 'core-site.xml')
    os.rename(core_site, core_site + '.bak')
    with pytest.raises(IOError, match='core-site.xml does not exist'):
        HdfsNamenodeResolver()
    # An empty (unparsable) file is logged and skipped
    with open(core_site, 'w'):
        pass
    with caplog.at_level(logging.ERROR, logger='petastorm.hdfs.namenode'):
        suj = HdfsNamenodeResolver()
    assert 'Unable to parse the Hadoop configuration file {}'.format(core_site) in caplog.text
    with pytest.raises(RuntimeError, match='Failed to get property "fs.defaultFS"'):
        suj.resolve_default_hdfs_service()
    # hdfs-site.xml was still read
    assert suj.resolve_hdfs_name_service(WARP_TURTLE) == [NN2, NN1]


def test_site_xml_parsing(tmp_path, monkeypatch):
    """Names and values are stripped, a missing value is '', core-site overrides hdfs-site."""
    (tmp_path / 'hdfs-site.xml').write_text(textwrap.dedent("""\
        <configuration>
          <property><name> fs.defaultFS </name><value>hdfs://from-hdfs-site</value></property>
          <property><name>dfs.ha.namenodes.ns</name><value>
              nn1 </value></property>
          <property><name>dfs.namenode.rpc-address.ns.nn1</name><value>h1:8020</value><final>true</final></property>
          <property><name>no.value</name></property>
          <property><value>no name</value></property>
        </configuration>
        """))
    (tmp_path / 'core-site.xml').write_text(_site_xml([('fs.defaultFS', 'hdfs://ns')]))
    monkeypatch.setenv('HADOOP_CONF_DIR', str(tmp_path))
    suj = HdfsNamenodeResolver()
    assert suj._hadoop_configuration == {'fs.defaultFS': 'hdfs://ns', 'dfs.ha.namenodes.ns': 'nn1',
                                         'dfs.namenode.rpc-address.ns.nn1': 'h1:8020', 'no.value': ''}
    assert suj.resolve_default_hdfs_service() == ('ns', ['h1:8020'])


# ------------------------------------------------------------------------------------------------
# resolve_hdfs_url

@pytest.mark.parametrize('url,expected', [
    ('hdfs:///x/y/z', ['hdfs://{}/x/y/z'.format(NN1), 'hdfs://{}/x/y/z'.format(NN2)]),
    ('hdfs://WARP-TURTLE/x/y/z', ['hdfs://{}/x/y/z'.format(NN1), 'hdfs://{}/x/y/z'.format(NN2)]),
    # a port with a nameservice (Databricks style) is ignored
    ('hdfs://WARP-TURTLE:8020/x/y/z', ['hdfs://{}/x/y/z'.format(NN1), 'hdfs://{}/x/y/z'.format(NN2)]),
    ('hdfs://WARP-TURTLE/x?a=1#f', ['hdfs://{}/x?a=1#f'.format(NN1), 'hdfs://{}/x?a=1#f'.format(NN2)]),
    ('hdfs://namenode.host:9000/x/y', ['hdfs://namenode.host:9000/x/y']),
    ('hdfs://namenode.host/x/y', ['hdfs://namenode.host/x/y']),
    ('hdfs://warp-turtle/x', ['hdfs://warp-turtle/x']),  # nameservices are case sensitive
])
def test_resolve_hdfs_url(url, expected, config):
    assert resolve_hdfs_url(url, hadoop_configuration=_ha_config(config)) == expected


def test_resolve_hdfs_url_from_environment(hadoop_home, monkeypatch):
    monkeypatch.setenv('HADOOP_HOME', hadoop_home)
    assert resolve_hdfs_url('hdfs:///data') == ['hdfs://{}/data'.format(NN2), 'hdfs://{}/data'.format(NN1)]
    assert resolve_hdfs_url('hdfs://{}/data'.format(WARP_TURTLE)) == ['hdfs://{}/data'.format(NN2),
                                                                    'hdfs://{}/data'.format(NN1)]
    assert resolve_hdfs_url('hdfs://h:1/data') == ['hdfs://h:1/data']


@pytest.mark.parametrize('default_fs,expected', [('hdfs://single.namenode:9000', 'hdfs://single.namenode:9000/d'),
                                                 ('hdfs://single.namenode', 'hdfs://single.namenode/d')])
def test_resolve_hdfs_url_non_ha_default_fs(default_fs, expected):
    assert resolve_hdfs_url('hdfs:///d', hadoop_configuration={'fs.defaultFS': default_fs}) == [expected]


def test_resolve_hdfs_url_errors(config):
    with pytest.raises(RuntimeError, match='Failed to get property "fs.defaultFS"'):
        resolve_hdfs_url('hdfs:///d', hadoop_configuration=config)
    config.set('fs.defaultFS', 'file:///')
    with pytest.raises(IOError, match='Unable to get namenodes for default service "file:///"'):
        resolve_hdfs_url('hdfs:///d', hadoop_configuration=config)
    config.set('dfs.ha.namenodes.' + WARP_TURTLE, 'nn1')
    with pytest.raises(RuntimeError, match='rpc-address.WARP-TURTLE.nn1'):
        resolve_hdfs_url('hdfs://WARP-TURTLE/d', hadoop_configuration=config)
    with pytest.raises(ValueError, match='Expected an hdfs:// URL'):
        resolve_hdfs_url('file:///tmp/d', hadoop_configuration=config)


def test_resolve_hdfs_url_libhdfs_driver_is_unresolved(config):
    """libhdfs resolves nameservices itself: the URL is returned as is, no configuration read."""
    _ha_config(config)
    for url in ['hdfs:///x', 'hdfs://WARP-TURTLE/x', 'hdfs://h:1/x']:
        assert resolve_hdfs_url(url, hdfs_driver='libhdfs', hadoop_configuration=config) == [url]
    assert resolve_hdfs_url('hdfs:///x', hdfs_driver='libhdfs') == ['hdfs:///x']


# ------------------------------------------------------------------------------------------------
# Connection and failover, mocked

class HdfsMockError(Exception):
    pass


class MockHdfs(object):
    """Every public method fails with an OSError (a StandbyException) for the first n_failovers
    calls, then returns True; n_failovers -1 raises a non-IO error."""

    def __init__(self, n_failovers=0, user=None):
        self._n_failovers = n_failovers
        self._user = user
        self.block_size = 128

    def __getattribute__(self, attr):
        if attr.startswith('_') or attr == 'block_size':
            return object.__getattribute__(self, attr)

        def op(*args, **kwargs):
            return self._check_failovers()
        return op

    def _check_failovers(self):
        if self._n_failovers == -1:
            raise HdfsMockError('Some random HDFS exception!')
        if self._n_failovers > 0:
            self._n_failovers -= 1
            raise OSError('org.apache.hadoop.ipc.RemoteException(org.apache.hadoop.ipc.StandbyException): '
                          'Operation category READ is not supported in state standby. '
                          '{} namenode failover(s) remaining!'.format(self._n_failovers))
        return True


class MockHdfsConnector(HdfsConnector):
    """Counts connection attempts per 'host:port'; fails the next N connects (and always to
    'default'); each connection's MockHdfs fails n_failovers times, one less for each new one."""
    _n_failovers = 0
    _fail_n_next_connect = 0
    _connect_attempted = {}
    _users = []

    @classmethod
    def reset(cls):
        cls._n_failovers = 0
        cls._fail_n_next_connect = 0
        cls._connect_attempted = {}
        cls._users = []

    @classmethod
    def connect_attempted(cls, host):
        return cls._connect_attempted.get(host, 0)

    @classmethod
    def hdfs_connect_namenode(cls, url, driver='libhdfs3', user=None):
        netloc = '{}:{}'.format(url.hostname or 'default', url.port or 8020)
        cls._connect_attempted[netloc] = cls._connect_attempted.get(netloc, 0) + 1
        cls._users.append(user)
        if cls._fail_n_next_connect != 0 or netloc == DEFAULT_NN:
            if cls._fail_n_next_connect != 0:
                cls._fail_n_next_connect -= 1
            raise OSError('ERROR! Mock pyarrow hdfs connect to {}'.format(netloc))
        hdfs = MockHdfs(cls._n_failovers, user=user)
        if cls._n_failovers > 0:
            cls._n_failovers -= 1
        return hdfs


@pytest.fixture
def connector():
    MockHdfsConnector.reset()
    yield MockHdfsConnector
    MockHdfsConnector.reset()


def test_connect_to_either_namenode_ok(connector):
    client = connector.connect_to_either_namenode([NN1, NN2])
    assert isinstance(client, HAHdfsClient)
    assert client._index_of_nn == 0
    assert (connector.connect_attempted(DEFAULT_NN), connector.connect_attempted(NN1),
            connector.connect_attempted(NN2)) == (0, 1, 0)


def test_connect_to_either_namenode_one_failed(connector):
    connector._fail_n_next_connect = 1
    client = connector.connect_to_either_namenode([NN1, NN2])
    assert client._index_of_nn == 1
    assert (connector.connect_attempted(NN1), connector.connect_attempted(NN2)) == (1, 1)


def test_connect_to_either_namenode_two_failed(connector):
    connector._fail_n_next_connect = 2
    with pytest.raises(HdfsConnectError) as e:
        connector.connect_to_either_namenode([NN1, NN2])
    assert (connector.connect_attempted(NN1), connector.connect_attempted(NN2)) == (1, 1)
    message = str(e.value)
    assert message.startswith('Unable to connect to HDFS cluster! Tried namenodes:\n'
                              '  {0}: ERROR! Mock pyarrow hdfs connect to {0}\n'
                              '  {1}: ERROR! Mock pyarrow hdfs connect to {1}\n'.format(NN1, NN2))
    assert message.endswith(HDFS_SETUP_HELP)
    assert e.value.reason == message[:-len(HDFS_SETUP_HELP)].rstrip()


def test_connect_to_either_namenode_four_failed(connector):
    connector._fail_n_next_connect = 4
    for _ in range(2):
        with pytest.raises(HdfsConnectError):
            connector.connect_to_either_namenode([NN1, NN2])
    assert (connector.connect_attempted(DEFAULT_NN), connector.connect_attempted(NN1),
            connector.connect_attempted(NN2)) == (0, 2, 2)


def test_connect_to_more_than_two_namenodes(connector):
    nn3 = 'third.namenode:8020'
    connector._fail_n_next_connect = 2
    client = connector.connect_to_either_namenode([NN1, NN2, nn3])
    assert client._index_of_nn == 2
    assert [connector.connect_attempted(nn) for nn in (NN1, NN2, nn3)] == [1, 1, 1]


def test_connect_user_is_passed(connector):
    client = connector.connect_to_either_namenode([NN1, NN2], user='alice')
    assert client._hdfs._user == 'alice'
    assert connector._users == ['alice']
    with pytest.raises(ValueError, match='Must supply a list of namenodes'):
        connector.connect_to_either_namenode(None)


def test_unhandled_exception(connector):
    """A non-IO error propagates without failover."""
    connector._n_failovers = -1
    with pytest.raises(HdfsMockError, match='random HDFS exception'):
        HAHdfsClient(connector, [NN1]).ls('random')
    assert connector.connect_attempted(NN1) == 1


def test_invalid_namenode_list(connector):
    with pytest.raises(HdfsConnectError) as e:
        HAHdfsClient(connector, [])
    assert 'Unable to connect to HDFS cluster! No namenode was given.' in str(e.value)
    with pytest.raises(HdfsConnectError) as e:
        HAHdfsClient(connector, [None])
    assert 'Unable to connect' in str(e.value)
    assert connector.connect_attempted(DEFAULT_NN) == 1


def test_client_pickles_correctly(connector):
    client = HAHdfsClient(connector, [NN1, NN2], user='bob')
    unpickled = pickle.loads(pickle.dumps(client))
    assert unpickled._connector_cls is client._connector_cls
    assert unpickled._list_of_namenodes == client._list_of_namenodes
    assert unpickled._index_of_nn == client._index_of_nn == 0
    assert unpickled._user == 'bob'
    assert type(unpickled._hdfs) is type(client._hdfs)
    assert connector.connect_attempted(NN1) == 2


@pytest.mark.parametrize('func,args,kwargs', [
    ('get_file_info', ('random',), {}),
    ('open_input_file', ('random',), {}),
    ('open_output_stream', ('random',), {}),
    ('create_dir', ('random',), {'recursive': False}),
    ('delete_dir', ('random',), {}),
    ('delete_file', ('random',), {}),
    ('move', ('random', 'new_random'), {}),
    ('ls', ('random',), {'detail': True}),
])
def test_failover_combos(func, args, kwargs, connector):
    """A call succeeds after up to MAX_FAILOVER_ATTEMPTS failovers, and fails after one more."""
    connector._n_failovers = 1
    assert getattr(HAHdfsClient(connector, [NN1, NN2]), func)(*args, **kwargs) is True

    connector._n_failovers = MAX_FAILOVER_ATTEMPTS
    assert getattr(HAHdfsClient(connector, [NN1, NN2]), func)(*args, **kwargs) is True

    connector._n_failovers = MAX_FAILOVER_ATTEMPTS + 1
    suj = HAHdfsClient(connector, [NN1, NN2])
    with pytest.raises(MaxFailoversExceeded) as e:
        getattr(suj, func)(*args, **kwargs)
    assert len(e.value.failed_exceptions) == MAX_FAILOVER_ATTEMPTS + 1
    assert all(isinstance(f, OSError) for f in e.value.failed_exceptions)
    assert e.value.max_failover_attempts == MAX_FAILOVER_ATTEMPTS
    assert e.value.__name__ == e.value.func_name == func
    assert str(e.value).startswith('Failover attempts exceeded maximum (3) for action "{}". Exceptions:\n'
                                   .format(func))


def test_failover_cycles_namenodes(connector):
    connector._n_failovers = 3
    suj = HAHdfsClient(connector, [NN1, NN2])
    assert suj.get_file_info('x') is True
    # 1 connection, then 3 failovers: NN1, NN2, NN1, NN2
    assert suj._index_of_nn == 1
    assert (connector.connect_attempted(NN1), connector.connect_attempted(NN2)) == (2, 2)


def test_failover_reconnect_failure_propagates(connector):
    connector._n_failovers = 1
    suj = HAHdfsClient(connector, [NN1, NN2])
    connector._fail_n_next_connect = 2
    with pytest.raises(HdfsConnectError, match='Unable to connect to HDFS cluster'):
        suj.get_file_info('x')


def test_client_attributes(connector):
    suj = HAHdfsClient(connector, [NN1])
    assert suj.block_size == 128
    with pytest.raises(AttributeError):
        suj._private_thing


def test_max_failover_attempts():
    assert MAX_FAILOVER_ATTEMPTS == 3
    assert namenode_failover.MAX_FAILOVER_ATTEMPTS == MAX_FAILOVER_ATTEMPTS


class _FlakyClient(object):
    """A client whose decorated fetch() fails `fails` times with an OSError; counts calls and
    reconnections."""

    def __init__(self, fails, error=OSError):
        self.fails = fails
        self.error = error
        self.calls = 0
        self.reconnects = 0

    def _do_connect(self):
        self.reconnects += 1

    @namenode_failover
    def fetch(self, value, scale=1):
        """Fetch the value."""
        self.calls += 1
        if self.calls <= self.fails:
            raise self.error('failure {}'.format(self.calls))
        return value * scale


@pytest.mark.parametrize('fails', [0, 1, MAX_FAILOVER_ATTEMPTS])
def test_namenode_failover_retries(fails):
    client = _FlakyClient(fails)
    assert client.fetch(2, scale=3) == 6
    assert (client.calls, client.reconnects) == (fails + 1, fails)


def test_namenode_failover_gives_up():
    client = _FlakyClient(MAX_FAILOVER_ATTEMPTS + 1)
    with pytest.raises(MaxFailoversExceeded) as e:
        client.fetch(1)
    assert (client.calls, client.reconnects) == (MAX_FAILOVER_ATTEMPTS + 1, MAX_FAILOVER_ATTEMPTS)
    assert [str(f) for f in e.value.failed_exceptions] == ['failure {}'.format(i)
                                                           for i in range(1, MAX_FAILOVER_ATTEMPTS + 2)]
    assert e.value.func_name == 'fetch'
    assert _FlakyClient.fetch.__doc__ == 'Fetch the value.'


def test_namenode_failover_other_errors_propagate():
    client = _FlakyClient(1, error=ValueError)
    with pytest.raises(ValueError, match='failure 1'):
        client.fetch(1)
    assert (client.calls, client.reconnects) == (1, 0)


# ------------------------------------------------------------------------------------------------
# Real pyarrow.fs.HadoopFileSystem: no libhdfs/Java set up on the test machine

def _libhdfs_findable():
    """Whether pyarrow could find a libhdfs.so here (then these tests could reach a cluster)."""
    directories = [os.environ.get('ARROW_LIBHDFS_DIR')]
    if os.environ.get('HADOOP_HOME'):
        directories.append(os.path.join(os.environ['HADOOP_HOME'], 'lib', 'native'))
    return any(d and os.path.isfile(os.path.join(d, 'libhdfs.so')) for d in directories) or \
        ctypes.util.find_library('hdfs') is not None


hdfs_not_set_up = pytest.mark.skipif(_libhdfs_findable(), reason='libhdfs.so is installed: HDFS may be usable here')


@hdfs_not_set_up
@pytest.mark.parametrize('url,netloc', [('hdfs://nn1.example.com:8020/data', 'nn1.example.com:8020'),
                                        ('hdfs://nn1.example.com/data', 'nn1.example.com:8020'),
                                        ('hdfs:///data', 'default:8020')])
def test_connect_without_libhdfs_explains_setup(url, netloc):
    with pytest.raises(HdfsConnectError) as e:
        HdfsConnector.hdfs_connect_namenode(urlparse(url), user='carol')
    message = str(e.value)
    assert message.startswith('Unable to connect to HDFS namenode {} as user carol with '
                              'pyarrow.fs.HadoopFileSystem: '.format(netloc))
    assert message.endswith('\n\n' + HDFS_SETUP_HELP)
    assert isinstance(e.value.__cause__, OSError)
    assert e.value.reason in message
    # pyarrow's long list of library paths tried is cut short
    assert len(e.value.reason.splitlines()) <= 5


@hdfs_not_set_up
def test_connect_to_either_namenode_without_libhdfs():
    with pytest.raises(HdfsConnectError) as e:
        HdfsConnector.connect_to_either_namenode(['nn1.example.com:8020', 'nn2.example.com:8020'])
    message = str(e.value)
    assert message.startswith('Unable to connect to HDFS cluster! Tried namenodes:\n'
                              '  nn1.example.com:8020: Unable to connect to HDFS namenode nn1.example.com:8020 with '
                              'pyarrow.fs.HadoopFileSystem: ')
    assert '\n  nn2.example.com:8020: Unable to connect to HDFS namenode nn2.example.com:8020' in message
    assert message.count(HDFS_SETUP_HELP) == 1
    assert message.endswith(HDFS_SETUP_HELP)


def test_setup_help_names_what_arrow_needs():
    for needed in ['pyarrow.fs.HadoopFileSystem', 'libhdfs', 'JAVA_HOME', 'HADOOP_HOME',
                   '$HADOOP_HOME/lib/native', 'ARROW_LIBHDFS_DIR', 'CLASSPATH',
                   '"$HADOOP_HOME/bin/hdfs" classpath --glob', 'HADOOP_CONF_DIR', 'core-site.xml']:
        assert needed in HDFS_SETUP_HELP
