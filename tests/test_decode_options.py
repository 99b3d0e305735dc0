"""decode_options: CompressedImageCodec fields decoded smaller (JPEG scaled in the DCT domain by
TurboJPEG, a crop window), checked pixel for pixel against TurboJPEG's own scaled output, which
is obtained here through ctypes on libturbojpeg.so.0 from the cells pyarrow reads, not through
petastorm's code."""
import ctypes

import numpy as np
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader, write_dataset
from petastorm.codecs import CompressedImageCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

ROWS = 12
Schema = Unischema('DecodeSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
    UnischemaField('rgb', np.uint8, (64, 90, 3), CompressedImageCodec('jpeg', 90), False),
    UnischemaField('gray', np.uint8, (None, None), CompressedImageCodec('jpeg', 90), False),
    UnischemaField('png', np.uint8, (16, 24, 3), CompressedImageCodec('png'), False),
])


def _image(rng, shape):
    # Smooth with some noise: JPEG-like content, different in every row.
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    base = (x * 255 // shape[1] + y * 128 // shape[0])[..., None] if len(shape) == 3 else \
        (x * 255 // shape[1] + y * 128 // shape[0])
    noise = rng.integers(0, 40, size=shape)
    return ((base + noise) % 256).astype(np.uint8)


@pytest.fixture(scope='module')
def jpeg_url(tmp_path_factory):
    path = tmp_path_factory.mktemp('decode_options') / 'ds'
    rows = []
    for i in range(ROWS):
        rng = np.random.default_rng(i)
        rows.append({'id': i, 'rgb': _image(rng, (64, 90, 3)), 'gray': _image(rng, (40 + i, 50)),
                     'png': _image(rng, (16, 24, 3))})
    write_dataset('file://' + str(path), Schema, rows, rows_per_rowgroup=4)
    return 'file://' + str(path)


def _cells(url, column):
    """{id: the stored bytes of `column`}, read with pyarrow."""
    table = pq.read_table(url[len('file://'):], columns=['id', column])
    return dict(zip(table.column('id').to_pylist(), table.column(column).to_pylist()))


_TJPF_RGB, _TJPF_GRAY = 0, 6


def _turbojpeg():
    lib = ctypes.CDLL('libturbojpeg.so.0')
    lib.tjInitDecompress.restype = ctypes.c_void_p
    lib.tjDestroy.argtypes = [ctypes.c_void_p]
    lib.tjDecompressHeader3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong] + \
        [ctypes.POINTER(ctypes.c_int)] * 4
    lib.tjDecompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p,
                                  ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    return lib


def turbojpeg_scaled(data, num, den):
    """TurboJPEG's decode of `data` at num/den (its TJSCALED sizes), called through ctypes."""
    lib = _turbojpeg()
    handle = lib.tjInitDecompress()
    assert handle
    try:
        w, h, subsampling, colorspace = (ctypes.c_int() for _ in range(4))
        assert lib.tjDecompressHeader3(handle, data, len(data), ctypes.byref(w), ctypes.byref(h),
                                       ctypes.byref(subsampling), ctypes.byref(colorspace)) == 0
        gray = colorspace.value == 2  # TJCS_GRAY
        width, height = (w.value * num + den - 1) // den, (h.value * num + den - 1) // den
        out = np.empty((height, width) if gray else (height, width, 3), np.uint8)
        assert lib.tjDecompress2(handle, data, len(data), out.ctypes.data, width, 0, height,
                                 _TJPF_GRAY if gray else _TJPF_RGB, 0) == 0
        return out
    finally:
        lib.tjDestroy(handle)


@pytest.mark.parametrize('scale', [(1, 2), (1, 4), (1, 8), (3, 4)])
def test_scaled_jpeg_equals_turbojpegs_own_scaled_output(jpeg_url, scale):
    rgb, gray = _cells(jpeg_url, 'rgb'), _cells(jpeg_url, 'gray')
    num, den = scale
    with make_reader(jpeg_url, reader_pool_type='dummy', shuffle_row_groups=False,
                     decode_options={'rgb': {'scale': scale}, 'gray': {'scale': scale}}) as reader:
        assert reader.schema.rgb.shape == ((64 * num + den - 1) // den, (90 * num + den - 1) // den, 3)
        assert reader.schema.gray.shape == (None, None)
        assert reader.schema.png.shape == (16, 24, 3)
        rows = list(reader)
    assert [r.id for r in rows] == list(range(ROWS))
    for row in rows:
        np.testing.assert_array_equal(row.rgb, turbojpeg_scaled(rgb[row.id], num, den))
        expected_gray = turbojpeg_scaled(gray[row.id], num, den)
        assert row.gray.shape == ((40 + row.id) * num // den + ((40 + row.id) * num % den > 0), 50 * num // den +
                                  (50 * num % den > 0))
        np.testing.assert_array_equal(row.gray, expected_gray)


def test_a_crop_is_a_window_of_the_scaled_image(jpeg_url):
    rgb = _cells(jpeg_url, 'rgb')
    with make_reader(jpeg_url, reader_pool_type='dummy', schema_fields=['id', 'rgb'],
                     decode_options={'rgb': {'scale': (1, 2), 'crop': (5, 3, 20, 16)}}) as reader:
        assert reader.schema.rgb.shape == (16, 20, 3)
        assert str(reader.schema.rgb.codec) == \
            "CompressedImageCodec('jpeg', 90, decode_scale=(1, 2), decode_crop=(5, 3, 20, 16))"
        rows = list(reader)
    assert len(rows) == ROWS
    for row in rows:
        np.testing.assert_array_equal(row.rgb, turbojpeg_scaled(rgb[row.id], 1, 2)[3:19, 5:25])


def test_batch_reader_and_process_pool(jpeg_url):
    rgb = _cells(jpeg_url, 'rgb')
    with make_batch_reader(jpeg_url, reader_pool_type='thread', workers_count=2, shuffle_row_groups=False,
                           schema_fields=['id', 'rgb'], decode_options={'rgb': {'scale': (1, 2)}}) as reader:
        assert reader.schema.rgb.shape == (32, 45, 3)
        batches = list(reader)
    ids = np.concatenate([b.id for b in batches])
    images = np.concatenate([b.rgb for b in batches])
    assert list(ids) == list(range(ROWS)) and images.shape == (ROWS, 32, 45, 3)
    for i, image in zip(ids, images):
        np.testing.assert_array_equal(image, turbojpeg_scaled(rgb[i], 1, 2))

    with make_reader(jpeg_url, reader_pool_type='process', workers_count=2, seed=3,
                     decode_options={'rgb': {'scale': (1, 4)}, 'gray': {'scale': [1, 8]}}) as reader:
        assert reader.schema.rgb.shape == (16, 23, 3)
        rows = list(reader)
    gray = _cells(jpeg_url, 'gray')
    assert sorted(r.id for r in rows) == list(range(ROWS))
    for row in rows:
        np.testing.assert_array_equal(row.rgb, turbojpeg_scaled(rgb[row.id], 1, 4))
        np.testing.assert_array_equal(row.gray, turbojpeg_scaled(gray[row.id], 1, 8))


def test_png_has_no_scaled_decoding_but_crops(jpeg_url):
    with pytest.raises(ValueError, match=r"Field 'png' \(CompressedImageCodec\('png', 80\)\): PNG has no scaled "
                                         r'decoding'):
        make_reader(jpeg_url, decode_options={'png': {'scale': (1, 2)}})
    with make_reader(jpeg_url, reader_pool_type='dummy', schema_fields=['id', 'png']) as reader:
        full = {r.id: r.png for r in reader}
    with make_reader(jpeg_url, reader_pool_type='dummy', schema_fields=['id', 'png'],
                     decode_options={'png': {'crop': (4, 2, 8, 10)}}) as reader:
        assert reader.schema.png.shape == (10, 8, 3)
        cropped = {r.id: r.png for r in reader}
    assert sorted(cropped) == list(range(ROWS))
    for i, image in cropped.items():
        np.testing.assert_array_equal(image, full[i][2:12, 4:12])


def test_bad_decode_options_are_value_errors_naming_the_field(jpeg_url):
    with pytest.raises(ValueError, match="'rbg', which schema 'DecodeSchema' does not have"):
        make_reader(jpeg_url, decode_options={'rbg': {'scale': (1, 2)}})
    with pytest.raises(ValueError, match=r"Field 'rgb'.*1/3 is not one TurboJPEG offers: .*1/2.*1/4.*1/8"):
        make_reader(jpeg_url, decode_options={'rgb': {'scale': (1, 3)}})
    with pytest.raises(ValueError, match=r"'rgb': 'scale' must be \(num, den\), one of .*\(1, 2\)"):
        make_reader(jpeg_url, decode_options={'rgb': {'scale': 0.5}})
    with pytest.raises(ValueError, match=r"field 'rgb': unknown option\(s\) 'size'"):
        make_reader(jpeg_url, decode_options={'rgb': {'size': (32, 32)}})
    with pytest.raises(ValueError, match="'gray', which is not among the fields read"):
        make_reader(jpeg_url, schema_fields=['id', 'rgb'], decode_options={'gray': {'scale': (1, 2)}})
    with pytest.raises(ValueError, match=r"Field 'id'.*apply to CompressedImageCodec only"):
        make_batch_reader(jpeg_url, decode_options={'id': {'scale': (1, 2)}})
    with pytest.raises(ValueError, match=r"Field 'rgb'.*crop window .* is outside the field's images, of shape "
                                         r'\(32, 45, 3\)'):
        make_reader(jpeg_url, decode_options={'rgb': {'scale': (1, 2), 'crop': (40, 0, 10, 10)}})
    with pytest.raises(ValueError, match='decode_options must be a dict'):
        make_reader(jpeg_url, decode_options=[('rgb', (1, 2))])
    # An image of unknown size: the crop is checked when each image is decoded.
    with make_reader(jpeg_url, reader_pool_type='dummy', schema_fields=['id', 'gray'],
                     decode_options={'gray': {'scale': (1, 2), 'crop': (0, 0, 10, 30)}}) as reader:
        with pytest.raises(ValueError, match=r"Decoding field 'gray'.*outside the image, which is \d+x25 \(HxW\) "
                                             r'at scale 1/2'):
            next(reader)


def test_batched_data_loader_gets_the_scaled_images(jpeg_url):
    torch = pytest.importorskip('torch')
    from petastorm.pytorch import BatchedDataLoader
    rgb = _cells(jpeg_url, 'rgb')
    reader = make_reader(jpeg_url, reader_pool_type='dummy', schema_fields=['id', 'rgb'],
                         decode_options={'rgb': {'scale': (1, 2)}})
    with BatchedDataLoader(reader, batch_size=5) as loader:
        batches = list(loader)
    assert [tuple(b['rgb'].shape) for b in batches] == [(5, 32, 45, 3), (5, 32, 45, 3), (2, 32, 45, 3)]
    for batch in batches:
        assert batch['rgb'].dtype == torch.uint8
        for i, image in zip(batch['id'].tolist(), batch['rgb'].numpy()):
            np.testing.assert_array_equal(image, turbojpeg_scaled(rgb[i], 1, 2))


def test_the_local_disk_cache_keeps_scaled_row_groups_apart(jpeg_url, tmp_path):
    rgb = _cells(jpeg_url, 'rgb')
    cache = dict(cache_type='local-disk', cache_location=str(tmp_path / 'cache'), cache_size_limit=10 ** 8,
                 cache_row_size_estimate=1000, cache_extra_settings={'cleanup': False})
    for scale in [(1, 1), (1, 2), (1, 4), (1, 2)]:
        with make_reader(jpeg_url, reader_pool_type='dummy', schema_fields=['id', 'rgb'],
                         decode_options={'rgb': {'scale': scale}}, **cache) as reader:
            rows = list(reader)
        assert len(rows) == ROWS
        for row in rows:
            np.testing.assert_array_equal(row.rgb, turbojpeg_scaled(rgb[row.id], *scale))
