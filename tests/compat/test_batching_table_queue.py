"""petastorm.pyarrow_helpers.batching_table_queue (inventory section 1)."""
import pyarrow as pa
import pytest

from petastorm.pyarrow_helpers.batching_table_queue import BatchingTableQueue


def tab(start, n):
    return pa.table({'a': list(range(start, start + n)), 'b': [str(i) for i in range(start, start + n)]})


def test_rechunks_in_order():
    q = BatchingTableQueue(4)
    assert q.empty()
    q.put(tab(0, 3))
    assert q.empty()
    q.put(tab(3, 6))
    q.put(tab(9, 1))
    out = []
    while not q.empty():
        t = q.get()
        assert t.num_rows == 4
        assert t.schema == tab(0, 1).schema
        out += t.column('a').to_pylist()
    assert out == list(range(8))
    q.put(tab(10, 2))
    t = q.get()
    assert t.column('a').to_pylist() == [8, 9, 10, 11]
    assert t.column('b').to_pylist() == ['8', '9', '10', '11']
    assert q.empty()


def test_big_table_gives_many_batches():
    q = BatchingTableQueue(10)
    q.put(tab(0, 35))
    sizes = []
    while not q.empty():
        sizes.append(q.get().num_rows)
    assert sizes == [10, 10, 10]


def test_get_on_empty_raises():
    q = BatchingTableQueue(2)
    with pytest.raises(AssertionError):  # Petastorm 0.13.1's type (observed on the original)
        q.get()
    q.put(tab(0, 1))
    with pytest.raises(AssertionError):
        q.get()


def test_zero_row_tables_are_ignored_whatever_their_schema():
    q = BatchingTableQueue(2)
    q.put(pa.table({'a': [], 'b': []}))  # null-typed columns, as the original accepts
    assert q.empty()
    q.put(tab(0, 3))
    q.put(pa.table({'z': pa.array([], pa.float64())}))
    assert q.get().num_rows == 2
    assert q.empty()


def test_schema_mismatch_and_bad_batch_size():
    q = BatchingTableQueue(2)
    q.put(tab(0, 1))
    with pytest.raises(ValueError):
        q.put(pa.table({'x': [1]}))
    with pytest.raises(ValueError):
        BatchingTableQueue(0)
