"""The schemas and row generators of the Spark generation tests as module attributes, importable
by Spark's Python workers (tests/ is on their PYTHONPATH); defined in petastorm_compat_job."""
from petastorm_compat_job import every_codec_row, hello_world_row, make_schemas

_SCHEMAS = make_schemas()
HelloWorldSchema = _SCHEMAS['hello']
EveryCodecSchema = _SCHEMAS['every']

__all__ = ['HelloWorldSchema', 'EveryCodecSchema', 'hello_world_row', 'every_codec_row']
