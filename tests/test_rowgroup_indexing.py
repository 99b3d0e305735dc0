"""Row-group indexes built here (no Spark), stored as JSON, Petastorm's pickled ones read, and
make_reader(rowgroup_selector=...)."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from petastorm import make_batch_reader, make_reader, write_dataset
from petastorm.codecs import NdarrayCodec
from petastorm.etl.rowgroup_indexers import FieldNotNullIndexer, SingleFieldIndexer
from petastorm.etl.rowgroup_indexing import build_rowgroup_index, get_row_group_indexes
from petastorm.selectors import IntersectIndexSelector, SingleIndexSelector, UnionIndexSelector
from petastorm.unischema import Unischema, UnischemaField

Schema = Unischema('Indexed', [
    UnischemaField('id', np.int64, (), None, False),
    UnischemaField('color', np.str_, (), None, False),
    UnischemaField('tags', np.str_, (None,), NdarrayCodec(), False),
    UnischemaField('maybe', np.int32, (), None, True),
])
COLORS = ['red', 'green', 'blue']


def _row(i):
    # Row groups of 5 rows: group g holds ids 5g..5g+4, one colour per group, `maybe` only in groups 1, 3.
    g = i // 5
    return {'id': i, 'color': COLORS[g % 3], 'tags': np.array(['t{}'.format(g), 'all'], dtype=np.str_),
            'maybe': i if g in (1, 3) else None}


@pytest.fixture
def indexed(tmp_path):
    url = 'file://' + str(tmp_path / 'ds')
    write_dataset(url, Schema, [_row(i) for i in range(30)], rows_per_rowgroup=5, rows_per_file=10)
    build_rowgroup_index(url, None, [SingleFieldIndexer('by_id', 'id'), SingleFieldIndexer('by_color', 'color'),
                                     SingleFieldIndexer('by_tag', 'tags'), FieldNotNullIndexer('has_maybe', 'maybe')])
    return url


def _ids(url, selector, **kwargs):
    with make_reader(url, rowgroup_selector=selector, **kwargs) as reader:
        return sorted(int(r.id) for r in reader)


def test_the_index_maps_values_to_row_groups(indexed):
    indexes = get_row_group_indexes(indexed)
    assert set(indexes) == {'by_id', 'by_color', 'by_tag', 'has_maybe'}
    assert indexes['by_color'].get_row_group_indexes('blue') == {2, 5}
    assert indexes['by_id'].get_row_group_indexes(np.int64(12)) == {2}  # numpy or Python keys
    assert indexes['by_tag'].get_row_group_indexes('all') == set(range(6))
    assert indexes['has_maybe'].get_row_group_indexes() == {1, 3}
    assert sorted(indexes['by_id'].indexed_values) == list(range(30))


def test_selectors_pick_row_groups(indexed):
    assert _ids(indexed, SingleIndexSelector('by_color', ['red'])) == list(range(0, 5)) + list(range(15, 20))
    assert _ids(indexed, SingleIndexSelector('by_id', [7, 26])) == list(range(5, 10)) + list(range(25, 30))
    both = IntersectIndexSelector([SingleIndexSelector('by_color', ['green', 'blue']),
                                   SingleIndexSelector('has_maybe', [None])])
    assert _ids(indexed, both) == list(range(5, 10))
    either = UnionIndexSelector([SingleIndexSelector('by_tag', ['t0']), SingleIndexSelector('by_id', [29])])
    assert _ids(indexed, either) == list(range(0, 5)) + list(range(25, 30))
    with pytest.warns(UserWarning, match='No matching data'):
        assert _ids(indexed, SingleIndexSelector('by_color', ['purple'])) == []


def test_selectors_compose_with_sharding_and_the_batch_reader(indexed):
    selector = SingleIndexSelector('by_color', ['red', 'green'])
    shards = [_ids(indexed, selector, cur_shard=k, shard_count=2, seed=1) for k in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(0, 10)) + list(range(15, 25))
    assert not set(shards[0]) & set(shards[1])
    with make_batch_reader(indexed, rowgroup_selector=selector) as reader:
        assert sorted(int(i) for b in reader for i in b.id) == list(range(0, 10)) + list(range(15, 25))
    with make_reader(indexed, rowgroup_selector=selector, reader_pool_type='process', workers_count=2) as reader:
        assert sorted(int(r.id) for r in reader) == list(range(0, 10)) + list(range(15, 25))


def test_bad_selectors_and_missing_indexes(indexed, tmp_path):
    with pytest.raises(ValueError, match='Some of required indexes'):
        make_reader(indexed, rowgroup_selector=SingleIndexSelector('WrongIndexName', ['some_value']))
    with pytest.raises(ValueError, match='derived from RowGroupSelectorBase'):
        make_reader(indexed, rowgroup_selector='by_id')
    url = 'file://' + str(tmp_path / 'plain')
    write_dataset(url, Schema, [_row(i) for i in range(5)])
    with pytest.raises(ValueError, match='Row groups index is not available'):
        make_reader(url, rowgroup_selector=SingleIndexSelector('by_id', [1]))


def test_building_again_adds_and_replaces_indexes(indexed):
    build_rowgroup_index(indexed, None, [SingleFieldIndexer('by_color', 'id')])  # same name, other field
    indexes = get_row_group_indexes(indexed)
    assert set(indexes) == {'by_id', 'by_color', 'by_tag', 'has_maybe'}
    assert indexes['by_color'].get_row_group_indexes(3) == {0}
    with pytest.raises(ValueError, match='unique'):
        build_rowgroup_index(indexed, None, [SingleFieldIndexer('a', 'id'), SingleFieldIndexer('a', 'color')])


def test_a_stale_index_is_an_error(indexed, tmp_path):
    # More row groups than the index was built for: the index names no longer line up.
    from petastorm.etl.dataset_metadata import write_dataset_metadata
    root = Path(indexed[len('file://'):])
    shutil.copy(str(sorted(root.glob('*.parquet'))[0]), str(root / 'zz-extra.parquet'))
    write_dataset_metadata(indexed, Schema)
    with pytest.raises(ValueError, match='built for 6 row groups; the dataset has 8'):
        make_reader(indexed, rowgroup_selector=SingleIndexSelector('by_id', [1]))


LEGACY = next((p for p in [Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'petastorm-legacy',
                           Path('/work/shared/data/petastorm-legacy')] if p.exists()), None)


@pytest.mark.skipif(LEGACY is None, reason='shared/data/petastorm-legacy is not present')
def test_petastorm_pickled_index_of_a_legacy_dataset_selects():
    url = 'file://' + str(LEGACY / '0.7.0')
    indexes = get_row_group_indexes(url)
    assert set(indexes) == {'id', 'sensor_name', 'string_array_nullable', 'partition_key'}
    assert _ids(url, SingleIndexSelector('id', [3, 77]), workers_count=1) == list(range(0, 10)) + list(range(70, 80))
    assert _ids(url, SingleIndexSelector('partition_key', ['p_5']), workers_count=1) == list(range(50, 60))
