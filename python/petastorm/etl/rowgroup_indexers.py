"""Row-group indexers (Petastorm's petastorm.etl.rowgroup_indexers): SingleFieldIndexer maps each
value of a field to the row groups holding it, FieldNotNullIndexer lists the row groups where a
field is not always null. Each has a JSON form (to_json / from_json), how our datasets store it."""
import base64
import datetime
from collections import defaultdict
from decimal import Decimal

import numpy as np

from petastorm.etl import RowGroupIndexerBase


def _check_same(indexer, other):
    if not isinstance(other, type(indexer)):
        raise TypeError('Make sure Spark map function return the same indexer type')
    if indexer._column_name != other._column_name:
        raise ValueError('Make sure indexers in Spark map function index the same fields')


class _FieldIndexer(RowGroupIndexerBase):
    """What both indexers share: a name, one field, and the field's values of a row group."""

    def __init__(self, index_name, index_field, index_data):
        self._index_name = index_name
        self._column_name = index_field
        self._index_data = index_data

    @property
    def index_name(self):
        return self._index_name

    @property
    def column_names(self):
        return [self._column_name]

    def _values(self, decoded_rows):
        values = [row[self._column_name] for row in decoded_rows]
        if not values:
            raise ValueError("Cannot build index for empty rows, column '{}'".format(self._column_name))
        return values


class SingleFieldIndexer(_FieldIndexer):
    """Indexes the values of one field: a scalar's value, or each element of an array's value
    (None skipped)."""

    def __init__(self, index_name, index_field):
        super().__init__(index_name, index_field, defaultdict(set))

    def __add__(self, other):
        _check_same(self, other)
        for value, pieces in other._index_data.items():
            self._index_data[value].update(pieces)
        return self

    @property
    def indexed_values(self):
        return list(self._index_data.keys())

    def get_row_group_indexes(self, value_key):
        return set(self._index_data.get(value_key, ()))

    def build_index(self, decoded_rows, piece_index):
        values = self._values(decoded_rows)
        for value in values:
            if value is None:
                continue
            if isinstance(value, np.ndarray):
                for element in value.reshape(-1):
                    self._index_data[_key(element)].add(piece_index)
            else:
                self._index_data[_key(value)].add(piece_index)
        return self._index_data

    def to_json(self):
        return {'class': 'SingleFieldIndexer', 'index_name': self._index_name, 'field': self._column_name,
                'values': [[_value_to_json(self._index_name, v), sorted(int(p) for p in pieces)]
                           for v, pieces in self._index_data.items()]}

    @classmethod
    def from_json(cls, obj):
        return cls.from_data(obj['index_name'], obj['field'],
                             [(_value_from_json(value), pieces) for value, pieces in obj['values']])

    @classmethod
    def from_data(cls, index_name, index_field, values):
        """An indexer holding `values`: (value, row groups) pairs or a {value: row groups} dict."""
        indexer = cls(index_name, index_field)
        for value, pieces in (values.items() if isinstance(values, dict) else values):
            indexer._index_data[_key(value)].update(int(p) for p in pieces)
        return indexer


class FieldNotNullIndexer(_FieldIndexer):
    """Lists the row groups where the field has a value that is not None."""

    def __init__(self, index_name, index_field):
        super().__init__(index_name, index_field, set())

    def __add__(self, other):
        _check_same(self, other)
        self._index_data.update(other._index_data)
        return self

    @property
    def indexed_values(self):
        return ['Field is Not Null']

    def get_row_group_indexes(self, value_key=None):
        return set(self._index_data)

    def build_index(self, decoded_rows, piece_index):
        values = self._values(decoded_rows)
        if any(value is not None for value in values):
            self._index_data.add(piece_index)
        return self._index_data

    def to_json(self):
        return {'class': 'FieldNotNullIndexer', 'index_name': self._index_name, 'field': self._column_name,
                'row_groups': sorted(int(p) for p in self._index_data)}

    @classmethod
    def from_json(cls, obj):
        return cls.from_data(obj['index_name'], obj['field'], obj['row_groups'])

    @classmethod
    def from_data(cls, index_name, index_field, pieces):
        """An indexer holding the row groups `pieces`."""
        indexer = cls(index_name, index_field)
        indexer._index_data = set(int(p) for p in pieces)
        return indexer


INDEXER_CLASSES = {'SingleFieldIndexer': SingleFieldIndexer, 'FieldNotNullIndexer': FieldNotNullIndexer}


def _key(value):
    """A value as an index key: numpy scalars as the Python value they equal (np.int64(3) -> 3,
    np.str_ -> str), so that keys given either way find it."""
    if isinstance(value, np.generic) and not isinstance(value, (np.datetime64, np.timedelta64)):
        return value.item()
    return value


def _value_to_json(index_name, value):
    """[tag, value] of an index key (JSON cannot tell ints, bools, bytes and decimals apart)."""
    value = _key(value)
    if isinstance(value, bool):
        return ['b', value]
    if isinstance(value, int):
        return ['i', value]
    if isinstance(value, float):
        return ['f', value]
    if isinstance(value, str):
        return ['s', value]
    if isinstance(value, bytes):
        return ['y', base64.b64encode(value).decode('ascii')]
    if isinstance(value, Decimal):
        return ['d', str(value)]
    if isinstance(value, np.datetime64):
        return ['M', str(value)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return ['M', np.datetime64(value).astype(str)]
    raise TypeError('Index {!r}: cannot store a value of type {} in the index'.format(
        index_name, type(value).__name__))


def _value_from_json(tagged):
    tag, value = tagged
    if tag == 'y':
        return base64.b64decode(value)
    if tag == 'd':
        return Decimal(value)
    if tag == 'M':
        return np.datetime64(value)
    if tag in ('b', 'i', 'f', 's'):
        return value
    raise ValueError('Unknown index value tag {!r}'.format(tag))
