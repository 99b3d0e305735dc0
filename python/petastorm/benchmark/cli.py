"""petastorm-throughput: makes a reader over a dataset and measures its throughput.

    petastorm-throughput DATASET_PATH [-w 3] [-p thread|process|dummy] [-m 200] [-n 1000]
                         [-d python|tf] [--field-regex REGEX ...] [--batch]

Prints samples (rows) per second, the process's RSS and its CPU use. With --batch the reader is
make_batch_reader and a cycle is one batch. A progress bar is drawn when stderr is a terminal.
"""
import argparse
import logging
import sys

from petastorm.benchmark.throughput import ReadMethod, WorkerPoolType, reader_throughput

logger = logging.getLogger(__name__)

# Petastorm's: unless given, min-after-dequeue is this fraction of the shuffling queue size.
DEFAULT_MIN_AFTER_DEQUEUE_TO_QUEUE_SIZE_RATIO = 0.8


def _parse_args(args):
    parser = argparse.ArgumentParser(prog='petastorm-throughput', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset_path', type=str, help='URL or path of a Petastorm dataset (any Parquet store '
                                                       'with --batch)')
    parser.add_argument('--field-regex', type=str, nargs='+',
                        help='Regular expressions; only fields whose names match one of them are read.')
    parser.add_argument('-w', '--workers-count', type=int, default=3, help='Number of workers used by the reader')
    parser.add_argument('-p', '--pool-type', type=WorkerPoolType, default=WorkerPoolType.THREAD,
                        choices=list(WorkerPoolType), help='Type of the worker pool used by the reader')
    parser.add_argument('-m', '--warmup-cycles', type=int, default=200,
                        help='Cycles read before measuring; not accounted for in the results.')
    parser.add_argument('-n', '--measure-cycles', type=int, default=1000,
                        help='Cycles measured, after the warm-up cycles.')
    parser.add_argument('--profile-threads', dest='profile_threads', action='store_true',
                        help='Accepted for compatibility with Petastorm; no effect.')
    parser.add_argument('-d', '--read-method', type=ReadMethod, choices=list(ReadMethod), default=ReadMethod.PYTHON,
                        help="'python': next(reader); 'tf': through a small TensorFlow graph (tf_tensors).")
    parser.add_argument('-q', '--shuffling-queue-size', type=int, default=500,
                        help='Size of the shuffling queue of the tf read method.')
    parser.add_argument('--min-after-dequeue', type=int, default=None,
                        help='Minimum number of elements in the shuffling queue before reading from it; default '
                             '{:.0f}%% of --shuffling-queue-size.'.format(
                                 100 * DEFAULT_MIN_AFTER_DEQUEUE_TO_QUEUE_SIZE_RATIO))
    parser.add_argument('--batch', action='store_true',
                        help='Read with make_batch_reader; a cycle is then one batch and samples are rows.')
    parser.add_argument('--no-progress', dest='progress', action='store_false',
                        help='Do not draw the progress bar (it is drawn only on a terminal anyway).')
    parser.add_argument('--profile', action='store_true', default=False,
                        help='Print where the reader spent its time (stages, consumer wait) after measuring.')
    parser.add_argument('-vv', action='store_true', default=False, help='Sets logging level to DEBUG.')
    parser.add_argument('-v', action='store_true', default=False, help='Sets logging level to INFO.')
    args = parser.parse_args(args)
    if args.min_after_dequeue is None:
        args.min_after_dequeue = int(DEFAULT_MIN_AFTER_DEQUEUE_TO_QUEUE_SIZE_RATIO * args.shuffling_queue_size)
    for name in ('workers_count', 'warmup_cycles', 'measure_cycles'):
        if getattr(args, name) < (1 if name != 'warmup_cycles' else 0):
            parser.error('--{} must be positive'.format(name.replace('_', '-')))
    return args


def _main(args):
    logging.basicConfig()
    args = _parse_args(args)
    if args.v:
        logging.getLogger().setLevel(logging.INFO)
    if args.vv:
        logging.getLogger().setLevel(logging.DEBUG)
    try:
        results = reader_throughput(args.dataset_path, args.field_regex, warmup_cycles_count=args.warmup_cycles,
                                    measure_cycles_count=args.measure_cycles, pool_type=args.pool_type,
                                    loaders_count=args.workers_count, profile_threads=args.profile_threads,
                                    read_method=args.read_method, shuffling_queue_size=args.shuffling_queue_size,
                                    min_after_dequeue=args.min_after_dequeue, batch=args.batch,
                                    progress=args.progress, profile=args.profile)
    except (NotImplementedError, ValueError, OSError, RuntimeError) as e:
        print('petastorm-throughput: error: {}'.format(e), file=sys.stderr)
        return 1
    logger.info('Done')
    # Petastorm's line as it printed it (scripts parse it), then the peak RSS on a line of its own.
    print('Average sample read rate: {:1.2f} samples/sec; RAM {:1.2f} MB (rss); CPU {:1.2f}%'.format(
        results.samples_per_second, results.memory_info.rss / 2 ** 20, results.cpu))
    print('Peak RAM {:1.2f} MB (peak rss)'.format(results.memory_info.peak_rss / 2 ** 20))
    return 0


def main():
    sys.exit(_main(sys.argv[1:]))


if __name__ == '__main__':
    main()
