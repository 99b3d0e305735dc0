"""petastorm.reader_impl.pickle_serializer / arrow_table_serializer (inventory section 1)."""
from decimal import Decimal

import numpy as np
import pyarrow as pa

from petastorm.reader_impl.arrow_table_serializer import ArrowTableSerializer
from petastorm.reader_impl.pickle_serializer import PickleSerializer


def test_pickle_round_trip():
    rows = [{'id': 1, 'm': np.arange(6).reshape(2, 3), 'd': Decimal('1.5')}, {'id': 2, 'm': None, 'd': None}]
    s = PickleSerializer()
    data = s.serialize(rows)
    assert isinstance(data, bytes)
    back = s.deserialize(data)
    assert back[0]['id'] == 1 and back[0]['d'] == Decimal('1.5') and back[1]['m'] is None
    np.testing.assert_array_equal(back[0]['m'], rows[0]['m'])


def test_arrow_round_trip():
    table = pa.table({'id': pa.array([1, 2, 3], pa.int64()), 's': ['a', None, 'c'],
                      'l': pa.array([[1, 2], [], [3]], pa.list_(pa.int32()))})
    table = pa.concat_tables([table, table])  # several chunks
    s = ArrowTableSerializer()
    back = s.deserialize(s.serialize(table))
    assert back.equals(table)
    assert back.schema == table.schema


def test_arrow_empty_table():
    table = pa.table({'id': pa.array([], pa.int64())})
    s = ArrowTableSerializer()
    back = s.deserialize(s.serialize(table))
    assert back.num_rows == 0 and back.schema == table.schema
