"""The user guide's hello world: write HelloWorldSchema with the native writer, read it back.

    python examples/hello_world/hello_world.py [--output-url file:///tmp/hello_world_dataset] [--rows 1000]
"""
import argparse
import time

import numpy as np

from petastorm import make_reader, write_dataset
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

_ID_TYPE: object  # ScalarCodec takes a numpy type or a pyspark type
try:  # the user guide writes ScalarCodec(IntegerType()); pyspark is optional here
    from pyspark.sql.types import IntegerType
    _ID_TYPE = IntegerType()
except ImportError:
    _ID_TYPE = np.int32

HelloWorldSchema = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(_ID_TYPE), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])


def row_generator(x):
    """One row of random values, as in the user guide (seeded by the row id)."""
    rng = np.random.default_rng(x)
    return {'id': x,
            'image1': rng.integers(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'array_4d': rng.integers(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}


def generate_petastorm_dataset(output_url, rows_count):
    return write_dataset(output_url, HelloWorldSchema, (row_generator(i) for i in range(rows_count)),
                         rowgroup_size_mb=16, mode='overwrite')


def python_hello_world(dataset_url, rows_count):
    start = time.perf_counter()
    count = 0
    with make_reader(dataset_url) as reader:
        for row in reader:
            if count < 3:
                print('id={} image1 {} {} array_4d {} {}'.format(
                    row.id, row.image1.dtype, row.image1.shape, row.array_4d.dtype, row.array_4d.shape))
            expected = row_generator(int(row.id))
            assert np.array_equal(row.image1, expected['image1']), 'image1 differs in row {}'.format(row.id)
            assert np.array_equal(row.array_4d, expected['array_4d']), 'array_4d differs in row {}'.format(row.id)
            count += 1
    elapsed = time.perf_counter() - start
    assert count == rows_count, 'read {} rows, wrote {}'.format(count, rows_count)
    return count, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--output-url', default='file:///tmp/hello_world_dataset')
    parser.add_argument('--rows', type=int, default=1000)
    args = parser.parse_args()

    start = time.perf_counter()
    written = generate_petastorm_dataset(args.output_url, args.rows)
    write_s = time.perf_counter() - start
    print('Wrote {} rows to {} in {:.2f} s ({:.0f} rows/s)'.format(written, args.output_url, write_s,
                                                                   written / write_s))
    count, elapsed = python_hello_world(args.output_url, args.rows)
    print('Read {} rows back, values equal to what was written (checked while reading), '
          'in {:.2f} s including the check: {:.0f} rows/s'.format(count, elapsed, count / elapsed))
    start = time.perf_counter()
    with make_reader(args.output_url) as reader:
        n = sum(1 for _ in reader)
    elapsed = time.perf_counter() - start
    print('Read throughput: {:.0f} rows/s ({} rows in {:.2f} s)'.format(n / elapsed, n, elapsed))


if __name__ == '__main__':
    main()
