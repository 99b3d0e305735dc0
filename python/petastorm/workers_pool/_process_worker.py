"""Entry point of a ``ProcessPool`` worker process: ``python -m petastorm.workers_pool._process_worker FD``.

FD is this end of a socket pair to the parent. Protocol (each message one pickled object):
parent -> worker: ``worker_id`` + ``(worker_class, worker_setup_args, serializer)`` (one blob),
then ``('item', args, kargs)`` ... ``('stop',)``; worker -> parent: ``('ready', None)`` or
``('error', exc)`` once set up, then per item 0..n ``('data', bytes)`` and ``('processed', None)``
or ``('error', exc)``. The worker exits on ``stop`` (after ``shutdown()``) or when the parent's end
closes.
"""
import io
import pickle
import sys
from multiprocessing.connection import Connection


def _send(connection, message):
    try:
        blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # an exception that does not pickle
        blob = pickle.dumps(('error', RuntimeError('{}: {}'.format(type(message[1]).__name__, message[1]))))
        del e
    connection.send_bytes(blob)


def main(fd):
    connection = Connection(fd)
    try:
        stream = io.BytesIO(connection.recv_bytes())
    except EOFError:
        return
    worker = None
    try:
        worker_id = pickle.load(stream)
        worker_class, worker_setup_args, serializer = pickle.load(stream)

        def publish_func(data):
            payload = serializer.serialize(data) if serializer else pickle.dumps(data, pickle.HIGHEST_PROTOCOL)
            connection.send_bytes(pickle.dumps(('data', payload), protocol=pickle.HIGHEST_PROTOCOL))

        worker = worker_class(worker_id, publish_func, worker_setup_args)
    except Exception as e:
        _send(connection, ('error', e))
        return
    _send(connection, ('ready', None))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message[0] == 'stop':
            worker.shutdown()
            return
        _, args, kargs = message
        try:
            worker.process(*args, **kargs)
            _send(connection, ('processed', None))
        except Exception as e:
            _send(connection, ('error', e))


if __name__ == '__main__':
    main(int(sys.argv[1]))
