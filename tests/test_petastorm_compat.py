"""Both directions with the original Petastorm 0.13.1 (the .venv-ref environment of make bench):
datasets we write read by it with identical values, datasets it writes (with Spark) read by us
with identical values, for the user guide's HelloWorldSchema and a schema with every codec,
nullable fields, Decimal and strings."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from petastorm import write_dataset
from petastorm.etl.dataset_metadata import write_dataset_metadata
from petastorm_compat_job import ROWS, differences, make_schemas, read_neutral

REPO = Path(__file__).resolve().parents[1]
REF_PYTHON = REPO / '.venv-ref' / 'bin' / 'python'
JOB = Path(__file__).resolve().parent / 'petastorm_compat_job.py'

pytestmark = pytest.mark.skipif(
    not REF_PYTHON.exists(),
    reason='original Petastorm 0.13.1 is not installed: {} does not exist (make bench makes it)'.format(REF_PYTHON))

SCHEMAS = make_schemas()


def _ref(*args):
    env = dict(os.environ, PYSPARK_PYTHON=str(REF_PYTHON), PYSPARK_DRIVER_PYTHON=str(REF_PYTHON),
               PYTHONPATH=str(JOB.parent), PYTHONWARNINGS='ignore')
    result = subprocess.run([str(REF_PYTHON), str(JOB)] + [str(a) for a in args], capture_output=True, text=True,
                            env=env, timeout=600, cwd=str(JOB.parent))
    assert result.returncode == 0, result.stderr[-4000:]


def _read_by_petastorm(url, tmp_path, schema_name):
    out = tmp_path / 'petastorm-read-{}.json'.format(schema_name)
    _ref('read', url, schema_name, out)
    return json.loads(out.read_text())


def _assert_same(ours, theirs, schema_name):
    found = differences(ours, theirs, schema_name)
    assert not found, '\n'.join(found[:20])


@pytest.mark.parametrize('schema_name', ['hello', 'every'])
def test_petastorm_reads_what_we_write(tmp_path, schema_name):
    schema = SCHEMAS[schema_name]
    row_fn, count = ROWS[schema_name]
    url = 'file://' + str(tmp_path / 'ours')
    write_dataset(url, schema, [row_fn(i) for i in range(count)], rows_per_rowgroup=4)
    _assert_same(read_neutral(url), _read_by_petastorm(url, tmp_path, schema_name), schema_name)


@pytest.mark.parametrize('schema_name', ['hello', 'every'])
def test_we_read_what_petastorm_writes_with_spark(tmp_path, schema_name):
    url = 'file://' + str(tmp_path / 'theirs')
    _ref('generate', url, schema_name)
    _assert_same(read_neutral(url), _read_by_petastorm(url, tmp_path, schema_name), schema_name)

    # Re-declaring the schema of their store with our write_dataset_metadata keeps it readable by
    # them, with the same values (it once read as 0 rows).
    copy = tmp_path / 'redeclared'
    shutil.copytree(str(tmp_path / 'theirs'), str(copy))
    write_dataset_metadata('file://' + str(copy), SCHEMAS[schema_name])
    _assert_same(read_neutral('file://' + str(copy)),
                 _read_by_petastorm('file://' + str(copy), tmp_path, schema_name + '-redeclared'), schema_name)


@pytest.mark.parametrize('vectorized', [False, True], ids=['rows', 'vectorized'])
def test_petastorm_reads_what_we_generate_with_spark(spark, tmp_path, vectorized):
    from petastorm.etl.dataset_metadata import materialize_dataset
    from petastorm.spark_utils import generate_dataframe
    from petastorm.unischema import dict_to_spark_row
    from spark_schemas import EveryCodecSchema, every_codec_row
    url = 'file://' + str(tmp_path / 'generated')
    count = ROWS['every'][1]
    with materialize_dataset(spark, url, EveryCodecSchema, 1):
        if vectorized:
            df = generate_dataframe(spark, EveryCodecSchema, every_codec_row, count, num_partitions=2)
        else:
            rdd = spark.sparkContext.parallelize(range(count), 2).map(every_codec_row) \
                .map(lambda x: dict_to_spark_row(EveryCodecSchema, x))
            df = spark.createDataFrame(rdd, EveryCodecSchema.as_spark_schema())
        df.write.parquet(url)
    _assert_same(read_neutral(url), _read_by_petastorm(url, tmp_path, 'every'), 'every')
