"""Throughput measurement of readers: ``petastorm-throughput`` (cli.py) and ``reader_throughput``."""
