"""Ventilators: feed work items to a pool's ``ventilate`` function.

``ConcurrentVentilator`` runs a daemon thread that calls ``ventilate_fn(**item)`` for each dict of
``items_to_ventilate``, ``iterations`` times over (``None``: forever), never letting more than
``max_ventilation_queue_size`` items be ventilated but not yet processed (the pool reports each
processed item through ``processed_item()``). With ``randomize_item_order`` the items are permuted
once per run (``start()`` or ``reset()``): all iterations of one run share that order, and each
``reset()`` shuffles the previous run's order again with the same generator, as in Petastorm 0.13.1
(observed on the original); the caller's list is not modified. A ``random_seed`` other than ``None`` or ``0`` makes the order reproducible
(``numpy.random.default_rng(seed)``); otherwise numpy's global generator is used.
"""
import threading
import time
from abc import ABCMeta, abstractmethod

import numpy as np

_VENTILATION_INTERVAL = 0.01


class Ventilator(metaclass=ABCMeta):
    """Manages items to be ventilated to a worker pool (abstract)."""

    def __init__(self, ventilate_fn):
        self._ventilate_fn = ventilate_fn

    @abstractmethod
    def start(self):
        """Start ventilating."""

    @abstractmethod
    def processed_item(self):
        """Called by the pool each time a worker finished processing an item."""

    @abstractmethod
    def completed(self):
        """True when no more items will be ventilated."""

    @abstractmethod
    def stop(self):
        """Stop ventilating (returns once the ventilation thread, if any, ended)."""


class ConcurrentVentilator(Ventilator):
    """Ventilates ``items_to_ventilate`` (a list of dicts of keyword arguments) from a thread.

    :param ventilate_fn: called as ``ventilate_fn(**item)`` (typically ``pool.ventilate``).
    :param items_to_ventilate: a list of dicts; else ``ValueError``.
    :param iterations: positive int or ``None`` (forever); else
        ``ValueError('iterations must be positive integer or None')``.
    :param randomize_item_order: permute the items once per run.
    :param random_seed: seed of that permutation (``None``/``0``: unseeded).
    :param max_ventilation_queue_size: most items ventilated but not processed (default: all items).
    :param ventilation_interval: seconds to wait while the queue is full.
    """

    def __init__(self, ventilate_fn, items_to_ventilate, iterations=1, randomize_item_order=False,
                 random_seed=None, max_ventilation_queue_size=None, ventilation_interval=_VENTILATION_INTERVAL):
        super(ConcurrentVentilator, self).__init__(ventilate_fn)
        if iterations is not None and (not isinstance(iterations, int) or isinstance(iterations, bool)
                                       or iterations < 1):
            raise ValueError('iterations must be positive integer or None')
        if not isinstance(items_to_ventilate, list) or any(type(item) is not dict for item in items_to_ventilate):
            raise ValueError('items_to_ventilate must be a list of dicts')
        self._items_to_ventilate = items_to_ventilate
        self._iterations = iterations
        self._iterations_remaining = iterations
        self._randomize_item_order = randomize_item_order
        self._random_seed = random_seed
        # One generator for the ventilator's life; each run shuffles the previous run's order again.
        self._rng = np.random.default_rng(random_seed) if random_seed not in (None, 0) else None
        self._run_order = list(items_to_ventilate)
        self._max_ventilation_queue_size = max_ventilation_queue_size or len(items_to_ventilate)
        self._ventilation_interval = ventilation_interval
        self._current_item_to_ventilate = 0
        self._ventilated_items_count = 0
        self._processed_items_count = 0
        self._lock = threading.Lock()
        self._stop_requested = False
        self._ventilation_thread = None

    def start(self):
        """Start the ventilation thread (a daemon)."""
        self._ventilation_thread = threading.Thread(target=self._ventilate, name='ConcurrentVentilator')
        self._ventilation_thread.daemon = True
        self._ventilation_thread.start()

    def processed_item(self):
        """Count one processed item (frees a slot of the ventilation queue)."""
        with self._lock:
            self._processed_items_count += 1

    def completed(self):
        """True once stop was requested, all iterations were ventilated, or there are no items."""
        assert self._iterations_remaining is None or self._iterations_remaining >= 0
        return self._stop_requested or self._iterations_remaining == 0 or not self._items_to_ventilate

    def reset(self):
        """Start another run of ``iterations`` (only once completed, else ``NotImplementedError``)."""
        if not self.completed():
            raise NotImplementedError('Currently do not support resetting a ventilator while in the middle '
                                      'of ventilation.')
        if self._ventilation_thread is not None:
            self._ventilation_thread.join()
        self._stop_requested = False
        self._iterations_remaining = self._iterations
        self._current_item_to_ventilate = 0
        self.start()

    def _ordered_items(self):
        if not self._randomize_item_order:
            return list(self._items_to_ventilate)
        if self._rng is not None:
            self._rng.shuffle(self._run_order)
        else:
            np.random.shuffle(self._run_order)
        return list(self._run_order)

    def _ventilate(self):
        items = self._ordered_items()
        while not self.completed():
            with self._lock:
                in_flight = self._ventilated_items_count - self._processed_items_count
            if in_flight >= self._max_ventilation_queue_size:
                time.sleep(self._ventilation_interval)
                continue
            item = items[self._current_item_to_ventilate]
            self._ventilate_fn(**item)
            with self._lock:
                self._ventilated_items_count += 1
            self._current_item_to_ventilate += 1
            if self._current_item_to_ventilate >= len(items):
                self._current_item_to_ventilate = 0
                if self._iterations_remaining is not None:
                    self._iterations_remaining -= 1

    def stop(self):
        """Request the thread to stop and wait for it."""
        self._stop_requested = True
        if self._ventilation_thread is not None and self._ventilation_thread is not threading.current_thread():
            self._ventilation_thread.join()
