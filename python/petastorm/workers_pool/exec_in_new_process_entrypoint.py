"""Entry point of :func:`petastorm.workers_pool.exec_in_new_process.exec_in_new_process`."""
import os
import pickle
import sys


def main(path):
    with open(path, 'rb') as f:
        func, args, kargs = pickle.load(f)
    os.remove(path)
    func(*args, **kargs)


if __name__ == '__main__':
    main(sys.argv[1])
