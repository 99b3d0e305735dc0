"""The loaded-machine mode of `make bench` (run.py --load N, --load-threads N): background CPU load.

    python benchmarks/load.py spin              one process spinning a pure-Python loop (one core)
    python benchmarks/load.py bursts THREADS    one process of THREADS threads, each repeating 1 ms of
                                                SHA-256 hashing (hashlib releases the GIL, so the threads
                                                run in parallel like a native thread pool's) and 1 ms of
                                                sleep: THREADS / 2 cores of demand in short bursts, about
                                                500 wake-ups a second per thread

run.py starts them (BackgroundLoad) before each contender's process and stops them after it, the
same for every contender; they run at the contenders' priority. Standard library only.
"""
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

BURST_S = 0.001
SLEEP_S = 0.001


def spin():
    while True:
        pass


def _bursts():
    block = os.urandom(1 << 14)  # 16 KiB a call: above hashlib's 2 KiB threshold for releasing the GIL
    while True:
        end = time.perf_counter() + BURST_S
        digest = hashlib.sha256()
        while time.perf_counter() < end:
            digest.update(block)
        time.sleep(SLEEP_S)


def bursts(threads):
    for _ in range(threads):
        threading.Thread(target=_bursts, daemon=True).start()
    signal.sigwait([signal.SIGTERM, signal.SIGINT])


def describe(spinners, threads):
    parts = []
    if spinners:
        parts.append('{} background process{} spinning a pure-Python loop (one core each)'.format(
            spinners, 'es' if spinners > 1 else ''))
    if threads:
        parts.append('one background process of {} threads, each repeating {:g} ms of SHA-256 hashing outside '
                     'the GIL and {:g} ms of sleep ({:g} cores of demand in short bursts, like a framework\'s '
                     'thread pool)'.format(threads, BURST_S * 1000, SLEEP_S * 1000,
                                           threads * BURST_S / (BURST_S + SLEEP_S)))
    return ' and '.join(parts)


class BackgroundLoad(object):
    """A context manager: the load processes run inside the `with` block (none when both are 0)."""

    def __init__(self, spinners=0, threads=0, python=sys.executable, settle_s=0.3):
        self.commands = [[python, os.path.abspath(__file__), 'spin'] for _ in range(spinners)]
        if threads:
            self.commands.append([python, os.path.abspath(__file__), 'bursts', str(threads)])
        self.settle_s = settle_s
        self.processes = []

    def __enter__(self):
        self.processes = [subprocess.Popen(c, stdin=subprocess.DEVNULL) for c in self.commands]
        if self.processes:
            time.sleep(self.settle_s)  # interpreters started, threads running
        return self

    def __exit__(self, *exc):
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes = []
        return False


def main(argv):
    if argv[:1] == ['spin']:
        spin()
    elif argv[:1] == ['bursts'] and len(argv) == 2:
        bursts(int(argv[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
