"""The training loop's stand-in, the same for every torch contender (runner.py, peers.py).

consume(batches, args) takes dicts of tensors from a loader, counts their rows, bytes and batches,
spends --busy-ms of GIL-holding Python work on each batch (a training step: the overlap workloads)
and stops after --max-rows rows when that is given. random_access(ds, args) is the map-style
contenders' pass (ours and HF datasets'). Standard library only.
"""
import random
import time


def busy(ms):
    """Holds the GIL in a Python loop for `ms` milliseconds."""
    if ms:
        t = time.perf_counter()
        while time.perf_counter() - t < ms / 1000.0:
            pass


def nbytes_of(value):
    nbytes = getattr(value, 'nbytes', None)
    if nbytes is not None:
        return nbytes
    if hasattr(value, 'element_size'):  # a torch tensor
        return value.element_size() * value.nelement()
    return len(value) if isinstance(value, (bytes, str)) else 8


def consume(batches, args):
    """Returns (rows, bytes, batches)."""
    rows = nbytes = count = 0
    for batch in batches:
        values = list(batch.values())
        rows += len(values[0])
        nbytes += sum(nbytes_of(v) for v in values)
        count += 1
        busy(args.busy_ms)
        if args.max_rows and rows >= args.max_rows:
            break
    return rows, nbytes, count


def random_indexes(num_rows, count, seed=0):
    """`count` row indexes drawn uniformly (with repeats) from [0, num_rows): the same for every
    contender given the same dataset length."""
    rng = random.Random(seed)
    return [rng.randrange(num_rows) for _ in range(count)]


def random_access(ds, args):
    """Reads --accesses random rows of the map-style `ds`: one `ds[i]` each (--batch-size 1), or
    `ds[[i, ...]]` of --batch-size rows; returns (rows, bytes, calls)."""
    indexes = random_indexes(len(ds), args.accesses)
    rows = nbytes = calls = 0
    size = args.batch_size
    for k in range(0, len(indexes), size):
        chunk = indexes[k:k + size]
        got = ds[chunk[0]] if size == 1 else ds[chunk]
        rows += len(chunk)
        nbytes += sum(nbytes_of(v) for v in got.values())
        calls += 1
    return rows, nbytes, calls
