"""Petastorm's reader helpers usable on their own: shuffling buffers and serializers."""
