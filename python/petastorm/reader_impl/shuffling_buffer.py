"""Petastorm's per-item shuffling buffers (plain Python + numpy's global RNG).

Protocol (``ShufflingBufferBase``): ``add_many(items)`` while ``can_add()``; ``retrieve()`` while
``can_retrieve()``; ``finish()`` when no more items will be added (the rest can then be drained);
``size`` is the number of buffered items."""
from abc import ABC, abstractmethod
from collections import deque

import numpy as np


class ShufflingBufferBase(ABC):
    """The shuffling buffer interface (see the module)."""

    @abstractmethod
    def add_many(self, items):
        """Adds the items of the list `items`."""

    @abstractmethod
    def retrieve(self):
        """Removes and returns one item."""

    @abstractmethod
    def can_add(self):
        """Whether ``add_many`` may be called now."""

    @abstractmethod
    def can_retrieve(self):
        """Whether ``retrieve`` may be called now."""

    @property
    @abstractmethod
    def size(self):
        """The number of buffered items."""

    @abstractmethod
    def finish(self):
        """No more items will be added: what is buffered can be retrieved to the end."""


class NoopShufflingBuffer(ShufflingBufferBase):
    """A FIFO: items come out in the order they were added; ``can_add()`` is always True."""

    def __init__(self):
        self._store = deque()

    def add_many(self, items):
        self._store.extend(items)

    def retrieve(self):
        return self._store.popleft()

    def can_add(self):
        return True

    def can_retrieve(self):
        return len(self._store) > 0

    @property
    def size(self):
        return len(self._store)

    def finish(self):
        pass


class RandomShufflingBuffer(ShufflingBufferBase):
    """Retrieves a uniformly random buffered item (``np.random.randint``, numpy's global RNG).

    :param shuffling_buffer_capacity: ``can_add()`` is True while fewer items are buffered.
    :param min_after_retrieve: until ``finish()``, ``can_retrieve()`` needs at least this many
        items buffered (``size >= min_after_retrieve``, so with 0 it is True on an empty buffer);
        not checked against the capacity, as in Petastorm.
    :param extra_capacity: ``add_many`` may overshoot the capacity by this many items; past
        ``capacity + extra_capacity`` it raises ``RuntimeError``.

    Misuse, as in Petastorm: ``retrieve`` before ``finish()`` when ``can_retrieve()`` is False
    raises ``RuntimeError``; ``retrieve`` on an empty buffer that ``can_retrieve()`` allows
    (after ``finish()``, or ``min_after_retrieve <= 0``) raises numpy's ``ValueError('high <= 0')``."""

    def __init__(self, shuffling_buffer_capacity, min_after_retrieve, extra_capacity=1000):
        self._capacity = shuffling_buffer_capacity
        self._min_after_retrieve = min_after_retrieve
        self._extra_capacity = extra_capacity
        self._items = []
        self._done_adding = False

    def add_many(self, items):
        if self._done_adding:
            raise RuntimeError('Can not call add_many after done_adding() was called.')
        if not self.can_add():
            raise RuntimeError('Can not enqueue. Check the return value of "can_enqueue()" to check if more '
                               'items can be added.')
        expected_size = len(self._items) + len(items)
        maximal_capacity = self._capacity + self._extra_capacity
        if expected_size > maximal_capacity:
            raise RuntimeError('Attempt to enqueue more elements than the capacity allows. '
                               'Current size: {}, new size {}, maximum allowed: {}'
                               .format(len(self._items), expected_size, maximal_capacity))
        self._items.extend(items)

    def retrieve(self):
        if not self._done_adding and not self.can_retrieve():
            raise RuntimeError('Can not dequeue. Check the return value of "can_dequeue()" to check if any '
                               'items are available.')
        index = np.random.randint(0, len(self._items))
        item = self._items[index]
        last = self._items.pop()
        if index < len(self._items):
            self._items[index] = last
        return item

    def can_add(self):
        return len(self._items) < self._capacity and not self._done_adding

    def can_retrieve(self):
        return len(self._items) >= self._min_after_retrieve or (self._done_adding and len(self._items) > 0)

    @property
    def size(self):
        return len(self._items)

    def finish(self):
        self._done_adding = True
