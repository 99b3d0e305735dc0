"""One-line progress bars on a terminal (stderr), for long jobs; nothing is drawn when the
stream is not a terminal."""
import sys
import time


class ProgressBar(object):
    """``bar(phase, done, total, rate)`` redraws the line (at most ten times a second unless
    `force`): phase, a bar when `total` is known, done/total and `rate` in ``unit``/s."""

    def __init__(self, stream=None, width=30, unit='samples'):
        self.stream = stream or sys.stderr
        self.width = width
        self.unit = unit
        self._last = 0.0

    def __call__(self, phase, done, total, rate=None, force=False):
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        rate_text = '  {:,.1f} {}/s'.format(rate, self.unit) if rate else ''
        if total:
            filled = min(self.width, int(self.width * done / total))
            line = '{:<8} [{}{}] {:>3d}% {:,}/{:,}'.format(phase, '#' * filled, '.' * (self.width - filled),
                                                          int(100 * done / total), done, total)
        else:
            line = '{:<8} {:,} {}'.format(phase, done, self.unit)
        self.stream.write('\r' + line + rate_text + '\033[K')
        self.stream.flush()

    def close(self):
        self.stream.write('\r\033[K')
        self.stream.flush()


class RowProgress(object):
    """Counts rows of a job and draws them with their rate on a ProgressBar, when `stream`
    (default stderr) is a terminal and `enabled`; a no-op otherwise. A context manager."""

    def __init__(self, phase, total=None, stream=None, enabled=True):
        stream = stream or sys.stderr
        self._bar = ProgressBar(stream, unit='rows') if enabled and stream.isatty() else None
        self._phase = phase
        self._total = total
        self._start = time.monotonic()
        self.rows = 0

    def add(self, rows):
        self.rows += rows
        if self._bar is not None:
            elapsed = time.monotonic() - self._start
            self._bar(self._phase, self.rows, self._total, self.rows / elapsed if elapsed > 0 else None)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def rows_per_second(self):
        elapsed = time.monotonic() - self._start
        return self.rows / elapsed if elapsed > 0 else 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
