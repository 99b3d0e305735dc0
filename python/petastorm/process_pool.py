"""reader_pool_type='process': worker processes for GIL-bound Python predicates and transforms.

Each worker process runs the same C++ plan (same seed) and takes every N-th work item
(item_stride=N, item_offset=k); it reads, decodes, evaluates the predicate and applies the
transform, then sends the item's rows over a pipe as one Arrow IPC stream: arrays travel as
raw buffers, never pickled, and the parent makes numpy arrays over the received buffer without
copying. The parent takes items round-robin, so the order is the plan's, as with threads.
Transform functions and predicates are sent to the workers with pickle: they must be
importable (module-level), not lambdas.

For make_batch_reader (``batched``) a worker sends the item's converted columns instead: one
pickle (protocol 5) whose numpy buffers travel out of band, each as its own message received
straight into a buffer the parent's arrays then own (no copy, writable).
"""
import multiprocessing
import pickle
import struct

import numpy as np
import pyarrow as pa

_DATA, _ERROR, _END = b'D', b'E', b'X'
_TENSOR_TYPE = pa.struct([('data', pa.binary()), ('shape', pa.list_(pa.int64())), ('dtype', pa.string())])


def _serialize_rows(names, rows):
    """Rows (dicts) as an Arrow IPC stream: array fields as struct{data, shape, dtype}."""
    arrays = []
    for name in names:
        values = [row.get(name) for row in rows]
        if any(isinstance(v, np.ndarray) for v in values):
            mask = [v is None for v in values]
            arrays.append(pa.StructArray.from_arrays(
                [pa.array([None if v is None else np.ascontiguousarray(v).view(np.uint8).reshape(-1).data
                           if v.size else b'' for v in values], pa.binary()),
                 pa.array([None if v is None else list(v.shape) for v in values], pa.list_(pa.int64())),
                 pa.array([None if v is None else v.dtype.str for v in values], pa.string())],
                fields=list(_TENSOR_TYPE), mask=pa.array(mask, pa.bool_())))
        else:
            arrays.append(pa.array([v.item() if isinstance(v, np.generic) and not isinstance(v, np.datetime64)
                                    else v for v in values]))
    batch = pa.RecordBatch.from_arrays(arrays, names=names) if names else pa.RecordBatch.from_pydict({})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def _deserialize_rows(schema, buffer):
    """The rows of _serialize_rows, with numpy arrays over `buffer` (no copy)."""
    from petastorm.reader import _scalar_column
    table = pa.ipc.open_stream(buffer).read_all()
    names = table.column_names
    columns = []
    for name in names:
        column = table.column(name).combine_chunks()
        if pa.types.is_struct(column.type) and column.type.equals(_TENSOR_TYPE):
            data, shapes, dtypes = column.flatten()
            offsets = np.frombuffer(data.buffers()[1], np.int32)[data.offset:data.offset + len(data) + 1]
            payload = data.buffers()[2]
            values = []
            for i in range(len(column)):
                if not column[i].is_valid:
                    values.append(None)
                    continue
                dtype = np.dtype(dtypes[i].as_py())
                shape = tuple(shapes[i].as_py())
                start = offsets[i]
                count = int(np.prod(shape, dtype=np.int64))
                values.append(np.frombuffer(payload, dtype, count, int(start)).reshape(shape)
                              if count else np.empty(shape, dtype))
            columns.append(values)
        elif name in schema.fields:
            columns.append(_scalar_column(schema.fields[name], column))
        else:
            columns.append(column.to_pylist())
    return [dict(zip(names, values)) for values in zip(*columns)] if names else []


def _send_columns(conn, columns):
    """A batch's {name: numpy array}: the pickle, then each out-of-band buffer."""
    buffers = []
    body = pickle.dumps(columns, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    header = struct.pack('<I{}Q'.format(len(raws)), len(raws), *(r.nbytes for r in raws))
    conn.send_bytes(_DATA + header + body)
    for raw in raws:
        conn.send_bytes(raw)


def _receive_columns(conn, payload):
    """The columns _send_columns sent; `payload` is the first message without its tag."""
    (count,) = struct.unpack_from('<I', payload, 0)
    sizes = struct.unpack_from('<{}Q'.format(count), payload, 4)
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        conn.recv_bytes_into(buffer)
        buffers.append(buffer)
    return pickle.loads(payload[4 + 8 * count:], buffers=buffers)


def _worker_main(conn, offset, stride, args):
    """Runs in a worker process: serves every stride-th work item, from item `offset`."""
    try:
        from petastorm.reader import Reader
        reader_class = args.get('reader_class') or Reader
        reader = reader_class(args['dataset_url'], schema_fields=args['schema_fields'], seed=args['seed'],
                        shuffle_rows=args['shuffle_rows'], shuffle_row_groups=args['shuffle_row_groups'],
                        shuffle_row_drop_partitions=args['shuffle_row_drop_partitions'],
                        predicate=args['predicate'], num_epochs=args['num_epochs'], cur_shard=args['cur_shard'],
                        shard_count=args['shard_count'], shard_seed=args['shard_seed'], cache=args['cache'],
                        transform_spec=args['transform_spec'], pool='dummy', workers_count=1,
                        filters=args['filters'], item_stride=stride, item_offset=offset, deliver_empty=True,
                        partition_overlap_rows=args['partition_overlap_rows'])
        names = list(reader.schema.fields)
        while True:
            rows = reader._next_item_dicts()
            if rows is None:
                conn.send_bytes(_END)
                return
            if reader.is_batched_reader:
                _send_columns(conn, rows)
            else:
                conn.send_bytes(_DATA + _serialize_rows(names, rows).to_pybytes())
    except BaseException as e:  # noqa: B902 -- everything goes back to the consumer
        try:
            payload = pickle.dumps(e)
        except Exception:
            payload = pickle.dumps(RuntimeError('{}: {}'.format(type(e).__name__, e)))
        try:
            conn.send_bytes(_ERROR + payload)
        except (BrokenPipeError, OSError):
            pass
    finally:
        conn.close()


class ProcessPool(object):
    """Worker processes and the parent's round-robin collection of their results."""

    def __init__(self, workers_count, worker_args, schema, batched=False):
        for key in ('transform_spec', 'predicate'):
            try:
                pickle.dumps(worker_args[key])
            except Exception as e:
                raise ValueError("reader_pool_type='process' sends the {} to worker processes with pickle, "
                                 'which failed ({}); use module-level functions instead of lambdas or '
                                 'closures'.format(key, e))
        self._count = workers_count
        self._args = worker_args
        self._schema = schema
        self._batched = batched
        self._procs = []
        self._conns = []
        self._start()

    def _start(self):
        context = multiprocessing.get_context('spawn')
        for k in range(self._count):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_worker_main, args=(sender, k, self._count, self._args),
                                      name='petastorm-worker-{}'.format(k), daemon=True)
            process.start()
            sender.close()
            self._procs.append(process)
            self._conns.append(receiver)
        self._sequence = 0
        self._done = False

    def next(self):
        """The next work item's rows (a list of dicts, maybe empty; batched: a dict of
        columns, maybe empty); None at the end."""
        while not self._done:
            k = self._sequence % self._count
            try:
                message = self._conns[k].recv_bytes()
            except EOFError:
                self.stop()
                raise RuntimeError('Reader worker process {} exited unexpectedly (exit code {})'.format(
                    k, self._procs[k].exitcode))
            tag, payload = message[:1], message[1:]
            if tag == _END:
                self._done = True
                return None
            if tag == _ERROR:
                self.stop()
                raise pickle.loads(payload)
            self._sequence += 1
            if self._batched:
                return _receive_columns(self._conns[k], payload)
            return _deserialize_rows(self._schema, pa.py_buffer(payload))
        return None

    def stop(self):
        for process in self._procs:
            if process.is_alive():
                process.terminate()
        self._done = True

    def join(self):
        for process in self._procs:
            process.join()
        for conn in self._conns:
            conn.close()
        self._procs = []
        self._conns = []

    def restart(self):
        self.stop()
        self.join()
        self._start()
