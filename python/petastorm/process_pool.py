"""reader_pool_type='process': worker processes for GIL-bound Python predicates and transforms.

Each worker is a fresh interpreter started through this package's own entry point
(``python -m petastorm.process_worker``), never by re-importing the user's ``__main__``: a script
without an ``if __name__ == '__main__':`` guard, or one read from standard input, runs once.
Each runs the same C++ plan (same seed) and takes every N-th work item (an ItemSlice); it reads,
decodes, evaluates the predicate and applies the transform, then sends the item's decoded row
group in its Arrow IPC form (petastorm/row_group_ipc.h), serialized in C++, in a memfd passed
over a Unix socket: the parent maps it and reads it back in C++, its arrays and tensors views of
the mapping (a private copy-on-write mapping: writable, no copy). No Python loop over rows on
either side. The parent takes items round-robin, so the order is the plan's, as with threads.

Each worker runs at most ``_CREDITS`` items ahead of the parent (a byte per item consumed goes
back), so memory stays bounded. Functions (transforms, predicates) travel by pickle: by
reference when importable, by value when they are defined in the main script (as dill does for
Petastorm), so a script's functions and lambdas work; others (a lambda in a module) must be
module-level.
"""
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

_DATA, _ERROR, _END = b'D', b'E', b'X'
_HEADER = struct.Struct('<cQ')
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
        self._procs = []
        self._socks = []
        self._error = None
        self._start()

    def _start(self):
        env = dict(os.environ)
        # The child finds what the parent imports (its script's directory, test paths, ...).
        paths = [p if p else os.getcwd() for p in sys.path]
        env['PYTHONPATH'] = os.pathsep.join(paths)
        for k in range(self._count):
            parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            process = subprocess.Popen(
                [sys.executable, '-m', 'petastorm.process_worker', str(child.fileno())],
                pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
            child.close()
            init = pickle.dumps({'slice_index': k, 'slice_count': self._count, 'credits': _CREDITS})
            _send_blob(parent, init)
            _send_blob(parent, self._payload)
            self._procs.append(process)
            self._socks.append(parent)
        self._sequence = 0
        self._done = False
        self._error = None

    def next(self):
        """The next work item's decoded row group (maybe empty); None at the end. A worker's
        error is raised, and raised again by every later call (sticky, as the thread pool's)."""
        if self._error is not None:
            raise self._error
        if self._done:
            return None
        k = self._sequence % self._count
        sock = self._socks[k]
        try:
            message, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 1)
        except OSError as e:
            message, fds = b'', []
            reason = str(e)
        else:
            reason = None
        if len(message) != _HEADER.size:
            for fd in fds:
                os.close(fd)
            code = self._procs[k].poll()
            self._fail(RuntimeError('Reader worker process {} exited unexpectedly (exit code {}){}'.format(
                k, code, ': ' + reason if reason else '')))
        tag, size = _HEADER.unpack(message)
        if tag == _END:
            self._done = True
            return None
        mapping = _map(fds[0], size)
        if tag == _ERROR:
            self._fail(pickle.loads(mapping))
        self._sequence += 1
        try:
            sock.send(b'c')  # one more item may go ahead
        except OSError:
            pass  # the worker has sent all its items and left; its end marker is waiting
        return _core.DecodedRowGroup.from_ipc(mapping, self._schema)

    def _fail(self, error):
        self._error = error
        self.stop()
        raise error

    def stop(self):
        for process in self._procs:
            if process.poll() is None:
                process.terminate()
        self._done = True

    def join(self):
        for process in self._procs:
            process.wait()
        for sock in self._socks:
            sock.close()
        self._procs = []
        self._socks = []

    def restart(self):
        self.stop()
        self.join()
        self._start()


def _send_blob(sock, data):
    """A payload of any size over a SEQPACKET socket, in a memfd."""
    fd = os.memfd_create('petastorm-init', os.MFD_CLOEXEC)
    try:
        _write_all(fd, data)
        socket.send_fds(sock, [_HEADER.pack(_DATA, len(data))], [fd])
    finally:
        os.close(fd)


def _write_all(fd, data):
    view = memoryview(data).cast('B')
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _map(fd, size):
    """A private, writable mapping of the memfd `fd` (closed here)."""
    try:
        if size == 0:
            return bytearray()
        return mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
