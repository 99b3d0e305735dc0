"""Schemas and row generators of the Spark generation tests, importable by Spark's Python
workers (tests/ is on their PYTHONPATH)."""
from decimal import Decimal

import numpy as np
from pyspark.sql.types import DecimalType, IntegerType, LongType, ShortType, StringType

from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

# The user guide's schema.
HelloWorldSchema = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])


def hello_world_row(x):
    """The guide's row_generator, seeded by the row id so that tests know the values."""
    rng = np.random.RandomState(x)
    return {'id': x,
            'image1': rng.randint(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'array_4d': rng.randint(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}


# Every codec, nullable fields, Decimal, strings, widened scalars.
EveryCodecSchema = Unischema('EveryCodecSchema', [
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
