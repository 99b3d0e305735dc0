"""Petastorm's generic worker pools, usable on their own (``petastorm.workers_pool``).

A pool runs instances of a user's :class:`~petastorm.workers_pool.worker_base.WorkerBase` subclass:
``pool.start(worker_class, worker_args, ventilator=...)``, then ``pool.ventilate(*args, **kwargs)``
hands one work item to a worker (its ``process(*args, **kwargs)``), the worker publishes results
with ``publish_func(data)``, and ``pool.get_results()`` returns them one at a time, raising
:class:`EmptyResultError` once every ventilated item was processed and the ventilator (if any) is
done. ``stop()`` then ``join()`` end the pool.

Pools: :class:`~petastorm.workers_pool.thread_pool.ThreadPool`,
:class:`~petastorm.workers_pool.process_pool.ProcessPool`,
:class:`~petastorm.workers_pool.dummy_pool.DummyPool`; feeding:
:class:`~petastorm.workers_pool.ventilator.ConcurrentVentilator`.

These are plain Python, as in Petastorm; the readers (``make_reader``) use the C++ engine's own
pools, not these.
"""


class EmptyResultError(RuntimeError):
    """Raised by ``get_results()`` when no more results will come (all items processed)."""


class TimeoutWaitingForResultError(RuntimeError):
    """Raised by ``get_results(timeout=...)`` when no result arrived within ``timeout`` seconds."""


class VentilatedItemProcessedMessage(object):
    """Marker a worker emits after it finished processing one ventilated item."""


def _check_not_finished(pool):
    """Raises EmptyResultError when every item `pool` ventilated was processed and its ventilator
    (if any) completed; the count is read again after the ventilator answers, which may have
    ventilated one more item meanwhile. (ThreadPool and ProcessPool share it.)"""
    with pool._count_lock:
        all_processed = pool._ventilated_items == pool._ventilated_items_processed
    if all_processed and (not pool._ventilator or pool._ventilator.completed()):
        with pool._count_lock:
            if pool._ventilated_items == pool._ventilated_items_processed:
                raise EmptyResultError()


__all__ = ['EmptyResultError', 'TimeoutWaitingForResultError', 'VentilatedItemProcessedMessage']
