"""The PyTorch loaders take what a TransformSpec returns: torch tensors, numpy arrays, scalars,
strings and Decimals, batched as Petastorm's decimal_friendly_collate does; errors stay short."""
import collections
import decimal
import re

import numpy as np
import pyarrow as pa
import pytest
import torch

from petastorm import TransformSpec, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.pytorch import BatchedDataLoader, DataLoader, decimal_friendly_collate
from petastorm.unischema import Unischema, UnischemaField

MnistSchema = Unischema('MnistSchema', [
    UnischemaField('idx', np.int64, (), ScalarCodec(pa.int64()), False),
    UnischemaField('digit', np.int64, (), ScalarCodec(pa.int64()), False),
    UnischemaField('image', np.uint8, (28, 28), NdarrayCodec(), False),
])
ROWS = 50


def _image(i):
    return ((np.arange(28 * 28).reshape(28, 28) + i) % 256).astype(np.uint8)


@pytest.fixture(scope='module')
def mnist_url(tmp_path_factory):
    path = tmp_path_factory.mktemp('mnist') / 'train'
    write_dataset(str(path), MnistSchema, [{'idx': i, 'digit': i % 10, 'image': _image(i)} for i in range(ROWS)],
                  rows_per_rowgroup=20)
    return 'file://' + str(path)


def _transform_row(mnist_row):
    # The original repository's examples/mnist/pytorch_example.py transform, with torch ops in place
    # of torchvision's ToTensor() + Normalize((0.1307,), (0.3081,)).
    image = torch.from_numpy(mnist_row['image'].astype(np.float32) / 255.0).unsqueeze(0)
    return {'image': (image - 0.1307) / 0.3081, 'digit': mnist_row['digit']}


def _expected_image(i):
    return (torch.from_numpy(_image(i).astype(np.float32) / 255.0).unsqueeze(0) - 0.1307) / 0.3081


@pytest.mark.parametrize('pool', ['thread', 'dummy', 'process'])
@pytest.mark.parametrize('loader_class', [DataLoader, BatchedDataLoader])
def test_the_mnist_example_transform(mnist_url, pool, loader_class):
    transform = TransformSpec(_transform_row, removed_fields=['idx'])
    reader = make_reader(mnist_url, num_epochs=1, transform_spec=transform, seed=1, shuffle_rows=True,
                         reader_pool_type=pool, workers_count=2)
    seen = []
    with loader_class(reader, batch_size=16) as loader:
        for batch in loader:
            assert set(batch) == {'image', 'digit'}
            assert batch['image'].dtype == torch.float32 and batch['image'].shape[1:] == (1, 28, 28)
            assert batch['digit'].dtype == torch.int64
            for image, digit in zip(batch['image'], batch['digit']):
                matches = [i for i in range(ROWS) if i % 10 == int(digit) and torch.equal(image, _expected_image(i))]
                assert len(matches) == 1
                seen.append(matches[0])
    assert sorted(seen) == list(range(ROWS))


def _mixed(row):
    i = int(row['idx'])
    return {'idx': torch.tensor(i), 'digit': np.int64(i % 10), 'image': torch.full((2, 3), float(i)),
            'name': 'row-{}'.format(i), 'price': decimal.Decimal(i) / 4, 'flag': bool(i % 2), 'count': np.array(i * 2)}


MIXED = TransformSpec(_mixed, edit_fields=[('image', np.float32, (2, 3), False), ('name', np.str_, (), False),
                                           ('price', decimal.Decimal, (), False), ('flag', np.bool_, (), False),
                                           ('count', np.int64, (), False)])


def test_batches_equal_decimal_friendly_collate_of_the_rows(mnist_url):
    with make_reader(mnist_url, transform_spec=MIXED, workers_count=1, shuffle_row_groups=False) as reader:
        rows = [r._asdict() for r in reader]
    with DataLoader(make_reader(mnist_url, transform_spec=MIXED, workers_count=1, shuffle_row_groups=False),
                    batch_size=8) as loader:
        batches = list(loader)
    assert len(batches) == 7
    for k, batch in enumerate(batches):
        expected = decimal_friendly_collate(rows[k * 8:(k + 1) * 8])
        assert set(batch) == set(expected)
        for name, value in expected.items():
            if isinstance(value, torch.Tensor):
                assert isinstance(batch[name], torch.Tensor), name
                assert batch[name].shape == value.shape, name
                assert torch.equal(batch[name].to(value.dtype), value), name
            else:
                assert batch[name] == value, name
    assert batches[0]['name'][:2] == ['row-0', 'row-1']
    assert batches[0]['price'][:3] == [decimal.Decimal(0), decimal.Decimal('0.25'), decimal.Decimal('0.5')]
    assert batches[0]['image'].shape == (8, 2, 3)


def test_arrays_for_a_field_the_schema_calls_scalar_are_stacked(mnist_url):
    spec = TransformSpec(lambda row: {'digit': torch.ones(1, 4, 4) * int(row['digit']), 'idx': row['idx']},
                         removed_fields=['image'])
    with BatchedDataLoader(make_reader(mnist_url, transform_spec=spec, workers_count=1,
                                       shuffle_row_groups=False), batch_size=5) as loader:
        batch = next(iter(loader))
    assert batch['digit'].shape == (5, 1, 4, 4)
    assert [int(d[0, 0, 0]) for d in batch['digit']] == [0, 1, 2, 3, 4]


def test_errors_describe_values_by_type_and_shape(mnist_url):
    spec = TransformSpec(lambda row: {'digit': torch.ones(int(row['idx']) % 3 + 1000), 'idx': row['idx']},
                         removed_fields=['image'])
    with pytest.raises(TypeError) as info:
        with DataLoader(make_reader(mnist_url, transform_spec=spec, workers_count=1), batch_size=5) as loader:
            next(iter(loader))
    message = str(info.value)
    assert "'digit'" in message and re.search(r'shape \(100[012],\)', message) and len(message) < 400, message

    Row = collections.namedtuple('Row', ['x', 'y'])

    class RowsOnly(object):
        """A reader that only iterates rows (as ReaderMock and users' readers do)."""

        def __iter__(self):
            for i in range(6):
                yield Row(x=torch.full((50, 50), float(i)), y=object() if i == 3 else i)

    with pytest.raises(TypeError) as info:
        list(DataLoader(RowsOnly(), batch_size=6))
    message = str(info.value)
    assert 'y' in message and 'object' in message and len(message) < 300, message

    class TensorRows(object):
        def __iter__(self):
            for i in range(6):
                yield Row(x=torch.full((2, 2), float(i)), y=torch.tensor(i))

    batch = next(iter(DataLoader(TensorRows(), batch_size=6)))
    assert batch['x'].shape == (6, 2, 2) and batch['y'].tolist() == list(range(6))
