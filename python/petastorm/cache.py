"""Petastorm's cache interface: ``CacheBase`` (a key -> value store with a fill function) and
``NullCache`` (stores nothing).

The reader's own row-group cache is the C++ local-disk cache (``cache_type='local-disk'``);
these classes are Petastorm's generic API for user code that caches on its own."""
from abc import ABC, abstractmethod


class CacheBase(ABC):
    """A cache: ``get(key, fill_cache_func)`` returns the value stored under ``key``; on a miss
    it calls ``fill_cache_func()`` (no arguments), may store its result, and returns it."""

    @abstractmethod
    def get(self, key, fill_cache_func):
        """The value for `key` (a str); on a miss ``fill_cache_func()``'s value."""


class NullCache(CacheBase):
    """A cache that stores nothing: every ``get`` calls ``fill_cache_func()`` and returns its value."""

    def get(self, key, fill_cache_func):
        return fill_cache_func()
