"""The hand-rolled torch datasets of peers.py: what a user writes with pyarrow, Pillow and torch alone.

Imported only by the torch-parquet and torch-pil contenders (torch is imported here at the top, so
the classes pickle by name for any DataLoader start method).
"""
import io

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info


class ParquetBatches(IterableDataset):
    """Worker k of n reads row groups k, k+n, ... of `groups` ((path, index) over all files in
    order) with ParquetFile.iter_batches; each batch of `batch_size` rows (shorter at a row group's
    end: the reader does not carry rows across row groups) becomes a dict of torch.from_numpy columns."""

    def __init__(self, groups, batch_size):
        self.groups, self.batch_size = groups, batch_size

    def __iter__(self):
        info = get_worker_info()
        mine = self.groups if info is None else self.groups[info.id::info.num_workers]
        opened = {}
        for path, group in mine:
            parquet_file = opened.setdefault(path, pq.ParquetFile(path))
            for batch in parquet_file.iter_batches(batch_size=self.batch_size, row_groups=[group], use_threads=False):
                yield {name: torch.from_numpy(column.to_numpy())
                       for name, column in zip(batch.schema.names, batch.columns)}


class JpegRows(Dataset):
    """Row i: {'id': ids[i], 'image': (H, W, 3) uint8 tensor} decoded from the JPEG bytes images[i]
    with PIL.Image.open(...).convert('RGB')."""

    def __init__(self, ids, images):
        import PIL.Image  # noqa: F401 (fails here, not in a worker, when Pillow is missing)
        self.ids, self.images = ids, images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        import PIL.Image
        image = PIL.Image.open(io.BytesIO(self.images[i])).convert('RGB')
        return {'id': self.ids[i], 'image': torch.from_numpy(np.asarray(image))}
