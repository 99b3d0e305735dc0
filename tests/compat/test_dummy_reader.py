"""petastorm.benchmark.dummy_reader (inventory section 1)."""
import numpy as np
import pyarrow  # noqa: F401  (before torch)

from petastorm.benchmark.dummy_reader import DummyReader, main, run


def test_dummy_reader_items():
    reader = DummyReader(rows_per_batch=5, batches=3, num_epochs=2)
    items = list(reader)
    assert len(items) == 6 and reader.last_row_consumed
    np.testing.assert_array_equal(items[1].id, np.arange(5, 10))
    np.testing.assert_array_equal(items[3].id, np.arange(0, 5))
    assert items[0].vector.shape == (5, 16)
    reader.reset()
    assert len(list(reader)) == 6


def test_batched_loader_over_dummy_reader(capsys):
    rows, rate = run(batch_size=7, batches=4, rows_per_batch=10)
    assert rows == 40 and rate > 0
    assert main(['--batch-size', '8', '--batches', '2', '--rows-per-batch', '8']) == 16
    assert 'rows/sec' in capsys.readouterr().out
