"""``ThreadPool``: workers run in threads of this process.

Item k ventilated goes to worker ``k % workers_count`` (each worker has its own unbounded work
queue and a results queue of ``max(5, results_queue_size // workers_count)`` entries). Each worker
publishes 0..n results per item then a ``VentilatedItemProcessedMessage``; ``get_results`` reads
the workers' queues strictly round-robin, moving to the next worker after that marker, so the
output order is deterministic given the ventilation order. An exception raised in a worker stops
and joins the pool and is re-raised by ``get_results``. A pool cannot be restarted once stopped.
"""
import queue
import threading

from petastorm.workers_pool import TimeoutWaitingForResultError, VentilatedItemProcessedMessage, _check_not_finished

IO_TIMEOUT_INTERVAL_S = 0.001
_VERIFY_END_OF_VENTILATION_PERIOD = 0.1


class WorkerTerminationRequested(Exception):
    """Raised inside a worker thread's ``publish_func`` when the pool is being stopped."""


class WorkerThread(threading.Thread):
    """Runs one worker: takes ``(args, kargs)`` from its work queue and calls ``process``."""

    def __init__(self, worker_impl, stop_event, ventilator_queue, stop_aware_put):
        super(WorkerThread, self).__init__(name='petastorm-worker-{}'.format(worker_impl.worker_id))
        self.daemon = True
        self._worker_impl = worker_impl
        self._stop_event = stop_event
        self._ventilator_queue = ventilator_queue
        self._stop_aware_put = stop_aware_put

    def run(self):
        while not self._stop_event.is_set():
            try:
                args, kargs = self._ventilator_queue.get(block=True, timeout=_VERIFY_END_OF_VENTILATION_PERIOD)
            except queue.Empty:
                continue
            try:
                self._worker_impl.process(*args, **kargs)
                self._worker_impl.publish_func(VentilatedItemProcessedMessage())
            except WorkerTerminationRequested:
                pass
            except Exception as e:  # noqa: B902 -- handed to the consumer
                try:
                    self._stop_aware_put(e)
                except WorkerTerminationRequested:
                    pass


def _make_stop_aware_put(stop_event, results_queue):
    """A ``publish_func`` that blocks while the queue is full, until the pool is stopped."""
    def stop_aware_put(data):
        while not stop_event.is_set():
            try:
                results_queue.put(data, block=True, timeout=IO_TIMEOUT_INTERVAL_S)
                return
            except queue.Full:
                continue
        raise WorkerTerminationRequested()
    return stop_aware_put


def _check_started(pool):
    if not pool._threads:
        raise AttributeError("'ThreadPool' object has no attribute '_results_queues': call start(worker_class, ...) "
                             'before asking for results')


class ThreadPool(object):
    """A pool of ``workers_count`` worker threads.

    :param workers_count: number of threads.
    :param results_queue_size: total results buffered (split evenly, at least 5 per worker).
    :param profiling_enabled: kept for Petastorm's signature (no profiling here).
    :param shuffle_rows: kept for Petastorm's signature (the reader's in-row-group shuffle).
    :param seed: kept for Petastorm's signature.

    As in Petastorm 0.13.1, ``get_results``, ``results_qsize`` and ``diagnostics`` before ``start``
    raise ``AttributeError`` (the result queues do not exist yet).
    """

    def __init__(self, workers_count, results_queue_size=50, profiling_enabled=False, shuffle_rows=False, seed=None):
        self.workers_count = workers_count
        self._results_queue_size = results_queue_size
        self._shuffle_rows = shuffle_rows
        self._seed = seed
        self._profiling_enabled = profiling_enabled
        self._workers = []
        self._threads = []
        self._ventilator_queues = []
        self._results_queues = []
        self._stop_event = threading.Event()
        self._ventilator = None
        self._ventilated_items = 0
        self._ventilated_items_processed = 0
        self._get_results_worker_id = 0
        self._count_lock = threading.Lock()

    def start(self, worker_class, worker_args=None, ventilator=None):
        """Create the workers (``worker_class(worker_id, publish_func, worker_args)``) and their
        threads, then start ``ventilator`` if given. ``RuntimeError`` if the pool was stopped."""
        if self._stop_event.is_set() or self._threads:
            raise RuntimeError('ThreadPool({}) cannot be reused! stop_event set? {}'
                               .format(len(self._workers), self._stop_event.is_set()))
        for worker_id in range(self.workers_count):
            self._ventilator_queues.append(queue.Queue())
            self._results_queues.append(queue.Queue(max(5, self._results_queue_size // self.workers_count)))
        for worker_id in range(self.workers_count):
            put = _make_stop_aware_put(self._stop_event, self._results_queues[worker_id])
            worker = worker_class(worker_id, put, worker_args)
            thread = WorkerThread(worker, self._stop_event, self._ventilator_queues[worker_id], put)
            self._workers.append(worker)
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()
        if ventilator:
            self._ventilator = ventilator
            self._ventilator.start()

    def ventilate(self, *args, **kargs):
        """Hand one item to the next worker (round-robin): it calls ``process(*args, **kargs)``."""
        with self._count_lock:
            worker_id = self._ventilated_items % self.workers_count
            self._ventilated_items += 1
        self._ventilator_queues[worker_id].put((args, kargs))

    def get_results(self, timeout=None):
        """The next result published by a worker.

        :raises EmptyResultError: all ventilated items processed and the ventilator (if any) completed.
        :raises TimeoutWaitingForResultError: ``timeout`` seconds passed without a result.

        Re-raises an exception raised by a worker (after stopping and joining the pool).
        """
        _check_started(self)
        waited = 0.0
        while True:
            _check_not_finished(self)
            try:
                result = self._results_queues[self._get_results_worker_id].get(
                    block=True, timeout=_VERIFY_END_OF_VENTILATION_PERIOD)
            except queue.Empty:
                waited += _VERIFY_END_OF_VENTILATION_PERIOD
                if timeout is not None and waited >= timeout:
                    raise TimeoutWaitingForResultError()
                continue
            if isinstance(result, VentilatedItemProcessedMessage):
                with self._count_lock:
                    self._ventilated_items_processed += 1
                self._get_results_worker_id = (self._get_results_worker_id + 1) % self.workers_count
                if self._ventilator:
                    self._ventilator.processed_item()
                continue
            if isinstance(result, Exception):
                self.stop()
                self.join()
                raise result
            return result

    def stop(self):
        """Stop the ventilator and signal the workers to end (does not wait)."""
        if self._ventilator:
            self._ventilator.stop()
        self._stop_event.set()

    def join(self):
        """Wait for the worker threads and call each worker's ``shutdown()``."""
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        for worker in self._workers:
            worker.shutdown()
        self._workers = []

    def results_qsize(self):
        """Results waiting in the workers' queues."""
        _check_started(self)
        return sum(q.qsize() for q in self._results_queues)

    @property
    def diagnostics(self):
        """``{'output_queue_size': results_qsize()}``."""
        return {'output_queue_size': self.results_qsize()}
