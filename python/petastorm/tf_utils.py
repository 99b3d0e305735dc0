"""TensorFlow adapters with Petastorm's names: make_petastorm_dataset and tf_tensors.

``make_petastorm_dataset(reader)`` feeds a ``tf.data.Dataset`` from the reader's decoded row
groups (``reader.decoded_row_groups()``): one Python call per row group hands TensorFlow the
group's columns (one numpy array per field, converted in C++), and per-row datasets are made by
``unbatch`` inside TensorFlow, so the GIL is not taken per row. Readers that only iterate rows
(WeightedSamplingReader, mocks) and n-gram readers are read item by item, as in Petastorm.

Types (Petastorm's mapping): int8..int64, uint8, float32/64 and bool as they are; uint16 ->
int32, uint32 -> int64; strings, bytes and Decimal -> tf.string (Decimal as
``str(value.normalize())``); datetime64 and dates -> int64 nanoseconds since the epoch. A None
(null) cell is Petastorm's RuntimeError naming the field; make_batch_reader's float columns carry
NaN for nulls, as in Petastorm.

This module imports TensorFlow (``tensorflow.compat.v1``, as Petastorm's); ``import petastorm``
does not.
"""
import datetime
import warnings
from calendar import timegm
from collections import OrderedDict, namedtuple
from decimal import Decimal

import numpy as np
# Arrow before TensorFlow, as the rest of the package imports it (either order works).
import pyarrow  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf  # pylint: disable=import-error
import tensorflow.compat.v2 as tf2  # pylint: disable=import-error
from tensorflow.python.data.ops import dataset_ops  # pylint: disable=import-error,no-name-in-module


# numpy scalar types (and Decimal) to the TensorFlow dtypes they are delivered as.
_NUMPY_TO_TF_DTYPES_MAPPING = {
    np.int8: tf.int8,
    np.int16: tf.int16,
    np.int32: tf.int32,
    np.int64: tf.int64,
    np.uint8: tf.uint8,
    np.uint16: tf.int32,
    np.uint32: tf.int64,
    np.float16: tf.float16,
    np.float32: tf.float32,
    np.float64: tf.float64,
    np.bytes_: tf.string,
    np.str_: tf.string,
    np.bool_: tf.bool,
    Decimal: tf.string,
    np.datetime64: tf.int64,
}

# Name of the size op of tf_tensors' shuffling queue, for diagnostics that read its fill.
RANDOM_SHUFFLING_QUEUE_SIZE = 'random_shuffling_queue_size'

_RESET_READER_WARN = (
    'Running multiple iterations over make_petastorm_dataset is not recommend for performance issue. '
    "Use Reader's num_epochs contructor arguments to set number of iterations,"
    "or use tf.data.Dataset's cache() function to cache data of first iteration before"
    "calling 'repeat' method of Datset class."
)

_EPOCH = np.datetime64('1970-01-01T00:00:00', 'ns')


def date_to_nsec_from_epoch(dt):
    """Nanoseconds from the epoch to the midnight (UTC) starting `dt` (a date or datetime)."""
    return timegm(dt.timetuple()) * 1000000000


def _none_error(name):
    return RuntimeError('Encountered "{}"=None. Tensorflow does not support None values as a tensor.'
                        'Consider filtering out these rows using a predicate.'.format(name))


def _datetimes_to_ns(values):
    return (values - _EPOCH).astype('timedelta64[ns]').astype(np.int64)


def _sanitize_value(name, value):
    """One value (a row's cell, or a batch's column) as TensorFlow takes it."""
    if value is None:
        raise _none_error(name)
    if isinstance(value, Decimal):
        # normalize() only drops trailing zeros (Petastorm's form).
        return str(value.normalize())
    if isinstance(value, np.generic):
        value = np.asarray(value)  # numpy scalars (make_reader's) as 0-d arrays
    if not isinstance(value, np.ndarray):
        return value
    if value.dtype.kind == 'M':
        return _datetimes_to_ns(value)
    if value.dtype == np.uint16:
        return value.astype(np.int32)
    if value.dtype == np.uint32:
        return value.astype(np.int64)
    if value.dtype.kind in 'SU':
        return value.tolist() if value.size else value
    if value.dtype.kind == 'O' and value.size:
        first = value.flat[0]
        if isinstance(first, datetime.date):
            return np.vectorize(date_to_nsec_from_epoch, otypes=[np.int64])(value)
        if isinstance(first, Decimal):
            return np.vectorize(lambda d: str(d.normalize()), otypes=[object])(value)
    return value


def _sanitize_field_tf_types(sample):
    """`sample` (a namedtuple) with its values cast to types TensorFlow knows: Decimal -> str,
    uint16 -> int32, uint32 -> int64, datetime64 and dates -> int64 ns since the epoch. A None
    is a RuntimeError naming the field."""
    values = sample._asdict()
    for name, value in values.items():
        values[name] = _sanitize_value(name, value)
    return sample.__class__(**values)


def _numpy_to_tf_dtypes(numpy_dtype):
    """The TensorFlow dtype of a field of `numpy_dtype`; ValueError when there is none."""
    key = numpy_dtype
    if key is not Decimal:
        try:
            key = np.dtype(numpy_dtype).type
        except TypeError:
            key = numpy_dtype
    if key not in _NUMPY_TO_TF_DTYPES_MAPPING:
        raise ValueError('Unknown mapping of numpy {} to tensorflow dtype'.format(numpy_dtype))
    if key is np.str_:
        warnings.warn('Tensorflow will convert all unicode strings back to bytes type. '
                      'You may need to decode values.', UnicodeWarning)
    return _NUMPY_TO_TF_DTYPES_MAPPING[key]


def _schema_to_tf_dtypes(schema):
    """The TensorFlow dtypes of `schema`'s fields, in its order."""
    return [_numpy_to_tf_dtypes(f.numpy_dtype) for f in schema.fields.values()]


def _ngram_offsets(ngram):
    return range(min(ngram.fields), max(ngram.fields) + 1)


def _schema_to_tf_dtypes_ngram(schema, ngram):
    """The TensorFlow dtypes of an n-gram's fields, flattened offset by offset."""
    dtypes = []
    for offset in _ngram_offsets(ngram):
        dtypes.extend(_schema_to_tf_dtypes(ngram.get_schema_at_timestep(schema=schema, timestep=offset)))
    return dtypes


def _flatten(data):
    """{offset: namedtuple} as one namedtuple with fields '{field}_{position}' (position: the
    offset's index in sorted order)."""
    flat = OrderedDict()
    for index, offset in enumerate(sorted(data)):
        for name, value in data[offset]._asdict().items():
            flat['{}_{}'.format(name, index)] = value
    return namedtuple('flattened', list(flat))(**flat)


def make_namedtuple_tf_ngram(unischema, ngram, *args, **kargs):
    """{offset: namedtuple} from the flat values of an n-gram (`args`, offset by offset) or
    from {str(offset): {field: value}} (`kargs`)."""
    result = {}
    start = 0
    for offset in _ngram_offsets(ngram):
        names = ngram.get_field_names_at_timestep(offset)
        view = ngram.get_schema_at_timestep(schema=unischema, timestep=offset)
        own = args[start:start + len(names)]
        start += len(names)
        result[offset] = view.namedtuple_type()(*own, **kargs.get(str(offset), {}))
    return result


def _set_shape(schema, fields_as_dict, batched_output=None):
    """Sets the static shape of each tensor from the Unischema ((None,) + shape for batches)."""
    for name, tensor in fields_as_dict.items():
        if tensor.get_shape().dims is None:
            shape = tuple(schema.fields[name].shape)
            tensor.set_shape((None,) + shape if batched_output else shape)


def _set_shape_to_named_tuple(schema, fields, batched_output):
    as_dict = fields._asdict()
    _set_shape(schema, as_dict, batched_output)
    return schema.make_namedtuple_tf(**as_dict)


def _unflatten_and_set_shape(schema, ngram, fields_as_list):
    """The flat tensors of an n-gram back to {offset: namedtuple}, with static shapes."""
    by_offset = make_namedtuple_tf_ngram(schema, ngram, *fields_as_list)
    as_dicts = {str(offset): item._asdict() for offset, item in by_offset.items()}
    for fields in as_dicts.values():
        _set_shape(schema, fields)
    return make_namedtuple_tf_ngram(schema, ngram, **as_dicts)


def _sanitize_and_flatten(ngram):
    return _flatten({offset: _sanitize_field_tf_types(item) for offset, item in ngram.items()})


def _reset_if_consumed(reader):
    """A new pass over a dataset (tf.data re-creates the generator): start the reader over."""
    if getattr(reader, 'last_row_consumed', False):
        warnings.warn(_RESET_READER_WARN, category=UserWarning)
        reader.reset()


def _ngrams_generator(reader):
    """The reader's n-grams, sanitized and flattened."""
    _reset_if_consumed(reader)
    for item in reader:
        yield _sanitize_and_flatten(item)


# --- tf_tensors: TF1 graphs ----------------------------------------------------------------

def _shuffling_queue(shuffling_queue_capacity, min_after_dequeue, dtypes, fields_as_list):
    """Passes the tensors through a RandomShuffleQueue filled by one queue runner."""
    queue = tf.RandomShuffleQueue(shuffling_queue_capacity, min_after_dequeue, dtypes)
    # A well-known name, so that diagnostics can read the queue's size.
    queue.size(name=RANDOM_SHUFFLING_QUEUE_SIZE)
    tf.train.add_queue_runner(tf.train.QueueRunner(queue, [queue.enqueue(fields_as_list)]))
    dequeued = queue.dequeue()
    # One component dequeues as a tensor, not a list (Petastorm fails on one-field schemas there).
    return dequeued if isinstance(dequeued, (list, tuple)) else [dequeued]


def _tf_tensors_nonngram(reader, shuffling_queue_capacity, min_after_dequeue):
    dtypes = _schema_to_tf_dtypes(reader.schema)
    fields_as_list = tf.py_func(lambda _: list(_sanitize_field_tf_types(next(reader))),
                                [tf.constant(1)], dtypes)
    if shuffling_queue_capacity > 0:
        fields_as_list = _shuffling_queue(shuffling_queue_capacity, min_after_dequeue, dtypes, fields_as_list)
    as_dict = reader.schema.make_namedtuple_tf(*fields_as_list)._asdict()
    _set_shape(reader.schema, as_dict, reader.batched_output)
    return reader.schema.make_namedtuple_tf(**as_dict)


def _tf_tensors_ngram(reader, shuffling_queue_capacity, min_after_dequeue):
    dtypes = _schema_to_tf_dtypes_ngram(reader.schema, reader.ngram)
    fields_as_list = tf.py_func(lambda _: list(_sanitize_and_flatten(next(reader))),
                                [tf.constant(1)], dtypes)
    if shuffling_queue_capacity > 0:
        fields_as_list = _shuffling_queue(shuffling_queue_capacity, min_after_dequeue, dtypes, fields_as_list)
    return _unflatten_and_set_shape(reader.schema, reader.ngram, fields_as_list)


def tf_tensors(reader, shuffling_queue_capacity=0, min_after_dequeue=0):
    """The reader as TF1 graph tensors: a namedtuple of tensors (one row, or one batch of a
    make_batch_reader reader, per ``session.run``), or for an n-gram reader {offset:
    namedtuple}. Static shapes come from the Unischema. When the reader is exhausted,
    ``session.run`` raises ``tf.errors.OutOfRangeError``.

    With ``shuffling_queue_capacity > 0`` the rows pass through a ``tf.RandomShuffleQueue``
    (``min_after_dequeue`` rows stay in it) filled by a queue runner
    (``tf.train.start_queue_runners``); ValueError for batched readers, whose batches are row
    groups. Strings come back as bytes.

    Graph mode only (``tf.compat.v1``, e.g. inside ``tf.Graph().as_default()``); in TF2 code
    use :func:`make_petastorm_dataset`.
    """
    if reader.batched_output and shuffling_queue_capacity > 0:
        raise ValueError('shuffling_queue_capacity can not be used with a reader that produces '
                         'batched_output, since each batch is a parquet read rowgroup. Extra '
                         'shuffling of the batches does not further decrease correlation.')
    if getattr(reader, 'ngram', None):
        return _tf_tensors_ngram(reader, shuffling_queue_capacity, min_after_dequeue)
    return _tf_tensors_nonngram(reader, shuffling_queue_capacity, min_after_dequeue)


# --- make_petastorm_dataset: tf.data -------------------------------------------------------

def _is_float_field(field):
    return field.numpy_dtype is not Decimal and np.dtype(field.numpy_dtype).kind == 'f'


def _shape_runs(columns, ragged):
    """[(start, stop)] of consecutive rows whose arrays in the `ragged` columns have one shape."""
    shapes = [tuple(np.shape(v) for v in values) for values in zip(*(columns[i] for i in ragged))]
    runs = []
    start = 0
    for row in range(1, len(shapes) + 1):
        if row == len(shapes) or shapes[row] != shapes[start]:
            runs.append((start, row))
            start = row
    return runs


class _GroupColumns(object):
    """Turns decoded row groups into TensorFlow's batch-form values: a namedtuple of columns
    (first dimension the rows) per row group, or several when a variable-shape field changes
    shape inside the group (make_reader only: a batch reader's batch must be dense)."""

    def __init__(self, schema, batched):
        self._fields = list(schema.fields.values())
        self._type = schema.namedtuple_type()
        self._batched = batched

    def __call__(self, group):
        columns = group.to_numpy_columns()
        out = []
        ragged = []
        for index, (field, nulls) in enumerate(zip(self._fields, group.null_counts)):
            column = columns[field.name]
            if nulls and not (self._batched and _is_float_field(field)):
                raise _none_error(field.name)
            if column.dtype == object and column.size and isinstance(column[0], np.ndarray):
                if self._batched:
                    raise ValueError("Field '{}' has rows of different shapes in one batch: a batch of "
                                     'make_petastorm_dataset over make_batch_reader is a dense tensor. Read it '
                                     'with make_reader (one row per element), or make the rows one shape in a '
                                     'TransformSpec.'.format(field.name))
                column = [_sanitize_value(field.name, v) for v in column]
                ragged.append(index)
            else:
                column = _sanitize_value(field.name, column)
            out.append(column)
        if not ragged:
            return [self._type(*out)]
        parts = []
        for start, stop in _shape_runs(out, ragged):
            parts.append(self._type(*[np.stack(c[start:stop]) if i in ragged else c[start:stop]
                                      for i, c in enumerate(out)]))
        return parts


def _signature(schema, batched):
    """The TensorSpecs of `schema`'s namedtuple: the Unischema shapes, after a batch dimension
    when `batched`."""
    lead = (None,) if batched else ()
    return schema.namedtuple_type()(*[tf.TensorSpec(lead + tuple(f.shape), _numpy_to_tf_dtypes(f.numpy_dtype))
                                      for f in schema.fields.values()])


def _row_group_dataset(reader):
    """The dataset of a reader with decoded row groups: one element per row group (batch
    readers) or per row (make_reader, through unbatch)."""
    schema = reader.schema
    batched = reader.batched_output
    to_columns = _GroupColumns(schema, batched)

    def groups():
        _reset_if_consumed(reader)
        for group in reader.decoded_row_groups():
            if group.num_rows:
                for part in to_columns(group):
                    yield part

    source = tf.data.Dataset.from_generator(groups, output_signature=_signature(schema, batched=True))
    dataset = _Batches(source.with_options(_options()))
    return dataset if batched else dataset.unbatch()


def _options():
    """tf.data options of our datasets: no autotuning. The reader runs its own threads; here
    tf.data's autotuning model took CPU from them and cut throughput by a third (JPEG rows on 2
    cores). A later ``with_options`` on the user's pipeline turns it back on."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


# tf.data's rebatch(n) is unbatch().batch(n) with one copy instead of two: unbatch copies every
# row into a tensor of its own, which costs more than the row's decoding for images (about
# 200 us per 224x224x3 row here). The datasets below are tf.compat.v1 datasets like any other;
# only these calls take the shorter way to the same elements.
_Adapter = dataset_ops.DatasetV1Adapter
_SLICES = (tf.data.Dataset.from_tensor_slices, tf2.data.Dataset.from_tensor_slices)


class _Batches(dataset_ops.DatasetV1Adapter):
    """Batches of rows (row groups): unbatch() and flat_map(from_tensor_slices) give rows
    whose batch(n) is rebatch(n) of these."""

    def __init__(self, dataset):
        super().__init__(dataset._dataset if isinstance(dataset, _Adapter) else dataset)

    def unbatch(self, name=None):
        return _Rows(super().unbatch(name=name), self)

    def flat_map(self, map_func, name=None):
        if any(map_func is f for f in _SLICES):
            return self.unbatch(name=name)
        return super().flat_map(map_func, name=name)


class _Rows(dataset_ops.DatasetV1Adapter):
    """The rows of `batches`; batch(n) is batches.rebatch(n)."""

    def __init__(self, rows, batches):
        super().__init__(rows._dataset if isinstance(rows, _Adapter) else rows)
        self._petastorm_batches = batches

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        if num_parallel_calls is not None or deterministic is not None:
            return super().batch(batch_size, drop_remainder, num_parallel_calls, deterministic, name=name)
        return _Batches(self._petastorm_batches._dataset.rebatch(batch_size, drop_remainder, name=name))


def _item_dataset(reader):
    """The dataset of any other reader (rows or batches from iteration), as Petastorm's."""
    schema = reader.schema
    batched = bool(reader.batched_output)

    def items():
        _reset_if_consumed(reader)
        for item in reader:
            yield _sanitize_field_tf_types(item)

    return tf.data.Dataset.from_generator(items, output_signature=_signature(schema, batched))


def _ngram_dataset(reader):
    flat = tf.data.Dataset.from_generator(lambda: _ngrams_generator(reader),
                                          tuple(_schema_to_tf_dtypes_ngram(reader.schema, reader.ngram)))
    return flat.map(lambda *values: _unflatten_and_set_shape(reader.schema, reader.ngram, values))


def make_petastorm_dataset(reader):
    """A ``tf.data.Dataset`` of the reader's data: over ``make_reader``, one element per row (a
    namedtuple of tensors, static shapes from the Unischema, None dimensions left None); over
    ``make_batch_reader``, one element per row-group batch (shapes ``(None,) + shape``); over an
    n-gram reader, ``{offset: namedtuple}``.

    The dataset is a ``tf.compat.v1`` one (``make_one_shot_iterator()``, ``output_shapes``) and a
    ``tf.data.Dataset``: it iterates in eager mode, inside ``tf.function`` and in
    ``model.fit``. Epochs belong to the reader (``num_epochs``); iterating the dataset again after
    the reader is exhausted resets the reader, with Petastorm's warning (``cache()`` before
    ``repeat()`` avoids it). For ``shard``/``filter`` prefer the reader's ``cur_shard`` and
    ``predicate``, which skip the data instead of reading it.
    """
    if getattr(reader, 'ngram', None):
        return _ngram_dataset(reader)
    if hasattr(reader, 'decoded_row_groups'):
        return _row_group_dataset(reader)
    return _item_dataset(reader)


__all__ = ['make_petastorm_dataset', 'tf_tensors', 'RANDOM_SHUFFLING_QUEUE_SIZE', 'date_to_nsec_from_epoch',
           'make_namedtuple_tf_ngram']
