"""Writes the seed corpora of the libFuzzer targets (cpp/CMakeLists.txt, PETASTORM_FUZZERS).

    .venv/bin/python cpp/fuzz/make_corpus.py build/fuzz/corpus

makes <out>/<target>/ for each target: small valid inputs made by this package (a dataset written
by write_dataset, its cells, its metadata, local-disk cache entries of a make_reader over it), by
numpy (.npy, .npz), Pillow (PNG, JPEG modes) and pyarrow (Parquet files of many types), plus a few
hand-made edge cases. The seeds are generated, never stored in the repository; the fuzzers add what
they find to the same directories.
"""
import argparse
import io
import json
import os
import shutil
import tempfile
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from petastorm import make_reader, write_dataset
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

TARGETS = ['npy_format', 'npz_container', 'png_decode', 'jpeg_decode', 'json_metadata', 'cache_entry',
           'parquet_file']

FuzzSchema = Unischema('FuzzSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(pa.int64()), False),
    UnischemaField('name', np.str_, (), ScalarCodec(pa.string()), True),
    UnischemaField('matrix', np.float32, (None, 3), NdarrayCodec(), True),
    UnischemaField('packed', np.int16, (8, 8), CompressedNdarrayCodec(), False),
    UnischemaField('image', np.uint8, (None, None, 3), CompressedImageCodec('png'), False),
    UnischemaField('photo', np.uint8, (16, 16, 3), CompressedImageCodec('jpeg', 90), False),
])


class Corpus:
    def __init__(self, root):
        self.root = root
        self.counts = {}
        for target in TARGETS:
            os.makedirs(os.path.join(root, target), exist_ok=True)

    def add(self, target, name, data):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(self.root, target, 'seed-' + name), 'wb') as f:
            f.write(data)
        self.counts[target] = self.counts.get(target, 0) + 1


def npy_bytes(array, version=None):
    f = io.BytesIO()
    if version is None:
        np.save(f, array, allow_pickle=False)
    else:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    return f.getvalue()


def image_bytes(image, fmt, **kwargs):
    f = io.BytesIO()
    image.save(f, format=fmt, **kwargs)
    return f.getvalue()


def seeds_npy(corpus, rng):
    arrays = {
        'f32': rng.random((4, 3), dtype=np.float32),
        'u8': rng.integers(0, 255, (4, 3), dtype=np.uint8),
        'i64_3d': rng.integers(-5, 5, (2, 3, 4)),
        'bool': np.array([True, False, True]),
        'scalar': np.float64(3.5),
        'empty': np.zeros((0, 3), np.float32),
        'fortran': np.asfortranarray(rng.random((3, 4))),
        'f16': np.ones(5, np.float16),
        'c128': np.array([1 + 2j, 3 - 4j]),
        'bytes': np.array([b'ab', b'c']),
        'str': np.array(['xy', 'z']),
        'datetime': np.array(['2020-01-01', '2021-06-30'], dtype='datetime64[D]'),
    }
    for name, array in arrays.items():
        corpus.add('npy_format', name + '.npy', npy_bytes(array))
    corpus.add('npy_format', 'v2.npy', npy_bytes(arrays['f32'], version=(2, 0)))
    corpus.add('npy_format', 'v3.npy', npy_bytes(arrays['str'], version=(3, 0)))
    corpus.add('npy_format', 'big_endian.npy', npy_bytes(arrays['f32'].astype('>f4')))
    return arrays


def seeds_npz(corpus, arrays):
    for name in ('f32', 'i64_3d', 'empty', 'fortran', 'str'):
        f = io.BytesIO()
        np.savez_compressed(f, arr=arrays[name])
        corpus.add('npz_container', name + '.npz', f.getvalue())
    f = io.BytesIO()
    np.savez(f, arr=arrays['u8'])  # stored, not deflated
    corpus.add('npz_container', 'stored.npz', f.getvalue())
    f = io.BytesIO()
    np.savez_compressed(f, arr=np.zeros((8, 8), np.int16), other=arrays['u8'])
    corpus.add('npz_container', 'two_members.npz', f.getvalue())
    f = io.BytesIO()
    with zipfile.ZipFile(f, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr('arr.npy', npy_bytes(np.arange(64, dtype=np.int16).reshape(8, 8)))
    corpus.add('npz_container', 'zipfile.npz', f.getvalue())
    f = io.BytesIO()
    with zipfile.ZipFile(f, 'w', compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        with z.open('arr.npy', 'w', force_zip64=True) as member:  # zip64 extra fields
            member.write(npy_bytes(arrays['f32']))
    corpus.add('npz_container', 'zip64.npz', f.getvalue())


def seeds_images(corpus, rng):
    rgb = Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), 'RGB')
    gray = Image.fromarray(rng.integers(0, 255, (9, 7), dtype=np.uint8), 'L')
    rgba = Image.fromarray(rng.integers(0, 255, (5, 6, 4), dtype=np.uint8), 'RGBA')
    deep = Image.fromarray(rng.integers(0, 65535, (4, 5), dtype=np.uint16))
    pngs = {
        'rgb': image_bytes(rgb, 'PNG'),
        'gray': image_bytes(gray, 'PNG'),
        'rgba': image_bytes(rgba, 'PNG'),
        'gray16': image_bytes(deep, 'PNG'),
        'palette': image_bytes(rgb.convert('P'), 'PNG'),
        'gray_alpha': image_bytes(rgba.convert('LA'), 'PNG'),
        'bilevel': image_bytes(gray.convert('1'), 'PNG'),
        'optimized': image_bytes(rgb, 'PNG', optimize=True),
    }
    for name, data in pngs.items():
        corpus.add('png_decode', name + '.png', data)
    jpegs = {
        'rgb': image_bytes(rgb, 'JPEG', quality=90),
        'gray': image_bytes(gray, 'JPEG'),
        'progressive': image_bytes(rgb, 'JPEG', progressive=True),
        'cmyk': image_bytes(rgb.convert('CMYK'), 'JPEG'),
        'subsampled': image_bytes(rgb, 'JPEG', subsampling=2, quality=50),
        'restart': image_bytes(rgb, 'JPEG', restart_marker_blocks=1),
    }
    for name, data in jpegs.items():
        corpus.add('jpeg_decode', name + '.jpg', data)


def rows(rng, count):
    for i in range(count):
        yield {
            'id': i,
            'name': None if i % 3 == 0 else 'row %d' % i,
            'matrix': None if i % 4 == 1 else rng.random((i % 3 + 1, 3), dtype=np.float32),
            'packed': rng.integers(-100, 100, (8, 8), dtype=np.int16),
            'image': rng.integers(0, 255, (4 + i % 3, 5, 3), dtype=np.uint8),
            'photo': rng.integers(0, 255, (16, 16, 3), dtype=np.uint8),
        }


def seeds_dataset(corpus, rng, scratch):
    """A dataset of ours: its data files, cells, stored JSON and cache entries."""
    url = 'file://' + os.path.join(scratch, 'ds')
    write_dataset(url, FuzzSchema, rows(rng, 12), rows_per_rowgroup=4, compression='uncompressed')
    data_files = sorted(os.path.join(dirpath, f) for dirpath, _, files in os.walk(os.path.join(scratch, 'ds'))
                        for f in files if f.endswith('.parquet'))
    for i, path in enumerate(data_files):
        with open(path, 'rb') as f:
            corpus.add('parquet_file', 'ours-%d.parquet' % i, f.read())
    table = pq.read_table(data_files[0])
    for column, target, limit in (('matrix', 'npy_format', 3), ('packed', 'npz_container', 2),
                                  ('image', 'png_decode', 2), ('photo', 'jpeg_decode', 2)):
        cells = [c for c in table.column(column).to_pylist() if c is not None]
        for i, cell in enumerate(cells[:limit]):
            corpus.add(target, 'cell-%s-%d' % (column, i), cell)

    # The JSON this library stores: the Unischema and every other JSON value of the metadata.
    for path in [os.path.join(scratch, 'ds', '_common_metadata')] + data_files[:1]:
        if not os.path.exists(path):
            continue
        metadata = pq.read_schema(path).metadata or {}
        for i, (key, value) in enumerate(sorted(metadata.items())):
            try:
                json.loads(value)
            except ValueError:
                continue
            corpus.add('json_metadata', 'metadata-%s-%d.json' % (os.path.basename(path), i), value)

    # Local-disk cache entries of a reader over it, as they are and without their trailer
    # (the cache_entry target's mode byte: 0 = the file as it is, 1 = payload, trailer added).
    # The reader removes its cache when it is closed: the entries are taken before.
    cache_dir = os.path.join(scratch, 'cache')
    entries = []
    for fields in (None, ['id', 'matrix'], ['image', 'name']):
        with make_reader(url, schema_fields=fields, cache_type='local-disk', cache_location=cache_dir,
                         cache_size_limit=1 << 30, cache_row_size_estimate=1024, shuffle_row_groups=False,
                         reader_pool_type='dummy') as reader:
            for _ in reader:
                pass
            for name in sorted(f for f in os.listdir(cache_dir) if f.endswith('.pscache'))[:3]:
                with open(os.path.join(cache_dir, name), 'rb') as f:
                    entries.append(f.read())
    for i, entry in enumerate(entries):
        corpus.add('cache_entry', 'entry-%d' % i, b'\0' + entry)
        corpus.add('cache_entry', 'payload-%d' % i, b'\1' + entry[:-24])


def seeds_json(corpus):
    for i, text in enumerate([
            '{}', '[]', 'null', 'true', '-0', '1e308', '-9223372036854775808', '9223372036854775807',
            '18446744073709551616', '0.1', '"\\u00e9\\ud83d\\ude00\\n"', '{"a": [1, 2.5, "x", null, {"b": false}]}',
            '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
            json.dumps({'version': 1, 'name': 'S', 'fields': [
                {'name': 'x', 'dtype': 'int32', 'shape': [None, 2], 'codec': {'name': 'ndarray', 'params': {}},
                 'nullable': True}]}),
    ]):
        corpus.add('json_metadata', 'hand-%d.json' % i, text)


def seeds_parquet(corpus):
    """Plain Parquet files of many types (make_batch_reader's inferred schema)."""
    n = 6
    table = pa.table({
        'i8': pa.array(range(n), pa.int8()),
        'u64': pa.array(range(n), pa.uint64()),
        'f': pa.array([0.5 * i if i % 2 else None for i in range(n)], pa.float64()),
        's': pa.array(['s%d' % i for i in range(n)]),
        'b': pa.array([b'\0\1', b''] * 3),
        'bool': pa.array([True, False, None] * 2),
        'date': pa.array(range(n), pa.date32()),
        'ts': pa.array(range(n), pa.timestamp('ms')),
        'dec': pa.array([1, 2, 3, 4, 5, 6], pa.decimal128(9, 2)),
        'list': pa.array([[1, 2], [], None, [3], [4, 5, 6], [7]], pa.list_(pa.int32())),
        'struct': pa.array([{'x': i, 'y': 's'} for i in range(n)]),
        'dict': pa.array(['a', 'b', 'a', 'c', 'a', 'b']).dictionary_encode(),
        'map': pa.array([[('k', 1)], [], [('a', 2), ('b', 3)], None, [('z', 0)], []],
                        pa.map_(pa.string(), pa.int64())),
    })
    for i, kwargs in enumerate([dict(compression='none'), dict(compression='snappy', row_group_size=2),
                                dict(compression='zstd', use_dictionary=False),
                                dict(compression='gzip', data_page_version='2.0', row_group_size=3)]):
        f = io.BytesIO()
        pq.write_table(table, f, **kwargs)
        corpus.add('parquet_file', 'plain-%d.parquet' % i, f.getvalue())
    f = io.BytesIO()
    pq.write_table(table.slice(0, 0), f)
    corpus.add('parquet_file', 'empty.parquet', f.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='corpus root; <out>/<target>/ is made for each target')
    args = parser.parse_args()
    rng = np.random.default_rng(13)
    corpus = Corpus(args.out)
    arrays = seeds_npy(corpus, rng)
    seeds_npz(corpus, arrays)
    seeds_images(corpus, rng)
    seeds_json(corpus)
    seeds_parquet(corpus)
    scratch = tempfile.mkdtemp(prefix='petastorm_corpus_')
    try:
        seeds_dataset(corpus, rng, scratch)
    finally:
        shutil.rmtree(scratch)
    for target in TARGETS:
        print('%-14s %3d seeds in %s' % (target, corpus.counts.get(target, 0), os.path.join(args.out, target)))


if __name__ == '__main__':
    main()
