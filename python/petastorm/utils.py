"""Helpers of Petastorm's petastorm.utils: decoding a row of stored values, adding a key to a
dataset's metadata."""
from decimal import Decimal

import numpy as np

from petastorm import _core, fs_utils


class DecodeFieldError(RuntimeError):
    """Decoding a field's stored value failed; the message names the field."""


def decode_row(row, schema):
    """{field name: decoded value} of `row` ({field name: stored value}, e.g. a Spark Row's
    asDict()) for the fields of `schema` (other keys are left out): a codec's field decoded by
    it, a codec-less numpy or Decimal scalar cast to its type, None kept."""
    decoded = {}
    for name, value in row.items():
        name = str(name)
        field = schema.fields.get(name)
        if field is None:
            continue
        try:
            if value is None:
                decoded[name] = None
            elif field.codec is not None:
                decoded[name] = field.codec.decode(field, value)
            elif isinstance(field.numpy_dtype, type) and issubclass(field.numpy_dtype, (np.generic, Decimal)):
                decoded[name] = field.numpy_dtype(value)
            else:
                decoded[name] = value
        except Exception as e:
            raise DecodeFieldError('Decoding field "{}" failed: {}: {}'.format(name, type(e).__name__, e)) from e
    return decoded


def add_to_dataset_metadata(dataset_url, key, value):
    """Sets `key` (str or bytes) to `value` (bytes or str) in the ``_common_metadata`` of the
    dataset at `dataset_url`, keeping its other keys (started from ``_metadata`` or the first
    file's footer when there is none). `dataset_url`: the URL, a ``pyarrow.parquet.ParquetDataset``
    of one directory (what Petastorm passes), or an object with a ``url`` or ``paths`` attribute
    naming one directory."""
    url = dataset_url
    if not isinstance(url, str):
        url = getattr(dataset_url, 'url', None) or getattr(dataset_url, 'paths', None)
        if url is None and hasattr(dataset_url, 'files'):  # a pyarrow ParquetDataset of a directory
            url = getattr(dataset_url, '_base_dir', None)
        if not isinstance(url, str):
            raise ValueError('Expected dataset.paths to be a single path, not a list of paths')
    fs_utils.update_dataset_metadata(url, {key: value})


def run_in_subprocess(func, *args, **kwargs):
    """Runs ``func(*args, **kwargs)`` in a fresh Python process and returns its result (Petastorm's
    helper, to keep a library's global state out of the caller). ``func``, the arguments and the
    result must pickle (a function defined at module level); its exception is raised here."""
    import multiprocessing
    with multiprocessing.get_context('spawn').Pool(1) as pool:
        return pool.apply(func, args, kwargs)
