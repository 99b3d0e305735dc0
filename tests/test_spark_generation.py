"""Generating datasets with real PySpark (local[2]): the user guide's example, the original
repository's hello_world / mnist / imagenet generation patterns, the vectorized path, Spark SQL
over the result, dataset_as_rdd and Spark-built row-group indexes."""
import glob
import io
import os
from decimal import Decimal

import numpy as np
import pyarrow.parquet as pq
import pytest

pytest.importorskip('pyspark')

from PIL import Image  # noqa: E402
from pyspark.sql.types import IntegerType, StringType  # noqa: E402

from petastorm import make_batch_reader, make_reader  # noqa: E402
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec  # noqa: E402
from petastorm.etl.dataset_metadata import (PetastormMetadataGenerationError, get_schema_from_dataset_url,  # noqa
                                            materialize_dataset)
from petastorm.etl.rowgroup_indexers import SingleFieldIndexer  # noqa: E402
from petastorm.etl.rowgroup_indexing import build_rowgroup_index, get_row_group_indexes  # noqa: E402
from petastorm.selectors import SingleIndexSelector  # noqa: E402
from petastorm.spark_utils import dataset_as_rdd, encode_dataframe, generate_dataframe  # noqa: E402
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row  # noqa: E402
from spark_schemas import EveryCodecSchema, every_codec_row, hello_world_row  # noqa: E402

# ---- The user guide's "Generating a dataset", verbatim but for the URL (the guide's listing is
# cut short: its .map(row_generator) and .parquet(output_url) are those of Petastorm's
# examples/hello_world/petastorm_dataset/generate_petastorm_dataset.py).

# The schema defines how the dataset schema looks like
HelloWorldSchema = Unischema('HelloWorldSchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image1', np.uint8, (128, 256, 3), CompressedImageCodec('png'), False),
    UnischemaField('array_4d', np.uint8, (None, 128, 30, None), NdarrayCodec(), False),
])


def row_generator(x):
    """Returns a single entry in the generated dataset. Return a bunch of random values as an example."""
    return {'id': x,
            'image1': np.random.randint(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'array_4d': np.random.randint(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}


def generate_petastorm_dataset(output_url='file:///tmp/hello_world_dataset'):
    from pyspark.sql import SparkSession
    rowgroup_size_mb = 256

    spark = SparkSession.builder.config('spark.driver.memory', '2g').master('local[2]').getOrCreate()
    sc = spark.sparkContext

    # Wrap dataset materialization portion. Will take care of setting up spark environment variables as
    # well as save petastorm specific metadata
    rows_count = 10
    with materialize_dataset(spark, output_url, HelloWorldSchema, rowgroup_size_mb):

        rows_rdd = sc.parallelize(range(rows_count))\
            .map(row_generator)\
            .map(lambda x: dict_to_spark_row(HelloWorldSchema, x))

        spark.createDataFrame(rows_rdd, HelloWorldSchema.as_spark_schema()) \
            .coalesce(10) \
            .write \
            .mode('overwrite') \
            .parquet(output_url)

# ---- end of the guide's example


def _stored_cells(path, column):
    """{id: stored bytes of `column`} read with pyarrow, for decoding independently of us."""
    table = pq.read_table(path, columns=['id', column])
    return dict(zip(table.column('id').to_pylist(), table.column(column).to_pylist()))


def test_the_user_guide_example_runs_and_reads_back(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'hello_world_dataset')
    generate_petastorm_dataset(url)
    with make_reader(url) as reader:
        rows = {int(r.id): r for r in reader}
    assert sorted(rows) == list(range(10))
    images = _stored_cells(str(tmp_path / 'hello_world_dataset'), 'image1')
    arrays = _stored_cells(str(tmp_path / 'hello_world_dataset'), 'array_4d')
    for i, row in rows.items():
        assert row.image1.shape == (128, 256, 3) and row.image1.dtype == np.uint8
        assert row.array_4d.shape == (4, 128, 30, 3)
        # The values Spark's workers generated, decoded by PIL and numpy from the stored bytes.
        np.testing.assert_array_equal(row.image1, np.asarray(Image.open(io.BytesIO(images[i]))))
        np.testing.assert_array_equal(row.array_4d, np.load(io.BytesIO(arrays[i])))
    # Spark SQL counts it, as in the user guide's analysis section.
    assert spark.read.parquet(url).count() == 10
    assert spark.sql('SELECT count(id) from parquet.`{}`'.format(url)).collect()[0][0] == 10


def _hello_world_dataset(spark, url, rows=10, partitions=2, vectorized=False):
    with materialize_dataset(spark, url, HelloWorldSchema, 1):
        if vectorized:
            df = generate_dataframe(spark, HelloWorldSchema, hello_world_row, rows, num_partitions=partitions)
        else:
            rdd = spark.sparkContext.parallelize(range(rows), partitions).map(hello_world_row) \
                .map(lambda x: dict_to_spark_row(HelloWorldSchema, x))
            df = spark.createDataFrame(rdd, HelloWorldSchema.as_spark_schema())
        df.write.mode('overwrite').parquet(url)


@pytest.mark.parametrize('vectorized', [False, True], ids=['rows', 'vectorized'])
def test_generated_values_read_back_equal(spark, tmp_path, vectorized):
    url = 'file://' + str(tmp_path / 'ds')
    _hello_world_dataset(spark, url, rows=12, partitions=3, vectorized=vectorized)
    with make_reader(url, shuffle_row_groups=False) as reader:
        rows = sorted(reader, key=lambda r: r.id)
    assert [int(r.id) for r in rows] == list(range(12))
    for row in rows:
        expected = hello_world_row(int(row.id))
        np.testing.assert_array_equal(row.image1, expected['image1'])
        np.testing.assert_array_equal(row.array_4d, expected['array_4d'])
    assert get_schema_from_dataset_url(url).fields['array_4d'].shape == (None, 128, 30, None)


def test_both_paths_store_the_same_cells(spark, tmp_path):
    row_url, vec_url = 'file://' + str(tmp_path / 'rows'), 'file://' + str(tmp_path / 'vec')
    with materialize_dataset(spark, row_url, EveryCodecSchema):
        rdd = spark.sparkContext.parallelize(range(20), 2).map(every_codec_row) \
            .map(lambda x: dict_to_spark_row(EveryCodecSchema, x))
        spark.createDataFrame(rdd, EveryCodecSchema.as_spark_schema()).write.parquet(row_url)
    with materialize_dataset(spark, vec_url, EveryCodecSchema):
        generate_dataframe(spark, EveryCodecSchema, every_codec_row, 20, num_partitions=2).write.parquet(vec_url)
    for url in (row_url, vec_url):
        with make_reader(url) as reader:
            rows = sorted(reader, key=lambda r: r.id)
        assert len(rows) == 20
        for row in rows:
            expected = every_codec_row(int(row.id))
            for name in EveryCodecSchema.fields:
                got, want = getattr(row, name), expected[name]
                if want is None:
                    assert got is None, name
                elif name == 'jpeg':
                    assert np.abs(got.astype(int) - want).max() <= 3, name  # lossy, a flat image
                elif isinstance(want, np.ndarray):
                    np.testing.assert_array_equal(got, want, err_msg=name)
                else:
                    assert got == want, name
            assert isinstance(row.price, Decimal) and isinstance(row.small, np.uint8)
    stored_rows = pq.read_table(str(tmp_path / 'rows')).sort_by('id')
    stored_vec = pq.read_table(str(tmp_path / 'vec')).sort_by('id')
    for name in ('png', 'matrix', 'packed', 'words', 'name', 'price', 'small'):
        assert stored_rows.column(name).to_pylist() == stored_vec.column(name).to_pylist(), name


def test_vectorized_errors_name_the_field(spark, tmp_path):
    def bad_row(i):
        row = hello_world_row(i)
        if i == 3:
            row['image1'] = np.zeros((10, 10, 3), np.uint8)
        return row
    with pytest.raises(Exception, match="image1"):
        generate_dataframe(spark, HelloWorldSchema, bad_row, 6, num_partitions=1) \
            .write.parquet('file://' + str(tmp_path / 'bad'))


def test_encode_dataframe_maps_any_dataframe(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'mapped')
    source = spark.createDataFrame([(i, 'n{}'.format(i)) for i in range(7)], ['key', 'label'])
    schema = Unischema('Mapped', [UnischemaField('key', np.int64, (), None, False),
                                  UnischemaField('label', np.str_, (), None, False),
                                  UnischemaField('vector', np.float32, (3,), NdarrayCodec(), False)])
    with materialize_dataset(spark, url, schema):
        encode_dataframe(source, schema, lambda r: dict(r, vector=np.full(3, r['key'], np.float32))) \
            .write.parquet(url)
    with make_reader(url) as reader:
        rows = sorted(reader, key=lambda r: r.key)
    assert [(int(r.key), str(r.label), r.vector.tolist()) for r in rows] == \
        [(i, 'n{}'.format(i), [float(i)] * 3) for i in range(7)]


def test_materialize_dataset_sets_and_restores_the_hadoop_settings(spark, tmp_path):
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    conf.set('parquet.summary.metadata.level', 'COMMON_ONLY')
    conf.setInt('parquet.row-group.size.row.check.min', 100)
    url = 'file://' + str(tmp_path / 'ds')
    with materialize_dataset(spark, url, HelloWorldSchema, row_group_size_mb=1):
        assert conf.get('parquet.block.size') == str(1024 * 1024)
        assert conf.get('parquet.summary.metadata.level') == 'NONE'
        assert conf.get('parquet.row-group.size.row.check.min') == '3'
        rdd = spark.sparkContext.parallelize(range(40), 1).map(hello_world_row) \
            .map(lambda x: dict_to_spark_row(HelloWorldSchema, x))
        spark.createDataFrame(rdd, HelloWorldSchema.as_spark_schema()).write.parquet(url)
    assert conf.get('parquet.summary.metadata.level') == 'COMMON_ONLY'
    assert conf.get('parquet.row-group.size.row.check.min') == '100'
    assert conf.get('parquet.block.size') is None and conf.get('parquet.block.size.row.check.min') is None
    assert not os.path.exists(str(tmp_path / 'ds' / '_metadata'))
    # 40 rows of ~300 kB: 1 MiB row groups hold a few rows each.
    files = glob.glob(str(tmp_path / 'ds' / '*.parquet'))
    assert sum(pq.ParquetFile(f).num_row_groups for f in files) >= 5
    with make_reader(url) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(40))


def test_materialize_dataset_restores_the_settings_after_an_error_and_writes_no_metadata(spark, tmp_path):
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    conf.unset('parquet.block.size')
    url = 'file://' + str(tmp_path / 'failed')
    with pytest.raises(RuntimeError, match='the job failed'):
        with materialize_dataset(spark, url, HelloWorldSchema, row_group_size_mb=8):
            raise RuntimeError('the job failed')
    assert conf.get('parquet.block.size') is None
    assert not os.path.exists(str(tmp_path / 'failed' / '_common_metadata'))
    with pytest.raises(PetastormMetadataGenerationError, match='No Parquet data files'):
        os.makedirs(str(tmp_path / 'empty'))
        with materialize_dataset(spark, 'file://' + str(tmp_path / 'empty'), HelloWorldSchema):
            pass


def test_summary_metadata_when_asked(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'summary')
    with materialize_dataset(spark, url, HelloWorldSchema, use_summary_metadata=True):
        rdd = spark.sparkContext.parallelize(range(6), 2).map(hello_world_row) \
            .map(lambda x: dict_to_spark_row(HelloWorldSchema, x))
        spark.createDataFrame(rdd, HelloWorldSchema.as_spark_schema()).write.parquet(url)
    assert os.path.exists(str(tmp_path / 'summary' / '_metadata'))
    with make_reader(url) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(6))


# ---- The original repository's mnist and imagenet generation patterns.

MnistSchema = Unischema('MnistSchema', [
    UnischemaField('idx', np.int_, (), ScalarCodec(IntegerType()), False),
    UnischemaField('digit', np.int_, (), ScalarCodec(IntegerType()), False),
    UnischemaField('image', np.uint8, (28, 28), NdarrayCodec(), False),
])


@pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")
def test_mnist_generation_pattern(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'mnist' / 'train')
    rng = np.random.RandomState(0)
    data = [(Image.fromarray(rng.randint(0, 255, size=(28, 28)).astype(np.uint8)), i % 10) for i in range(30)]
    with materialize_dataset(spark, url, MnistSchema, row_group_size_mb=1):
        idx_image_digit_list = map(lambda idx_image_digit: {
            MnistSchema.idx.name: idx_image_digit[0],
            MnistSchema.digit.name: idx_image_digit[1][1],
            MnistSchema.image.name: np.array(list(idx_image_digit[1][0].getdata()), dtype=np.uint8).reshape(28, 28)
        }, enumerate(data))
        sql_rows = map(lambda r: dict_to_spark_row(MnistSchema, r), idx_image_digit_list)
        spark.createDataFrame(sql_rows, MnistSchema.as_spark_schema()) \
            .coalesce(2) \
            .write \
            .option('compression', 'none') \
            .parquet(url)
    with make_reader(url, num_epochs=1) as reader:
        rows = sorted(reader, key=lambda r: r.idx)
    assert [int(r.idx) for r in rows] == list(range(30))
    for row in rows:
        assert row.digit == int(row.idx) % 10 and isinstance(row.digit, np.int_)
        np.testing.assert_array_equal(row.image, np.asarray(data[int(row.idx)][0]))


ImagenetSchema = Unischema('ImagenetSchema', [
    UnischemaField('noun_id', np.bytes_, (), ScalarCodec(StringType()), False),
    UnischemaField('text', np.bytes_, (), ScalarCodec(StringType()), False),
    UnischemaField('image', np.uint8, (None, None, 3), CompressedImageCodec('png'), False),
])


def _imagenet_rows(noun_id_text, root):
    noun_id, text = noun_id_text
    rows = []
    for path in sorted(glob.glob(os.path.join(root, noun_id, '*.JPEG'))):
        rows.append({ImagenetSchema.noun_id.name: noun_id, ImagenetSchema.text.name: text,
                     ImagenetSchema.image.name: np.asarray(Image.open(path).convert('RGB'))})
    return rows


def test_imagenet_generation_pattern(spark, tmp_path):
    root = str(tmp_path / 'imagenet_jpegs')
    nouns = {'n01440764': 'tench, Tinca tinca', 'n01443537': 'goldfish, Carassius auratus'}
    expected = {}
    for k, noun_id in enumerate(sorted(nouns)):
        os.makedirs(os.path.join(root, noun_id))
        for j in range(3):
            image = np.zeros((20 + j, 30 + k, 3), np.uint8) + np.uint8(40 * j + k)
            path = os.path.join(root, noun_id, '{}_{}.JPEG'.format(noun_id, j))
            Image.fromarray(image).save(path, format='JPEG', quality=95)
            expected[(noun_id, j)] = np.asarray(Image.open(path).convert('RGB'))
    url = 'file://' + str(tmp_path / 'imagenet')
    with materialize_dataset(spark, url, ImagenetSchema, row_group_size_mb=1):
        rows_rdd = spark.sparkContext.parallelize(list(nouns.items()), 2) \
            .flatMap(lambda noun_id_text: _imagenet_rows(noun_id_text, root)) \
            .map(lambda r: dict_to_spark_row(ImagenetSchema, r))
        spark.createDataFrame(rows_rdd, ImagenetSchema.as_spark_schema()) \
            .coalesce(2).write.mode('overwrite').option('compression', 'none').parquet(url)
    with make_reader(url) as reader:
        rows = list(reader)
    assert len(rows) == 6
    for row in rows:
        noun_id = row.noun_id.decode()
        assert row.text.decode() == nouns[noun_id]
        candidates = [expected[(noun_id, j)] for j in range(3) if expected[(noun_id, j)].shape == row.image.shape]
        assert len(candidates) == 1
        np.testing.assert_array_equal(row.image, candidates[0])  # png: lossless


# ---- Reading with Spark.

def test_spark_sql_analysis_of_our_dataset(spark, tmp_path, capsys):
    from petastorm import write_dataset
    import conftest
    path = tmp_path / 'ours'
    write_dataset('file://' + str(path), conftest.HelloWorldSchema,
                  [conftest.hello_world_row(i) for i in range(15)], rows_per_rowgroup=4)
    dataset_url = 'file://' + str(path)
    # The user guide's "Analyzing petastorm datasets using PySpark and SQL".
    dataframe = spark.read.parquet(dataset_url)
    dataframe.printSchema()
    assert dataframe.count() == 15
    dataframe.select('id').show()
    number_of_rows = spark.sql('SELECT count(id) from parquet.`{}`'.format(dataset_url)).collect()
    assert number_of_rows[0][0] == 15
    printed = capsys.readouterr().out
    assert '|-- id: integer' in printed and '|-- image1: binary' in printed
    assert sorted(r.id for r in dataframe.select('id').collect()) == list(range(15))


def test_dataset_as_rdd_gives_decoded_rows(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'ds')
    _hello_world_dataset(spark, url, rows=8, partitions=2)
    rows = dataset_as_rdd(url, spark).collect()
    assert sorted(int(r.id) for r in rows) == list(range(8))
    for row in rows:
        np.testing.assert_array_equal(row.image1, hello_world_row(int(row.id))['image1'])
    subset = dataset_as_rdd(url, spark, schema_fields=[HelloWorldSchema.id, HelloWorldSchema.array_4d]).collect()
    assert sorted(subset[0]._fields) == ['array_4d', 'id']
    for row in subset:
        np.testing.assert_array_equal(row.array_4d, hello_world_row(int(row.id))['array_4d'])


def test_rowgroup_index_built_on_spark_selects_row_groups(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'indexed')
    with materialize_dataset(spark, url, HelloWorldSchema, row_group_size_mb=1):
        rdd = spark.sparkContext.parallelize(range(30), 3).map(hello_world_row) \
            .map(lambda x: dict_to_spark_row(HelloWorldSchema, x))
        spark.createDataFrame(rdd, HelloWorldSchema.as_spark_schema()).write.parquet(url)
    build_rowgroup_index(url, spark.sparkContext, [SingleFieldIndexer('id_index', 'id')])
    native_url = 'file://' + str(tmp_path / 'native')
    import shutil
    shutil.copytree(str(tmp_path / 'indexed'), str(tmp_path / 'native'))
    build_rowgroup_index(native_url, None, [SingleFieldIndexer('id_index', 'id')])
    spark_index = get_row_group_indexes(url)['id_index']
    native_index = get_row_group_indexes(native_url)['id_index']
    assert sorted(spark_index.indexed_values) == list(range(30))
    assert {v: spark_index.get_row_group_indexes(v) for v in range(30)} == \
        {v: native_index.get_row_group_indexes(v) for v in range(30)}
    with make_reader(url, rowgroup_selector=SingleIndexSelector('id_index', [4, 17])) as reader:
        ids = {int(r.id) for r in reader}
    assert {4, 17} <= ids and len(ids) < 30
    with make_batch_reader(url, rowgroup_selector=SingleIndexSelector('id_index', [4])) as reader:
        batch_ids = {int(i) for b in reader for i in b.id}
    assert 4 in batch_ids and batch_ids <= ids
