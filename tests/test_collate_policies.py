"""BatchedDataLoader(collate={field: policy}): strings, bytes, ragged and nested columns as tensors,
made in C++ (petastorm/collate.h), checked value by value against what pyarrow holds."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from petastorm import make_batch_reader, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField

torch = pytest.importorskip('torch')
from petastorm.pytorch import BatchedDataLoader, DataLoader  # noqa: E402

ROWS = 40
WORDS = ['', 'a', 'héllo', '世界!', 'tokenizer', 'xy']


def _row(i):
    return {
        'id': i,
        'text': WORDS[i % len(WORDS)] * (1 + i % 3),
        'blob': bytes(range(i % 5)) + b'\xff' * (i % 2),
        'vec': [float(i) + k / 4 for k in range(i % 4)],
        'll': [[i * 10 + k for k in range(j)] for j in range(i % 3)],
        'ls': [{'a': i + k, 'b': WORDS[(i + k) % len(WORDS)]} for k in range(i % 3)],
    }


SCHEMA = pa.schema([('id', pa.int64()), ('text', pa.string()), ('blob', pa.binary()),
                    ('vec', pa.list_(pa.float32())), ('ll', pa.list_(pa.list_(pa.int32()))),
                    ('ls', pa.list_(pa.struct([('a', pa.int32()), ('b', pa.string())])))])


@pytest.fixture(scope='module')
def plain(tmp_path_factory):
    """(url, {id: row as pyarrow reads it back}) of a plain Parquet file in row groups of 7 rows."""
    path = tmp_path_factory.mktemp('collate') / 'data.parquet'
    pq.write_table(pa.Table.from_pylist([_row(i) for i in range(ROWS)], schema=SCHEMA), str(path),
                   row_group_size=7)
    expected = {r['id']: r for r in pq.read_table(str(path)).to_pylist()}
    return 'file://' + str(path.parent), expected


def _batches(url, collate, shuffle=0, batch_size=6, schema_fields=None, **kwargs):
    with make_batch_reader(url, shuffle_row_groups=False, seed=3, schema_fields=schema_fields) as reader:
        return list(BatchedDataLoader(reader, batch_size=batch_size, collate=collate,
                                      shuffling_queue_capacity=shuffle, seed=5, **kwargs))


def _code_points(text):
    return [ord(c) for c in text]


def _check_ids(batches):
    ids = [i for b in batches for i in b['id'].tolist()]
    assert sorted(ids) == list(range(ROWS))


@pytest.mark.parametrize('shuffle', [0, 10])
def test_padded_strings_bytes_and_ragged_floats(plain, shuffle):
    url, expected = plain
    batches = _batches(url, {'text': {'policy': 'padded', 'pad_value': -1}, 'blob': 'padded', 'vec': 'padded'},
                       shuffle)
    _check_ids(batches)
    for b in batches:
        text, blob, vec = b['text'], b['blob'], b['vec']
        assert set(text) == {'padded', 'lengths', 'mask'}
        assert text['padded'].dtype == torch.int32 and blob['padded'].dtype == torch.uint8
        assert vec['padded'].dtype == torch.float32 and text['lengths'].dtype == torch.int64
        assert text['mask'].dtype == torch.bool
        rows = [expected[i] for i in b['id'].tolist()]
        for name, want_of, pad in [('text', lambda r: _code_points(r['text']), -1),
                                   ('blob', lambda r: list(r['blob']), 0), ('vec', lambda r: r['vec'], 0)]:
            col = b[name]
            width = max(len(want_of(r)) for r in rows)
            assert col['padded'].shape == (len(rows), width)
            for k, r in enumerate(rows):
                want = want_of(r)
                assert col['lengths'][k].item() == len(want)
                assert col['padded'][k].tolist() == want + [pad] * (width - len(want))
                assert col['mask'][k].tolist() == [True] * len(want) + [False] * (width - len(want))


@pytest.mark.parametrize('shuffle', [0, 10])
def test_offsets_of_strings_bytes_ragged_and_nested(plain, shuffle):
    url, expected = plain
    batches = _batches(url, {n: 'offsets' for n in ['text', 'blob', 'vec', 'll', 'ls']}, shuffle)
    _check_ids(batches)
    for b in batches:
        rows = [expected[i] for i in b['id'].tolist()]
        assert set(b['ll']) == {'values', 'offsets', 'offsets_1'}
        assert set(b['ls']) == {'offsets', 'a', 'b'} and set(b['ls']['b']) == {'values', 'offsets'}
        for name in ['text', 'blob', 'vec']:
            o = b[name]['offsets'].tolist()
            v = b[name]['values'].tolist()
            assert b[name]['offsets'].dtype == torch.int64 and len(o) == len(rows) + 1
            got = [v[o[k]:o[k + 1]] for k in range(len(rows))]
            if name == 'text':
                assert [''.join(map(chr, g)) for g in got] == [r['text'] for r in rows]
            elif name == 'blob':
                assert [bytes(g) for g in got] == [r['blob'] for r in rows]
            else:
                assert got == [r['vec'] for r in rows]
        ll = b['ll']
        o0, o1, v = ll['offsets'].tolist(), ll['offsets_1'].tolist(), ll['values'].tolist()
        assert [[v[o1[j]:o1[j + 1]] for j in range(o0[k], o0[k + 1])] for k in range(len(rows))] == \
            [r['ll'] for r in rows]
        ls = b['ls']
        o, a = ls['offsets'].tolist(), ls['a']['values'].tolist()
        bo, bv = ls['b']['offsets'].tolist(), ls['b']['values'].tolist()
        got = [[{'a': a[j], 'b': ''.join(map(chr, bv[bo[j]:bo[j + 1]]))} for j in range(o[k], o[k + 1])]
               for k in range(len(rows))]
        assert got == [r['ls'] for r in rows]


def test_nested_tensors(plain):
    url, expected = plain
    batches = _batches(url, {'text': 'nested', 'vec': 'nested'})
    for b in batches:
        assert b['vec'].is_nested and b['text'].is_nested
        rows = [expected[i] for i in b['id'].tolist()]
        assert [t.tolist() for t in b['vec'].unbind()] == [r['vec'] for r in rows]
        assert [''.join(map(chr, t.tolist())) for t in b['text'].unbind()] == [r['text'] for r in rows]


def test_max_length_truncates_or_fails(plain):
    url, expected = plain
    batches = _batches(url, {'text': {'policy': 'padded', 'max_length': 4, 'truncate': True}},
                       schema_fields=['id', 'text'])
    for b in batches:
        assert b['text']['padded'].shape[1] == 4
        for k, i in enumerate(b['id'].tolist()):
            want = _code_points(expected[i]['text'])[:4]
            assert b['text']['lengths'][k].item() == len(want)
            assert b['text']['padded'][k].tolist() == want + [0] * (4 - len(want))
    with pytest.raises(ValueError, match=r"field 'text': row \d+ has \d+ elements, more than max_length=4"):
        _batches(url, {'text': {'policy': 'padded', 'max_length': 4}}, schema_fields=['id', 'text'])


def test_default_keeps_lists_and_nested_columns_are_not_dropped(plain):
    url, expected = plain
    fields = ['id', 'text', 'blob', 'll', 'ls']
    batches = _batches(url, None, schema_fields=fields)
    for b in batches:
        rows = [expected[i] for i in b['id'].tolist()]
        assert b['text'] == [r['text'] for r in rows]
        assert b['ll'] == [r['ll'] for r in rows]
        assert b['ls'] == [r['ls'] for r in rows]
    assert sum(len(b['id']) for b in batches) == ROWS
    lists = _batches(url, {'text': 'list'}, schema_fields=fields)
    assert [b['text'] for b in lists] == [b['text'] for b in batches]


def test_padded_on_nested_columns_points_to_offsets(plain):
    url, _ = plain
    with pytest.raises(TypeError, match=r"field 'll': 'padded' takes one level of lists.*use 'offsets'"):
        _batches(url, {'ll': 'padded'}, schema_fields=['id', 'll'])
    with pytest.raises(TypeError, match=r"field 'ls': 'nested' takes one level"):
        _batches(url, {'ls': 'nested'}, schema_fields=['id', 'ls'])


def test_bad_collate_arguments_name_the_field_or_policy(plain):
    url, _ = plain
    with make_batch_reader(url, schema_fields=['id', 'text']) as reader:
        with pytest.raises(ValueError, match="collate: unknown field 'txt'"):
            BatchedDataLoader(reader, collate={'txt': 'padded'})
        with pytest.raises(ValueError, match="collate: field 'text': unknown policy 'pad'"):
            BatchedDataLoader(reader, collate={'text': 'pad'})
        with pytest.raises(ValueError, match="field 'text': unknown option"):
            BatchedDataLoader(reader, collate={'text': {'policy': 'padded', 'width': 3}})
        with pytest.raises(ValueError, match="field 'text': max_length are options of 'padded'"):
            BatchedDataLoader(reader, collate={'text': {'policy': 'offsets', 'max_length': 3}})
        with pytest.raises(ValueError, match="field 'text': truncate needs a max_length"):
            BatchedDataLoader(reader, collate={'text': {'policy': 'padded', 'truncate': True}})
        with pytest.raises(ValueError, match="pad_value 0.5 is not exactly a int32 value"):
            list(BatchedDataLoader(reader, collate={'text': {'policy': 'padded', 'pad_value': 0.5}}))
    with make_batch_reader(url, schema_fields=['id', 'text']) as reader:
        with pytest.raises(TypeError, match="field 'id': holds scalars"):
            list(BatchedDataLoader(reader, collate={'id': 'offsets'}))


def test_nulls_are_errors_naming_the_field(tmp_path):
    pq.write_table(pa.table({'id': [0, 1, 2], 'text': ['a', None, 'c'],
                             'vec': pa.array([[1.0], [2.0], None], pa.list_(pa.float32())),
                             'inner': pa.array([[1.0], [2.0, None], []], pa.list_(pa.float32())),
                             'ls': pa.array([[{'b': 'x'}], [], [{'b': None}]], pa.list_(pa.struct([('b', pa.string())])))}),
                   str(tmp_path / 'n.parquet'))
    url = 'file://' + str(tmp_path)
    with pytest.raises(TypeError, match=r"collate: field 'text': a null at row 1 \(collate takes no nulls"):
        _batches(url, {'text': 'padded'}, schema_fields=['id', 'text'])
    with pytest.raises(TypeError, match=r"collate: field 'vec': a null at row 2"):
        _batches(url, {'vec': 'offsets'}, schema_fields=['id', 'vec'])
    with pytest.raises(TypeError, match=r"collate: field 'inner': a null at item 2 of list level 1"):
        _batches(url, {'inner': 'padded'}, schema_fields=['id', 'inner'])
    with pytest.raises(TypeError, match=r"collate: field 'ls' at 'ls.b': a null at item 1"):
        _batches(url, {'ls': 'offsets'}, schema_fields=['id', 'ls'])


def test_tokenizer_style_batch_transform(plain):
    """A batch-level transform takes the batch's tensors and returns tensors."""
    url, expected = plain

    def tokenize(batch):
        text = batch['text']
        ids = (text['padded'] % 1000).to(torch.int64) + 1  # a toy vocabulary: code point -> id
        ids[~text['mask']] = 0
        return {'input_ids': ids, 'attention_mask': text['mask'].to(torch.int64), 'label': batch['id']}

    batches = _batches(url, {'text': 'padded'}, shuffle=10, schema_fields=['id', 'text'],
                       batch_transform_fn=tokenize)
    assert sum(len(b['label']) for b in batches) == ROWS
    for b in batches:
        assert set(b) == {'input_ids', 'attention_mask', 'label'}
        for k, i in enumerate(b['label'].tolist()):
            want = [c % 1000 + 1 for c in _code_points(expected[i]['text'])]
            n = len(want)
            assert b['input_ids'][k, :n].tolist() == want and not b['input_ids'][k, n:].any()
            assert b['attention_mask'][k].sum().item() == n


def test_transform_fn_gets_the_collated_numpy_arrays(plain):
    url, _ = plain
    seen = []

    def transform(column):
        if isinstance(column, dict):
            seen.append(sorted(column))
            return torch.as_tensor(column['lengths'])
        return column

    batches = _batches(url, {'text': 'padded'}, transform_fn=transform, schema_fields=['id', 'text'])
    assert seen and all(s == ['lengths', 'mask', 'padded'] for s in seen)
    assert all(b['text'].dtype == torch.int64 for b in batches)


RaggedSchema = Unischema('RaggedSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(np.int64), False),
    UnischemaField('name', np.str_, (), ScalarCodec(np.str_), False),
    UnischemaField('seq', np.float32, (None,), NdarrayCodec(), False),
    UnischemaField('pts', np.int16, (None, 2), NdarrayCodec(), False),
])


@pytest.fixture(scope='module')
def ragged_url(tmp_path_factory):
    path = tmp_path_factory.mktemp('ragged') / 'ds'
    rows = [{'id': i, 'name': WORDS[i % len(WORDS)], 'seq': np.arange(i % 5, dtype=np.float32) + i,
             'pts': np.full((i % 3, 2), i, np.int16)} for i in range(30)]
    write_dataset('file://' + str(path), RaggedSchema, rows, rows_per_rowgroup=8)
    return 'file://' + str(path), {r['id']: r for r in rows}


@pytest.mark.parametrize('shuffle', [0, 7])
def test_unischema_ragged_ndarray_fields(ragged_url, shuffle):
    """(None,) and (None, 2) NdarrayCodec fields are per-row tensors: padded and offsets of them."""
    url, rows = ragged_url
    with make_reader(url, shuffle_row_groups=False) as reader:
        batches = list(BatchedDataLoader(reader, batch_size=4, shuffling_queue_capacity=shuffle, seed=1,
                                         collate={'seq': 'padded', 'pts': 'offsets', 'name': 'offsets'}))
    ids = [i for b in batches for i in b['id'].tolist()]
    assert sorted(ids) == list(range(30))
    for b in batches:
        want = [rows[i] for i in b['id'].tolist()]
        width = max(len(r['seq']) for r in want)
        assert b['seq']['padded'].shape == (len(want), width)
        for k, r in enumerate(want):
            n = len(r['seq'])
            assert b['seq']['lengths'][k].item() == n
            assert b['seq']['padded'][k, :n].tolist() == r['seq'].tolist()
            assert not b['seq']['padded'][k, n:].any() and b['seq']['mask'][k].sum().item() == n
        o = b['pts']['offsets'].tolist()
        assert b['pts']['values'].dtype == torch.int16 and b['pts']['values'].shape[1:] == (2,)
        assert [b['pts']['values'][o[k]:o[k + 1]].tolist() for k in range(len(want))] == \
            [r['pts'].tolist() for r in want]
        o, v = b['name']['offsets'].tolist(), b['name']['values'].tolist()
        assert [''.join(map(chr, v[o[k]:o[k + 1]])) for k in range(len(want))] == [r['name'] for r in want]


def test_data_loader_keeps_working_on_strings_and_ragged(ragged_url):
    url, rows = ragged_url
    with make_reader(url, shuffle_row_groups=False, schema_fields=['id', 'name']) as reader:
        batches = list(DataLoader(reader, batch_size=8))
    assert [n for b in batches for n in b['name']] == [rows[i]['name'] for i in range(30)]

    def collate_fn(batch):
        return {'id': torch.tensor([r['id'] for r in batch]), 'seq': [torch.as_tensor(r['seq']) for r in batch]}

    with make_reader(url, shuffle_row_groups=False) as reader:
        batches = list(DataLoader(reader, batch_size=8, collate_fn=collate_fn))
    assert [t.tolist() for b in batches for t in b['seq']] == [rows[i]['seq'].tolist() for i in range(30)]
