"""Runs one contender on one workload in this process and prints one JSON object.

    python benchmarks/runner.py KIND DATASET [--workers N] [--runs 5] [--warmup 1] [...]

Kinds: reader (make_reader), batch (make_batch_reader), torch (petastorm.pytorch's
BatchedDataLoader, or DataLoader, over make_reader or make_batch_reader), tf (petastorm.tf_utils'
make_petastorm_dataset batched in TF), tf-limit (TF over the same batches in memory), startup (factory call to the first
row), pyarrow (ParquetFile.iter_batches), pyarrow-startup, pyarrow-dataset (pyarrow.dataset's
to_batches over every column), pyarrow-dataset-startup (its first row), numpy-load (numpy.load over a
column's bytes), random (make_map_dataset: random rows, singly or in batches),
spark-generate (writing HelloWorldSchema rows with Spark; DATASET is a scratch directory),
and the peers' kinds of peers.py (hf, lance, torch-parquet, torch-pil). Torch loaders spend --busy-ms
per batch in training_loop.consume (the overlap workloads).

DATASET is a directory, or an s3:// URL (the remote workloads, remote.py): then --storage-options
(this project's storage_options, in Arrow's names; the pyarrow kinds make their S3FileSystem from
them) or --s3fs (Petastorm 0.13.1: s3fs's arguments, see petastorm_s3_filesystem) give the
connection, and --server-pid the S3 server whose CPU each pass adds ("server_cpu_s").

The same file runs in this project's environment (.venv: `petastorm` is this project) and in the
reference one (.venv-ref: `petastorm` is Petastorm 0.13.1): it only uses their common API, and
works with numpy 1.23 / pyarrow 10 as with numpy 2 / pyarrow 26. One measured run reads the whole
dataset once (one epoch) and includes making the reader, as a training loop does each epoch.

Output: {"status": "ok", "wall_s": [...], "cpu_s": [...], "rows": [...], "bytes": [...],
"warmup_s": [...], "peak_rss_mb": x, "versions": {...}}, one entry per measured run (torch loaders add
"batches": [...]; --tree-memory adds "peak_tree_mb"; reader, batch, pyarrow-dataset and the startup kinds add "first_row_s": [...],
the seconds from the start of each pass to its first row or batch, before the reader is stopped, and
"warmup_first_row_s"); cpu_s counts the worker processes too
(cpu_seconds); or {"status": "n/a",
"reason": ...} when the contender raises NotImplementedError or ImportError (not implemented
yet); or {"status": "error", "reason": ...}.
"""
import argparse
import glob
import io
import json
import os
import platform
import resource
import sys
import time
import traceback
import warnings

import peers
from remote import process_cpu_seconds
from training_loop import consume, nbytes_of, random_access


def peak_rss_mb():
    """The process's peak resident set size (VmHWM), in MiB."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _descendants(pid):
    """The live descendants of `pid` (from /proc/PID/task/TID/children)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir('/proc/{}/task'.format(parent))
        except OSError:
            continue
        for tid in tasks:
            try:
                with open('/proc/{}/task/{}/children'.format(parent, tid)) as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
    return found


def cpu_seconds():
    """CPU seconds of this process and of every process it started: its own and its reaped
    children's from getrusage (RUSAGE_SELF + RUSAGE_CHILDREN: a DataLoader's workers, joined at the
    end of an epoch), plus the live descendants' from /proc/PID/stat (utime + stime + cutime +
    cstime: worker processes kept between passes). A difference of two calls counts each process
    once, whether it ends during the pass or not."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    ticks = os.sysconf('SC_CLK_TCK')
    for pid in _descendants(os.getpid()):
        try:
            with open('/proc/{}/stat'.format(pid)) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / ticks
    return total


class TreeMemory(object):
    """With worker processes: the peak of this process's RSS plus its descendants' private memory
    (USS: Private_Clean + Private_Dirty, what a forked worker does not share with it; their shared
    libraries and copy-on-write pages are in this process's RSS already), sampled every `interval`
    seconds by a thread: the tree's memory comparable with one process's peak RSS."""

    def __init__(self, interval=0.2):
        import threading
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    @staticmethod
    def _rollup_kb(pid, keys):
        total = 0
        try:
            with open('/proc/{}/smaps_rollup'.format(pid)) as f:
                for line in f:
                    if line.split(':', 1)[0] in keys:
                        total += int(line.split()[1])
        except OSError:
            pass
        return total

    def _sample(self, interval):
        while not self._stop.wait(interval):
            me = os.getpid()
            kb = self._rollup_kb(me, ('Rss',)) + sum(self._rollup_kb(p, ('Private_Clean', 'Private_Dirty'))
                                                     for p in _descendants(me))
            self.peak_kb = max(self.peak_kb, kb)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024.0


def data_files(path):
    return sorted(f for f in glob.glob(os.path.join(path, '*.parquet'))
                  if not os.path.basename(f).startswith(('_', '.')))


def url(path):
    if '://' in path:  # a remote dataset (s3://bucket/key)
        return path
    return 'file://' + os.path.abspath(path)


_PASS = {'t0': None, 'first': None}


def _first_item():
    """Called by a pass at its first row (or batch): the seconds since the pass began."""
    if _PASS['first'] is None and _PASS['t0'] is not None:
        _PASS['first'] = time.perf_counter() - _PASS['t0']


def petastorm_s3_filesystem(s3fs_kwargs):
    """Petastorm 0.13.1's S3 filesystem: an s3fs.S3FileSystem in pyarrow's legacy S3FSWrapper.

    `make_reader('s3://...', storage_options=s3fs_kwargs)` makes a bare s3fs filesystem, which
    pyarrow 14's ParquetDataset takes to its new Dataset API, where Petastorm's `validate_schema=False`
    is a ValueError ("not yet supported with the new Dataset API"; uber/petastorm#758, #803). Only a
    legacy `pyarrow.filesystem.FileSystem` keeps it on the legacy path, so Petastorm's users pass
    `filesystem=S3FSWrapper(s3fs.S3FileSystem(...))` (uber/petastorm#210) -- whose `walk` calls
    s3fs's `_ls`, a coroutine since s3fs 0.5 (fsspec/s3fs#366): here it calls s3fs's own `walk`.
    A new s3fs filesystem each pass (`skip_instance_cache`): fsspec would otherwise hand back the
    same instance, whose listings cache spares later passes in the process the listing, a cache
    this project's reader does not keep."""
    import s3fs
    from pyarrow.filesystem import S3FSWrapper

    class Wrapper(S3FSWrapper):
        def walk(self, path, refresh=False):
            return self.fs.walk(path)

    return Wrapper(s3fs.S3FileSystem(skip_instance_cache=True, **s3fs_kwargs))


_nbytes = nbytes_of


# --- One pass per kind: each returns (rows, decoded bytes) -----------------------------------

def _reader_kwargs(args):
    kwargs = dict(reader_pool_type=args.pool_type, workers_count=args.workers, shuffle_row_groups=False, num_epochs=1)
    if args.storage_options:
        kwargs['storage_options'] = json.loads(args.storage_options)
    if args.s3fs:  # made in the pass, as make_reader makes its filesystem from storage_options
        kwargs['filesystem'] = petastorm_s3_filesystem(json.loads(args.s3fs))
    if args.decode_options:
        kwargs['decode_options'] = json.loads(args.decode_options)
    return kwargs


def pass_reader(args):
    from petastorm import make_reader
    rows = nbytes = 0
    with make_reader(url(args.dataset), **_reader_kwargs(args)) as reader:
        for row in reader:
            if not rows:
                _first_item()
            rows += 1
            nbytes += sum(_nbytes(v) for v in row)
    return rows, nbytes


def pass_batch(args):
    from petastorm import make_batch_reader
    rows = nbytes = 0
    with make_batch_reader(url(args.dataset), **_reader_kwargs(args)) as reader:
        for batch in reader:
            if not rows:
                _first_item()
            rows += len(batch[0])
            nbytes += sum(_nbytes(column) for column in batch)
    return rows, nbytes


def pass_torch(args):
    from petastorm import make_batch_reader, make_reader
    from petastorm import pytorch
    factory = make_batch_reader if args.over == 'batch' else make_reader
    loader = pytorch.DataLoader if args.loader == 'plain' else pytorch.BatchedDataLoader
    with factory(url(args.dataset), **_reader_kwargs(args)) as reader:
        return consume(loader(reader, batch_size=args.batch_size), args)


def pass_random(args):
    """make_map_dataset over the dataset (made each pass: a cold row-group cache), then
    training_loop.random_access: --accesses random rows, singly or in batches of --batch-size."""
    from petastorm import make_map_dataset
    return random_access(make_map_dataset(url(args.dataset), workers_count=args.workers), args)


def pass_tf(args):
    """make_petastorm_dataset(reader) batched to --batch-size in TF, iterated eagerly (or, with
    --tf-consume graph, reduced inside TensorFlow as model.fit consumes it): rows of tensors."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    import tensorflow as tf
    from petastorm import make_batch_reader, make_reader
    from petastorm.tf_utils import make_petastorm_dataset
    factory = make_batch_reader if args.over == 'batch' else make_reader
    with factory(url(args.dataset), **_reader_kwargs(args)) as reader:
        dataset = make_petastorm_dataset(reader)
        if args.over == 'batch':
            dataset = dataset.unbatch()
        dataset = dataset.batch(args.batch_size)
        if args.tf_consume == 'graph':
            def add(total, batch):
                count = tf.cast(tf.shape(batch[0])[0], tf.int64)
                size = tf.add_n([tf.cast(tf.size(v), tf.int64) * v.dtype.size for v in batch])
                return total[0] + count, total[1] + size
            rows, nbytes = dataset.reduce((tf.constant(0, tf.int64), tf.constant(0, tf.int64)), add)
            return int(rows), int(nbytes)
        rows = nbytes = 0
        for batch in dataset:
            rows += int(batch[0].shape[0])
            nbytes += sum(v.shape.num_elements() * v.dtype.size for v in batch)
    return rows, nbytes


class TfLimit(object):
    """TensorFlow's own ceiling: the same batches from memory (the dataset's first row group,
    decoded by this project once before timing, repeated to the dataset's row count),
    rebatched and iterated eagerly as the tf contender is."""

    def __init__(self, args):
        os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        import tensorflow as tf
        from petastorm import make_batch_reader, make_reader
        factory = make_batch_reader if args.over == 'batch' else make_reader
        with factory(url(args.dataset), **_reader_kwargs(args)) as reader:
            total = reader.rows_per_epoch
            group = next(reader.decoded_row_groups())
            self.columns = tuple(group.to_numpy_columns().values())
        self.repeat = max(1, total // len(self.columns[0]))
        options = tf.data.Options()
        options.autotune.enabled = False
        self.dataset = tf.data.Dataset.from_tensors(self.columns).repeat(self.repeat) \
            .rebatch(args.batch_size).with_options(options)

    def __call__(self, args):
        import tensorflow as tf
        rows = nbytes = 0
        for batch in self.dataset:
            rows += int(batch[0].shape[0])
            nbytes += sum(v.shape.num_elements() * v.dtype.size for v in batch)
        return rows, nbytes


def pass_startup(args):
    from petastorm import make_reader
    reader = make_reader(url(args.dataset), **_reader_kwargs(args))
    try:
        next(reader)
        _first_item()
    finally:
        reader.stop()
        reader.join()
    return 1, 0


def pass_pyarrow_startup(args):
    """The least a reader must do before its first row: read the dataset metadata, list the
    directory, read the first row group of the first file."""
    import pyarrow.parquet as pq
    common = os.path.join(args.dataset, '_common_metadata')
    if os.path.exists(common):
        pq.read_schema(common)
    first = data_files(args.dataset)[0]
    table = pq.ParquetFile(first).read_row_group(0)
    table.slice(0, 1).to_pylist()
    return 1, 0


def _pyarrow_filesystem(args):
    """(pyarrow filesystem, path) of DATASET: an S3FileSystem made from --storage-options for s3://."""
    import pyarrow.fs as pafs
    if args.dataset.startswith('s3://'):
        options = json.loads(args.storage_options)
        scheme, _, host = options['endpoint_override'].partition('://')
        return pafs.S3FileSystem(access_key=options['access_key'], secret_key=options['secret_key'],
                                 endpoint_override=host, scheme=scheme, region=options['region']), \
            args.dataset[len('s3://'):]
    return pafs.LocalFileSystem(), os.path.abspath(args.dataset)


def pass_pyarrow_dataset_startup(args):
    """pyarrow's own way to the first row of a directory of Parquet files: `pyarrow.dataset.dataset`
    (lists the directory, skipping `_`-prefixed files such as `_common_metadata`, and reads the first
    file's footer for the schema), then the first batch of its scanner (which opens the first files)."""
    import pyarrow.dataset as ds
    filesystem, path = _pyarrow_filesystem(args)
    reader = ds.dataset(path, filesystem=filesystem, format='parquet').scanner().to_reader()
    try:
        batch = reader.read_next_batch()
        batch.slice(0, 1).to_pylist()
        _first_item()
    finally:
        reader.close()  # which waits for the scan of every file to end: after the first row's time
    return 1, 0


class PyarrowDataset(object):
    """`pyarrow.dataset.dataset(...).to_batches()` over every column of every file (threads on, on
    --workers CPU threads; Arrow's I/O pool as it comes, 8 threads), each column to numpy (the binary
    ones to arrays of bytes objects): reading the same columns as the readers, decoding nothing."""

    def __init__(self, args):
        import pyarrow as pa
        pa.set_cpu_count(max(1, args.workers))

    def __call__(self, args):
        import pyarrow.dataset as ds
        filesystem, path = _pyarrow_filesystem(args)
        dataset = ds.dataset(path, filesystem=filesystem, format='parquet')
        rows = nbytes = 0
        for batch in dataset.to_batches(columns=dataset.schema.names, use_threads=True):
            if not rows:
                _first_item()
            rows += batch.num_rows
            for column in batch.columns:
                column.to_numpy(zero_copy_only=False)
                nbytes += column.nbytes
        return rows, nbytes


class PyarrowLimit(object):
    """ParquetFile.iter_batches over every file, every column to numpy (zero-copy for numbers), in
    batches of a row group's size (smaller batches are slower)."""

    def __init__(self, args):
        import pyarrow as pa
        self.files = data_files(args.dataset)
        self.use_threads = args.workers > 1
        pa.set_cpu_count(max(1, args.workers))
        pa.set_io_thread_count(max(1, args.workers))

    def __call__(self, args):
        import pyarrow.parquet as pq
        rows = nbytes = 0
        for path in self.files:
            parquet_file = pq.ParquetFile(path)
            metadata = parquet_file.metadata
            batch_size = max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
            for batch in parquet_file.iter_batches(batch_size=batch_size, use_threads=self.use_threads):
                rows += batch.num_rows
                nbytes += sum(column.to_numpy().nbytes for column in batch.columns)
        return rows, nbytes


class NumpyLoadLimit(object):
    """numpy.load over the cells of the codec columns, read from the files once before timing."""

    def __init__(self, args):
        import pyarrow.parquet as pq
        self.columns = []
        for name in args.columns.split(','):
            cells = []
            for path in data_files(args.dataset):
                cells.extend(pq.read_table(path, columns=[name]).column(0).to_pylist())
            self.columns.append(cells)

    def __call__(self, args):
        import numpy as np
        nbytes = 0
        for cells in self.columns:
            for cell in cells:
                nbytes += np.load(io.BytesIO(cell)).nbytes
        return len(self.columns[0]), nbytes


# --- Generation (W7): the user guide's HelloWorldSchema written with Spark ----------------------

def _hello_world_schema():
    import numpy as np
    from pyspark.sql.types import IntegerType
    from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    return Unischema('HelloWorldSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
        UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
        UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
    ])


def _mnist_schema():
    import numpy as np
    from pyspark.sql.types import IntegerType
    from petastorm.codecs import NdarrayCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField
    return Unischema('MnistSchema', [
        UnischemaField('idx', np.int_, (), ScalarCodec(IntegerType()), False),
        UnischemaField('digit', np.int_, (), ScalarCodec(IntegerType()), False),
        UnischemaField('image', np.uint8, (28, 28), NdarrayCodec(), False),
    ])


_POOLS = {}


def _pool(name, shape, count=64):
    """`count` random uint8 arrays of `shape`, made once per process from a fixed seed: rows take
    them in turn, so that every contender writes the same rows and making a row costs nothing
    next to encoding and writing it."""
    if name not in _POOLS:
        import numpy as np
        rng = np.random.RandomState(len(name))
        _POOLS[name] = [rng.randint(0, 255, size=shape).astype(np.uint8) for _ in range(count)]
    return _POOLS[name]


def mnist_generator(x):
    """An MNIST-like row (Petastorm's examples/mnist schema)."""
    return {'idx': x, 'digit': x % 10, 'image': _pool('mnist', (28, 28), 256)[x % 256]}


def hello_world_generator(x):
    """The guide's row_generator's rows (random pixels), taken from a pool made once."""
    return {'id': x, 'image1': _pool('image1', (128, 256, 3), 16)[x % 16],
            'array_4d': _pool('array_4d', (4, 128, 30, 3), 16)[x % 16]}


def tree_cpu_seconds():
    """CPU seconds of this process and its live descendants (Spark's JVM and Python workers)."""
    ticks = os.sysconf('SC_CLK_TCK')
    children, cpu = {}, {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/{}/stat'.format(entry)) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


class SparkGenerate(object):
    """One pass writes --rows rows of --generate-schema to a fresh directory under DATASET inside
    materialize_dataset: --generate-path rows (dict_to_spark_row), vectorized (generate_dataframe)
    or writer (write_dataset, no Spark)."""

    cpu_seconds = staticmethod(tree_cpu_seconds)

    def __init__(self, args):
        self.schema = _mnist_schema() if args.generate_schema == 'mnist' else _hello_world_schema()
        self.generator = mnist_generator if args.generate_schema == 'mnist' else hello_world_generator
        self.spark = None
        self.count = 0
        if args.generate_path != 'writer':
            os.environ['PYSPARK_PYTHON'] = sys.executable
            from pyspark.sql import SparkSession
            self.spark = SparkSession.builder.master('local[{}]'.format(args.workers)) \
                .config('spark.ui.enabled', 'false').config('spark.driver.memory', '2g').getOrCreate()
            self.spark.sparkContext.setLogLevel('ERROR')
        if args.generate_path == 'vectorized':
            from petastorm.spark_utils import generate_dataframe  # noqa: F401 (n/a where it is missing)

    def __call__(self, args):
        import shutil
        target = os.path.join(os.path.abspath(args.dataset), 'pass-{}'.format(self.count))
        self.count += 1
        shutil.rmtree(target, ignore_errors=True)
        output_url = url(target)
        schema, rows, generator = self.schema, args.rows, self.generator
        if args.generate_path == 'writer':
            from petastorm import write_dataset
            write_dataset(output_url, schema, (generator(i) for i in range(rows)), rowgroup_size_mb=64)
        else:
            from petastorm.etl.dataset_metadata import materialize_dataset
            spark = self.spark
            with materialize_dataset(spark, output_url, schema, 64):
                if args.generate_path == 'vectorized':
                    from petastorm.spark_utils import generate_dataframe
                    df = generate_dataframe(spark, schema, generator, rows, num_partitions=args.workers)
                else:
                    from petastorm.unischema import dict_to_spark_row
                    rdd = spark.sparkContext.parallelize(range(rows), args.workers).map(generator) \
                        .map(lambda x: dict_to_spark_row(schema, x))
                    df = spark.createDataFrame(rdd, schema.as_spark_schema())
                df.write.mode('overwrite').parquet(output_url)
        files = data_files(target)
        nbytes = sum(os.path.getsize(f) for f in files)
        self.output = {'rows': rows, 'files': len(files), 'bytes': nbytes,
                       'row_groups': sum(_row_groups(f) for f in files)}
        shutil.rmtree(target, ignore_errors=True)
        return rows, nbytes


def _row_groups(path):
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).num_row_groups


PASSES = {'reader': pass_reader, 'batch': pass_batch, 'torch': pass_torch, 'startup': pass_startup,
          'pyarrow-startup': pass_pyarrow_startup, 'pyarrow-dataset-startup': pass_pyarrow_dataset_startup,
          'tf': pass_tf, 'random': pass_random}
LIMITS = {'pyarrow': PyarrowLimit, 'numpy-load': NumpyLoadLimit, 'spark-generate': SparkGenerate,
          'tf-limit': TfLimit, 'pyarrow-dataset': PyarrowDataset}
LIMITS.update(peers.KINDS)  # other libraries' loaders (peers.py): classes made once per process


def versions():
    found = {'python': platform.python_version()}
    for module in ('petastorm', 'pyarrow', 'numpy', 'cv2', 'torch', 'pandas', 'tensorflow', 'datasets', 'lance',
                   'PIL', 'ray', 's3fs'):
        if module in sys.modules:
            found[module] = getattr(sys.modules[module], '__version__', '?')
    return found


def run(args):
    warnings.simplefilter('ignore')  # Petastorm 0.13.1 on pyarrow 10 warns of deprecations
    if args.kind in LIMITS:
        one_pass = LIMITS[args.kind](args)
    else:
        one_pass = PASSES[args.kind]
    warmup_s = []
    warmup_first = []
    for _ in range(args.warmup):
        _PASS['first'] = None
        t0 = _PASS['t0'] = time.perf_counter()
        one_pass(args)
        warmup_s.append(time.perf_counter() - t0)
        if _PASS['first'] is not None:
            warmup_first.append(_PASS['first'])
    result = {'status': 'ok', 'wall_s': [], 'cpu_s': [], 'rows': [], 'bytes': [], 'warmup_s': warmup_s}
    if warmup_first:
        result['warmup_first_row_s'] = warmup_first
    cpu = getattr(one_pass, 'cpu_seconds', cpu_seconds)
    tree = TreeMemory() if args.tree_memory else None
    for _ in range(args.runs):
        server0 = process_cpu_seconds(args.server_pid)
        _PASS['first'] = None
        cpu0, t0 = cpu(), time.perf_counter()
        _PASS['t0'] = t0
        counted = one_pass(args)
        result['wall_s'].append(time.perf_counter() - t0)
        result['cpu_s'].append(cpu() - cpu0)
        if _PASS['first'] is not None:
            result.setdefault('first_row_s', []).append(_PASS['first'])
        if server0 is not None:
            server1 = process_cpu_seconds(args.server_pid)
            if server1 is not None:
                result.setdefault('server_cpu_s', []).append(server1 - server0)
        result['rows'].append(counted[0])
        result['bytes'].append(counted[1])
        if len(counted) > 2:  # a loader of batches: how many (the overlap workloads need them)
            result.setdefault('batches', []).append(counted[2])
    if min(result['rows']) == 0:
        return {'status': 'error', 'reason': 'read no rows'}
    result['peak_rss_mb'] = peak_rss_mb()
    if tree is not None:
        result['peak_tree_mb'] = tree.stop()
    if args.busy_ms:
        result['busy_ms'] = args.busy_ms
    if getattr(one_pass, 'output', None):
        result['output'] = one_pass.output
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('kind', choices=sorted(PASSES) + sorted(LIMITS))
    parser.add_argument('dataset')
    parser.add_argument('--workers', type=int, default=1, help='workers_count, or threads for the limits')
    parser.add_argument('--pool-type', default='thread')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--over', choices=['reader', 'batch'], default='reader',
                        help='torch, tf: the reader to load from')
    parser.add_argument('--tf-consume', choices=['eager', 'graph'], default='eager',
                        help='tf: iterate in Python, or reduce inside TensorFlow (as model.fit consumes)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--loader', choices=['batched', 'plain', 'inprocess', 'dataloader'], default='batched',
                        help='torch: petastorm.pytorch.BatchedDataLoader or DataLoader; hf: ds.iter in the process or a torch DataLoader')
    parser.add_argument('--columns', help='numpy-load: comma-separated codec columns')
    parser.add_argument('--generate-path', choices=['rows', 'vectorized', 'writer'], default='rows',
                        help='spark-generate: how the rows are made')
    parser.add_argument('--rows', type=int, default=400, help='spark-generate: rows per pass')
    parser.add_argument('--generate-schema', choices=['hello', 'mnist'], default='hello',
                        help="spark-generate: the user guide's HelloWorldSchema or examples/mnist's schema")
    parser.add_argument('--busy-ms', type=float, default=0,
                        help='torch loaders: milliseconds of GIL-holding Python work per batch (a training step)')
    parser.add_argument('--max-rows', type=int, default=0,
                        help='torch loaders: end a pass after this many rows (for the slowest peers)')
    parser.add_argument('--accesses', type=int, default=2000,
                        help='random, hf-random: random rows read per pass')
    parser.add_argument('--storage-options', help='remote DATASET: storage_options (JSON, Arrow names)')
    parser.add_argument('--s3fs', help='remote DATASET, Petastorm 0.13.1: s3fs.S3FileSystem arguments (JSON)')
    parser.add_argument('--server-pid', type=int, help='the S3 server process: its CPU per pass is recorded')
    parser.add_argument('--tree-memory', action='store_true',
                        help="sample this process's RSS plus its worker processes' private memory")
    parser.add_argument('--decode-options', help="this project: make_reader's decode_options (JSON)")
    parser.add_argument('--no-tracking', action='store_true',
                        help='this project: stage times and the loaders\' state tracking off (what they cost)')
    peers.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.no_tracking:
        from petastorm import loader_stages
        loader_stages.TRACKING = False
    try:
        result = run(args)
    except (NotImplementedError, ImportError) as e:
        result = {'status': 'n/a', 'reason': '{}: {}'.format(type(e).__name__, e)}
    except Exception as e:  # reported in the table; the orchestrator shows the traceback
        result = {'status': 'error', 'reason': '{}: {}'.format(type(e).__name__, e),
                  'traceback': traceback.format_exc()}
    result['versions'] = versions()
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
