"""Spark and Petastorm datasets (Petastorm's petastorm.spark_utils): reading a dataset as an RDD
of decoded rows, and generating a dataset's DataFrame with the rows encoded in C++ inside Spark.

The vectorized generation path: ``encode_dataframe(df, schema, row_fn)`` maps the partitions of
any DataFrame through ``mapInArrow``; each Arrow batch's rows go through `row_fn` (a Python
function: one call per row) and then are validated and encoded together by the C++ RowEncoder
(the codecs run in native threads, not one Python call per field per row). The result has
``schema.as_spark_schema()`` and is written with ``df.write.parquet(url)`` inside
``materialize_dataset`` as in the row path (``dict_to_spark_row``)."""
import pyarrow as pa

from petastorm.etl.dataset_metadata import get_schema_from_dataset_url
from petastorm.utils import decode_row

# Rows encoded per Arrow batch handed back to Spark.
_ENCODE_BATCH_ROWS = 256


def dataset_as_rdd(dataset_url, spark_session, schema_fields=None, hdfs_driver='libhdfs3'):
    """An RDD of the dataset's rows, decoded, as namedtuples of the schema (or of the view of
    `schema_fields`: UnischemaFields or full-match regexes). Spark reads the Parquet files;
    the codecs decode in the Spark workers."""
    schema = get_schema_from_dataset_url(dataset_url, hdfs_driver=hdfs_driver)
    df = spark_session.read.parquet(_spark_path(dataset_url))
    if schema_fields is not None:
        schema = schema.create_schema_view(list(schema_fields))
        df = df.select(*[name for name in schema.fields])

    def decode_partition(rows):
        make = schema.make_namedtuple
        for row in rows:
            yield make(**decode_row(row.asDict(), schema))

    return df.rdd.mapPartitions(decode_partition)


def _spark_path(dataset_url):
    """What spark.read.parquet takes for a dataset URL (a local path as file://)."""
    url = str(dataset_url)
    return url if '://' in url else 'file://' + url


def _spark_arrow_schema(stored):
    """The Arrow schema Spark expects back from mapInArrow for the `stored` Arrow schema (the
    RowEncoder's): Spark's types, unsigned and half types widened as in as_spark_schema()."""
    from petastorm.codecs import SPARK_TO_ARROW, spark_type_call_of
    fields = []
    for field in stored:
        name, args = spark_type_call_of(field.type)
        arrow_type = pa.decimal128(*args) if name == 'DecimalType' else \
            pa.timestamp('us', tz='UTC') if name == 'TimestampType' else SPARK_TO_ARROW[name]
        fields.append(pa.field(field.name, arrow_type, field.nullable))
    return pa.schema(fields)


def _encode_batches(schema, row_fn, batches):
    """mapInArrow's function: input Arrow batches -> encoded Arrow batches of `schema`."""
    from petastorm import _core
    encoder = _core.RowEncoder(schema.core_schema())
    target = _spark_arrow_schema(encoder.arrow_schema)
    rows_seen = 0
    for batch in batches:
        rows = batch.to_pylist()
        for start in range(0, len(rows), _ENCODE_BATCH_ROWS):
            chunk = rows[start:start + _ENCODE_BATCH_ROWS]
            if row_fn is not None:
                chunk = [row_fn(row) for row in chunk]
            table = encoder.encode(chunk, rows_seen)
            rows_seen += len(chunk)
            for out in table.cast(target).to_batches():
                yield out


def encode_dataframe(df, schema, row_fn=None):
    """A DataFrame of ``schema.as_spark_schema()`` whose rows are `row_fn(row)` for each row of
    `df` (a dict of its columns; None: the rows as they are), validated and encoded by the C++
    codecs inside Spark. Errors name the field and the row (numbered within its partition)."""
    from petastorm import _core
    spark_schema = schema.as_spark_schema()
    # Fails here, on the driver, for a schema Spark cannot store.
    _spark_arrow_schema(_core.RowEncoder(schema.core_schema()).arrow_schema)

    def encode_partition(batches):
        return _encode_batches(schema, row_fn, batches)

    return df.mapInArrow(encode_partition, spark_schema)


def generate_dataframe(spark, schema, row_generator, num_rows, num_partitions=None):
    """A DataFrame of `num_rows` rows ``row_generator(i)`` (a dict of field values, i from 0 to
    num_rows - 1), encoded in C++ inside Spark (see encode_dataframe): the vectorized form of
    ``sc.parallelize(range(n)).map(row_generator).map(lambda x: dict_to_spark_row(schema, x))``."""
    ids = spark.range(0, int(num_rows), numPartitions=num_partitions)

    def row_of(row):
        return row_generator(row['id'])

    return encode_dataframe(ids, schema, row_of)
