import numpy as np
import pytest

from petastorm import make_reader
from petastorm.ngram import NGram
from petastorm.predicates import in_lambda
from petastorm.pytorch import DataLoader
from petastorm.test_util.reader_mock import ReaderMock, schema_data_generator_example
from petastorm.unischema import Unischema, UnischemaField
from petastorm.weighted_sampling_reader import WeightedSamplingReader

F1Schema = Unischema('F1Schema', [UnischemaField('f1', np.int32, (), None, False)])


def _mock(value):
    return ReaderMock(F1Schema, lambda _: {'f1': value})


def _counts(probabilities, reads=1000, seed=None):
    counts = [0] * len(probabilities)
    with WeightedSamplingReader([_mock(i) for i in range(len(probabilities))], probabilities,
                                random_seed=seed) as mixer:
        for _ in range(reads):
            counts[next(mixer).f1] += 1
    return counts


def test_a_zero_probability_reader_is_never_drawn():
    assert _counts([1.0, 0.0]) == [1000, 0]
    assert _counts([0.0, 1.0]) == [0, 1000]
    assert _counts([0.0, 0.0, 1.0]) == [0, 0, 1000]


def test_probabilities_are_normalized_and_followed():
    np.testing.assert_allclose(_counts([10, 90], seed=1), [100, 900], atol=50)
    np.testing.assert_allclose(_counts([0.1, 0.5, 0.4], seed=2), [100, 500, 400], atol=60)


def test_a_seed_repeats_the_draws_and_the_global_generator_is_used_without_one():
    assert _counts([0.5, 0.5], reads=200, seed=7) == _counts([0.5, 0.5], reads=200, seed=7)
    np.random.seed(3)
    first = _counts([0.3, 0.7], reads=200)
    np.random.seed(3)
    assert _counts([0.3, 0.7], reads=200) == first


def test_bad_arguments():
    with pytest.raises(ValueError, match='Two or more readers'):
        WeightedSamplingReader([_mock(1)], [1.0])
    with pytest.raises(ValueError, match='same length'):
        WeightedSamplingReader([_mock(0), _mock(1)], [0.1, 0.2, 0.7])
    with pytest.raises(ValueError, match='probabilities'):
        WeightedSamplingReader([_mock(0), _mock(1)], [-1, 2])
    other = ReaderMock(Unischema('Other', [UnischemaField('g', np.int32, (), None, False)]),
                       schema_data_generator_example)
    with pytest.raises(ValueError, match='should have the same schema'):
        WeightedSamplingReader([_mock(0), other], [0.5, 0.5])


def test_real_readers_mix_until_one_ends(hello_world_dataset):
    url, _, rows = hello_world_dataset
    even = make_reader(url, predicate=in_lambda(['id'], lambda id: id % 2 == 0), reader_pool_type='dummy',
                       shuffle_row_groups=False)
    odd = make_reader(url, predicate=in_lambda(['id'], lambda id: id % 2 == 1), reader_pool_type='dummy',
                      shuffle_row_groups=False)
    with WeightedSamplingReader([even, odd], [0.5, 0.5], random_seed=0) as mixer:
        ids = [row.id for row in mixer]
        assert mixer.last_row_consumed
    evens = [i for i in ids if i % 2 == 0]
    odds = [i for i in ids if i % 2 == 1]
    # Each reader's rows come in its own order, and the mix stops when one of them has none left.
    assert evens == list(range(0, 2 * len(evens), 2)) and odds == list(range(1, 2 * len(odds) + 1, 2))
    assert len(evens) == 25 or len(odds) == 25
    assert all(np.array_equal(np.asarray(i), rows[i]['id']) for i in ids)


def test_readers_must_share_batched_output_and_ngram(hello_world_dataset):
    url = hello_world_dataset[0]
    from petastorm import make_batch_reader
    with make_reader(url, schema_fields=['id'], workers_count=1) as rows, \
            make_batch_reader(url, schema_fields=['id'], workers_count=1) as batches:
        with pytest.raises(ValueError, match='batched_output'):
            WeightedSamplingReader([rows, batches], [0.5, 0.5])
    ngram1 = NGram({-1: ['id'], 0: ['id', 'image1']}, delta_threshold=10, timestamp_field='^id$')
    ngram2 = NGram({-1: ['id', 'image1'], 0: ['id']}, delta_threshold=10, timestamp_field='^id$')
    with make_reader(url, schema_fields=ngram1, workers_count=1) as a, \
            make_reader(url, schema_fields=ngram2, workers_count=1) as b:
        with pytest.raises(ValueError, match='ngram'):
            WeightedSamplingReader([a, b], [0.5, 0.5])


def test_the_mix_feeds_the_torch_loader():
    with WeightedSamplingReader([_mock(0), _mock(1)], [0.5, 0.5], random_seed=5) as mixer:
        assert not mixer.batched_output
        with DataLoader(mixer, batch_size=4) as loader:
            batch = next(iter(loader))
    assert batch['f1'].shape == (4,) and set(batch['f1'].tolist()) <= {0, 1}
