"""Worker classes for tests/compat/test_workers_pool.py (module-level: ProcessPool pickles them)."""
import os

from petastorm.cache import CacheBase
from petastorm.workers_pool.worker_base import WorkerBase


class SquareWorker(WorkerBase):
    """Publishes value**2 (plus its worker id when args == 'with_id')."""

    def process(self, value):
        if self.args == 'with_id':
            self.publish_func((value * value, self.worker_id))
        else:
            self.publish_func(value * value)


class RepeatWorker(WorkerBase):
    """Publishes `value` `count` times (0..n results per item)."""

    def process(self, value, count=1):
        for _ in range(count):
            self.publish_func(value)


class FailingWorker(WorkerBase):
    """Raises ValueError('bad item 3') on value 3, else publishes value."""

    def process(self, value):
        if value == 3:
            raise ValueError('bad item {}'.format(value))
        self.publish_func(value)


class PidWorker(WorkerBase):
    def process(self, value):
        self.publish_func((value, os.getpid()))


class ShutdownFileWorker(WorkerBase):
    """Writes a file named after its worker id in directory `args` on shutdown()."""

    def shutdown(self):
        with open(os.path.join(self.args, 'shutdown-{}'.format(self.worker_id)), 'w') as f:
            f.write('done')


class BadInitWorker(WorkerBase):
    def __init__(self, worker_id, publish_func, args):
        raise KeyError('no setup')


class JsonSerializer(object):
    """A custom results serializer (str of repr)."""

    def serialize(self, data):
        return repr(data).encode()

    def deserialize(self, blob):
        return ('deserialized', blob.decode())


class SlowWorker(WorkerBase):
    """Publishes `value` 50 times (fills queues, so stop() must unblock it)."""

    def process(self, value):
        for _ in range(50):
            self.publish_func(value)


class ExitWorker(WorkerBase):
    """Kills its own process on value 1 (a worker dying)."""

    def process(self, value):
        if value == 1:
            os._exit(3)
        self.publish_func(value)


def write_file(path, text, suffix=''):
    """Target of exec_in_new_process in the tests."""
    with open(path, 'w') as f:
        f.write(text + suffix + ':' + str(os.getpid()))


class PickleFileCache(CacheBase):
    """A user's CacheBase keeping one pickle file per key in `directory` (works across processes)."""

    def __init__(self, directory):
        self.directory = directory

    def get(self, key, fill_cache_func):
        import hashlib
        import pickle
        path = os.path.join(self.directory, hashlib.md5(key.encode()).hexdigest())
        if os.path.exists(path):
            with open(path, 'rb') as f:
                return pickle.load(f)
        value = fill_cache_func()
        with open(path + '.tmp%d' % os.getpid(), 'wb') as f:
            pickle.dump(value, f)
        os.replace(path + '.tmp%d' % os.getpid(), path)
        return value
