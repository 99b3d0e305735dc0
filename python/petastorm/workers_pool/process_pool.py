"""``ProcessPool``: workers run in separate processes.

Deliberate difference from Petastorm: Petastorm moves messages over ZeroMQ sockets (PUSH/PULL,
PUB/SUB); this package has no pyzmq dependency, so each worker is connected to the parent by its
own Unix socket pair (``multiprocessing.connection.Connection``). As in Petastorm, workers are
fresh interpreters started by exec (``python -m petastorm.workers_pool._process_worker``), never
forked and never re-importing the user's ``__main__``; the worker class and its setup arguments
therefore travel by pickle and must be importable (module-level) — Petastorm used dill, which is
not a dependency here. A worker exits when the parent goes away (its socket closes).

Item k ventilated goes to worker ``k % workers_count``; results are returned in arrival order
(not deterministic across workers), each serialized by ``serializer`` (``serialize(data) ->
bytes`` / ``deserialize(bytes) -> data``; default: pickle). ``zmq_copy_buffers`` is accepted and
reported in ``diagnostics`` only.
"""
import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection, wait

from petastorm.workers_pool import TimeoutWaitingForResultError, _check_not_finished

_WORKERS_STARTED_TIMEOUT_S = 20
_VERIFY_END_OF_VENTILATION_PERIOD = 0.1
_KEEP_TRYING_WHILE_ZMQ_AGAIN_IS_RAIZED_TIMEOUT_S = 20  # Petastorm's name; unused (no ZeroMQ)
_JOIN_TIMEOUT_S = 10


class _Worker(object):
    """The parent's handle of one worker process."""

    def __init__(self, worker_id):
        parent_sock, child_sock = socket.socketpair()
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(p for p in [os.getcwd()] + sys.path if p)
        self.process = subprocess.Popen([sys.executable, '-m', 'petastorm.workers_pool._process_worker',
                                         str(child_sock.fileno())], pass_fds=(child_sock.fileno(),), env=env)
        child_sock.close()
        self.worker_id = worker_id
        self.connection = Connection(parent_sock.detach())
        self.items = queue.Queue()
        self.sender = threading.Thread(target=self._send_items, name='petastorm-process-pool-sender', daemon=True)

    def _send_items(self):
        while True:
            item = self.items.get()
            try:
                self.connection.send(('stop',) if item is None else ('item',) + item)
            except (OSError, ValueError):
                return
            if item is None:
                return


class ProcessPool(object):
    """A pool of ``workers_count`` worker processes.

    :param workers_count: number of processes.
    :param serializer: object with ``serialize``/``deserialize`` for the results (default: pickle).
    :param zmq_copy_buffers: Petastorm's ZeroMQ option; accepted, reported in ``diagnostics``.
    """

    def __init__(self, workers_count, serializer=None, zmq_copy_buffers=True):
        self.workers_count = workers_count
        self._serializer = serializer
        self._zmq_copy_buffers = zmq_copy_buffers
        self._workers = []
        self._ventilator = None
        self._ventilated_items = 0
        self._ventilated_items_processed = 0
        self._count_lock = threading.Lock()
        self._started = False
        self._stopped = False
        self._next_connection = 0

    def start(self, worker_class, worker_setup_args=None, ventilator=None):
        """Start the worker processes, each making ``worker_class(worker_id, publish_func,
        worker_setup_args)``; wait until all are ready (``RuntimeError`` after
        ``_WORKERS_STARTED_TIMEOUT_S``, or the worker's own exception); then start ``ventilator``."""
        if self._started:
            raise RuntimeError('ProcessPool({}) cannot be reused!'.format(self.workers_count))
        self._started = True
        setup = pickle.dumps((worker_class, worker_setup_args, self._serializer), protocol=pickle.HIGHEST_PROTOCOL)
        self._workers = [_Worker(worker_id) for worker_id in range(self.workers_count)]
        try:
            for worker in self._workers:
                worker.connection.send_bytes(pickle.dumps(worker.worker_id) + setup)
            for worker in self._workers:
                if not worker.connection.poll(_WORKERS_STARTED_TIMEOUT_S):
                    raise RuntimeError('Timeout ({} s) while waiting for worker processes to start'
                                       .format(_WORKERS_STARTED_TIMEOUT_S))
                kind, payload = self._receive(worker)
                if kind == 'error':
                    raise payload
        except BaseException:
            self.stop()
            self.join()
            raise
        for worker in self._workers:
            worker.sender.start()
        if ventilator:
            self._ventilator = ventilator
            self._ventilator.start()

    def _receive(self, worker):
        try:
            return pickle.loads(worker.connection.recv_bytes())
        except (EOFError, OSError):
            raise RuntimeError('Worker process {} exited unexpectedly (exit code {})'
                               .format(worker.worker_id, worker.process.wait()))

    def ventilate(self, *args, **kargs):
        """Send one item to the next worker (round-robin): it calls ``process(*args, **kargs)``."""
        with self._count_lock:
            worker = self._workers[self._ventilated_items % self.workers_count]
            self._ventilated_items += 1
        worker.items.put((args, kargs))

    def get_results(self, timeout=None):
        """The next result from any worker (arrival order).

        :raises EmptyResultError: all ventilated items processed and the ventilator (if any) completed.
        :raises TimeoutWaitingForResultError: ``timeout`` seconds passed without a result.

        Re-raises an exception raised by a worker (after stopping and joining the pool).
        """
        by_connection = {worker.connection: worker for worker in self._workers}
        waited = 0.0
        while True:
            _check_not_finished(self)
            ready = wait(list(by_connection), timeout=_VERIFY_END_OF_VENTILATION_PERIOD)
            if not ready:
                waited += _VERIFY_END_OF_VENTILATION_PERIOD
                if timeout is not None and waited >= timeout:
                    raise TimeoutWaitingForResultError()
                continue
            self._next_connection = (self._next_connection + 1) % len(ready)
            try:
                kind, payload = self._receive(by_connection[ready[self._next_connection]])
            except RuntimeError:
                self.stop()
                self.join()
                raise
            if kind == 'processed':
                with self._count_lock:
                    self._ventilated_items_processed += 1
                if self._ventilator:
                    self._ventilator.processed_item()
                continue
            if kind == 'error':
                self.stop()
                self.join()
                raise payload
            return self._serializer.deserialize(payload) if self._serializer else pickle.loads(payload)

    def stop(self):
        """Stop the ventilator and tell the workers to end (does not wait)."""
        if self._ventilator:
            self._ventilator.stop()
        if not self._stopped:
            self._stopped = True
            for worker in self._workers:
                if worker.sender.is_alive():
                    with worker.items.mutex:  # items not yet sent are dropped: stop comes next
                        worker.items.queue.clear()
                    worker.items.put(None)
                else:
                    try:
                        worker.connection.send(('stop',))
                    except (OSError, ValueError):
                        pass

    def join(self):
        """Wait for the worker processes to exit (each calls its worker's ``shutdown()``)."""
        deadline = time.time() + _JOIN_TIMEOUT_S
        for worker in self._workers:
            # Results still coming are read and dropped, so a worker blocked publishing can end.
            while worker.process.poll() is None and time.time() < deadline:
                try:
                    if worker.connection.poll(_VERIFY_END_OF_VENTILATION_PERIOD):
                        worker.connection.recv_bytes()
                except (EOFError, OSError):
                    break
            try:
                worker.process.wait(max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.connection.close()
            if worker.sender.ident is not None:
                worker.sender.join(_JOIN_TIMEOUT_S)
        self._workers = []

    def results_qsize(self):
        """Always 0: results wait in the sockets, uncounted (as in Petastorm)."""
        return 0

    @property
    def diagnostics(self):
        """``items_consumed``, ``items_produced``, ``items_inprocess``, ``zmq_copy_buffers``."""
        with self._count_lock:
            produced, consumed = self._ventilated_items, self._ventilated_items_processed
        return {'items_consumed': consumed, 'items_produced': produced, 'items_inprocess': produced - consumed,
                'zmq_copy_buffers': self._zmq_copy_buffers}
