"""A reader of generated rows, for testing code that consumes readers without a dataset
(Petastorm's petastorm.test_util.reader_mock)."""
from decimal import Decimal

import numpy as np


class ReaderMock(object):
    """An endless reader: every next() returns ``schema.make_namedtuple(**schema_data_generator(schema))``."""

    def __init__(self, schema, schema_data_generator, ngram=None):
        if ngram is not None:
            raise ValueError('Sequence argument not supported for ReaderMock')
        self.schema = schema
        self.schema_data_generator = schema_data_generator
        self.ngram = None
        self.batched_output = False
        self.last_row_consumed = False

    def fetch(self):
        """One generated row of the schema, as its namedtuple."""
        return self.schema.make_namedtuple(**self.schema_data_generator(self.schema))

    def __iter__(self):
        return self

    def __next__(self):
        return self.fetch()

    def next(self):
        return self.__next__()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        pass

    def stop(self):
        pass

    def join(self):
        pass


def schema_data_generator_example(schema):
    """{field name: zeros of the field's dtype and shape (None dimensions as 10); Decimal('0.0')}."""
    values = {}
    for field in schema.fields.values():
        if field.numpy_dtype is Decimal:
            values[field.name] = Decimal('0.0')
        else:
            shape = tuple(10 if dim is None else dim for dim in field.shape)
            values[field.name] = np.zeros(shape, dtype=field.numpy_dtype)
    return values
