"""Micro-benchmark of the PyTorch loaders over a synthetic ``DummyReader`` (no dataset, no I/O):
measures the loaders' own cost (Petastorm's petastorm.benchmark.dummy_reader).

``python -m petastorm.benchmark.dummy_reader [--batch-size N] [--batches N] [--loader batched|rows]
[--shuffling-queue-capacity N]`` prints ``'<loader>: <rows/s> rows/sec'``."""
import argparse
import time

import numpy as np

from petastorm.unischema import Unischema, UnischemaField

DummySchema = Unischema('DummySchema', [
    UnischemaField('id', np.int64, (), None, False),
    UnischemaField('value', np.float32, (), None, False),
    UnischemaField('vector', np.float32, (16,), None, False),
])


class DummyReader(object):
    """A batched reader of synthetic data: each item is a ``DummySchema`` namedtuple of numpy
    arrays with `rows_per_batch` rows (``id`` counts up from 0 across items); an epoch is
    `batches` items; `num_epochs` None repeats forever. Has the reader surface the loaders use
    (``schema``, ``is_batched_reader``, ``batched_output``, ``ngram``, ``reset``, ``stop``, ``join``)."""

    is_batched_reader = True
    batched_output = True
    ngram = None

    def __init__(self, rows_per_batch=1000, batches=100, num_epochs=1):
        self.schema = DummySchema
        self.rows_per_batch = rows_per_batch
        self.batches = batches
        self.num_epochs = num_epochs
        self.last_row_consumed = False
        self._vector = np.ones((rows_per_batch, 16), np.float32)
        self.reset()

    def reset(self):
        """Starts over (another `num_epochs`)."""
        self._item = 0
        self.last_row_consumed = False

    def __iter__(self):
        return self

    def __next__(self):
        total = None if self.num_epochs is None else self.batches * self.num_epochs
        if total is not None and self._item >= total:
            self.last_row_consumed = True
            raise StopIteration
        start = (self._item % self.batches) * self.rows_per_batch
        self._item += 1
        ids = np.arange(start, start + self.rows_per_batch, dtype=np.int64)
        return self.schema.make_namedtuple(id=ids, value=ids.astype(np.float32), vector=self._vector)

    def next(self):
        return self.__next__()

    def stop(self):
        pass

    def join(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        pass


def run(loader='batched', batch_size=1000, batches=100, rows_per_batch=1000, shuffling_queue_capacity=0):
    """Iterates one pass of the loader over a DummyReader; returns (rows delivered, rows/sec)."""
    from petastorm.pytorch import BatchedDataLoader
    reader = DummyReader(rows_per_batch=rows_per_batch, batches=batches)
    if loader != 'batched':
        raise ValueError("loader must be 'batched' (the DummyReader is a batched reader), got {!r}".format(loader))
    data_loader = BatchedDataLoader(reader, batch_size=batch_size, shuffling_queue_capacity=shuffling_queue_capacity)
    rows = 0
    t0 = time.perf_counter()
    for batch in data_loader:
        rows += len(batch['id'])
    elapsed = max(time.perf_counter() - t0, 1e-9)
    return rows, rows / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--loader', default='batched', choices=['batched'])
    parser.add_argument('--batch-size', type=int, default=1000)
    parser.add_argument('--batches', type=int, default=100)
    parser.add_argument('--rows-per-batch', type=int, default=1000)
    parser.add_argument('--shuffling-queue-capacity', type=int, default=0)
    args = parser.parse_args(argv)
    rows, rate = run(args.loader, args.batch_size, args.batches, args.rows_per_batch, args.shuffling_queue_capacity)
    print('{}: {:.1f} rows/sec ({} rows)'.format(args.loader, rate, rows))
    return rows


if __name__ == '__main__':
    main()
