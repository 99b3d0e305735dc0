"""One libarrow in the process, and zero-copy Arrow data across the boundary."""
import numpy as np
import pyarrow as pa

from petastorm import _core


def test_table_round_trips_through_core_without_copy():
    table = pa.table({'a': pa.array(np.arange(100_000, dtype=np.int64)),
                      's': pa.array(['x{}'.format(i) for i in range(100_000)])})
    back = _core._roundtrip_table(table)
    assert back.equals(table)
    for name in ('a', 's'):
        before = [b.address for b in table.column(name).chunks[0].buffers() if b is not None]
        after = [b.address for b in back.column(name).chunks[0].buffers() if b is not None]
        assert before == after, 'buffers of {} were copied'.format(name)


def test_core_allocates_from_the_pool_pyarrow_sees():
    before = pa.total_allocated_bytes()
    probe = _core._allocate_from_default_pool(10 << 20)
    assert pa.total_allocated_bytes() - before >= 10 << 20
    del probe
    assert pa.total_allocated_bytes() - before < 10 << 20


def test_same_arrow_version():
    assert _core._arrow_version() == pa.__version__
