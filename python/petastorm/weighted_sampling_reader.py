"""Mixes two or more readers (Petastorm's petastorm.weighted_sampling_reader): each next() draws one
reader at random, weighted by its probability, and returns that reader's next item. Iteration ends
when the drawn reader ends."""
import numpy as np


class WeightedSamplingReader(object):
    """A reader over `readers`, drawing each item from one of them with the matching probability
    (normalized when the probabilities do not sum to 1). `random_seed` makes the sequence of draws
    repeatable; None draws from numpy's global generator, as Petastorm does (``np.random.seed``
    fixes it). Usable wherever a Reader is: iteration, ``with``, stop()/join(), the PyTorch loaders."""

    def __init__(self, readers, probabilities, random_seed=None):
        readers = list(readers)
        probabilities = list(probabilities)
        if len(readers) <= 1:
            raise ValueError('Two or more readers must be specified. Got {}.'.format(len(readers)))
        if len(readers) != len(probabilities):
            raise ValueError('readers and probabilities are expected to be lists of the same length')
        weights = np.asarray(probabilities, dtype=np.float64)
        if weights.ndim != 1 or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError('probabilities must be finite, non-negative numbers with a positive sum, got {!r}'
                             .format(probabilities))
        # Petastorm's np.float was removed from numpy (1.24); float64 is what it meant.
        self._cum_prob = np.cumsum(weights / weights.sum())
        self._cum_prob[-1] = 1.0  # rounding never leaves a draw above the last bound
        self._random = np.random if random_seed is None else np.random.RandomState(random_seed)

        first = readers[0]
        for other in readers[1:]:
            if first.batched_output != other.batched_output:
                raise ValueError('All readers passed to WeightedSamplingReader should have the same value of '
                                 '"batched_output" attribute')
            if set(first.schema.fields.keys()) != set(other.schema.fields.keys()):
                raise ValueError('All readers passed to WeightedSamplingReader should have the same schema')
            first_ngram, other_ngram = getattr(first, 'ngram', None), getattr(other, 'ngram', None)
            if (first_ngram is None) != (other_ngram is None) or (
                    first_ngram is not None and first_ngram != other_ngram):
                raise ValueError('All readers passed to WeightedSamplingReader should have the same ngram spec')

        self._readers = readers
        self.batched_output = first.batched_output
        self.ngram = getattr(first, 'ngram', None)
        self.schema = first.schema

    def __len__(self):
        return sum(len(reader) for reader in self._readers)

    def __iter__(self):
        return self

    def __next__(self):
        index = int(np.searchsorted(self._cum_prob, self._random.random_sample(), side='right'))
        return next(self._readers[min(index, len(self._readers) - 1)])

    def next(self):
        return self.__next__()

    @property
    def last_row_consumed(self):
        return any(getattr(reader, 'last_row_consumed', False) for reader in self._readers)

    def stop(self):
        for reader in self._readers:
            reader.stop()

    def join(self):
        for reader in self._readers:
            reader.join()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        self.join()
