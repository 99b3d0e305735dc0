"""Exceptions of the petastorm package (Petastorm's names)."""


class NoDataAvailableError(Exception):
    """Raised when a shard or a filter leaves no data to read."""
