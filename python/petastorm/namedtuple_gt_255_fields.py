"""Petastorm's namedtuple for more than 255 fields, needed before Python 3.7: since 3.7
``collections.namedtuple`` has no such limit, and this is it."""
from collections import namedtuple

namedtuple_gt_255_fields = namedtuple

__all__ = ['namedtuple_gt_255_fields']
