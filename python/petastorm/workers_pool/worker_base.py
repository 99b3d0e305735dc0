"""``WorkerBase``: the class a pool's workers derive from."""


class WorkerBase(object):
    """A worker of a pool. The pool constructs it as ``worker_class(worker_id, publish_func, args)``.

    :param worker_id: the worker's index in the pool (0..workers_count-1).
    :param publish_func: call ``publish_func(data)`` to emit a result (0..n per item) to
        ``pool.get_results()``.
    :param args: the ``worker_args`` passed to ``pool.start``, unchanged.
    """

    def __init__(self, worker_id, publish_func, args):
        self.worker_id = worker_id
        self.publish_func = publish_func
        self.args = args

    def process(self, *args, **kargs):
        """Process one ventilated item: ``pool.ventilate(*args, **kargs)`` calls this in the worker."""
        pass

    def shutdown(self):
        """Called once when the pool is joined; release resources here."""
        pass
