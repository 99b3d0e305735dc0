"""petastorm.reader_impl.shuffling_buffer and pytorch_shuffling_buffer (inventory sections 1, 7.1)."""
import numpy as np
import pytest
import pyarrow  # noqa: F401  (before torch)
import torch

from petastorm.reader_impl.pytorch_shuffling_buffer import (BatchedNoopShufflingBuffer,
                                                            BatchedRandomShufflingBuffer,
                                                            BatchedShufflingBufferBase)
from petastorm.reader_impl.shuffling_buffer import (NoopShufflingBuffer, RandomShufflingBuffer,
                                                    ShufflingBufferBase)


def drain(buf):
    out = []
    while buf.can_retrieve():
        out.append(buf.retrieve())
    return out


def test_noop_is_fifo():
    buf = NoopShufflingBuffer()
    assert isinstance(buf, ShufflingBufferBase)
    assert buf.can_add() and not buf.can_retrieve() and buf.size == 0
    buf.add_many([1, 2, 3])
    buf.add_many([4])
    assert buf.size == 4
    assert buf.retrieve() == 1
    buf.finish()
    assert drain(buf) == [2, 3, 4]
    assert buf.size == 0


def test_random_constructor_does_not_validate():
    # Petastorm 0.13.1 accepts min_after_retrieve >= capacity (observed on the original).
    RandomShufflingBuffer(5, 5)
    buf = RandomShufflingBuffer(3, 5)
    buf.add_many([1, 2, 3])
    assert not buf.can_add() and not buf.can_retrieve()
    with pytest.raises(RuntimeError, match='Can not dequeue'):
        buf.retrieve()
    buf.finish()
    assert buf.can_retrieve()
    assert buf.retrieve() in (1, 2, 3)


def test_random_can_retrieve_is_at_least_min_after_retrieve():
    buf = RandomShufflingBuffer(5, 2)
    buf.add_many([0])
    assert not buf.can_retrieve()
    buf.add_many([1])
    assert buf.can_retrieve()  # size 2 >= min_after_retrieve 2
    buf.retrieve()
    assert buf.size == 1 and not buf.can_retrieve()


def test_random_empty_buffer_misuse_is_numpys_value_error():
    # As in Petastorm: min_after_retrieve=0 lets an empty buffer say can_retrieve(), and after
    # finish() retrieve is not gated, so an empty buffer fails inside np.random.randint.
    buf = RandomShufflingBuffer(5, 0)
    assert buf.size == 0 and buf.can_retrieve()
    with pytest.raises(ValueError, match='high <= 0'):
        buf.retrieve()
    buf = RandomShufflingBuffer(5, 2)
    buf.finish()
    assert not buf.can_retrieve()
    with pytest.raises(ValueError, match='high <= 0'):
        buf.retrieve()
    buf.finish()  # twice: no error


def test_random_seeded_order_matches_petastorm():
    # The order Petastorm 0.13.1 produced for this sequence of calls under np.random.seed(42).
    np.random.seed(42)
    buf = RandomShufflingBuffer(10, 3)
    out = []
    for k in range(5):
        buf.add_many(list(range(k * 4, k * 4 + 4)))
        while buf.can_retrieve() and buf.size > 3:
            out.append(buf.retrieve())
    buf.finish()
    out += drain(buf)
    assert out == [2, 4, 5, 3, 7, 9, 11, 1, 6, 15, 8, 14, 12, 17, 16, 13, 10, 0, 18, 19]


def test_random_add_many_messages():
    buf = RandomShufflingBuffer(5, 2, extra_capacity=3)
    with pytest.raises(RuntimeError) as e:
        buf.add_many(list(range(9)))
    assert str(e.value) == ('Attempt to enqueue more elements than the capacity allows. '
                            'Current size: 0, new size 9, maximum allowed: 8')
    assert buf.size == 0
    buf.add_many(list(range(8)))
    with pytest.raises(RuntimeError) as e:
        buf.add_many([1])
    assert str(e.value) == ('Can not enqueue. Check the return value of "can_enqueue()" to check if more '
                            'items can be added.')
    buf.finish()
    with pytest.raises(RuntimeError) as e:
        buf.add_many([])
    assert str(e.value) == 'Can not call add_many after done_adding() was called.'


def test_random_gating_and_contents():
    np.random.seed(0)
    buf = RandomShufflingBuffer(10, 3, extra_capacity=5)
    buf.add_many([0, 1])
    assert not buf.can_retrieve()  # needs min_after_retrieve items
    buf.add_many([2, 3])
    assert buf.can_retrieve()
    with pytest.raises(RuntimeError, match='Attempt to enqueue more elements than the capacity allows'):
        buf.add_many(list(range(100, 112)))  # 4 + 12 > 15
    buf.add_many(list(range(4, 14)))  # 14 <= 15: allowed overshoot
    assert buf.size == 14
    assert not buf.can_add()
    with pytest.raises(RuntimeError, match='Can not enqueue'):
        buf.add_many([99])
    got = [buf.retrieve() for _ in range(12)]
    assert buf.size == 2 and not buf.can_retrieve()
    with pytest.raises(RuntimeError, match='Can not dequeue'):
        buf.retrieve()
    buf.finish()
    assert not buf.can_add()
    with pytest.raises(RuntimeError, match='after done_adding'):
        buf.add_many([1])
    got += drain(buf)
    assert sorted(got) == list(range(14))
    assert got != list(range(14))


def test_random_is_seeded_by_numpy_global_rng():
    def run():
        np.random.seed(42)
        buf = RandomShufflingBuffer(100, 10)
        buf.add_many(list(range(50)))
        buf.finish()
        return drain(buf)
    assert run() == run()


def cols(start, n):
    ids = torch.arange(start, start + n)
    return [ids, torch.stack([ids, -ids], 1).float()]


def test_batched_noop():
    buf = BatchedNoopShufflingBuffer(batch_size=4)
    assert isinstance(buf, BatchedShufflingBufferBase)
    buf.add_many(cols(0, 3))
    assert buf.size == 3 and not buf.can_retrieve()
    buf.add_many(cols(3, 7))
    batches = drain(buf)
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert batches[0][1].shape == (4, 2)
    assert batches[1][1][:, 1].tolist() == [-4, -5, -6, -7]
    assert buf.size == 2
    buf.finish()
    assert [b[0].tolist() for b in drain(buf)] == [[8, 9]]
    with pytest.raises(RuntimeError, match='after done_adding'):
        buf.add_many(cols(0, 1))
    with pytest.raises(RuntimeError, match='Can not dequeue'):
        buf.retrieve()


def test_batched_random():
    torch.manual_seed(0)
    BatchedRandomShufflingBuffer(4, 4)  # Petastorm 0.13.1 does not validate (observed on the original)
    BatchedRandomShufflingBuffer(4, 5)
    buf = BatchedRandomShufflingBuffer(20, 5, extra_capacity=10, batch_size=4)
    buf.add_many(cols(0, 8))
    assert buf.can_retrieve()  # Petastorm 0.13.1: min_after_retrieve + batch_size - 1 = 8
    buf.add_many(cols(8, 1))
    assert buf.can_retrieve()
    with pytest.raises(RuntimeError, match='Attempt to enqueue more elements'):
        buf.add_many(cols(100, 22))
    buf.add_many(cols(9, 21))  # 30 = 20 + 10
    assert buf.size == 30 and not buf.can_add()
    out = []
    while buf.can_retrieve():
        b = buf.retrieve()
        assert len(b[0]) == 4
        assert b[1][:, 1].tolist() == [-v for v in b[0].tolist()]
        out += b[0].tolist()
    assert buf.size == 30 - len(out) and buf.size < 8
    buf.finish()
    last = drain(buf)
    assert len(last[-1][0]) <= 4
    out += [v for b in last for v in b[0].tolist()]
    assert sorted(out) == list(range(30))
    assert out != list(range(30))


def test_batched_random_seeded_by_torch_global_rng():
    def run():
        torch.manual_seed(7)
        buf = BatchedRandomShufflingBuffer(100, 10, batch_size=3)
        buf.add_many(cols(0, 40))
        buf.finish()
        return [b[0].tolist() for b in drain(buf)]
    assert run() == run()


# can_retrieve() before finish(), per row count 0..29, for (capacity, min_after_retrieve,
# batch_size), as observed on Petastorm 0.13.1: True from min_after_retrieve + batch_size - 1 rows.
_BATCHED_CAN_RETRIEVE = {
    (20, 5, 4): '000000001111111111111111111111',
    (20, 0, 4): '000111111111111111111111111111',
    (20, 5, 1): '000001111111111111111111111111',
    (20, 3, 8): '000000000011111111111111111111',
    (50, 10, 7): '000000000000000011111111111111',
    (20, 12, 4): '000000000000000111111111111111',
}


@pytest.mark.parametrize('key', sorted(_BATCHED_CAN_RETRIEVE))
def test_batched_random_can_retrieve_rule(key):
    cap, mar, bs = key
    got = ''
    for n in range(30):
        buf = BatchedRandomShufflingBuffer(cap, mar, extra_capacity=100, batch_size=bs)
        if n:
            buf.add_many([torch.arange(n)])
        got += str(int(buf.can_retrieve()))
    assert got == _BATCHED_CAN_RETRIEVE[key]


def test_batched_random_can_retrieve_sequence():
    # Petastorm 0.13.1: capacity 20, min_after_retrieve 5, batch 4; sizes after each step.
    torch.manual_seed(0)
    buf = BatchedRandomShufflingBuffer(20, 5, extra_capacity=10, batch_size=4)
    buf.add_many([torch.arange(12)])
    steps = []
    while buf.can_retrieve():
        steps.append((len(buf.retrieve()[0]), buf.size, buf.can_retrieve()))
    assert steps == [(4, 8, True), (4, 4, False)]
    buf.add_many([torch.arange(100, 103)])
    assert buf.size == 7 and not buf.can_retrieve()
    buf.finish()
    assert [len(b[0]) for b in drain(buf)] == [4, 3]
    # min_after_retrieve 0: a short batch may come out before finish()
    buf = BatchedRandomShufflingBuffer(20, 0, batch_size=4)
    buf.add_many([torch.arange(3)])
    assert buf.can_retrieve() and sorted(buf.retrieve()[0].tolist()) == [0, 1, 2] and buf.size == 0
