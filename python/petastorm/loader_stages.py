"""Where a PyTorch loader's time goes (stall attribution), cheap enough to be always on.

A loader's pass is cut into consecutive intervals, each charged to one stage, so the stages sum
to the pass's wall time: ``reader_wait`` (waiting for the reader's next row group: its I/O,
decompression and decoding when they are behind), ``shuffling`` (the C++ batcher's shuffling
buffer: moving rows in, drawing them), ``batching`` (the rest of the C++ batcher: assembling the
batch buffers), ``conversion`` (numpy/Arrow to torch, transform_fn, device copies) and
``consumer`` (the training loop's time between batches). Two clock reads per boundary.
"""
import time

# The stage times of readers and loaders and the loaders' state tracking (PassProgress): on.
# `make bench` turns them off (benchmarks/runner.py --no-tracking) to measure what they cost;
# off, diagnostics' times stay 0 and the loaders' state_dict() has no pass to save.
TRACKING = True

STAGES = ('reader_wait', 'shuffling', 'batching', 'conversion', 'consumer')
# The reader's workers' stages (diagnostics keys), as the summaries name them.
_READER_WORK = (('I/O wait', 'io_seconds'), ('decompression and Parquet decoding', 'parquet_decode_seconds'),
                ('codec decode', 'decode_seconds'), ('the predicate', 'predicate_seconds'))


class StageClock(object):
    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.batches = 0
        self._last = None
        self._batcher = None
        self._shuffled = 0.0  # the tracked batcher's shuffle_seconds already charged

    def track(self, batcher):
        """The batcher whose shuffling buffer's time `mark('batching')` charges to shuffling."""
        self._batcher = batcher
        self._shuffled = 0.0

    def start(self):
        self._last = time.perf_counter()

    def mark(self, stage):
        """Charges the time since the last mark to `stage`."""
        now = time.perf_counter()
        if self._last is not None:
            elapsed = now - self._last
            if stage == 'batching' and self._batcher is not None:
                shuffled = self._batcher.shuffle_seconds
                part = min(elapsed, shuffled - self._shuffled)
                self._shuffled = shuffled
                self.seconds['shuffling'] += part
                elapsed -= part
            self.seconds[stage] += elapsed
        self._last = now

    def stop(self):
        self._last = None

    def diagnostics(self):
        wall = sum(self.seconds.values())
        return dict(self.seconds, wall_seconds=wall, batches=self.batches)


class NullClock(StageClock):
    """A StageClock that charges nothing (TRACKING off)."""

    def track(self, batcher):
        pass

    def start(self):
        pass

    def mark(self, stage):
        pass


def summary(loader_diagnostics, reader_diagnostics=None):
    """One line: how much of the time the consumer waited for data, and on what."""
    d = loader_diagnostics
    wall = d['wall_seconds']
    if wall <= 0:
        return 'no batches yet'
    waited = wall - d['consumer']
    parts = {'shuffling': d['shuffling'], 'batching': d['batching'], 'conversion to torch': d['conversion']}
    if reader_diagnostics is not None and d['reader_wait'] > 0:
        r = reader_diagnostics
        # The transform runs in the loader's thread, inside its wait for the reader: charged whole;
        # the rest of the wait is split as the reader's workers spent their time.
        transform = min(r.get('transform_seconds', 0.0), d['reader_wait'])
        parts['the transform'] = transform
        rest = d['reader_wait'] - transform
        reader_stages = {name: r.get(key, 0.0) for name, key in _READER_WORK}
        total = sum(reader_stages.values())
        for name, seconds in reader_stages.items():
            parts[name] = rest * (seconds / total) if total > 0 else 0.0
        if total <= 0:
            parts['the reader'] = rest
    else:
        parts['the reader'] = d['reader_wait']
    worst = max(parts, key=parts.get)
    return 'the consumer waited {:.0%} of the time ({:.2f} of {:.2f} s), mostly on {}'.format(
        waited / wall, waited, wall, worst)


def reader_profile(d, wall_seconds):
    """The breakdown of a reader's diagnostics over `wall_seconds` of reading (petastorm-throughput
    --profile): its workers' seconds per stage (summed over workers) and one summary line."""
    work = [(name, d.get(key, 0.0)) for name, key in _READER_WORK]
    setup = [('listing files and metadata', d.get('list_seconds', 0.0)), ('planning', d.get('plan_seconds', 0.0))]
    lines = ['Profile (worker seconds, summed over workers):']
    lines += ['  {:<50} {:9.3f} s'.format(name, seconds)
              for name, seconds in work + [('workers blocked on the consumer', d.get('worker_blocked_seconds', 0.0))]]
    transform = d.get('transform_seconds', 0.0)
    waited = d.get('consumer_wait_seconds', 0.0)
    lines.append('In the consumer\'s thread:')
    lines.append('  {:<50} {:9.3f} s'.format('the transform (transform_spec)', transform))
    lines.append('  {:<50} {:9.3f} s'.format('consumer waiting for data', waited))
    lines.append('Before reading:')
    lines += ['  {:<50} {:9.3f} s'.format(name, seconds) for name, seconds in setup]
    work = max(work + [('the transform', transform)], key=lambda s: s[1])
    waited += transform  # the transform runs between the consumer's rows: time it does not train
    share = waited / wall_seconds if wall_seconds > 0 else 0.0
    lines.append('the consumer waited {:.0%} of the time ({:.2f} of {:.2f} s){}'.format(
        share, waited, wall_seconds, ', mostly on ' + work[0] if work[1] > 0 else ''))
    return '\n'.join(lines)
