"""petastorm-generate-metadata: adds Petastorm's metadata to an existing Parquet store (written
by Spark, pyarrow, ...) or writes it again: the Unischema (ours and Petastorm's pickled form)
and every file's row-group count, read from the footers in C++. Row-group indexes already in
the store are kept.

    petastorm-generate-metadata --dataset_url URL [--unischema_class module.Schema]
        [--use-summary-metadata --master M] [--spark-driver-memory 4g] [--hdfs-driver D]

Without --unischema_class the store's own schema is written again. Spark is started only for
--use-summary-metadata (Parquet's _metadata summary file is made by Spark's
ParquetOutputCommitter).
"""
import argparse
import sys
from pydoc import locate

from petastorm import _core, fs_utils
from petastorm.etl.dataset_metadata import (PetastormMetadataError, ROWGROUPS_INDEX_JSON_KEY, ROWGROUPS_INDEX_KEY,
                                            petastorm_metadata, stored_unischema)
from petastorm.unischema import Unischema

_INDEX_KEYS = (ROWGROUPS_INDEX_KEY, ROWGROUPS_INDEX_JSON_KEY)


def generate_petastorm_metadata(spark, dataset_url, unischema_class=None, use_summary_metadata=False,
                                hdfs_driver='libhdfs3'):
    """Writes the metadata of the store at `dataset_url`. `unischema_class`: the dotted name of a
    Unischema instance (``examples.mnist.schema.MnistSchema``) or None for the stored one.
    `spark` is needed only with `use_summary_metadata` (None otherwise)."""
    if unischema_class:
        schema = locate(unischema_class)
        if not isinstance(schema, Unischema):
            raise ValueError('The specified class {} is not an instance of a petastorm.Unischema object.'.format(
                unischema_class))
        previous = {}
        try:
            previous = fs_utils.open_dataset(str(dataset_url)).metadata
        except (ValueError, OSError):
            pass
    else:
        dataset = fs_utils.open_dataset(str(dataset_url))
        schema, _ = stored_unischema(dataset)
        if schema is None:
            raise PetastormMetadataError('Unischema class could not be located in existing dataset, please '
                                         'specify it (--unischema_class)')
        previous = dataset.metadata
    if use_summary_metadata:
        if spark is None:
            raise ValueError('use_summary_metadata needs a Spark session (Spark writes the _metadata file)')
        sc = spark.sparkContext
        path = sc._gateway.jvm.org.apache.hadoop.fs.Path
        committer = sc._gateway.jvm.org.apache.parquet.hadoop.ParquetOutputCommitter
        committer.writeMetaDataFile(sc._jsc.hadoopConfiguration(), path(str(dataset_url)))
    extra = petastorm_metadata(schema)
    # Spark's summary file replaced _common_metadata: the indexes come back from before.
    extra.update({key: previous[key] for key in _INDEX_KEYS if key in previous})
    location = fs_utils.resolve(str(dataset_url))
    _core.write_dataset_metadata(location.filesystem, location.paths[0], location.url, schema.core_schema(), extra)


def _main(args):
    parser = argparse.ArgumentParser(prog='petastorm-generate-metadata', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset_url', help='the url to the dataset base directory', required=True)
    parser.add_argument('--unischema_class',
                        help='the fully qualified class of the dataset unischema. If not specified will attempt'
                             ' to reuse schema already in dataset. '
                             '(e.g. examples.hello_world.generate_hello_world_dataset.HelloWorldSchema)',
                        required=False)
    parser.add_argument('--master', type=str,
                        help='Spark master, for --use-summary-metadata (e.g. local[2])')
    parser.add_argument('--spark-driver-memory', type=str, default='4g',
                        help='The amount of memory the Spark driver process will have')
    parser.add_argument('--use-summary-metadata', action='store_true',
                        help='Also write the Parquet summary metadata file (_metadata), with Spark.')
    parser.add_argument('--hdfs-driver', type=str, default='libhdfs3',
                        help='Accepted for compatibility with Petastorm; no effect.')
    args = parser.parse_args(args)
    spark = None
    if args.use_summary_metadata:
        from pyspark.sql import SparkSession
        builder = SparkSession.builder.appName('Petastorm Generate Metadata') \
            .config('spark.driver.memory', args.spark_driver_memory)
        if args.master:
            builder = builder.master(args.master)
        spark = builder.getOrCreate()
    try:
        generate_petastorm_metadata(spark, args.dataset_url, args.unischema_class, args.use_summary_metadata,
                                    hdfs_driver=args.hdfs_driver)
    finally:
        if spark is not None:
            spark.stop()


def main():
    _main(sys.argv[1:])


if __name__ == '__main__':
    _main(sys.argv[1:])
