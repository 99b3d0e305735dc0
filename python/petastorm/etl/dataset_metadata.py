"""Petastorm metadata of a dataset: reading the stored Unischema, writing _common_metadata."""
from petastorm import _core
from petastorm.unischema import Unischema


class PetastormMetadataError(Exception):
    """The dataset has no (or unreadable) Petastorm metadata."""


def write_dataset_metadata(dataset_url, schema):
    """Makes the Parquet files at `dataset_url` (written by Spark, pyarrow, ...) a Petastorm
    dataset: writes ``_common_metadata`` with `schema` and every file's row-group count."""
    _core.write_dataset_metadata(str(dataset_url), schema.core_schema())


def get_schema_from_dataset_url(dataset_url_or_urls, hdfs_driver='libhdfs3', storage_options=None,
                                filesystem=None):
    """The Unischema stored in a dataset. Raises PetastormMetadataError when there is none."""
    url = dataset_url_or_urls[0] if isinstance(dataset_url_or_urls, (list, tuple)) else dataset_url_or_urls
    core_schema = _core.Dataset(str(url)).schema
    if core_schema is None:
        raise PetastormMetadataError('Could not find the unischema in the dataset common metadata file. '
                                     'Please provide or generate dataset with the unischema attached.')
    return Unischema.from_core(core_schema)
