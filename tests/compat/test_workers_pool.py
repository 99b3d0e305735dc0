"""petastorm.workers_pool: Petastorm's generic pool API used on its own (inventory §1, §6.2, §6.4)."""
import os
import tempfile
import threading
import time

import pytest

from petastorm.workers_pool import EmptyResultError, TimeoutWaitingForResultError, VentilatedItemProcessedMessage
from petastorm.workers_pool.dummy_pool import DummyPool
from petastorm.workers_pool.process_pool import ProcessPool
from petastorm.workers_pool.thread_pool import ThreadPool
from petastorm.workers_pool.ventilator import ConcurrentVentilator, Ventilator
from petastorm.workers_pool.worker_base import WorkerBase

from pool_workers import (BadInitWorker, ExitWorker, FailingWorker, JsonSerializer, PidWorker, RepeatWorker, SlowWorker,
                          ShutdownFileWorker, SquareWorker)

POOLS = [lambda: ThreadPool(3), lambda: DummyPool(), lambda: ProcessPool(2)]
POOL_IDS = ['thread', 'dummy', 'process']


def drain(pool):
    results = []
    while True:
        try:
            results.append(pool.get_results())
        except EmptyResultError:
            return results


def test_exception_types():
    assert issubclass(EmptyResultError, RuntimeError)
    assert issubclass(TimeoutWaitingForResultError, RuntimeError)
    VentilatedItemProcessedMessage()


def test_worker_base_stores_constructor_arguments():
    published = []
    worker = WorkerBase(7, published.append, ('a', 1))
    assert (worker.worker_id, worker.args) == (7, ('a', 1))
    worker.publish_func('x')
    assert published == ['x']
    assert worker.process(1, k=2) is None and worker.shutdown() is None


@pytest.mark.parametrize('make_pool', POOLS, ids=POOL_IDS)
def test_ventilate_and_get_results(make_pool):
    pool = make_pool()
    pool.start(SquareWorker)
    for i in range(10):
        pool.ventilate(i)
    results = drain(pool)
    pool.stop()
    pool.join()
    assert sorted(results) == [i * i for i in range(10)]


@pytest.mark.parametrize('make_pool', POOLS, ids=POOL_IDS)
def test_empty_pool_raises_empty_result_error(make_pool):
    pool = make_pool()
    pool.start(SquareWorker)
    with pytest.raises(EmptyResultError):
        pool.get_results()
    pool.stop()
    pool.join()


@pytest.mark.parametrize('make_pool', POOLS, ids=POOL_IDS)
def test_zero_or_many_results_per_item_and_kwargs(make_pool):
    pool = make_pool()
    pool.start(RepeatWorker)
    pool.ventilate('a', count=3)
    pool.ventilate('b', count=0)
    pool.ventilate(value='c')
    results = drain(pool)
    pool.stop()
    pool.join()
    assert sorted(results) == ['a', 'a', 'a', 'c']


@pytest.mark.parametrize('make_pool', POOLS, ids=POOL_IDS)
def test_worker_exception_reraised(make_pool):
    pool = make_pool()
    pool.start(FailingWorker)
    for i in range(5):
        pool.ventilate(i)
    with pytest.raises(ValueError, match='bad item 3'):
        drain(pool)
    pool.stop()
    pool.join()


@pytest.mark.parametrize('make_pool', POOLS, ids=POOL_IDS)
def test_with_concurrent_ventilator_epochs(make_pool):
    pool = make_pool()
    items = [{'value': i} for i in range(6)]
    ventilator = ConcurrentVentilator(pool.ventilate, items, iterations=3,
                                      max_ventilation_queue_size=pool.workers_count * 4)
    pool.start(SquareWorker, ventilator=ventilator)
    results = drain(pool)
    pool.stop()
    pool.join()
    assert sorted(results) == sorted([i * i for i in range(6)] * 3)
    assert ventilator.completed()


def test_thread_pool_round_robin_order_is_ventilation_order():
    pool = ThreadPool(4, results_queue_size=8)
    pool.start(SquareWorker, 'with_id')
    for i in range(20):
        pool.ventilate(i)
    results = drain(pool)
    pool.stop()
    pool.join()
    # Item k went to worker k % 4 and results are read round-robin: ventilation order.
    assert results == [(i * i, i % 4) for i in range(20)]


def test_thread_pool_queue_sizes_and_diagnostics():
    pool = ThreadPool(10, results_queue_size=50)
    assert pool.workers_count == 10
    pool.start(RepeatWorker)
    assert [q.maxsize for q in pool._results_queues] == [5] * 10
    pool.ventilate('x', count=2)
    deadline = time.time() + 5
    while pool.results_qsize() < 3 and time.time() < deadline:  # 2 results + processed marker
        time.sleep(0.01)
    assert pool.results_qsize() == 3
    assert pool.diagnostics == {'output_queue_size': 3}
    assert drain(pool) == ['x', 'x']
    pool.stop()
    pool.join()
    assert ThreadPool(2, results_queue_size=40)._results_queue_size == 40


def test_thread_pool_cannot_be_reused():
    pool = ThreadPool(2)
    pool.start(SquareWorker)
    pool.stop()
    pool.join()
    with pytest.raises(RuntimeError, match=r'ThreadPool\(\d+\) cannot be reused!'):
        pool.start(SquareWorker)


def test_thread_pool_get_results_timeout():
    pool = ThreadPool(1)
    pool.start(SquareWorker)
    ventilator = ConcurrentVentilator(pool.ventilate, [{'value': 1}], iterations=None)
    pool._ventilator = ventilator  # a ventilator that never completes, not yet started: no results
    with pytest.raises(TimeoutWaitingForResultError):
        pool.get_results(timeout=0.3)
    pool.stop()
    pool.join()


def test_thread_pool_join_calls_shutdown(tmp_path):
    pool = ThreadPool(3)
    pool.start(ShutdownFileWorker, str(tmp_path))
    pool.stop()
    pool.join()
    assert sorted(os.listdir(tmp_path)) == ['shutdown-0', 'shutdown-1', 'shutdown-2']


def test_dummy_pool_runs_on_caller_thread_in_fifo_order():
    class ThreadRecorder(WorkerBase):
        def process(self, value):
            self.publish_func((value, threading.get_ident()))

    pool = DummyPool()
    assert pool.workers_count == 1
    pool.start(ThreadRecorder)
    for i in range(5):
        pool.ventilate(i)
    assert pool.results_qsize() == 0  # nothing is done before get_results
    results = drain(pool)
    assert results == [(i, threading.get_ident()) for i in range(5)]
    assert pool.diagnostics == {}
    pool.stop()
    pool.join()


def test_process_pool_runs_in_other_processes_and_diagnostics(tmp_path):
    pool = ProcessPool(2, zmq_copy_buffers=False)
    pool.start(PidWorker)
    for i in range(6):
        pool.ventilate(i)
    results = drain(pool)
    assert sorted(v for v, _ in results) == list(range(6))
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids and len(pids) == 2
    assert pool.diagnostics == {'items_consumed': 6, 'items_produced': 6, 'items_inprocess': 0,
                                'zmq_copy_buffers': False}
    pool.stop()
    pool.join()


def test_process_pool_custom_serializer_and_shutdown(tmp_path):
    pool = ProcessPool(2, serializer=JsonSerializer())
    pool.start(SquareWorker)
    pool.ventilate(3)
    assert drain(pool) == [('deserialized', '9')]
    pool.stop()
    pool.join()

    pool = ProcessPool(2)
    pool.start(ShutdownFileWorker, str(tmp_path))
    pool.stop()
    pool.join()
    assert sorted(os.listdir(tmp_path)) == ['shutdown-0', 'shutdown-1']


def test_process_pool_worker_constructor_error_and_reuse():
    pool = ProcessPool(1)
    with pytest.raises(KeyError, match='no setup'):
        pool.start(BadInitWorker)
    with pytest.raises(RuntimeError, match='cannot be reused'):
        pool.start(SquareWorker)


def test_ventilator_is_abstract():
    with pytest.raises(TypeError):
        Ventilator(lambda: None)


@pytest.mark.parametrize('iterations', [0, -1, 1.5, '2'])
def test_ventilator_rejects_bad_iterations(iterations):
    with pytest.raises(ValueError, match='iterations must be positive integer or None'):
        ConcurrentVentilator(lambda **kw: None, [{'a': 1}], iterations=iterations)


def test_ventilator_requires_list_of_dicts():
    with pytest.raises(ValueError):
        ConcurrentVentilator(lambda **kw: None, [1, 2])
    with pytest.raises(ValueError):
        ConcurrentVentilator(lambda **kw: None, ({'a': 1},))


def _run_ventilator(items, **kwargs):
    ventilated = []
    ventilator = ConcurrentVentilator(lambda **item: ventilated.append(item['i']) or ventilator.processed_item(),
                                      [{'i': i} for i in items], **kwargs)
    ventilator.start()
    deadline = time.time() + 5
    while not ventilator.completed() and time.time() < deadline:
        time.sleep(0.005)
    ventilator.stop()
    return ventilated, ventilator


def test_ventilator_natural_order_and_iterations():
    ventilated, ventilator = _run_ventilator(range(5), iterations=2)
    assert ventilated == [0, 1, 2, 3, 4] * 2
    assert ventilator.completed()


def test_ventilator_seeded_shuffle_same_for_all_epochs_and_reproducible():
    first, _ = _run_ventilator(range(20), iterations=3, randomize_item_order=True, random_seed=42)
    second, _ = _run_ventilator(range(20), iterations=3, randomize_item_order=True, random_seed=42)
    assert first == second
    epoch = first[:20]
    assert epoch != list(range(20))
    assert sorted(epoch) == list(range(20))
    assert first == epoch * 3  # one permutation per run, shared by its epochs (Petastorm 0.13)
    import numpy as np
    assert epoch == [int(i) for i in np.random.default_rng(42).permutation(20)]


def test_ventilator_seed_zero_is_unseeded():
    import numpy as np
    np.random.seed(1)
    first, _ = _run_ventilator(range(30), randomize_item_order=True, random_seed=0)
    np.random.seed(1)
    expected = [int(i) for i in np.random.permutation(30)]
    assert first == expected


def test_ventilator_throttles_on_unprocessed_items():
    ventilated = []
    ventilator = ConcurrentVentilator(lambda **item: ventilated.append(item['i']), [{'i': i} for i in range(10)],
                                      max_ventilation_queue_size=3, ventilation_interval=0.001)
    ventilator.start()
    time.sleep(0.2)
    assert ventilated == [0, 1, 2]
    assert not ventilator.completed()
    ventilator.processed_item()
    deadline = time.time() + 5
    while len(ventilated) < 4 and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    assert ventilated == [0, 1, 2, 3]
    ventilator.stop()
    assert ventilator.completed()


def test_ventilator_empty_items_completed_and_reset():
    assert ConcurrentVentilator(lambda **kw: None, []).completed()
    ventilated, ventilator = _run_ventilator(range(3))
    assert ventilated == [0, 1, 2]
    running = ConcurrentVentilator(lambda **kw: None, [{'i': 1}], iterations=None, max_ventilation_queue_size=1)
    running.start()
    with pytest.raises(NotImplementedError):
        running.reset()
    running.stop()


def test_ventilator_infinite_iterations_until_stop():
    ventilated = []
    ventilator = ConcurrentVentilator(lambda **item: ventilated.append(item['i']) or ventilator.processed_item(),
                                      [{'i': 0}, {'i': 1}], iterations=None)
    ventilator.start()
    deadline = time.time() + 5
    while len(ventilated) < 10 and time.time() < deadline:
        time.sleep(0.005)
    assert not ventilator.completed()
    ventilator.stop()
    assert ventilator.completed()
    assert ventilated[:10] == [0, 1] * 5


@pytest.mark.parametrize('make_pool', POOLS, ids=POOL_IDS)
def test_stop_in_the_middle_of_infinite_ventilation(make_pool):
    pool = make_pool()
    ventilator = ConcurrentVentilator(pool.ventilate, [{'value': i} for i in range(4)], iterations=None,
                                      max_ventilation_queue_size=pool.workers_count * 4)
    pool.start(SlowWorker, ventilator=ventilator)
    results = [pool.get_results() for _ in range(120)]
    assert set(results) <= {0, 1, 2, 3}
    if not isinstance(pool, ProcessPool):  # ProcessPool returns results in arrival order
        assert results[:50] == [0] * 50
    pool.stop()
    pool.join()
    assert ventilator.completed()


def test_process_pool_worker_death_is_reported():
    pool = ProcessPool(1)
    pool.start(ExitWorker)
    pool.ventilate(0)
    pool.ventilate(1)
    with pytest.raises(RuntimeError, match=r'Worker process 0 exited unexpectedly \(exit code 3\)'):
        drain(pool)


def test_exec_in_new_process(tmp_path):
    from petastorm.workers_pool.exec_in_new_process import exec_in_new_process
    from pool_workers import write_file
    target = tmp_path / 'out.txt'
    process = exec_in_new_process(write_file, str(target), 'hello', suffix='!')
    assert process.wait(60) == 0
    text, pid = target.read_text().split(':')
    assert text == 'hello!' and int(pid) == process.pid != os.getpid()
    assert not [p for p in os.listdir(tempfile.gettempdir()) if p.startswith('petastorm_exec_')
                and p.endswith('.pkl') and str(process.pid) in p]


# --- Behaviours observed on Petastorm 0.13.1 (same calls run on the original) ---

def test_pool_signatures_match_petastorm():
    import inspect
    assert list(inspect.signature(ThreadPool).parameters) == [
        'workers_count', 'results_queue_size', 'profiling_enabled', 'shuffle_rows', 'seed']
    assert inspect.signature(ThreadPool).parameters['profiling_enabled'].default is False
    assert list(inspect.signature(DummyPool).parameters) == ['workers']
    DummyPool(workers=3)


def test_thread_pool_before_start_is_attribute_error():
    pool = ThreadPool(2)
    with pytest.raises(AttributeError, match='_results_queues'):
        pool.get_results()
    with pytest.raises(AttributeError, match='_results_queues'):
        pool.diagnostics


def test_thread_pool_round_robin_worker_ids_and_misuse():
    pool = ThreadPool(3)
    pool.start(SquareWorker, 'with_id')
    for i in range(9):
        pool.ventilate(i)
    assert drain(pool) == [(0, 0), (1, 1), (4, 2), (9, 0), (16, 1), (25, 2), (36, 0), (49, 1), (64, 2)]
    assert pool.diagnostics == {'output_queue_size': 0} and pool.results_qsize() == 0
    pool.stop()
    pool.stop()  # twice: no error
    pool.join()
    pool.join()
    assert pool.workers_count == 3


def test_dummy_pool_misuse_as_in_petastorm():
    pool = DummyPool()
    with pytest.raises(EmptyResultError):
        pool.get_results()
    pool.start(SquareWorker)
    assert pool.diagnostics == {} and pool.workers_count == 1
    pool.stop()
    pool.stop()
    pool.join()
    pool.join()
    pool = DummyPool()
    pool.start(FailingWorker)
    for i in range(6):
        pool.ventilate(i)
    with pytest.raises(ValueError, match='bad item 3'):
        drain(pool)
    assert drain(pool) == [4, 5]  # the items after the failing one are still processed


def _run_pool_ventilator(items, **kwargs):
    pool = DummyPool()
    ventilator = ConcurrentVentilator(pool.ventilate, items, **kwargs)
    pool.start(SquareWorker, ventilator=ventilator)
    results = drain(pool)
    assert ventilator.completed()
    return pool, ventilator, results


def test_ventilator_seeded_orders_as_in_petastorm():
    items = [{'value': i} for i in range(6)]
    pool, _, results = _run_pool_ventilator(items, iterations=2, randomize_item_order=True, random_seed=5)
    pool.stop()
    pool.join()
    assert results == [1, 16, 4, 9, 25, 0] * 2
    pool, _, results = _run_pool_ventilator(items, iterations=1, max_ventilation_queue_size=2)
    pool.stop()
    pool.join()
    assert results == [0, 1, 4, 9, 16, 25]


def test_ventilator_reset_reshuffles_with_the_same_generator():
    # Petastorm 0.13.1: one default_rng(seed) per ventilator; every run shuffles the last order.
    items = [{'value': i} for i in range(4)]
    pool, ventilator, results = _run_pool_ventilator(items, iterations=1, randomize_item_order=True, random_seed=9)
    assert results == [9, 0, 4, 1]
    ventilator.reset()
    assert drain(pool) == [1, 0, 4, 9]
    assert [item['value'] for item in items] == [0, 1, 2, 3]  # the caller's list is not shuffled
    pool.stop()
    pool.join()
    pool, ventilator, results = _run_pool_ventilator([{'value': i} for i in range(5)], iterations=1,
                                                randomize_item_order=True, random_seed=9)
    runs = [results]
    for _ in range(2):
        ventilator.reset()
        runs.append(drain(pool))
    pool.stop()
    pool.join()
    assert runs == [[16, 9, 0, 4, 1], [1, 0, 9, 16, 4], [0, 9, 4, 1, 16]]


def test_ventilator_argument_errors_as_in_petastorm():
    for bad in [0, -1, 1.5, 'x']:
        with pytest.raises(ValueError, match='^iterations must be positive integer or None$'):
            ConcurrentVentilator(lambda **k: None, [{'a': 1}], iterations=bad)
    for bad in [({'a': 1},), [1]]:
        with pytest.raises(ValueError, match='^items_to_ventilate must be a list of dicts$'):
            ConcurrentVentilator(lambda **k: None, bad)
    assert ConcurrentVentilator(lambda **k: None, []).completed()
