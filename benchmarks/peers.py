"""Peer contenders of `make bench`: other ways of getting the same Parquet files into torch tensors.

Run by runner.py (the kinds below) in each peer's own pinned environment, and as a script for the
one-time conversions those peers need:

    python benchmarks/peers.py prepare hf|lance DATASET CACHE

Kinds (runner.py KIND DATASET ...):
  hf             Hugging Face `datasets`: the files converted once to its Arrow cache
                 (`Dataset.from_parquet`, JPEG columns cast to `datasets.Image()`, `save_to_disk`);
                 a pass is `load_from_disk(CACHE).with_format('torch')`, then either `.iter(batch_size)`
                 in the process (--loader inprocess) or `torch.utils.data.DataLoader(ds,
                 batch_size, num_workers=--workers)` (--loader dataloader).
  hf-random      Hugging Face `datasets`: `load_from_disk(CACHE).with_format('torch')` (its Arrow memory
                 map), then --accesses random rows (training_loop.random_access), `ds[i]` each
                 (--batch-size 1) or `ds[[i, ...]]` of --batch-size rows.
  lance          `pylance`: the files converted once to a Lance dataset; a pass iterates
                 `lance.torch.data.LanceDataset(CACHE, batch_size)` in the process (its own threads).
  torch-parquet  hand-rolled (handrolled.py): a torch `IterableDataset` over pyarrow
                 `ParquetFile.iter_batches`, the row groups split between
                 `DataLoader(batch_size=None, num_workers=--workers)`'s workers.
  ray            Ray Data (only with run.py --with-ray): `ray.data.read_parquet(files)
                 .iter_torch_batches(batch_size)` on a local Ray started once per process.
  torch-pil      hand-rolled (handrolled.py): a map-style torch `Dataset` over the JPEG bytes column
                 (read with pyarrow), decoded by Pillow in `DataLoader(batch_size, num_workers=--workers)`'s
                 workers.

Each pass returns (rows, bytes, batches) of the dicts of tensors it got (training_loop.consume, which
also spends --busy-ms per batch and stops at --max-rows). Only the standard library is imported at the
top: runner.py imports this file in every environment.
"""
import glob
import json
import os
import shutil
import sys
import time

from training_loop import consume, random_access


def add_arguments(parser):
    parser.add_argument('--cache', help='hf, lance: the converted copy of DATASET (peers.py prepare)')
    parser.add_argument('--image-column', default=None,
                        help='torch-pil, hf: the JPEG bytes column to decode (default: none, numbers only)')


def data_files(path):
    return sorted(f for f in glob.glob(os.path.join(path, '*.parquet'))
                  if not os.path.basename(f).startswith(('_', '.')))


def _hf_environment():
    # Nothing leaves the machine; no progress bars in the logs.
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
    os.environ.setdefault('HF_DATASETS_DISABLE_PROGRESS_BARS', '1')


# --- Hugging Face datasets -----------------------------------------------------------------------

class HfPass(object):
    def __init__(self, args):
        _hf_environment()
        import datasets  # noqa: F401 (an ImportError reports the peer as not installed)
        import torch  # noqa: F401
        if not args.cache or not os.path.isdir(args.cache):
            raise RuntimeError('no converted copy at {} (peers.py prepare hf)'.format(args.cache))

    def __call__(self, args):
        import datasets
        from torch.utils.data import DataLoader
        ds = datasets.load_from_disk(args.cache).with_format('torch')
        if args.loader == 'inprocess':
            return consume(ds.iter(batch_size=args.batch_size), args)
        loader = DataLoader(ds, batch_size=args.batch_size, num_workers=args.workers)
        return consume(loader, args)


class HfRandomPass(HfPass):
    def __call__(self, args):
        import datasets
        return random_access(datasets.load_from_disk(args.cache).with_format('torch'), args)


def prepare_hf(dataset, cache, image_column):
    _hf_environment()
    import datasets
    scratch = cache + '.from_parquet'
    shutil.rmtree(scratch, ignore_errors=True)
    ds = datasets.Dataset.from_parquet(data_files(dataset), cache_dir=scratch)
    if image_column:
        ds = ds.cast_column(image_column, datasets.Image())
    ds.save_to_disk(cache)
    shutil.rmtree(scratch, ignore_errors=True)
    return VERSIONS['hf']()


# --- Lance ---------------------------------------------------------------------------------------

class LancePass(object):
    def __init__(self, args):
        import lance  # noqa: F401
        import lance.torch.data  # noqa: F401
        if not args.cache or not os.path.isdir(args.cache):
            raise RuntimeError('no converted copy at {} (peers.py prepare lance)'.format(args.cache))

    def __call__(self, args):
        import lance
        from lance.torch.data import LanceDataset
        return consume(LanceDataset(lance.dataset(args.cache), batch_size=args.batch_size), args)


def prepare_lance(dataset, cache, image_column):
    import lance
    import pyarrow as pa
    import pyarrow.parquet as pq
    files = data_files(dataset)
    schema = pq.read_schema(files[0])
    schema = schema.remove_metadata()

    def batches():
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=65536):
                yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    lance.write_dataset(pa.RecordBatchReader.from_batches(schema, batches()), cache, mode='overwrite')
    return VERSIONS['lance']()


# --- Hand-rolled torch loaders -------------------------------------------------------------------

class TorchParquetPass(object):
    """handrolled.ParquetBatches in DataLoader(batch_size=None, num_workers=--workers)."""

    def __init__(self, args):
        import pyarrow.parquet as pq
        import handrolled  # noqa: F401 (torch)
        self.groups = [(path, i) for path in data_files(args.dataset)
                       for i in range(pq.ParquetFile(path).num_row_groups)]

    def __call__(self, args):
        from torch.utils.data import DataLoader
        from handrolled import ParquetBatches
        return consume(DataLoader(ParquetBatches(self.groups, args.batch_size), batch_size=None,
                                  num_workers=args.workers), args)


class TorchPilPass(object):
    """handrolled.JpegRows over the `id` and --image-column columns, read into memory with pyarrow at
    the start of each pass (as a hand-rolled loader does), in DataLoader(batch_size=--batch-size,
    num_workers=--workers): Pillow decodes in the workers, torch's default collate stacks."""

    def __init__(self, args):
        import handrolled  # noqa: F401 (torch)
        if not args.image_column:
            raise ValueError('torch-pil needs --image-column')

    def __call__(self, args):
        import pyarrow.parquet as pq
        from torch.utils.data import DataLoader
        from handrolled import JpegRows
        images, ids = [], []
        for path in data_files(args.dataset):
            table = pq.read_table(path, columns=['id', args.image_column])
            ids.extend(table.column('id').to_pylist())
            images.extend(table.column(args.image_column).to_pylist())
        return consume(DataLoader(JpegRows(ids, images), batch_size=args.batch_size, num_workers=args.workers),
                       args)


class RayPass(object):
    """Ray Data: a local Ray started once per process (ray.init(num_cpus=2), not timed: about 9 s);
    a pass is `ray.data.read_parquet(files).iter_torch_batches(batch_size)` (Ray's reading tasks run
    in its worker processes)."""

    def __init__(self, args):
        import ray
        import ray.data  # noqa: F401
        os.environ.setdefault('RAY_DATA_DISABLE_PROGRESS_BARS', '1')
        ray.init(num_cpus=max(2, args.workers), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        self.files = data_files(args.dataset)

    def __call__(self, args):
        import ray.data
        ds = ray.data.read_parquet(self.files)
        return consume(ds.iter_torch_batches(batch_size=args.batch_size), args)


KINDS = {'hf': HfPass, 'hf-random': HfRandomPass, 'ray': RayPass, 'lance': LancePass, 'torch-parquet': TorchParquetPass, 'torch-pil': TorchPilPass}
PREPARE = {'hf': prepare_hf, 'lance': prepare_lance}


def _version_of(module):
    def version():
        return {module: __import__(module).__version__}
    return version


VERSIONS = {'hf': _version_of('datasets'), 'lance': _version_of('lance')}


def _tree_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)


def prepare(peer, dataset, cache, image_column=None):
    """Converts DATASET for `peer` once: CACHE, and CACHE.complete holding the conversion's
    figures (kept: a later run reports the time the conversion took when it was made)."""
    stamp = cache + '.complete'
    if os.path.exists(stamp):
        with open(stamp) as f:
            info = json.load(f)
        if info.get('versions') == VERSIONS[peer]():  # else made by another version of the peer: again
            info['cached'] = True
            return info
    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.perf_counter()
    versions = PREPARE[peer](dataset, cache, image_column)
    info = {'status': 'ok', 'peer': peer, 'seconds': round(time.perf_counter() - t0, 2),
            'bytes': _tree_bytes(cache), 'source_bytes': sum(os.path.getsize(f) for f in data_files(dataset)),
            'versions': versions, 'date': time.strftime('%Y-%m-%d %H:%M')}
    with open(stamp + '.tmp', 'w') as f:
        json.dump(info, f)
    os.replace(stamp + '.tmp', stamp)
    info['cached'] = False
    return info


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('prepare', help='convert DATASET for a peer once (cached)')
    p.add_argument('peer', choices=sorted(PREPARE))
    p.add_argument('dataset')
    p.add_argument('cache')
    p.add_argument('--image-column')
    args = parser.parse_args(argv)
    try:
        result = prepare(args.peer, args.dataset, args.cache, args.image_column)
    except Exception as e:  # reported as the peer's n/a reason
        result = {'status': 'error', 'reason': '{}: {}'.format(type(e).__name__, e)}
    print(json.dumps(result))


if __name__ == '__main__':
    sys.exit(main())
