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
    # Scalar fields are 0-d arrays of the field's dtype, as Petastorm 0.13.1 makes them.
    assert isinstance(row['id'], np.ndarray) and row['id'].shape == () and row['id'].dtype == np.int64
    assert row['flag'].shape == () and row['flag'].dtype == np.bool_
    assert row['name'].shape == () and row['name'].dtype.kind == 'U' and str(row['name']).startswith('random_')
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


def test_generated_rows_write_and_read_back(tmp_path):
    import pyarrow as pa
    from petastorm import make_reader, write_dataset
    from petastorm.codecs import NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    schema = Unischema('G', [UnischemaField('i', np.int32, (), ScalarCodec(pa.int32()), False),
                             UnischemaField('s', np.str_, (), ScalarCodec(pa.string()), False),
                             UnischemaField('a', np.float32, (2, None), NdarrayCodec(), False)])
    np.random.seed(3)
    rows = [generate_datapoint(schema) for _ in range(5)]
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, schema, rows)
    with make_reader(url, shuffle_row_groups=False) as reader:
        out = list(reader)
    assert [int(r.i) for r in out] == [int(r['i']) for r in rows]
    assert [r.s for r in out] == [str(r['s']) for r in rows]
    assert all(np.array_equal(a.a, b['a']) for a, b in zip(out, rows))
