"""Codecs: how a field's values are stored in a Parquet column (Petastorm's classes).

NdarrayCodec, CompressedNdarrayCodec, CompressedImageCodec and ScalarCodec are handles on
codecs implemented in C++. A codec written in Python subclasses DataframeColumnCodec; the
C++ core calls it (with the GIL) and ``register_codec`` makes datasets that use it readable.
"""
import json
from abc import ABC, abstractmethod
from decimal import Decimal

import numpy as np
import pyarrow as pa

from petastorm import _core


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

    # Called by the C++ core.
    def _encode_from_core(self, core_field, value):
        from petastorm.unischema import _field_from_core
        return bytes(self.encode(_field_from_core(core_field), value))

    def _decode_from_core(self, core_field, data):
        from petastorm.unischema import _field_from_core
        return self.decode(_field_from_core(core_field), data)

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
    """A codec implemented in C++; encode and decode go straight to the core."""

    @property
    def _handle(self):
        handle = self.__dict__.get('_core_handle')
        if handle is None:
            handle = self._make_handle()
            self.__dict__['_core_handle'] = handle
        return handle

    def encode(self, unischema_field, value):
        from petastorm.unischema import _field_to_core
        return self._handle.encode(_field_to_core(unischema_field, codec=self), value)

    def decode(self, unischema_field, value):
        from petastorm.unischema import _field_to_core
        return self._handle.decode(_field_to_core(unischema_field, codec=self), bytes(value))

    def __str__(self):
        return str(self._handle)

    __repr__ = __str__

    def __eq__(self, other):
        return type(self) is type(other) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


class NdarrayCodec(_NativeCodec):
    """Stores a numpy array as the bytes numpy.save writes (.npy)."""

    def _make_handle(self):
        return _core.ndarray_codec()


class CompressedNdarrayCodec(_NativeCodec):
    """Stores a numpy array as numpy.savez_compressed(f, arr=value) writes it (.npz)."""

    def _make_handle(self):
        return _core.compressed_ndarray_codec()


class CompressedImageCodec(_NativeCodec):
    """Stores uint8 (H, W) / (H, W, 3) images (png also uint16) as png or jpeg files."""

    def __init__(self, image_codec='png', quality=80):
        self._image_codec = '.' + image_codec
        self._quality = quality

    @property
    def image_codec(self):
        return self._image_codec[1:]

    def _make_handle(self):
        return _core.compressed_image_codec(self.image_codec, int(self._quality))


class ScalarCodec(_NativeCodec):
    """Stores a scalar natively. `spark_type` is a pyspark DataType (as in Petastorm), a
    pyarrow DataType, or a numpy type."""

    def __init__(self, spark_type):
        self._arrow_type = _to_arrow_type(spark_type)
        self._spark_type = spark_type if _is_spark_type(spark_type) else None

    def _make_handle(self):
        return _core.scalar_codec(self._arrow_type)

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


def _codec_from_handle(handle):
    """The Python codec object for a C++ codec handle (from a stored schema)."""
    name = handle.name
    params = json.loads(handle.params_json)
    if name == 'ndarray':
        codec = NdarrayCodec()
    elif name == 'compressed_ndarray':
        codec = CompressedNdarrayCodec()
    elif name == 'compressed_image':
        codec = CompressedImageCodec(params['image_codec'], params['quality'])
    elif name == 'scalar':
        codec = ScalarCodec(_core.scalar_codec_type(handle))
    elif name in _PYTHON_CODECS:
        return _PYTHON_CODECS[name](**params)
    else:
        raise ValueError('The dataset uses codec {!r}, which is not registered; call '
                         'petastorm.codecs.register_codec(...) first'.format(name))
    codec.__dict__['_core_handle'] = handle
    return codec


# --- Type maps: pyspark is Python-only, so these live here -------------------------------------

_SPARK_TO_ARROW = {
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
        if name in _SPARK_TO_ARROW:
            return _SPARK_TO_ARROW[name]
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


def _arrow_to_spark_type(t):
    from pyspark.sql import types as st
    if pa.types.is_decimal(t):
        return st.DecimalType(t.precision, t.scale)
    for name, arrow_type in _SPARK_TO_ARROW.items():
        if arrow_type.equals(t):
            return getattr(st, name)()
    widened = {pa.uint8(): 'ShortType', pa.uint16(): 'IntegerType', pa.uint32(): 'LongType',
               pa.float16(): 'FloatType', pa.large_string(): 'StringType', pa.large_binary(): 'BinaryType'}
    for arrow_type, name in widened.items():
        if arrow_type.equals(t):
            return getattr(st, name)()
    if pa.types.is_timestamp(t):
        return st.TimestampType()
    raise ValueError('Was not able to map type {} to a spark type.'.format(t))


def _numpy_to_spark_type(numpy_dtype):
    from pyspark.sql import types as st
    name = _NUMPY_TO_SPARK.get(numpy_dtype)
    if name is None:
        raise ValueError('Was not able to map type {} to a spark type.'.format(numpy_dtype))
    return getattr(st, name)()


__all__ = ['DataframeColumnCodec', 'NdarrayCodec', 'CompressedNdarrayCodec', 'CompressedImageCodec',
           'ScalarCodec', 'register_codec', 'Decimal']
