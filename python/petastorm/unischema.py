"""Unischema: a dataset schema whose fields are typed, shaped, and encoded by codecs.

The model lives in C++ (``petastorm._core.Unischema``); these classes keep Petastorm's Python
API and hand the C++ core its form when a dataset is written or read.
"""
import re
import warnings
from collections import OrderedDict, namedtuple
from decimal import Decimal
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from petastorm import _core


def _dtype_name(numpy_dtype):
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


def _dtype_from_name(name):
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


def _field_to_core(field, codec=None):
    """The core's Field for a UnischemaField (with `codec` instead of its own when given)."""
    codec = field.codec if codec is None else codec
    handle = codec._handle if codec is not None else None
    shape = [None if d is None else int(d) for d in field.shape]
    return _core.Field(field.name, _dtype_name(field.numpy_dtype), shape, handle, bool(field.nullable))


def _codec_from_core(handle):
    from petastorm import codecs
    return codecs._codec_from_handle(handle)


def _field_from_core(core_field):
    codec = None if core_field.codec is None else _codec_from_core(core_field.codec)
    return UnischemaField(core_field.name, _dtype_from_name(core_field.dtype), tuple(core_field.shape),
                          codec, core_field.nullable)


class _NamedtupleCache(object):
    """One namedtuple type per (schema name, field names): the same type object every time."""
    _store = {}

    @staticmethod
    def get(parent_schema_name, field_names):
        key = (parent_schema_name, tuple(field_names))
        if key not in _NamedtupleCache._store:
            _NamedtupleCache._store[key] = namedtuple('{}_view'.format(parent_schema_name), field_names)
        return _NamedtupleCache._store[key]


class Unischema(object):
    """An ordered collection of UnischemaFields, each also an attribute (``schema.id``)."""

    def __init__(self, name, fields):
        self._name = name
        self._fields = OrderedDict((f.name, f) for f in fields)
        if len(self._fields) != len(fields):
            names = [f.name for f in fields]
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError('Unischema {}: duplicate field names {}'.format(name, dup))
        for f in fields:
            if hasattr(self, f.name):
                warnings.warn('Can not create dynamic property {} because it conflicts with an existing '
                              'property of Unischema'.format(f.name))
            else:
                setattr(self, f.name, f)
        self._core_schema = None

    @property
    def fields(self):
        return self._fields

    def _core(self):
        """The C++ Unischema (validated once, cached)."""
        if self._core_schema is None:
            self._core_schema = _core.Unischema(self._name, [_field_to_core(f) for f in self._fields.values()])
        return self._core_schema

    @classmethod
    def _from_core(cls, core_schema):
        schema = cls(core_schema.name, [_field_from_core(f) for f in core_schema.fields])
        schema._core_schema = core_schema
        return schema

    def to_json(self):
        """The versioned JSON stored in the dataset metadata (docs/dataset-format.md)."""
        return self._core().to_json()

    @classmethod
    def from_json(cls, text):
        return cls._from_core(_core.Unischema.from_json(text))

    def create_schema_view(self, fields):
        """A Unischema of a subset of fields: UnischemaField instances and/or full-match regexes.

        Exact fields come first in the given order, then regex matches in schema order.
        """
        exact, regexes = [], []
        for f in fields:
            if isinstance(f, str):
                regexes.append(f)
            elif isinstance(f, tuple):
                exact.append(f)
            else:
                raise ValueError('Elements of "fields" must be either a string (regular expressions) or '
                                 'an instance of UnischemaField class.')
        for f in exact:
            if f.name not in self._fields:
                raise ValueError('field {} does not belong to the schema {}'.format(f.name, self))
        view = OrderedDict((f.name, self._fields[f.name]) for f in exact)
        for f in match_unischema_fields(self, regexes):
            view.setdefault(f.name, f)
        return Unischema('{}_view'.format(self._name), list(view.values()))

    def _get_namedtuple(self):
        return _NamedtupleCache.get(self._name, list(self._fields.keys()))

    def make_namedtuple(self, **kargs):
        """A namedtuple instance of this schema's type; fields not given are None."""
        args = {k: None for k in self._fields}
        args.update(kargs)
        return self._get_namedtuple()(**args)

    def make_namedtuple_tf(self, *args, **kargs):
        return self._get_namedtuple()(*args, **kargs)

    def as_spark_schema(self):
        """A pyspark StructType of the stored columns (needs pyspark)."""
        from pyspark.sql.types import StructField, StructType
        from petastorm.codecs import _numpy_to_spark_type
        struct_fields = []
        for f in self._fields.values():
            if f.codec is not None:
                spark_type = f.codec.spark_dtype()
            elif f.shape:
                raise ValueError("An instance of non-scalar UnischemaField '{}' has codec set to None. "
                                 "Don't know how to guess a Spark type for it".format(f.name))
            else:
                spark_type = _numpy_to_spark_type(f.numpy_dtype)
            struct_fields.append(StructField(f.name, spark_type, f.nullable))
        return StructType(struct_fields)

    def __str__(self):
        lines = ['  {},'.format(_field_str(f)) for f in self._fields.values()]
        return 'Unischema({}, [\n{}\n])'.format(self._name, '\n'.join(lines))

    __repr__ = __str__


def _field_str(f):
    return "UnischemaField('{}', {}, {}, {}, {})".format(
        f.name, getattr(f.numpy_dtype, '__name__', f.numpy_dtype), tuple(f.shape), f.codec, f.nullable)


def match_unischema_fields(schema, field_regex):
    """Fields of `schema` whose names fully match any of the regexes, in schema order."""
    if not field_regex:
        return []
    patterns = [re.compile(p) for p in field_regex]
    return [f for name, f in schema.fields.items() if any(p.fullmatch(name) for p in patterns)]
