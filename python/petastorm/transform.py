"""TransformSpec: a user function applied to rows after decoding (Petastorm's API)."""
import warnings


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
    from petastorm.unischema import Unischema, UnischemaField
    removed = set(transform_spec.removed_fields)
    unknown = removed - set(schema.fields)
    if unknown:
        warnings.warn('removed_fields specified some field names that are not part of the schema: {}'
                      .format(sorted(unknown)))
    edited = {f[0] for f in transform_spec.edit_fields}
    fields = [f for name, f in schema.fields.items() if name not in removed and name not in edited]
    fields += [UnischemaField(name, dtype, shape, None, nullable)
               for name, dtype, shape, nullable in transform_spec.edit_fields]
    if transform_spec.selected_fields is not None:
        by_name = {f.name: f for f in fields}
        missing = [n for n in transform_spec.selected_fields if n not in by_name]
        if missing:
            warnings.warn('selected_fields specified some field names that are not part of the schema: {}'
                          .format(missing))
        fields = [by_name[n] for n in transform_spec.selected_fields if n in by_name]
    return Unischema(schema._name + '_transformed', fields)
