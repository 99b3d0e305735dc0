"""Shared by this package's tests and the original Petastorm 0.13.1 (.venv-ref): the schemas
and rows of the compatibility tests, built from whichever ``petastorm`` is imported, and a
neutral form of read values to compare across the two environments (numpy 1 and 2).

    .venv-ref/bin/python tests/petastorm_compat_job.py generate URL SCHEMA   (Spark, Petastorm's writer)
    .venv-ref/bin/python tests/petastorm_compat_job.py read URL SCHEMA OUT   (Petastorm's make_reader)
"""
import json
import sys
from decimal import Decimal

import numpy as np


def make_schemas():
    """{name: Unischema} of the user guide's HelloWorldSchema and a schema with every codec,
    nullable fields, Decimal and strings."""
    from pyspark.sql.types import DecimalType, IntegerType, LongType, ShortType, StringType
    from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    hello = Unischema('HelloWorldSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
        UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
    ])
    every = Unischema('EveryCodecSchema', [
        UnischemaField('id', np.int64, (), ScalarCodec(LongType()), False),
        UnischemaField('id2', np.int32, (), ScalarCodec(ShortType()), False),
        UnischemaField('small', np.uint8, (), None, False),
        UnischemaField('ratio', np.float64, (), None, False),
        UnischemaField('flag', np.bool_, (), None, False),
        UnischemaField('name', np.str_, (), ScalarCodec(StringType()), False),
        UnischemaField('maybe_int', np.int32, (), ScalarCodec(IntegerType()), True),
        UnischemaField('price', Decimal, (), ScalarCodec(DecimalType(10, 3)), False),
        UnischemaField('png', np.uint8, (8, 6, 3), CompressedImageCodec('png'), False),
        UnischemaField('gray_png', np.uint8, (5, 7), CompressedImageCodec('png'), False),
        UnischemaField('jpeg', np.uint8, (16, 16, 3), CompressedImageCodec('jpeg', quality=90), False),
        UnischemaField('matrix', np.float32, (3, None), NdarrayCodec(), False),
        UnischemaField('packed', np.int16, (4, 4), CompressedNdarrayCodec(), False),
        UnischemaField('words', np.str_, (None,), NdarrayCodec(), True),
        UnischemaField('blobs', np.bytes_, (2,), NdarrayCodec(), False),
        UnischemaField('maybe_matrix', np.uint16, (2, 2), NdarrayCodec(), True),
    ])
    return {'hello': hello, 'every': every}


def hello_world_row(x):
    rng = np.random.RandomState(x)
    return {'id': x,
            'image1': rng.randint(0, 255, size=(128, 256, 3)).astype(np.uint8),
            'array_4d': rng.randint(0, 255, size=(1 + x % 3, 128, 30, 3)).astype(np.uint8)}


def every_codec_row(i):
    rng = np.random.RandomState(i)
    return {
        'id': i, 'id2': i % 7, 'small': np.uint8(i % 256), 'ratio': i / 3.0, 'flag': bool(i % 2),
        'name': 'row-{}'.format(i), 'maybe_int': None if i % 3 == 0 else i * 10,
        'price': Decimal(i) / Decimal(8),
        'png': rng.randint(0, 255, size=(8, 6, 3)).astype(np.uint8),
        'gray_png': rng.randint(0, 255, size=(5, 7)).astype(np.uint8),
        'jpeg': np.full((16, 16, 3), (i * 9) % 250, dtype=np.uint8),
        'matrix': rng.rand(3, 1 + i % 4).astype(np.float32),
        'packed': rng.randint(-1000, 1000, size=(4, 4)).astype(np.int16),
        'words': None if i % 4 == 0 else np.array(['w{}'.format(j) for j in range(i % 3)], dtype=np.str_),
        'blobs': np.array([b'a\x00b', 'x{}'.format(i).encode()], dtype=np.bytes_),
        'maybe_matrix': None if i % 2 else np.arange(4, dtype=np.uint16).reshape(2, 2) + i,
    }


ROWS = {'hello': (hello_world_row, 12), 'every': (every_codec_row, 30)}


def neutral(value):
    """A JSON-able form of a read value that says its type: ['array', dtype, shape, values],
    ['scalar', numpy dtype, value], ['Decimal', text], [python type name, value], None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1).tolist()
        flat = [v.decode('latin-1') if isinstance(v, bytes) else v for v in flat]
        return ['array', value.dtype.str, list(value.shape), flat]
    if isinstance(value, np.generic):
        item = value.item()
        return ['scalar', np.dtype(type(value)).str, item.decode('latin-1') if isinstance(item, bytes) else item]
    if isinstance(value, Decimal):
        return ['Decimal', str(value)]
    if isinstance(value, bytes):
        return ['bytes', value.decode('latin-1')]
    return [type(value).__name__, value]


def differences(ours, theirs, schema_name):
    """The ways two read_neutral results of `schema_name` differ (JPEG pixels may differ by 2
    between two decoder builds), and whether they hold the generator's values; [] when none."""
    found = []
    row_fn, count = ROWS[schema_name]
    if sorted(ours, key=int) != sorted(theirs, key=int) or len(ours) != count:
        return ['row ids differ: {} rows vs {} (expected {})'.format(len(ours), len(theirs), count)]
    for row_id, row in ours.items():
        for field, value in row.items():
            other = theirs[row_id].get(field)
            if field == 'jpeg' and value and other:
                same = value[:3] == other[:3] and np.abs(np.array(value[3]) - np.array(other[3])).max() <= 2
            else:
                same = value == other
            if not same:
                found.append('row {} field {}: {!r} vs {!r}'.format(row_id, field, value, other)[:300])
        for field, written in row_fn(int(row_id)).items():
            if written is None:
                if row[field] is not None:
                    found.append('row {} field {}: wrote None, read {!r}'.format(row_id, field, row[field])[:300])
            elif isinstance(written, np.ndarray) and field != 'jpeg':
                if row[field] is None or row[field][3] != neutral(written)[3]:
                    found.append('row {} field {}: read values differ from those written'.format(row_id, field))
    return found


def read_neutral(url):
    """{id: {field: neutral value}} of make_reader(url) (whichever petastorm is imported)."""
    from petastorm import make_reader
    out = {}
    with make_reader(url, workers_count=1, shuffle_row_groups=False) as reader:
        for row in reader:
            values = row._asdict()
            out[str(int(values['id']))] = {k: neutral(v) for k, v in values.items()}
    return out


def generate(url, schema_name):
    """The dataset of `schema_name`, written with Spark (local[2]) inside materialize_dataset."""
    from pyspark.sql import SparkSession
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.unischema import dict_to_spark_row
    schema = make_schemas()[schema_name]
    row_fn, count = ROWS[schema_name]
    spark = SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false').getOrCreate()
    spark.sparkContext.setLogLevel('ERROR')
    try:
        with materialize_dataset(spark, url, schema, 1):
            rdd = spark.sparkContext.parallelize(range(count), 2).map(row_fn) \
                .map(lambda x: dict_to_spark_row(schema, x))
            spark.createDataFrame(rdd, schema.as_spark_schema()).write.mode('overwrite').parquet(url)
    finally:
        spark.stop()


if __name__ == '__main__':
    command = sys.argv[1]
    if command == 'generate':
        generate(sys.argv[2], sys.argv[3])
    elif command == 'read':
        with open(sys.argv[4], 'w') as f:
            json.dump(read_neutral(sys.argv[2]), f)
    else:
        raise SystemExit('unknown command {!r}'.format(command))
