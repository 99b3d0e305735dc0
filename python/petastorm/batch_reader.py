"""make_batch_reader's output: every column of a batch as one numpy array (docs/types.md).

A batch arrives from the C++ engine column by column: native columns as pyarrow Arrays that
share the engine's buffers, codec fields as lists of decoded numpy arrays. Each column becomes
one numpy array whose first dimension is the batch length:

- numbers, booleans, dates, timestamps, times and durations: from the Arrow buffer without a
  copy where the layout allows (such arrays are read-only); integers with nulls become float64
  with NaN (as Petastorm, through pandas), booleans with nulls an object array with None;
- strings: a numpy 'U' array (Petastorm's ``astype(np.unicode_)``); with nulls an object array of
  str and None. Binary: an object array of bytes. Decimals: an object array of ``Decimal``;
- fixed-size lists: an (n, k, ...) array, a reshape of the child values (no copy); lists whose
  rows all have one length, the same (Petastorm stacks them); other lists an object array of
  per-row arrays (views of one converted child array), None for null rows;
- structs: an object array of dicts; maps: an object array of lists of (key, value) tuples;
  null columns: an object array of None;
- codec fields (Petastorm datasets): the decoded tensors stacked into (n, *shape) when they all
  have one shape, else an object array of arrays.

No conversion loops over rows in Python for numeric, temporal or fixed-size data.
"""
import numpy as np
import pyarrow as pa

_TIME_AS_INT = {pa.types.is_time32: pa.int32(), pa.types.is_time64: pa.int64(),
                pa.types.is_duration: pa.int64()}


def _object_array(values, n):
    """A 1-D object array of `values` (each kept whole, even when it is a sequence)."""
    return np.fromiter(values, dtype=object, count=n)


def _with_nulls(values, valid):
    """`values` with the rows where `valid` is False made null: NaN for floats (ints become
    float64), NaT for datetimes, None in an object array otherwise."""
    if valid.all():
        return values
    kind = values.dtype.kind
    if kind == 'f' and values.ndim == 1:
        out = values.copy()
        out[~valid] = np.nan
        return out
    if kind in 'iu' and values.ndim == 1:
        out = values.astype(np.float64)
        out[~valid] = np.nan
        return out
    if kind in 'mM' and values.ndim == 1:
        out = values.copy()
        out[~valid] = np.datetime64('NaT') if kind == 'M' else np.timedelta64('NaT')
        return out
    out = values.astype(object) if values.ndim == 1 else _rows(values)
    out[~valid] = None
    return out


def _rows(values):
    """An object array of the rows of a multi-dimensional array (views, not copies)."""
    return _object_array(iter(values), len(values))


def _valid_mask(array):
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def arrow_to_numpy(array):
    """One numpy array of a pyarrow Array's values, first dimension ``len(array)``."""
    n = len(array)
    t = array.type
    if pa.types.is_dictionary(t):
        dictionary = arrow_to_numpy(array.dictionary)
        indices = array.indices
        if len(dictionary) == 0:
            return _object_array([None] * n, n)
        if indices.null_count == 0:
            return dictionary[indices.to_numpy(zero_copy_only=False)]
        taken = dictionary[indices.fill_null(0).to_numpy(zero_copy_only=False)]
        return _with_nulls(taken, _valid_mask(indices))
    if pa.types.is_null(t):
        return _object_array([None] * n, n)
    if pa.types.is_fixed_size_list(t):
        k = t.list_size
        child = arrow_to_numpy(array.values.slice(array.offset * k, n * k))
        values = child.reshape((n, k) + child.shape[1:])
        if array.null_count == 0:
            return values
        return _with_nulls(values, _valid_mask(array))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = array.offsets.to_numpy(zero_copy_only=False)
        start, end = int(offsets[0]), int(offsets[-1])
        child = arrow_to_numpy(array.values.slice(start, end - start))
        offsets = offsets - start
        lengths = np.diff(offsets)
        if array.null_count == 0 and n > 0 and (lengths == lengths[0]).all():
            return child.reshape((n, int(lengths[0])) + child.shape[1:])
        valid = _valid_mask(array) if array.null_count else None
        return _object_array((child[offsets[i]:offsets[i + 1]] if valid is None or valid[i] else None
                              for i in range(n)), n)
    if pa.types.is_struct(t) or pa.types.is_map(t):
        # Python values (to_numpy would turn a struct's int child with nulls into floats).
        return _object_array(array.to_pylist(), n)
    for is_type, int_type in _TIME_AS_INT.items():
        if is_type(t):
            return array.view(int_type).to_numpy(zero_copy_only=False)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        values = array.to_numpy(zero_copy_only=False)
        return values if array.null_count else values.astype(np.str_)
    return array.to_numpy(zero_copy_only=False)


def _stack_tensors(tensors, field):
    """Decoded codec values (numpy arrays, None for nulls) as one array."""
    n = len(tensors)
    if n and all(t is not None for t in tensors):
        first = tensors[0]
        if all(t.shape == first.shape and t.dtype == first.dtype for t in tensors):
            return np.stack(tensors)
    return _object_array(tensors, n)


def column_to_numpy(field, raw):
    """A batch column as numpy: `raw` is a pyarrow Array, or a list of decoded tensors for a
    codec field. `field` is the UnischemaField (or None); stored scalar fields of a Petastorm
    dataset get their declared numeric dtype, as make_reader delivers them."""
    if isinstance(raw, list):
        return _stack_tensors(raw, field)
    values = arrow_to_numpy(raw)
    dtype = getattr(field, 'numpy_dtype', None)
    if (isinstance(dtype, type) and issubclass(dtype, (np.integer, np.floating, np.bool_))
            and values.dtype.kind in 'biuf' and values.dtype != dtype and raw.null_count == 0):
        values = values.astype(dtype)
    return values


def to_dataframe(columns):
    """A pandas DataFrame of numpy columns; a multi-dimensional column becomes a column of
    per-row arrays (views)."""
    import pandas as pd
    data = {name: _rows(values) if values.ndim > 1 else values for name, values in columns.items()}
    return pd.DataFrame(data)


def _column_from_pandas(field, series):
    values = series.to_numpy()
    if values.dtype == object and len(values):
        items = list(values)
        if all(isinstance(v, np.ndarray) for v in items):
            shapes = {v.shape for v in items}
            if len(shapes) == 1:
                values = np.stack(items)
        elif field.numpy_dtype is np.str_ and all(isinstance(v, str) for v in items):
            values = values.astype(np.str_)
    shape = tuple(field.shape)
    if values.ndim > 1 and shape and all(d is not None for d in shape) and values.shape[1:] != shape:
        raise ValueError("Field '{}' of the transformed batch has rows of shape {}, but the schema "
                         'says {}'.format(field.name, values.shape[1:], shape))
    return values


def transform_columns(transform_spec, schema, columns):
    """Applies a TransformSpec to a batch: ``func`` takes and returns a pandas DataFrame, then
    ``removed_fields`` are dropped and ``selected_fields`` kept. Returns numpy columns in the
    order of `schema` (the transformed schema)."""
    if transform_spec.func is None:
        out = dict(columns)
    else:
        import pandas as pd
        frame = transform_spec.func(to_dataframe(columns))
        if not isinstance(frame, pd.DataFrame):
            raise TypeError('transform_spec.func must return a pandas DataFrame, got {}'.format(type(frame).__name__))
        out = {name: frame[name] for name in frame.columns}
    for name in transform_spec.removed_fields:
        out.pop(name, None)
    if transform_spec.selected_fields is not None:
        out = {name: out[name] for name in transform_spec.selected_fields if name in out}
    if set(out) != set(schema.fields):
        raise ValueError('Transformed result columns ({rc}) do not match required schema columns({sc})'.format(
            rc=','.join(out), sc=','.join(schema.fields)))
    result = {}
    for name, field in schema.fields.items():
        values = out[name]
        result[name] = values if isinstance(values, np.ndarray) else _column_from_pandas(field, values)
    return result
