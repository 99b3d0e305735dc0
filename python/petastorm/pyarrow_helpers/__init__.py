"""Helpers on pyarrow tables (Petastorm's ``petastorm.pyarrow_helpers``)."""
