"""Row predicates (Petastorm's ``petastorm.predicates``).

A predicate names the fields it reads (``get_fields``) and decides per row (``do_include``).
``make_reader(..., predicate=...)`` evaluates it in the C++ reader: ``in_set``,
``in_intersection``, ``in_negate``, ``in_pseudorandom_split`` and ``in_reduce`` with ``all`` /
``any`` run natively; ``in_lambda`` and other ``PredicateBase`` subclasses call ``do_include``
row by row in Python. ``do_include`` itself works on a plain dict of values, as in Petastorm.

``make_batch_reader(..., predicate=...)`` evaluates the same native predicates on each batch;
``in_lambda`` and other ``PredicateBase`` subclasses get one call per batch with a pandas
DataFrame of the predicate's fields and return a boolean Series (or array) with one value per
row, as in Petastorm. Inside ``in_negate`` and ``in_reduce(..., all|any)`` they are called the
same way, and the results combined natively.
"""
import abc
import collections.abc
import hashlib
import sys

import numpy as np

from petastorm import _core
from petastorm.batch_reader import to_dataframe


class PredicateBase(abc.ABC):
    """Base class for row predicates."""

    @abc.abstractmethod
    def get_fields(self):
        pass

    @abc.abstractmethod
    def do_include(self, values):
        pass

    def _core_predicate(self, batched=False):
        """The C++ form of the predicate: ``do_include`` called for every row, or with
        `batched` once per batch with a DataFrame."""
        return _core.python_predicate(sorted(self.get_fields()), _evaluator(self, batched), batched)


def core_predicate_of(predicate, batched=False):
    """The C++ predicate the reader evaluates for a ``PredicateBase`` (make_batch_reader:
    `batched`)."""
    if not isinstance(predicate, PredicateBase):
        raise ValueError('predicate parameter is expected to be derived from PredicateBase')
    return predicate._core_predicate(batched)


def _evaluator(predicate, batched):
    return _DataFrameEvaluator(predicate) if batched else _RowsEvaluator(predicate)


class _RowsEvaluator(object):
    """What the C++ core calls to evaluate a Python predicate on one batch of rows."""

    def __init__(self, predicate):
        self._predicate = predicate

    def __repr__(self):
        return repr(self._predicate)

    def _evaluate_batch(self, columns):
        """One bool per row; ``columns`` maps each field to its list of row values (as the
        reader delivers them)."""
        names = list(columns)
        do_include = self._predicate.do_include
        return [bool(do_include(dict(zip(names, row)))) for row in zip(*columns.values())]


class _DataFrameEvaluator(object):
    """What the C++ core calls to evaluate a Python predicate on one batch for
    make_batch_reader: ``do_include`` gets a DataFrame of the predicate's fields."""

    def __init__(self, predicate):
        self._predicate = predicate

    def __repr__(self):
        return repr(self._predicate)

    def _evaluate_batch(self, columns):
        """``columns``: {name: numpy array of the batch} (as make_batch_reader delivers them)."""
        frame = to_dataframe(columns)
        result = self._predicate.do_include(frame)
        flags = np.asarray(result)
        if flags.dtype != np.bool_ or flags.shape != (len(frame),):
            got = 'dtype {} and shape {}'.format(flags.dtype, flags.shape) if flags.ndim else repr(result)
            raise ValueError('{!r}: with make_batch_reader do_include(DataFrame) must return a boolean Series '
                             'or array with one value per row ({} rows), got {}'.format(self._predicate, len(frame), got))
        return flags.tolist()


def _string_to_bucket(text, bucket_num):
    digest = hashlib.md5(text.encode('utf-8')).hexdigest()
    return int(digest, 16) % bucket_num


class in_set(PredicateBase):
    """Test if predicate_field value is in inclusion_values set."""

    def __init__(self, inclusion_values, predicate_field):
        self._inclusion_values = set(inclusion_values)
        self._predicate_field = predicate_field

    def get_fields(self):
        return {self._predicate_field}

    def do_include(self, values):
        return values[self._predicate_field] in self._inclusion_values

    def _core_predicate(self, batched=False):
        return _core.in_set(list(self._inclusion_values), self._predicate_field)


class in_intersection(PredicateBase):
    """Test if predicate_field list contain at least one value from inclusion_values set."""

    def __init__(self, inclusion_values, _predicate_field):
        self._inclusion_values = list(inclusion_values)
        self._predicate_field = _predicate_field

    def get_fields(self):
        return {self._predicate_field}

    def do_include(self, values):
        value = values[self._predicate_field]
        if not isinstance(value, collections.abc.Iterable):
            raise ValueError('Predicate field should have iterable type')
        # np.in1d(...) flattened; any() of it.
        return bool(np.isin(value, self._inclusion_values).any())

    def _core_predicate(self, batched=False):
        return _core.in_intersection(self._inclusion_values, self._predicate_field)


class in_lambda(PredicateBase):
    """Wrap up custom function to be used as a predicate.

    example: in_lambda(['labels_object_roles'], lambda labels_object_roles : len(labels_object_roles) > 3)
    """

    def __init__(self, predicate_fields, predicate_func, state_arg=None):
        """
        :param predicate_fields: list of fields to be used in predicate
        :param predicate_func: predicate function
               example: lambda labels_object_roles : len(labels_object_roles) > 3
        :param state_arg: additional object to keep function state. it will be passed to
               predicate_func after fields arguments ONLY if it is not None
        """
        if not isinstance(predicate_fields, list):
            raise ValueError('Predicate fields should be a list')
        self._predicate_fields = predicate_fields
        self._predicate_func = predicate_func
        self._state_arg = state_arg

    def get_fields(self):
        return set(self._predicate_fields)

    def do_include(self, values):
        args = [values[field] for field in self._predicate_fields]
        if self._state_arg is not None:
            args.append(self._state_arg)
        return self._predicate_func(*args)

    def _core_predicate(self, batched=False):
        fields = list(dict.fromkeys(self._predicate_fields))
        return _core.python_predicate(fields, _evaluator(self, batched), batched)


class in_negate(PredicateBase):
    """A predicate used to negate another predicate."""

    def __init__(self, predicate):
        if not isinstance(predicate, PredicateBase):
            raise ValueError('Predicate is nor derived from PredicateBase')
        self._predicate = predicate

    def get_fields(self):
        return self._predicate.get_fields()

    def do_include(self, values):
        return not self._predicate.do_include(values)

    def _core_predicate(self, batched=False):
        return _core.in_negate(self._predicate._core_predicate(batched))


class in_reduce(PredicateBase):
    """A predicate used to aggregate other predicates using any reduce logical operation."""

    def __init__(self, predicate_list, reduce_func):
        """ predicate_list: list of predicates
            reduce_func: function to aggregate result of all predicates in the list
            e.g. all() will implements logical 'And', any() implements logical 'Or'
        """
        if not all(isinstance(p, PredicateBase) for p in predicate_list):
            raise ValueError('Predicate is nor derived from PredicateBase')
        self._predicate_list = predicate_list
        self._reduce_func = reduce_func

    def get_fields(self):
        fields = set()
        for p in self._predicate_list:
            fields |= p.get_fields()
        return fields

    def do_include(self, values):
        return self._reduce_func([p.do_include(values) for p in self._predicate_list])

    def _core_predicate(self, batched=False):
        if self._reduce_func is all or self._reduce_func is any:
            return _core.in_reduce([p._core_predicate(batched) for p in self._predicate_list],
                                   self._reduce_func.__name__)
        return super()._core_predicate(batched)


class in_pseudorandom_split(PredicateBase):
    """Split dataset according to a split list based on volume_guid.

    The split is pseudorandom (can not supply the seed yet), i.e. the split outcome is always the same.
    Split is performed by hashing volume_guid uniformly to 0:1 range and returning part of full dataset
    which was hashed in given sub-range

    Example:
        'split_list = [0.5, 0.2, 0.3]' - dataset will be split on three subsets in proportion
        subset 1: 0.5 of log data
        subset 2: 0.2 of log data
        subset 3: 0.3 of log data
        Note, split is not exact, so avoid small fraction (e.g. 0.001) to avoid empty sets
    """

    def __init__(self, fraction_list, subset_index, predicate_field):
        """ split_list: a list of log fractions (real numbers in range [0:1])
            subset_index: define which subset will be used by the Reader
        """
        if subset_index >= len(fraction_list):
            raise ValueError('subset_index is out of range')
        self._predicate_field = predicate_field
        self._fraction_list = list(fraction_list)
        # The high border of subset i is the sum of fractions 0..i, added left to right.
        high_borders = []
        total = 0
        for fraction in fraction_list:
            total = total + fraction
            high_borders.append(total)
        fraction_low = high_borders[subset_index - 1] if subset_index else 0
        fraction_high = high_borders[subset_index]
        self._subset_index = subset_index if subset_index >= 0 else subset_index + len(fraction_list)
        self._bucket_low = fraction_low * (sys.maxsize - 1)
        self._bucket_high = fraction_high * (sys.maxsize - 1)

    def get_fields(self):
        return {self._predicate_field}

    def do_include(self, values):
        if self._predicate_field not in values.keys():
            raise ValueError('Tested values does not have split key: %s' % self._predicate_field)
        bucket = _string_to_bucket(str(values[self._predicate_field]), sys.maxsize)
        return self._bucket_low <= bucket < self._bucket_high

    def _core_predicate(self, batched=False):
        return _core.in_pseudorandom_split([float(f) for f in self._fraction_list], self._subset_index,
                                           self._predicate_field)

# Kept for the tests' and older callers' sake.
_core_predicate_of = core_predicate_of
