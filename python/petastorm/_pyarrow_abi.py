"""The pyarrow this build shares libarrow with. The extension links against pyarrow's
libarrow.so.<SO_VERSION>; every pyarrow release of the same major version has that SONAME, so
pyproject.toml accepts >=PYARROW_MIN,<next major. CMake reads SO_VERSION from this file and
refuses to build against another pyarrow (one copy of the number)."""
SO_VERSION = '2600'
PYARROW_RANGE = '>=26.0.0,<27'


def check(pyarrow_module, error):
    """Raises ImportError naming the pyarrow this build needs when another one is loaded, or
    when the extension failed to load (`error`, the ImportError of importing it)."""
    loaded = getattr(pyarrow_module, '__version__', '?')
    so_version = str(getattr(getattr(pyarrow_module, 'cpp_build_info', None), 'so_version', '?'))
    if so_version != SO_VERSION:
        raise ImportError(
            "petastorm's C++ extension was built against pyarrow {} (libarrow.so.{}), but pyarrow {} "
            '(libarrow.so.{}) is installed at {}: install the matching one with '
            "pip install 'pyarrow{}'".format(PYARROW_RANGE, SO_VERSION, loaded, so_version,
                                              getattr(pyarrow_module, '__file__', '?'), PYARROW_RANGE)) from error
    if error is not None:
        raise error
