"""``generate_datapoint(schema)``: one random row of a Unischema (Petastorm's petastorm.generator),
e.g. as ``ReaderMock``'s ``schema_data_generator`` or to fill a test dataset."""
from decimal import Decimal

import numpy as np

LIST_SIZE = 13  # the length of a None (variable) dimension


def _shape(field):
    return tuple(LIST_SIZE if dim is None else dim for dim in field.shape)


def _random_array(dtype, shape):
    dtype = np.dtype(dtype)
    if dtype.kind == 'b':
        return np.random.randint(0, 2, size=shape).astype(np.bool_)
    if dtype.kind in 'iu':
        info = np.iinfo(dtype)
        return np.random.randint(max(info.min, -2 ** 31), min(info.max, 2 ** 31 - 1), size=shape).astype(dtype)
    if dtype.kind == 'f':
        return np.random.random(size=shape).astype(dtype)
    if dtype.kind in 'US':
        words = np.array(['random_{}'.format(i) for i in np.random.randint(0, 1000, size=shape).ravel()])
        return words.astype(dtype if dtype.itemsize else dtype.kind).reshape(shape)
    raise ValueError('generate_datapoint: unsupported numpy_dtype {}'.format(dtype))


def generate_datapoint(schema):
    """A dict {field name: random value} for every field of `schema` (a Unischema): a numpy array
    of the field's dtype and shape (None dimensions ``LIST_SIZE`` long; a 0-d array for shape ``()``,
    as Petastorm's), a ``Decimal`` for scalar Decimal fields.
    Draws from numpy's global RNG (``np.random.seed`` makes it reproducible)."""
    row = {}
    for field in schema.fields.values():
        shape = _shape(field)
        if field.numpy_dtype is Decimal:
            value = Decimal(int(np.random.randint(0, 10 ** 6))) / Decimal(1000)
            row[field.name] = value if shape == () else np.array([value] * int(np.prod(shape)),
                                                                 dtype=object).reshape(shape)
            continue
        row[field.name] = _random_array(field.numpy_dtype, shape)  # 0-d for shape (), as Petastorm's
    return row
