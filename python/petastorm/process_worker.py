"""The entry point of a reader worker process: ``python -m petastorm.process_worker FD``.

FD is this end of a Unix SEQPACKET socket to the parent (petastorm/process_pool.py). The parent
sends two payloads (each in a memfd): the slice {slice_index, slice_count, credits}, then the
worker spec {reader_class, dataset_url, kwargs}. The worker builds the reader (dummy pool: it is
one worker) for its ItemSlice and sends the decoded row group of every one of its work items,
in plan order, each as a header and a memfd holding the row group's Arrow IPC form; then an end
marker. An exception goes back pickled, with its type. It waits for a credit byte from the
parent before running more than `credits` items ahead.
"""
import os
import pickle
import socket
import sys

from petastorm.process_pool import _DATA, _END, _ERROR, _HEADER, _map, _write_all


def _receive_blob(sock):
    message, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 1)
    if len(message) != _HEADER.size or not fds:
        raise EOFError('the parent closed the connection')
    _, size = _HEADER.unpack(message)
    return bytes(_map(fds[0], size))


def _send(sock, tag, data):
    fd = os.memfd_create('petastorm-row-group', os.MFD_CLOEXEC)
    try:
        _write_all(fd, data)
        socket.send_fds(sock, [_HEADER.pack(tag, len(data))], [fd])
    finally:
        os.close(fd)


def serve(sock):
    """Builds the reader the parent describes and sends its row groups."""
    try:
        init = pickle.loads(_receive_blob(sock))
        spec = pickle.loads(_receive_blob(sock))
        reader = spec['reader_class'](spec['dataset_url'], pool='dummy', workers_count=1,
                                      item_slice=(init['slice_index'], init['slice_count']), **spec['kwargs'])
        credits = init['credits']
        with reader:
            for group in reader.decoded_row_groups():
                if credits == 0:
                    if not sock.recv(1):
                        return  # the parent is gone
                    credits = 1
                credits -= 1
                _send(sock, _DATA, group.to_ipc())
        sock.send(_HEADER.pack(_END, 0))
        # Closing with unread credits would reset the connection before the parent reads the
        # end marker: wait for the parent to close its end.
        while sock.recv(64):
            pass
    except BaseException as e:  # noqa: B902 -- everything goes back to the consumer
        try:
            payload = pickle.dumps(e)
        except Exception:
            payload = pickle.dumps(RuntimeError('{}: {}'.format(type(e).__name__, e)))
        try:
            _send(sock, _ERROR, payload)
        except OSError:
            pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    try:
        serve(sock)
    finally:
        sock.close()


if __name__ == '__main__':
    main()
