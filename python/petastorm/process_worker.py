"""The entry point of a reader worker process: ``python -m petastorm.process_worker FD [IDLE]``.

FD is this end of a Unix SEQPACKET socket to the parent (petastorm/process_pool.py). The worker
serves jobs, one after the other, for as long as the parent gives it some (IDLE seconds without one
and it exits). A job is a payload in a memfd: {slice_index, slice_count, credits, sys_path, spec,
start, seed}, spec the pickled {reader_class, dataset_url, kwargs}, start the reader position to
start at (None: the plan's beginning) and seed the plan's. For a job the worker builds the reader
(dummy pool: it is one worker) for its ItemSlice and sends the decoded row group of every one of
its work items, in plan order, each as a header and the memfd of the shared-memory slot holding the
row group's Arrow IPC form; then an end marker. An exception goes back pickled, with its type. It
runs at most `credits` items ahead of the parent (a b'c' from the parent per item taken), and
reuses a slot once the parent says it is released (b'r' + slot).
"""
import os
import pickle
import socket
import sys

from petastorm import _core
from petastorm.process_pool import DATA, END, ERROR, HEADER, RELEASE, map_memfd, write_all, recv_fds


class _Connection(object):
    def __init__(self, sock):
        self.sock = sock
        self.arena = _core.MemfdArena()  # kept across jobs: its slots are reused
        self.credits = 0

    def handle(self, message, fds):
        """Handles a parent's message; returns the job payload for a job."""
        tag = message[:1]
        if tag == b'c':
            self.credits += 1
        elif tag == b'r':
            self.arena.release(RELEASE.unpack(message)[1])
        elif tag == DATA and len(message) == HEADER.size and fds:
            return bytes(map_memfd(fds[0], HEADER.unpack(message)[1]))
        for fd in fds:
            os.close(fd)
        return None

    def receive(self, blocking=True):
        message, fds = recv_fds(self.sock, HEADER.size, 0 if blocking else socket.MSG_DONTWAIT)
        if not message:
            raise EOFError('the parent closed the connection')
        return self.handle(message, fds)

    def wait_for_credit(self):
        try:
            while True:
                self.receive(blocking=False)
        except BlockingIOError:
            pass
        while self.credits == 0:
            self.receive()

    def send(self, tag, data):
        fd = os.memfd_create('petastorm-message', os.MFD_CLOEXEC)
        try:
            write_all(fd, data)
            socket.send_fds(self.sock, [HEADER.pack(tag, len(data), -1)], [fd])
        finally:
            os.close(fd)

    def serve(self, job):
        """Runs one job: the reader's row groups, then the end marker (or the error)."""
        try:
            for path in reversed(job['sys_path']):
                if path not in sys.path:
                    sys.path.insert(0, path)
            spec = pickle.loads(job['spec'])
            self.credits = job['credits']
            reader = spec['reader_class']._make(spec['dataset_url'], pool='dummy', workers_count=1,
                                          item_slice=(job['slice_index'], job['slice_count']), **spec['kwargs'])
            if job.get('start') is not None:  # a resume (or a reset after one): the slices count from there
                reader._restart(job['start'], job['seed'])
            with reader:
                for group in reader.decoded_row_groups():
                    self.wait_for_credit()
                    self.credits -= 1
                    slot, fd, size = self.arena.write(group)  # serialized in C++ straight into shared memory
                    del group
                    socket.send_fds(self.sock, [HEADER.pack(DATA, size, slot)], [fd])
            self.sock.send(HEADER.pack(END, 0, -1))
        except EOFError:
            raise
        except BaseException as e:  # noqa: B902 -- everything goes back to the consumer
            try:
                payload = pickle.dumps(e)
            except Exception:
                payload = pickle.dumps(RuntimeError('{}: {}'.format(type(e).__name__, e)))
            self.send(ERROR, payload)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    idle_seconds = float(argv[1]) if len(argv) > 1 else None
    connection = _Connection(sock)
    try:
        while True:
            sock.settimeout(idle_seconds)
            try:
                payload = connection.receive()
            finally:
                sock.settimeout(None)
            if payload is not None:
                connection.serve(pickle.loads(payload))
    except (EOFError, OSError):
        pass  # the parent is gone, or no job came for IDLE seconds
    finally:
        sock.close()


if __name__ == '__main__':
    main()
