"""TransformSpec: a user function applied to rows after decoding (Petastorm's API)."""


def edit_field(name, numpy_dtype, shape, nullable=False):
    """A field added or replaced by a transform: ``(name, numpy_dtype, shape, nullable)``."""
    return name, numpy_dtype, shape, nullable


class TransformSpec(object):
    """What a transform does to rows and to the schema.

    :param func: takes a row (dict) and returns a row (dict).
    :param edit_fields: list of ``(name, numpy_dtype, shape, nullable)`` tuples the transform adds
        or changes.
    :param removed_fields: names of fields the transform removes.
    :param selected_fields: names of the fields kept, in this order (exclusive with
        removed_fields).
    """

    def __init__(self, func=None, edit_fields=None, removed_fields=None, selected_fields=None):
        self.func = func
        self.edit_fields = edit_fields or []
        if removed_fields is not None and selected_fields is not None:
            raise ValueError('User can only specify one of removed_fields and selected_fields in TransformSpec.')
        self.removed_fields = removed_fields or []
        self.selected_fields = selected_fields


def transform_schema(schema, transform_spec):
    """The schema of rows after ``transform_spec`` (Petastorm's rules)."""
    from petastorm.unischema import transform_unischema
    return transform_unischema(schema, transform_spec)


def transform_row(transform_spec, row):
    """One row (a dict) after ``transform_spec``: ``func``, then ``removed_fields`` dropped, or
    only ``selected_fields`` kept in their order (make_reader's transform)."""
    if transform_spec.func is not None:
        row = transform_spec.func(row)
    for name in transform_spec.removed_fields:
        row.pop(name, None)
    if transform_spec.selected_fields is not None:
        row = {name: row[name] for name in transform_spec.selected_fields if name in row}
    return row
