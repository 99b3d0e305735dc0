"""Row-group selectors (Petastorm's petastorm.selectors): make_reader(rowgroup_selector=...)
reads only the row groups a selector picks from the dataset's row-group indexes
(petastorm.etl.rowgroup_indexing)."""
import abc


class RowGroupSelectorBase(abc.ABC):
    """Picks row groups (piece indexes) from a dataset's indexes."""

    @abc.abstractmethod
    def get_index_names(self):
        """The names of the indexes the selector needs."""

    @abc.abstractmethod
    def select_row_groups(self, index_dict):
        """The set of row groups selected, given {index name: indexer}."""


class SingleIndexSelector(RowGroupSelectorBase):
    """The row groups holding any of `values_list` in index `index_name`."""

    def __init__(self, index_name, values_list):
        self._index_name = index_name
        self._values_to_select = values_list

    def get_index_names(self):
        return [self._index_name]

    def select_row_groups(self, index_dict):
        indexer = index_dict[self._index_name]
        row_groups = set()
        for value in self._values_to_select:
            row_groups |= set(indexer.get_row_group_indexes(value))
        return row_groups


class IntersectIndexSelector(RowGroupSelectorBase):
    """The row groups every one of `single_index_selectors` selects."""

    def __init__(self, single_index_selectors):
        self._single_index_selectors = list(single_index_selectors)

    def get_index_names(self):
        return [name for selector in self._single_index_selectors for name in selector.get_index_names()]

    def select_row_groups(self, index_dict):
        selected = [selector.select_row_groups(index_dict) for selector in self._single_index_selectors]
        return set.intersection(*selected) if selected else set()


class UnionIndexSelector(RowGroupSelectorBase):
    """The row groups any of `single_index_selectors` selects."""

    def __init__(self, single_index_selectors):
        self._single_index_selectors = list(single_index_selectors)

    def get_index_names(self):
        return [name for selector in self._single_index_selectors for name in selector.get_index_names()]

    def select_row_groups(self, index_dict):
        row_groups = set()
        for selector in self._single_index_selectors:
            row_groups |= selector.select_row_groups(index_dict)
        return row_groups
