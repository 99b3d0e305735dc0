"""The training loop's stand-in, the same for every torch contender (runner.py, peers.py).

consume(batches, args) takes dicts of tensors from a loader, counts their rows, bytes and batches,
spends --busy-ms of GIL-holding Python work on each batch (a training step: the overlap workloads)
and stops after --max-rows rows when that is given. Standard library only.
"""
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
