"""petastorm.tools.spark_session_cli and petastorm.benchmark (throughput, cli) names:
add_configure_spark_arguments, configure_spark, reader_throughput, WorkerPoolType, ReadMethod,
BenchmarkResult, cli main (inventory sections 1 and 9)."""
import argparse
import re

import numpy as np
import pytest

from petastorm import write_dataset
from petastorm.benchmark import cli
from petastorm.benchmark.throughput import BenchmarkResult, ReadMethod, WorkerPoolType, reader_throughput
from petastorm.tools.spark_session_cli import add_configure_spark_arguments, configure_spark
from petastorm.unischema import Unischema, UnischemaField

BenchSchema = Unischema('BenchSchema', [UnischemaField('id', np.int64, ()), UnischemaField('x', np.float32, ())])


@pytest.fixture(scope='module')
def bench_url(tmp_path_factory):
    path = tmp_path_factory.mktemp('bench_names') / 'ds'
    write_dataset('file://' + str(path), BenchSchema,
                  [{'id': i, 'x': np.float32(i) / 2} for i in range(40)], rows_per_rowgroup=10)
    return 'file://' + str(path)


def test_add_configure_spark_arguments_adds_master_and_session_config():
    parser = argparse.ArgumentParser()
    add_configure_spark_arguments(parser)
    args = parser.parse_args(['--master', 'local[3]', '--spark-session-config', 'a.b=1', 'c.d=x=y'])
    assert args.master == 'local[3]'
    assert args.spark_session_config == ['a.b=1', 'c.d=x=y']
    defaults = parser.parse_args([])
    assert defaults.master is None and defaults.spark_session_config is None


def test_configure_spark_applies_master_and_config_to_a_session_builder():
    pytest.importorskip('pyspark')
    from pyspark.sql import SparkSession
    parser = argparse.ArgumentParser()
    add_configure_spark_arguments(parser)
    builder = SparkSession.Builder()  # a fresh builder: nothing is started
    args = parser.parse_args(['--master', 'local[3]', '--spark-session-config',
                              'spark.executor.cores=2', 'spark.petastorm.k=v=w'])
    assert configure_spark(builder, args) is builder
    assert builder._options['spark.master'] == 'local[3]'
    assert builder._options['spark.executor.cores'] == '2'
    assert builder._options['spark.petastorm.k'] == 'v=w'  # split at the first '='
    untouched = SparkSession.Builder()
    configure_spark(untouched, parser.parse_args([]))
    assert 'spark.master' not in untouched._options


def test_configure_spark_without_the_arguments_raises():
    with pytest.raises(RuntimeError, match='add_configure_spark_arguments'):
        configure_spark(object(), argparse.Namespace(master=None))


def test_enums_have_petastorms_values():
    assert [(p.name, p.value) for p in WorkerPoolType] == [('THREAD', 'thread'), ('PROCESS', 'process'),
                                                         ('NONE', 'dummy')]
    assert {m.name: m.value for m in ReadMethod} == {'TF': 'tf', 'PYTHON': 'python'}
    assert WorkerPoolType('process') is WorkerPoolType.PROCESS
    assert BenchmarkResult._fields == ('time_mean', 'samples_per_second', 'memory_info', 'cpu')


@pytest.mark.parametrize('pool_type', [WorkerPoolType.THREAD, WorkerPoolType.NONE])
def test_reader_throughput_measures_a_reader(bench_url, pool_type):
    result = reader_throughput(bench_url, field_regex=['id'], warmup_cycles_count=3, measure_cycles_count=20,
                               pool_type=pool_type, loaders_count=2, spawn_new_process=False)
    assert isinstance(result, BenchmarkResult)
    assert result.time_mean > 0 and result.samples_per_second > 0
    assert result.memory_info.rss > 0
    assert result.cpu >= 0


def test_reader_throughput_takes_the_enum_values_as_strings(bench_url):
    result = reader_throughput(bench_url, warmup_cycles_count=0, measure_cycles_count=5, pool_type='dummy',
                               read_method='python', spawn_new_process=False)
    assert result.samples_per_second > 0


def test_cli_prints_the_average_sample_read_rate(bench_url, capsys):
    assert cli._main([bench_url, '-m', '2', '-n', '10', '-w', '1', '-p', 'thread', '--no-progress']) == 0
    out = capsys.readouterr().out
    assert out.startswith('Average sample read rate: ')
    first, second = out.splitlines()[:2]
    assert re.fullmatch(r'Average sample read rate: [0-9.]+ samples/sec; RAM [0-9.]+ MB \(rss\); CPU [0-9.]+%', first)
    assert re.fullmatch(r'Peak RAM [0-9.]+ MB \(peak rss\)', second)


def test_cli_rejects_an_unknown_pool_type(bench_url, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli._main([bench_url, '-p', 'fibers'])
    assert exit_info.value.code == 2
