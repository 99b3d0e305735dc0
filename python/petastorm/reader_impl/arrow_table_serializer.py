"""``ArrowTableSerializer``: a ``pyarrow.Table`` to Arrow IPC stream bytes and back."""
import pyarrow as pa


class ArrowTableSerializer(object):
    """``serialize(table) -> bytes`` (an Arrow IPC stream: schema then the table's record
    batches); ``deserialize(bytes-like) -> pyarrow.Table`` equal to the serialized one."""

    def serialize(self, rows):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, rows.schema) as writer:
            writer.write_table(rows)
        return sink.getvalue()

    def deserialize(self, serialized_rows):
        return pa.ipc.open_stream(serialized_rows).read_all()
