"""``BatchingTableQueue(batch_size)``: re-chunks ``pyarrow`` tables into tables of exactly
``batch_size`` rows, in order (Petastorm's helper; the reader does not use it)."""
from collections import deque

import pyarrow as pa


class BatchingTableQueue(object):
    """FIFO of rows: ``put(table)`` appends a table's rows (tables of one schema); ``get()``
    removes and returns the first ``batch_size`` of them as one ``pyarrow.Table``; ``empty()`` is
    True while fewer than ``batch_size`` rows are buffered (a remainder smaller than a batch is
    never returned). ``get()`` when ``empty()`` raises ``AssertionError`` (Petastorm's type).
    A table of zero rows is ignored (any schema), as in Petastorm; a table of rows with another
    schema raises ``ValueError`` at ``put`` (Petastorm fails later, in ``get``)."""

    def __init__(self, batch_size):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError('batch_size must be a positive integer, got {!r}'.format(batch_size))
        self._batch_size = batch_size
        self._batches = deque()  # record batches; the first one starts at self._offset
        self._offset = 0
        self._rows = 0
        self._schema = None

    def put(self, table):
        """Appends the rows of `table` (a ``pyarrow.Table`` with the schema of the first one put)."""
        if table.num_rows == 0:
            return
        if self._schema is None:
            self._schema = table.schema
        elif not table.schema.equals(self._schema):
            raise ValueError('All tables put in a BatchingTableQueue must have one schema: {} vs {}'
                             .format(table.schema, self._schema))
        for batch in table.to_batches():
            if batch.num_rows:
                self._batches.append(batch)
                self._rows += batch.num_rows

    def empty(self):
        """True when fewer than ``batch_size`` rows are buffered."""
        return self._rows - self._offset < self._batch_size

    def get(self):
        """Removes and returns the next ``batch_size`` rows as a ``pyarrow.Table``."""
        if self.empty():
            raise AssertionError('BatchingTableQueue.get() called with fewer than batch_size={} rows buffered'
                               .format(self._batch_size))
        parts, need = [], self._batch_size
        while need:
            head = self._batches[0]
            n = min(head.num_rows - self._offset, need)
            parts.append(head.slice(self._offset, n))
            need -= n
            self._offset += n
            if self._offset == head.num_rows:
                self._batches.popleft()
                self._rows -= head.num_rows
                self._offset = 0
        return pa.Table.from_batches(parts, schema=self._schema)
