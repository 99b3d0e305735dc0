"""BatchedDataLoader(pin_memory=..., device=...): the CPU path here, the CUDA path where a GPU is."""
import numpy as np
import pytest

from petastorm import make_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.pytorch import BatchedDataLoader
from petastorm.unischema import Unischema, UnischemaField

torch = pytest.importorskip('torch')

Schema = Unischema('HandOffSchema', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('name', np.str_, ()),
    UnischemaField('vec', np.float32, (4,), NdarrayCodec()),
])


@pytest.fixture(scope='module')
def url(tmp_path_factory):
    path = tmp_path_factory.mktemp('hand_off') / 'ds'
    write_dataset(str(path), Schema, [{'id': i, 'name': 'n%d' % i, 'vec': np.full(4, i, np.float32)}
                                      for i in range(300)], rows_per_rowgroup=50)
    return 'file://' + str(path)


def _loader(url, **kwargs):
    return BatchedDataLoader(make_reader(url, reader_pool_type='dummy', seed=2), batch_size=32,
                             shuffling_queue_capacity=40, **kwargs)


def _plain(batches):
    return [(b['id'].cpu().tolist(), b['name'], b['vec'].cpu().tolist()) for b in batches]


def test_pin_memory_without_an_accelerator_warns_and_gives_the_same_batches(url):
    if torch.cuda.is_available():
        pytest.skip('an accelerator is present: pin_memory pins (test_cuda_device_copies_one_batch_ahead)')
    with _loader(url) as loader:
        expected = _plain(loader)
    with _loader(url, pin_memory=True) as loader:
        with pytest.warns(UserWarning, match='no accelerator'):
            got = list(loader)
    assert _plain(got) == expected
    assert not any(b['id'].is_pinned() for b in got)


def test_device_cpu(url):
    with _loader(url) as loader:
        expected = _plain(loader)
    with _loader(url, device='cpu') as loader:
        got = list(loader)
    assert all(b['vec'].device.type == 'cpu' for b in got)
    assert _plain(got) == expected


def test_cuda_device_without_cuda_is_a_clear_error(url):
    if torch.cuda.is_available():
        pytest.skip('CUDA is available here')
    with _loader(url, device='cuda') as loader:
        with pytest.raises(RuntimeError, match='no CUDA device'):
            next(iter(loader))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device (torch.cuda.is_available() is False)')
def test_cuda_device_copies_one_batch_ahead(url):
    with _loader(url) as loader:
        expected = _plain(loader)
    with _loader(url, pin_memory=True, device='cuda') as loader:
        got = []
        for i, batch in enumerate(loader):
            assert batch['id'].device.type == 'cuda' and batch['vec'].device.type == 'cuda'
            batch['vec'].mul_(1)  # compute on the batch while the next one is copied
            got.append(batch)
            if i == 3:
                state = loader.state_dict()  # the state of the batch returned, not of the one in flight
    assert _plain(got) == expected
    with _loader(url, pin_memory=True, device='cuda') as loader:
        _ = [b for _, b in zip(range(4), loader)]
    with _loader(url, pin_memory=True, device='cuda') as loader:
        loader.load_state_dict(state)
        assert _plain(loader) == expected[4:]
