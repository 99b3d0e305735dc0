"""Unischema: a dataset schema whose fields are typed, shaped, and encoded by codecs.

The model lives in C++ (``petastorm._core.Unischema``); these classes keep Petastorm's Python
API and hand the C++ core its form when a dataset is written or read.
"""
import re
import warnings
from collections import OrderedDict, namedtuple

import numpy as np

from petastorm import _core
from petastorm.unischema_field import UnischemaField, field_from_core, field_to_core
from petastorm.codecs import codec_from_core_field, numpy_to_spark_type


_field_to_core = field_to_core


def _field_from_core(core_field, declared_storage=True):
    """The UnischemaField of a core Field, its codec object made from the core's (see
    codecs.codec_from_core_field)."""
    return field_from_core(core_field, codec_from_core_field(core_field, declared_storage))


class _NamedtupleCache(object):
    """One namedtuple type per (schema name, field names): the same type object every time."""
    _store = {}

    @staticmethod
    def get(parent_schema_name, field_names):
        key = (parent_schema_name, tuple(field_names))
        if key not in _NamedtupleCache._store:
            _NamedtupleCache._store[key] = namedtuple('{}_view'.format(parent_schema_name), field_names)
        return _NamedtupleCache._store[key]


# Petastorm's switch: 'preserve_input_order' (the default) or 'alphabetical' (its legacy order,
# deprecated there): fields sorted by name.
_UNISCHEMA_FIELD_ORDER = 'preserve_input_order'


class Unischema(object):
    """An ordered collection of UnischemaFields, each also an attribute (``schema.id``)."""

    def __init__(self, name, fields):
        self._name = name
        fields = list(fields)
        if _UNISCHEMA_FIELD_ORDER.lower() == 'alphabetical':
            fields = sorted(fields, key=lambda t: t.name)
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

    def core_schema(self):
        """The C++ Unischema (``petastorm._core.Unischema``) of this schema, for storing: validated
        once, cached."""
        if self._core_schema is None:
            self._core_schema = _core.Unischema(self._name, [field_to_core(f) for f in self._fields.values()])
        return self._core_schema

    _core = core_schema

    def __getstate__(self):
        # The C++ schema is made again where the schema is unpickled (a Spark worker, a process).
        state = dict(self.__dict__)
        state['_core_schema'] = None
        return state

    def core_schema_in_memory(self, name=None):
        """The C++ Unischema of values held in memory (a transform's output), named `name`
        (default: this schema's): fields need no storage, a non-scalar field without codec
        holds tensors."""
        return _core.Unischema.in_memory(name or self._name, [field_to_core(f) for f in self._fields.values()])

    @classmethod
    def from_core(cls, core_schema, declared_storage=True):
        """From a C++ Unischema; `declared_storage` False for an inferred schema, whose stored
        Arrow types become no codec (as Petastorm's inferred fields have none)."""
        schema = cls(core_schema.name, [_field_from_core(f, declared_storage) for f in core_schema.fields])
        schema._core_schema = core_schema
        return schema

    _from_core = from_core

    @classmethod
    def from_arrow_schema(cls, parquet_dataset, omit_unsupported_fields=True):
        """The schema inferred from a Parquet store (Petastorm's ``inferred_schema``: hive partition
        keys first, then the file's columns, no codecs), as make_batch_reader reads it.
        ``parquet_dataset``: a ``pyarrow.parquet.ParquetDataset``, a dataset URL or an engine
        Dataset. Columns make_batch_reader cannot deliver are left out with a warning (Petastorm's
        '[ARROW-1644] Ignoring unsupported structure ...'), or with ``omit_unsupported_fields=False``
        raise NotImplementedError naming them."""
        from petastorm.etl.dataset_metadata import _dataset_of
        files = getattr(parquet_dataset, 'files', None)
        if files is not None and not isinstance(parquet_dataset, (str, _core.Dataset)):
            from petastorm import fs_utils
            fs = getattr(parquet_dataset, 'filesystem', None)
            dataset = fs_utils.open_dataset(list(files), filesystem=fs)
        else:
            dataset = _dataset_of(parquet_dataset)
        inferred, unsupported = _core.infer_schema(dataset)
        unsupported = dict(unsupported)
        if unsupported and not omit_unsupported_fields:
            raise NotImplementedError('; '.join(unsupported.values()))
        for name, why in unsupported.items():
            warnings.warn('[ARROW-1644] Ignoring unsupported structure {!r} for field {!r}'.format(why, name))
        schema = cls.from_core(inferred, declared_storage=False)
        if unsupported:
            schema = cls(schema._name, [f for n, f in schema.fields.items() if n not in unsupported])
        return schema

    def to_json(self):
        """The versioned JSON stored in the dataset metadata (docs/dataset-format.md)."""
        return self.core_schema().to_json()

    @classmethod
    def from_json(cls, text):
        return cls.from_core(_core.Unischema.from_json(text))

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

    def namedtuple_type(self):
        """The namedtuple class of this schema's rows (one class per schema name and fields)."""
        return _NamedtupleCache.get(self._name, list(self._fields.keys()))

    _get_namedtuple = namedtuple_type

    def make_namedtuple(self, **kargs):
        """A namedtuple instance of this schema's type; fields not given are None."""
        args = {k: None for k in self._fields}
        args.update(kargs)
        return self.namedtuple_type()(**args)

    def make_namedtuple_tf(self, *args, **kargs):
        return self.namedtuple_type()(*args, **kargs)

    def as_spark_schema(self):
        """A pyspark StructType of the stored columns (needs pyspark)."""
        from pyspark.sql.types import StructField, StructType
        struct_fields = []
        for f in self._fields.values():
            if f.codec is not None:
                spark_type = f.codec.spark_dtype()
            elif f.shape:
                raise ValueError("An instance of non-scalar UnischemaField '{}' has codec set to None. "
                                 "Don't know how to guess a Spark type for it".format(f.name))
            else:
                spark_type = numpy_to_spark_type(f.numpy_dtype)
            struct_fields.append(StructField(f.name, spark_type, f.nullable))
        return StructType(struct_fields)

    def __str__(self):
        lines = ['  {},'.format(_field_str(f)) for f in self._fields.values()]
        return 'Unischema({}, [\n{}\n])'.format(self._name, '\n'.join(lines))

    __repr__ = __str__


def _field_str(f):
    return "UnischemaField('{}', {}, {}, {}, {})".format(
        f.name, getattr(f.numpy_dtype, '__name__', f.numpy_dtype), tuple(f.shape), f.codec, f.nullable)


def insert_explicit_nulls(unischema, row_dict):
    """Adds None, in place, for every nullable field missing from `row_dict`; a missing
    non-nullable field raises ValueError naming it."""
    for name, field in unischema.fields.items():
        if name not in row_dict:
            if field.nullable:
                row_dict[name] = None
            else:
                raise ValueError('Field {} is not found in the row_dict, but is not nullable.'.format(name))


def dict_to_spark_row(unischema, row_dict):
    """A ``pyspark.Row`` of `row_dict` (field name -> value), its fields in schema order and
    encoded by their codecs (the C++ codecs: dtype and shape are checked there, and the message
    names the field). Missing nullable fields become None; the field set must be the schema's.
    The input dict is not changed. For large jobs, petastorm.spark_utils.encode_dataframe encodes
    whole batches in C++ instead."""
    import pyspark

    if not isinstance(unischema, Unischema):
        raise TypeError('dict_to_spark_row expects a Unischema, got {}'.format(type(unischema).__name__))
    row = dict(row_dict)
    insert_explicit_nulls(unischema, row)
    if set(row) != set(unischema.fields):
        raise ValueError('Dictionary fields \n{}\n do not match schema fields \n{}'.format(
            '\n'.join(sorted(row)), '\n'.join(unischema.fields)))
    values = []
    for name, field in unischema.fields.items():
        value = row[name]
        if value is None:
            if not field.nullable:
                raise ValueError('Field {} is not "nullable", but got passes a None value'.format(name))
            values.append(None)
        elif field.codec is not None:
            values.append(field.codec.encode(field, value))
        elif isinstance(value, np.generic):
            values.append(value.tolist())
        else:
            values.append(value)
    spark_row = pyspark.Row(*values)
    spark_row.__fields__ = list(unischema.fields)
    return spark_row


def match_unischema_fields(schema, field_regex):
    """Fields of `schema` whose names fully match any of the regexes, in schema order. Warns, as
    Petastorm, naming the fields a prefix match (Petastorm before 0.8) would also have taken."""
    if not field_regex:
        return []
    patterns = [re.compile(p) for p in field_regex]
    matched = [f for name, f in schema.fields.items() if any(p.fullmatch(name) for p in patterns)]
    prefix_only = [name for name in schema.fields if any(p.match(name) for p in patterns)
                   and not any(p.fullmatch(name) for p in patterns)]
    if prefix_only:
        warnings.warn('schema_fields behavior has changed. Now, regular expression pattern must match the entire '
                      'field name. The change in the behavior affects the following fields: {}'
                      .format(', '.join(prefix_only)))
    return matched


def transform_unischema(schema, transform_spec):
    """The schema of rows after ``transform_spec`` (Petastorm's rules): the removed and edited
    fields go, the edited ones come back at the end, then ``selected_fields`` pick and order."""
    removed = set(transform_spec.removed_fields)
    unknown = removed - set(schema.fields)
    if unknown:
        warnings.warn('removed_fields specified some field names that are not part of the schema: {}'
                      .format(sorted(unknown)))
    edited = {f[0] for f in transform_spec.edit_fields}
    fields = [f for name, f in schema.fields.items() if name not in removed and name not in edited]
    for edited_field in transform_spec.edit_fields:
        if isinstance(edited_field, UnischemaField):  # kept whole, its codec included
            fields.append(edited_field)
        else:
            name, dtype, shape, nullable = edited_field
            fields.append(UnischemaField(name, dtype, shape, None, nullable))
    if transform_spec.selected_fields is not None:
        by_name = {f.name: f for f in fields}
        missing = [n for n in transform_spec.selected_fields if n not in by_name]
        if missing:
            warnings.warn('selected_fields specified some field names that are not part of the schema: {}'
                          .format(missing))
        fields = [by_name[n] for n in transform_spec.selected_fields if n in by_name]
    return Unischema(schema._name + '_transformed', fields)
