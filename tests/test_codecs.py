"""Behaviour of petastorm.codecs: byte compatibility with numpy / Pillow, validation, errors,
ScalarCodec types, and a codec written in Python used through write_dataset / make_reader."""
import gc
import io
import json
import struct
import subprocess
import sys
import textwrap
import weakref
import zipfile
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

import petastorm
from petastorm.codecs import (CompressedImageCodec, CompressedNdarrayCodec, DataframeColumnCodec,
                              NdarrayCodec, ScalarCodec)
from petastorm.unischema import Unischema, UnischemaField, _field_to_core

PIL_Image = pytest.importorskip('PIL.Image')

NUMERIC_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                  np.float16, np.float32, np.float64, np.complex64, np.complex128]
OTHER_DTYPES = [np.bool_, 'S5', 'U3', 'datetime64[ns]']
ALL_DTYPES = NUMERIC_DTYPES + OTHER_DTYPES
SHAPES = [(), (0,), (5,), (2, 3, 4)]

def _dtype_id(dtype):
    return np.dtype(dtype).str.lstrip('<>|=')


def _decode_params(dtypes):
    """The dtypes as pytest params."""
    return [pytest.param(dt, id=_dtype_id(dt)) for dt in dtypes]


def _value(dtype, shape, seed=0):
    """A deterministic array of `dtype` and `shape` with values spread over the type's range."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind in 'iu':
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, size=n, endpoint=True, dtype=dt)
    elif dt.kind == 'f':
        flat = (rng.standard_normal(n) * 1000).astype(dt)
    elif dt.kind == 'c':
        flat = (rng.standard_normal(n) * 100 + 1j * rng.standard_normal(n) * 100).astype(dt)
    elif dt.kind == 'b':
        flat = rng.random(n) > 0.5
    elif dt.kind == 'S':
        alphabet = b'abcXYZ\x00\xff09'
        flat = np.array([bytes(alphabet[j] for j in rng.integers(0, len(alphabet), size=rng.integers(1, 6)))
                         for _ in range(n)], dtype=dt)
    elif dt.kind == 'U':
        alphabet = 'aZ9\u00e9\u0436\u5b57\U0001f600'
        flat = np.array([''.join(alphabet[j] for j in rng.integers(0, len(alphabet), size=rng.integers(1, 4)))
                         for _ in range(n)], dtype=dt)
    elif dt.kind == 'M':
        flat = rng.integers(-10 ** 18, 10 ** 18, size=n).astype(dt)
    else:
        raise AssertionError(dt)
    return flat.astype(dt).reshape(shape)


def _field_shape(shape):
    """The value's shape with every other dimension replaced by None (a wildcard)."""
    return tuple(None if i % 2 == 0 else d for i, d in enumerate(shape))


def _field(value, codec, name='f', shape=None):
    return UnischemaField(name, value.dtype.type, _field_shape(value.shape) if shape is None else shape,
                          codec, False)


def _np_save(value):
    buf = io.BytesIO()
    np.save(buf, value)
    return buf.getvalue()


def _np_savez(value):
    buf = io.BytesIO()
    np.savez_compressed(buf, arr=value)
    return buf.getvalue()


def _assert_same_array(actual, expected):
    assert isinstance(actual, np.ndarray)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


def _ordered(value, order):
    return np.asfortranarray(value) if order == 'F' else np.ascontiguousarray(value)


# --------------------------------------------------------------------------------------------
# NdarrayCodec: the bytes numpy.save writes
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('order', ['C', 'F'])
@pytest.mark.parametrize('shape', SHAPES, ids=str)
@pytest.mark.parametrize('dtype', ALL_DTYPES, ids=_dtype_id)
def test_ndarray_encode_is_numpy_save(dtype, shape, order):
    value = _ordered(_value(dtype, shape), order)
    codec = NdarrayCodec()
    encoded = codec.encode(_field(value, codec), value)
    assert bytes(encoded) == _np_save(value)


@pytest.mark.parametrize('order', ['C', 'F'])
@pytest.mark.parametrize('shape', SHAPES, ids=str)
@pytest.mark.parametrize('dtype', ALL_DTYPES, ids=_dtype_id)
def test_ndarray_encoded_bytes_load_with_numpy(dtype, shape, order):
    value = _ordered(_value(dtype, shape, seed=1), order)
    codec = NdarrayCodec()
    loaded = np.load(io.BytesIO(bytes(codec.encode(_field(value, codec), value))))
    _assert_same_array(loaded, value)
    assert np.isfortran(loaded) == np.isfortran(value)


@pytest.mark.parametrize('order', ['C', 'F'])
@pytest.mark.parametrize('shape', SHAPES, ids=str)
@pytest.mark.parametrize('dtype', _decode_params(ALL_DTYPES))
def test_ndarray_decodes_numpy_save_bytes(dtype, shape, order):
    value = _ordered(_value(dtype, shape, seed=2), order)
    codec = NdarrayCodec()
    decoded = codec.decode(_field(value, codec), _np_save(value))
    _assert_same_array(decoded, value)
    assert np.isfortran(decoded) == np.isfortran(value)


def test_fortran_order_really_is_exercised():
    # Guards the parametrized tests above: a (2, 3, 4) Fortran array is stored with fortran_order True.
    value = np.asfortranarray(_value(np.int32, (2, 3, 4)))
    codec = NdarrayCodec()
    encoded = bytes(codec.encode(_field(value, codec), value))
    assert b"'fortran_order': True" in encoded
    assert np.isfortran(codec.decode(_field(value, codec), encoded))


def test_ndarray_encode_of_a_strided_view_is_numpy_save():
    value = np.arange(40, dtype=np.float64).reshape(5, 8)[::2, 1::3]
    assert not value.flags.c_contiguous and not value.flags.f_contiguous
    codec = NdarrayCodec()
    assert bytes(codec.encode(_field(value, codec), value)) == _np_save(value)


def test_ndarray_round_trip_through_our_codec():
    value = _value(np.float32, (3, 7))
    codec = NdarrayCodec()
    field = UnischemaField('f', np.float32, (3, None), codec, False)
    _assert_same_array(codec.decode(field, codec.encode(field, value)), value)


def test_ndarray_decode_accepts_bytearray_and_memoryview():
    value = _value(np.int16, (4,))
    codec = NdarrayCodec()
    field = _field(value, codec)
    raw = _np_save(value)
    _assert_same_array(codec.decode(field, bytearray(raw)), value)
    _assert_same_array(codec.decode(field, memoryview(raw)), value)


def test_ndarray_decodes_big_endian_numpy_save_bytes():
    value = np.arange(12, dtype='>i4').reshape(3, 4)
    codec = NdarrayCodec()
    decoded = codec.decode(UnischemaField('f', np.int32, (3, 4), codec, False), _np_save(value))
    np.testing.assert_array_equal(decoded, value)
    assert decoded.dtype.type == np.int32


# --------------------------------------------------------------------------------------------
# CompressedNdarrayCodec: numpy.savez_compressed(f, arr=value)
# --------------------------------------------------------------------------------------------

COMPRESSED_DTYPES = [np.int8, np.uint16, np.int64, np.float32, np.float64, np.complex64, np.bool_,
                     'U3', 'datetime64[ns]']
COMPRESSED_SHAPES = [(), (0,), (7,), (3, 4, 5)]


@pytest.mark.parametrize('order', ['C', 'F'])
@pytest.mark.parametrize('shape', COMPRESSED_SHAPES, ids=str)
@pytest.mark.parametrize('dtype', COMPRESSED_DTYPES, ids=_dtype_id)
def test_compressed_ndarray_bytes_load_with_numpy(dtype, shape, order):
    value = _ordered(_value(dtype, shape, seed=3), order)
    codec = CompressedNdarrayCodec()
    encoded = bytes(codec.encode(_field(value, codec), value))
    with np.load(io.BytesIO(encoded)) as npz:
        assert list(npz.keys()) == ['arr']
        loaded = npz['arr']
    _assert_same_array(loaded, value)
    assert np.isfortran(loaded) == np.isfortran(value)


@pytest.mark.parametrize('order', ['C', 'F'])
@pytest.mark.parametrize('shape', COMPRESSED_SHAPES, ids=str)
@pytest.mark.parametrize('dtype', _decode_params(COMPRESSED_DTYPES))
def test_compressed_ndarray_decodes_numpy_savez_compressed(dtype, shape, order):
    value = _ordered(_value(dtype, shape, seed=4), order)
    codec = CompressedNdarrayCodec()
    decoded = codec.decode(_field(value, codec), _np_savez(value))
    _assert_same_array(decoded, value)


def test_compressed_ndarray_is_a_deflated_zip_and_compresses():
    value = np.zeros((100, 100), dtype=np.float64)
    codec = CompressedNdarrayCodec()
    encoded = bytes(codec.encode(_field(value, codec), value))
    assert len(encoded) < value.nbytes // 10
    with zipfile.ZipFile(io.BytesIO(encoded)) as zf:
        assert zf.namelist() == ['arr.npy']
        assert zf.getinfo('arr.npy').compress_type == zipfile.ZIP_DEFLATED
        assert zf.testzip() is None
        _assert_same_array(np.load(io.BytesIO(zf.read('arr.npy'))), value)


def test_compressed_ndarray_round_trip_through_our_codec():
    value = _value(np.int32, (6, 2))
    codec = CompressedNdarrayCodec()
    field = UnischemaField('f', np.int32, (None, 2), codec, False)
    _assert_same_array(codec.decode(field, codec.encode(field, value)), value)


# --------------------------------------------------------------------------------------------
# CompressedImageCodec: png and jpeg, compared with Pillow
# --------------------------------------------------------------------------------------------

def _pil_decode(data):
    return np.asarray(PIL_Image.open(io.BytesIO(bytes(data))))


def _pil_encode(image, fmt, **kwargs):
    buf = io.BytesIO()
    PIL_Image.fromarray(image).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float('inf') if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _photo_like(h=64, w=96):
    """Smooth gradients plus a few soft blobs, (h, w, 3) uint8; channels differ."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([40 + 150 * x / (w - 1),
                    30 + 120 * y / (h - 1),
                    60 + 80 * (x + y) / (h + w - 2)], axis=-1)
    for cy, cx, sigma, color in [(20, 30, 8, (60, -40, 20)), (45, 70, 10, (-30, 50, -20)),
                                 (50, 15, 6, (20, 20, 60))]:
        blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma * sigma))
        img += blob[..., None] * np.array(color, dtype=np.float64)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _random_image(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True, dtype=dtype)


def _image_field(image, codec, name='img'):
    return UnischemaField(name, image.dtype.type, (None, None) + image.shape[2:], codec, False)


PNG_IMAGES = {
    'gray8': lambda: _random_image((13, 17)),
    'rgb8': lambda: _random_image((13, 17, 3), seed=1),
    'gray16': lambda: _random_image((13, 17), np.uint16, seed=2),
}


@pytest.mark.parametrize('kind', sorted(PNG_IMAGES))
def test_png_is_decoded_by_pillow_exactly(kind):
    image = PNG_IMAGES[kind]()
    codec = CompressedImageCodec('png')
    encoded = bytes(codec.encode(_image_field(image, codec), image))
    assert encoded[:8] == b'\x89PNG\r\n\x1a\n'
    decoded = _pil_decode(encoded)
    assert decoded.shape == image.shape
    np.testing.assert_array_equal(decoded.astype(np.int64), image.astype(np.int64))


@pytest.mark.parametrize('kind', sorted(PNG_IMAGES))
def test_png_from_pillow_is_decoded_exactly(kind):
    image = PNG_IMAGES[kind]()
    codec = CompressedImageCodec('png')
    decoded = codec.decode(_image_field(image, codec), _pil_encode(image, 'PNG'))
    _assert_same_array(decoded, image)


def test_png_rgb_channel_order():
    image = np.zeros((4, 6, 3), np.uint8)
    image[..., 0] = 255                      # pure red ...
    image[2:, :, 2] = 200                    # ... with some blue in the bottom half
    codec = CompressedImageCodec('png')
    field = _image_field(image, codec)
    ours = bytes(codec.encode(field, image))
    np.testing.assert_array_equal(_pil_decode(ours), image)
    np.testing.assert_array_equal(codec.decode(field, _pil_encode(image, 'PNG')), image)
    np.testing.assert_array_equal(codec.decode(field, ours), image)


def test_png_uint16_rgb_round_trip():
    image = _random_image((5, 7, 3), np.uint16, seed=5)
    codec = CompressedImageCodec('png')
    field = _image_field(image, codec)
    _assert_same_array(codec.decode(field, codec.encode(field, image)), image)


def test_jpeg_rgb_is_decoded_by_pillow_with_high_psnr():
    image = _photo_like()
    codec = CompressedImageCodec('jpeg', 95)
    encoded = bytes(codec.encode(_image_field(image, codec), image))
    assert encoded[:2] == b'\xff\xd8'
    decoded = _pil_decode(encoded)
    assert decoded.shape == image.shape
    assert _psnr(decoded, image) > 35


def test_jpeg_rgb_from_pillow_is_decoded_with_high_psnr():
    image = _photo_like()
    codec = CompressedImageCodec('jpeg', 95)
    decoded = codec.decode(_image_field(image, codec), _pil_encode(image, 'JPEG', quality=95))
    assert decoded.dtype == np.uint8 and decoded.shape == image.shape
    assert _psnr(decoded, image) > 35


def test_jpeg_rgb_channel_order():
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 230
    codec = CompressedImageCodec('jpeg', 95)
    field = _image_field(red, codec)
    for decoded in (_pil_decode(codec.encode(field, red)),
                    codec.decode(field, _pil_encode(red, 'JPEG', quality=95)),
                    codec.decode(field, codec.encode(field, red))):
        mean = decoded.reshape(-1, 3).mean(axis=0)
        assert mean[0] > 200 and mean[1] < 40 and mean[2] < 40, mean


def test_jpeg_grayscale_both_ways():
    image = _photo_like()[..., 1].copy()
    codec = CompressedImageCodec('jpeg', 95)
    field = _image_field(image, codec)
    by_pillow = _pil_decode(codec.encode(field, image))
    assert by_pillow.shape == image.shape
    assert _psnr(by_pillow, image) > 35
    ours = codec.decode(field, _pil_encode(image, 'JPEG', quality=95))
    assert ours.dtype == np.uint8 and ours.shape == image.shape
    assert _psnr(ours, image) > 35


def test_jpeg_quality_is_used():
    image = _random_image((32, 32, 3), seed=7)
    field_for = lambda c: _image_field(image, c)  # noqa: E731
    low, high = CompressedImageCodec('jpeg', 10), CompressedImageCodec('jpeg', 95)
    low_bytes = bytes(low.encode(field_for(low), image))
    high_bytes = bytes(high.encode(field_for(high), image))
    assert len(low_bytes) < len(high_bytes)
    assert _psnr(_pil_decode(low_bytes), image) < _psnr(_pil_decode(high_bytes), image)


def test_image_codec_decodes_either_format():
    # Petastorm decodes with cv2.imdecode, which sniffs the format: a png codec reads jpeg too.
    image = _photo_like(16, 24)
    png_codec = CompressedImageCodec('png')
    decoded = png_codec.decode(_image_field(image, png_codec), _pil_encode(image, 'JPEG', quality=95))
    assert decoded.shape == image.shape and _psnr(decoded, image) > 30


def test_image_codec_rejects_a_4_channel_png_on_decode():
    rgba = _random_image((4, 5, 4), seed=3)
    codec = CompressedImageCodec('png')
    with pytest.raises(ValueError):
        codec.decode(UnischemaField('img', np.uint8, (None, None, None), codec, False), _pil_encode(rgba, 'PNG'))


@pytest.mark.parametrize('codec_args, image', [
    (('png',), np.zeros((4, 5, 4), np.uint8)),
    (('png',), np.zeros((4, 5, 1), np.uint8)),
    (('png',), np.zeros((2, 4, 5, 3), np.uint8)),
    (('png',), np.zeros((5,), np.uint8)),
    (('png',), np.zeros((4, 5), np.float32)),
    (('png',), np.zeros((4, 5), np.int16)),
    (('jpeg', 90), np.zeros((4, 5, 4), np.uint8)),
    (('jpeg', 90), np.zeros((4, 5), np.float32)),
    (('jpeg', 90), np.zeros((4, 5), np.uint16)),
], ids=['png-4ch', 'png-1ch', 'png-4d', 'png-1d', 'png-float32', 'png-int16',
        'jpeg-4ch', 'jpeg-float32', 'jpeg-uint16'])
def test_image_codec_rejects_unsupported_images(codec_args, image):
    codec = CompressedImageCodec(*codec_args)
    field = UnischemaField('bad_image', image.dtype.type, image.shape, codec, False)
    with pytest.raises((ValueError, TypeError), match='bad_image'):
        codec.encode(field, image)


@pytest.mark.parametrize('args', [('gif',), ('png', 0), ('jpeg', 101)])
def test_image_codec_rejects_bad_parameters(args):
    codec = CompressedImageCodec(*args)
    image = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError):
        codec.encode(UnischemaField('img', np.uint8, (4, 4), codec, False), image)


# --------------------------------------------------------------------------------------------
# Validation against the field
# --------------------------------------------------------------------------------------------

ARRAY_CODECS = [NdarrayCodec, CompressedNdarrayCodec]


def _encode_reference(codec_class, value):
    return _np_save(value) if codec_class is NdarrayCodec else _np_savez(value)


@pytest.mark.parametrize('codec_class', ARRAY_CODECS)
def test_decode_checks_shape(codec_class):
    codec = codec_class()
    data = _encode_reference(codec_class, np.zeros((3, 4), np.int32))
    with pytest.raises(ValueError, match='my_tensor'):
        codec.decode(UnischemaField('my_tensor', np.int32, (3, 5), codec, False), data)
    with pytest.raises(ValueError, match='my_tensor'):
        codec.decode(UnischemaField('my_tensor', np.int32, (None,), codec, False), data)
    with pytest.raises(ValueError, match='my_tensor'):
        codec.decode(UnischemaField('my_tensor', np.int32, (3, 4, None), codec, False), data)


@pytest.mark.parametrize('codec_class', ARRAY_CODECS)
def test_decode_shape_none_matches_any_size(codec_class):
    codec = codec_class()
    for shape in [(3, 4), (3, 7), (3, 0)]:
        value = _value(np.int32, shape)
        data = _encode_reference(codec_class, value)
        for field_shape in [(3, None), (None, None), (None, shape[1])]:
            decoded = codec.decode(UnischemaField('t', np.int32, field_shape, codec, False), data)
            _assert_same_array(decoded, value)


@pytest.mark.parametrize('codec_class', ARRAY_CODECS)
def test_decode_checks_dtype(codec_class):
    codec = codec_class()
    data = _encode_reference(codec_class, np.zeros((3, 4), np.int32))
    for wrong in (np.int64, np.uint32, np.float32):
        with pytest.raises((ValueError, TypeError), match='my_tensor'):
            codec.decode(UnischemaField('my_tensor', wrong, (3, 4), codec, False), data)


@pytest.mark.parametrize('codec_class', ARRAY_CODECS)
def test_encode_checks_dtype_and_shape(codec_class):
    codec = codec_class()
    field = UnischemaField('my_tensor', np.int32, (3, None), codec, False)
    codec.encode(field, np.zeros((3, 9), np.int32))  # fits
    with pytest.raises((ValueError, TypeError), match='my_tensor'):
        codec.encode(field, np.zeros((3, 4), np.int64))
    with pytest.raises((ValueError, TypeError), match='my_tensor'):
        codec.encode(field, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match='my_tensor'):
        codec.encode(field, np.zeros((4, 4), np.int32))
    with pytest.raises(ValueError, match='my_tensor'):
        codec.encode(field, np.zeros((3,), np.int32))
    with pytest.raises(ValueError, match='my_tensor'):
        codec.encode(field, np.zeros((3, 4, 1), np.int32))


@pytest.mark.parametrize('codec_class', ARRAY_CODECS)
def test_encode_rejects_non_arrays(codec_class):
    codec = codec_class()
    field = UnischemaField('my_tensor', np.int32, (None,), codec, False)
    with pytest.raises((ValueError, TypeError)):
        codec.encode(field, [1, 2, 3])


def test_image_encode_checks_dtype_and_shape():
    codec = CompressedImageCodec('png')
    field = UnischemaField('my_image', np.uint8, (4, None, 3), codec, False)
    codec.encode(field, np.zeros((4, 9, 3), np.uint8))  # fits
    with pytest.raises((ValueError, TypeError), match='my_image'):
        codec.encode(field, np.zeros((4, 9, 3), np.uint16))
    with pytest.raises(ValueError, match='my_image'):
        codec.encode(field, np.zeros((5, 9, 3), np.uint8))
    with pytest.raises(ValueError, match='my_image'):
        codec.encode(field, np.zeros((4, 9), np.uint8))


def test_image_decode_checks_dtype_and_shape():
    codec = CompressedImageCodec('png')
    data = _pil_encode(_random_image((4, 6, 3)), 'PNG')
    with pytest.raises(ValueError, match='my_image'):
        codec.decode(UnischemaField('my_image', np.uint8, (4, 5, 3), codec, False), data)
    with pytest.raises(ValueError, match='my_image'):
        codec.decode(UnischemaField('my_image', np.uint8, (None, None), codec, False), data)
    with pytest.raises((ValueError, TypeError), match='my_image'):
        codec.decode(UnischemaField('my_image', np.uint16, (None, None, 3), codec, False), data)


def _good_bytes():
    image = _photo_like(16, 16)
    array = _value(np.int16, (3, 4, 5))
    npy, npz = NdarrayCodec(), CompressedNdarrayCodec()
    png, jpeg = CompressedImageCodec('png'), CompressedImageCodec('jpeg', 90)
    return {
        'npy': (npy, UnischemaField('x', np.int16, (3, 4, 5), npy, False), _np_save(array)),
        'zip': (npz, UnischemaField('x', np.int16, (3, 4, 5), npz, False), _np_savez(array)),
        'png': (png, UnischemaField('x', np.uint8, (16, 16, 3), png, False), _pil_encode(image, 'PNG')),
        'jpeg': (jpeg, UnischemaField('x', np.uint8, (16, 16, 3), jpeg, False),
                 _pil_encode(image, 'JPEG', quality=90)),
    }


@pytest.mark.parametrize('fmt', ['npy', 'zip', 'png', 'jpeg'])
@pytest.mark.parametrize('damage', ['empty', 'few-bytes', 'half', 'garbage', 'scrambled-tail'])
def test_corrupt_bytes_raise(fmt, damage):
    codec, field, good = _good_bytes()[fmt]
    codec.decode(field, good)  # the intact bytes decode
    if damage == 'empty':
        bad = b''
    elif damage == 'few-bytes':
        bad = good[:7]
    elif damage == 'half':
        bad = good[:len(good) // 2]
    elif damage == 'garbage':
        bad = b'this is not an encoded value at all' * 3
    else:
        tail = bytearray(good)
        for i in range(len(tail) // 2, len(tail)):
            tail[i] ^= 0x5A
        bad = bytes(tail)
    with pytest.raises((ValueError, OSError, EOFError)):
        codec.decode(field, bad)


def test_npy_with_inconsistent_data_length_raises():
    codec = NdarrayCodec()
    good = _np_save(np.arange(10, dtype=np.int64))
    field = UnischemaField('x', np.int64, (None,), codec, False)
    with pytest.raises(ValueError):
        codec.decode(field, good[:-3])


def test_npy_object_array_is_refused():
    # numpy.save pickles object arrays; np.load (allow_pickle=False) refuses them, and so must we.
    buf = io.BytesIO()
    np.save(buf, np.array([{'a': 1}, None], dtype=object), allow_pickle=True)
    codec = NdarrayCodec()
    with pytest.raises((ValueError, TypeError)):
        codec.decode(UnischemaField('x', np.int64, (None,), codec, False), buf.getvalue())


# --------------------------------------------------------------------------------------------
# ScalarCodec and str()
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('spark_type, arrow_type, text', [
    (np.int8, pa.int8(), 'ScalarCodec(ByteType())'),
    (np.int16, pa.int16(), 'ScalarCodec(ShortType())'),
    (np.int32, pa.int32(), 'ScalarCodec(IntegerType())'),
    (np.int64, pa.int64(), 'ScalarCodec(LongType())'),
    (np.float32, pa.float32(), 'ScalarCodec(FloatType())'),
    (np.float64, pa.float64(), 'ScalarCodec(DoubleType())'),
    (np.bool_, pa.bool_(), 'ScalarCodec(BooleanType())'),
    (np.str_, pa.string(), 'ScalarCodec(StringType())'),
    (pa.int32(), pa.int32(), 'ScalarCodec(IntegerType())'),
    (pa.string(), pa.string(), 'ScalarCodec(StringType())'),
    (pa.binary(), pa.binary(), 'ScalarCodec(BinaryType())'),
    (pa.timestamp('us', tz='UTC'), pa.timestamp('us', tz='UTC'), 'ScalarCodec(TimestampType())'),
    (pa.decimal128(10, 9), pa.decimal128(10, 9), None),
], ids=str)
def test_scalar_codec_types(spark_type, arrow_type, text):
    codec = ScalarCodec(spark_type)
    assert codec.arrow_type() == arrow_type
    assert codec._handle.storage_type == arrow_type
    if text is not None:
        assert str(codec) == text


def test_scalar_codec_with_pyspark_types():
    try:
        from pyspark.sql.types import DecimalType, IntegerType
    except ImportError:
        pytest.skip('pyspark is not installed')
    codec = ScalarCodec(IntegerType())
    assert codec.arrow_type() == pa.int32()
    assert str(codec) == 'ScalarCodec(IntegerType())'
    assert codec.spark_dtype() == IntegerType()
    dec = ScalarCodec(DecimalType(10, 9))
    assert dec.arrow_type() == pa.decimal128(10, 9)
    assert dec.spark_dtype() == DecimalType(10, 9)


def test_scalar_codec_rejects_non_types():
    with pytest.raises(ValueError):
        ScalarCodec(object())


def test_scalar_codec_encode_and_decode():
    int_codec = ScalarCodec(np.int32)
    field = UnischemaField('my_count', np.int32, (), int_codec, False)
    encoded = int_codec.encode(field, np.int32(7))
    assert encoded == 7 and type(encoded) is int
    assert int_codec.encode(field, np.array(5)) == 5
    with pytest.raises(TypeError, match='my_count'):
        int_codec.encode(field, np.array([1, 2]))
    with pytest.raises(ValueError):
        int_codec.encode(UnischemaField('my_count', np.int32, (2,), int_codec, False), 1)
    decoded = int_codec.decode(field, 7)
    assert decoded == 7 and type(decoded) is np.int32

    str_codec = ScalarCodec(pa.string())
    str_field = UnischemaField('my_text', np.str_, (), str_codec, False)
    assert str_codec.encode(str_field, 'abc') == 'abc'
    with pytest.raises(ValueError, match='my_text'):
        str_codec.encode(str_field, b'abc')


@pytest.mark.parametrize('codec, text', [
    (NdarrayCodec(), 'NdarrayCodec()'),
    (CompressedNdarrayCodec(), 'CompressedNdarrayCodec()'),
    (CompressedImageCodec(), "CompressedImageCodec('png', 80)"),
    (CompressedImageCodec('png', 80), "CompressedImageCodec('png', 80)"),
    (CompressedImageCodec('jpeg', 95), "CompressedImageCodec('jpeg', 95)"),
    (ScalarCodec(np.int32), 'ScalarCodec(IntegerType())'),
], ids=str)
def test_codec_str(codec, text):
    assert str(codec) == text


def test_image_codec_attributes():
    codec = CompressedImageCodec('jpeg', 42)
    assert codec.image_codec == 'jpeg'
    assert codec._image_codec == '.jpeg'
    assert codec._quality == 42


# --------------------------------------------------------------------------------------------
# Datasets: built-in codecs and a codec written in Python
# --------------------------------------------------------------------------------------------

class ShapeHeaderCodec(DataframeColumnCodec):
    """Stores an array as <ndim:u8><dims:int64...><raw bytes of (value + offset)>."""

    def __init__(self, offset=0.0, tag='shape-header'):
        self.offset = offset
        self.tag = tag

    def encode(self, unischema_field, value):
        value = np.ascontiguousarray(value + np.asarray(self.offset, dtype=value.dtype))
        header = struct.pack('<B', value.ndim) + struct.pack('<{}q'.format(value.ndim), *value.shape)
        return header + value.tobytes()

    def decode(self, unischema_field, value):
        value = bytes(value)
        ndim = value[0]
        shape = struct.unpack_from('<{}q'.format(ndim), value, 1)
        array = np.frombuffer(value[1 + 8 * ndim:], dtype=unischema_field.numpy_dtype).reshape(shape)
        return array - np.asarray(self.offset, dtype=array.dtype)

    def params(self):
        return {'offset': self.offset, 'tag': self.tag}


def test_custom_codec_round_trip_through_a_dataset(tmp_path):
    codec = ShapeHeaderCodec(offset=1000.0, tag='t1')
    schema = Unischema('CustomSchema', [
        UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
        UnischemaField('matrix', np.float32, (None, 2), codec, False),
    ])
    rows = [{'id': np.int32(i), 'matrix': (np.arange(2 * (i + 1), dtype=np.float32) * 0.5).reshape(-1, 2)}
            for i in range(5)]
    url = 'file://' + str(tmp_path / 'custom')
    assert petastorm.write_dataset(url, schema, rows) == 5

    # The stored metadata names the codec and its params (no pickle).
    stored = json.loads(schema.to_json())
    stored_codec = stored['fields'][1]['codec']
    assert stored_codec['name'] == ShapeHeaderCodec.codec_name()
    assert stored_codec['params'] == {'offset': 1000.0, 'tag': 't1'}

    with petastorm.make_reader(url) as reader:
        read_codec = reader.schema.fields['matrix'].codec
        assert isinstance(read_codec, ShapeHeaderCodec)
        assert read_codec.params() == {'offset': 1000.0, 'tag': 't1'}
        got = sorted(reader, key=lambda r: int(r.id))
    assert [int(r.id) for r in got] == list(range(5))
    for row, expected in zip(got, rows):
        _assert_same_array(row.matrix, expected['matrix'])


def test_builtin_codecs_round_trip_through_a_dataset(tmp_path):
    image = _photo_like(16, 24)
    schema = Unischema('Builtin', [
        UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
        UnischemaField('dec', Decimal, (), ScalarCodec(pa.decimal128(10, 9)), False),
        UnischemaField('arr', np.float64, (None, 3), NdarrayCodec(), False),
        UnischemaField('carr', np.uint16, (4,), CompressedNdarrayCodec(), False),
        UnischemaField('png', np.uint8, (16, 24, 3), CompressedImageCodec('png'), False),
        UnischemaField('jpg', np.uint8, (16, 24, 3), CompressedImageCodec('jpeg', 95), False),
    ])
    rows = [{'id': i, 'dec': Decimal('0.{}23456789'.format(i)), 'arr': _value(np.float64, (i + 1, 3), seed=i),
             'carr': _value(np.uint16, (4,), seed=i), 'png': image, 'jpg': image} for i in range(3)]
    url = str(tmp_path / 'builtin')
    petastorm.write_dataset(url, schema, rows)
    with petastorm.make_reader(url) as reader:
        got = sorted(reader, key=lambda r: int(r.id))
    assert len(got) == 3
    for row, expected in zip(got, rows):
        assert row.dec == expected['dec']
        _assert_same_array(row.arr, expected['arr'])
        _assert_same_array(row.carr, expected['carr'])
        _assert_same_array(row.png, image)
        assert row.jpg.shape == image.shape and _psnr(row.jpg, image) > 35


def test_custom_codec_is_freed_when_unreferenced():
    codec = ShapeHeaderCodec(offset=1.0)
    field = UnischemaField('m', np.float32, (None,), codec, False)
    codec._handle.encode(_field_to_core(field), np.zeros(3, np.float32))  # the core calls the codec
    ref = weakref.ref(codec)
    del codec, field
    gc.collect()
    assert ref() is None


_CUSTOM_CODEC_ERROR_SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import petastorm
    from petastorm.codecs import DataframeColumnCodec, ScalarCodec
    from petastorm.unischema import Unischema, UnischemaField

    class CodecBoom(Exception):
        pass

    class FailingCodec(DataframeColumnCodec):
        def __init__(self, fail_on='decode'):
            self.fail_on = fail_on
        def encode(self, unischema_field, value):
            if self.fail_on == 'encode':
                raise CodecBoom('encode failed for ' + unischema_field.name + ' #42')
            return value.tobytes()
        def decode(self, unischema_field, value):
            if self.fail_on == 'decode':
                raise CodecBoom('decode failed for ' + unischema_field.name + ' #42')
            return np.frombuffer(bytes(value), dtype=unischema_field.numpy_dtype)
        def params(self):
            return {'fail_on': self.fail_on}

    fail_on, url = sys.argv[1], sys.argv[2]
    schema = Unischema('S', [UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
                             UnischemaField('blob', np.uint8, (None,), FailingCodec(fail_on), False)])
    rows = [{'id': i, 'blob': np.arange(i + 1, dtype=np.uint8)} for i in range(3)]
    try:
        petastorm.write_dataset(url, schema, rows)
        with petastorm.make_reader(url) as reader:
            list(reader)
    except CodecBoom as e:
        print('CAUGHT', type(e).__name__, str(e))
        sys.exit(0)
    except BaseException as e:
        print('WRONG', type(e).__name__, str(e))
        sys.exit(3)
    print('NO EXCEPTION')
    sys.exit(4)
''')


@pytest.mark.parametrize('fail_on', ['decode', 'encode'])
def test_custom_codec_exception_reaches_the_caller(tmp_path, fail_on):
    # In a subprocess: a crash must fail this test, not kill the test run.
    script = tmp_path / 'failing_codec.py'
    script.write_text(_CUSTOM_CODEC_ERROR_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), fail_on, str(tmp_path / 'ds')],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout.strip() == 'CAUGHT CodecBoom {} failed for blob #42'.format(fail_on)
