"""Pickled Unischemas (Petastorm's ``dataset-toolkit.unischema.v1`` metadata), read and written
without executing anything.

Original Petastorm stores a dataset's schema as ``pickle.dumps(schema)`` of its own classes
(``petastorm.unischema.Unischema`` holding ``UnischemaField`` namedtuples, codecs of
``petastorm.codecs``, ``pyspark.sql.types`` instances, numpy scalar types). This module reads
such pickles into this package's classes and writes pickles that original Petastorm 0.13.1
loads into its own classes.

Reading (``restricted_loads``, ``loads_unischema``)
    A ``pickle.Unpickler`` whose ``find_class`` looks every global up in an explicit table of
    (module, name) pairs, ``ALLOWED_GLOBALS``, and never imports a module: a global that is not
    in the table raises ``pickle.UnpicklingError("global 'module.name' is forbidden")``, before
    anything is called. Persistent ids and out-of-band buffers are refused too. The table maps

    - Petastorm's classes (``petastorm.unischema.{Unischema, UnischemaField}``,
      ``petastorm.codecs.{NdarrayCodec, CompressedNdarrayCodec, CompressedImageCodec,
      ScalarCodec}``, ``petastorm.etl.rowgroup_indexers.{SingleFieldIndexer,
      FieldNotNullIndexer}``, the same under the old package names
      ``av.experimental.deepdrive.dataset_toolkit`` and ``av.ml.dataset_toolkit``) and the
      ``pyspark.sql.types`` scalar types (``ByteType`` .. ``DecimalType``) onto inert
      placeholders, subclasses of ``PickledObject``: making one only records its arguments, and
      BUILD only records the state. pyspark is never imported.
    - numpy scalar *type objects* (``numpy.int32``, ``numpy.str_``, ...; numpy 1 / Python 2
      names such as ``unicode_``, ``string_``, ``bool8``, ``float_`` onto ``np.str_``,
      ``np.bytes_``, ``np.bool_``, ``np.float64``), ``decimal.Decimal``,
      ``collections.{OrderedDict, defaultdict}``, ``builtins``/``__builtin__``
      ``{object, tuple, list, dict, set, frozenset}`` onto themselves: creating any of them runs
      no code that the pickle supplies.
    - ``copy_reg._reconstructor`` / ``copyreg._reconstructor``, ``pyspark.serializers._restore``
      (how Spark-era Petastorm pickled UnischemaField), ``_codecs.encode`` (how Python 3 writes
      bytes at protocols 0 and 1), ``numpy.dtype`` and ``numpy.core.multiarray.scalar`` /
      ``numpy._core.multiarray.scalar`` onto small functions of this module that accept only
      what those pickles contain: placeholders, latin-1 text, plain (non-object, unstructured)
      numpy dtypes; a numpy scalar is rebuilt with ``np.frombuffer``.

    A Python 2 ``str`` (protocol 0-2 pickles of Python 2 Petastorm) is decoded as latin-1, so
    the raw bytes of numpy scalars survive. ``loads_unischema`` then converts the placeholder
    graph into ``petastorm.unischema.Unischema``
    (field order: the pickled ``_fields`` order). A codec class that is not allow-listed (a
    user's own codec) fails at loading with the error naming its global.

Writing (``dumps_unischema``)
    Emits the protocol-4 opcodes of the object graph Petastorm 0.13.1 itself pickles (Unischema
    by NEWOBJ + BUILD of ``{'_name', '_fields': OrderedDict, <field attributes>}``, fields by
    NEWOBJ of their five values, codecs by NEWOBJ + BUILD of their ``__dict__``), by a small
    deterministic writer: no pickling of live objects, so neither pyspark nor original
    Petastorm need be installed here. Spark types are written as calls of their constructors
    (``IntegerType()``, ``DecimalType(10, 9)``), which every pyspark version builds correctly.
    Only the four codec classes above can be written; a field with any other codec is a
    ValueError (Petastorm could not import that codec safely).
"""
import io
import pickle
import re
import struct
from collections import OrderedDict, defaultdict
from decimal import Decimal
from types import MappingProxyType

import numpy as np
import pyarrow as pa

from petastorm.codecs import (CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec,
                              SPARK_TO_ARROW, spark_type_call_of)
from petastorm.unischema import Unischema, UnischemaField

__all__ = ['ALLOWED_GLOBALS', 'PickledObject', 'RestrictedUnpickler', 'restricted_loads',
           'depickle_legacy_package_name_compatible', 'loads_unischema', 'dumps_unischema']


# --- Placeholders ---------------------------------------------------------------------------

class PickledObject(object):
    """An inert stand-in for an allow-listed class of a pickle.

    ``global_name`` (class attribute) is the class it stands for ('petastorm.codecs.ScalarCodec');
    ``args`` the arguments it was created with (NEWOBJ, REDUCE, copyreg._reconstructor);
    ``state`` what BUILD gave it (None when nothing). Nothing else happens on creation.
    """
    global_name = None

    def __new__(cls, *args):
        obj = object.__new__(cls)
        obj.args = args
        obj.state = None
        return obj

    def __init__(self, *args):
        pass

    def __setstate__(self, state):
        self.state = state

    def state_dict(self):
        """The BUILD state as a dict ({} for none); ValueError if it is not a dict."""
        state = self.state
        if isinstance(state, tuple) and len(state) == 2 and state[0] is None:
            state = state[1]  # (no __dict__ state, slot state)
        if state is None:
            return {}
        if not isinstance(state, dict):
            raise ValueError('{}: expected a dict as pickled state, got {}'.format(
                self.global_name, type(state).__name__))
        return state

    def __repr__(self):
        return 'PickledObject({}, args={!r}, state={!r})'.format(self.global_name, self.args, self.state)


def _placeholder_class(global_name):
    name = global_name.rsplit('.', 1)[1]
    return type(name, (PickledObject,), {'global_name': global_name, '__module__': __name__})


_PETASTORM_CLASSES = {
    'unischema': ['Unischema', 'UnischemaField'],
    'codecs': ['NdarrayCodec', 'CompressedNdarrayCodec', 'CompressedImageCodec', 'ScalarCodec'],
    'etl.rowgroup_indexers': ['SingleFieldIndexer', 'FieldNotNullIndexer'],
}
_LEGACY_PACKAGES = ['av.experimental.deepdrive.dataset_toolkit', 'av.ml.dataset_toolkit']

_PLACEHOLDERS = {'petastorm.{}.{}'.format(module, name): _placeholder_class('petastorm.{}.{}'.format(module, name))
                 for module, names in _PETASTORM_CLASSES.items() for name in names}

_SPARK_TYPE_NAMES = ['ByteType', 'ShortType', 'IntegerType', 'LongType', 'FloatType', 'DoubleType',
                     'BooleanType', 'StringType', 'BinaryType', 'DateType', 'TimestampType',
                     'TimestampNTZType', 'DecimalType']
_SPARK_PLACEHOLDERS = {name: _placeholder_class('pyspark.sql.types.' + name) for name in _SPARK_TYPE_NAMES}

_UnischemaStub = _PLACEHOLDERS['petastorm.unischema.Unischema']
_FieldStub = _PLACEHOLDERS['petastorm.unischema.UnischemaField']


class PickledDtype(PickledObject):
    """A numpy dtype as pickled (``numpy.dtype(spec, align, copy)`` + BUILD of its state tuple);
    ``to_numpy()`` makes the real dtype from it."""
    global_name = 'numpy.dtype'

    def to_numpy(self):
        """The numpy dtype; UnpicklingError for structured, sub-array or object dtypes."""
        spec = self.args[0]
        state = self.state if self.state is not None else (3, '|', None, None, None, -1, -1, 0)
        if not isinstance(state, tuple) or len(state) < 8:
            raise pickle.UnpicklingError('numpy dtype {!r}: unexpected pickled state {!r}'.format(spec, state))
        byte_order, subarray, names, fields, item_size = state[1:6]
        if subarray is not None or names is not None or fields is not None:
            raise pickle.UnpicklingError('numpy dtype {!r}: structured and sub-array dtypes are forbidden'
                                         .format(spec))
        if byte_order not in ('<', '>', '|', '='):
            raise pickle.UnpicklingError('numpy dtype {!r}: bad byte order {!r}'.format(spec, byte_order))
        text = (byte_order if byte_order in '<>' else '') + spec
        if spec[0] in 'Mm':
            text += _datetime_unit_suffix(spec, state[8] if len(state) > 8 else None)
        dtype = np.dtype(text)
        if isinstance(item_size, int) and item_size > 0 and dtype.itemsize != item_size:
            raise pickle.UnpicklingError('numpy dtype {!r}: item size {} != pickled {}'.format(
                spec, dtype.itemsize, item_size))
        return dtype


def _datetime_unit_suffix(spec, metadata):
    """'[ns]' etc. for a pickled datetime64 / timedelta64 dtype's metadata: numpy 1.x pickles
    ``({}, (unit, num, den, events))``, numpy 2.x ``(None, (...))``, older ones the inner tuple."""
    if isinstance(metadata, tuple) and len(metadata) == 2 and \
            (metadata[0] is None or isinstance(metadata[0], dict)):
        metadata = metadata[1]
    if metadata is None:
        return ''
    if not (isinstance(metadata, tuple) and len(metadata) >= 2 and isinstance(metadata[1], int)):
        raise pickle.UnpicklingError('numpy dtype {!r}: unexpected datetime metadata {!r}'.format(spec, metadata))
    unit = metadata[0].decode('ascii') if isinstance(metadata[0], bytes) else metadata[0]
    if not (isinstance(unit, str) and re.fullmatch(r'[a-zA-Z]+', unit)):
        raise pickle.UnpicklingError('numpy dtype {!r}: bad datetime unit {!r}'.format(spec, unit))
    return '[{}{}]'.format('' if metadata[1] == 1 else metadata[1], unit)


# --- The functions the allow-list maps globals onto -------------------------------------------

def _reconstructor(cls, base, state):
    """copyreg._reconstructor for placeholders only: ``(cls, object, None)`` or, for a
    namedtuple such as UnischemaField, ``(cls, tuple, values)``."""
    if not (isinstance(cls, type) and issubclass(cls, PickledObject)):
        raise pickle.UnpicklingError('copyreg._reconstructor of {!r} is forbidden'.format(cls))
    if base is object and state is None:
        return cls.__new__(cls)
    if base is tuple and isinstance(state, (tuple, list)):
        return cls.__new__(cls, *state)
    raise pickle.UnpicklingError('copyreg._reconstructor({}, {!r}, ...) is forbidden'.format(
        cls.global_name, base))


_FIELD_NAMES = ('name', 'numpy_dtype', 'shape', 'codec', 'nullable')


def _pyspark_restore(name, fields, values):
    """pyspark.serializers._restore (Spark's pickling of namedtuples) for UnischemaField only."""
    fields = tuple(fields)
    if name != 'UnischemaField' or not set(_FIELD_NAMES[:3]) <= set(fields) <= set(_FIELD_NAMES) \
            or len(fields) != len(values):
        raise pickle.UnpicklingError('pyspark.serializers._restore of namedtuple {!r} {!r} is forbidden'
                                     .format(name, fields))
    by_name = dict(zip(fields, values))
    return _FieldStub(*(by_name.get(f) for f in _FIELD_NAMES[:4]), by_name.get('nullable', False))


def _codecs_encode(text, encoding='utf-8'):
    """_codecs.encode as Python 3 uses it to pickle bytes at protocols 0 and 1: latin-1 text only."""
    if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError('_codecs.encode({!r}, {!r}) is forbidden'.format(
            type(text).__name__, encoding))
    return text.encode('latin1')


_PLAIN_DTYPE = r'b1|[iu][1248]|f(2|4|8|16)|c(8|16|32)|[SU]\d{1,9}|[Mm]8'


def _numpy_dtype(spec, align=False, copy=False):
    """numpy.dtype as pickled: a plain numeric, bool, string or datetime type name ('i8', 'U11',
    'M8'); object ('O'), void and structured dtypes are refused."""
    if not (isinstance(spec, str) and re.fullmatch(_PLAIN_DTYPE, spec)):
        raise pickle.UnpicklingError('numpy dtype {!r} is forbidden (only plain non-object dtypes load)'
                                     .format(spec))
    return PickledDtype(spec)


def _numpy_scalar(dtype, data=None):
    """numpy.core.multiarray.scalar: a numpy scalar from its raw bytes, by np.frombuffer."""
    if not isinstance(dtype, PickledDtype):
        raise pickle.UnpicklingError('numpy scalar of {!r} is forbidden'.format(dtype))
    real = dtype.to_numpy()
    if isinstance(data, str):  # a Python 2 str, decoded as latin-1 by the unpickler
        data = data.encode('latin1')
    if not isinstance(data, bytes) or len(data) != real.itemsize:
        raise pickle.UnpicklingError('numpy scalar of dtype {}: expected {} bytes of data, got {!r}'.format(
            real, real.itemsize, type(data).__name__))
    if real.itemsize == 0:  # b'' or '' (dtype S0 / U0)
        return real.type()
    return np.frombuffer(data, dtype=real)[0]


# --- The allow-list -------------------------------------------------------------------------

class _SafeFunction(object):
    """An allow-listed function as the unpickler sees it: callable (REDUCE), but a BUILD on it
    (which would set attributes of the shared function object) is refused."""
    __slots__ = ('_function',)

    def __init__(self, function):
        self._function = function

    def __call__(self, *args):
        return self._function(*args)

    def __setstate__(self, state):
        raise pickle.UnpicklingError('BUILD on {} is forbidden'.format(self._function.__name__))

    def __repr__(self):
        return '<allow-listed {}>'.format(self._function.__name__)


_NUMPY_TYPES = {name: getattr(np, name) for name in [
    'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float32',
    'float64', 'complex64', 'complex128', 'bool_', 'str_', 'bytes_', 'object_', 'datetime64', 'timedelta64']}
_NUMPY_TYPES.update({'bool': np.bool_, 'bool8': np.bool_, 'unicode_': np.str_, 'unicode': np.str_,
                     'string_': np.bytes_, 'bytes0': np.bytes_, 'str0': np.str_, 'float_': np.float64,
                     'int_': np.int64, 'complex_': np.complex128, 'object0': np.object_})


def _default_allowed_globals():
    allowed = {}
    for global_name, cls in _PLACEHOLDERS.items():
        module, name = global_name.rsplit('.', 1)
        allowed[(module, name)] = cls
        if not module.startswith('petastorm.etl'):
            for package in _LEGACY_PACKAGES:
                allowed[(package + module[len('petastorm'):], name)] = cls
    for name, cls in _SPARK_PLACEHOLDERS.items():
        allowed[('pyspark.sql.types', name)] = cls
    allowed[('pyspark.serializers', '_restore')] = _SafeFunction(_pyspark_restore)
    for name, t in _NUMPY_TYPES.items():
        allowed[('numpy', name)] = t
    allowed[('numpy', 'dtype')] = _SafeFunction(_numpy_dtype)
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(module, 'scalar')] = _SafeFunction(_numpy_scalar)
    allowed[('decimal', 'Decimal')] = Decimal
    allowed[('collections', 'OrderedDict')] = OrderedDict
    allowed[('collections', 'defaultdict')] = defaultdict
    for module in ('builtins', '__builtin__'):
        for t in (object, tuple, list, dict, set, frozenset):
            allowed[(module, t.__name__)] = t
    for module in ('copyreg', 'copy_reg'):
        allowed[(module, '_reconstructor')] = _SafeFunction(_reconstructor)
    allowed[('_codecs', 'encode')] = _SafeFunction(_codecs_encode)
    return MappingProxyType(allowed)


#: (module, name) -> what that global loads as; everything else is forbidden.
ALLOWED_GLOBALS = _default_allowed_globals()


class RestrictedUnpickler(pickle.Unpickler):
    """Petastorm's safe unpickler of a file object: resolves globals only through `allowed`
    (default ``ALLOWED_GLOBALS``), never imports, refuses persistent ids; ``load()`` as pickle's."""

    def __init__(self, file, allowed=None):
        # latin-1: Python 2 str (field names, numpy scalar bytes) arrives as text, byte for byte.
        super().__init__(file, encoding='latin1')
        self._allowed = ALLOWED_GLOBALS if allowed is None else allowed

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError("global '{}.{}' is forbidden".format(module, name)) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError('persistent id {!r} is forbidden'.format(pid))


def restricted_loads(data: bytes, allowed=None):
    """Unpickles `data` resolving globals only through `allowed`, a mapping
    (module, name) -> object (default ``ALLOWED_GLOBALS``; pass e.g. ``dict(ALLOWED_GLOBALS, ...)``
    to extend it). Any other global raises ``pickle.UnpicklingError("global 'module.name' is
    forbidden")`` before anything is called; so do persistent ids. With the default table the
    result holds ``PickledObject`` placeholders for Petastorm's and Spark's classes."""
    return RestrictedUnpickler(io.BytesIO(bytes(data)), allowed).load()


def depickle_legacy_package_name_compatible(pickled_string):
    """Petastorm's loader of its pickled metadata, of any release (old package names too): a
    pickled Unischema becomes this package's ``Unischema`` (``loads_unischema``), anything else
    what ``restricted_loads`` makes of it."""
    obj = restricted_loads(pickled_string)
    return _unischema_of(obj) if isinstance(obj, _UnischemaStub) else obj


# --- Placeholders -> this package's Unischema -----------------------------------------------

def _field_error(field_name, message):
    return ValueError('Pickled Unischema field {!r}: {}'.format(field_name, message))


def _numpy_dtype_of(field_name, value):
    if value is Decimal or any(value is t for t in _NUMPY_TYPES.values()):
        return value
    if isinstance(value, PickledDtype):
        return value.to_numpy().type
    raise _field_error(field_name, 'numpy_dtype {!r} is not a numpy scalar type or Decimal'.format(value))


def _is_size(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 0


def _shape_of(field_name, value):
    if not isinstance(value, (tuple, list)) or not all(d is None or _is_size(d) for d in value):
        raise _field_error(field_name, 'shape {!r} is not a tuple of sizes and None'.format(value))
    return tuple(None if d is None else int(d) for d in value)


def _arrow_type_of_spark(field_name, spark_type):
    """The pyarrow type of a pickled pyspark type placeholder (as ScalarCodec maps pyspark types)."""
    if type(spark_type) not in _SPARK_PLACEHOLDERS.values():
        raise _field_error(field_name, 'ScalarCodec type {!r} is not a pyspark scalar type'.format(spark_type))
    name = type(spark_type).__name__
    if name == 'DecimalType':
        state = spark_type.state_dict()
        args = spark_type.args
        precision = state.get('precision', args[0] if len(args) > 0 else 10)
        scale = state.get('scale', args[1] if len(args) > 1 else 0)
        if not (_is_size(precision) and _is_size(scale)):
            raise _field_error(field_name, 'bad DecimalType precision/scale {!r}/{!r}'.format(precision, scale))
        return pa.decimal128(int(precision), int(scale))
    return SPARK_TO_ARROW[name]


def _codec_of(field_name, codec):
    if codec is None:
        return None
    if not (isinstance(codec, PickledObject) and codec.global_name.startswith('petastorm.codecs.')):
        raise _field_error(field_name, 'codec {!r} is not a Petastorm codec'.format(codec))
    kind = type(codec).__name__
    state = codec.state_dict()
    if kind == 'NdarrayCodec':
        return NdarrayCodec()
    if kind == 'CompressedNdarrayCodec':
        return CompressedNdarrayCodec()
    if kind == 'CompressedImageCodec':
        image_codec = state.get('_image_codec', '.png')
        quality = state.get('_quality', 80)
        if not isinstance(image_codec, str) or not isinstance(quality, int):
            raise _field_error(field_name, 'bad CompressedImageCodec state {!r}'.format(state))
        return CompressedImageCodec(image_codec[1:] if image_codec.startswith('.') else image_codec, quality)
    if kind == 'ScalarCodec':
        return ScalarCodec(_arrow_type_of_spark(field_name, state.get('_spark_type')))
    raise _field_error(field_name, 'codec {} is not supported'.format(codec.global_name))


def _field_of(key, stub):
    if not isinstance(stub, _FieldStub) or not 3 <= len(stub.args) <= 5:
        raise _field_error(key, 'expected a pickled UnischemaField, got {!r}'.format(stub))
    name, numpy_dtype, shape, codec, nullable = (tuple(stub.args) + (None, False))[:5]
    if not isinstance(name, str):
        raise _field_error(key, 'field name {!r} is not a string'.format(name))
    if not isinstance(nullable, (bool, int, type(None))):
        raise _field_error(name, 'nullable {!r} is not a bool'.format(nullable))
    return UnischemaField(name, _numpy_dtype_of(name, numpy_dtype), _shape_of(name, shape),
                          _codec_of(name, codec), bool(nullable))


def _unischema_of(obj):
    """This package's Unischema from the placeholder graph of a pickled Petastorm Unischema."""
    if not isinstance(obj, _UnischemaStub):
        raise ValueError('The pickle holds {!r}, not a Petastorm Unischema'.format(obj))
    state = obj.state_dict()
    name, fields = state.get('_name'), state.get('_fields')
    if not isinstance(name, str):
        raise ValueError('Pickled Unischema: _name {!r} is not a string'.format(name))
    if not isinstance(fields, dict):
        raise ValueError('Pickled Unischema {!r}: _fields {!r} is not a dict'.format(name, type(fields)))
    return Unischema(name, [_field_of(key, stub) for key, stub in fields.items()])


def loads_unischema(data: bytes) -> Unischema:
    """This package's ``Unischema`` from a pickled Petastorm Unischema (any Petastorm release,
    any pickle protocol), by ``restricted_loads``: nothing in the pickle is executed.

    UnpicklingError when it names a global outside ``ALLOWED_GLOBALS`` (a user's codec class,
    anything else); ValueError naming the field when the loaded graph is not a Unischema of
    the allow-listed classes. ``np.unicode_``/``np.string_`` become ``np.str_``/``np.bytes_``;
    ScalarCodec's pyspark type becomes the pyarrow type ``ScalarCodec`` maps it to.
    """
    return _unischema_of(restricted_loads(data))


# --- Writing: the opcodes of Petastorm 0.13.1's own pickle ------------------------------------

class _PickleWriter(object):
    """A deterministic protocol-4 pickle writer for the fixed object graph of a Unischema."""

    def __init__(self):
        self._out = bytearray(b'\x80\x04')  # PROTO 4
        self._memo = {}

    def getvalue(self):
        return bytes(self._out) + b'.'  # STOP

    def op(self, opcodes):
        self._out += opcodes

    def memoize(self, key):
        self._memo[key] = len(self._memo)
        self.op(b'\x94')  # MEMOIZE

    def get(self, key):
        """Pushes the memoized object `key`; False when there is none."""
        index = self._memo.get(key)
        if index is None:
            return False
        self.op(b'h' + struct.pack('<B', index) if index < 256 else b'j' + struct.pack('<I', index))
        return True

    def global_(self, module, name):
        if not self.get(('global', module, name)):
            self.text(module)
            self.text(name)
            self.op(b'\x93')  # STACK_GLOBAL
            self.memoize(('global', module, name))

    def text(self, text):
        data = text.encode('utf-8')
        if len(data) < 256:
            self.op(b'\x8c' + struct.pack('<B', len(data)) + data)  # SHORT_BINUNICODE
        else:
            self.op(b'X' + struct.pack('<I', len(data)) + data)  # BINUNICODE

    def integer(self, value):
        if 0 <= value < 256:
            self.op(b'K' + struct.pack('<B', value))  # BININT1
        elif 0 <= value < 65536:
            self.op(b'M' + struct.pack('<H', value))  # BININT2
        elif -2 ** 31 <= value < 2 ** 31:
            self.op(b'J' + struct.pack('<i', value))  # BININT
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, 'little', signed=True)
            self.op(b'\x8a' + struct.pack('<B', len(data)) + data)  # LONG1

    def value(self, value):
        """None, bool, int, str or a tuple of them."""
        if value is None:
            self.op(b'N')
        elif value is True or value is False:
            self.op(b'\x88' if value else b'\x89')  # NEWTRUE / NEWFALSE
        elif isinstance(value, int):
            self.integer(value)
        elif isinstance(value, str):
            self.text(value)
        elif isinstance(value, tuple):
            self.op(b'(')  # MARK
            for item in value:
                self.value(item)
            self.op(b't')  # TUPLE
        else:
            raise TypeError('cannot write {!r}'.format(value))

    def new_object(self, module, name):
        """cls.__new__(cls) of the global module.name (NEWOBJ with no arguments)."""
        self.global_(module, name)
        self.op(b')\x81')  # EMPTY_TUPLE NEWOBJ

    def build(self, state):
        """BUILD with the dict `state` of str -> callable writing the value."""
        self.op(b'}(')  # EMPTY_DICT MARK
        for key, write in state.items():
            self.text(key)
            write()
        self.op(b'ub')  # SETITEMS BUILD


# numpy scalar types by the name that numpy 1.x and 2.x both have.
_NUMPY_TYPE_NAMES = {t: name for name, t in _NUMPY_TYPES.items()
                     if name in ('int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
                                 'float16', 'float32', 'float64', 'complex64', 'complex128', 'bool_', 'str_',
                                 'bytes_', 'object_', 'datetime64', 'timedelta64')}

# Names original Petastorm's Unischema class has: a field of such a name is no attribute of it.
_ORIGINAL_UNISCHEMA_ATTRIBUTES = frozenset([
    '_name', '_fields', '_get_namedtuple', 'as_spark_schema', 'create_schema_view', 'fields',
    'from_arrow_schema', 'make_namedtuple', 'make_namedtuple_tf', '__class__', '__delattr__', '__dict__',
    '__dir__', '__doc__', '__eq__', '__format__', '__ge__', '__getattr__', '__getattribute__', '__getstate__',
    '__gt__', '__hash__', '__init__', '__init_subclass__', '__le__', '__lt__', '__module__', '__ne__',
    '__new__', '__reduce__', '__reduce_ex__', '__repr__', '__setattr__', '__sizeof__', '__str__',
    '__subclasshook__', '__weakref__'])


def _spark_type_call(field_name, arrow_type):
    """(Spark type class name, constructor arguments) of a ScalarCodec's pyarrow type."""
    try:
        return spark_type_call_of(arrow_type)
    except ValueError:
        raise ValueError('Field {!r}: ScalarCodec type {} has no Spark type Petastorm could store it as'
                         .format(field_name, arrow_type))


def _write_numpy_dtype(writer, field):
    t = field.numpy_dtype
    if isinstance(t, np.dtype):
        t = t.type
    if t is Decimal:
        writer.global_('decimal', 'Decimal')
    elif t in _NUMPY_TYPE_NAMES:
        writer.global_('numpy', _NUMPY_TYPE_NAMES[t])
    else:
        raise ValueError('Field {!r}: numpy_dtype {!r} cannot be written for Petastorm'.format(field.name, t))


def _write_codec(writer, field):
    codec = field.codec
    kind = type(codec)
    if codec is None:
        writer.value(None)
    elif kind in (NdarrayCodec, CompressedNdarrayCodec):
        writer.new_object('petastorm.codecs', kind.__name__)
    elif kind is CompressedImageCodec:
        params = codec.params()
        writer.new_object('petastorm.codecs', 'CompressedImageCodec')
        writer.build({'_image_codec': lambda: writer.text('.' + params['image_codec']),
                      '_quality': lambda: writer.integer(int(params['quality']))})
    elif kind is ScalarCodec:
        spark_name, args = _spark_type_call(field.name, codec.arrow_type())

        def write_spark_type():
            writer.global_('pyspark.sql.types', spark_name)
            writer.value(args)
            writer.op(b'R')  # REDUCE: the constructor call
        writer.new_object('petastorm.codecs', 'ScalarCodec')
        writer.build({'_spark_type': write_spark_type})
    else:
        raise ValueError('Field {!r}: codec {} ({}.{}) cannot be written for Petastorm: only NdarrayCodec, '
                         'CompressedNdarrayCodec, CompressedImageCodec and ScalarCodec can (Petastorm '
                         'would have to import any other codec class from the pickle)'.format(
                             field.name, codec, kind.__module__, kind.__qualname__))


def _write_field(writer, field):
    writer.global_('petastorm.unischema', 'UnischemaField')
    writer.op(b'(')
    writer.text(field.name)
    _write_numpy_dtype(writer, field)
    writer.value(tuple(None if d is None else int(d) for d in field.shape))
    _write_codec(writer, field)
    writer.value(bool(field.nullable))
    writer.op(b't\x81')  # TUPLE NEWOBJ
    writer.memoize(('field', field.name))


def _write_fields(writer, fields):
    writer.global_('collections', 'OrderedDict')
    writer.op(b')R')  # EMPTY_TUPLE REDUCE
    if fields:
        writer.op(b'(')
        for field in fields:
            writer.text(field.name)
            _write_field(writer, field)
        writer.op(b'u')  # SETITEMS


def dumps_unischema(schema) -> bytes:
    """A pickle (protocol 4) of `schema` that original Petastorm 0.13.1 loads into its own
    Unischema with the same name, fields in order, numpy types, shapes, nullable flags and codecs
    (NdarrayCodec, CompressedNdarrayCodec, CompressedImageCodec with its ``_image_codec`` and
    ``_quality``, ScalarCodec whose ``_spark_type`` is the pyspark type of its pyarrow type:
    int8 ByteType, int16 ShortType, int32 IntegerType, int64 LongType, float32 FloatType, float64
    DoubleType, bool BooleanType, string StringType, binary BinaryType, date32 DateType, any
    timestamp TimestampType, decimal128(p, s) DecimalType(p, s)). ``loads_unischema`` reads it back.

    ValueError naming the field for a codec of any other class (a user's Python codec), a
    ScalarCodec type with no such Spark type, or a numpy_dtype that is no numpy scalar type or
    Decimal. Deterministic: the same schema gives the same bytes.
    """
    fields = list(schema.fields.values())
    writer = _PickleWriter()
    writer.new_object('petastorm.unischema', 'Unischema')
    state = OrderedDict([('_name', lambda: writer.text(str(schema._name))),
                         ('_fields', lambda: _write_fields(writer, fields))])
    for field in fields:
        if field.name not in _ORIGINAL_UNISCHEMA_ATTRIBUTES:
            state[field.name] = (lambda key: lambda: writer.get(key))(('field', field.name))
    writer.build(state)
    return writer.getvalue()
