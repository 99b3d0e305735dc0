"""MNIST-like training with TensorFlow (Keras) through petastorm.tf_utils.make_petastorm_dataset.

Writes the dataset of mnist.py (28x28 grey digits drawn procedurally, no download) unless
--dataset-url names one that exists, trains a small Keras CNN on it for one epoch from
``make_petastorm_dataset(make_reader(...))`` and prints the accuracy on a held-out split.

    python examples/mnist/tf_example.py [--dataset-url file:///tmp/mnist_petastorm] [--epochs 1]
"""
import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist import generate_dataset  # noqa: E402  (this example's dataset)

from petastorm import make_reader  # noqa: E402
from petastorm.predicates import in_lambda  # noqa: E402


def make_model():
    import tensorflow as tf
    return tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        tf.keras.layers.Conv2D(16, 3, padding='same', activation='relu'), tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(32, 3, padding='same', activation='relu'), tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation='relu'), tf.keras.layers.Dense(10)])


def _inputs(row):
    import tensorflow as tf
    return tf.cast(row.image, tf.float32)[..., None] / 255.0, row.digit


def train_and_evaluate(dataset_url, train_rows, epochs, batch_size, seed=0):
    """Trains on rows idx < train_rows (one reader epoch per Keras epoch) and returns the
    accuracy on the others."""
    import tensorflow as tf
    from petastorm.tf_utils import make_petastorm_dataset

    tf.keras.utils.set_random_seed(seed)
    model = make_model()
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    is_train = in_lambda(['idx'], lambda idx: idx < train_rows)
    is_test = in_lambda(['idx'], lambda idx: idx >= train_rows)

    with make_reader(dataset_url, num_epochs=epochs, predicate=is_train, seed=seed, shuffle_rows=True,
                     schema_fields=['digit', 'image'], workers_count=2) as reader:
        dataset = make_petastorm_dataset(reader).shuffle(1000, seed=seed).map(_inputs).batch(batch_size)
        model.fit(dataset, epochs=1, verbose=2)

    with make_reader(dataset_url, predicate=is_test, schema_fields=['digit', 'image'], workers_count=2) as reader:
        dataset = make_petastorm_dataset(reader).map(_inputs).batch(500)
        _, accuracy = model.evaluate(dataset, verbose=0)
    return accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset-url', default=None,
                        help='the dataset to read, written here when it does not exist (default: a temp dir)')
    parser.add_argument('--rows', type=int, default=7000, help='rows written; the last 1000 are held out')
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=64)
    args = parser.parse_args()

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(min(2, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.dataset_url or 'file://' + os.path.join(tmp, 'mnist')
        local = url[len('file://'):] if url.startswith('file://') else url
        if not os.path.exists(os.path.join(local, '_common_metadata')):
            start = time.perf_counter()
            generate_dataset(url, args.rows)
            print('Wrote {} images to {} in {:.1f} s'.format(args.rows, url, time.perf_counter() - start), flush=True)
        start = time.perf_counter()
        accuracy = train_and_evaluate(url, args.rows - 1000, args.epochs, args.batch_size)
        print('Trained {} epoch(s) in {:.1f} s'.format(args.epochs, time.perf_counter() - start))
        print('accuracy: {:.4f}'.format(accuracy))


if __name__ == '__main__':
    main()
