"""Values as the loaders meet them: what a transform returns (numpy, torch, Python scalars)."""
import numpy as np


def describe_value(value):
    """A short description for error messages: type and shape, never the value printed whole."""
    shape = getattr(value, 'shape', None)
    dtype = getattr(value, 'dtype', None)
    name = type(value).__name__
    if shape is not None and dtype is not None:
        return '{}({}, shape {})'.format(name, str(dtype).replace('torch.', ''), tuple(shape))
    if isinstance(value, (str, bytes)):
        return '{} of length {}'.format(name, len(value))
    return name


def as_numpy(value):
    """A torch tensor as a numpy array (the CPU copy of a device tensor); anything else as is."""
    if type(value).__module__ == 'torch' and hasattr(value, 'detach'):
        return value.detach().cpu().numpy()
    return value


def scalar_or_array(value):
    """A transform's value for a scalar column: 0-d arrays and tensors become numpy scalars."""
    value = as_numpy(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value
