"""petastorm.tf_utils on real TensorFlow: make_petastorm_dataset (rows, batches, n-grams; eager,
tf.function, Keras fit, TF1 iterators) and tf_tensors in TF1 graphs (sessions, the shuffling
queue, n-grams), Petastorm's dtypes, shapes and errors, and the import orders."""
import datetime
import os
import re
import subprocess
import sys
import warnings
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

tf = pytest.importorskip('tensorflow')

from petastorm import TransformSpec, make_batch_reader, make_reader, write_dataset  # noqa: E402
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec  # noqa: E402
from petastorm.ngram import NGram  # noqa: E402
from petastorm.predicates import in_lambda  # noqa: E402
from petastorm.tf_utils import (_numpy_to_tf_dtypes, _sanitize_field_tf_types, _schema_to_tf_dtypes,  # noqa: E402
                                make_petastorm_dataset, tf_tensors, RANDOM_SHUFFLING_QUEUE_SIZE)
from petastorm.unischema import Unischema, UnischemaField  # noqa: E402

tf1 = tf.compat.v1

TypesSchema = Unischema('TypesSchema', [
    UnischemaField('id', np.int64, (), None, False),
    UnischemaField('i8', np.int8, (), None, False),
    UnischemaField('i16', np.int16, (), None, False),
    UnischemaField('i32', np.int32, (), None, False),
    UnischemaField('u8', np.uint8, (), None, False),
    UnischemaField('u16', np.uint16, (), None, False),
    UnischemaField('u32', np.uint32, (), None, False),
    UnischemaField('f32', np.float32, (), None, False),
    UnischemaField('f64', np.float64, (), None, False),
    UnischemaField('flag', np.bool_, (), None, False),
    UnischemaField('name', np.str_, (), None, False),
    UnischemaField('blob', np.bytes_, (), None, False),
    UnischemaField('price', Decimal, (), ScalarCodec(pa.decimal128(10, 2)), False),
    UnischemaField('when', np.datetime64, (), None, False),
    UnischemaField('matrix', np.float32, (4, 3), NdarrayCodec(), False),
    UnischemaField('u16_matrix', np.uint16, (2, 2), NdarrayCodec(), False),
    UnischemaField('image', np.uint8, (None, None, 3), CompressedImageCodec('png'), False),
    UnischemaField('words', np.str_, (None,), NdarrayCodec(), False),
    UnischemaField('maybe', np.int32, (), None, True),
])


def types_row(i):
    rng = np.random.default_rng(i)
    side = 4 + i % 3  # images of three sizes, runs of one size inside a row group
    return {'id': i, 'i8': np.int8(i % 100 - 50), 'i16': np.int16(-i * 3), 'i32': np.int32(i * 1000),
            'u8': np.uint8(i % 256), 'u16': np.uint16(60000 + i), 'u32': np.uint32(4000000000 + i),
            'f32': np.float32(i / 4), 'f64': i / 8.0, 'flag': i % 2 == 0, 'name': 'name-{}'.format(i),
            'blob': bytes([i % 256, 0, 255]), 'price': Decimal('{}.50'.format(i)),
            'when': np.datetime64('2020-01-01T00:00:00') + np.timedelta64(i, 's'),
            'matrix': rng.random((4, 3), dtype=np.float32),
            'u16_matrix': np.array([[i, 65535], [0, 40000]], np.uint16),
            'image': rng.integers(0, 255, (side, side + 1, 3), dtype=np.uint8),
            'words': np.array(['w{}'.format(k) for k in range(i % 4)], dtype=np.str_),
            'maybe': None if i == 7 else np.int32(i)}


NOT_NULL = [f for f in TypesSchema.fields.values() if f.name != 'maybe']


@pytest.fixture(scope='module')
def types_dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp('tf') / 'types'
    rows = [types_row(i) for i in range(30)]
    write_dataset('file://' + str(path), TypesSchema, rows, rows_per_rowgroup=7)
    return 'file://' + str(path), {r['id']: r for r in rows}


@pytest.fixture(scope='module')
def scalar_store(tmp_path_factory):
    """Plain Parquet (no Petastorm metadata): 3 files x 2 row groups of 10 rows."""
    path = tmp_path_factory.mktemp('tf') / 'scalars'
    path.mkdir()
    rows = {}
    for f in range(3):
        ids = np.arange(f * 20, f * 20 + 20)
        table = pa.table({'id': ids, 'x': ids.astype(np.float32) / 2, 'flag': ids % 3 == 0,
                          'label': ['l{}'.format(i) for i in ids],
                          'vec': pa.array([[int(i), int(i) + 1] for i in ids], pa.list_(pa.int32(), 2)),
                          'day': pa.array([datetime.date(2021, 1, 1) + datetime.timedelta(days=int(i)) for i in ids],
                                          pa.date32()),
                          'u16': pa.array(ids.astype(np.uint16), pa.uint16())})
        pq.write_table(table, str(path / 'part-{}.parquet'.format(f)), row_group_size=10)
        for i in ids:
            rows[int(i)] = i
    return 'file://' + str(path), rows


def _expected_tf_value(name, value):
    """What the TF dataset delivers for a written value."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, Decimal):
        return str(value.normalize()).encode()
    if isinstance(value, np.datetime64):
        return value.astype('datetime64[ns]').astype(np.int64)
    if isinstance(value, np.ndarray) and value.dtype.kind == 'U':
        return np.array([v.encode() for v in value], dtype=object)
    return value


def _check_row(row, expected):
    for name, value in row._asdict().items():
        want = _expected_tf_value(name, expected[name])
        got = value.numpy() if hasattr(value, 'numpy') else value
        if isinstance(want, np.ndarray) and want.dtype == object:
            assert list(got) == list(want), name
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


# --- dtypes and conversions -----------------------------------------------------------------

def test_dtype_mapping_is_petastorms():
    assert _numpy_to_tf_dtypes(np.uint16) == tf.int32
    assert _numpy_to_tf_dtypes(np.uint32) == tf.int64
    assert _numpy_to_tf_dtypes(Decimal) == tf.string
    assert _numpy_to_tf_dtypes(np.datetime64) == tf.int64
    assert _numpy_to_tf_dtypes(np.bytes_) == tf.string
    assert _numpy_to_tf_dtypes(np.bool_) == tf.bool
    with pytest.warns(UnicodeWarning):
        assert _numpy_to_tf_dtypes(np.str_) == tf.string
    with pytest.raises(ValueError, match='Unknown mapping of numpy .* to tensorflow dtype'):
        _numpy_to_tf_dtypes(np.uint64)
    with pytest.warns(UnicodeWarning):
        dtypes = _schema_to_tf_dtypes(TypesSchema)
    assert dtypes[:7] == [tf.int64, tf.int8, tf.int16, tf.int32, tf.uint8, tf.int32, tf.int64]


def test_sanitize_field_tf_types():
    from collections import namedtuple
    dates = [datetime.date(1970, 1, 1), datetime.date(2015, 9, 29)]
    Row = namedtuple('Row', ['u16', 'u32', 'dec', 'dates', 'dt64', 'none'])
    row = Row(np.array([0, 65535], np.uint16), np.array([2 ** 32 - 1], np.uint32), Decimal('123.400'),
              np.array(dates, dtype=object), np.array(dates).astype('datetime64[D]'), 1)
    out = _sanitize_field_tf_types(row)
    assert out.u16.dtype == np.int32 and out.u16.tolist() == [0, 65535]
    assert out.u32.dtype == np.int64 and out.u32.tolist() == [2 ** 32 - 1]
    assert out.dec == '123.4'
    assert out.dates.tolist() == [0, 1443484800 * 10 ** 9]
    assert out.dt64.tolist() == [0, 1443484800 * 10 ** 9]
    with pytest.raises(RuntimeError, match='Encountered "none"=None'):
        _sanitize_field_tf_types(row._replace(none=None))


# --- make_petastorm_dataset over make_reader ------------------------------------------------

def test_row_dataset_values_shapes_and_types(types_dataset):
    url, expected = types_dataset
    with make_reader(url, schema_fields=NOT_NULL, shuffle_row_groups=False, workers_count=2) as reader:
        dataset = make_petastorm_dataset(reader)
        spec = dataset.element_spec
        assert type(spec).__name__.startswith('TypesSchema_view')
        assert spec.u16.dtype == tf.int32 and spec.u32.dtype == tf.int64
        assert spec.name.dtype == tf.string and spec.price.dtype == tf.string and spec.when.dtype == tf.int64
        assert spec.id.shape == () and spec.matrix.shape == (4, 3)
        assert spec.image.shape.as_list() == [None, None, 3]
        assert spec.words.shape.as_list() == [None]
        seen = []
        for row in dataset:
            _check_row(row, expected[int(row.id)])
            seen.append(int(row.id))
    assert seen == list(range(30))  # storage order, every row once


def test_batched_in_tf_after_the_row_dataset(types_dataset):
    url, expected = types_dataset
    with make_reader(url, schema_fields=['id', 'matrix', 'u16'], shuffle_row_groups=False) as reader:
        batches = list(make_petastorm_dataset(reader).batch(8))
    assert [int(b.id.shape[0]) for b in batches] == [8, 8, 8, 6]
    ids = np.concatenate([b.id.numpy() for b in batches])
    assert ids.tolist() == list(range(30))
    np.testing.assert_array_equal(batches[1].matrix.numpy()[0], expected[8]['matrix'])
    assert batches[0].u16.dtype == tf.int32


def test_none_is_petastorms_error_naming_the_field(types_dataset):
    url, _ = types_dataset
    with make_reader(url, schema_fields=['id', 'maybe'], shuffle_row_groups=False) as reader:
        with pytest.raises(Exception, match='Encountered "maybe"=None. Tensorflow does not support None'):
            for _ in make_petastorm_dataset(reader):
                pass


def test_predicate_skips_the_none(types_dataset):
    url, _ = types_dataset
    with make_reader(url, schema_fields=['id', 'maybe'], predicate=in_lambda(['id'], lambda i: i != 7)) as reader:
        rows = sorted((int(r.id), int(r.maybe)) for r in make_petastorm_dataset(reader))
    assert rows == [(i, i) for i in range(30) if i != 7]


def test_second_iteration_resets_with_petastorms_warning(types_dataset):
    url, _ = types_dataset
    with make_reader(url, schema_fields=['id'], num_epochs=1) as reader:
        dataset = make_petastorm_dataset(reader)
        first = sorted(int(r.id) for r in dataset)
        with pytest.warns(UserWarning, match='Running multiple iterations over make_petastorm_dataset'):
            second = sorted(int(r.id) for r in dataset)
    assert first == second == list(range(30))


def test_cache_then_repeat_reads_once(types_dataset):
    url, _ = types_dataset
    with make_reader(url, schema_fields=['id'], num_epochs=1) as reader:
        dataset = make_petastorm_dataset(reader).cache().repeat(3)
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            ids = [int(r.id) for r in dataset]
    assert sorted(ids) == sorted(list(range(30)) * 3)


def test_num_epochs_and_sharding(types_dataset):
    url, _ = types_dataset
    with make_reader(url, schema_fields=['id'], num_epochs=2, cur_shard=1, shard_count=2,
                     shuffle_row_groups=False) as reader:
        ids = [int(r.id) for r in make_petastorm_dataset(reader)]
    # Shard 1 of 2 holds row groups 1 and 3 (rows 7-13, 21-27), twice.
    assert ids == (list(range(7, 14)) + list(range(21, 28))) * 2


def _double_matrix(row):
    row['matrix'] = row['matrix'] * 2
    return row


def test_process_pool_and_transform(types_dataset):
    url, expected = types_dataset
    spec = TransformSpec(_double_matrix, selected_fields=['id', 'matrix'])
    with make_reader(url, reader_pool_type='process', workers_count=2, transform_spec=spec) as reader:
        rows = list(make_petastorm_dataset(reader))
    assert sorted(int(r.id) for r in rows) == list(range(30))
    for r in rows:
        np.testing.assert_array_equal(r.matrix.numpy(), expected[int(r.id)]['matrix'] * 2)


def test_inside_tf_function(types_dataset):
    url, _ = types_dataset
    with make_reader(url, schema_fields=['id', 'matrix'], num_epochs=1) as reader:
        dataset = make_petastorm_dataset(reader)

        @tf.function
        def total(ds):
            ids = tf.constant(0, tf.int64)
            cells = tf.constant(0.0, tf.float32)
            for row in ds:
                ids += row.id
                cells += tf.reduce_sum(row.matrix)
            return ids, cells

        ids, cells = total(dataset)
    assert int(ids) == sum(range(30))
    assert float(cells) > 0


def test_keras_fit_learns_from_the_dataset(tmp_path):
    schema = Unischema('XY', [UnischemaField('x', np.float32, (4,), NdarrayCodec(), False),
                              UnischemaField('y', np.int64, (), None, False)])
    rng = np.random.default_rng(0)
    rows = []
    for i in range(2000):
        x = rng.normal(size=4).astype(np.float32)
        rows.append({'x': x, 'y': int(x[0] + x[1] > 0)})
    url = 'file://' + str(tmp_path / 'xy')
    write_dataset(url, schema, rows, rows_per_rowgroup=250)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    with make_reader(url, num_epochs=None, seed=1, shuffle_rows=True) as reader:
        dataset = make_petastorm_dataset(reader).map(lambda r: (r.x, r.y)).batch(50)
        history = model.fit(dataset, steps_per_epoch=40, epochs=2, verbose=0)
    assert history.history['accuracy'][-1] > 0.9


# --- make_petastorm_dataset over make_batch_reader ------------------------------------------

def test_batch_dataset_is_one_element_per_row_group(scalar_store):
    url, _ = scalar_store
    with make_batch_reader(url, shuffle_row_groups=False) as reader:
        dataset = make_petastorm_dataset(reader)
        spec = dataset.element_spec
        assert spec.id.shape.as_list() == [None]
        assert spec.vec.shape.as_list() == [None, 2]
        assert spec.label.dtype == tf.string and spec.day.dtype == tf.int64 and spec.u16.dtype == tf.int32
        batches = list(dataset)
    assert [int(b.id.shape[0]) for b in batches] == [10] * 6
    ids = np.concatenate([b.id.numpy() for b in batches])
    assert ids.tolist() == list(range(60))
    first = batches[0]
    np.testing.assert_array_equal(first.x.numpy(), np.arange(10, dtype=np.float32) / 2)
    assert first.label.numpy().tolist() == [b'l%d' % i for i in range(10)]
    assert first.vec.numpy().tolist() == [[i, i + 1] for i in range(10)]
    assert first.flag.numpy().tolist() == [i % 3 == 0 for i in range(10)]
    day0 = int(datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc).timestamp()) * 10 ** 9
    assert first.day.numpy().tolist() == [day0 + i * 86400 * 10 ** 9 for i in range(10)]


def test_batch_dataset_rebatched_in_tf(scalar_store):
    url, _ = scalar_store
    with make_batch_reader(url, schema_fields=['id', 'x'], num_epochs=2, shuffle_row_groups=False) as reader:
        batches = list(make_petastorm_dataset(reader).unbatch().batch(16))
    ids = np.concatenate([b.id.numpy() for b in batches])
    assert ids.tolist() == list(range(60)) * 2
    assert [int(b.id.shape[0]) for b in batches][:3] == [16, 16, 16]


def test_batch_dataset_to_rows_every_way(scalar_store):
    url, _ = scalar_store
    ways = {
        'unbatch().batch(7, drop_remainder=True)': lambda d: d.unbatch().batch(7, drop_remainder=True),
        'flat_map(from_tensor_slices).batch(7, True)':
            lambda d: d.flat_map(tf.data.Dataset.from_tensor_slices).batch(7, drop_remainder=True),
        'unbatch().map().batch(7, True)': lambda d: d.unbatch().map(lambda r: r).batch(7, drop_remainder=True),
        'unbatch().batch(7, True, num_parallel_calls=2)':
            lambda d: d.unbatch().batch(7, drop_remainder=True, num_parallel_calls=2, deterministic=True),
    }
    results = {}
    for name, way in ways.items():
        with make_batch_reader(url, schema_fields=['id', 'vec'], shuffle_row_groups=False) as reader:
            dataset = way(make_petastorm_dataset(reader))
            assert dataset.element_spec.id.shape.as_list() == [7], name
            assert dataset.element_spec.vec.shape.as_list() == [7, 2], name
            batches = list(dataset)
        results[name] = [b.id.numpy().tolist() for b in batches]
        assert all(b.vec.numpy()[:, 1].tolist() == [i + 1 for i in b.id.numpy()] for b in batches)
    expected = [list(range(i, i + 7)) for i in range(0, 56, 7)]  # 60 rows: the last 4 dropped
    assert all(r == expected for r in results.values()), results


def test_batch_dataset_float_nulls_are_nan_other_nulls_raise(tmp_path):
    path = tmp_path / 'nulls'
    path.mkdir()
    pq.write_table(pa.table({'id': [1, 2, 3], 'x': pa.array([1.0, None, 3.0], pa.float64()),
                             'n': pa.array([1, None, 3], pa.int32())}), str(path / 'a.parquet'))
    url = 'file://' + str(path)
    with make_batch_reader(url, schema_fields=['id', 'x']) as reader:
        (batch,) = list(make_petastorm_dataset(reader))
    assert np.isnan(batch.x.numpy()[1]) and batch.x.numpy()[2] == 3.0
    with make_batch_reader(url, schema_fields=['id', 'n']) as reader:
        with pytest.raises(Exception, match='Encountered "n"=None'):
            list(make_petastorm_dataset(reader))


def test_batch_dataset_of_a_petastorm_dataset(types_dataset):
    url, expected = types_dataset
    with pytest.warns(UserWarning, match='Please use make_reader'):
        reader = make_batch_reader(url, schema_fields=['id', 'matrix', 'u32'], shuffle_row_groups=False)
    with reader:
        batches = list(make_petastorm_dataset(reader))
    assert batches[0].matrix.shape.as_list() == [7, 4, 3]
    assert batches[0].u32.dtype == tf.int64
    np.testing.assert_array_equal(batches[1].matrix.numpy()[0], expected[7]['matrix'])


def test_batch_dataset_ragged_field_is_a_clear_error(types_dataset):
    url, _ = types_dataset
    with pytest.warns(UserWarning):
        reader = make_batch_reader(url, schema_fields=['id', 'image'])
    with reader:
        with pytest.raises(Exception, match="Field 'image' has rows of different shapes"):
            list(make_petastorm_dataset(reader))


# --- n-grams --------------------------------------------------------------------------------

def test_ngram_dataset(types_dataset):
    url, expected = types_dataset
    ngram = NGram({-1: ['id', 'matrix'], 1: ['id', 'name']}, delta_threshold=1, timestamp_field='id')
    with make_reader(url, schema_fields=ngram, shuffle_row_groups=False, workers_count=1) as reader:
        items = list(make_petastorm_dataset(reader))
    # Windows of 3 consecutive ids inside each row group of 7 (5 per group; the last group of 2 has none).
    assert len(items) == 4 * 5
    for item in items:
        assert sorted(item) == [-1, 0, 1]
        assert item[0]._fields == ()
        first = int(item[-1].id)
        assert int(item[1].id) == first + 2
        np.testing.assert_array_equal(item[-1].matrix.numpy(), expected[first]['matrix'])
        assert item[1].name.numpy() == 'name-{}'.format(first + 2).encode()


# --- other readers --------------------------------------------------------------------------

def test_weighted_sampling_reader(types_dataset):
    from petastorm.weighted_sampling_reader import WeightedSamplingReader
    url, _ = types_dataset
    readers = [make_reader(url, schema_fields=['id', 'matrix'], workers_count=1) for _ in range(2)]
    with WeightedSamplingReader(readers, [0.5, 0.5], random_seed=3) as mixer:
        rows = list(make_petastorm_dataset(mixer))
    assert len(rows) >= 30 and all(r.matrix.shape == (4, 3) for r in rows)


# --- tf_tensors and TF1 iterators in graph mode ---------------------------------------------

def _session_rows(tensors, count=None):
    out = []
    with tf1.Session() as sess:
        sess.run([tf1.global_variables_initializer(), tf1.local_variables_initializer()])
        coord = tf1.train.Coordinator()
        threads = tf1.train.start_queue_runners(sess=sess, coord=coord, start=True)
        try:
            while count is None or len(out) < count:
                try:
                    out.append(sess.run(tensors))
                except tf.errors.OutOfRangeError:
                    break
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
    return out


def test_tf_tensors_rows(types_dataset):
    url, expected = types_dataset
    with tf1.Graph().as_default():
        with make_reader(url, schema_fields=NOT_NULL, shuffle_row_groups=False, workers_count=1) as reader:
            tensors = tf_tensors(reader)
            assert all(t.get_shape().dims is not None for t in tensors)
            assert tensors.matrix.get_shape().as_list() == [4, 3]
            assert tensors.image.get_shape().as_list() == [None, None, 3]
            assert tensors.u16.dtype == tf.int32
            rows = _session_rows(tensors)
    assert [int(r.id) for r in rows] == list(range(30))  # then OutOfRangeError at the end
    for row in rows:
        _check_row(row, expected[int(row.id)])


def test_tf_tensors_shuffling_queue(types_dataset):
    url, _ = types_dataset

    def read(capacity):
        with tf1.Graph().as_default():
            with make_reader(url, schema_fields=['id'], shuffle_row_groups=False, reader_pool_type='dummy') as reader:
                tensors = tf_tensors(reader, shuffling_queue_capacity=capacity, min_after_dequeue=capacity - 1)
                names = [op.name for op in tf1.get_default_graph().get_operations()]
                rows = _session_rows(tensors, 20)
        return [int(r.id) for r in rows], names

    plain, plain_ops = read(0)
    shuffled, ops = read(15)
    assert plain == list(range(20))
    assert RANDOM_SHUFFLING_QUEUE_SIZE in ops and RANDOM_SHUFFLING_QUEUE_SIZE not in plain_ops
    assert shuffled != plain and len(set(shuffled)) == 20 and set(shuffled) <= set(range(30))


def test_tf_tensors_batches_and_shuffling_refused(scalar_store):
    url, _ = scalar_store
    with tf1.Graph().as_default():
        with make_batch_reader(url, schema_fields=['id', 'vec'], shuffle_row_groups=False) as reader:
            with pytest.raises(ValueError, match='shuffling_queue_capacity can not be used'):
                tf_tensors(reader, 100, 90)
            tensors = tf_tensors(reader)
            assert tensors.id.get_shape().as_list() == [None]
            assert tensors.vec.get_shape().as_list() == [None, 2]
            batches = _session_rows(tensors)
    assert [b.id.tolist() for b in batches] == [list(range(i, i + 10)) for i in range(0, 60, 10)]


def test_tf_tensors_ngram(types_dataset):
    url, _ = types_dataset
    ngram = NGram({0: ['id'], 2: ['id', 'matrix']}, delta_threshold=1, timestamp_field='id')
    with tf1.Graph().as_default():
        with make_reader(url, schema_fields=ngram, shuffle_row_groups=False, workers_count=1) as reader:
            tensors = tf_tensors(reader)
            assert sorted(tensors) == [0, 1, 2]
            assert tensors[2].matrix.get_shape().as_list() == [4, 3]
            items = _session_rows(tensors, 5)
    assert [(int(i[0].id), int(i[2].id)) for i in items] == [(k, k + 2) for k in range(5)]


def test_user_guide_tf_tensors_snippet(types_dataset):
    url, _ = types_dataset
    with tf1.Graph().as_default():
        with make_reader(url, schema_fields=['id', 'matrix']) as reader:
            row_tensors = tf_tensors(reader)
            with tf1.Session() as session:
                for _ in range(3):
                    sample = session.run(row_tensors)
                    assert sample.matrix.shape == (4, 3)


def test_user_guide_dataset_snippet_tf1_and_tf2(types_dataset):
    url, _ = types_dataset
    # The guide's form: dataset.make_one_shot_iterator() (a tf.compat.v1 dataset has it) and a Session.
    with tf1.Graph().as_default():
        with make_reader(url, schema_fields=['id', 'matrix']) as reader:
            dataset = make_petastorm_dataset(reader)
            assert all(s.dims is not None for s in tf1.data.get_output_shapes(dataset))
            iterator = dataset.make_one_shot_iterator()
            tensor = iterator.get_next()
            with tf1.Session() as sess:
                sample = sess.run(tensor)
                assert sample.matrix.shape == (4, 3)
    # TF1's function form, in a graph.
    with tf1.Graph().as_default():
        with make_reader(url, schema_fields=['id']) as reader:
            tensor = tf1.data.make_one_shot_iterator(make_petastorm_dataset(reader)).get_next()
            with tf1.Session() as sess:
                ids = []
                while True:
                    try:
                        ids.append(int(sess.run(tensor).id))
                    except tf.errors.OutOfRangeError:
                        break
    assert sorted(ids) == list(range(30))
    # The TF2 form: eager iteration.
    with make_reader(url, schema_fields=['id', 'matrix']) as reader:
        sample = next(iter(make_petastorm_dataset(reader)))
        assert sample.matrix.shape == (4, 3)


# --- imports --------------------------------------------------------------------------------

@pytest.mark.parametrize('order', [['tensorflow', 'petastorm.tf_utils'], ['pyarrow', 'petastorm', 'tensorflow'],
                                   ['petastorm.tf_utils'], ['tensorflow', 'pyarrow.parquet', 'petastorm']])
def test_import_orders(order, types_dataset):
    url, _ = types_dataset
    code = '\n'.join(['import importlib, sys'] + ['importlib.import_module({!r})'.format(m) for m in order] + [
        'import tensorflow as tf',
        'from petastorm import make_reader',
        'from petastorm.tf_utils import make_petastorm_dataset',
        'with make_reader({!r}, schema_fields=["id", "image"]) as r:'.format(url),
        '    print(sorted(int(x.id) for x in make_petastorm_dataset(r)) == list(range(30)))',
    ])
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == 'True'


def test_import_petastorm_does_not_import_tensorflow():
    code = ('import sys, petastorm, petastorm.reader, petastorm.pytorch, petastorm.etl.dataset_metadata\n'
            'from petastorm import make_reader\n'
            'print("tensorflow" in sys.modules)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'False'



@pytest.mark.parametrize('extra', [[], ['--batch']])
def test_throughput_tool_reads_through_tensorflow(types_dataset, scalar_store, extra):
    url = scalar_store[0] if extra else types_dataset[0]
    fields = [] if extra else ['--field-regex', 'id', 'matrix', 'image']
    tool = os.path.join(os.path.dirname(sys.executable), 'petastorm-throughput')
    result = subprocess.run([tool, url, '-d', 'tf', '-w', '2', '-m', '5', '-n', '20', '-q', '10',
                             '--min-after-dequeue', '5'] + fields + extra,
                            capture_output=True, text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r'Average sample read rate: [0-9.]+ samples/sec', result.stdout), result.stdout
