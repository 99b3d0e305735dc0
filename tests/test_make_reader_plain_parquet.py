"""make_reader on a plain Parquet store (no Unischema): Petastorm 0.13.1 warns and reads scalar
columns by an inferred schema; other columns point to make_batch_reader."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import make_reader


def test_scalar_columns_are_read_with_a_warning(tmp_path):
    pq.write_table(pa.table({'id': pa.array(range(30), pa.int64()), 'name': ['n%d' % i for i in range(30)],
                             'x': pa.array([None if i % 4 == 0 else i / 2 for i in range(30)])}),
                   str(tmp_path / 'a.parquet'), row_group_size=7)
    with pytest.warns(UserWarning, match='Currently make_reader supports reading only Petastorm datasets'):
        reader = make_reader('file://' + str(tmp_path), shuffle_row_groups=False, workers_count=2)
    with reader:
        rows = list(reader)
    assert [int(r.id) for r in rows] == list(range(30))
    assert [str(r.name) for r in rows] == ['n%d' % i for i in range(30)]
    assert [None if r.x is None or r.x != r.x else float(r.x) for r in rows][:3] == [None, 0.5, 1.0]
    assert set(reader.schema.fields) == {'id', 'name', 'x'}


def test_other_columns_point_to_make_batch_reader(tmp_path):
    pq.write_table(pa.table({'id': [1, 2], 'tags': [[1, 2], [3]]}), str(tmp_path / 'a.parquet'))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as info:
        make_reader('file://' + str(tmp_path))
    message = str(info.value)
    assert message.startswith('make_reader has failed.') and 'make_batch_reader' in message and "'tags'" in message
