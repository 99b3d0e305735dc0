"""petastorm.generator (inventory section 1): generate_datapoint(schema), LIST_SIZE = 13."""
from decimal import Decimal

import numpy as np

from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.generator import LIST_SIZE, generate_datapoint
from petastorm.test_util.reader_mock import ReaderMock
from petastorm.unischema import Unischema, UnischemaField

Schema = Unischema('GenSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(np.int64), False),
    UnischemaField('flag', np.bool_, (), None, False),
    UnischemaField('name', np.str_, (), None, False),
    UnischemaField('dec', Decimal, (), None, False),
    UnischemaField('m', np.float32, (3, None), NdarrayCodec(), False),
    UnischemaField('u8', np.uint8, (None,), NdarrayCodec(), False),
    UnischemaField('s', np.bytes_, (2,), NdarrayCodec(), False),
])


def test_list_size():
    assert LIST_SIZE == 13


def test_fields_types_and_shapes():
    row = generate_datapoint(Schema)
    assert list(row) == list(Schema.fields)
    assert isinstance(row['id'], np.int64)
    assert isinstance(row['flag'], np.bool_)
    assert isinstance(row['name'], str)
    assert isinstance(row['dec'], Decimal)
    assert row['m'].shape == (3, LIST_SIZE) and row['m'].dtype == np.float32
    assert row['u8'].shape == (LIST_SIZE,) and row['u8'].dtype == np.uint8
    assert row['s'].shape == (2,) and row['s'].dtype.kind == 'S'


def test_seeded_reproducible_and_random():
    np.random.seed(3)
    a = generate_datapoint(Schema)
    np.random.seed(3)
    b = generate_datapoint(Schema)
    np.testing.assert_array_equal(a['m'], b['m'])
    assert a['id'] == b['id']
    c = generate_datapoint(Schema)
    assert not np.array_equal(a['m'], c['m'])


def test_as_reader_mock_generator():
    reader = ReaderMock(Schema, generate_datapoint)
    row = next(reader)
    assert row.m.shape == (3, LIST_SIZE)
