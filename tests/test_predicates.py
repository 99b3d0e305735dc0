"""Predicates: the C++ forms evaluated on real row groups agree with Petastorm's do_include."""
import hashlib
import sys
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from petastorm import _core, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.predicates import (PredicateBase, _core_predicate_of, in_intersection, in_lambda, in_negate,
                                  in_pseudorandom_split, in_reduce, in_set)
from petastorm.unischema import Unischema, UnischemaField

PredicateSchema = Unischema('PredicateSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(pa.int32()), False),
    UnischemaField('score', np.float32, (), ScalarCodec(pa.float32()), True),
    UnischemaField('ratio', np.float64, (), ScalarCodec(pa.float64()), False),
    UnischemaField('label', np.str_, (), ScalarCodec(pa.string()), True),
    UnischemaField('raw', np.bytes_, (), ScalarCodec(pa.binary()), False),
    UnischemaField('flag', np.bool_, (), ScalarCodec(pa.bool_()), False),
    UnischemaField('price', Decimal, (), ScalarCodec(pa.decimal128(10, 2)), False),
    UnischemaField('tags', np.str_, (None,), NdarrayCodec(), False),
    UnischemaField('values', np.int64, (None,), NdarrayCodec(), True),
])

NUM_ROWS = 45


def _row(i):
    return {
        'id': i,
        'score': None if i % 7 == 3 else np.float32(i / 10),
        'ratio': i / 4,
        'label': None if i % 3 == 0 else 'label_%d' % (i % 5),
        'raw': b'r\x00' + bytes([i % 4]) if i % 2 else b"it's",
        'flag': i % 4 == 1,
        'price': Decimal('%d.%02d' % (i % 6, (i * 25) % 100)),
        'tags': np.array(['t%d' % (i % 4), 'all', 'é' * (i % 3)]),
        'values': None if i % 11 == 5 else np.arange(i % 5, i % 5 + 3, dtype=np.int64),
    }


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """(url, rows as the reader delivers them, number of row groups)."""
    url = 'file://' + str(tmp_path_factory.mktemp('predicates') / 'ds')
    write_dataset(url, PredicateSchema, [_row(i) for i in range(NUM_ROWS)], rows_per_rowgroup=10)
    with make_reader(url, reader_pool_type='dummy', shuffle_row_groups=False) as reader:
        rows = [row._asdict() for row in reader]
    assert [int(r['id']) for r in rows] == list(range(NUM_ROWS))
    return url, rows, _core.Dataset(url).num_row_groups


def _core_flags(predicate, dataset, fields=None):
    url, _, num_row_groups = dataset
    handle = _core_predicate_of(predicate)
    fields = sorted(predicate.get_fields()) if fields is None else fields
    flags = []
    for rg in range(num_row_groups):
        flags.extend(_core._evaluate_predicate(handle, url, rg, fields))
    return flags


def _python_flags(predicate, rows):
    return [bool(predicate.do_include(row)) for row in rows]


def _assert_same(predicate, dataset):
    flags = _core_flags(predicate, dataset)
    assert flags == _python_flags(predicate, dataset[1])
    return flags


@pytest.mark.parametrize('predicate', [
    in_set([3, 5, 44, 100], 'id'),
    in_set([3.0, True], 'id'),
    in_set([np.int64(7), np.float32(8)], 'id'),
    in_set([np.float32(0.1), np.float32(2.5), 0.2], 'score'),
    in_set([None], 'score'),
    in_set([0.25, 10, Decimal('2.5')], 'ratio'),
    in_set(['label_1', 'label_4', 'nope'], 'label'),
    in_set([None, 'label_2'], 'label'),
    in_set([b"it's", b'r\x00\x03', 'label_1'], 'raw'),
    in_set([True], 'flag'),
    in_set([0], 'flag'),
    in_set([Decimal('1.25'), 2, 3.5, Decimal('0.50')], 'price'),
], ids=repr)
def test_in_set_matches_do_include(dataset, predicate):
    flags = _assert_same(predicate, dataset)
    assert any(flags)


def test_in_set_keeps_nulls_under_negation(dataset):
    _, rows, _ = dataset
    flags = _assert_same(in_negate(in_set(['label_1'], 'label')), dataset)
    assert all(flags[i] for i, r in enumerate(rows) if r['label'] is None)


@pytest.mark.parametrize('predicate', [
    in_intersection(['t1', 'nope'], 'tags'),
    in_intersection(['é', 'éé'], 'tags'),
    in_intersection(['all'], 'tags'),
    in_intersection([], 'tags'),
    in_intersection(['t3', 'é'], 'tags'),
], ids=repr)
def test_in_intersection_matches_do_include(dataset, predicate):
    _assert_same(predicate, dataset)


def test_in_intersection_on_int_arrays(tmp_path):
    url = 'file://' + str(tmp_path / 'ints')
    schema = Unischema('Ints', [UnischemaField('id', np.int32, (), ScalarCodec(pa.int32()), False),
                                UnischemaField('values', np.int64, (None,), NdarrayCodec(), False)])
    write_dataset(url, schema, [{'id': i, 'values': np.arange(i, i + 3)} for i in range(20)], rows_per_rowgroup=7)
    with make_reader(url, reader_pool_type='dummy', shuffle_row_groups=False) as reader:
        rows = [r._asdict() for r in reader]
    ds = (url, rows, _core.Dataset(url).num_row_groups)
    for values in ([5], [5.0, 17], [np.int16(2), 30], [2.5]):
        predicate = in_intersection(values, 'values')
        assert _core_flags(predicate, ds) == _python_flags(predicate, rows)
    assert sum(_core_flags(in_intersection([5], 'values'), ds)) == 3


def test_in_intersection_needs_iterables(dataset):
    for predicate in (in_intersection([1], 'id'), in_intersection([1], 'values')):
        with pytest.raises(ValueError, match='Predicate field should have iterable type'):
            _python_flags(predicate, dataset[1])
        with pytest.raises(ValueError, match="in_intersection on field '{}'.*iterable".format(predicate._predicate_field)):
            _core_flags(predicate, dataset)
    # A str is iterable: np.in1d compares it whole.
    assert any(_assert_same(in_intersection([b"it's"], 'raw'), dataset))


def test_in_set_on_arrays_is_a_type_error(dataset):
    with pytest.raises(TypeError, match="in_set on field 'tags'"):
        _core_flags(in_set(['t1'], 'tags'), dataset)


def test_negate_and_reduce(dataset):
    a = in_set([1, 2, 3, 4, 5, 6], 'id')
    b = in_set(['label_1', 'label_2'], 'label')
    lam = in_lambda(['ratio'], lambda ratio: ratio > 2)
    for predicate in (in_negate(a), in_reduce([a, b], all), in_reduce([a, b], any),
                      in_reduce([a, in_negate(b), lam], all), in_negate(in_reduce([a, lam], any)),
                      in_reduce([], all), in_reduce([], any),
                      in_reduce([a, b], lambda flags: flags.count(True) == 1)):
        _assert_same(predicate, dataset)
    assert str(_core_predicate_of(in_reduce([a, b], all))).startswith('in_reduce([in_set(')
    # Other reduce functions run in Python.
    assert str(_core_predicate_of(in_reduce([a, b], sum))).startswith('<petastorm.predicates.in_reduce')


def _bucket_subset(value, fractions):
    bucket = int(hashlib.md5(str(value).encode('utf-8')).hexdigest(), 16) % sys.maxsize
    low = 0
    for index, fraction in enumerate(fractions):
        high = low + fraction
        if low * (sys.maxsize - 1) <= bucket < high * (sys.maxsize - 1):
            return index
        low = high
    return None


@pytest.mark.parametrize('field', ['id', 'score', 'ratio', 'label', 'raw', 'flag', 'price'])
def test_pseudorandom_split_matches_do_include_and_partitions(dataset, field):
    _, rows, _ = dataset
    fractions = [0.3, 0.7]
    subsets = []
    for index in range(len(fractions)):
        subsets.append(_assert_same(in_pseudorandom_split(fractions, index, field), dataset))
    # Every row in exactly one subset, the one Petastorm's formula gives.
    for i, row in enumerate(rows):
        member = [s[i] for s in subsets]
        assert member.count(True) == 1
        assert member.index(True) == _bucket_subset(row[field], fractions)
    # A negative subset_index counts from the end, as list indexing does in Petastorm.
    assert _core_flags(in_pseudorandom_split(fractions, -1, field), dataset) == subsets[1]


def test_pseudorandom_split_of_five(dataset):
    fractions = [0.3, 0.4, 0.1, 0.0, 0.2]
    total = [0] * NUM_ROWS
    for index in range(len(fractions)):
        for i, flag in enumerate(_assert_same(in_pseudorandom_split(fractions, index, 'label'), dataset)):
            total[i] += flag
    assert total == [1] * NUM_ROWS


def test_pseudorandom_split_validation(dataset):
    with pytest.raises(ValueError, match='subset_index is out of range'):
        in_pseudorandom_split([0.5, 0.5], 2, 'id')
    with pytest.raises(IndexError):
        in_pseudorandom_split([0.5, 0.5], -2, 'id')
    with pytest.raises(ValueError, match='Tested values does not have split key: id'):
        in_pseudorandom_split([0.5, 0.5], 0, 'id').do_include({'other': 1})
    with pytest.raises(NotImplementedError, match="field 'tags'"):
        _core_flags(in_pseudorandom_split([0.5, 0.5], 0, 'tags'), dataset)


def test_in_lambda_and_custom_predicates(dataset):
    calls = []

    def with_state(label, score, state):
        state.append(1)
        return label is not None and score is not None and score > 1

    _assert_same(in_lambda(['label', 'score'], with_state, calls), dataset)
    assert len(calls) == 2 * NUM_ROWS  # once per row in each evaluation

    class EvenIdWithArrays(PredicateBase):
        def get_fields(self):
            return {'id', 'values'}

        def do_include(self, values):
            return values['id'] % 2 == 0 and values['values'] is not None and values['values'].sum() > 6

    flags = _assert_same(EvenIdWithArrays(), dataset)
    assert any(flags) and not all(flags)


def test_lambda_exception_reaches_the_caller_unchanged(dataset):
    class Boom(Exception):
        pass

    def explode(value):
        if value == 12:
            raise Boom('row twelve')
        return True

    predicate = in_lambda(['id'], explode)
    with pytest.raises(Boom, match='row twelve'):
        _core_flags(predicate, dataset)
    with pytest.raises(Boom, match='row twelve'):
        with make_reader(dataset[0], predicate=predicate, reader_pool_type='dummy') as reader:
            list(reader)


def test_python_predicate_must_return_one_flag_per_row(dataset):
    class Short(object):
        def _evaluate_batch(self, columns):
            return [True]

    handle = _core.python_predicate(['id'], Short())
    with pytest.raises(ValueError, match='returned 1 flags for a batch of 10 rows'):
        _core._evaluate_predicate(handle, dataset[0], 0, ['id'])


def test_unknown_field_and_bad_values(dataset):
    url = dataset[0]
    with pytest.raises(ValueError, match="in_set on field 'nope'"):
        _core._evaluate_predicate(_core_predicate_of(in_set([1], 'nope')), url, 0, ['id'])
    with pytest.raises(TypeError, match="in_set on field 'id': cannot compare a value of type object"):
        _core_predicate_of(in_set([object()], 'id'))
    with pytest.raises(TypeError, match="in_intersection on field 'tags': expected a scalar"):
        _core_predicate_of(in_intersection([np.arange(3)], 'tags'))
    with pytest.raises(TypeError):
        in_set([[1, 2]], 'id')  # unhashable, as in Petastorm
    with pytest.raises(ValueError, match='Predicate fields should be a list'):
        in_lambda('id', lambda x: True)
    with pytest.raises(ValueError, match='Predicate is nor derived from PredicateBase'):
        in_negate(lambda x: True)
    with pytest.raises(ValueError, match='Predicate is nor derived from PredicateBase'):
        in_reduce([in_set([1], 'id'), 'id'], all)
    with pytest.raises(ValueError, match='predicate parameter is expected to be derived from PredicateBase'):
        _core_predicate_of(lambda row: True)
    with pytest.raises(ValueError, match="op must be 'all' or 'any'"):
        _core.in_reduce([], 'sum')


def test_do_include_works_on_plain_dicts():
    # Petastorm's users call do_include directly.
    assert in_set({'a', 'b'}, 'f').do_include({'f': 'a'})
    assert not in_set({'a'}, 'f').do_include({'f': None})
    assert in_negate(in_set({'a'}, 'f')).do_include({'f': None})
    assert in_intersection(['x'], 'f').do_include({'f': ['y', 'x']})
    assert not in_intersection(['x'], 'f').do_include({'f': np.array(['y'])})
    assert in_lambda(['f'], lambda f, s: f in s, {'a'}).do_include({'f': 'a'})
    assert in_reduce([in_set({1}, 'f'), in_set({2}, 'f')], any).do_include({'f': 2})
    assert not in_reduce([in_set({1}, 'f'), in_set({2}, 'f')], all).do_include({'f': 2})
    split = [in_pseudorandom_split([0.5, 0.5], k, 'f').do_include({'f': 'guid_7'}) for k in (0, 1)]
    assert split.count(True) == 1
    assert in_set({1}, 'f').get_fields() == {'f'}
    assert in_reduce([in_set({1}, 'a'), in_lambda(['b', 'c'], lambda b, c: True)], all).get_fields() == {'a', 'b', 'c'}


_RAISING_PREDICATE = '''
import gc, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from petastorm import make_batch_reader, make_reader, write_dataset
from petastorm.predicates import PredicateBase
from petastorm.unischema import Unischema, UnischemaField
root = sys.argv[1]
pq.write_table(pa.table({'id': np.arange(10)}), root + '/plain.parquet')
schema = Unischema('S', [UnischemaField('id', np.int64, (), None, False)])
write_dataset('file://' + root + '/ours', schema, [{'id': i} for i in range(10)])

class Unhashable(PredicateBase):
    """hash() of a pandas Series (or a list): a TypeError raised by C code, fetched unnormalized."""
    def get_fields(self):
        return {'id'}
    def do_include(self, values):
        return hash(values['id'] if not isinstance(values, dict) else [values['id']])

for factory, url in ((make_batch_reader, 'file://' + root), (make_batch_reader, 'file://' + root + '/ours'),
                     (make_reader, 'file://' + root + '/ours')):
    try:
        with factory(url, predicate=Unhashable(), workers_count=2) as reader:
            list(reader)
        print('no error')
    except TypeError as e:
        print('TypeError', 'unhashable' in str(e))
    gc.collect()
print('alive')
'''


def test_predicate_raising_from_c_code_keeps_its_type_and_the_process_lives(tmp_path):
    """A do_include that raises in C code (hash() of a Series): its TypeError comes back, the
    interpreter does not crash at the next garbage collection (it segfaulted)."""
    import subprocess
    import sys
    (tmp_path / 'store').mkdir()
    result = subprocess.run([sys.executable, '-c', _RAISING_PREDICATE, str(tmp_path / 'store')],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stderr[-3000:])
    assert result.stdout.split('\n')[:4] == ['TypeError True'] * 3 + ['alive'], result.stdout
