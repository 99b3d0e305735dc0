"""make_map_dataset: random access equals sequential content, for every index."""
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler

from petastorm import make_map_dataset, make_reader
from petastorm.codecs import CompressedImageCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField
from petastorm import write_dataset


def _sequential_rows(url):
    with make_reader(url, shuffle_row_groups=False, workers_count=1) as reader:
        return [row._asdict() for row in reader]


def _assert_row_equal(got, expected):
    assert list(got) == list(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        if isinstance(expected[name], np.ndarray):
            assert got[name].dtype == expected[name].dtype and got[name].shape == expected[name].shape


def test_every_index_equals_sequential_read(hello_world_dataset):
    url, _, _ = hello_world_dataset
    expected = _sequential_rows(url)
    ds = make_map_dataset(url, workers_count=2)
    assert len(ds) == len(expected) == 50
    for i in range(len(ds)):
        _assert_row_equal(ds[i], expected[i])
    for i in range(1, len(ds) + 1):
        assert ds[-i]['id'] == expected[-i]['id']


def test_batches_lists_arrays_and_slices(hello_world_dataset):
    url, _, _ = hello_world_dataset
    expected = _sequential_rows(url)
    ds = make_map_dataset(url, schema_fields=['id', 'image1'], cache_row_groups=2)
    for index in ([49, 0, 17, 17, 8, -1], np.array([3, 40, 2], dtype=np.int32), slice(5, 30, 3), slice(None, None, -7)):
        rows = list(range(50))[index] if isinstance(index, slice) else [i % 50 for i in list(index)]
        batch = ds[index]
        assert list(batch) == ['id', 'image1']
        np.testing.assert_array_equal(batch['id'], [expected[i]['id'] for i in rows])
        np.testing.assert_array_equal(batch['image1'], np.stack([expected[i]['image1'] for i in rows]))
    assert ds[[]]['id'].shape == (0,)
    assert ds.cache_stats['cached_row_groups'] <= 2


def test_out_of_range_and_bad_index_types(id_vec_url):
    ds = make_map_dataset(id_vec_url)
    assert len(ds) == 230
    with pytest.raises(IndexError, match='row index 230 out of range for a dataset of 230 rows'):
        ds[230]
    with pytest.raises(IndexError, match='-231'):
        ds[-231]
    with pytest.raises(IndexError, match='out of range'):
        ds[[0, 5, 1000]]
    for bad in ('a', 1.5, None, True, [0.5, 1.0], [[1, 2]]):
        with pytest.raises(TypeError, match='MapDataset indexes'):
            ds[bad]
    with pytest.raises(ValueError, match='workers_count'):
        make_map_dataset(id_vec_url, workers_count=0)


def test_locate_from_footers(id_vec_url):
    ds = make_map_dataset(id_vec_url)
    assert ds.locate(0) == (0, 0)
    assert ds.locate(57) == (5, 7)
    assert ds.locate(-1) == (22, 9)


def _write_plain(path, write_page_index):
    ids = np.arange(300, dtype=np.int64)
    table = pa.table({'id': ids, 'x': (ids * 0.5).astype(np.float32),
                      'name': ['n{}'.format(i) if i % 7 else None for i in ids]})
    path.mkdir()
    # Two files, row groups of 40 rows, pages of about 10 rows.
    for part, (lo, hi) in enumerate(((0, 130), (130, 300))):
        pq.write_table(table.slice(lo, hi - lo), str(path / 'part-{}.parquet'.format(part)), row_group_size=40,
                       data_page_size=64, write_batch_size=10, write_page_index=write_page_index)
    return table


@pytest.mark.parametrize('write_page_index', [False, True])
def test_plain_parquet_every_index_with_and_without_page_index(tmp_path, write_page_index):
    path = tmp_path / 'plain'
    table = _write_plain(path, write_page_index)
    metadata = pq.ParquetFile(str(path / 'part-0.parquet')).metadata
    assert metadata.row_group(0).column(0).has_offset_index == write_page_index
    expected = table.to_pydict()
    ds = make_map_dataset('file://' + str(path), workers_count=3)
    assert len(ds) == 300
    for i in range(300):
        row = ds[i]
        assert (row['id'], row['x'], row['name']) == (expected['id'][i], expected['x'][i], expected['name'][i])
    order = np.random.default_rng(0).permutation(300)
    batch = ds[order]
    np.testing.assert_array_equal(batch['id'], order)
    np.testing.assert_array_equal(batch['x'], (order * 0.5).astype(np.float32))
    assert list(batch['name']) == [expected['name'][i] for i in order]
    assert list(make_map_dataset('file://' + str(path), schema_fields=['x'])[[1, 2]]) == ['x']


def test_pickles_and_reopens(id_vec_url):
    ds = make_map_dataset(id_vec_url, schema_fields=['vec'])
    copy = pickle.loads(pickle.dumps(ds))
    assert len(copy) == 230
    np.testing.assert_array_equal(copy[12]['vec'], [12, -12])


def test_dataloader_workers_and_samplers(id_vec_url):
    ds = make_map_dataset(id_vec_url)
    weights = [1.0 if i % 2 else 0.0 for i in range(len(ds))]  # odd rows only
    sampler = WeightedRandomSampler(weights, num_samples=100, replacement=True,
                                    generator=torch.Generator().manual_seed(1))
    batches = list(DataLoader(ds, batch_size=16, sampler=sampler, num_workers=2))
    ids = torch.cat([b['id'] for b in batches])
    assert len(ids) == 100 and bool((ids % 2 == 1).all())
    for b in batches:
        torch.testing.assert_close(b['vec'], torch.stack([b['id'].float(), -b['id'].float()], dim=1))

    seen = []
    for rank in range(3):
        sampler = DistributedSampler(ds, num_replicas=3, rank=rank, shuffle=True, seed=4)
        seen.append(torch.cat([b['id'] for b in DataLoader(ds, batch_size=32, sampler=sampler, num_workers=2)]))
        assert seen[-1].tolist() == list(sampler)  # the sampler's order, row i is id i
    everything = torch.cat(seen).tolist()
    assert len(everything) == 231 and set(everything) == set(range(230))  # padded to 3 x 77


def test_dataloader_without_batching_and_getitems(id_vec_url):
    ds = make_map_dataset(id_vec_url)
    rows = ds.__getitems__([5, 3, 5])
    assert [r['id'] for r in rows] == [5, 3, 5]
    items = list(DataLoader(ds, batch_size=None, sampler=[7, 1], num_workers=0))
    assert [int(item['id']) for item in items] == [7, 1]


JpegSchema = Unischema('JpegSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(np.int32), False),
    UnischemaField('image', np.uint8, (32, 48, 3), CompressedImageCodec('jpeg'), False),
])


def test_jpeg_rows_decode_as_the_reader_does(tmp_path):
    rng = np.random.default_rng(2)
    url = 'file://' + str(tmp_path / 'jpeg')
    write_dataset(url, JpegSchema, [{'id': i, 'image': rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)}
                                    for i in range(30)], rows_per_rowgroup=7)
    expected = _sequential_rows(url)
    ds = make_map_dataset(url)
    for i in np.random.default_rng(3).permutation(30):
        _assert_row_equal(ds[int(i)], expected[i])
