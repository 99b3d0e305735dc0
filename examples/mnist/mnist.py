"""MNIST-like training through petastorm.pytorch.BatchedDataLoader, with no download.

Writes a dataset of 28x28 grey digits drawn procedurally (seven-segment strokes with random
position, size, slant, thickness and noise; labels 0-9) with petastorm.write_dataset, trains a
small CNN on it for two epochs through BatchedDataLoader (batches assembled in C++, shuffled in
a seeded buffer), and prints the accuracy on a held-out split.

    python examples/mnist/mnist.py [--dataset-url file:///tmp/mnist_petastorm] [--epochs 2]
"""
import argparse
import os
import tempfile
import time

import numpy as np

from petastorm import make_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.unischema import Unischema, UnischemaField

MnistSchema = Unischema('MnistSchema', [
    UnischemaField('idx', np.int64, ()),
    UnischemaField('digit', np.int64, ()),
    UnischemaField('image', np.uint8, (28, 28), NdarrayCodec()),
])

# Seven segments in a unit box (x right, y down): (x0, y0, x1, y1).
_SEGMENTS = {'a': (0, 0, 1, 0), 'b': (1, 0, 1, .5), 'c': (1, .5, 1, 1), 'd': (0, 1, 1, 1),
             'e': (0, .5, 0, 1), 'f': (0, 0, 0, .5), 'g': (0, .5, 1, .5)}
_DIGITS = ['abcdef', 'bc', 'abged', 'abgcd', 'fgbc', 'afgcd', 'afgedc', 'abc', 'abcdefg', 'abcdfg']
_YY, _XX = np.mgrid[0:28, 0:28].astype(np.float32)


def draw_digit(digit, rng):
    """A 28x28 uint8 image of `digit`: strokes at a random place, size, slant and thickness, noise."""
    width, height = rng.uniform(8, 13), rng.uniform(14, 20)
    left, top = rng.uniform(4, 24 - width), rng.uniform(3, 25 - height)
    slant = rng.uniform(-0.25, 0.25)
    thickness = rng.uniform(1.0, 2.2)
    ink = np.zeros((28, 28), np.float32)
    for name in _DIGITS[digit]:
        x0, y0, x1, y1 = _SEGMENTS[name]
        # Box coordinates, slanted, each end jittered.
        p = np.array([left + width * x0 + slant * height * (0.5 - y0), top + height * y0]) + rng.normal(0, 0.6, 2)
        q = np.array([left + width * x1 + slant * height * (0.5 - y1), top + height * y1]) + rng.normal(0, 0.6, 2)
        d = q - p
        t = np.clip(((_XX - p[0]) * d[0] + (_YY - p[1]) * d[1]) / max(float(d @ d), 1e-6), 0, 1)
        dist = np.hypot(_XX - (p[0] + t * d[0]), _YY - (p[1] + t * d[1]))
        ink = np.maximum(ink, np.clip(thickness + 0.5 - dist, 0, 1))
    image = ink * rng.uniform(160, 255) + rng.normal(0, 25, (28, 28))
    return np.clip(image, 0, 255).astype(np.uint8)


def generate_dataset(dataset_url, rows, seed=0):
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, rows)
    data = ({'idx': i, 'digit': int(digits[i]), 'image': draw_digit(int(digits[i]), rng)} for i in range(rows))
    return write_dataset(dataset_url, MnistSchema, data, rows_per_rowgroup=1000, mode='overwrite')


def make_model():
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 14 x 14
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 7 x 7
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


def _inputs(batch):
    return batch['image'].unsqueeze(1).float().div_(255.0), batch['digit']


def train_and_evaluate(dataset_url, train_rows, epochs, batch_size, seed=0):
    """Trains on rows idx < train_rows and returns the accuracy on the others."""
    import torch
    import torch.nn.functional as F
    from petastorm.predicates import in_lambda
    from petastorm.pytorch import BatchedDataLoader

    torch.manual_seed(seed)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    is_train = in_lambda(['idx'], lambda idx: idx < train_rows)
    is_test = in_lambda(['idx'], lambda idx: idx >= train_rows)

    with make_reader(dataset_url, num_epochs=epochs, predicate=is_train, seed=seed,
                     schema_fields=['digit', 'image'], workers_count=2) as reader:
        loader = BatchedDataLoader(reader, batch_size=batch_size, shuffling_queue_capacity=2000, seed=seed)
        model.train()
        for step, batch in enumerate(loader):
            images, digits = _inputs(batch)
            loss = F.cross_entropy(model(images), digits)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 50 == 0:
                print('step {:4d}  loss {:.3f}'.format(step, loss.item()), flush=True)

    correct = total = 0
    model.eval()
    with make_reader(dataset_url, predicate=is_test, schema_fields=['digit', 'image'], workers_count=2) as reader:
        with torch.no_grad():
            for batch in BatchedDataLoader(reader, batch_size=500):
                images, digits = _inputs(batch)
                correct += int((model(images).argmax(1) == digits).sum())
                total += len(digits)
    return correct / total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset-url', default=None, help='where to write the dataset (default: a temp dir)')
    parser.add_argument('--rows', type=int, default=7000, help='rows written; the last 1000 are held out')
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=64)
    args = parser.parse_args()

    import torch
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.dataset_url or 'file://' + os.path.join(tmp, 'mnist')
        start = time.perf_counter()
        generate_dataset(url, args.rows)
        print('Wrote {} images to {} in {:.1f} s'.format(args.rows, url, time.perf_counter() - start), flush=True)
        start = time.perf_counter()
        accuracy = train_and_evaluate(url, args.rows - 1000, args.epochs, args.batch_size)
        print('Trained {} epochs in {:.1f} s'.format(args.epochs, time.perf_counter() - start))
        print('accuracy: {:.4f}'.format(accuracy))


if __name__ == '__main__':
    main()
