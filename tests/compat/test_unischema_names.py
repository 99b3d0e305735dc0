"""petastorm.unischema names without another behaviour test: _NamedtupleCache,
_UNISCHEMA_FIELD_ORDER, make_namedtuple_tf, match_unischema_fields' warning,
insert_explicit_nulls (inventory section 3)."""
import warnings

import numpy as np
import pytest

from petastorm import unischema
from petastorm.codecs import NdarrayCodec
from petastorm.unischema import (Unischema, UnischemaField, _NamedtupleCache, insert_explicit_nulls,
                                 match_unischema_fields)


def _schema(name='NamesSchema'):
    return Unischema(name, [UnischemaField('zeta', np.int32, ()),
                            UnischemaField('alpha', np.float64, (), None, True),
                            UnischemaField('mid', np.uint8, (2,), NdarrayCodec())])


def test_namedtuple_cache_returns_the_same_type_per_schema_name_and_fields():
    first = _NamedtupleCache.get('CacheSchema', ['a', 'b'])
    assert first is _NamedtupleCache.get('CacheSchema', ['a', 'b'])
    assert first.__name__ == 'CacheSchema_view'
    assert first._fields == ('a', 'b')
    assert _NamedtupleCache.get('CacheSchema', ['b', 'a']) is not first
    assert _NamedtupleCache.get('OtherSchema', ['a', 'b']) is not first


def test_make_namedtuple_uses_the_cached_type():
    schema = _schema()
    row = schema.make_namedtuple(zeta=1, alpha=2.0, mid=None)
    assert type(row) is _NamedtupleCache.get('NamesSchema', ['zeta', 'alpha', 'mid'])
    assert type(row) is type(_schema().make_namedtuple(zeta=5))  # another schema object, same type


def test_make_namedtuple_tf_takes_positional_and_keyword_values_without_filling_none():
    schema = _schema()
    row = schema.make_namedtuple_tf(1, 2.0, mid=3)
    assert tuple(row) == (1, 2.0, 3)
    assert type(row) is type(schema.make_namedtuple())
    with pytest.raises(TypeError):
        schema.make_namedtuple_tf(zeta=1)  # unlike make_namedtuple: missing fields are not None


def test_field_order_default_preserves_input_order():
    assert unischema._UNISCHEMA_FIELD_ORDER == 'preserve_input_order'
    assert list(_schema().fields) == ['zeta', 'alpha', 'mid']


def test_field_order_alphabetical_sorts_the_fields(monkeypatch):
    monkeypatch.setattr(unischema, '_UNISCHEMA_FIELD_ORDER', 'alphabetical')
    schema = _schema('AlphabeticalSchema')
    assert list(schema.fields) == ['alpha', 'mid', 'zeta']
    assert schema.zeta.numpy_dtype is np.int32


def test_match_unischema_fields_is_a_full_match_and_warns_about_prefix_matches():
    schema = Unischema('M', [UnischemaField('id', np.int32, ()), UnischemaField('id2', np.int32, ()),
                             UnischemaField('name', np.str_, ())])
    with pytest.warns(UserWarning, match='schema_fields behavior has changed. Now, regular expression pattern '
                                         'must match the entire field name'):
        matched = match_unischema_fields(schema, ['id'])
    assert [f.name for f in matched] == ['id']
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a full match of every field it starts: no warning
        assert sorted(f.name for f in match_unischema_fields(schema, ['id.*', 'name'])) == ['id', 'id2', 'name']
        assert match_unischema_fields(schema, []) == []
        assert match_unischema_fields(schema, None) == []


def test_insert_explicit_nulls_adds_none_for_missing_nullable_fields_in_place():
    schema = _schema()
    row = {'zeta': 1, 'mid': np.zeros(2, np.uint8)}
    assert insert_explicit_nulls(schema, row) is None
    assert row['alpha'] is None and row['zeta'] == 1
    with pytest.raises(ValueError, match='Field zeta is not found in the row_dict, but is not nullable.'):
        insert_explicit_nulls(schema, {'alpha': 1.0, 'mid': None})
