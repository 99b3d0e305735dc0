"""The workloads of `make bench`: their datasets, written once and cached.

    python benchmarks/workloads.py --data-dir .bench-data [--size full|tiny] [--only W1,W3]

Runs in the project's environment (.venv): datasets are written by this project's writer
(`petastorm.write_dataset`), the plain Parquet store of W3 by pyarrow. Each size lives in
``<data-dir>/<size>-<key>/``, where the key is a hash of this file's source: editing a generator
regenerates everything, and older copies of the same size are removed. A dataset is complete when
its ``.complete`` stamp exists (a killed run regenerates it).

`many_files_nometa` and `many_files_10k_nometa` are hard-linked copies of `many_files` (W6, W6c)
and `many_files_10k` (W6b) without their `_common_metadata`: the start-up workloads' second variant.

The datasets carry Petastorm's pickled Unischema too (written by default): the original
Petastorm 0.13.1 reads the very same files. PNGs are written with OpenCV's settings (zlib level 1,
run-length strategy, Sub filter), as Petastorm writes them.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Sizes per workload. `full` is what `make bench` measures: one contender's run takes seconds on
# 2 cores. `tiny` keeps the smoke test (tests/test_bench_smoke.py) fast.
SIZES = {
    'full': {
        'hello_world': {'rows': 1000, 'rows_per_rowgroup': 100, 'rows_per_file': 250},
        'jpeg': {'rows': 5000, 'rows_per_rowgroup': 250, 'rows_per_file': 1250},
        'scalars': {'rows': 10_000_000, 'files': 4, 'rows_per_rowgroup': 250_000},
        'tensors': {'rows': 10_000, 'rows_per_rowgroup': 500, 'rows_per_file': 2500},
        'many_files': {'files': 1000, 'rows_per_file': 10},
        'many_files_10k': {'files': 10_000, 'rows_per_file': 10},
        'many_files_nometa': {'copy_of': 'many_files'},
        'many_files_10k_nometa': {'copy_of': 'many_files_10k'},
    },
    'tiny': {
        'hello_world': {'rows': 24, 'rows_per_rowgroup': 8, 'rows_per_file': 12},
        'jpeg': {'rows': 24, 'rows_per_rowgroup': 8, 'rows_per_file': 12},
        'scalars': {'rows': 20_000, 'files': 2, 'rows_per_rowgroup': 5_000},
        'tensors': {'rows': 24, 'rows_per_rowgroup': 8, 'rows_per_file': 12},
        'many_files': {'files': 8, 'rows_per_file': 2},
        'many_files_10k': {'files': 40, 'rows_per_file': 2},
        'many_files_nometa': {'copy_of': 'many_files'},
        'many_files_10k_nometa': {'copy_of': 'many_files_10k'},
    },
}

# Which datasets are written as Petastorm datasets (the others are plain Parquet).
PETASTORM_DATASETS = ('hello_world', 'jpeg', 'tensors', 'many_files', 'many_files_10k')
# Datasets {'copy_of': name} are that dataset's files without its `_common_metadata` (hard links, made
# after it): the start-up workloads' variant where every footer must be read (W6b, W6c).
WITHOUT_METADATA = ('_common_metadata', '_metadata')

SCALAR_COLUMNS = [  # name, numpy type: W3's 8 numeric columns
    ('id', 'int64'), ('user', 'int32'), ('item', 'int64'), ('count', 'int32'),
    ('price', 'float64'), ('score', 'float32'), ('weight', 'float32'), ('ratio', 'float64'),
]


def source_key():
    with open(os.path.abspath(__file__), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def size_dir(data_dir, size):
    return os.path.join(os.path.abspath(data_dir), '{}-{}'.format(size, source_key()))


# --- Schemas and rows ------------------------------------------------------------------------

def _schemas():
    import numpy as np
    from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    try:  # the user guide's ScalarCodec(IntegerType()); pyspark is optional
        from pyspark.sql.types import IntegerType
        id_type = IntegerType()
    except ImportError:
        id_type = np.int32
    return {
        # The user guide's HelloWorldSchema.
        'hello_world': Unischema('HelloWorldSchema', [
            UnischemaField('id', np.int32, (), ScalarCodec(id_type), False),
            UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
            UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
        ]),
        'jpeg': Unischema('JpegSchema', [
            UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
            UnischemaField('image', np.uint8, (224, 224, 3), CompressedImageCodec('jpeg', 90), False),
        ]),
        'tensors': Unischema('TensorSchema', [
            UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
            UnischemaField('tensor', np.float32, (64, 64, 3), NdarrayCodec(), False),
        ]),
        'many_files': Unischema('SmallSchema', [
            UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
            UnischemaField('label', np.int64, (), ScalarCodec(np.int64), False),
            UnischemaField('vector', np.float32, (16,), NdarrayCodec(), False),
        ]),
    }


def hello_world_row(i):
    """The user guide's row: random image and 4-d array (seeded by the row id)."""
    import numpy as np
    rng = np.random.default_rng(i)
    return {'id': i,
            'image1': rng.integers(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'array_4d': rng.integers(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}


def photo_like(i, height=224, width=224):
    """A smooth, photo-like uint8 RGB image: colour gradients, low-frequency waves, a fine
    texture, soft-edged discs and a little sensor noise (seeded by `i`). JPEG quality 90
    compresses it to 11-15 KB."""
    import numpy as np
    rng = np.random.default_rng(i)
    y = (np.arange(height, dtype=np.float32) / height)[:, None]
    x = (np.arange(width, dtype=np.float32) / width)[None, :]

    def wave(fx, fy):  # sin(2π(fx·x + fy·y) + φ) from separable factors
        ax, by = 2 * np.pi * fx * x, 2 * np.pi * fy * y + rng.uniform(0, 2 * np.pi)
        return np.sin(ax) * np.cos(by) + np.cos(ax) * np.sin(by)

    img = np.empty((height, width, 3), np.float32)
    base, gx, gy = rng.uniform(40, 200, 3), rng.uniform(-80, 80, 3), rng.uniform(-80, 80, 3)
    for c in range(3):
        img[..., c] = base[c] + gx[c] * x + gy[c] * y
    for _ in range(3):
        img += wave(*rng.uniform(0.5, 4, 2))[..., None] * rng.uniform(5, 30, 3).astype(np.float32)
    texture = np.zeros((height, width), np.float32)
    for _ in range(6):
        texture += wave(*(rng.uniform(6, 30, 2) * rng.choice([-1, 1], 2))) * rng.uniform(2, 8)
    img += texture[..., None]
    for _ in range(3):
        cy, cx = rng.uniform(0, 1, 2)
        mask = np.clip((rng.uniform(0.08, 0.3) - np.sqrt((x - cx) ** 2 + (y - cy) ** 2)) * 50, 0, 1)
        img += mask[..., None] * rng.uniform(-90, 90, 3).astype(np.float32)
    img += rng.standard_normal((height, width, 3), dtype=np.float32) * 4
    return np.clip(img, 0, 255).astype(np.uint8)


def tensor_row(i):
    import numpy as np
    rng = np.random.default_rng(i)
    return {'id': i, 'tensor': rng.standard_normal((64, 64, 3), dtype=np.float32)}


def small_row(i):
    import numpy as np
    rng = np.random.default_rng(i)
    return {'id': i, 'label': int(rng.integers(0, 1000)), 'vector': rng.standard_normal(16, dtype=np.float32)}


# --- Writers ---------------------------------------------------------------------------------

def _write_petastorm(name, path, params):
    from petastorm import write_dataset
    schema = _schemas()['many_files' if name == 'many_files_10k' else name]
    if name == 'hello_world':
        rows = (hello_world_row(i) for i in range(params['rows']))
    elif name == 'jpeg':
        rows = ({'id': i, 'image': photo_like(i)} for i in range(params['rows']))
    elif name == 'tensors':
        rows = (tensor_row(i) for i in range(params['rows']))
    elif name in ('many_files', 'many_files_10k'):
        rows = (small_row(i) for i in range(params['files'] * params['rows_per_file']))
    else:
        raise ValueError(name)
    kwargs = {'rows_per_file': params['rows_per_file']}
    if 'rows_per_rowgroup' in params:
        kwargs['rows_per_rowgroup'] = params['rows_per_rowgroup']
    write_dataset('file://' + path, schema, rows, mode='overwrite', **kwargs)


def _write_scalars(path, params):
    """Plain Parquet written by pyarrow: 8 numeric columns, zstd, `files` files."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(path)
    rows, files = params['rows'], params['files']
    rng = np.random.default_rng(3)
    start = 0
    for f in range(files):
        n = rows // files + (1 if f < rows % files else 0)
        ids = np.arange(start, start + n, dtype=np.int64)
        columns = {
            'id': ids,
            'user': rng.integers(0, 1_000_000, n, dtype=np.int32),
            'item': rng.integers(0, 50_000_000, n, dtype=np.int64),
            'count': rng.integers(0, 100, n, dtype=np.int32),
            'price': np.round(rng.lognormal(3, 1, n), 2),
            'score': rng.random(n, dtype=np.float32),
            'weight': rng.standard_normal(n, dtype=np.float32),
            'ratio': rng.random(n),
        }
        table = pa.table({name: columns[name].astype(dtype, copy=False) for name, dtype in SCALAR_COLUMNS})
        pq.write_table(table, os.path.join(path, 'part-{:05d}.parquet'.format(f)), compression='zstd',
                       row_group_size=params['rows_per_rowgroup'])
        start += n


def _copy_without_metadata(source, path):
    """`source`'s files but its metadata files, hard-linked (copied where links fail)."""
    os.makedirs(path)
    for name in sorted(os.listdir(source)):
        if name in WITHOUT_METADATA:
            continue
        try:
            os.link(os.path.join(source, name), os.path.join(path, name))
        except OSError:
            shutil.copy2(os.path.join(source, name), os.path.join(path, name))


def prepare(data_dir, size='full', only=None, log=print):
    """Writes the datasets of `size` that are missing; returns {name: describe(path)}."""
    params_by_name = SIZES[size]
    root = size_dir(data_dir, size)
    os.makedirs(root, exist_ok=True)
    # Older generations of this size (another source key) are stale.
    prefix = size + '-'
    for entry in os.listdir(os.path.dirname(root)):
        stale = os.path.join(os.path.dirname(root), entry)
        if entry.startswith(prefix) and stale != root and os.path.isdir(stale):
            log('removing stale benchmark data {}'.format(stale))
            shutil.rmtree(stale)
    paths = {}
    if only:  # a copy needs its source
        only = set(only) | {params_by_name[n]['copy_of'] for n in only if 'copy_of' in params_by_name.get(n, {})}
    for name, params in params_by_name.items():
        if only and name not in only:
            continue
        path = os.path.join(root, name)
        stamp = path + '.complete'
        paths[name] = path
        if os.path.exists(stamp):
            with open(stamp) as f:
                paths[name] = json.load(f)
            continue
        shutil.rmtree(path, ignore_errors=True)
        start = time.perf_counter()
        if 'copy_of' in params:  # SIZES lists it after its source
            _copy_without_metadata(os.path.join(root, params['copy_of']), path)
        elif name == 'scalars':
            _write_scalars(path, params)
        else:
            _write_petastorm(name, path, params)
        info = describe(path)
        info['seconds_to_write'] = round(time.perf_counter() - start, 2)
        with open(stamp + '.tmp', 'w') as f:
            json.dump(info, f)
        os.replace(stamp + '.tmp', stamp)
        paths[name] = info
        log('wrote {}: {rows} rows, {files} files, {row_groups} row groups, {mb:.1f} MB, in {seconds_to_write} s'
            .format(path, mb=info['bytes'] / 1e6, **info))
    return paths


def describe(path):
    """Rows, files, row groups and bytes of the Parquet files under `path`."""
    import pyarrow.parquet as pq
    info = {'path': path, 'rows': 0, 'files': 0, 'row_groups': 0, 'bytes': 0}
    for name in sorted(os.listdir(path)):
        if name.startswith(('_', '.')):
            continue
        metadata = pq.read_metadata(os.path.join(path, name))
        info['rows'] += metadata.num_rows
        info['files'] += 1
        info['row_groups'] += metadata.num_row_groups
        info['bytes'] += os.path.getsize(os.path.join(path, name))
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-dir', default=os.path.join(os.path.dirname(HERE), '.bench-data'))
    parser.add_argument('--size', choices=sorted(SIZES), default='full')
    parser.add_argument('--only', help='comma-separated dataset names')
    args = parser.parse_args(argv)
    paths = prepare(args.data_dir, args.size, args.only.split(',') if args.only else None,
                    log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(paths))


if __name__ == '__main__':
    main()
