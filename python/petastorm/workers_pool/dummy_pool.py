"""``DummyPool``: no threads; the work is done on the caller's thread inside ``get_results``.

Items are processed first-in first-out, one at a time, only when ``get_results`` finds no result
waiting: handy for debugging a worker (breakpoints, tracebacks in the caller's thread).
"""
import time

from petastorm.workers_pool import EmptyResultError

_WAIT_FOR_VENTILATOR_S = 0.01


class DummyPool(object):
    """A pool of one synchronous worker (``workers_count == 1``).

    :param workers: ignored, kept for Petastorm's signature."""

    def __init__(self, workers=None):
        self.workers_count = 1
        self._ventilator_queue = []
        self._results_queue = []
        self._worker = None
        self._ventilator = None

    def start(self, worker_class, worker_args=None, ventilator=None):
        """Create the worker (``worker_class(0, publish_func, worker_args)``); start ``ventilator``."""
        self._worker = worker_class(0, self._results_queue.append, worker_args)
        if ventilator:
            self._ventilator = ventilator
            self._ventilator.start()

    def ventilate(self, *args, **kargs):
        """Queue one item; it is processed by a later ``get_results``."""
        self._ventilator_queue.append((args, kargs))

    def get_results(self, timeout=None):
        """The next result, processing queued items as needed.

        :raises EmptyResultError: nothing queued and the ventilator (if any) completed.

        ``timeout`` is accepted for the pools' common signature; a worker's exception propagates as is.
        """
        while True:
            if self._results_queue:
                return self._results_queue.pop(0)
            if self._ventilator_queue:
                args, kargs = self._ventilator_queue.pop(0)
                self._worker.process(*args, **kargs)
                if self._ventilator:
                    self._ventilator.processed_item()
                continue
            if not self._ventilator or self._ventilator.completed():
                # The ventilator may have ventilated its last item since the check above.
                if not self._ventilator_queue and not self._results_queue:
                    raise EmptyResultError()
                continue
            time.sleep(_WAIT_FOR_VENTILATOR_S)

    def stop(self):
        """Stop the ventilator."""
        if self._ventilator:
            self._ventilator.stop()

    def join(self):
        """Call the worker's ``shutdown()``."""
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def results_qsize(self):
        """Results published and not yet returned."""
        return len(self._results_queue)

    @property
    def diagnostics(self):
        """``{}`` (nothing to report)."""
        return {}
