"""UnischemaField and its C++ form, the bottom layer of the package.

``petastorm.unischema`` re-exports ``UnischemaField`` (its public home, and the module pickles
name); ``petastorm.codecs`` uses this module to hand fields to the C++ core and back, so that
codecs does not import unischema (which imports codecs).
"""
from decimal import Decimal
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from petastorm import _core


def dtype_name(numpy_dtype):
    """The core's name for a field's numpy scalar type ('int32', 'str', 'decimal', ...)."""
    if numpy_dtype is Decimal:
        return 'decimal'
    try:
        name = np.dtype(numpy_dtype).name
    except TypeError:
        raise ValueError('Unsupported numpy_dtype {!r}'.format(numpy_dtype))
    if name not in _core.scalar_type_names():
        raise ValueError('Unsupported numpy_dtype {!r} (numpy name {!r}); supported: {}'.format(
            numpy_dtype, name, ', '.join(_core.scalar_type_names())))
    return name


def dtype_from_name(name):
    return Decimal if name == 'decimal' else np.dtype(name).type


class UnischemaField(NamedTuple):
    """A field of a Unischema: name, numpy scalar type, shape (None = any size), codec, nullable.

    Equality and hashing ignore the codec, as in Petastorm.
    """
    name: str
    numpy_dtype: Any
    shape: Tuple[Optional[int], ...]
    codec: Optional[Any] = None
    nullable: Optional[bool] = False

    def __eq__(self, other):
        if not isinstance(other, UnischemaField):
            return NotImplemented
        return (self.name, self.numpy_dtype, tuple(self.shape), self.nullable) == \
            (other.name, other.numpy_dtype, tuple(other.shape), other.nullable)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.name, self.numpy_dtype, tuple(self.shape), self.nullable))


# Pickles, reprs and the original Petastorm know it as petastorm.unischema.UnischemaField.
UnischemaField.__module__ = 'petastorm.unischema'


def field_to_core(field, codec=None):
    """The core's Field for a UnischemaField (with `codec` instead of its own when given).

    A codec says how it is stored through ``core_form()``: (codec handle, None) for a codec
    that encodes cells, (None, pyarrow type) for ScalarCodec (stored natively as that type).
    """
    codec = field.codec if codec is None else codec
    handle, arrow_type = codec.core_form() if codec is not None else (None, None)
    shape = [None if d is None else int(d) for d in field.shape]
    return _core.Field(field.name, dtype_name(field.numpy_dtype), shape, handle, bool(field.nullable), arrow_type)


def field_from_core(core_field, codec):
    """The UnischemaField of a core Field, with the codec object `codec` (or None)."""
    return UnischemaField(core_field.name, dtype_from_name(core_field.dtype), tuple(core_field.shape), codec,
                          core_field.nullable)
