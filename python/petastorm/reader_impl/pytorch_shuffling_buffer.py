"""Petastorm's batched shuffling buffers over torch tensors (plain Python + torch).

Items are added and retrieved as *columns*: ``add_many(columns)`` takes a list of tensors (or
arrays) of equal first dimension, n rows; ``retrieve()`` returns a list of tensors, one per
column, of ``batch_size`` rows (fewer only for the last batch after ``finish()``). ``size`` is the
number of buffered rows. ``add_many`` after ``finish()``, or when ``can_add()`` is False, and
``retrieve`` when ``can_retrieve()`` is False raise ``RuntimeError``."""
from abc import ABC, abstractmethod

import torch


def _columns(items):
    columns = [torch.as_tensor(c) for c in items]
    if columns and any(len(c) != len(columns[0]) for c in columns):
        raise ValueError('All columns must have the same number of rows, got {}'.format([len(c) for c in columns]))
    return columns


class BatchedShufflingBufferBase(ABC):
    """The batched shuffling buffer interface (see the module)."""

    def __init__(self, batch_size=1):
        self.batch_size = batch_size
        self._done_adding = False

    def add_many(self, items):
        """Adds the rows of `items` (a list of columns, equal first dimension)."""
        if self._done_adding:
            raise RuntimeError('Can not call add_many after done_adding() was called.')
        if not self.can_add():
            raise RuntimeError('Can not enqueue. Check the return value of "can_enqueue()" to check if more '
                               'items can be added.')
        return self._add_many(_columns(items))

    def retrieve(self):
        """Removes and returns the next batch: a list of tensors, one per column."""
        if not self.can_retrieve():
            raise RuntimeError('Can not dequeue. Check the return value of "can_dequeue()" to check if any '
                               'items are available.')
        return self._retrieve()

    def finish(self):
        """No more rows will be added: what is buffered can be retrieved to the end."""
        self._done_adding = True

    @abstractmethod
    def _add_many(self, columns):
        pass

    @abstractmethod
    def _retrieve(self):
        pass

    @abstractmethod
    def can_add(self):
        """Whether ``add_many`` may be called now."""

    @abstractmethod
    def can_retrieve(self):
        """Whether ``retrieve`` may be called now."""

    @property
    @abstractmethod
    def size(self):
        """The number of buffered rows."""


class BatchedNoopShufflingBuffer(BatchedShufflingBufferBase):
    """Rows come out in the order they were added, ``batch_size`` at a time; ``can_retrieve()``
    needs a full batch buffered until ``finish()``."""

    def __init__(self, batch_size=1):
        super().__init__(batch_size)
        self._chunks = []  # lists of columns
        self._size = 0

    def _add_many(self, columns):
        if columns and len(columns[0]):
            self._chunks.append(columns)
            self._size += len(columns[0])

    def _retrieve(self):
        want = min(self.batch_size, self._size)
        taken, got = [], 0
        while got < want:
            chunk = self._chunks[0]
            n = min(len(chunk[0]), want - got)
            taken.append([c[:n] for c in chunk])
            if n == len(chunk[0]):
                self._chunks.pop(0)
            else:
                self._chunks[0] = [c[n:] for c in chunk]
            got += n
        self._size -= want
        return [torch.cat([t[i] for t in taken]) for i in range(len(taken[0]))]

    def can_add(self):
        return not self._done_adding

    def can_retrieve(self):
        return self._size >= self.batch_size or (self._done_adding and self._size > 0)

    @property
    def size(self):
        return self._size


class BatchedRandomShufflingBuffer(BatchedShufflingBufferBase):
    """Each batch is ``batch_size`` rows drawn uniformly at random from the buffer
    (``torch.randperm``, torch's global RNG).

    :param shuffling_buffer_capacity: ``can_add()`` is True while fewer rows are buffered.
    :param min_after_retrieve: until ``finish()``, ``can_retrieve()`` is True once
        ``min_after_retrieve + batch_size - 1`` rows are buffered (Petastorm 0.13.1's rule, observed
        on the original: a retrieve may leave ``min_after_retrieve - 1`` rows, and with
        ``min_after_retrieve=0`` a batch smaller than ``batch_size`` may come out before
        ``finish()``); not checked against the capacity, as in Petastorm.
    :param extra_capacity: ``add_many`` may overshoot the capacity by this many rows; past
        ``capacity + extra_capacity`` it raises ``RuntimeError``.
    :param batch_size: rows per retrieved batch."""

    def __init__(self, shuffling_buffer_capacity, min_after_retrieve, extra_capacity=1000, batch_size=1):
        super().__init__(batch_size)
        self._capacity = shuffling_buffer_capacity
        self._min_after_retrieve = min_after_retrieve
        self._extra_capacity = extra_capacity
        self._storage = None  # list of column tensors, rows [0, _size) in use
        self._size = 0

    def _add_many(self, columns):
        n = len(columns[0]) if columns else 0
        expected_size = self._size + n
        maximal_capacity = self._capacity + self._extra_capacity
        if expected_size > maximal_capacity:
            raise RuntimeError('Attempt to enqueue more elements than the capacity allows. '
                               'Current size: {}, new size {}, maximum allowed: {}'
                               .format(self._size, expected_size, maximal_capacity))
        if n == 0:
            return
        if self._storage is None:
            rows = min(max(self._capacity, n), maximal_capacity)
            self._storage = [torch.empty((rows,) + tuple(c.shape[1:]), dtype=c.dtype) for c in columns]
        elif len(columns) != len(self._storage):
            raise ValueError('Expected {} columns, got {}'.format(len(self._storage), len(columns)))
        if expected_size > len(self._storage[0]):
            rows = min(max(expected_size, 2 * len(self._storage[0])), maximal_capacity)
            grown = []
            for s in self._storage:
                g = torch.empty((rows,) + tuple(s.shape[1:]), dtype=s.dtype)
                g[:self._size] = s[:self._size]
                grown.append(g)
            self._storage = grown
        for s, c in zip(self._storage, columns):
            s[self._size:expected_size] = c
        self._size = expected_size

    def _retrieve(self):
        k = min(self.batch_size, self._size)
        picked = torch.randperm(self._size)[:k]
        batch = [s[picked].clone() for s in self._storage]
        # Fill the holes below the new size with the kept rows of the tail.
        new_size = self._size - k
        holes = picked[picked < new_size]
        tail = torch.arange(new_size, self._size)
        kept_tail = tail[~torch.isin(tail, picked)]
        for s in self._storage:
            s[holes] = s[kept_tail]
        self._size = new_size
        return batch

    def can_add(self):
        return self._size < self._capacity and not self._done_adding

    def can_retrieve(self):
        return (self._size >= self._min_after_retrieve + self.batch_size - 1
                or (self._done_adding and self._size > 0))

    @property
    def size(self):
        return self._size
