"""NGram: windows of consecutive rows within a row group (Petastorm's petastorm.ngram)."""
from petastorm.unischema import UnischemaField, match_unischema_fields


class NGram(object):
    """Defines windows of consecutive rows, ordered by a timestamp field.

    :param fields: dict {offset: list of UnischemaField or full-match regex strings}; offsets may
        have gaps and need not start at 0.
    :param delta_threshold: the largest allowed timestamp difference between consecutive rows of
        a window.
    :param timestamp_field: the UnischemaField (or a regex matching exactly one field) ordering
        the rows.
    :param timestamp_overlap: when False, windows do not share timestamps.
    """

    def __init__(self, fields, delta_threshold, timestamp_field, timestamp_overlap=True):
        if not isinstance(fields, dict) or not fields:
            raise ValueError('fields must be a non-empty dict of {offset: list of fields}')
        for key, value in fields.items():
            if not isinstance(key, int):
                raise ValueError('NGram offsets must be integers, got {!r}'.format(key))
            if not isinstance(value, (list, tuple)) or not all(isinstance(f, (UnischemaField, str)) for f in value):
                raise ValueError('Each NGram offset maps to a list of UnischemaField or regex strings')
        if not isinstance(timestamp_field, (UnischemaField, str)):
            raise ValueError('timestamp_field must be a UnischemaField or a regex string')
        self._fields = {k: list(v) for k, v in fields.items()}
        self._delta_threshold = delta_threshold
        self._timestamp_field = timestamp_field
        self.timestamp_overlap = timestamp_overlap

    @property
    def length(self):
        return max(self._fields) - min(self._fields) + 1

    @property
    def fields(self):
        return self._fields

    @property
    def delta_threshold(self):
        return self._delta_threshold

    @property
    def timestamp_field(self):
        return self._timestamp_field

    def resolve_regex_field_names(self, schema):
        """Replaces regex strings by the schema's fields they match."""
        def resolve(items):
            out = []
            for item in items:
                if isinstance(item, str):
                    out.extend(match_unischema_fields(schema, [item]))
                else:
                    out.append(item)
            return out
        self._fields = {k: resolve(v) for k, v in self._fields.items()}
        if isinstance(self._timestamp_field, str):
            matched = match_unischema_fields(schema, [self._timestamp_field])
            if len(matched) != 1:
                raise ValueError('timestamp_field regex {!r} must match exactly one field, matched {}'.format(
                    self._timestamp_field, [f.name for f in matched]))
            self._timestamp_field = matched[0]

    def get_field_names_at_timestep(self, timestep):
        return [f.name for f in self._fields.get(timestep, [])]

    def get_field_names_at_all_timesteps(self):
        names = []
        for key in sorted(self._fields):
            for f in self._fields[key]:
                if f.name not in names:
                    names.append(f.name)
        if self._timestamp_field.name not in names:
            names.append(self._timestamp_field.name)
        return names

    def get_schema_at_timestep(self, schema, timestep):
        return schema.create_schema_view([schema.fields[name] for name in self.get_field_names_at_timestep(timestep)])

    def form_ngram(self, data, schema):
        """Windows over `data` (a list of row dicts of one row group, in storage order):
        a list of {offset: {field: value}}."""
        ts = self._timestamp_field.name
        base = min(self._fields)
        length = self.length
        result = []
        previous_end = None
        for index in range(len(data) - length + 1):
            window = data[index:index + length]
            for a, b in zip(window, window[1:]):
                if a[ts] > b[ts]:
                    raise NotImplementedError('NGram assumes that the data is sorted by {0} field which is not '
                                              'the case'.format(ts))
            if not self.timestamp_overlap and previous_end is not None and window[0][ts] <= previous_end:
                continue
            if all(b[ts] - a[ts] <= self._delta_threshold for a, b in zip(window, window[1:])):
                item = {}
                for i, row in enumerate(window):
                    # Every position has a key, as in Petastorm (an empty namedtuple in a gap).
                    offset = base + i
                    item[offset] = {name: row[name] for name in self.get_field_names_at_timestep(offset)}
                result.append(item)
                if not self.timestamp_overlap:
                    previous_end = window[-1][ts]
        return result

    def make_namedtuple(self, schema, ngram_as_dicts):
        return {offset: self.get_schema_at_timestep(schema, offset).make_namedtuple(**values)
                for offset, values in ngram_as_dicts.items()}

    def __eq__(self, other):
        if not isinstance(other, NGram) or set(self._fields) != set(other._fields):
            return False
        return all(set(map(str, self._fields[k])) == set(map(str, other._fields[k])) for k in self._fields)

    def __ne__(self, other):
        return not self == other
