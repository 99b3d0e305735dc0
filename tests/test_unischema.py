"""Behaviour of petastorm.unischema: UnischemaField, Unischema, schema views, namedtuples, the
JSON form stored in datasets, validation, and the Spark schema mapping."""
import json
import re
import warnings
from collections import OrderedDict
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

import petastorm
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField, match_unischema_fields


def _schema():
    return Unischema('TestSchema', [
        UnischemaField('id', np.int32, (), None, False),
        UnischemaField('id2', np.int32, (), None, False),
        UnischemaField('id_float', np.float64, (), None, True),
        UnischemaField('name', np.str_, (), None, True),
        UnischemaField('matrix', np.float32, (None, 3), NdarrayCodec(), False),
        UnischemaField('image', np.uint8, (4, 5, 3), CompressedImageCodec('png'), False),
    ])


# --------------------------------------------------------------------------------------------
# UnischemaField
# --------------------------------------------------------------------------------------------

def test_field_equality_and_hash_ignore_the_codec():
    a = UnischemaField('f', np.int32, (None, 2), NdarrayCodec(), False)
    b = UnischemaField('f', np.int32, (None, 2), CompressedNdarrayCodec(), False)
    c = UnischemaField('f', np.int32, (None, 2), None, False)
    assert a == b == c
    assert not (a != b)
    assert hash(a) == hash(b) == hash(c)
    assert len({a, b, c}) == 1
    assert {a: 1}[c] == 1


@pytest.mark.parametrize('other', [
    UnischemaField('g', np.int32, (None, 2), NdarrayCodec(), False),
    UnischemaField('f', np.int64, (None, 2), NdarrayCodec(), False),
    UnischemaField('f', np.int32, (3, 2), NdarrayCodec(), False),
    UnischemaField('f', np.int32, (None,), NdarrayCodec(), False),
    UnischemaField('f', np.int32, (None, 2), NdarrayCodec(), True),
], ids=['name', 'dtype', 'shape', 'rank', 'nullable'])
def test_field_inequality(other):
    field = UnischemaField('f', np.int32, (None, 2), NdarrayCodec(), False)
    assert field != other
    assert not (field == other)
    assert len({field, other}) == 2


def test_field_defaults_and_namedtuple_access():
    field = UnischemaField('f', np.int16, ())
    assert field.codec is None and field.nullable is False
    name, dtype, shape, codec, nullable = field
    assert (name, dtype, shape, codec, nullable) == ('f', np.int16, (), None, False)
    assert field._fields == ('name', 'numpy_dtype', 'shape', 'codec', 'nullable')


# --------------------------------------------------------------------------------------------
# Unischema
# --------------------------------------------------------------------------------------------

def test_schema_keeps_field_order_and_exposes_attributes():
    schema = _schema()
    assert isinstance(schema.fields, OrderedDict)
    assert list(schema.fields) == ['id', 'id2', 'id_float', 'name', 'matrix', 'image']
    assert schema.id is schema.fields['id']
    assert schema.image.codec == CompressedImageCodec('png')
    assert schema.matrix.shape == (None, 3)
    reversed_schema = Unischema('R', list(reversed(list(schema.fields.values()))))
    assert list(reversed_schema.fields) == ['image', 'matrix', 'name', 'id_float', 'id2', 'id']


def test_schema_warns_on_attribute_conflicts():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        schema = Unischema('W', [UnischemaField('fields', np.int32, ()), UnischemaField('x', np.int32, ())])
    assert any('Can not create dynamic property fields' in str(w.message) for w in caught)
    assert isinstance(schema.fields, OrderedDict)  # the property still works
    assert list(schema.fields) == ['fields', 'x']
    assert schema.x.name == 'x'


def test_schema_str():
    text = str(Unischema('S', [UnischemaField('id', np.int32, (), None, False),
                               UnischemaField('m', np.uint8, (None, 2), NdarrayCodec(), True)]))
    assert text.startswith('Unischema(S, [')
    assert "UnischemaField('id', int32, (), None, False)" in text
    assert "UnischemaField('m', uint8, (None, 2), NdarrayCodec(), True)" in text


# --------------------------------------------------------------------------------------------
# create_schema_view / match_unischema_fields / make_namedtuple
# --------------------------------------------------------------------------------------------

def test_view_with_fields_keeps_the_given_order():
    schema = _schema()
    view = schema.create_schema_view([schema.name, schema.id])
    assert isinstance(view, Unischema)
    assert list(view.fields) == ['name', 'id']
    assert view.fields['name'] is schema.fields['name']
    assert view.id is schema.id


def test_view_with_regex_is_a_full_match():
    schema = _schema()
    assert list(schema.create_schema_view(['id']).fields) == ['id']      # not id2, not id_float
    assert list(schema.create_schema_view(['id.*']).fields) == ['id', 'id2', 'id_float']
    assert list(schema.create_schema_view(['i']).fields) == []
    assert list(schema.create_schema_view(['.*a.*e']).fields) == ['name', 'image']
    assert list(schema.create_schema_view(['id2|name']).fields) == ['id2', 'name']


def test_view_with_fields_and_regexes():
    schema = _schema()
    view = schema.create_schema_view([schema.image, 'id.*', 'image'])
    # exact fields first, then regex matches in schema order; no duplicates
    assert list(view.fields) == ['image', 'id', 'id2', 'id_float']


def test_view_of_unknown_field_raises():
    schema = _schema()
    with pytest.raises(ValueError, match='does not belong to the schema'):
        schema.create_schema_view([UnischemaField('other', np.int32, (), None, False)])


@pytest.mark.parametrize('element', [42, None, 3.5, re.compile('id'), b'id'])
def test_view_with_a_non_string_non_field_element_raises(element):
    schema = _schema()
    with pytest.raises(ValueError, match='Elements of "fields" must be either a string'):
        schema.create_schema_view([schema.id, element])


def test_match_unischema_fields():
    schema = _schema()
    assert [f.name for f in match_unischema_fields(schema, ['id'])] == ['id']
    assert sorted(f.name for f in match_unischema_fields(schema, ['id.*', 'name'])) == \
        ['id', 'id2', 'id_float', 'name']
    assert match_unischema_fields(schema, ['nam']) == []
    assert match_unischema_fields(schema, []) == []
    assert match_unischema_fields(schema, None) == []
    matched = match_unischema_fields(schema, ['matrix'])
    assert matched == [schema.matrix] and matched[0].codec == NdarrayCodec()


def test_make_namedtuple_fills_missing_fields_with_none():
    schema = _schema()
    row = schema.make_namedtuple(id=1, name='x')
    assert row._fields == ('id', 'id2', 'id_float', 'name', 'matrix', 'image')
    assert row.id == 1 and row.name == 'x'
    assert row.id2 is None and row.matrix is None and row.image is None


def test_make_namedtuple_type_is_cached_per_schema_view():
    schema = _schema()
    assert type(schema.make_namedtuple()) is type(schema.make_namedtuple(id=3))
    view1 = schema.create_schema_view(['id', 'name'])
    view2 = schema.create_schema_view([schema.id, schema.name])
    t1, t2 = type(view1.make_namedtuple()), type(view2.make_namedtuple(id=5))
    assert t1 is t2
    assert t1._fields == ('id', 'name')
    assert type(schema.create_schema_view(['name', 'id2']).make_namedtuple()) is not t1
    assert type(schema.make_namedtuple()).__name__ == 'TestSchema_view'


def test_make_namedtuple_rejects_unknown_fields():
    with pytest.raises(TypeError):
        _schema().make_namedtuple(nope=1)


# --------------------------------------------------------------------------------------------
# JSON form
# --------------------------------------------------------------------------------------------

def _rich_schema():
    return Unischema('Rich', [
        UnischemaField('i32', np.int32, (), None, False),
        UnischemaField('u8', np.uint8, (), None, True),
        UnischemaField('text', np.str_, (), None, True),
        UnischemaField('raw', np.bytes_, (), None, False),
        UnischemaField('dec', Decimal, (), ScalarCodec(pa.decimal128(10, 9)), False),
        UnischemaField('ts', np.datetime64, (), ScalarCodec(pa.timestamp('us', tz='UTC')), True),
        UnischemaField('dt', np.datetime64, (), None, False),
        UnischemaField('half', np.float16, (2, None), CompressedNdarrayCodec(), False),
        UnischemaField('flags', np.bool_, (None,), NdarrayCodec(), False),
        UnischemaField('png', np.uint16, (None, None), CompressedImageCodec('png', 80), False),
        UnischemaField('jpeg', np.uint8, (None, 4, 3), CompressedImageCodec('jpeg', 93), True),
        UnischemaField('count', np.int64, (), ScalarCodec(np.int64), False),
        UnischemaField('label', np.str_, (), ScalarCodec(pa.string()), False),
        UnischemaField('c128', np.complex128, (3,), NdarrayCodec(), False),
    ])


def _codec_state(codec):
    if codec is None:
        return None
    state = {'type': type(codec), 'str': str(codec)}
    if isinstance(codec, CompressedImageCodec):
        state.update(image_codec=codec.image_codec, quality=codec._quality)
    if isinstance(codec, ScalarCodec):
        state.update(arrow_type=codec.arrow_type())
    return state


def _field_state(field):
    return (field.name, field.numpy_dtype, tuple(field.shape), bool(field.nullable), _codec_state(field.codec))


def test_json_round_trip():
    schema = _rich_schema()
    restored = Unischema.from_json(schema.to_json())
    assert isinstance(restored, Unischema)
    assert list(restored.fields) == list(schema.fields)
    for name, field in schema.fields.items():
        assert _field_state(restored.fields[name]) == _field_state(field), name
        assert restored.fields[name].numpy_dtype is field.numpy_dtype, name
    assert restored.fields['dec'].codec.arrow_type() == pa.decimal128(10, 9)
    assert restored.fields['ts'].codec.arrow_type() == pa.timestamp('us', tz='UTC')
    assert restored.fields['jpeg'].codec._quality == 93
    assert restored.fields['jpeg'].codec.image_codec == 'jpeg'
    assert restored.fields['half'].shape == (2, None)
    assert restored.fields['jpeg'].nullable is True and restored.fields['i32'].nullable is False
    assert restored.to_json() == schema.to_json()


def test_json_is_versioned_plain_json_without_pickle():
    text = _rich_schema().to_json()
    doc = json.loads(text)
    assert doc['version'] == 1
    assert doc['name'] == 'Rich'
    assert [f['name'] for f in doc['fields']] == list(_rich_schema().fields)
    lowered = text.lower()
    assert 'pickle' not in lowered and 'gasv' not in lowered and 'cnumpy' not in lowered

    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        elif isinstance(node, str):
            yield node
    assert all(len(s) < 100 for s in strings(doc))  # no encoded blobs
    by_name = {f['name']: f for f in doc['fields']}
    assert by_name['half']['shape'] == [2, None]
    assert by_name['jpeg']['nullable'] is True


@pytest.mark.parametrize('text', ['', 'not json', '[]', '{}', '{"version": 1}'])
def test_from_json_rejects_malformed_text(text):
    with pytest.raises(ValueError):
        Unischema.from_json(text)


def test_from_json_rejects_a_newer_version():
    doc = json.loads(_schema().to_json())
    doc['version'] = 2
    with pytest.raises((ValueError, NotImplementedError), match='version'):
        Unischema.from_json(json.dumps(doc))


def test_stored_schema_read_back_from_a_dataset(tmp_path):
    schema = Unischema('Stored', [
        UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
        UnischemaField('dec', Decimal, (), ScalarCodec(pa.decimal128(10, 9)), True),
        UnischemaField('m', np.float32, (None, 2), CompressedNdarrayCodec(), False),
        UnischemaField('img', np.uint8, (4, 5, 3), CompressedImageCodec('jpeg', 91), False),
        UnischemaField('s', np.str_, (), None, True),
    ])
    rows = [{'id': i, 'dec': None, 'm': np.zeros((i, 2), np.float32), 'img': np.zeros((4, 5, 3), np.uint8),
             's': 'x' * i} for i in range(2)]
    url = str(tmp_path / 'stored')
    petastorm.write_dataset(url, schema, rows)
    with petastorm.make_reader(url) as reader:
        stored = reader.schema
        list(reader)
    assert list(stored.fields) == list(schema.fields)
    for name, field in schema.fields.items():
        assert _field_state(stored.fields[name]) == _field_state(field), name


# --------------------------------------------------------------------------------------------
# Invalid schemas
# --------------------------------------------------------------------------------------------

def test_duplicate_field_names_raise():
    with pytest.raises(ValueError, match='dup'):
        Unischema('D', [UnischemaField('dup', np.int32, ()), UnischemaField('ok', np.int32, ()),
                        UnischemaField('dup', np.int64, ())])


def _rejected_at_construction_or_write(schema_factory, row, tmp_path, match):
    """Invalid schemas must raise ValueError when built or, at the latest, when a dataset is written."""
    try:
        schema = schema_factory()
    except ValueError as e:
        assert re.search(match, str(e)), str(e)
        return
    with pytest.raises(ValueError, match=match):
        schema.to_json()
    url = str(tmp_path / 'invalid')
    with pytest.raises(ValueError, match=match):
        petastorm.write_dataset(url, schema, [row])
    assert not (tmp_path / 'invalid' / '_common_metadata').exists()


def test_non_scalar_field_without_codec_raises(tmp_path):
    _rejected_at_construction_or_write(
        lambda: Unischema('N', [UnischemaField('vec', np.int32, (3,), None, False)]),
        {'vec': np.zeros(3, np.int32)}, tmp_path, 'vec')


@pytest.mark.parametrize('dtype', [np.object_, np.void, np.timedelta64], ids=lambda t: t.__name__)
def test_unsupported_numpy_dtype_raises(tmp_path, dtype):
    _rejected_at_construction_or_write(
        lambda: Unischema('O', [UnischemaField('obj', dtype, (), None, False)]),
        {'obj': None}, tmp_path, 'numpy_dtype|obj')


# --------------------------------------------------------------------------------------------
# as_spark_schema (pyspark is optional)
# --------------------------------------------------------------------------------------------

def test_as_spark_schema():
    pytest.importorskip('pyspark')
    from pyspark.sql import types as st
    schema = Unischema('Spark', [
        UnischemaField('i32', np.int32, (), None, False),
        UnischemaField('u8', np.uint8, (), None, True),
        UnischemaField('i8', np.int8, (), None, False),
        UnischemaField('i16', np.int16, (), None, False),
        UnischemaField('u16', np.uint16, (), None, False),
        UnischemaField('i64', np.int64, (), None, False),
        UnischemaField('f32', np.float32, (), None, False),
        UnischemaField('f64', np.float64, (), None, False),
        UnischemaField('s', np.str_, (), None, False),
        UnischemaField('b', np.bool_, (), None, False),
        UnischemaField('arr', np.float32, (None,), NdarrayCodec(), False),
        UnischemaField('img', np.uint8, (2, 2, 3), CompressedImageCodec('png'), False),
        UnischemaField('carr', np.int32, (2,), CompressedNdarrayCodec(), False),
        UnischemaField('si', np.int32, (), ScalarCodec(st.IntegerType()), False),
        UnischemaField('sd', Decimal, (), ScalarCodec(st.DecimalType(10, 9)), True),
        UnischemaField('sa', np.int64, (), ScalarCodec(pa.int64()), False),
    ])
    spark = schema.as_spark_schema()
    assert isinstance(spark, st.StructType)
    got = {f.name: (f.dataType, f.nullable) for f in spark.fields}
    assert [f.name for f in spark.fields] == list(schema.fields)
    assert got == {
        'i32': (st.IntegerType(), False), 'u8': (st.ShortType(), True), 'i8': (st.ByteType(), False),
        'i16': (st.ShortType(), False), 'u16': (st.IntegerType(), False), 'i64': (st.LongType(), False),
        'f32': (st.FloatType(), False), 'f64': (st.DoubleType(), False), 's': (st.StringType(), False),
        'b': (st.BooleanType(), False), 'arr': (st.BinaryType(), False), 'img': (st.BinaryType(), False),
        'carr': (st.BinaryType(), False), 'si': (st.IntegerType(), False),
        'sd': (st.DecimalType(10, 9), True), 'sa': (st.LongType(), False),
    }


def test_as_spark_schema_errors():
    pytest.importorskip('pyspark')
    with pytest.raises(ValueError, match="non-scalar UnischemaField 'v'"):
        Unischema('E', [UnischemaField('v', np.int32, (2,), None, False)]).as_spark_schema()
    with pytest.raises(ValueError, match='Was not able to map type'):
        Unischema('E', [UnischemaField('d', Decimal, (), None, False)]).as_spark_schema()


def test_dict_to_spark_row_checks_and_encodes():
    pytest.importorskip('pyspark')
    import pickle
    from pyspark.sql import Row
    from pyspark.sql.types import IntegerType, StringType
    from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row, insert_explicit_nulls
    schema = Unischema('S', [UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
                             UnischemaField('name', np.str_, (), ScalarCodec(StringType()), True),
                             UnischemaField('image', np.uint8, (2, 3, 3), CompressedImageCodec('png'), False),
                             UnischemaField('m', np.float32, (None,), NdarrayCodec(), True),
                             UnischemaField('plain', np.int64, (), None, False)])
    given = {'image': np.zeros((2, 3, 3), np.uint8), 'id': 4, 'plain': np.int64(9)}
    row = dict_to_spark_row(schema, given)
    assert isinstance(row, Row) and row.__fields__ == ['id', 'name', 'image', 'm', 'plain']
    assert row.id == 4 and row.name is None and row.m is None and row.plain == 9 and type(row.plain) is int
    assert bytes(row.image).startswith(b'\x89PNG') and set(given) == {'image', 'id', 'plain'}  # input unchanged
    with pytest.raises(ValueError, match='Field image is not found in the row_dict, but is not nullable'):
        dict_to_spark_row(schema, {'id': 1, 'plain': 1})
    with pytest.raises(ValueError, match='do not match schema fields'):
        dict_to_spark_row(schema, dict(given, extra=1))
    with pytest.raises(ValueError, match='Field id is not "nullable"'):
        dict_to_spark_row(schema, dict(given, id=None))
    with pytest.raises(ValueError, match="Unexpected type of 'image' feature"):
        dict_to_spark_row(schema, dict(given, image=np.zeros((2, 3, 3), np.int16)))
    with pytest.raises(ValueError, match="Unexpected dimensions of 'image' feature"):
        dict_to_spark_row(schema, dict(given, image=np.zeros((3, 3, 3), np.uint8)))
    with pytest.raises(ValueError, match='string'):
        dict_to_spark_row(schema, dict(given, name=5))
    row_dict = {'id': 1}
    with pytest.raises(ValueError, match='Field image'):
        insert_explicit_nulls(schema, row_dict)
    row_dict = {'id': 1, 'image': None, 'plain': 1}
    insert_explicit_nulls(schema, row_dict)
    assert row_dict == {'id': 1, 'image': None, 'plain': 1, 'name': None, 'm': None}
    # A schema whose C++ form was made still pickles (Spark ships it to its workers).
    schema.core_schema()
    copy = pickle.loads(pickle.dumps(schema))
    assert list(copy.fields) == list(schema.fields) and copy.core_schema().name == 'S'
