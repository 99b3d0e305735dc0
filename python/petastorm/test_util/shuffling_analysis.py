"""Measures how well a reader's shuffling decorrelates the read order from the stored order
(Petastorm's petastorm.test_util.shuffling_analysis)."""
import numpy as np

from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.reader import make_reader
from petastorm.unischema import Unischema, UnischemaField
from petastorm.writer import write_dataset

_ID_COLUMN = 'id'

ShuffleAnalysisSchema = Unischema('ShuffleAnalysisSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec(np.int64), False),
    UnischemaField('zeros', np.int32, (10,), NdarrayCodec(), False),
])


def generate_shuffle_analysis_dataset(spark, output_dataset_url, num_rows=1000, row_group_size=100):
    """Writes a dataset of `num_rows` rows of ``ShuffleAnalysisSchema`` (``id`` = 0..num_rows-1 in
    order, ``zeros`` ten int32 zeros) at `output_dataset_url`, `row_group_size` rows per row
    group. `spark` is accepted for Petastorm's signature and not used (the C++ writer needs no
    Spark session; None is fine). Returns the number of rows written."""
    rows = ({'id': np.int64(i), 'zeros': np.zeros(10, np.int32)} for i in range(num_rows))
    return write_dataset(output_dataset_url, ShuffleAnalysisSchema, rows, rows_per_rowgroup=row_group_size)


def _read_ids(dataset_url, id_column, **reader_args):
    with make_reader(dataset_url, schema_fields=[id_column], num_epochs=1, reader_pool_type='dummy',
                     **reader_args) as reader:
        return np.array([getattr(row, id_column) for row in reader])


def compute_correlation_distribution(dataset_url, id_column, shuffle_row_drop_partitions, num_corr_samples=100):
    """Reads `id_column` once in stored order (no shuffling), then `num_corr_samples` times with
    row-group shuffling and `shuffle_row_drop_partitions`; returns ``(mean, std)`` of the absolute
    Pearson correlation between each shuffled read and the ordered one (1.0: no shuffling
    effect; near 0: well shuffled). Reads of unequal length (row drop partitions) are compared
    over their common length."""
    ordered = _read_ids(dataset_url, id_column, shuffle_row_groups=False)
    correlations = []
    for _ in range(num_corr_samples):
        shuffled = _read_ids(dataset_url, id_column, shuffle_row_groups=True,
                             shuffle_row_drop_partitions=shuffle_row_drop_partitions)
        n = min(len(ordered), len(shuffled))
        correlations.append(abs(np.corrcoef(ordered[:n], shuffled[:n])[0, 1]))
    return float(np.mean(correlations)), float(np.std(correlations))
