"""Makes a dataset written by this project readable by the original Petastorm (0.13.1).

    .venv-ref/bin/python benchmarks/ref_metadata.py OUR_DATASET_DIR REF_DIR

Runs in the reference environment (.venv-ref). REF_DIR gets symlinks to OUR_DATASET_DIR's data
files (the very same Parquet files) and a copy of its ``_common_metadata`` to which the original
library adds its pickled Unischema (``dataset-toolkit.unischema.v1``) with
``petastorm.utils.add_to_dataset_metadata``. The Unischema is rebuilt from our
``petastorm.unischema.json`` key with Petastorm's own classes. The row-group counts key
(``dataset-toolkit.num_row_groups_per_file.v1``) is already in our metadata.
"""
import json
import os
import shutil
import sys
import warnings

import numpy as np
import pyarrow.parquet as pq

_SPARK_TYPES = {
    'bool': 'BooleanType', 'int8': 'ByteType', 'int16': 'ShortType', 'int32': 'IntegerType',
    'int64': 'LongType', 'float32': 'FloatType', 'float64': 'DoubleType', 'string': 'StringType',
    'large_string': 'StringType', 'binary': 'BinaryType', 'large_binary': 'BinaryType',
    'date32': 'DateType', 'timestamp': 'TimestampType',
}


def _codec(spec):
    from petastorm import codecs
    if spec is None:
        return None
    name, params = spec['name'], spec.get('params', {})
    if name == 'scalar':
        import pyspark.sql.types as T
        type_id = params['type']['id']
        if type_id.startswith('decimal'):
            return codecs.ScalarCodec(T.DecimalType(params['type']['precision'], params['type']['scale']))
        return codecs.ScalarCodec(getattr(T, _SPARK_TYPES[type_id])())
    if name == 'ndarray':
        return codecs.NdarrayCodec()
    if name == 'compressed_ndarray':
        return codecs.CompressedNdarrayCodec()
    if name == 'compressed_image':
        return codecs.CompressedImageCodec(params.get('image_codec', 'png'), params.get('quality', 80))
    raise ValueError('no Petastorm 0.13.1 codec for {!r}'.format(name))


def _dtype(name):
    return {'str': np.str_, 'bytes': np.bytes_}.get(name) or np.dtype(name).type


def unischema_from_json(text):
    """Petastorm 0.13.1's Unischema for our Unischema JSON (docs/dataset-format.md)."""
    from petastorm.unischema import Unischema, UnischemaField
    doc = json.loads(text)
    return Unischema(doc['name'], [
        UnischemaField(f['name'], _dtype(f['dtype']), tuple(f['shape']), _codec(f['codec']), f['nullable'])
        for f in doc['fields']])


def make_reference_copy(source, target):
    from petastorm.etl.dataset_metadata import UNISCHEMA_KEY
    from petastorm.utils import add_to_dataset_metadata
    from six.moves import cPickle as pickle

    source, target = os.path.abspath(source), os.path.abspath(target)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    for name in sorted(os.listdir(source)):
        if not name.startswith(('_', '.')):
            os.symlink(os.path.join(source, name), os.path.join(target, name))
    # A real copy: add_to_dataset_metadata rewrites the file in place.
    shutil.copyfile(os.path.join(source, '_common_metadata'), os.path.join(target, '_common_metadata'))
    metadata = pq.read_schema(os.path.join(target, '_common_metadata')).metadata
    schema = unischema_from_json(metadata[b'petastorm.unischema.json'].decode())
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        dataset = pq.ParquetDataset(target, validate_schema=False, use_legacy_dataset=True)
        add_to_dataset_metadata(dataset, UNISCHEMA_KEY, pickle.dumps(schema))
    return schema


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    schema = make_reference_copy(sys.argv[1], sys.argv[2])
    print('{} -> {}: {}'.format(sys.argv[1], sys.argv[2], schema), file=sys.stderr)


if __name__ == '__main__':
    main()
