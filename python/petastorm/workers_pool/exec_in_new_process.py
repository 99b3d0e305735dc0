"""``exec_in_new_process(func, *args, **kargs)``: run a function in a fresh interpreter (exec, not fork).

The function and its arguments are pickled to a temporary file and
``python -m petastorm.workers_pool.exec_in_new_process_entrypoint <file>`` is launched; it loads
the file, deletes it and calls ``func(*args, **kargs)``. Returns the ``subprocess.Popen`` object.
Petastorm pickles with dill; here plain pickle is used, so ``func`` must be importable
(module-level). The child gets this process's ``sys.path`` as ``PYTHONPATH``.
"""
import os
import pickle
import subprocess
import sys
import tempfile


def exec_in_new_process(func, *args, **kargs):
    """Launch ``func(*args, **kargs)`` in a new Python process; returns its ``subprocess.Popen``."""
    fd, path = tempfile.mkstemp(prefix='petastorm_exec_', suffix='.pkl')
    try:
        with os.fdopen(fd, 'wb') as f:
            pickle.dump((func, args, kargs), f, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        os.remove(path)
        raise
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in [os.getcwd()] + sys.path if p)
    return subprocess.Popen([sys.executable, '-m', 'petastorm.workers_pool.exec_in_new_process_entrypoint', path],
                            env=env)
