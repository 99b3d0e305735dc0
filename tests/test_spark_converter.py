"""petastorm.spark on real Spark (local[2]): make_spark_converter's materialization, its reuse for
the same plan, vectors, dtypes, errors and deletion; make_torch_dataloader and make_tf_dataset
reading every row once; the user guide's and the original repository's converter examples."""
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from urllib.parse import urlparse

import numpy as np
import pytest

pytest.importorskip('pyspark')

from petastorm.spark import SparkDatasetConverter, make_spark_converter  # noqa: E402
from petastorm.spark import spark_dataset_converter as sdc  # noqa: E402

CONF = SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF


@pytest.fixture()
def cache_dir(spark, tmp_path):
    url = 'file://' + str(tmp_path / 'cache')
    spark.conf.set(CONF, url)
    yield tmp_path / 'cache'
    spark.conf.unset(CONF)


def _vector_df(spark, rows=100, partitions=2):
    from pyspark.ml.linalg import Vectors
    data = [(i, Vectors.dense([float(i), i / 2.0, -1.0]), float(i % 2)) for i in range(rows)]
    return spark.createDataFrame(data, ['id', 'features', 'label']).repartition(partitions)


def _path(url):
    return urlparse(url).path


def _dirs(path):
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_conf_is_required_and_needs_a_scheme(spark, tmp_path):
    spark.conf.unset(CONF)
    with pytest.raises(ValueError, match='Please set the spark config petastorm.spark.converter.parentCacheDirUrl'):
        make_spark_converter(spark.range(3))
    spark.conf.set(CONF, str(tmp_path))
    try:
        with pytest.raises(ValueError, match='scheme-less directory url'):
            make_spark_converter(spark.range(3))
    finally:
        spark.conf.unset(CONF)


def test_bad_codec_and_dtype(spark, cache_dir):
    with pytest.raises(RuntimeError, match='compression_codec should be None or one of'):
        make_spark_converter(spark.range(3), compression_codec='zstd-fast')
    with pytest.raises(ValueError, match="dtype float16 is not supported"):
        make_spark_converter(spark.range(3), dtype='float16')


def test_materializes_once_per_plan_and_settings(spark, cache_dir):
    df = spark.range(50).selectExpr('id', 'id * 2 as twice')
    first = make_spark_converter(df)
    assert len(first) == first.dataset_size == 50
    assert first.cache_dir_url.startswith('file://' + str(cache_dir) + '/')
    name = first.cache_dir_url.rsplit('/', 1)[1]
    assert '-appid-' + spark.sparkContext.applicationId + '-' in name
    assert first.file_urls and all(u.endswith('.parquet') for u in first.file_urls)
    # The same plan (even built again) reuses the directory; another plan or setting does not.
    again = make_spark_converter(spark.range(50).selectExpr('id', 'id * 2 as twice'))
    assert again.cache_dir_url == first.cache_dir_url
    other_plan = make_spark_converter(df.filter('id < 10'))
    other_size = make_spark_converter(df, parquet_row_group_size_bytes=1024 * 1024)
    other_codec = make_spark_converter(df, compression_codec='snappy')
    other_dtype = make_spark_converter(df, dtype=None)
    urls = {c.cache_dir_url for c in (first, other_plan, other_size, other_codec, other_dtype)}
    assert len(urls) == 5
    assert len(other_plan) == 10
    assert len(_dirs(cache_dir)) == 5
    # delete() removes the directory and forgets it: the next call writes anew.
    first.delete()
    assert not os.path.exists(first.cache_dir_url[len('file://'):])
    fresh = make_spark_converter(df)
    assert fresh.cache_dir_url != first.cache_dir_url and len(fresh) == 50
    for c in (other_plan, other_size, other_codec, other_dtype, fresh):
        c.delete()
    assert _dirs(cache_dir) == []


def test_vectors_become_arrays_and_dtypes_are_cast(spark, cache_dir):
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F
    df = _vector_df(spark, 20).withColumn('score', F.col('label').cast('float')) \
        .withColumn('pair', F.array(F.col('label'), F.col('label')))
    c32 = make_spark_converter(df)
    types = {f.name: str(f.type).replace(' not null', '') for f in pq.read_schema(_path(c32.file_urls[0]))}
    assert types['features'].startswith('list<') and types['features'].endswith('float>')  # vector -> array<float>
    assert types['label'] == 'float' and types['pair'].endswith('float>') and types['score'] == 'float'
    assert types['id'] == 'int64'
    c64 = make_spark_converter(df, dtype='float64')
    types = {f.name: str(f.type).replace(' not null', '') for f in pq.read_schema(_path(c64.file_urls[0]))}
    assert types['features'].endswith('double>') and types['score'] == 'double' and types['label'] == 'double'
    with c32.make_torch_dataloader(batch_size=20, num_epochs=1) as loader:
        (batch,) = list(loader)
    order = np.argsort(batch['id'].numpy())
    np.testing.assert_allclose(batch['features'].numpy()[order][:, :2],
                               [[i, i / 2] for i in range(20)], rtol=0, atol=0)
    assert str(batch['features'].dtype) == 'torch.float32'
    c32.delete()
    c64.delete()


def test_torch_loader_reads_every_row_once(spark, cache_dir):
    converter = make_spark_converter(_vector_df(spark, 100, partitions=3))
    with converter.make_torch_dataloader(batch_size=16, num_epochs=1, workers_count=2) as loader:
        assert len(loader) == 7  # ceil(100 / 16): exact with a finite num_epochs
        batches = list(loader)
        reader = loader.reader
    assert reader.stopped
    ids = np.concatenate([b['id'].numpy() for b in batches])
    assert sorted(ids.tolist()) == list(range(100))
    assert [len(b['id']) for b in batches][:6] == [16] * 6
    # Sharding arguments pass through: two shards hold every row once between them.
    shards = []
    for shard in range(2):
        with converter.make_torch_dataloader(batch_size=10, num_epochs=1, cur_shard=shard, shard_count=2) as loader:
            shards.append(sorted(np.concatenate([b['id'].numpy() for b in loader]).tolist()))
    assert sorted(shards[0] + shards[1]) == list(range(100)) and shards[0] and shards[1]
    # A custom loader.
    seen = {}

    def loader_fn(reader, batch_size, shuffling_queue_capacity):
        seen.update(batch_size=batch_size, capacity=shuffling_queue_capacity)
        from petastorm.pytorch import BatchedDataLoader
        return BatchedDataLoader(reader, batch_size=batch_size, shuffling_queue_capacity=shuffling_queue_capacity)

    with converter.make_torch_dataloader(batch_size=25, num_epochs=2, shuffling_queue_capacity=30,
                                         data_loader_fn=loader_fn) as loader:
        ids = np.concatenate([b['id'].numpy() for b in loader])
    assert seen == {'batch_size': 25, 'capacity': 30}
    assert sorted(ids.tolist()) == sorted(list(range(100)) * 2)
    converter.delete()


def test_tf_dataset_reads_every_row_once(spark, cache_dir, caplog):
    tf = pytest.importorskip('tensorflow')
    converter = make_spark_converter(_vector_df(spark, 100, partitions=3))
    caplog.clear()
    with converter.make_tf_dataset(batch_size=16, num_epochs=1, workers_count=2) as dataset:
        assert len(dataset) == 7
        assert dataset.element_spec.features.shape.as_list() == [None, None]  # a list column: any length
        assert dataset.element_spec.features.dtype == tf.float32
        batches = list(dataset)
    ids = np.concatenate([b.id.numpy() for b in batches])
    assert sorted(ids.tolist()) == list(range(100))
    assert 'AutoGraph could not transform' not in caplog.text  # Petastorm's test_tf_autograph
    with converter.make_tf_dataset(batch_size=10, num_epochs=2, shuffling_queue_capacity=50) as dataset:
        ids = np.concatenate([b.id.numpy() for b in dataset])
    assert sorted(ids.tolist()) == sorted(list(range(100)) * 2)
    converter.delete()


def test_num_epochs_none_is_infinite_and_warns_once(spark, cache_dir, monkeypatch):
    monkeypatch.setattr(sdc, '_warned_infinite', False)
    converter = make_spark_converter(spark.range(10))
    with pytest.warns(UserWarning, match='num_epochs=None .* reads the data forever'):
        manager = converter.make_torch_dataloader(batch_size=4)
    with manager as loader:
        it = iter(loader)
        ids = [int(i) for _ in range(10) for i in next(it)['id']]  # 40 ids: four passes
        with pytest.raises(TypeError):
            len(loader)
    assert sorted(ids) == sorted(list(range(10)) * 4)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        converter.make_torch_dataloader(batch_size=4)  # once per process
    converter.delete()


def test_df_given_as_a_parquet_path(spark, cache_dir, tmp_path):
    path = 'file://' + str(tmp_path / 'existing')
    spark.range(30).write.parquet(path)
    converter = make_spark_converter(path)
    assert converter.cache_dir_url == path and len(converter) == 30
    with converter.make_torch_dataloader(batch_size=30, num_epochs=1) as loader:
        assert sorted(next(iter(loader))['id'].tolist()) == list(range(30))


def test_delete_handler_and_small_file_warning(spark, cache_dir, caplog):
    deleted = []
    sdc.register_delete_dir_handler(deleted.append)
    try:
        with caplog.at_level(logging.WARNING, logger=sdc.__name__):
            converter = make_spark_converter(spark.range(5))
        assert 'The median size' in caplog.text and '(< 50 MB)' in caplog.text
        converter.delete()
        assert deleted == [converter.cache_dir_url]
        assert os.path.exists(converter.cache_dir_url[len('file://'):])  # the handler did not delete it
    finally:
        sdc.register_delete_dir_handler(None)
    converter.delete()
    assert not os.path.exists(converter.cache_dir_url[len('file://'):])


def test_horovod_environment_warning(spark, cache_dir, monkeypatch, caplog):
    monkeypatch.setenv('HOROVOD_RANK', '1')
    monkeypatch.setenv('HOROVOD_SIZE', '2')
    converter = make_spark_converter(spark.range(10))
    with caplog.at_level(logging.WARNING, logger=sdc.__name__):
        converter.make_torch_dataloader(num_epochs=1)
    assert 'is not consistent with horovod environments hvd_rank(1) and hvd_size(2)' in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=sdc.__name__):
        converter.make_torch_dataloader(num_epochs=1, cur_shard=1, shard_count=2)
    assert 'horovod' not in caplog.text
    converter.delete()


def test_converter_pickles(spark, cache_dir):
    import pickle
    converter = make_spark_converter(spark.range(4))
    back = pickle.loads(pickle.dumps(converter))
    assert (back.cache_dir_url, back.file_urls, len(back)) == (converter.cache_dir_url, converter.file_urls, 4)
    converter.delete()


def test_cache_is_deleted_at_exit(tmp_path):
    """A separate driver process: its materialized DataFrame is gone once it exits."""
    cache = tmp_path / 'cache'
    code = textwrap.dedent('''
        import sys
        from pyspark.sql import SparkSession
        from petastorm.spark import SparkDatasetConverter, make_spark_converter
        spark = SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false').getOrCreate()
        spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, sys.argv[1])
        converter = make_spark_converter(spark.range(5))
        print(converter.cache_dir_url)
    ''')
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    result = subprocess.run([sys.executable, '-c', code, 'file://' + str(cache)], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    written = result.stdout.strip().splitlines()[-1]
    assert written.startswith('file://' + str(cache))
    assert cache.exists() and _dirs(cache) == []


# --- The user guide's examples and the original repository's examples/spark_dataset_converter ---

def _libsvm_df(spark, tmp_path, rows=200):
    """A libsvm file read by Spark, as examples/spark_dataset_converter reads MNIST: `label`
    (double) and `features` (a sparse vector of 784)."""
    rng = np.random.default_rng(0)
    path = tmp_path / 'digits.libsvm'
    with open(path, 'w') as f:
        for i in range(rows):
            label = i % 10
            cells = sorted(set(rng.integers(0, 784, 20).tolist()) | {label * 70 + k for k in range(10)})
            f.write('{} {}\n'.format(label, ' '.join('{}:{}'.format(c + 1, 1.0) for c in cells)))
    return spark.read.format('libsvm').option('numFeatures', '784').load(str(path))


def test_user_guide_tensorflow_example(spark, cache_dir, tmp_path):
    tf = pytest.importorskip('tensorflow')
    df = _libsvm_df(spark, tmp_path).select('features', 'label')
    converter = make_spark_converter(df)
    model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    model.compile(optimizer='adam', loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    with converter.make_tf_dataset(batch_size=32) as dataset:
        dataset = dataset.map(lambda x: (tf.reshape(x.features, [-1, 28, 28]), x.label))
        history = model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0)
    assert len(history.history['loss']) == 1 and np.isfinite(history.history['loss'][0])
    converter.delete()


def test_user_guide_pytorch_example(spark, cache_dir, tmp_path):
    torch = pytest.importorskip('torch')
    df_train, df_test = _libsvm_df(spark, tmp_path).randomSplit([0.9, 0.1], seed=12345)
    converter_train = make_spark_converter(df_train)
    converter_test = make_spark_converter(df_test)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with converter_train.make_torch_dataloader(batch_size=32) as dataloader_train:
        it = iter(dataloader_train)
        for _ in range(5):
            batch = next(it)
            features = torch.reshape(batch['features'], [-1, 1, 28, 28])
            loss = torch.nn.functional.cross_entropy(model(features), batch['label'].long())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    correct = total = 0
    with converter_test.make_torch_dataloader(batch_size=32, num_epochs=1) as dataloader_test:
        for batch in dataloader_test:
            predicted = model(torch.reshape(batch['features'], [-1, 1, 28, 28])).argmax(1)
            correct += int((predicted == batch['label'].long()).sum())
            total += len(batch['label'])
    assert total == len(converter_test) and total > 0
    converter_train.delete()
    converter_test.delete()
