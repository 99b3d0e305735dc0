"""Petastorm with a C++ core: Parquet datasets of tensors for PyTorch, TensorFlow and Python.

Petastorm's names and arguments (``make_reader``, ``Unischema``, codecs, ...), with the
reading, decoding and writing done by a C++ library on Apache Arrow.
"""
# pyarrow first: the extension shares the libarrow that pyarrow loads.
import pyarrow as _pyarrow  # noqa: F401

from petastorm import _pyarrow_abi

_pyarrow_abi.check(_pyarrow, None)  # another pyarrow: say which one this build needs
try:
    from petastorm import _core  # noqa: F401
except ImportError as _error:
    _pyarrow_abi.check(_pyarrow, _error)
    raise

import atexit as _atexit

# Arrow's S3 subsystem must be finalized before the process ends (the AWS SDK crashes at exit
# otherwise); a no-op when no s3:// filesystem was made.
_atexit.register(_core.finalize_remote_filesystems)
from petastorm.errors import NoDataAvailableError
from petastorm.map_dataset import MapDataset, make_map_dataset
from petastorm.reader import make_batch_reader, make_reader
from petastorm.transform import TransformSpec
from petastorm.writer import DatasetWriter, write_dataset

__version__ = '0.14.0.dev0'

__all__ = ['NoDataAvailableError', 'make_reader', 'make_batch_reader', 'make_map_dataset', 'MapDataset', 'TransformSpec',
           'DatasetWriter', 'write_dataset', '__version__']
