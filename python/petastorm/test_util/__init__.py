"""Helpers for testing code that consumes readers (Petastorm's petastorm.test_util)."""
