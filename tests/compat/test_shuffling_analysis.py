"""petastorm.test_util.shuffling_analysis (inventory section 1)."""
from petastorm.reader import make_reader
from petastorm.test_util.shuffling_analysis import (compute_correlation_distribution,
                                                    generate_shuffle_analysis_dataset)


def test_generate_and_correlation(tmp_path):
    url = 'file://' + str(tmp_path / 'ds')
    assert generate_shuffle_analysis_dataset(None, url, num_rows=200, row_group_size=10) == 200
    with make_reader(url, shuffle_row_groups=False, reader_pool_type='dummy') as reader:
        rows = list(reader)
    assert [r.id for r in rows] == list(range(200))
    assert rows[0].zeros.shape == (10,) and not rows[0].zeros.any()
    mean, std = compute_correlation_distribution(url, 'id', 1, num_corr_samples=5)
    assert 0.0 <= mean < 0.9 and std >= 0.0
