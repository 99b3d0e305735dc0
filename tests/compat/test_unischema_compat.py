"""Unischema.from_arrow_schema and transform_schema with UnischemaField edit_fields (inventory 6.x)."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from petastorm.codecs import NdarrayCodec
from petastorm.transform import TransformSpec, edit_field, transform_schema
from petastorm.unischema import Unischema, UnischemaField


def test_from_arrow_schema_puts_partition_keys_first(tmp_path):
    pq.write_to_dataset(pa.table({'id': pa.array([1, 2, 3, 4], pa.int64()), 'x': [0.5, 1.5, 2.5, 3.5],
                                  'tags': [[1], [2, 3], [], [4]], 'p': ['a', 'a', 'b', 'b']}),
                        str(tmp_path), partition_cols=['p'])
    for source in (pq.ParquetDataset(str(tmp_path)), 'file://' + str(tmp_path)):
        schema = Unischema.from_arrow_schema(source)
        assert schema._name == 'inferred_schema'
        assert list(schema.fields) == ['p', 'id', 'x', 'tags']
        p, id_, x, tags = schema.fields.values()
        assert p.numpy_dtype == np.str_ and id_.numpy_dtype == np.int64 and x.numpy_dtype == np.float64
        assert tags.shape == (None,) and tags.numpy_dtype == np.int64
        assert all(f.codec is None for f in schema.fields.values())


def test_transform_schema_takes_unischema_fields_and_tuples():
    schema = Unischema('S', [UnischemaField('a', np.int32, (), None, False),
                             UnischemaField('b', np.uint8, (4,), NdarrayCodec(), False)])
    spec = TransformSpec(edit_fields=[UnischemaField('b', np.float32, (2, 2), NdarrayCodec(), True),
                                      edit_field('c', np.int64, (), True)])
    out = transform_schema(schema, spec)
    assert out._name == 'S_transformed'
    assert list(out.fields) == ['a', 'b', 'c']
    assert out.fields['b'] == UnischemaField('b', np.float32, (2, 2), NdarrayCodec(), True)
    assert out.fields['c'].codec is None and out.fields['c'].nullable is True
