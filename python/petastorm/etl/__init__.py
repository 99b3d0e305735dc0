"""Dataset generation helpers (Petastorm's petastorm.etl): RowGroupIndexerBase is the API of
row-group indexers (petastorm.etl.rowgroup_indexers)."""
import abc


class RowGroupIndexerBase(abc.ABC):
    """An index from values to the row groups (piece indexes: positions in the dataset's
    row-group order) that hold them. Built per row group by build_index, merged by ``+``."""

    @abc.abstractmethod
    def __add__(self, other):
        """This indexer with `other`'s index data merged in."""

    @property
    @abc.abstractmethod
    def index_name(self):
        """The index's unique name."""

    @property
    @abc.abstractmethod
    def column_names(self):
        """The columns the index is built from."""

    @property
    @abc.abstractmethod
    def indexed_values(self):
        """The values in the index."""

    @abc.abstractmethod
    def get_row_group_indexes(self, value_key):
        """The set of row groups holding `value_key`."""

    @abc.abstractmethod
    def build_index(self, decoded_rows, piece_index):
        """Indexes `decoded_rows` (dicts of decoded values) of row group `piece_index`."""
