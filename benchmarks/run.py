"""`make bench`: every contender on every workload, then docs/benchmarks.md and its plots.

    .venv/bin/python benchmarks/run.py [--size full|tiny] [--workloads W1,W3] [--contenders ours,petastorm]
                                       [--workers 1,2] [--runs 5] [--warmup 1] [--out docs/benchmarks.md]
                                       [--load N] [--load-threads N]

1. Prepares the workloads' datasets once (workloads.py; cached in --data-dir, keyed on a hash of
   the generator's source) and, when the reference environment exists, checks compatibility with
   the original Petastorm both ways (compat_check.py): a failure fails the bench.
2. Runs each contender on each workload in a fresh process (runner.py, or the C++ decode_loop),
   one after the other, each printing JSON: a warm-up pass, then --runs measured passes.
3. Writes the results (JSON) and the report (report.py, run by --plot-python for matplotlib).

Contender families (--contenders): ours (this project, --our-python), petastorm (Petastorm 0.13.1,
--ref-python), cpp (the C++ decode loop, --decode-loop), pyarrow, numpy and tensorflow (the Python
limits, run by --our-python), and the peers (peers.py): hf (Hugging Face datasets, --hf-python), lance
(pylance, --lance-python), handrolled (pyarrow / Pillow + torch DataLoaders, --our-python) and, with
--with-ray only, ray (Ray Data, --ray-python). A family
whose environment or program is missing is reported as not run; a contender of ours that raises
NotImplementedError or ImportError is reported as "n/a (not implemented yet)", a peer that fails in any
way as "n/a" with its reason. The exit status is 1 when a contender other than a peer failed (the report
is still written). Peers that read a converted copy of the data (hf, lance) get it made once, before
their workload, and cached beside the dataset; the conversions are reported apart.

Remote storage (W6b, W6c, W2s3, W3s3): their report is docs/benchmarks-remote.md (report_remote.py),
their raw results docs/benchmarks/results-remote.json, merged by workload with the ones measured
before (a run of W2s3 alone keeps W6c's figures); a run of these only leaves docs/benchmarks.md and
results.json as they are. Before the first of them that reads from S3, the S3 test server (moto_server,
beside --our-python) is started on a free loopback port and the datasets uploaded to it
(remote.py); it is stopped at the end of the run, also on error. They are not measured under --load.

Loaded machine (--load N, --load-threads N; load.py): the background load runs during every
contender's process; the report goes to docs/benchmarks-load.md and compares each figure with the
quiet run's docs/benchmarks/results.json (every run saves its raw results beside its plots).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time

import load
import remote

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

FAMILIES = ('ours', 'petastorm', 'cpp', 'pyarrow', 'numpy', 'tensorflow', 'hf', 'lance', 'handrolled', 'ray')
# Peers: other libraries' loaders (peers.py), each in its own environment (--hf-python, ...); the
# hand-rolled pyarrow / Pillow + torch loaders run in this project's (--our-python). A peer that
# fails is reported "n/a" with its reason, and does not fail the bench.
PEERS = ('hf', 'lance', 'handrolled', 'ray')
# Families measured only when asked for by a flag (--with-ray): Ray's start-up is ~9 s and ~3 GB.
OPTIONAL = ('ray',)
# Peers that read a converted copy of the dataset (peers.py prepare), made once and cached.
CONVERTED = ('hf', 'lance')

# Options of every peer contender: its ratio to our row with as many workers is in its label.
PEER = {'vs_ours': True, 'vs_ours_invert': True, 'vs_ours_text': 'this project'}
# Ours with the stage times (diagnostics) and the loaders' state tracking off: the row's label gives
# what having them on costs (issue 16: always on, so measured).
UNTRACKED = {'tracking': False, 'vs_ours': True, 'vs_ours_invert': True, 'vs_ours_text': 'tracking on'}
UNTRACKED_LABEL = 'this project, stage times and state tracking off'


# The remote-storage and many-files workloads (W6b, W6c, W2s3, W3s3): 'report': 'remote' puts them in
# a report of their own, docs/benchmarks-remote.md (report.py), whose results
# (docs/benchmarks/results-remote.json) are merged by workload: a run of some of them keeps the
# others' figures, and docs/benchmarks.md and results.json are left as they are by a run of these
# only. 'remote': the S3 test server (remote.py) runs for them. Contender options: 'storage': 's3'
# reads the dataset from that server (uploaded once per run), 'local' (the default) from its
# directory; 'dataset': another cached dataset than the workload's; 'variant': the dataset variant,
# shown in the table (the ratios pair contenders of the same variant and storage).
WITH_METADATA, WITHOUT_METADATA = 'with _common_metadata', 'without _common_metadata'


def _startup_contenders(dataset, storage):
    contenders = []
    for variant, name in ((WITH_METADATA, dataset), (WITHOUT_METADATA, dataset + '_nometa')):
        common = {'variant': variant, 'dataset': name, 'storage': storage}
        contenders += [
            ('ours', 'this project, make_reader', 'startup', dict(common)),
            ('petastorm', 'Petastorm 0.13.1, make_reader' + (' (s3fs)' if storage == 's3' else ''), 'startup',
             dict(common)),
            ('pyarrow', 'pyarrow.dataset, first batch', 'pyarrow-dataset-startup', dict(common, workers=[1])),
        ]
    return contenders


def _s3_contenders(kind, pyarrow_label):
    """Each of this project, Petastorm 0.13.1 and pyarrow on S3, then on the same files locally."""
    contenders = []
    for family, label, family_kind in (('ours', 'this project', kind), ('petastorm', 'Petastorm 0.13.1', kind),
                                       ('pyarrow', pyarrow_label, 'pyarrow-dataset')):
        for storage, where in (('s3', 'S3 (s3fs)' if family == 'petastorm' else 'S3'), ('local', 'local files')):
            contenders.append((family, '{}, {}'.format(label, where), family_kind, {'storage': storage}))
    return contenders


_S3_ABOUT = ('On the S3 test server, moto\'s own request rate bounds every reader: about 410 requests/s on this '
             'machine (pyarrow alone needs 4.8 s for 1,000 HEAD + GET pairs), and the server shares the 2 cores '
             'with the reader (its CPU is the "server CPU" column).')

REMOTE_WORKLOADS = [
    {'id': 'W6b', 'title': 'start-up on 10,000 local files', 'dataset': 'many_files_10k', 'metric': 'startup',
     'report': 'remote',
     'about': 'W6 ten times over: time from the factory call to the first row on 10,000 small local files (10 rows '
              'each, W6\'s schema), with the `_common_metadata` this project\'s writer writes, and a copy of the '
              'same files without it (hard links), where a reader must read every footer to plan its row groups. '
              'pyarrow: `pyarrow.dataset.dataset(path, format=\'parquet\')` (which lists the directory, skips '
              '`_common_metadata`, reads the first footer for the schema) then the first batch of its scanner: '
              'the same in both variants, as pyarrow does not read `_common_metadata`. Without it, Petastorm '
              '0.13.1\'s `make_reader` infers a schema from Parquet (its NdarrayCodec column comes as bytes).',
     'contenders': _startup_contenders('many_files_10k', 'local')},
    {'id': 'W6c', 'title': 'start-up on 1,000 files on S3', 'dataset': 'many_files', 'metric': 'startup',
     'report': 'remote', 'remote': True,
     'about': 'W6\'s 1,000 files on the S3 test server, with and without `_common_metadata`, as in W6b. ' + _S3_ABOUT +
              ' Without `_common_metadata` a reader needs a request or more per file: this project keeps 32 in '
              'flight, so the server\'s rate is its bound there.',
     'contenders': _startup_contenders('many_files', 's3')},
    {'id': 'W2s3', 'title': 'W2 from S3 (JPEG images, make_reader)', 'dataset': 'jpeg', 'metric': 'throughput',
     'report': 'remote', 'remote': True, 'pyarrow_same_work': False,
     'about': 'W2\'s files read from the S3 test server, beside the same files read locally. pyarrow reads the '
              'same columns with `pyarrow.dataset` (`to_batches`, each column to numpy) and decodes no JPEG: it '
              'is the I/O of the same bytes, not the same work. ' + _S3_ABOUT,
     'contenders': _s3_contenders('reader', 'pyarrow.dataset to_batches (JPEG bytes, no decoding)')},
    {'id': 'W3s3', 'title': 'W3 from S3 (scalars, make_batch_reader)', 'dataset': 'scalars', 'metric': 'throughput',
     'report': 'remote', 'remote': True,
     'about': 'W3\'s files (346 MB) read from the S3 test server, beside the same files read locally. pyarrow '
              'reads every column with `pyarrow.dataset` (`to_batches`, each column to numpy): the same work. ' +
              _S3_ABOUT,
     'contenders': _s3_contenders('batch', 'pyarrow.dataset to_batches')},
]


# Random access (make_map_dataset, docs/random_access.md) on W2's and W3's files: rows/s of random rows
# (uniform, with repeats, the same indexes for every contender), one `ds[i]` each or `ds[[i, ...]]` of 64,
# beside Hugging Face `datasets` on its Arrow memory map of the same data and our sequential read.
RANDOM_ACCESSES = {'row': {'full': 2000, 'tiny': 24}, 'batch': {'full': 6400, 'tiny': 128}}


def _random_workload(workload_id, base, dataset, access, sequential_kind, image_column):
    size = 1 if access == 'row' else 64
    what = 'single rows (`ds[i]`)' if access == 'row' else 'batches of 64 (`ds[[i, ...]]`)'
    hf_options = dict(PEER, batch_size=size, workers=[2], accesses=RANDOM_ACCESSES[access])
    if image_column:
        hf_options['image_column'] = image_column
    return {
        'id': workload_id, 'title': 'random access over {}: {}'.format(base, what.split(' (')[0]),
        'dataset': dataset, 'metric': 'throughput',
        'about': 'Random {} of the {} files: {:,} random rows a pass (uniform, with repeats; the same indexes '
                 'for every contender). Ours: `petastorm.make_map_dataset(url, workers_count=2)`, made anew each '
                 'pass (its row-group cache starts empty), numpy values. Hugging Face `datasets`: '
                 '`load_from_disk(...).with_format(\'torch\')` of its converted copy (an Arrow memory map{}), '
                 'torch tensors. The sequential row reads every row once in storage order ({}).'.format(
                     what, base, RANDOM_ACCESSES[access]['full'],
                     ', JPEGs decoded by Pillow as `datasets.Image()`' if image_column else '',
                     '`make_reader`' if sequential_kind == 'reader' else '`make_batch_reader`'),
        'contenders': [
            ('ours', 'this project, make_map_dataset', 'random',
             {'batch_size': size, 'workers': [2], 'accesses': RANDOM_ACCESSES[access]}),
            ('ours', 'this project, sequential read', sequential_kind,
             {'workers': [2], 'vs_ours': True, 'vs_ours_invert': True, 'vs_ours_text': 'random access'}),
            ('hf', 'HF datasets: random {}'.format('ds[i]' if access == 'row' else 'ds[[i, ...]] of 64'),
             'hf-random', hf_options),
        ]}


RANDOM_WORKLOADS = [
    _random_workload('W2ra', 'W2', 'jpeg', 'row', 'reader', 'image'),
    _random_workload('W2rb', 'W2', 'jpeg', 'batch', 'reader', 'image'),
    _random_workload('W3ra', 'W3', 'scalars', 'row', 'batch', None),
    _random_workload('W3rb', 'W3', 'scalars', 'batch', 'batch', None),
]

# The workloads. Each contender: (family, label, runner kind or 'cpp', options). `workers`
# contenders run once per --workers value; `limit` marks the limit the ratio "÷ limit" uses.
WORKLOADS = [
    {'id': 'W1', 'title': 'hello world (make_reader)', 'dataset': 'hello_world', 'metric': 'throughput',
     'about': "The user guide's HelloWorldSchema: `id` int32, `image1` PNG 128×256×3 (random pixels), "
              "`array_4d` uint8 (4, 128, 30, 3) NdarrayCodec. Read with `make_reader`.",
     'contenders': [
         ('ours', 'this project', 'reader', {}),
         ('petastorm', 'Petastorm 0.13.1', 'reader', {}),
         ('cpp', 'limit: C++ libspng + .npy loop', 'cpp', {'columns': ['image1:png', 'array_4d:npy'], 'limit': True}),
     ]},
    {'id': 'W2', 'title': 'JPEG images (make_reader)', 'dataset': 'jpeg', 'metric': 'throughput',
     'about': '`image` uint8 224×224×3, smooth photo-like content, JPEG quality 90 (about 13 KB each), '
              'and an int32 `id`. Read with `make_reader`. The scale 1/2 rows decode the JPEGs to 112×112×3 in '
              'TurboJPEG\'s DCT domain (`decode_options`, docs/images.md); their ÷ limit is to the C++ loop at '
              'the same scale.',
     'contenders': [
         ('ours', 'this project', 'reader', {}),
         ('ours', UNTRACKED_LABEL, 'reader', UNTRACKED),
         ('petastorm', 'Petastorm 0.13.1', 'reader', {}),
         ('cpp', 'limit: C++ TurboJPEG loop', 'cpp', {'columns': ['image:jpeg'], 'limit': True}),
         ('ours', "this project, decode_options scale 1/2 (112×112×3)", 'reader',
          {'decode_options': {'image': {'scale': [1, 2]}}, 'decode_scale': '1/2', 'vs_ours': 'the full decode'}),
         ('cpp', 'limit: C++ TurboJPEG loop, decode_loop --scale 1/2', 'cpp',
          {'columns': ['image:jpeg'], 'limit': True, 'decode_scale': '1/2'}),
     ]},
    {'id': 'W3', 'title': 'scalars (make_batch_reader)', 'dataset': 'scalars', 'metric': 'throughput',
     'about': 'Plain Parquet written by pyarrow (no Petastorm metadata): 8 numeric columns (int32, int64, '
              'float32, float64), zstd. Read with `make_batch_reader`; the limit reads every column with '
              '`pyarrow.parquet.ParquetFile(...).iter_batches` in batches of one row group and '
              'converts it to numpy.',
     'contenders': [
         ('ours', 'this project', 'batch', {}),
         ('ours', UNTRACKED_LABEL, 'batch', UNTRACKED),
         ('petastorm', 'Petastorm 0.13.1', 'batch', {}),
         ('pyarrow', 'limit: pyarrow iter_batches', 'pyarrow', {'limit': True}),
     ]},
    {'id': 'W4', 'title': 'float32 tensors (make_reader)', 'dataset': 'tensors', 'metric': 'throughput',
     'about': '`tensor` float32 (64, 64, 3) NdarrayCodec (48 KiB each) and an int32 `id`. Read with '
              '`make_reader`. The limit is the C++ loop over the same cells (parse the `.npy` header, copy '
              'the payload); `numpy.load` over them (what Petastorm\'s NdarrayCodec does per cell, without '
              'a reader) is shown too. Both read the cells into memory beforehand. The process pool row reads '
              'with worker processes (the row groups cross in shared memory); its label gives its ratio '
              'to the thread pool; its CPU counts the worker processes too, and its peak RSS is the parent\'s (the '
              'process tree\'s beside it).',
     'contenders': [
         ('ours', 'this project', 'reader', {}),
         ('ours', "this project, reader_pool_type='process'", 'reader',
          {'pool': 'process', 'vs_ours': True, 'processes': True}),
         ('petastorm', 'Petastorm 0.13.1', 'reader', {}),
         ('cpp', 'limit: C++ .npy loop', 'cpp', {'columns': ['tensor:npy'], 'limit': True}),
         ('numpy', 'numpy.load loop', 'numpy-load', {'columns': ['tensor'], 'workers': [1]}),
     ]},
    {'id': 'W5a', 'title': 'PyTorch BatchedDataLoader over W3 (batch 1024)', 'dataset': 'scalars',
     'metric': 'throughput',
     'about': '`petastorm.pytorch.BatchedDataLoader(make_batch_reader(...), batch_size=1024)` over the '
              'W3 files: rows/s of torch tensors. Peers read the same files to dicts of torch tensors of '
              '1024 rows: a hand-rolled `IterableDataset` over `ParquetFile.iter_batches` (row groups split '
              'between the workers; a row group\'s last batch is shorter) in a `DataLoader` with 2 workers, '
              'whose batches cross to the main process as shared-memory tensors (8 a batch, each a shared-'
              'memory file passed as a file descriptor), and with none; Lance (the '
              'files converted once to a Lance dataset); Hugging Face `datasets` (converted once to its Arrow '
              'cache). The slowest are measured over the first rows of each pass only (their labels say how '
              'many): a whole 10M-row pass takes them minutes.',
     'contenders': [
         ('ours', 'this project', 'torch', {'over': 'batch', 'batch_size': 1024}),
         ('ours', UNTRACKED_LABEL, 'torch', dict(UNTRACKED, over='batch', batch_size=1024)),
         ('petastorm', 'Petastorm 0.13.1', 'torch', {'over': 'batch', 'batch_size': 1024}),
         ('handrolled', 'hand-rolled IterableDataset over pyarrow iter_batches, DataLoader(num_workers=2)',
          'torch-parquet', dict(PEER, batch_size=1024, workers=[2], processes=True, max_rows={'full': 2000000},
                                runs=2)),
         ('handrolled', 'hand-rolled IterableDataset over pyarrow iter_batches, DataLoader(num_workers=0)',
          'torch-parquet', dict(PEER, batch_size=1024, workers=[1], num_workers=0)),
         ('lance', 'Lance: lance.torch.data.LanceDataset', 'lance', dict(PEER, batch_size=1024, workers=[1])),
         ('hf', "HF datasets: with_format('torch').iter()", 'hf',
          dict(PEER, batch_size=1024, loader='inprocess', workers=[1], max_rows={'full': 1000000}, runs=2)),
         ('hf', "HF datasets: with_format('torch'), DataLoader(num_workers=2)", 'hf',
          dict(PEER, batch_size=1024, loader='dataloader', workers=[2], max_rows={'full': 200000}, runs=2,
               processes=True)),
         ('ray', 'Ray Data: read_parquet().iter_torch_batches()', 'ray',
          dict(PEER, batch_size=1024, workers=[2], runs=2, processes=True)),
     ]},
    {'id': 'W5b', 'title': 'PyTorch BatchedDataLoader over W1 (batch 64)', 'dataset': 'hello_world',
     'metric': 'throughput',
     'about': '`petastorm.pytorch.BatchedDataLoader(make_reader(...), batch_size=64)` over the W1 files. '
              "Petastorm 0.13.1 runs its `DataLoader` here, its best loader for `make_reader`: its "
              '`BatchedDataLoader` calls `torch.as_tensor([ndarray])` on every row, about 20 rows/s on this '
              'dataset.',
     'contenders': [
         ('ours', 'this project', 'torch', {'over': 'reader', 'batch_size': 64}),
         ('petastorm', 'Petastorm 0.13.1 (DataLoader)', 'torch',
          {'over': 'reader', 'batch_size': 64, 'loader': 'plain'}),
     ]},
    {'id': 'W5c', 'title': 'PyTorch over W2 (JPEG rows, batch 64)', 'dataset': 'jpeg', 'metric': 'throughput',
     'about': '`petastorm.pytorch.BatchedDataLoader(make_reader(...), batch_size=64)` over the W2 files: rows/s of '
              '(64, 224, 224, 3) uint8 image tensors. Petastorm 0.13.1 runs its `DataLoader` (as in W5b). Peers: '
              'a hand-rolled map-style torch `Dataset` over the JPEG bytes (read with pyarrow), decoded by Pillow '
              'in `DataLoader(batch_size=64, num_workers=2)`\'s workers; Hugging Face `datasets` with the column '
              'cast to `datasets.Image()` once (its cache), `with_format(\'torch\')` (which decodes with Pillow '
              'and gives (3, 224, 224) tensors) in the same DataLoader. Rows with worker processes count their '
              'CPU, and give the process tree\'s memory beside the parent\'s peak RSS.',
     'contenders': [
         ('ours', 'this project', 'torch', {'over': 'reader', 'batch_size': 64}),
         ('ours', UNTRACKED_LABEL, 'torch', dict(UNTRACKED, over='reader', batch_size=64)),
         ('petastorm', 'Petastorm 0.13.1 (DataLoader)', 'torch',
          {'over': 'reader', 'batch_size': 64, 'loader': 'plain', 'runs': 3}),
         ('handrolled', 'hand-rolled Pillow Dataset, DataLoader(num_workers=2)', 'torch-pil',
          dict(PEER, batch_size=64, workers=[2], image_column='image', processes=True)),
         ('hf', "HF datasets: Image(), with_format('torch'), DataLoader(num_workers=2)", 'hf',
          dict(PEER, batch_size=64, loader='dataloader', workers=[2], image_column='image', processes=True)),
     ]},
    {'id': 'W6', 'title': 'start-up on many small files', 'dataset': 'many_files', 'metric': 'startup',
     'about': 'Time from the `make_reader(...)` call to the first row, on a dataset of many small files '
              '(10 rows each: int32, int64 and a float32 (16,) NdarrayCodec). The limit reads '
              '`_common_metadata` and the first row group of the first file with pyarrow.',
     'contenders': [
         ('ours', 'this project', 'startup', {}),
         ('petastorm', 'Petastorm 0.13.1', 'startup', {}),
         ('pyarrow', 'limit: pyarrow, first file only', 'pyarrow-startup', {'limit': True, 'workers': [1]}),
     ]},
    {'id': 'W7', 'title': 'Spark generation of hello world (local[2])', 'dataset': None, 'metric': 'throughput',
     'generate_rows': {'full': 400, 'tiny': 24},
     'about': "Writing the user guide's HelloWorldSchema dataset with PySpark on `local[2]` (2 partitions) inside "
              '`materialize_dataset`, its metadata included: rows/s from the start of the `with` block to its end '
              '(the Spark session is made before, the first pass warms the JVM up). Row path: the guide\'s '
              '`sc.parallelize(range(n)).map(row_generator).map(dict_to_spark_row)` and `createDataFrame`; '
              'vectorized path: `petastorm.spark_utils.generate_dataframe`, the rows encoded by the C++ '
              'RowEncoder inside `mapInArrow`. `write_dataset` writes the same rows without Spark. CPU % counts '
              'the whole process tree (driver, JVM, Python workers); peak RSS is the driver\'s only. MB/s is of '
              'the Parquet files written.',
     'contenders': [
         ('ours', 'this project, dict_to_spark_row', 'spark-generate', {'path': 'rows', 'workers': [2]}),
         ('ours', 'this project, generate_dataframe (vectorized)', 'spark-generate',
          {'path': 'vectorized', 'workers': [2], 'vs_ours': 'the row path'}),
         ('ours', 'this project, write_dataset without Spark', 'spark-generate',
          {'path': 'writer', 'workers': [2], 'vs_ours': 'the row path'}),
         ('petastorm', 'Petastorm 0.13.1, dict_to_spark_row', 'spark-generate', {'path': 'rows', 'workers': [2]}),
     ]},
    {'id': 'W8', 'title': 'Spark generation of MNIST-like rows (local[2])', 'dataset': None, 'metric': 'throughput',
     'generate_rows': {'full': 200000, 'tiny': 500}, 'generate_schema': 'mnist',
     'about': "As W7 with the schema of Petastorm's examples/mnist (`idx`, `digit` int64 stored as IntegerType, "
              '`image` uint8 (28, 28) NdarrayCodec, random pixels): small rows, where the per-row cost of the '
              'row path (a Python call per field, a pickled Row per row into the JVM) shows.',
     'contenders': [
         ('ours', 'this project, dict_to_spark_row', 'spark-generate', {'path': 'rows', 'workers': [2]}),
         ('ours', 'this project, generate_dataframe (vectorized)', 'spark-generate',
          {'path': 'vectorized', 'workers': [2], 'vs_ours': 'the row path'}),
         ('ours', 'this project, write_dataset without Spark', 'spark-generate',
          {'path': 'writer', 'workers': [2], 'vs_ours': 'the row path'}),
         ('petastorm', 'Petastorm 0.13.1, dict_to_spark_row', 'spark-generate', {'path': 'rows', 'workers': [2]}),
     ]},
    {'id': 'W9a', 'title': 'TensorFlow over W2 (JPEG rows, batch 64)', 'dataset': 'jpeg', 'metric': 'throughput',
     'about': '`petastorm.tf_utils.make_petastorm_dataset(make_reader(...)).batch(64)` over the W2 files, '
              'iterated eagerly: rows/s of tf.Tensor batches. The numpy path is W2\'s (`make_reader` rows); '
              'its label gives the TF path\'s ratio to it. "Consumed in TensorFlow" reduces the dataset inside '
              'TensorFlow (`Dataset.reduce`), as `model.fit` consumes it, without a Python step per batch. The last '
              'row is TensorFlow\'s own ceiling: the same batches from memory (one decoded row group repeated), '
              'rebatched and iterated the same way (here far above decoding, so not a limit; in W9b it is the limit).',
     'contenders': [
         ('ours', 'this project, make_petastorm_dataset', 'tf', {'over': 'reader', 'batch_size': 64}),
         ('ours', 'this project, consumed in TensorFlow', 'tf',
          {'over': 'reader', 'batch_size': 64, 'tf_consume': 'graph', 'vs_ours': True,
           'vs_ours_text': 'the eager loop'}),
         ('ours', 'this project, numpy path (make_reader rows)', 'reader',
          {'vs_ours': True, 'vs_ours_invert': True, 'vs_ours_text': 'the TF path'}),
         ('petastorm', 'Petastorm 0.13.1, make_petastorm_dataset', 'tf', {'over': 'reader', 'batch_size': 64}),
         ('tensorflow', "TF over the same batches in memory (TF's ceiling, no decoding)", 'tf-limit',
          {'over': 'reader', 'batch_size': 64}),
     ]},
    {'id': 'W9b', 'title': 'TensorFlow over W3 (scalars, batch 1024)', 'dataset': 'scalars', 'metric': 'throughput',
     'about': '`make_petastorm_dataset(make_batch_reader(...)).unbatch().batch(1024)` over the W3 files, iterated '
              'eagerly (the numpy path is W3\'s: `make_batch_reader` batches of a row group). Other contenders as '
              'in W9a; Petastorm takes about 25 s a pass here, so it measures 2 passes.',
     'contenders': [
         ('ours', 'this project, make_petastorm_dataset', 'tf', {'over': 'batch', 'batch_size': 1024}),
         ('ours', 'this project, consumed in TensorFlow', 'tf',
          {'over': 'batch', 'batch_size': 1024, 'tf_consume': 'graph', 'vs_ours': True,
           'vs_ours_text': 'the eager loop'}),
         ('ours', 'this project, numpy path (make_batch_reader batches)', 'batch',
          {'vs_ours': True, 'vs_ours_invert': True, 'vs_ours_text': 'the TF path'}),
         ('petastorm', 'Petastorm 0.13.1, make_petastorm_dataset', 'tf',
          {'over': 'batch', 'batch_size': 1024, 'runs': 2}),
         ('tensorflow', 'limit: TF over the same batches in memory', 'tf-limit',
          {'over': 'batch', 'batch_size': 1024, 'limit': True}),
     ]},
] + [
    {'id': workload_id, 'title': 'training-loop overlap over W2 ({} ms per batch of 64)'.format(busy_ms),
     'dataset': 'jpeg', 'metric': 'overlap',
     'about': 'A training loop that holds the GIL for {} ms per batch of 64 W2 rows (a busy Python loop), over '
              'the loaders of W5c with 2 workers. **epoch ÷ busy** is the epoch\'s wall time ÷ (batches × {} ms): '
              '1.0 is perfect overlap (the loader fully hidden behind the training step); above it, the time '
              'the loop waited for batches. {}'.format(busy_ms, busy_ms, note),
     'contenders': [
         ('ours', 'this project', 'torch', {'over': 'reader', 'batch_size': 64, 'busy_ms': busy_ms, 'workers': [2],
                                            'runs': runs}),
         ('petastorm', 'Petastorm 0.13.1 (DataLoader)', 'torch',
          {'over': 'reader', 'batch_size': 64, 'loader': 'plain', 'busy_ms': busy_ms, 'workers': [2],
           'runs': runs}),
         ('handrolled', 'hand-rolled Pillow Dataset, DataLoader(num_workers=2)', 'torch-pil',
          dict(PEER, batch_size=64, workers=[2], image_column='image', processes=True, busy_ms=busy_ms,
               runs=runs)),
     ]} for workload_id, busy_ms, runs, note in (
        ('W10a', 5, 3, 'At 5 ms per batch the step alone allows 12,800 rows/s, more than any of these '
                       'loaders gives on 2 cores (W5c): the ratio is bounded below by the loader\'s own rate, '
                       'and shows what the step costs it.'),
        ('W10b', 50, 2, 'At 50 ms per batch (1,280 rows/s) every loader here could keep up on its own: the '
                        'ratio is the overlap.'))
] + RANDOM_WORKLOADS + REMOTE_WORKLOADS


def log(message):
    print('[bench {}] {}'.format(time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def run_json(argv, timeout, log_path):
    """Runs argv, returns its JSON result; the output goes to log_path."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              cwd=ROOT)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = e.stdout or '', e.stderr or '', 'timeout'
        if isinstance(out, bytes):
            out, err = out.decode(errors='replace'), err.decode(errors='replace')
    with open(log_path, 'w') as f:
        f.write('$ {}\n--- exit {} after {:.1f} s\n--- stdout\n{}\n--- stderr\n{}'.format(
            ' '.join(argv), rc, time.perf_counter() - start, out, err))
    result = last_json_line(out)
    if rc == 'timeout':
        return {'status': 'error', 'reason': 'timed out after {} s'.format(timeout)}
    if result is None:
        tail = (err.strip().splitlines() or ['no output'])[-1]
        return {'status': 'error', 'reason': 'exit {}: {}'.format(rc, tail[:300])}
    return result


# --- Machine and versions --------------------------------------------------------------------

def machine_info():
    info = {'cpu': platform.processor() or platform.machine(), 'cores': os.cpu_count(), 'memory_gib': None,
            'os': platform.platform(), 'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
        with open('/proc/meminfo') as f:
            info['memory_gib'] = round(int(f.readline().split()[1]) / 2 ** 20, 1)
        with open('/etc/os-release') as f:
            for line in f:
                if line.startswith('PRETTY_NAME='):
                    info['os'] = line.split('=', 1)[1].strip().strip('"') + ', Linux ' + platform.release()
    except OSError:
        pass
    if hasattr(os, 'sched_getaffinity'):
        info['cores'] = len(os.sched_getaffinity(0))
    for lib, name in (('libturbojpeg', 'libjpeg-turbo'), ('spng', 'libspng')):
        try:
            info[name] = subprocess.run(['pkg-config', '--modversion', lib], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True).stdout.strip() or None
        except OSError:
            info[name] = None
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        info['commit'] = commit + (' (with uncommitted changes)' if dirty else '') if commit else None
    except OSError:
        info['commit'] = None
    return info


# --- Orchestration ---------------------------------------------------------------------------

def file_hash(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def prepare_datasets(args, names):
    if not names:
        return {}
    log('preparing datasets ({} size) in {}'.format(args.size, args.data_dir))
    proc = subprocess.run([args.our_python, os.path.join(HERE, 'workloads.py'), '--data-dir', args.data_dir,
                           '--size', args.size, '--only', ','.join(sorted(names))],
                          stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit('benchmarks/workloads.py failed (exit {})'.format(proc.returncode))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def contender_command(args, workload, family, kind, options, dataset, workers):
    if family == 'cpp':
        files = sorted(os.path.join(dataset, f) for f in os.listdir(dataset)
                       if f.endswith('.parquet') and not f.startswith(('_', '.')))
        argv = [args.decode_loop, '--threads', str(workers), '--runs', str(args.runs), '--warmup', str(args.warmup)]
        for column in options['columns']:
            argv += ['--column', column]
        if options.get('decode_scale'):
            argv += ['--scale', options['decode_scale']]
        return argv + files
    python = family_python(args, family)
    # A slow contender may measure fewer passes ('runs', at most --runs).
    runs = min(args.runs, options.get('runs', args.runs))
    # 'num_workers': what a peer's DataLoader is given, when it differs from its row's workers (0: in process).
    argv = [python, os.path.join(HERE, 'runner.py'), kind, dataset, '--workers', str(options.get('num_workers', workers)),
            '--runs', str(runs), '--warmup', str(args.warmup)]
    if 'over' in options:
        argv += ['--over', options['over']]
    if 'batch_size' in options:
        argv += ['--batch-size', str(options['batch_size']), '--loader', options.get('loader', 'batched')]
    if options.get('busy_ms'):
        argv += ['--busy-ms', str(options['busy_ms'])]
    max_rows = options.get('max_rows', {}).get(args.size)
    if max_rows:
        argv += ['--max-rows', str(max_rows)]
    if options.get('processes'):
        argv += ['--tree-memory']
    if options.get('image_column'):
        argv += ['--image-column', options['image_column']]
    if family in CONVERTED:
        argv += ['--cache', converted_path(dataset, family)]
    if 'accesses' in options:
        argv += ['--accesses', str(options['accesses'][args.size])]
    if kind == 'numpy-load':
        argv += ['--columns', ','.join(options['columns'])]
    if 'pool' in options:
        argv += ['--pool-type', options['pool']]
    if 'tf_consume' in options:
        argv += ['--tf-consume', options['tf_consume']]
    if options.get('tracking') is False:
        argv += ['--no-tracking']
    if options.get('decode_options'):
        argv += ['--decode-options', json.dumps(options['decode_options'])]
    if kind == 'spark-generate':
        argv += ['--generate-path', options['path'], '--rows', str(workload['generate_rows'][args.size]),
                 '--generate-schema', workload.get('generate_schema', 'hello')]
    return argv


def family_python(args, family):
    return {'petastorm': args.ref_python, 'hf': args.hf_python, 'lance': args.lance_python,
            'ray': args.ray_python}.get(family, args.our_python)


def converted_path(dataset, family):
    """Where a peer's converted copy of `dataset` is cached: beside it, so it goes with it."""
    return '{}.{}'.format(dataset.rstrip('/'), family)


def convert_for_peers(args, workload, dataset, conversions, log_dir):
    """Makes (or finds) the converted copies the workload's peers read; returns {family: reason}
    for the peers whose conversion failed. Each conversion is recorded once in `conversions`."""
    failed = {}
    for family, _label, _kind, options in workload['contenders']:
        if family not in CONVERTED or family not in args.families or args.unavailable.get(family):
            continue
        key = (family, dataset)
        if key not in conversions:
            log('{}: converting {} for {} (once, cached) ...'.format(workload['id'], os.path.basename(dataset),
                                                                      family))
            argv = [family_python(args, family), os.path.join(HERE, 'peers.py'), 'prepare', family, dataset,
                    converted_path(dataset, family)]
            if options.get('image_column'):
                argv += ['--image-column', options['image_column']]
            result = run_json(argv, args.timeout, os.path.join(
                log_dir, 'convert-{}-{}.log'.format(family, os.path.basename(dataset))))
            result.update(family=family, dataset=os.path.basename(dataset))
            conversions[key] = result
            log('    {}'.format('{} s{}'.format(result['seconds'], ' (made earlier, cached)' if result.get('cached')
                                                else '') if result['status'] == 'ok' else 'FAILED: ' +
                                 result.get('reason', '?')))
        if conversions[key]['status'] != 'ok':
            failed[family] = 'conversion failed: ' + conversions[key].get('reason', '?')
    return failed


def family_unavailable(args, family):
    if family == 'petastorm' and not (args.ref_python and os.access(args.ref_python, os.X_OK)):
        return 'the reference environment is missing ({})'.format(args.ref_python or 'no --ref-python')
    if family in ('hf', 'lance', 'ray'):
        python = family_python(args, family)
        if not (python and os.access(python, os.X_OK) and os.path.exists(os.path.join(
                os.path.dirname(os.path.dirname(python)), '.stamp'))):
            return 'its environment is not installed ({}; make bench-peers)'.format(os.path.dirname(
                os.path.dirname(python)))
    if family == 'cpp' and not (args.decode_loop and os.access(args.decode_loop, os.X_OK)):
        return 'decode_loop is not built ({})'.format(args.decode_loop or 'no --decode-loop')
    return None


def check_our_environment(args):
    proc = subprocess.run([args.our_python, '-c', 'import petastorm, pyarrow, numpy; '
                           'print(petastorm.__version__, pyarrow.__version__, numpy.__version__)'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit('this project is not importable by {}:\n{}'.format(args.our_python, proc.stderr[-2000:]))
    log('this project: petastorm {} (pyarrow {}, numpy {})'.format(*proc.stdout.split()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', choices=['full', 'tiny'], default='full')
    parser.add_argument('--data-dir', default=os.path.join(ROOT, '.bench-data'))
    parser.add_argument('--workloads', help='comma-separated workload ids (default: all)')
    parser.add_argument('--contenders', default=','.join(FAMILIES),
                        help='comma-separated families among {} (default: all; ray only with --with-ray)'.format(
                            ', '.join(FAMILIES)))
    parser.add_argument('--workers', default='1,2', help='worker counts (threads for the limits)')
    parser.add_argument('--runs', type=int, default=5, help='measured passes per contender (median reported)')
    parser.add_argument('--warmup', type=int, default=1, help='passes before measuring')
    parser.add_argument('--timeout', type=int, default=900, help='seconds per contender process')
    parser.add_argument('--our-python', default=sys.executable)
    parser.add_argument('--ref-python', default=os.path.join(ROOT, '.venv-ref', 'bin', 'python'))
    parser.add_argument('--hf-python', default=os.path.join(ROOT, '.venv-hf', 'bin', 'python'))
    parser.add_argument('--lance-python', default=os.path.join(ROOT, '.venv-lance', 'bin', 'python'))
    parser.add_argument('--ray-python', default=os.path.join(ROOT, '.venv-ray', 'bin', 'python'))
    parser.add_argument('--with-ray', action='store_true',
                        help='measure the Ray Data peer too (.venv-ray; off by default: ~9 s, ~3 GB to start)')
    parser.add_argument('--load', type=int, default=0, metavar='N',
                        help='loaded machine: N background processes spinning during every measurement')
    parser.add_argument('--load-threads', type=int, default=0, metavar='N',
                        help='loaded machine: one background process of N threads working in 1 ms bursts')
    parser.add_argument('--quiet-results', default=None,
                        help='with --load: the quiet run\'s results to compare with '
                             '(default: results.json in --plots-dir)')
    parser.add_argument('--plot-python', default=None,
                        help='interpreter with matplotlib for the plots (default: --ref-python if it exists)')
    parser.add_argument('--decode-loop', default=os.path.join(ROOT, 'build', 'py', 'benchmarks', 'decode_loop'))
    parser.add_argument('--out', default=None,
                        help='default: docs/benchmarks.md, or docs/benchmarks-load.md with --load/--load-threads')
    parser.add_argument('--plots-dir', default=None, help='default: benchmarks/ beside --out')
    args = parser.parse_args(argv)

    loaded = bool(args.load or args.load_threads)
    args.data_dir = os.path.abspath(args.data_dir)
    args.out = os.path.abspath(args.out or os.path.join(ROOT, 'docs', 'benchmarks-load.md' if loaded
                                                        else 'benchmarks.md'))
    args.plots_dir = os.path.abspath(args.plots_dir or os.path.join(os.path.dirname(args.out), 'benchmarks'))
    families = [f.strip() for f in args.contenders.split(',') if f.strip()]
    if not args.with_ray:
        families = [f for f in families if f not in OPTIONAL]
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error('unknown contender families: {}'.format(', '.join(sorted(unknown))))
    worker_counts = [int(w) for w in args.workers.split(',')]
    selected = [w for w in WORKLOADS if not args.workloads or w['id'] in args.workloads.split(',')]
    if loaded:  # the remote workloads have no loaded report
        asked = [w['id'] for w in selected if w.get('report') == 'remote' and args.workloads]
        if asked:
            parser.error('{} are not measured on a loaded machine (--load, --load-threads)'.format(', '.join(asked)))
        selected = [w for w in selected if w.get('report') != 'remote']
    if not selected:
        parser.error('no workload matches --workloads {}'.format(args.workloads))
    main_selected = any(w.get('report') != 'remote' for w in selected)

    started = time.perf_counter()
    check_our_environment(args)
    datasets = prepare_datasets(args, {w['dataset'] for w in selected if w['dataset']} |
                                {options['dataset'] for w in selected for _f, _l, _k, options in w['contenders']
                                 if 'dataset' in options})
    log_dir = os.path.join(args.data_dir, 'logs')
    os.makedirs(log_dir, exist_ok=True)
    unavailable = {f: family_unavailable(args, f) for f in families}
    args.families, args.unavailable = families, unavailable
    conversions = {}
    background = load.BackgroundLoad(args.load, args.load_threads, python=args.our_python)

    results = {'machine': machine_info(), 'size': args.size, 'runs': args.runs, 'warmup': args.warmup,
               'workers': worker_counts, 'workloads': []}
    remote_entries = []  # the entries of the remote report's workloads
    if loaded:
        results['load'] = {'processes': args.load, 'threads': args.load_threads,
                           'description': load.describe(args.load, args.load_threads)}
        log('loaded machine: {} during every measurement'.format(results['load']['description']))
    failed = []
    if main_selected and unavailable.get('petastorm', 'not asked') is None:
        log('checking compatibility with Petastorm 0.13.1, both ways ...')
        compat = run_json([args.our_python, os.path.join(HERE, 'compat_check.py'), '--ref-python', args.ref_python,
                           '--work-dir', os.path.join(args.data_dir, 'compat')], args.timeout,
                          os.path.join(log_dir, 'compat_check.log'))
        results['compatibility'] = compat
        for check in compat.get('checks', []):
            log('    {}: {} rows, {}'.format(check['name'], check['rows'], 'identical values' if not check['differences']
                                            else 'DIFFERENT: ' + '; '.join(check['differences'][:3])))
        if compat['status'] != 'ok':
            failed.append('compatibility with Petastorm 0.13.1: {}'.format(
                compat.get('reason') or '; '.join(d for c in compat.get('checks', []) for d in c['differences'][:3])))
    server = S3TestServer(args, selected, datasets, log_dir)
    # A SIGTERM (a killed make) ends the run through the finally below, which stops the server.
    previous_sigterm = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for workload in selected:
            entry = run_workload(args, workload, datasets, worker_counts, conversions, log_dir, background, server,
                                 failed)
            if workload.get('report') == 'remote':
                remote_entries.append(entry)
            else:
                results['workloads'].append(entry)
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous_sigterm)
    results['conversions'] = list(conversions.values())
    results['seconds'] = round(time.perf_counter() - started, 1)

    # Every run saves its raw results beside the report; a loaded run's go to results-load.json and
    # its report compares with the quiet run's results.json. The remote workloads' go to
    # results-remote.json, merged with the workloads measured before, and their report to
    # benchmarks-remote.md beside --out.
    os.makedirs(args.plots_dir, exist_ok=True)
    if main_selected:
        results_path = os.path.join(args.plots_dir, 'results-load.json' if loaded else 'results.json')
        with open(results_path, 'w') as f:
            json.dump(results, f, indent=1)
            f.write('\n')
        extra = []
        if loaded:
            extra = ['--no-plots', '--quiet-results', os.path.abspath(
                args.quiet_results or os.path.join(args.plots_dir, 'results.json'))]
        write_report(args, results_path, args.out, extra)
    if remote_entries:
        remote_path = os.path.join(args.plots_dir, 'results-remote.json')
        remote_results = merge_remote_results(remote_path, results, remote_entries, server.info)
        with open(remote_path, 'w') as f:
            json.dump(remote_results, f, indent=1)
            f.write('\n')
        write_report(args, remote_path, os.path.join(os.path.dirname(args.out), 'benchmarks-remote.md'), [])
    log('wrote the report{} in {:.0f} s'.format(' and the remote report' if remote_entries else '',
                                                time.perf_counter() - started))
    if failed:
        log('FAILED contenders (logs in {}):\n  {}'.format(log_dir, '\n  '.join(failed)))
        return 1
    return 0


def write_report(args, results_path, out, extra):
    plot_python = args.plot_python or (args.ref_python if args.ref_python and os.access(args.ref_python, os.X_OK)
                                       else sys.executable)
    report = [plot_python, os.path.join(HERE, 'report.py'), results_path, '--out', out,
              '--plots-dir', args.plots_dir] + extra
    if subprocess.run(report, cwd=ROOT).returncode != 0:
        log('report.py failed with {}; writing the tables without plots'.format(plot_python))
        subprocess.run([sys.executable, os.path.join(HERE, 'report.py'), results_path, '--out', out,
                        '--plots-dir', args.plots_dir, '--no-plots'] + extra[1:], cwd=ROOT, check=True)
    log('wrote {} and {}'.format(out, args.plots_dir))


def merge_remote_results(path, results, entries, server_info):
    """The remote report's results: this run's entries, then those of the other remote workloads
    measured before (same --size) from `path`, in WORKLOADS' order. Each entry carries its own
    measurement details ('measured'): the report's figures may come from several runs."""
    merged = {entry['id']: entry for entry in entries}
    try:
        with open(path) as f:
            before = json.load(f)
    except (OSError, ValueError):
        before = None
    if not (before and before.get('size') == results['size'] and before.get('kind') == 'remote'):
        before = None  # another size's figures are not merged
    for entry in (before or {}).get('workloads', []):
        merged.setdefault(entry['id'], entry)
    order = [w['id'] for w in WORKLOADS]
    workloads = sorted(merged.values(), key=lambda e: order.index(e['id']) if e['id'] in order else len(order))
    server = dict((before or {}).get('server') or {})  # the uploads and probe of every run merged
    if server_info:
        uploads = dict(server.get('uploads') or {}, **server_info.get('uploads', {}))
        server.update({k: v for k, v in server_info.items() if v is not None}, uploads=uploads)
    return {'kind': 'remote', 'machine': results['machine'], 'size': results['size'],
            'workers': sorted({w for e in workloads for w in e['measured']['workers']}),
            'server': server, 'workloads': workloads}


REQUEST_LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|HEAD|PUT|POST|DELETE) /')


class S3TestServer(object):
    """The S3 test server of the selected remote workloads (remote.py): started, and the datasets
    their S3 contenders read uploaded, before the first of them; `reason` says why it is not there."""

    def __init__(self, args, selected, datasets, log_dir):
        self.args, self.log_dir = args, log_dir
        self.server, self.reason, self.info = None, None, {}
        self.names = sorted({options.get('dataset', w['dataset']) for w in selected if w.get('remote')
                             for family, _l, _k, options in w['contenders']
                             if options.get('storage') == 's3' and family in args.families
                             and not args.unavailable.get(family)})
        self.datasets = datasets

    def ensure(self):
        """Starts it once; returns None when it runs, else the reason it does not."""
        if self.server is not None or self.reason is not None or not self.names:
            return self.reason
        log('starting the S3 test server (moto) and uploading {} ...'.format(', '.join(self.names)))
        self.server = remote.S3Server(self.args.our_python, os.path.join(self.log_dir, 'moto_server.log'))
        t0 = time.perf_counter()
        try:
            self.server.start()
        except RuntimeError as e:
            self.server, self.reason = None, 'the S3 test server did not start: {}'.format(e)
            log('    ' + self.reason)
            return self.reason
        argv = [self.args.our_python, os.path.join(HERE, 'remote.py'), 'upload', '--endpoint', self.server.endpoint]
        for name in self.names:
            argv += [self.datasets[name]['path'], name]
        uploaded = run_json(argv, self.args.timeout, os.path.join(self.log_dir, 'upload.log'))
        if uploaded['status'] != 'ok':
            self.reason = 'uploading to the S3 test server failed: {}'.format(uploaded.get('reason', '?'))
            log('    ' + self.reason)
            self.stop()
            return self.reason
        self.info = {'program': 'moto_server (moto[server] {}), in memory, on 127.0.0.1'.format(uploaded.get('moto')),
                     'uploads': uploaded['uploads'], 'probe': uploaded.get('probe'),
                     'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}
        log('    {} on port {}; uploaded in {:.1f} s ({})'.format(
            self.info['program'], self.server.port, time.perf_counter() - t0,
            ', '.join('{} {} files {:.1f} MB {:.1f} s'.format(k, v['files'], v['bytes'] / 1e6, v['seconds'])
                      for k, v in uploaded['uploads'].items())))
        return None

    def log_size(self):
        try:
            return os.path.getsize(self.server.log_path)
        except (OSError, AttributeError):
            return None

    def requests_since(self, offset):
        """{method: count} of the requests the server logged after `offset` (a line per request)."""
        counts = {}
        try:
            with open(self.server.log_path, 'rb') as f:
                f.seek(offset)
                for line in f.read().decode(errors='replace').splitlines():
                    found = REQUEST_LINE.search(line)  # '"GET /bench/... HTTP/1.1" 206', maybe in colours
                    if found:
                        counts[found.group(1)] = counts.get(found.group(1), 0) + 1
        except (OSError, AttributeError):
            pass
        return counts

    def stop(self):
        if self.server is not None:
            self.server.stop()
            log('stopped the S3 test server')
            self.server = None


def run_workload(args, workload, datasets, worker_counts, conversions, log_dir, background, server, failed):
    """Runs every contender of one workload; returns its results entry (failures appended to `failed`)."""
    if workload['dataset'] is None:  # a generation workload: its output, described after the runs
        dataset = {'path': os.path.join(args.data_dir, 'generated', workload['id'])}
    else:
        dataset = datasets[workload['dataset']]
    entry = {key: workload[key] for key in ('id', 'title', 'about', 'metric')}
    if 'pyarrow_same_work' in workload:  # the remote report: whether pyarrow's row does the readers' work
        entry['pyarrow_same_work'] = workload['pyarrow_same_work']
    entry['dataset'] = {k: dataset.get(k, 0) for k in ('rows', 'files', 'row_groups', 'bytes')}
    entry['contenders'] = []
    t_workload = time.perf_counter()
    if workload.get('report') == 'remote':
        entry['measured'] = {'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
                             'commit': machine_info().get('commit'), 'runs': args.runs, 'warmup': args.warmup,
                             'workers': worker_counts}
    not_converted = convert_for_peers(args, workload, dataset['path'], conversions, log_dir) \
        if workload['dataset'] else {}
    for family, label, kind, options in workload['contenders']:
        if family not in args.families:
            continue
        for workers in options.get('workers', worker_counts):
            max_rows = options.get('max_rows', {}).get(args.size)
            if max_rows:
                label += ' (first {:,} rows of each pass)'.format(max_rows)
            record = {'family': family, 'label': label, 'workers': workers, 'limit': bool(options.get('limit')),
                      'vs_ours': bool(options.get('vs_ours')), 'peer': family in PEERS,
                      'processes': bool(options.get('processes'))}
            if options.get('busy_ms'):
                record['busy_ms'] = options['busy_ms']
            if isinstance(options.get('vs_ours'), str):
                record['vs_ours_text'] = options['vs_ours']
            for key in ('vs_ours_text', 'vs_ours_invert', 'variant', 'storage', 'decode_scale'):
                if key in options:
                    record[key] = options[key]
            if workload.get('report') == 'remote':
                record['kind'] = kind
            entry['contenders'].append(record)
            reason = args.unavailable[family] or not_converted.get(family)
            path = datasets[options['dataset']]['path'] if 'dataset' in options else dataset['path']
            remote_argv = []
            if reason is None and options.get('storage') == 's3':
                reason = server.ensure()
                if reason is None:
                    path = remote.url(options.get('dataset', workload['dataset']))
                    remote_argv = remote.contender_options(family, server.server.endpoint) + \
                        ['--server-pid', str(server.server.pid)]
            if reason is not None:
                record['result'] = {'status': 'not run', 'reason': reason}
                continue
            argv = contender_command(args, workload, family, kind, options, path, workers) + remote_argv
            name = '{}-{}-{}{}{}{}{}-w{}'.format(workload['id'], family, kind,
                                                 '-' + options['pool'] if 'pool' in options else '',
                                                 '-' + options['loader'] if 'loader' in options else '',
                                                 '-' + options['storage'] if 'storage' in options else '',
                                                 '-nometa' if options.get('variant') == WITHOUT_METADATA else '',
                                                 workers)
            log('{} {}: {}{} (workers={}) ...'.format(workload['id'], workload['title'], label,
                                                      ', ' + options['variant'] if 'variant' in options else '',
                                                      workers))
            t0 = time.perf_counter()
            log_offset = server.log_size() if remote_argv else None
            with background:
                result = run_json(argv, args.timeout, os.path.join(log_dir, name + '.log'))
            result.pop('traceback', None)
            if log_offset is not None and result['status'] == 'ok':  # the server logs a line per request
                passes = len(result['wall_s']) + len(result.get('warmup_s', []))
                result['server_requests_per_pass'] = {method: round(count / passes, 1) for method, count in
                                                      sorted(server.requests_since(log_offset).items())}
            if result['status'] == 'error' and family in PEERS:
                result['status'] = 'n/a'  # a peer's failure is its own: reported, the bench goes on
            elif result['status'] == 'n/a' and family not in ('ours',) + PEERS:
                result['status'] = 'error'  # only this project may lack a feature
            record['result'] = result
            record['seconds'] = round(time.perf_counter() - t0, 1)
            if result.get('output') and not entry['dataset']['rows']:
                entry['dataset'] = result['output']
            summary = result['status']
            if result['status'] == 'ok':
                rates = sorted(r / w for r, w in zip(result['rows'], result['wall_s']))
                summary = ('{:.0f} ms to the first row'.format(1000 * sorted(result['wall_s'])[len(rates) // 2])
                           if workload['metric'] == 'startup' else '{:,.0f} rows/s'.format(rates[len(rates) // 2]))
            elif result['status'] == 'error':
                failed.append('{} {} (workers={}): {}'.format(workload['id'], label, workers, result['reason']))
                summary = 'ERROR ' + result['reason']
            else:
                summary += ': ' + result.get('reason', '')
            log('    {} [{:.1f} s; log {}]'.format(summary, record['seconds'], name + '.log'))
    if 'measured' in entry:
        entry['measured']['seconds'] = round(time.perf_counter() - t_workload, 1)
    return entry


if __name__ == '__main__':
    sys.exit(main())
