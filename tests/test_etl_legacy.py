"""petastorm.etl.legacy: pickled Unischemas of original Petastorm read without executing the
pickle, and written so that original Petastorm 0.13.1 (in .venv-ref, when present) loads them."""
import io
import json
import pickle
import pickletools
import subprocess
import textwrap
import warnings
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm.codecs import (CompressedImageCodec, CompressedNdarrayCodec, DataframeColumnCodec, NdarrayCodec,
                              ScalarCodec)
from petastorm.etl.legacy import ALLOWED_GLOBALS, PickledObject, dumps_unischema, loads_unischema, restricted_loads
from petastorm.unischema import Unischema, UnischemaField

REPO = Path(__file__).resolve().parents[1]
UNISCHEMA_KEY = b'dataset-toolkit.unischema.v1'
ROWGROUPS_INDEX_KEY = b'dataset-toolkit.rowgroups_index.v1'


def _first_existing(paths):
    return next((p for p in paths if p.exists()), None)


LEGACY_ROOT = _first_existing([REPO.parent / 'shared' / 'data' / 'petastorm-legacy',
                               Path('/work/shared/data/petastorm-legacy')])
REF_PYTHON = _first_existing([REPO / '.venv-ref' / 'bin' / 'python', Path('/work/main/.venv-ref/bin/python')])

needs_legacy = pytest.mark.skipif(LEGACY_ROOT is None, reason='the legacy datasets (shared/data/petastorm-legacy) '
                                                              'are not present')
needs_ref = pytest.mark.skipif(REF_PYTHON is None, reason='original Petastorm 0.13.1 is not installed '
                                                          '(/work/main/.venv-ref/bin/python does not exist)')


def _legacy_metadata(version, key=UNISCHEMA_KEY):
    return pq.read_metadata(str(LEGACY_ROOT / version / '_common_metadata')).metadata[key]


def _field_tuples(schema):
    return [(f.name, f.numpy_dtype, tuple(f.shape), f.nullable) for f in schema.fields.values()]


def _codec_key(codec):
    """What identifies a codec of ours: class and state (ScalarCodec: its Arrow type)."""
    if codec is None:
        return None
    if isinstance(codec, ScalarCodec):
        return ('ScalarCodec', str(codec.arrow_type()))
    if isinstance(codec, CompressedImageCodec):
        return ('CompressedImageCodec', codec.image_codec, codec.params()['quality'])
    return (type(codec).__name__,)


def _assert_same_schema(actual, expected):
    assert actual._name == expected._name
    assert list(actual.fields) == list(expected.fields)
    assert _field_tuples(actual) == _field_tuples(expected)
    for a, e in zip(actual.fields.values(), expected.fields.values()):
        assert type(a.codec) is type(e.codec), a.name
        assert str(a.codec) == str(e.codec), a.name


# --------------------------------------------------------------------------------------------
# The legacy datasets
# --------------------------------------------------------------------------------------------

_PNG = ('CompressedImageCodec', 'png', 80)
_NDARRAY = ('NdarrayCodec',)


def _expected_legacy_fields(version):
    """(name, numpy type, shape, codec key, nullable) of the test schema each release wrote, in the
    pickled (alphabetical) order."""
    fields = [
        ('decimal', Decimal, (), ('ScalarCodec', 'decimal128(10, 9)'), False),
        ('empty_matrix_string', np.bytes_, (None,), _NDARRAY, False),
        ('id', np.int64, (), ('ScalarCodec', 'int64'), False),
        ('id2', np.int32, (), ('ScalarCodec', 'int16'), False),
        ('id_float', np.float64, (), ('ScalarCodec', 'double'), False),
        ('id_odd', np.bool_, (), ('ScalarCodec', 'bool'), False),
        ('image_png', np.uint8, (32, 16, 3), _PNG, False),
        ('matrix', np.float32, (32, 16, 3), _NDARRAY, False),
        ('matrix_nullable', np.uint16, (32, 16, 3), _NDARRAY, True),
        ('matrix_string', np.bytes_, (None, None) if version == '0.7.0' else (None,), _NDARRAY, False),
        ('matrix_uint16', np.uint16, (32, 16, 3), _NDARRAY, False),
        ('partition_key', np.str_, (), ('ScalarCodec', 'string'), False),
        ('python_primitive_uint8', np.uint8, (), ('ScalarCodec', 'int16'), False),
        ('sensor_name', np.str_, (1,), _NDARRAY, False),
        ('string_array_nullable', np.str_, (None,), _NDARRAY, True),
    ]
    if version == '0.4.0':  # id_float and id_odd came later
        fields = [f for f in fields if f[0] not in ('id_float', 'id_odd')]
    return fields


@needs_legacy
@pytest.mark.parametrize('version', ['0.4.0', '0.5.1', '0.7.0'])
def test_legacy_unischema_loads(version):
    data = _legacy_metadata(version)
    assert data.startswith(b'ccopy_reg\n_reconstructor\n')  # a Python 2, protocol 0 pickle
    schema = loads_unischema(data)
    assert isinstance(schema, Unischema)
    assert schema._name == 'TestSchema'
    actual = [(f.name, f.numpy_dtype, f.shape, _codec_key(f.codec), f.nullable) for f in schema.fields.values()]
    assert actual == _expected_legacy_fields(version)
    for f in schema.fields.values():
        assert type(f) is UnischemaField
        assert type(f.nullable) is bool
    assert schema.id2 is schema.fields['id2']
    assert schema.decimal.codec.arrow_type() == pa.decimal128(10, 9)
    assert str(schema.id2.codec) == 'ScalarCodec(ShortType())'
    assert str(schema.image_png.codec) == "CompressedImageCodec('png', 80)"
    # the np1 / py2 names unicode_ and string_ became the types numpy 2 has
    assert schema.partition_key.numpy_dtype is np.str_ and schema.matrix_string.numpy_dtype is np.bytes_


@needs_legacy
@pytest.mark.parametrize('version', ['0.4.0', '0.5.1', '0.7.0'])
def test_legacy_rowgroup_index_loads_with_numpy_scalars(version):
    index = restricted_loads(_legacy_metadata(version, ROWGROUPS_INDEX_KEY))
    assert {'id', 'sensor_name', 'string_array_nullable'} <= set(index)
    by_id = index['id']
    assert isinstance(by_id, PickledObject)
    assert by_id.global_name == 'petastorm.etl.rowgroup_indexers.SingleFieldIndexer'
    state = by_id.state_dict()
    assert state['_column_name'] == 'id' and state['_index_name'] == 'id'
    keys = sorted(state['_index_data'])
    assert keys == list(range(100)) and all(type(k) is np.int64 for k in keys)
    assert state['_index_data'][np.int64(42)] == {4}
    sensor = index['sensor_name'].state_dict()['_index_data']
    assert dict(sensor) == {'test_sensor': set(range(10))}
    assert type(next(iter(sensor))) is np.str_


@needs_legacy
@pytest.mark.parametrize('version', ['0.4.0', '0.7.0'])
def test_legacy_unischema_round_trips_through_our_writer(version):
    schema = loads_unischema(_legacy_metadata(version))
    _assert_same_schema(loads_unischema(dumps_unischema(schema)), schema)


# --------------------------------------------------------------------------------------------
# Nothing in a pickle runs
# --------------------------------------------------------------------------------------------

class _Call(object):
    """Pickles as a call of module.name(argument), as an attacker would write it."""

    def __init__(self, module, name, argument):
        self.module, self.name, self.argument = module, name, argument

    def __reduce__(self):
        import importlib
        return getattr(importlib.import_module(self.module), self.name), (self.argument,)


def _attack(module, name, protocol, marker):
    """A pickle calling module.name with an argument that would create the file `marker`:
    written by hand at protocol 0, by pickle.dumps otherwise."""
    if name in ('eval', 'exec'):
        argument = "open({!r}, 'w').close()".format(str(marker))
    elif module == 'subprocess':
        argument = ['touch', str(marker)]
    else:
        argument = 'touch {}'.format(marker)
    if protocol == 0:
        return 'c{}\n{}\n(V{}\ntR.'.format(module, name, argument).encode()
    return pickle.dumps(_Call(module, name, argument), protocol=protocol)


@pytest.mark.parametrize('module,name,protocol', [
    ('os', 'system', 0), ('posix', 'system', 2), ('builtins', 'eval', 0), ('builtins', 'exec', 4),
    ('__builtin__', 'eval', 0), ('subprocess', 'Popen', 4), ('subprocess', 'check_call', 5),
    ('numpy.testing._private.utils', 'os', 0), ('pyspark.sql.types', 'eval', 0), ('petastorm.codecs', 'os', 0),
])
def test_forbidden_globals_raise_naming_the_global_and_nothing_runs(tmp_path, module, name, protocol):
    marker = tmp_path / 'pwned'
    data = _attack(module, name, protocol, marker)
    with pytest.raises(pickle.UnpicklingError, match=r"^global '{}\.{}' is forbidden$".format(module, name)):
        restricted_loads(data)
    with pytest.raises(pickle.UnpicklingError, match="global '{}.{}' is forbidden".format(module, name)):
        loads_unischema(data)
    assert not marker.exists()


@pytest.mark.parametrize('module,name,protocol', [('os', 'system', 0), ('__builtin__', 'eval', 0),
                                                  ('builtins', 'exec', 4)])
def test_the_attack_pickles_do_run_under_plain_pickle(tmp_path, module, name, protocol):
    """Control for the test above: unrestricted, the same bytes create the file."""
    marker = tmp_path / 'pwned'
    pickle.loads(_attack(module, name, protocol, marker))
    assert marker.exists()


@needs_legacy
def test_global_planted_in_a_legacy_pickle_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    legacy = _legacy_metadata('0.7.0')
    # 1. a call run before the schema is built: os.system('touch ...'), POP, then the real pickle
    planted = "cos\nsystem\n(S'touch {}'\ntR0".format(marker).encode() + legacy
    with pytest.raises(pickle.UnpicklingError, match="global 'os.system' is forbidden"):
        loads_unischema(planted)
    # 2. an allowed global swapped for another in place
    swapped = legacy.replace(b'cnumpy\nuint16\n', b'cposix\nsystem\n')
    assert swapped != legacy
    with pytest.raises(pickle.UnpicklingError, match="global 'posix.system' is forbidden"):
        loads_unischema(swapped)
    # 3. a codec class of the user's own package
    user_codec = legacy.replace(b'cpetastorm.codecs\nNdarrayCodec\n', b'cmy_package.codecs\nMyCodec\n')
    with pytest.raises(pickle.UnpicklingError, match="global 'my_package.codecs.MyCodec' is forbidden"):
        loads_unischema(user_codec)
    assert not marker.exists()
    assert loads_unischema(legacy)._name == 'TestSchema'  # the untouched pickle still loads


def test_old_package_names_load_as_petastorm_classes():
    data = (b"ccopy_reg\n_reconstructor\n(cav.ml.dataset_toolkit.codecs\nNdarrayCodec\nc__builtin__\nobject\nNtR.")
    codec = restricted_loads(data)
    assert type(codec) is ALLOWED_GLOBALS[('petastorm.codecs', 'NdarrayCodec')]
    assert ALLOWED_GLOBALS[('av.experimental.deepdrive.dataset_toolkit.unischema', 'Unischema')] is \
        ALLOWED_GLOBALS[('petastorm.unischema', 'Unischema')]


@pytest.mark.parametrize('data,message', [
    (b'P0\n.', 'persistent id'),
    (b'\x80\x05\x97.', 'out-of-band'),
    # copyreg._reconstructor of a class that is no placeholder
    (b'ccopy_reg\n_reconstructor\n(ccollections\nOrderedDict\nc__builtin__\nobject\nNtR.', '_reconstructor'),
    (b'ccopy_reg\n_reconstructor\n(cpetastorm.codecs\nNdarrayCodec\nc__builtin__\nlist\n(ltR.', '_reconstructor'),
    # numpy scalars of object or structured dtypes
    (b'cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n(VO8\nI00\nI01\ntR(I3\nV|\nNNNI-1\nI-1\nI63\ntbNtR.',
     "numpy dtype 'O8' is forbidden"),
    (b'cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n(VV4\nI00\nI01\ntRC\x04\x00\x00\x00\x00tR.',
     "numpy dtype 'V4' is forbidden"),
    # a namedtuple other than UnischemaField through pyspark's _restore
    (b"cpyspark.serializers\n_restore\n(VRow\n(Va\ntp0\n(I1\nttR.", "namedtuple 'Row'"),
    # numpy arrays are not allow-listed (only scalars)
    (b'cnumpy.core.multiarray\n_reconstruct\n.', "global 'numpy.core.multiarray._reconstruct' is forbidden"),
    # a BUILD on an allow-listed function (would change it for every later load)
    (b'ccopy_reg\n_reconstructor\n(dp0\nVx\nI1\nsb.', 'BUILD on _reconstructor is forbidden'),
])
def test_other_ways_to_run_code_are_refused(data, message):
    with pytest.raises(pickle.UnpicklingError, match=message):
        restricted_loads(data)


def test_allowed_replaces_the_allow_list():
    data = pickle.dumps(OrderedDict(a=1), protocol=2)
    assert restricted_loads(data) == OrderedDict(a=1)
    with pytest.raises(pickle.UnpicklingError, match="global 'collections.OrderedDict' is forbidden"):
        restricted_loads(data, allowed={})
    assert restricted_loads(data, allowed={('collections', 'OrderedDict'): dict}) == {'a': 1}


def test_numpy_scalars_rebuild_from_their_bytes():
    values = [np.int64(-5), np.uint8(200), np.float32(1.5), np.bool_(True), np.str_('ab'), np.bytes_(b'xyz'),
              np.datetime64('2020-01-01T00:00:00.000000001'), np.timedelta64(3, 's'), np.complex64(1 + 2j)]
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        loaded = restricted_loads(pickle.dumps(values, protocol=protocol))
        assert [type(v) for v in loaded] == [type(v) for v in values]
        assert loaded == values
        assert loaded[6].dtype == np.dtype('M8[ns]')
    big_endian = restricted_loads(pickle.dumps(np.array([7], dtype='>i4')[0]))
    assert big_endian == 7


def test_loads_unischema_wants_a_unischema():
    with pytest.raises(ValueError, match='not a Petastorm Unischema'):
        loads_unischema(pickle.dumps([1, 2]))


# --------------------------------------------------------------------------------------------
# Round trips through our writer
# --------------------------------------------------------------------------------------------

def _full_schema():
    return Unischema('FullSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(pa.int32()), False),
        UnischemaField('short', np.int16, (), ScalarCodec(pa.int16()), True),
        UnischemaField('long', np.int64, (), ScalarCodec(pa.int64()), False),
        UnischemaField('byte', np.int8, (), ScalarCodec(pa.int8()), False),
        UnischemaField('float', np.float32, (), ScalarCodec(pa.float32()), False),
        UnischemaField('double', np.float64, (), ScalarCodec(pa.float64()), True),
        UnischemaField('flag', np.bool_, (), ScalarCodec(pa.bool_()), False),
        UnischemaField('text', np.str_, (), ScalarCodec(pa.string()), True),
        UnischemaField('blob', np.bytes_, (), ScalarCodec(pa.binary()), False),
        UnischemaField('decimal', Decimal, (), ScalarCodec(pa.decimal128(10, 9)), False),
        UnischemaField('when', np.datetime64, (), ScalarCodec(pa.timestamp('us', tz='UTC')), True),
        UnischemaField('day', np.datetime64, (), ScalarCodec(pa.date32()), False),
        UnischemaField('matrix', np.float32, (32, 16, 3), NdarrayCodec(), False),
        UnischemaField('ragged', np.uint16, (None, 3, None), CompressedNdarrayCodec(), True),
        UnischemaField('strings', np.str_, (None,), NdarrayCodec(), True),
        UnischemaField('png', np.uint8, (32, 16, 3), CompressedImageCodec('png'), False),
        UnischemaField('jpeg', np.uint8, (None, None, 3), CompressedImageCodec('jpeg', 55), False),
        UnischemaField('no_codec', np.int32, (), None, True),
        UnischemaField('no_codec_decimal', Decimal, (), None, False),
        UnischemaField('fields', np.uint32, (), None, False),  # not an attribute: Unischema.fields exists
    ])


def _make_full_schema():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # "Can not create dynamic property fields"
        return _full_schema()


def test_round_trip_keeps_every_field_and_codec():
    schema = _make_full_schema()
    data = dumps_unischema(schema)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loaded = loads_unischema(data)
    _assert_same_schema(loaded, schema)
    for a, e in zip(loaded.fields.values(), schema.fields.values()):
        assert _codec_key(a.codec) == _codec_key(e.codec), a.name
    assert loaded.fields['ragged'].shape == (None, 3, None) and loaded.fields['ragged'].nullable is True


def test_writer_is_deterministic_protocol_4_and_valid():
    schema = _make_full_schema()
    data = dumps_unischema(schema)
    assert data == dumps_unischema(_make_full_schema())
    assert data[:2] == b'\x80\x04' and data.endswith(b'.')
    opcodes = [op.name for op, _, _ in pickletools.genops(data)]
    assert 'STACK_GLOBAL' in opcodes and 'NEWOBJ' in opcodes
    pickletools.dis(data, out=io.StringIO())  # well formed
    globals_ = {arg for op, arg, _ in pickletools.genops(data) if op.name == 'SHORT_BINUNICODE'}
    assert {'petastorm.unischema', 'UnischemaField', 'collections', 'OrderedDict', 'pyspark.sql.types',
            'DecimalType', 'numpy', 'bool_'} <= globals_
    assert 'bool' not in globals_  # numpy 1.x has no numpy.bool


def _big_schema():
    """300 fields (memo indexes past 255), a 300-character name, sizes past 2**16 and 2**31."""
    fields = [UnischemaField('f{}'.format(i), np.float64, (i, None), NdarrayCodec(), bool(i % 2)) for i in range(300)]
    fields.append(UnischemaField('n' * 300, np.int64, (70000, 2 ** 33), CompressedNdarrayCodec(), False))
    return Unischema('Big', fields)


def test_big_schema_round_trips():
    schema = _big_schema()
    data = dumps_unischema(schema)
    assert {op.name for op, _, _ in pickletools.genops(data)} >= {'LONG_BINGET', 'BINUNICODE', 'BININT', 'LONG1'}
    _assert_same_schema(loads_unischema(data), schema)


def test_any_timestamp_is_written_as_timestamp_type():
    schema = Unischema('T', [UnischemaField('t', np.datetime64, (), ScalarCodec(pa.timestamp('ns')), False)])
    loaded = loads_unischema(dumps_unischema(schema))
    assert str(loaded.t.codec) == 'ScalarCodec(TimestampType())'
    assert loaded.t.codec.arrow_type() == pa.timestamp('us', tz='UTC')  # what Spark's TimestampType is here


class _UserCodec(DataframeColumnCodec):
    def encode(self, unischema_field, value):
        return bytes(value)

    def decode(self, unischema_field, value):
        return value


class _MyNdarrayCodec(NdarrayCodec):
    pass


@pytest.mark.parametrize('field,message', [
    (UnischemaField('custom', np.uint8, (None,), _UserCodec(), False), r"'custom'.*_UserCodec"),
    (UnischemaField('sub', np.uint8, (None,), _MyNdarrayCodec(), False), r"'sub'.*_MyNdarrayCodec"),
    (UnischemaField('clock', np.int32, (), ScalarCodec(pa.time32('s')), False), r"'clock'.*time32"),
    (UnischemaField('big', Decimal, (), ScalarCodec(pa.decimal256(50, 2)), False), r"'big'.*decimal256"),
    (UnischemaField('py', str, (), None, False), r"'py'.*numpy_dtype"),
])
def test_writer_refuses_what_petastorm_could_not_load(field, message):
    with pytest.raises(ValueError, match=message):
        dumps_unischema(Unischema('S', [field]))


def test_writer_widens_types_spark_has_not():
    schema = Unischema('S', [UnischemaField('small', np.uint8, (), ScalarCodec(pa.uint8()), False)])
    loaded = loads_unischema(dumps_unischema(schema))
    assert loaded.fields['small'].codec.arrow_type() == pa.int16()  # ShortType, as Spark stores it


# --------------------------------------------------------------------------------------------
# Original Petastorm 0.13.1 (in .venv-ref)
# --------------------------------------------------------------------------------------------

_DESCRIBE = textwrap.dedent('''
    import json, pickle, sys
    import pyspark.sql.types
    import petastorm.unischema

    def describe_codec(codec):
        if codec is None:
            return None
        state = dict(codec.__dict__)
        if '_spark_type' in state:
            spark_type = state['_spark_type']
            assert isinstance(spark_type, pyspark.sql.types.DataType), spark_type
            state['_spark_type'] = [type(spark_type).__module__, type(spark_type).__name__,
                                    sorted(spark_type.__dict__.items())]
        return [type(codec).__module__, type(codec).__name__, str(codec), sorted(state.items())]

    def describe(schema):
        assert type(schema) is petastorm.unischema.Unischema
        fields = []
        for key, f in schema.fields.items():
            assert key == f.name and type(f) is petastorm.unischema.UnischemaField, type(f)
            fields.append([f.name, f.numpy_dtype.__name__, list(f.shape), describe_codec(f.codec), f.nullable])
        rebuilt = petastorm.unischema.Unischema(schema._name, list(schema.fields.values()))
        return {'name': schema._name, 'fields': fields, 'attributes': sorted(schema.__dict__),
                'attributes_of_rebuilt': sorted(rebuilt.__dict__)}
''')


def _run_ref(code, *args):
    """Runs `code` (a str, or a tuple of str each dedented alone) after _DESCRIBE in .venv-ref's
    Python with `args` as sys.argv[1:]; returns the JSON its last output line holds."""
    chunks = code if isinstance(code, tuple) else (code,)
    program = _DESCRIBE + ''.join(textwrap.dedent(chunk) for chunk in chunks)
    result = subprocess.run([str(REF_PYTHON), '-c', program] + [str(a) for a in args],
                            capture_output=True, text=True, timeout=300, cwd='/')
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


_ARROW_TO_SPARK = {'int8': 'ByteType', 'int16': 'ShortType', 'int32': 'IntegerType', 'int64': 'LongType',
                   'float': 'FloatType', 'double': 'DoubleType', 'bool': 'BooleanType', 'string': 'StringType',
                   'binary': 'BinaryType', 'date32[day]': 'DateType', 'timestamp[us, tz=UTC]': 'TimestampType'}


def _petastorm_codec(codec):
    """How original Petastorm describes (see _DESCRIBE) the codec that ours stands for."""
    if codec is None:
        return None
    if isinstance(codec, ScalarCodec):
        t = codec.arrow_type()
        if pa.types.is_decimal(t):
            spark = ['pyspark.sql.types', 'DecimalType',
                     [['hasPrecisionInfo', True], ['precision', t.precision], ['scale', t.scale]]]
        else:
            spark = ['pyspark.sql.types', _ARROW_TO_SPARK[str(t)], []]
        return ['petastorm.codecs', 'ScalarCodec', 'ScalarCodec({}())'.format(spark[1]), [['_spark_type', spark]]]
    state = []
    if isinstance(codec, CompressedImageCodec):
        state = [['_image_codec', '.' + codec.image_codec], ['_quality', codec.params()['quality']]]
    return ['petastorm.codecs', type(codec).__name__, str(codec), state]


def _petastorm_description(schema):
    """The description original Petastorm gives of the schema that ours stands for."""
    def type_name(t):
        return 'Decimal' if t is Decimal else {'bool': 'bool_'}.get(t.__name__, t.__name__)
    return {'name': schema._name,
            'fields': [[f.name, type_name(f.numpy_dtype), list(f.shape), _petastorm_codec(f.codec), f.nullable]
                       for f in schema.fields.values()]}


@needs_ref
def test_original_petastorm_loads_our_pickle(tmp_path):
    schema = _make_full_schema()
    path = tmp_path / 'schema.pkl'
    path.write_bytes(dumps_unischema(schema))
    described = _run_ref('''
        import warnings
        warnings.simplefilter('ignore')
        from petastorm.etl.legacy import depickle_legacy_package_name_compatible
        schema = depickle_legacy_package_name_compatible(open(sys.argv[1], 'rb').read())
        d = describe(schema)
        d['spark_schema'] = [[f.name, f.dataType.simpleString(), f.nullable] for f in
                             petastorm.unischema.Unischema(schema._name, [
                                 f for f in schema.fields.values() if f.codec is not None or f.name == 'no_codec'
                             ]).as_spark_schema()]
        print(json.dumps(d))
    ''', path)
    expected = _petastorm_description(schema)
    assert described['name'] == expected['name']
    for actual, wanted in zip(described['fields'], expected['fields']):
        assert actual == wanted
    assert len(described['fields']) == len(expected['fields'])
    # the same attributes a Unischema built by Petastorm from these fields has ('fields' is none)
    assert described['attributes'] == described['attributes_of_rebuilt']
    assert 'fields' not in described['attributes'] and 'id' in described['attributes']
    spark = {name: (t, nullable) for name, t, nullable in described['spark_schema']}
    assert spark['id'] == ('int', False) and spark['decimal'] == ('decimal(10,9)', False)
    assert spark['when'] == ('timestamp', True) and spark['jpeg'] == ('binary', False)
    assert spark['no_codec'] == ('int', True) and len(spark) == len(schema.fields) - 2


@needs_ref
def test_original_petastorm_loads_a_big_schema(tmp_path):
    path = tmp_path / 'big.pkl'
    path.write_bytes(dumps_unischema(_big_schema()))
    described = _run_ref('''
        from petastorm.etl.legacy import depickle_legacy_package_name_compatible
        print(json.dumps(describe(depickle_legacy_package_name_compatible(open(sys.argv[1], 'rb').read()))))
    ''', path)
    expected = _petastorm_description(_big_schema())
    assert described['fields'] == expected['fields']
    assert described['attributes'] == described['attributes_of_rebuilt'] and len(described['attributes']) == 303


_ORIGINAL_SCHEMA = '''
    import warnings
    warnings.simplefilter('ignore')
    from decimal import Decimal
    import numpy as np
    from pyspark.sql import types as T
    from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    schema = Unischema('OriginalSchema', [
        UnischemaField('id', np.int64, (), ScalarCodec(T.LongType()), False),
        UnischemaField('id2', np.int32, (), ScalarCodec(T.ShortType()), False),
        UnischemaField('i', np.int32, (), ScalarCodec(T.IntegerType()), True),
        UnischemaField('b', np.int8, (), ScalarCodec(T.ByteType()), False),
        UnischemaField('f', np.float32, (), ScalarCodec(T.FloatType()), False),
        UnischemaField('d', np.float64, (), ScalarCodec(T.DoubleType()), False),
        UnischemaField('flag', np.bool_, (), ScalarCodec(T.BooleanType()), False),
        UnischemaField('s', np.str_, (), ScalarCodec(T.StringType()), True),
        UnischemaField('bin', np.bytes_, (), ScalarCodec(T.BinaryType()), False),
        UnischemaField('dec', Decimal, (), ScalarCodec(T.DecimalType(10, 9)), False),
        UnischemaField('ts', np.datetime64, (), ScalarCodec(T.TimestampType()), False),
        UnischemaField('day', np.datetime64, (), ScalarCodec(T.DateType()), False),
        UnischemaField('matrix', np.float32, (32, 16, 3), NdarrayCodec(), False),
        UnischemaField('ragged', np.uint16, (None, 3), CompressedNdarrayCodec(), True),
        UnischemaField('png', np.uint8, (32, 16, 3), CompressedImageCodec('png'), False),
        UnischemaField('jpeg', np.uint8, (None, None, 3), CompressedImageCodec('jpeg', 42), False),
        UnischemaField('strings', np.unicode_, (None,), NdarrayCodec(), True),
        UnischemaField('raw', np.string_, (None, 2), None, False),
        UnischemaField('fields', np.uint8, (), None, False),
    ])
'''


@needs_ref
def test_our_loader_reads_what_original_petastorm_pickles(tmp_path):
    """Protocols 0..5 of a schema built by original Petastorm with its own classes."""
    described = _run_ref((_ORIGINAL_SCHEMA, '''
        out = sys.argv[1]
        for protocol in range(6):
            open('{}/schema{}.pkl'.format(out, protocol), 'wb').write(pickle.dumps(schema, protocol=protocol))
        print(json.dumps(describe(schema)))
    '''), tmp_path)
    assert len(described['fields']) == 19
    for protocol in range(6):
        data = (tmp_path / 'schema{}.pkl'.format(protocol)).read_bytes()
        assert data.startswith(b'\x80' + bytes([protocol])) if protocol >= 2 else not data.startswith(b'\x80')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            schema = loads_unischema(data)
        ours = _petastorm_description(schema)
        assert ours['name'] == described['name'] == 'OriginalSchema'
        assert ours['fields'] == described['fields'], protocol
        assert schema.fields['id2'].codec.arrow_type() == pa.int16()
        assert schema.fields['dec'].codec.arrow_type() == pa.decimal128(10, 9)
        assert schema.fields['strings'].numpy_dtype is np.str_ and schema.fields['raw'].numpy_dtype is np.bytes_
        assert schema.fields['raw'].codec is None and schema.fields['raw'].shape == (None, 2)
        # and back: our pickle of what we loaded is what Petastorm pickled, as far as Petastorm can tell
        if protocol == 4:
            (tmp_path / 'ours.pkl').write_bytes(dumps_unischema(schema))
    again = _run_ref('''
        from petastorm.etl.legacy import depickle_legacy_package_name_compatible
        print(json.dumps(describe(depickle_legacy_package_name_compatible(open(sys.argv[1], 'rb').read()))))
    ''', tmp_path / 'ours.pkl')
    assert again == described


@needs_ref
def test_numpy_scalars_pickled_by_numpy_1_load(tmp_path):
    """Row-group index values: numpy scalars pickled by numpy 1.26 (numpy.core.multiarray.scalar)."""
    _run_ref('''
        import numpy as np
        values = [np.int64(-5), np.uint16(7), np.float64(2.5), np.bool_(False), np.str_('sensor'),
                  np.bytes_(b'ab'), np.datetime64('2021-02-03T04:05:06', 's')]
        for protocol in range(6):
            open('{}/values{}.pkl'.format(sys.argv[1], protocol), 'wb').write(pickle.dumps(values, protocol))
        print('{}')
    ''', tmp_path)
    expected = [np.int64(-5), np.uint16(7), np.float64(2.5), np.bool_(False), np.str_('sensor'), np.bytes_(b'ab'),
                np.datetime64('2021-02-03T04:05:06', 's')]
    for protocol in range(6):
        data = (tmp_path / 'values{}.pkl'.format(protocol)).read_bytes()
        assert b'numpy.core.multiarray' in data
        loaded = restricted_loads(data)
        assert loaded == expected and [type(v) for v in loaded] == [type(v) for v in expected]
