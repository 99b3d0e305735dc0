"""reader_pool_type='process': worker processes for GIL-bound Python predicates and transforms.

Each worker is a fresh interpreter started through this package's own entry point
(``python -m petastorm.process_worker``), never by re-importing the user's ``__main__``: a script
without an ``if __name__ == '__main__':`` guard, or one read from standard input, runs once.
Each runs the same C++ plan (same seed) and takes every N-th work item (an ItemSlice); it reads,
decodes, evaluates the predicate and applies the transform, then sends the item's decoded row
group in its Arrow IPC form (petastorm/row_group_ipc.h), serialized in C++ straight into a slot of
shared memory (a memfd) whose descriptor goes over a Unix socket: the parent maps it and reads it
back in C++, its arrays and tensors views of the mapping (a private copy-on-write mapping:
writable, no copy). When the parent's last view of a row group goes, the slot goes back to its
worker for reuse. No Python loop over rows on either side. The parent takes items round-robin, so the order is the plan's, as with threads.

Workers are reused: when a reader has read all its items, its workers wait for the next
process-pool reader of the same process (``IDLE_SECONDS`` at most), so a loop that makes a reader
per epoch starts the interpreters once. Each worker runs at most ``_CREDITS`` items ahead of the parent (a byte per item consumed goes
back), so memory stays bounded. Functions (transforms, predicates) travel by pickle: by
reference when importable, by value when they are defined in the main script (as dill does for
Petastorm), so a script's functions and lambdas work; others (a lambda in a module) must be
module-level.
"""
import array
import atexit
import builtins
import importlib
import io
import marshal
import mmap
import os
import pickle
import socket
import struct
import subprocess
import sys
import types

from petastorm import _core

DATA, ERROR, END = b'D', b'E', b'X'
HEADER = struct.Struct('<cQq')  # tag, payload size, shared-memory slot (-1: none)
RELEASE = struct.Struct('<cq')  # b'r', slot
_CREDITS = 2


# --- Pickling the worker's arguments ----------------------------------------------------------

def _rebuild_module(name):
    return importlib.import_module(name)


# Globals of functions sent by value, shared by all of them in a worker (as one module's are).
_MAIN_GLOBALS = {'__builtins__': builtins, '__name__': '__petastorm_main__'}


def _rebuild_function(code, name, defaults, kwdefaults, closure):
    cells = None if closure is None else tuple(types.CellType(v) for v in closure)
    function = types.FunctionType(marshal.loads(code), _MAIN_GLOBALS, name, defaults, cells)
    function.__kwdefaults__ = kwdefaults
    return function


def _set_function_globals(function, state):
    _MAIN_GLOBALS.update(state)


def _global_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


class _WorkerPickler(pickle.Pickler):
    """Pickle, plus functions of ``__main__`` (and the modules they use) by value."""

    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            return _rebuild_module, (obj.__name__,)
        if isinstance(obj, types.FunctionType) and obj.__module__ == '__main__':
            code = obj.__code__
            referenced = {name: obj.__globals__[name] for name in _global_names(code) if name in obj.__globals__}
            closure = None if obj.__closure__ is None else tuple(c.cell_contents for c in obj.__closure__)
            return (_rebuild_function, (marshal.dumps(code), obj.__name__, obj.__defaults__, obj.__kwdefaults__,
                                        closure), referenced, None, None, _set_function_globals)
        return NotImplemented


def dumps_for_worker(obj):
    """`obj` pickled for a worker process; ValueError naming the problem when it cannot be."""
    buffer = io.BytesIO()
    try:
        _WorkerPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception as e:
        raise ValueError("reader_pool_type='process' sends the transform_spec and the predicate to worker "
                         'processes with pickle, which failed ({}); use module-level functions instead of lambdas '
                         'or closures, or define them in the main script'.format(e))
    return buffer.getvalue()


# --- The parent's side ------------------------------------------------------------------------

# Workers that finished a reader's items wait here for the next process-pool reader of this
# process (a training loop makes a reader per epoch: it then pays the interpreter start once).
# A worker left idle for IDLE_SECONDS exits by itself.
IDLE_SECONDS = 30
_idle = []
_idle_pid = os.getpid()


class _Worker(object):
    """A worker process, the parent's end of its socket, and the queue of its slots the
    parent's row groups have let go of."""

    def __init__(self):
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(_import_paths())
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'petastorm.process_worker', str(child.fileno()), str(IDLE_SECONDS)],
            pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
        child.close()
        self.queue = _core.ReleaseQueue()

    def tell(self, message):
        try:
            self.sock.send(message)
        except OSError:
            pass  # the worker left; what it sent is still to be read

    def release_slots(self):
        for slot in self.queue.take():
            self.tell(RELEASE.pack(b'r', slot))

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        if self.alive():
            self.process.terminate()
        self.process.wait()
        self.sock.close()


def _import_paths():
    """Where the parent imports from (its script's directory, test paths, ...)."""
    return [p if p else os.getcwd() for p in sys.path]


def _take_workers(count):
    global _idle, _idle_pid
    if _idle_pid != os.getpid():  # a forked child: those are its parent's workers
        _idle, _idle_pid = [], os.getpid()
    workers = []
    while _idle and len(workers) < count:
        worker = _idle.pop()
        if worker.alive():
            workers.append(worker)
        else:
            worker.kill()
    while len(workers) < count:
        workers.append(_Worker())
    return workers


def _return_workers(workers):
    if _idle_pid == os.getpid():
        _idle.extend(workers)
    else:
        for worker in workers:
            worker.kill()


@atexit.register
def _kill_idle_workers():
    if _idle_pid == os.getpid():
        while _idle:
            _idle.pop().kill()


class ProcessPool(object):
    """Worker processes and the parent's round-robin collection of their row groups.

    :param workers_count: worker processes.
    :param worker_spec: what each worker builds its reader from (see petastorm.process_worker),
        picklable with :func:`dumps_for_worker`.
    :param schema: the core Unischema of the row groups the workers send.
    """

    def __init__(self, workers_count, worker_spec, schema):
        self._count = workers_count
        self._payload = dumps_for_worker(worker_spec)
        self._schema = schema
        self._workers = []
        self._error = None
        self._start(None, None)

    def _start(self, start, seed):
        self._workers = _take_workers(self._count)
        for k, worker in enumerate(self._workers):
            worker.release_slots()
            job = pickle.dumps({'slice_index': k, 'slice_count': self._count, 'credits': _CREDITS,
                                'sys_path': _import_paths(), 'spec': self._payload, 'start': start, 'seed': seed})
            _send_blob(worker.sock, job)
        self._sequence = 0
        self._done = False
        self._ended = set()  # workers whose end marker was read
        self._error = None

    def next(self):
        """The next work item's decoded row group (maybe empty); None at the end. A worker's
        error is raised, and raised again by every later call (sticky, as the thread pool's)."""
        if self._error is not None:
            raise self._error
        if self._done:
            return None
        k = self._sequence % self._count
        worker = self._workers[k]
        tag, size, slot, fds = self._receive(k)
        if tag == END:
            self._ended.add(k)
            self._done = True
            return None
        if tag == ERROR:
            self._fail(pickle.loads(map_memfd(fds[0], size)))
        try:
            group = _core.row_group_from_memfd(fds[0], size, self._schema, worker.queue, slot)
        finally:
            os.close(fds[0])
        self._sequence += 1
        worker.tell(b'c')  # one more item may go ahead
        for other in self._workers:
            other.release_slots()
        return group

    def _receive(self, k):
        worker = self._workers[k]
        try:
            message, fds = recv_fds(worker.sock, HEADER.size)
        except OSError as e:
            message, fds = b'', []
            reason = str(e)
        else:
            reason = None
        if len(message) != HEADER.size:
            for fd in fds:
                os.close(fd)
            self._fail(RuntimeError('Reader worker process {} exited unexpectedly (exit code {}){}'.format(
                k, worker.process.poll(), ': ' + reason if reason else '')))
        tag, size, slot = HEADER.unpack(message)
        return tag, size, slot, fds

    def _fail(self, error):
        self._error = error
        self.stop()
        raise error

    def stop(self):
        """Ends this pool's use of its workers: those that delivered all their items wait for
        the next reader; the others (stopped mid-way, failed) are terminated."""
        if not self._workers:
            self._done = True
            return
        keep = []
        for k, worker in enumerate(self._workers):
            if self._error is None and self._done and self._finished(k):
                keep.append(worker)
            else:
                worker.kill()
        self._workers = []
        self._done = True
        _return_workers(keep)

    def _finished(self, k):
        """Whether worker k has sent its end marker (reading it if it is waiting)."""
        if k in self._ended:
            return True
        worker = self._workers[k]
        worker.sock.settimeout(1.0)
        try:
            message = worker.sock.recv(HEADER.size)
        except OSError:
            return False
        finally:
            worker.sock.settimeout(None)
        return len(message) == HEADER.size and HEADER.unpack(message)[0] == END

    def join(self):
        """Waits for the workers this pool terminated."""

    def restart(self, start=None, seed=None):
        """Stops and starts again, the workers' readers at the reader position `start` (None:
        the plan's beginning) with the plan seed `seed` (None: the spec's)."""
        self.stop()
        self._start(start, seed)


def recv_fds(sock, bufsize, flags=0):
    """One message and the descriptors passed with it (socket.recv_fds, which ignores `flags`
    before Python 3.12)."""
    fds = array.array('i')
    message, ancillary, _, _ = sock.recvmsg(bufsize, socket.CMSG_LEN(4 * fds.itemsize), flags)
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    return message, list(fds)


def _send_blob(sock, data):
    """A payload of any size over a SEQPACKET socket, in a memfd."""
    fd = os.memfd_create('petastorm-job', os.MFD_CLOEXEC)
    try:
        write_all(fd, data)
        socket.send_fds(sock, [HEADER.pack(DATA, len(data), -1)], [fd])
    finally:
        os.close(fd)


def write_all(fd, data):
    view = memoryview(data).cast('B')
    while view:
        written = os.write(fd, view)
        view = view[written:]


def map_memfd(fd, size):
    """A private, writable mapping of the memfd `fd` (closed here)."""
    try:
        if size == 0:
            return bytearray()
        return mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
