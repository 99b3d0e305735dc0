"""Measures how fast a reader delivers samples: Petastorm's ``reader_throughput``.

A reader is made over the dataset with ``num_epochs=None`` (it loops), ``warmup_cycles_count``
samples are read and dropped, then ``measure_cycles_count`` samples are timed. With
``batch=True`` the reader is ``make_batch_reader`` and a cycle is one batch (samples per second
then counts rows). Memory and CPU come from ``/proc`` and ``getrusage`` (no psutil).
"""
import logging
import multiprocessing
import os
import resource
import sys
import time
from collections import namedtuple
from concurrent.futures import ProcessPoolExecutor
from enum import Enum

from petastorm.tools.progress import ProgressBar

logger = logging.getLogger(__name__)

BenchmarkResult = namedtuple('BenchmarkResult', ['time_mean', 'samples_per_second', 'memory_info', 'cpu'])
BenchmarkResult.__doc__ = """time_mean: seconds per cycle; samples_per_second: samples (rows) per second;
memory_info: MemoryInfo (bytes); cpu: process CPU time over wall time during the measurement, in percent
(100 per busy core)."""

MemoryInfo = namedtuple('MemoryInfo', ['rss', 'peak_rss'])
MemoryInfo.__doc__ = """Resident set size now and at its peak (VmHWM), in bytes. ``rss`` as psutil's."""


class WorkerPoolType(Enum):
    """The reader's worker pool: threads, processes, or none (everything on the calling thread)."""
    THREAD = 'thread'
    PROCESS = 'process'
    NONE = 'dummy'

    def __str__(self):
        return self.value


class ReadMethod(Enum):
    """How samples are read: ``next(reader)`` in Python, or through a TensorFlow graph (``tf_tensors``)."""
    TF = 'tf'
    PYTHON = 'python'

    def __str__(self):
        return self.value


def memory_info():
    """This process's MemoryInfo, read from /proc/self/status."""
    values = {}
    try:
        with open('/proc/self/status') as f:
            for line in f:
                key, _, rest = line.partition(':')
                if key in ('VmRSS', 'VmHWM'):
                    values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    peak = values.get('VmHWM', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return MemoryInfo(rss=values.get('VmRSS', peak), peak_rss=peak)


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _dataset_url(dataset_url):
    if '://' not in dataset_url:
        return 'file://' + os.path.abspath(dataset_url)
    return dataset_url


def _time_cycles(count, work, phase, progress, samples_per_cycle=None):
    """Runs `work` `count` times; returns (seconds, samples). `work` returns the samples it read."""
    start = time.perf_counter()
    samples = 0
    for i in range(count):
        samples += work()
        if progress is not None:
            elapsed = time.perf_counter() - start
            progress(phase, i + 1, count, samples / elapsed if elapsed > 0 else None)
    return time.perf_counter() - start, samples


def _time_warmup_and_work(reader, warmup_cycles_count, measure_cycles_count, work, progress=None):
    _time_cycles(warmup_cycles_count, work, 'warmup', progress)
    logger.info('Done warmup')
    cpu_start = _cpu_seconds()
    duration, samples = _time_cycles(measure_cycles_count, work, 'measure', progress)
    cpu = 100.0 * (_cpu_seconds() - cpu_start) / duration if duration > 0 else 0.0
    time_mean = duration / measure_cycles_count if measure_cycles_count else 0.0
    result = BenchmarkResult(time_mean=time_mean,
                             samples_per_second=samples / duration if duration > 0 else 0.0,
                             memory_info=memory_info(), cpu=cpu)
    logger.info('Done measuring: %s', str(result))
    return result


def _python_work(reader, batch):
    if batch:
        def work():
            return len(next(reader)[0])
    else:
        def work():
            next(reader)
            return 1
    return work


def _tf_measure(reader, warmup_cycles_count, measure_cycles_count, shuffling_queue_size, min_after_dequeue,
                batch, progress):
    try:
        import tensorflow.compat.v1 as tf  # pylint: disable=import-error
        from petastorm.tf_utils import tf_tensors
    except ImportError as e:
        raise NotImplementedError('read method tf needs TensorFlow and petastorm.tf_utils ({})'.format(e))
    # tf_tensors builds a TF1 graph: in TF2 (eager by default) it needs a graph of its own.
    with tf.Graph().as_default(), tf.Session() as sess:
        readout_tensors = tf_tensors(reader, 0 if batch else shuffling_queue_size,
                                     0 if batch else min_after_dequeue)
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(coord=coord, start=True, sess=sess)

        def work():
            values = sess.run(readout_tensors)
            return len(values[0]) if batch else 1
        try:
            return _time_warmup_and_work(reader, warmup_cycles_count, measure_cycles_count, work, progress)
        finally:
            coord.request_stop()
            coord.join(threads)


def reader_throughput(dataset_url, field_regex=None, warmup_cycles_count=300, measure_cycles_count=1000,
                      pool_type=WorkerPoolType.THREAD, loaders_count=3, profile_threads=False,
                      read_method=ReadMethod.PYTHON, shuffling_queue_size=500, min_after_dequeue=400,
                      reader_extra_args=None, spawn_new_process=True, batch=False, progress=False, profile=False):
    """Makes a reader over `dataset_url` and measures its throughput (Petastorm's function).

    :param dataset_url: the dataset's URL (a plain path is taken as a local directory).
    :param field_regex: regular expressions; only fields whose names match one are read.
    :param warmup_cycles_count: cycles read before measuring (not counted).
    :param measure_cycles_count: cycles measured. A cycle is a sample, or a batch with ``batch=True``.
    :param pool_type: a :class:`WorkerPoolType` (or its value) for ``reader_pool_type``.
    :param loaders_count: the reader's ``workers_count``.
    :param profile_threads: accepted for compatibility; this reader has no thread profiler.
    :param read_method: a :class:`ReadMethod` (or its value).
    :param shuffling_queue_size: / :param min_after_dequeue: the TensorFlow read method's shuffling queue.
    :param reader_extra_args: more keyword arguments for the reader factory.
    :param spawn_new_process: measure in a new process, so that the memory figures are the reader's own.
    :param batch: read with ``make_batch_reader`` instead of ``make_reader``.
    :param progress: draw a progress bar on stderr (only when it is a terminal).
    :param profile: print where the reader's time went (stages, consumer wait) to stdout.
    :return: a :class:`BenchmarkResult`.
    """
    pool_type = WorkerPoolType(str(pool_type))
    read_method = ReadMethod(str(read_method))
    if spawn_new_process:
        kwargs = dict(locals())
        kwargs['spawn_new_process'] = False
        # spawn, not fork: a forked child would inherit the parent's native thread pools half-started.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as executor:
            return executor.submit(reader_throughput, **kwargs).result()

    from petastorm import make_batch_reader, make_reader
    reader_args = dict(reader_extra_args or {})
    if field_regex and 'schema_fields' not in reader_args:
        reader_args['schema_fields'] = list(field_regex)
    if profile_threads:
        logger.warning('profile_threads is accepted for compatibility and has no effect')
    factory = make_batch_reader if batch else make_reader
    bar = ProgressBar() if progress and sys.stderr.isatty() else None
    logger.info('Arguments: dataset_url=%s, pool_type=%s, loaders_count=%d, batch=%s', dataset_url, pool_type,
                loaders_count, batch)
    try:
        with factory(_dataset_url(dataset_url), num_epochs=None, reader_pool_type=str(pool_type),
                     workers_count=loaders_count, **reader_args) as reader:
            if read_method == ReadMethod.PYTHON:
                begin = time.perf_counter()
                result = _time_warmup_and_work(reader, warmup_cycles_count, measure_cycles_count,
                                               _python_work(reader, batch), bar)
                if profile:
                    from petastorm.loader_stages import reader_profile
                    print(reader_profile(reader.diagnostics, time.perf_counter() - begin), flush=True)
                return result
            return _tf_measure(reader, warmup_cycles_count, measure_cycles_count, shuffling_queue_size,
                               min_after_dequeue, batch, bar)
    finally:
        if bar is not None:
            bar.close()
