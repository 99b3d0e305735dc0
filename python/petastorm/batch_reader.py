"""make_batch_reader's transforms: numpy columns to a pandas DataFrame and back.

The columns themselves come from the C++ engine (``DecodedRowGroup.to_numpy_columns()``; the
rule for every Arrow type is in C++, petastorm/numpy_column.h, and docs/types.md): numbers,
booleans, dates, timestamps, times and durations from the Arrow buffers without a copy where
the layout allows, text as numpy 'U', lists and fixed-size lists reshaped or as object arrays of
row views, structs, maps, decimals and bytes as Python objects, tensor fields stacked.
"""
import numpy as np

from petastorm import _core


def _object_array(values, n):
    """A 1-D object array of `values` (each kept whole, even when it is a sequence)."""
    return np.fromiter(values, dtype=object, count=n)


def _rows(values):
    """An object array of the rows of a multi-dimensional array (views, not copies)."""
    return _object_array(iter(values), len(values))


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
            stacked = _core.stack(items)  # None when the rows differ in shape or dtype
            if stacked is not None:
                values = stacked
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
