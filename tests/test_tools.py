"""The command-line tools: petastorm-copy-dataset (here and on Spark), petastorm-generate-metadata,
petastorm-metadata, their Petastorm names ending in .py, and the progress bar."""
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from petastorm import make_reader, write_dataset
from petastorm.codecs import CompressedImageCodec, NdarrayCodec
from petastorm.etl.dataset_metadata import PetastormMetadataError, get_schema_from_dataset_url
from petastorm.etl.metadata_util import print_metadata
from petastorm.etl.petastorm_generate_metadata import generate_petastorm_metadata
from petastorm.etl.rowgroup_indexers import SingleFieldIndexer
from petastorm.etl.rowgroup_indexing import build_rowgroup_index, get_row_group_indexes
from petastorm.tools.copy_dataset import copy_dataset
from petastorm.tools.progress import RowProgress
from petastorm.unischema import Unischema, UnischemaField
from petastorm.utils import DecodeFieldError, add_to_dataset_metadata, decode_row

BIN = Path(sys.executable).parent
CopySchema = Unischema('CopySchema', [
    UnischemaField('id', np.int64, (), None, False),
    UnischemaField('id_plus', np.int64, (), None, False),
    UnischemaField('label', np.str_, (), None, True),
    UnischemaField('image', np.uint8, (4, 4, 3), CompressedImageCodec('png'), False),
    UnischemaField('vector', np.float32, (None,), NdarrayCodec(), True),
])


def _row(i):
    return {'id': i, 'id_plus': i + 1, 'label': None if i % 4 == 0 else 'l{}'.format(i),
            'image': np.full((4, 4, 3), i, np.uint8), 'vector': None if i % 5 == 0 else np.arange(i % 3, dtype=np.float32)}


@pytest.fixture
def source(tmp_path):
    url = 'file://' + str(tmp_path / 'source')
    write_dataset(url, CopySchema, [_row(i) for i in range(40)], rows_per_rowgroup=6, rows_per_file=20)
    return url


def _rows(url):
    with make_reader(url, workers_count=1) as reader:
        return sorted(reader, key=lambda r: r.id)


def _run(tool, *args):
    return subprocess.run([str(BIN / tool)] + [str(a) for a in args], capture_output=True, text=True, timeout=300)


def test_copy_dataset_here_with_field_regex_not_null_and_partitions(source, tmp_path):
    target = 'file://' + str(tmp_path / 'target')
    result = _run('petastorm-copy-dataset.py', source, target, '--field-regex', 'id.*', 'label', 'image',
                  '--not-null-fields', 'label', '--partition-count', '3', '--row-group-size-mb', '1')
    assert result.returncode == 0, result.stderr
    assert 'rows/s' not in result.stderr  # not a terminal: no progress bar
    rows = _rows(target)
    assert [int(r.id) for r in rows] == [i for i in range(40) if i % 4]
    assert rows[0]._fields == ('id', 'id_plus', 'label', 'image')
    for row in rows:
        assert row.id_plus == row.id + 1 and row.label == 'l{}'.format(row.id)
        np.testing.assert_array_equal(row.image, np.full((4, 4, 3), row.id, np.uint8))
    files = sorted((tmp_path / 'target').glob('*.parquet'))
    assert len(files) == 3
    # The stored image bytes are copied, not re-encoded.
    source_cells = {r['id']: r['image'] for r in pq.read_table(source[7:], columns=['id', 'image']).to_pylist()}
    for f in files:
        for r in pq.read_table(str(f), columns=['id', 'image']).to_pylist():
            assert r['image'] == source_cells[r['id']]
    assert list(get_schema_from_dataset_url(target).fields) == ['id', 'id_plus', 'label', 'image']


def test_copy_dataset_refuses_an_existing_target_unless_overwrite(source, tmp_path):
    target = 'file://' + str(tmp_path / 'target')
    copy_dataset(None, source, target, None, None, False, None, None)
    assert len(_rows(target)) == 40
    with pytest.raises(FileExistsError, match='overwrite'):
        copy_dataset(None, source, target, None, None, False, None, None)
    copy_dataset(None, source, target, ['id'], None, True, None, None)
    assert _rows(target)[0]._fields == ('id',)


def test_copy_dataset_errors_name_what_is_wrong(source, tmp_path):
    with pytest.raises(ValueError, match='do not match any fields'):
        copy_dataset(None, source, 'file://' + str(tmp_path / 't1'), ['nothing.*'], None, False, None, None)
    with pytest.raises(ValueError, match="not-null-fields.*'vector'"):
        copy_dataset(None, source, 'file://' + str(tmp_path / 't2'), ['id'], ['vector'], False, None, None)
    assert not (tmp_path / 't1').exists() and not (tmp_path / 't2').exists()


def test_copy_dataset_on_spark(spark, source, tmp_path):
    target = 'file://' + str(tmp_path / 'spark-target')
    copy_dataset(spark, source, target, ['id', 'vector'], ['vector'], False, 2, 1)
    rows = _rows(target)
    assert [int(r.id) for r in rows] == [i for i in range(40) if i % 5]
    for row in rows:
        np.testing.assert_array_equal(row.vector, np.arange(row.id % 3, dtype=np.float32))


def test_generate_metadata_restores_a_store_and_keeps_its_indexes(source, tmp_path):
    build_rowgroup_index(source, None, [SingleFieldIndexer('by_id', 'id')])
    root = Path(source[len('file://'):])
    # Regenerated from the stored schema: the index survives.
    result = _run('petastorm-generate-metadata.py', '--dataset_url', source)
    assert result.returncode == 0, result.stderr
    assert get_row_group_indexes(source)['by_id'].get_row_group_indexes(13) == {2}
    # Without _common_metadata, the first file's footer still holds our schema.
    (root / '_common_metadata').unlink()
    generate_petastorm_metadata(None, source)
    assert [int(r.id) for r in _rows(source)] == list(range(40))


def test_generate_metadata_of_a_plain_store_needs_the_schema(tmp_path):
    import pyarrow as pa
    plain = tmp_path / 'plain'
    plain.mkdir()
    pq.write_table(pa.table({'id': pa.array(range(6), pa.int64()), 'id_plus': pa.array(range(1, 7), pa.int64()),
                             'label': pa.array(['a'] * 6), 'image': pa.array([b''] * 6),
                             'vector': pa.array([None] * 6, pa.binary())}), str(plain / 'part-0.parquet'))
    url = 'file://' + str(plain)
    with pytest.raises(PetastormMetadataError, match='specify it'):
        generate_petastorm_metadata(None, url)
    with pytest.raises(ValueError, match='not an instance of a petastorm.Unischema'):
        generate_petastorm_metadata(None, url, 'test_tools._row')
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent))
    result = subprocess.run([str(BIN / 'petastorm-generate-metadata'), '--dataset_url', url,
                             '--unischema_class', 'test_tools.CopySchema'], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert list(get_schema_from_dataset_url(url).fields) == list(CopySchema.fields)
    with make_reader(url, schema_fields=['id', 'id_plus']) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(6))


def test_petastorm_metadata_prints_schema_row_groups_and_indexes(source):
    build_rowgroup_index(source, None, [SingleFieldIndexer('by_label', 'label')])
    out = io.StringIO()
    print_metadata(source, out=out)
    text = out.getvalue()
    assert "UnischemaField('image', uint8, (4, 4, 3), CompressedImageCodec('png', 80), False)" in text
    assert '8 row groups in 2 files' in text
    assert 'Index: by_label' in text and '  -- l1(1)' in text
    result = _run('petastorm-metadata', '--dataset-url', source, '--index', '--print-values')
    assert result.returncode == 0, result.stderr
    assert '  -- l7(1)\n[1]' in result.stdout and 'Schema' not in result.stdout


def test_every_tool_is_installed_under_both_names():
    for name in ('petastorm-copy-dataset', 'petastorm-generate-metadata', 'petastorm-throughput'):
        for tool in (name, name + '.py'):
            result = _run(tool, '--help')
            assert result.returncode == 0 and 'usage' in result.stdout, (tool, result.stderr)
    assert _run('petastorm-metadata', '--help').returncode == 0


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_shows_rows_and_rate_on_a_terminal_only():
    terminal = _Terminal()
    with RowProgress('copy', total=100, stream=terminal) as bar:
        bar.add(40)
    assert '40/100' in terminal.getvalue() and 'rows/s' in terminal.getvalue() and '40%' in terminal.getvalue()
    plain = io.StringIO()
    with RowProgress('copy', stream=plain) as bar:
        bar.add(5)
    assert plain.getvalue() == '' and bar.rows == 5


def test_decode_row_and_add_to_dataset_metadata(source):
    row = decode_row({'id': 3, 'label': None, 'image': None, 'other': 1}, CopySchema)
    assert row == {'id': 3, 'label': None, 'image': None} and type(row['id']) is np.int64
    with pytest.raises(DecodeFieldError, match='Decoding field "image" failed'):
        decode_row({'image': b'not a png'}, CopySchema)
    add_to_dataset_metadata(source, b'my.key', b'my value')
    from petastorm import _core
    assert _core.Dataset(source).metadata[b'my.key'] == b'my value'
    assert len(_rows(source)) == 40
