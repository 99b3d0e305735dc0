"""Where a PyTorch loader's time goes (stall attribution), cheap enough to be always on.

A loader's pass is cut into consecutive intervals, each charged to one stage, so the stages sum
to the pass's wall time: ``reader_wait`` (waiting for the reader's next row group: its I/O,
decompression and decoding when they are behind), ``batching`` (the C++ batcher: assembly and the
shuffling buffer's draws), ``conversion`` (numpy/Arrow to torch, transform_fn, device copies) and
``consumer`` (the training loop's time between batches). Two clock reads per boundary.
"""
import time

STAGES = ('reader_wait', 'batching', 'conversion', 'consumer')


class StageClock(object):
    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.batches = 0
        self._last = None

    def start(self):
        self._last = time.perf_counter()

    def mark(self, stage):
        """Charges the time since the last mark to `stage`."""
        now = time.perf_counter()
        if self._last is not None:
            self.seconds[stage] += now - self._last
        self._last = now

    def stop(self):
        self._last = None

    def diagnostics(self):
        wall = sum(self.seconds.values())
        return dict(self.seconds, wall_seconds=wall, batches=self.batches)


def summary(loader_diagnostics, reader_diagnostics=None):
    """One line: how much of the time the consumer waited for data, and on what."""
    d = loader_diagnostics
    wall = d['wall_seconds']
    if wall <= 0:
        return 'no batches yet'
    waited = wall - d['consumer']
    parts = {'batching': d['batching'], 'conversion to torch': d['conversion']}
    if reader_diagnostics is not None and d['reader_wait'] > 0:
        r = reader_diagnostics
        reader_stages = {'reading (I/O, decompression, Parquet decoding)': r.get('read_seconds', 0.0),
                         'codec decode': r.get('decode_seconds', 0.0),
                         'the predicate': r.get('predicate_seconds', 0.0)}
        total = sum(reader_stages.values())
        for name, seconds in reader_stages.items():  # the reader's wait, split as its workers spent time
            parts[name] = d['reader_wait'] * (seconds / total) if total > 0 else 0.0
        if total <= 0:
            parts['the reader'] = d['reader_wait']
    else:
        parts['the reader'] = d['reader_wait']
    worst = max(parts, key=parts.get)
    return 'the consumer waited {:.0%} of the time ({:.2f} of {:.2f} s), mostly on {}'.format(
        waited / wall, waited, wall, worst)


def reader_profile(d, wall_seconds):
    """The breakdown of a reader's diagnostics over `wall_seconds` of reading (petastorm-throughput
    --profile): its workers' seconds per stage (summed over workers) and one summary line."""
    stages = [('reading (I/O, decompression, Parquet decoding)', d.get('read_seconds', 0.0)),
              ('codec decode', d.get('decode_seconds', 0.0)), ('the predicate', d.get('predicate_seconds', 0.0)),
              ('planning', d.get('plan_seconds', 0.0)), ('workers blocked on the consumer', d.get('worker_blocked_seconds', 0.0))]
    lines = ['Profile (worker seconds, summed over workers):']
    lines += ['  {:<50} {:9.3f} s'.format(name, seconds) for name, seconds in stages]
    waited = d.get('consumer_wait_seconds', 0.0)
    lines.append('  {:<50} {:9.3f} s'.format('consumer waiting for data', waited))
    work = max(stages[:3], key=lambda s: s[1])
    share = waited / wall_seconds if wall_seconds > 0 else 0.0
    lines.append('the consumer waited {:.0%} of the time ({:.2f} of {:.2f} s){}'.format(
        share, waited, wall_seconds, ', mostly on ' + work[0] if work[1] > 0 else ''))
    return '\n'.join(lines)
