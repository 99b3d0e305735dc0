"""petastorm-metadata: prints a dataset's schema, row groups and row-group indexes (Petastorm's
metadata_util, also a console script here).

    petastorm-metadata --dataset-url URL [--schema] [--row-groups] [--index] [--print-values]
        [--skip-index NAME ...]

Without --schema, --row-groups or --index, prints all three.
"""
import argparse
import sys

from petastorm import _core, fs_utils
from petastorm.etl.dataset_metadata import stored_unischema
from petastorm.etl.rowgroup_indexing import get_row_group_indexes_of


def print_metadata(dataset_url, schema=False, row_groups=False, index=False, print_values=False, skip_index=None,
                   out=None):
    """Prints what petastorm-metadata prints to `out` (default stdout)."""
    out = out or sys.stdout
    dataset = fs_utils.open_dataset(str(dataset_url).rstrip('/'))
    print_all = not (schema or row_groups or index)
    if schema or print_all:
        print('*** Schema from dataset metadata ***', file=out)
        stored, _ = stored_unischema(dataset)
        print(stored if stored is not None else '(none: not a Petastorm dataset)', file=out)
    if row_groups or print_all:
        print('*** Row groups ***', file=out)
        files = dataset.files
        per_file = {}
        for file_index, _ in dataset.row_groups:
            per_file[file_index] = per_file.get(file_index, 0) + 1
        print('{} row groups in {} files'.format(dataset.num_row_groups, len(files)), file=out)
        root = dataset.url.split('://', 1)[-1].rstrip('/')
        for file_index, path in enumerate(files):
            relative = path[len(root) + 1:] if path.startswith(root + '/') else path
            print('  {}: {}'.format(relative, per_file.get(file_index, 0)), file=out)
    if index or print_all:
        print('*** Row group indexes from dataset metadata ***', file=out)
        indexes = get_row_group_indexes_of(dataset, missing_ok=True)
        if not indexes:
            print('(none)', file=out)
        for name, indexer in indexes.items():
            print('Index: {}'.format(name), file=out)
            if skip_index and name in skip_index:
                print('  (skipped)', file=out)
                continue
            for value in indexer.indexed_values:
                pieces = indexer.get_row_group_indexes(value)
                print('  -- {}({})'.format(value, len(pieces)), file=out)
                if print_values:
                    print(sorted(pieces), file=out)


def _main(args):
    parser = argparse.ArgumentParser(prog='petastorm-metadata', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset-url', type=str, help='the url to the dataset base directory', required=True)
    parser.add_argument('--schema', action='store_true', help='Display schema from metadata')
    parser.add_argument('--row-groups', action='store_true', help='Display the row groups of every file')
    parser.add_argument('--index', action='store_true', help='Display list of row group indexes')
    parser.add_argument('--print-values', action='store_true', help='Print index values (dataset piece indexes)')
    parser.add_argument('--skip-index', nargs='+', type=str, help='Do not display indexed values for given fields')
    parser.add_argument('--hdfs-driver', type=str, default='libhdfs3',
                        help='Accepted for compatibility with Petastorm; no effect.')
    args = parser.parse_args(args)
    print_metadata(args.dataset_url, args.schema, args.row_groups, args.index, args.print_values, args.skip_index)


def main():
    _main(sys.argv[1:])


if __name__ == '__main__':
    _main(sys.argv[1:])
