"""``PickleSerializer``: Python objects to bytes and back with ``pickle.HIGHEST_PROTOCOL``."""
import pickle


class PickleSerializer(object):
    """``serialize(rows) -> bytes``; ``deserialize(bytes) -> rows`` (an equal object)."""

    def serialize(self, rows):
        return pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)

    def deserialize(self, serialized_rows):
        return pickle.loads(serialized_rows)
