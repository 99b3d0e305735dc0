"""petastorm.utils: add_to_dataset_metadata of a pyarrow ParquetDataset (Petastorm's argument)
and of a URL, keeping the other keys; decode_row's contract (inventory sections 3, 5.2)."""
from decimal import Decimal

import numpy as np
import pyarrow.parquet as pq
import pytest

from petastorm import write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.etl.dataset_metadata import UNISCHEMA_KEY, get_schema
from petastorm.unischema import Unischema, UnischemaField
from petastorm.utils import DecodeFieldError, add_to_dataset_metadata, decode_row

UtilsSchema = Unischema('UtilsSchema', [UnischemaField('id', np.int32, ()),
                                        UnischemaField('price', Decimal, (), None, True),
                                        UnischemaField('vec', np.float32, (2,), NdarrayCodec())])


def _store(tmp_path):
    path = tmp_path / 'ds'
    schema = UtilsSchema.create_schema_view([UtilsSchema.id, UtilsSchema.vec])
    write_dataset('file://' + str(path), schema, [{'id': i, 'vec': np.zeros(2, np.float32)} for i in range(5)])
    return path


def test_add_to_dataset_metadata_of_a_parquet_dataset_keeps_the_other_keys(tmp_path):
    path = _store(tmp_path)
    add_to_dataset_metadata(pq.ParquetDataset(str(path)), b'my.key', b'one')
    add_to_dataset_metadata('file://' + str(path), b'other.key', b'two')
    metadata = pq.read_metadata(str(path / '_common_metadata')).metadata
    assert metadata[b'my.key'] == b'one' and metadata[b'other.key'] == b'two'
    assert UNISCHEMA_KEY in metadata
    assert list(get_schema('file://' + str(path)).fields) == ['id', 'vec']


def test_decode_row_decodes_by_codec_or_numpy_type_and_names_the_failing_field():
    encoded = bytearray(NdarrayCodec().encode(UtilsSchema.vec, np.array([1, 2], np.float32)))
    row = decode_row({'id': 7, 'price': '2.25', 'vec': encoded}, UtilsSchema)
    assert type(row['id']) is np.int32 and row['id'] == 7
    assert row['price'] == Decimal('2.25')
    assert row['vec'].tolist() == [1.0, 2.0]
    assert decode_row({'price': None}, UtilsSchema) == {'price': None}
    with pytest.raises(DecodeFieldError, match='Decoding field "vec" failed'):
        decode_row({'vec': b'not npy'}, UtilsSchema)
