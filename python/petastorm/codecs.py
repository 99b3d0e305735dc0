"""Codecs: how a field's values are stored in a Parquet column (Petastorm's classes).

NdarrayCodec, CompressedNdarrayCodec and CompressedImageCodec are handles on the codecs the
C++ core implements (``_core.builtin_codec_names()`` lists them; each class here names the one
it stands for). ScalarCodec is no codec in the core: it says that a field is stored natively,
as an Arrow type. A codec written in Python subclasses DataframeColumnCodec; the C++ core calls
it (with the GIL) and ``register_codec`` makes datasets that use it readable.
"""
import collections
import json
from abc import ABC, abstractmethod
from decimal import Decimal

import numpy as np
import pyarrow as pa

from petastorm import _core
from petastorm.unischema_field import field_from_core, field_to_core


class DataframeColumnCodec(ABC):
    """Base class of codecs. A custom codec implements encode, decode and spark_dtype.

    ``params()`` returns the JSON-serializable keyword arguments that rebuild the codec; they
    are stored in the dataset metadata, and ``cls(**params)`` is called when the dataset is read.
    """

    @abstractmethod
    def encode(self, unischema_field, value):
        """Encodes a numpy value into bytes."""

    @abstractmethod
    def decode(self, unischema_field, value):
        """Decodes bytes into a numpy value."""

    def spark_dtype(self):
        from pyspark.sql.types import BinaryType
        return BinaryType()

    def arrow_type(self):
        """The Arrow type of the stored column."""
        return pa.binary()

    def params(self):
        return {}

    @classmethod
    def codec_name(cls):
        """The name the dataset metadata stores for this codec."""
        return '{}.{}'.format(cls.__module__, cls.__qualname__)

    def __str__(self):
        return '{}({})'.format(type(self).__name__,
                               ', '.join('{}={!r}'.format(k, v) for k, v in self.params().items()))

    @property
    def _handle(self):
        # Not cached on self: the handle refers to self, and a cycle through C++ is never freed.
        register_codec(type(self))
        return _core.python_codec(self.codec_name(), json.dumps(self.params()), str(self),
                                  self.arrow_type(), self)

    def core_form(self):
        """(codec handle, None): the core stores this field's values as encoded cells."""
        return self._handle, None

    # Called by the C++ core.
    def _encode_from_core(self, core_field, value):
        return bytes(self.encode(field_from_core(core_field, self), value))

    def _decode_from_core(self, core_field, data):
        return self.decode(field_from_core(core_field, self), data)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop('_core_handle', None)
        return state


_PYTHON_CODECS = {}


def register_codec(codec_class, name=None):
    """Makes datasets that store `codec_class` readable in this process (and by C++ readers in it)."""
    name = name or codec_class.codec_name()
    if _PYTHON_CODECS.get(name) is codec_class:
        return
    _PYTHON_CODECS[name] = codec_class
    _core.register_codec(name, lambda params_json: codec_class(**json.loads(params_json))._handle)


class _NativeCodec(DataframeColumnCodec):
    """A codec implemented in C++ (its registry name is ``_core_name``); encode and decode go
    straight to the core. ``params()`` are the JSON parameters the core makes it from, and
    ``cls(**params)`` rebuilds it."""

    _core_name = None

    @property
    def _handle(self):
        handle = self.__dict__.get('_core_handle')
        if handle is None:
            handle = _core.make_codec(self._core_name, json.dumps(self.params()))
            self.__dict__['_core_handle'] = handle
        return handle

    def encode(self, unischema_field, value):
        return self._handle.encode(field_to_core(unischema_field, codec=self), value)

    def decode(self, unischema_field, value):
        return self._handle.decode(field_to_core(unischema_field, codec=self), bytes(value))

    def __str__(self):
        return str(self._handle)

    __repr__ = __str__

    def __eq__(self, other):
        return type(self) is type(other) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


class _ArrayCodec(_NativeCodec):
    """A codec of numpy arrays: encode takes an ndarray of the field's dtype and shape, anything
    else is Petastorm's ValueError ('Unexpected type' / 'Unexpected dimensions', naming the field)."""

    def encode(self, unischema_field, value):
        if not isinstance(value, np.ndarray):
            raise ValueError("Unexpected type of field '{}': expected a numpy.ndarray of {}, got {}".format(
                unischema_field.name, getattr(unischema_field.numpy_dtype, '__name__', unischema_field.numpy_dtype),
                type(value).__name__))
        return super().encode(unischema_field, value)


class NdarrayCodec(_ArrayCodec):
    """Stores a numpy array as the bytes numpy.save writes (.npy)."""

    _core_name = 'ndarray'


class CompressedNdarrayCodec(_ArrayCodec):
    """Stores a numpy array as numpy.savez_compressed(f, arr=value) writes it (.npz)."""

    _core_name = 'compressed_ndarray'


class CompressedImageCodec(_NativeCodec):
    """Stores uint8 (H, W) / (H, W, 3) images (png also uint16) as png or jpeg files.

    ``decode_scale`` (num, den) and ``decode_crop`` (x, y, width, height) are how the fields of a
    reader's schema read with ``decode_options`` decode (docs/images.md); encoding ignores them."""

    _core_name = 'compressed_image'

    def __init__(self, image_codec='png', quality=80, decode_scale=None, decode_crop=None):
        self._image_codec = '.' + image_codec
        self._quality = quality
        if decode_scale is not None:
            self._decode_scale = tuple(decode_scale)
        if decode_crop is not None:
            self._decode_crop = tuple(decode_crop)

    @property
    def image_codec(self):
        return self._image_codec[1:]

    def params(self):
        params = {'image_codec': self.image_codec, 'quality': int(self._quality)}
        # Set only on a reader's decoding codecs (Petastorm's pickles have neither attribute).
        if getattr(self, '_decode_scale', None) is not None:
            params['decode_scale'] = list(self._decode_scale)
        if getattr(self, '_decode_crop', None) is not None:
            params['decode_crop'] = list(self._decode_crop)
        return params


# The C++ codecs by registry name; every one the core lists has its class here.
_NATIVE_CODECS = {cls._core_name: cls for cls in (NdarrayCodec, CompressedNdarrayCodec, CompressedImageCodec)}
if set(_NATIVE_CODECS) != set(_core.builtin_codec_names()):
    raise ImportError('petastorm.codecs has classes for the codecs {} but the C++ core implements {}'.format(
        sorted(_NATIVE_CODECS), sorted(_core.builtin_codec_names())))

# What ScalarCodec hands the core: a storage type, no codec.
_NativeStorage = collections.namedtuple('_NativeStorage', ['storage_type'])


class ScalarCodec(DataframeColumnCodec):
    """Stores a scalar natively. `spark_type` is a pyspark DataType (as in Petastorm), a
    pyarrow DataType, or a numpy type."""

    def __init__(self, spark_type):
        self._arrow_type = _to_arrow_type(spark_type)
        self._spark_type = spark_type if _is_spark_type(spark_type) else None

    @property
    def _handle(self):
        return _NativeStorage(self._arrow_type)

    def core_form(self):
        """(None, the Arrow type): the core stores the field natively as that type."""
        return None, self._arrow_type

    def __str__(self):
        return 'ScalarCodec({})'.format(_spark_type_name(self._arrow_type))

    __repr__ = __str__

    def __eq__(self, other):
        return type(self) is type(other) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def arrow_type(self):
        return self._arrow_type

    def spark_dtype(self):
        if self._spark_type is None:
            self._spark_type = _arrow_to_spark_type(self._arrow_type)
        return self._spark_type

    def encode(self, unischema_field, value):
        if isinstance(value, (np.ndarray, list, tuple)) and np.size(value) != 1:
            raise TypeError('Expected a scalar as a value for field \'{}\'. Got a non-numpy type\'{}\''
                            .format(unischema_field.name, type(value)))
        if unischema_field.shape:
            raise ValueError('The shape field of unischema_field \'%s\' must be an empty tuple (i.e. \'()\' '
                             'to indicate a scalar. However, the actual shape is %s',
                             unischema_field.name, unischema_field.shape)
        t = self._arrow_type
        if pa.types.is_integer(t):
            return int(value)
        if pa.types.is_floating(t):
            return float(value)
        if pa.types.is_boolean(t):
            return bool(value)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            if not isinstance(value, str):
                raise ValueError('Expected a string value for field {}. Got type {}'.format(
                    unischema_field.name, type(value)))
            return str(value)
        return value

    def decode(self, unischema_field, value):
        return unischema_field.numpy_dtype(value)


def _is_compliant_shape(a, b):
    """Whether shapes `a` and `b` agree: the same rank, and each dimension equal unless either
    side's is None or 0 (a wildcard, as in Petastorm)."""
    if len(a) != len(b):
        return False
    return all(not x or not y or x == y for x, y in zip(a, b))


def codec_from_core_field(core_field, declared_storage=True):
    """The Python codec object of a core Field (from a stored or inferred schema): the class of
    its C++ codec, the Python codec object itself, ScalarCodec for a declared native type (when
    `declared_storage`; an inferred schema's stored types are no codecs), else None."""
    handle = core_field.codec
    if handle is None:
        arrow_type = core_field.arrow_type
        if declared_storage and arrow_type is not None and not core_field.shape:
            return ScalarCodec(arrow_type)
        return None
    python_codec = handle.python_object
    if python_codec is not None:
        return python_codec
    name = handle.name
    if name in _NATIVE_CODECS:
        codec = _NATIVE_CODECS[name](**json.loads(handle.params_json))
        codec.__dict__['_core_handle'] = handle
        return codec
    if name in _PYTHON_CODECS:
        return _PYTHON_CODECS[name](**json.loads(handle.params_json))
    raise ValueError('The dataset uses codec {!r}, which is not registered; call '
                     'petastorm.codecs.register_codec(...) first'.format(name))


# --- Type maps: pyspark is Python-only, so these live here -------------------------------------

# The Arrow storage type of each pyspark scalar type, by class name (legacy pickles use it too).
SPARK_TO_ARROW = {
    'ByteType': pa.int8(), 'ShortType': pa.int16(), 'IntegerType': pa.int32(), 'LongType': pa.int64(),
    'FloatType': pa.float32(), 'DoubleType': pa.float64(), 'BooleanType': pa.bool_(),
    'StringType': pa.string(), 'BinaryType': pa.binary(), 'DateType': pa.date32(),
    'TimestampType': pa.timestamp('us', tz='UTC'), 'TimestampNTZType': pa.timestamp('us'),
}

# Petastorm's numpy -> Spark map for codec-less scalar fields.
_NUMPY_TO_SPARK = {
    np.int8: 'ByteType', np.uint8: 'ShortType', np.int16: 'ShortType', np.uint16: 'IntegerType',
    np.int32: 'IntegerType', np.int64: 'LongType', np.float32: 'FloatType', np.float64: 'DoubleType',
    np.str_: 'StringType', np.bytes_: 'StringType', np.bool_: 'BooleanType',
}


def _is_spark_type(t):
    return type(t).__module__.startswith('pyspark.')


def _to_arrow_type(t):
    if isinstance(t, pa.DataType):
        return t
    if _is_spark_type(t):
        name = type(t).__name__
        if name == 'DecimalType':
            return pa.decimal128(t.precision, t.scale)
        if name in SPARK_TO_ARROW:
            return SPARK_TO_ARROW[name]
        raise ValueError('ScalarCodec does not support the Spark type {}'.format(t))
    try:
        dtype = np.dtype(t)
    except TypeError:
        raise ValueError('ScalarCodec needs a pyspark DataType, a pyarrow DataType or a numpy type, got {!r}'
                         .format(t))
    if dtype.kind == 'U':
        return pa.string()
    if dtype.kind == 'S':
        return pa.binary()
    if dtype.kind == 'M':
        return pa.timestamp('ns')
    return pa.from_numpy_dtype(dtype)


def _spark_type_name(t):
    """How Petastorm prints a ScalarCodec's type: the Spark type's repr."""
    if pa.types.is_decimal(t):
        return 'DecimalType({},{})'.format(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        return 'TimestampType()'
    if pa.types.is_date(t):
        return 'DateType()'
    for name, arrow_type in SPARK_TO_ARROW.items():
        if arrow_type.equals(t):
            return name + '()'
    if pa.types.is_large_string(t):
        return 'StringType()'
    if pa.types.is_large_binary(t):
        return 'BinaryType()'
    return str(t)


# Arrow types Spark has no type of, stored in the next wider one.
_WIDENED_TO_SPARK = [(pa.uint8(), 'ShortType'), (pa.uint16(), 'IntegerType'), (pa.uint32(), 'LongType'),
                     (pa.float16(), 'FloatType'), (pa.large_string(), 'StringType'),
                     (pa.large_binary(), 'BinaryType')]


def spark_type_call_of(arrow_type):
    """(pyspark.sql.types class name, constructor arguments) of the Spark type that stores
    `arrow_type` (unsigned and half types widened); ValueError when there is none. Needs no pyspark."""
    if pa.types.is_decimal(arrow_type) and arrow_type.precision <= 38:  # Spark's largest
        return 'DecimalType', (arrow_type.precision, arrow_type.scale)
    if pa.types.is_timestamp(arrow_type):
        return 'TimestampType', ()
    for name, t in SPARK_TO_ARROW.items():
        if t.equals(arrow_type):
            return name, ()
    for t, name in _WIDENED_TO_SPARK:
        if t.equals(arrow_type):
            return name, ()
    raise ValueError('Was not able to map type {} to a spark type.'.format(arrow_type))


def _arrow_to_spark_type(t):
    from pyspark.sql import types as st
    name, args = spark_type_call_of(t)
    return getattr(st, name)(*args)


def numpy_to_spark_type(numpy_dtype):
    from pyspark.sql import types as st
    name = _NUMPY_TO_SPARK.get(numpy_dtype)
    if name is None:
        raise ValueError('Was not able to map type {} to a spark type.'.format(numpy_dtype))
    return getattr(st, name)()


__all__ = ['DataframeColumnCodec', 'NdarrayCodec', 'CompressedNdarrayCodec', 'CompressedImageCodec',
           'ScalarCodec', 'register_codec', 'Decimal']
