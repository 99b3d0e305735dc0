"""The engine's seams: footers parsed once, sticky errors, the public decoded-row-group stream,
the process pool started through its own entry point."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.unischema import Unischema, UnischemaField

Schema = Unischema('SeamSchema', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('vec', np.float32, (3,), NdarrayCodec()),
])


def _row(i):
    return {'id': i, 'vec': np.array([i, i + 1, i + 2], np.float32)}


@pytest.fixture
def five_row_groups_one_corrupt(tmp_path):
    """50 rows, 5 files of one row group each; the cells of row group 3 are not .npy."""
    path = tmp_path / 'ds'
    write_dataset(str(path), Schema, [_row(i) for i in range(50)], rows_per_rowgroup=10, rows_per_file=10)
    files = sorted(p for p in path.iterdir() if p.suffix == '.parquet')
    assert len(files) == 5
    table = pq.read_table(str(files[3]))
    table = table.set_column(table.schema.get_field_index('vec'), 'vec',
                             pa.array([b'garbage'] * len(table), pa.binary()))
    pq.write_table(table, str(files[3]))
    return 'file://' + str(path), files[3].name


@pytest.mark.parametrize('pool', ['thread', 'dummy', 'process'])
def test_errors_are_sticky(five_row_groups_one_corrupt, pool):
    url, bad_file = five_row_groups_one_corrupt
    with make_reader(url, reader_pool_type=pool, workers_count=2, shuffle_row_groups=False) as reader:
        ids = []
        with pytest.raises(Exception) as first:
            for row in reader:
                ids.append(int(row.id))
        assert ids == list(range(30))
        assert bad_file in str(first.value) and "'vec'" in str(first.value)
        for _ in range(3):
            with pytest.raises(type(first.value)) as again:
                next(reader)
            assert str(again.value) == str(first.value)


def test_footers_are_parsed_once_per_reader(tmp_path):
    path = tmp_path / 'plain'
    path.mkdir()
    for f in range(8):
        table = pa.table({'id': np.arange(f * 80, (f + 1) * 80), 'x': np.arange(80) * 0.5})
        pq.write_table(table, str(path / 'part-{}.parquet'.format(f)), row_group_size=10)
    with make_batch_reader('file://' + str(path), workers_count=4, shuffle_rows=True, seed=1,
                           num_epochs=2, filters=[('id', '>=', 0)]) as reader:
        rows = sum(len(b.id) for b in reader)
        assert reader.diagnostics['footers_read'] == 8
    assert rows == 2 * 640


def test_decoded_row_groups_is_the_public_stream(tmp_path):
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, Schema, [_row(i) for i in range(25)], rows_per_rowgroup=10)
    with make_reader(url, shuffle_row_groups=False) as reader:
        groups = list(reader.decoded_row_groups())
        assert reader.last_row_consumed
    assert [g.num_rows for g in groups] == [10, 10, 5]
    assert groups[0].field_names == ['id', 'vec']
    columns = groups[2].to_numpy_columns()
    np.testing.assert_array_equal(columns['id'], np.arange(20, 25))
    assert columns['vec'].shape == (5, 3)
    np.testing.assert_array_equal(columns['vec'][1], _row(21)['vec'])


_UNGUARDED_SCRIPT = textwrap.dedent('''
    import numpy as np
    from petastorm import make_reader, TransformSpec
    from petastorm.predicates import in_lambda

    print('BODY RUNS')

    def plus_one(row):
        row['id'] = row['id'] + 1
        return row

    with make_reader({url!r}, reader_pool_type='process', workers_count=2, shuffle_row_groups=False,
                     transform_spec=TransformSpec(plus_one),
                     predicate=in_lambda(['id'], lambda i: i % 2 == 0)) as reader:
        ids = [int(r.id) for r in reader]
    print('IDS', ids)
''')


@pytest.mark.parametrize('how', ['file', 'stdin'])
def test_process_pool_from_an_unguarded_script(tmp_path, how):
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, Schema, [_row(i) for i in range(20)], rows_per_rowgroup=5)
    script = _UNGUARDED_SCRIPT.format(url=url)
    env = dict(os.environ)
    if how == 'file':
        path = tmp_path / 'script.py'
        path.write_text(script)
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=env,
                              cwd=str(tmp_path))
    else:
        done = subprocess.run([sys.executable, '-'], input=script, capture_output=True, text=True, timeout=120,
                              env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('BODY RUNS') == 1, done.stdout
    assert 'IDS {}'.format([i + 1 for i in range(0, 20, 2)]) in done.stdout, done.stdout


def _fail_on_seven(ids):
    if 7 in list(ids):
        raise ValueError('seven is not allowed')
    return True


def test_a_failed_reader_is_freed(tmp_path):
    """The sticky error a C++ reader keeps must not hold the Python reader in a cycle."""
    import gc
    import weakref
    from petastorm.predicates import in_lambda
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, Schema, [_row(i) for i in range(20)], rows_per_rowgroup=5)
    reader = make_reader(url, predicate=in_lambda(['id'], lambda i: i != 7 or _fail_on_seven([i])),
                         reader_pool_type='dummy', shuffle_row_groups=False)
    for _ in range(2):
        with pytest.raises(ValueError, match='seven is not allowed'):
            list(reader)
    ref = weakref.ref(reader)
    reader.stop()
    del reader
    gc.collect()
    assert ref() is None
