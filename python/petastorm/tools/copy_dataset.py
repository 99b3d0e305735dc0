"""petastorm-copy-dataset: copies a Petastorm dataset, optionally only the fields matching
regular expressions, without the rows where given fields are null, into a number of files
(--partition-count) with row groups of a size (--row-group-size-mb).

    petastorm-copy-dataset SOURCE_URL TARGET_URL [--overwrite-output] [--field-regex R ...]
        [--not-null-fields F ...] [--partition-count N] [--row-group-size-mb M]
        [--master M] [--spark-session-config k=v ...] [--no-progress]

With --master or --spark-session-config the copy is a Spark job (Petastorm's: read with
spark.read.parquet, written inside materialize_dataset). Without them it runs here: the stored
columns are copied as they are (nothing decoded or re-encoded) with Arrow, and a progress bar
with rows and rows/s is drawn on a terminal. Either way the target gets the (sub-)schema in
its metadata, ours and Petastorm's.
"""
import argparse
import logging
import operator
import os
import sys
from functools import reduce

from petastorm.etl.dataset_metadata import get_schema_from_dataset_url, materialize_dataset, write_dataset_metadata
from petastorm.tools.progress import RowProgress
from petastorm.tools.spark_session_cli import add_configure_spark_arguments, configure_spark
from petastorm.unischema import match_unischema_fields

# Spark's default parquet.block.size: the row-group size when none is given.
_DEFAULT_ROW_GROUP_SIZE_MB = 128


def _subschema(schema, field_regex, not_null_fields):
    fields = match_unischema_fields(schema, field_regex)
    if field_regex and not fields:
        raise ValueError('Regular expressions ({}) do not match any fields ({})'.format(
            field_regex, list(schema.fields)))
    subschema = schema.create_schema_view(fields) if fields else schema
    missing = [f for f in (not_null_fields or ()) if f not in subschema.fields]
    if missing:
        raise ValueError('--not-null-fields {} are not fields of the copied schema ({})'.format(
            missing, list(subschema.fields)))
    return subschema


def copy_dataset(spark, source_url, target_url, field_regex, not_null_fields, overwrite_output, partitions_count,
                 row_group_size_mb, hdfs_driver='libhdfs3', progress=True):
    """Copies the dataset at `source_url` to `target_url`: the fields matching `field_regex` (all
    when None), the rows whose `not_null_fields` all have values, `partitions_count` files
    (None: Spark's choice / one per source file), row groups of `row_group_size_mb`. Fails when
    `target_url` holds data and not `overwrite_output`. `spark`: a SparkSession (the copy is a
    Spark job) or None (it runs here)."""
    schema = get_schema_from_dataset_url(source_url, hdfs_driver=hdfs_driver)
    subschema = _subschema(schema, field_regex, not_null_fields)
    if spark is not None:
        with materialize_dataset(spark, target_url, subschema, row_group_size_mb):
            df = spark.read.parquet(source_url)
            if field_regex:
                df = df.select(*subschema.fields)
            if not_null_fields:
                df = df.filter(reduce(operator.__and__, (df[f].isNotNull() for f in not_null_fields)))
            if partitions_count:
                df = df.repartition(partitions_count)
            df.write.mode('overwrite' if overwrite_output else 'error').option('compression', 'none') \
                .parquet(target_url)
        return
    _copy_here(source_url, target_url, subschema, not_null_fields, overwrite_output, partitions_count,
               row_group_size_mb or _DEFAULT_ROW_GROUP_SIZE_MB, progress)


def _filesystem(url):
    import pyarrow.fs
    url = str(url)
    if '://' not in url:
        url = 'file://' + os.path.abspath(url)
    return pyarrow.fs.FileSystem.from_uri(url)


def _copy_here(source_url, target_url, subschema, not_null_fields, overwrite_output, partitions_count,
               row_group_size_mb, progress):
    import numpy as np
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.fs
    import pyarrow.parquet as pq

    source_fs, source_path = _filesystem(source_url)
    target_fs, target_path = _filesystem(target_url)
    info = target_fs.get_file_info(target_path)
    if info.type == pyarrow.fs.FileType.Directory and target_fs.get_file_info(
            pyarrow.fs.FileSelector(target_path)):
        if not overwrite_output:
            raise FileExistsError('{} already exists; pass overwrite_output=True (--overwrite-output) to replace '
                                  'it'.format(target_url))
        target_fs.delete_dir_contents(target_path)
    elif info.type == pyarrow.fs.FileType.File:
        raise FileExistsError('{} is a file'.format(target_url))
    target_fs.create_dir(target_path, recursive=True)

    source = pads.dataset(source_path, filesystem=source_fs, format='parquet', partitioning='hive')
    names = list(subschema.fields)
    # Hive partition keys come back typed as the schema says (a key of digits stays a string).
    fragments = list(source.get_fragments())
    stored = set(fragments[0].physical_schema.names) if fragments else set()
    keys = set(source.schema.names) - stored  # hive partition keys: in directory names, not in the files
    casts = {name: pa.string() if subschema.fields[name].numpy_dtype in (np.str_, str) else pa.int64()
             for name in names if name in keys}
    condition = None
    if not_null_fields:
        condition = reduce(operator.and_, (pads.field(f).is_valid() for f in not_null_fields))
    row_group_bytes = int(row_group_size_mb * 1024 * 1024)
    total = source.count_rows(filter=condition) if partitions_count else None
    rows_per_file = -(-total // partitions_count) if partitions_count and total else None

    writer = None
    file_count = 0
    rows_in_file = 0
    pending, pending_bytes = [], 0

    def flush():
        nonlocal pending, pending_bytes
        if pending:
            table = pa.Table.from_batches(pending)
            writer.write_table(table, row_group_size=table.num_rows)
        pending, pending_bytes = [], 0

    def close_file():
        nonlocal writer, rows_in_file
        flush()
        if writer is not None:
            writer.close()
            writer = None
        rows_in_file = 0

    try:
        with RowProgress('copy', total, enabled=progress) as bar:
            for fragment in source.get_fragments(filter=condition):
                if rows_per_file is None:
                    close_file()  # one target file per source file
                for batch in fragment.to_batches(schema=source.schema, columns=names, filter=condition):
                    if casts:
                        batch = pa.RecordBatch.from_arrays(
                            [batch.column(n).cast(casts[n]) if n in casts else batch.column(n) for n in names],
                            names=names)
                    while batch.num_rows:
                        if writer is None:
                            path = '{}/part-{:05d}.parquet'.format(target_path, file_count)
                            writer = pq.ParquetWriter(path, batch.schema, filesystem=target_fs,
                                                      compression='none')
                            file_count += 1
                        take = batch.num_rows if rows_per_file is None else \
                            min(batch.num_rows, rows_per_file - rows_in_file)
                        piece = batch.slice(0, take)
                        pending.append(piece)
                        pending_bytes += piece.nbytes
                        rows_in_file += take
                        bar.add(take)
                        batch = batch.slice(take)
                        if pending_bytes >= row_group_bytes:
                            flush()
                        if rows_per_file is not None and rows_in_file >= rows_per_file:
                            close_file()
            close_file()
        if file_count == 0:
            raise ValueError('Nothing to copy: no row of {} is left{}'.format(
                source_url, ' after the not-null filter' if condition is not None else ''))
        write_dataset_metadata(target_url if '://' in str(target_url) else os.path.abspath(target_url), subschema)
    except BaseException:
        if writer is not None:
            writer.close()
        target_fs.delete_dir_contents(target_path, missing_dir_ok=True)
        raise


def args_parser():
    parser = argparse.ArgumentParser(prog='petastorm-copy-dataset', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('source_url', help='A url of a source petastorm dataset', type=str)
    parser.add_argument('target_url', help='A url of a target petastorm datset', type=str)
    parser.add_argument('--overwrite-output', action='store_true',
                        help='If the flag is set to false, the script will fail '
                             'in case when the output directory already exists')
    parser.add_argument('--field-regex', type=str, nargs='+',
                        help='A list of regular expressions. Only fields that match one of the regex patterns will '
                             'be copied.')
    parser.add_argument('--not-null-fields', type=str, nargs='+',
                        help='All names in this list must be not null in the source dataset in order to be copied to '
                             'the target dataset.')
    parser.add_argument('--partition-count', type=int, required=False,
                        help='Specifies number of partitions in the output dataset')
    parser.add_argument('--row-group-size-mb', type=int, required=False,
                        help='Specifies the row group size in the created dataset')
    parser.add_argument('--hdfs-driver', type=str, default='libhdfs3',
                        help='Accepted for compatibility with Petastorm; no effect.')
    parser.add_argument('--no-progress', dest='progress', action='store_false',
                        help='Do not draw the progress bar (it is drawn only on a terminal anyway).')
    add_configure_spark_arguments(parser)
    return parser


def _main(sys_argv):
    logging.basicConfig()
    args = args_parser().parse_args(sys_argv)
    spark = None
    if args.master or args.spark_session_config:
        from pyspark.sql import SparkSession
        # Few rows per row group: Spark's default split size would make far too many partitions.
        spark = configure_spark(SparkSession.builder.appName('petastorm-copy'), args) \
            .config('spark.sql.files.maxPartitionBytes', '1010612736').getOrCreate()
    try:
        copy_dataset(spark, args.source_url, args.target_url, args.field_regex, args.not_null_fields,
                     args.overwrite_output, args.partition_count, args.row_group_size_mb,
                     hdfs_driver=args.hdfs_driver, progress=args.progress)
    finally:
        if spark is not None:
            spark.stop()


def main():
    _main(sys.argv[1:])


if __name__ == '__main__':
    _main(sys.argv[1:])
