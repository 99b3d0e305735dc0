"""PyTorch adapters with Petastorm's names: DataLoader, BatchedDataLoader, InMemBatchedDataLoader.

Batches are assembled in C++ (``petastorm/batcher.h``): every numeric field of a batch is one
contiguous buffer, handed to torch with ``torch.from_numpy`` (no copy). In order (no shuffling
buffer), a batch whose rows lie in one decoded row group is a view of that row group's buffer
(writable: a write changes that batch's rows only; the batch keeps the row group's buffer alive);
other batches are filled with memcpy while the GIL is released. The shuffling buffer is C++
too, seeded, so a ``seed`` gives the same batches on every run. The loaders read
``reader.decoded_row_groups()``, the reader's public stream of decoded row groups (transformed ones too, and those worker processes send): they go to the batcher
without a Python object per row. Other readers (n-grams, objects that only iterate rows) are read
as rows (or batches) and handed over as numpy columns.

What a field becomes in a batch:

- numbers and booleans (scalars, fixed-size lists, codec tensors): a tensor ``(batch, *shape)``, after
  Petastorm's promotions uint16 -> int32, uint32 -> int64, bool -> uint8. A field whose rows
  differ in shape (variable-shape fields, ragged lists) is an error naming it, unless a
  ``collate_fn`` (DataLoader) or ``transform_fn`` (BatchedDataLoader) takes the list of
  per-row arrays it then becomes. A null is an error naming the field (Petastorm's TypeError),
  but in float fields of ``make_batch_reader`` readers, where it is NaN as in Petastorm.
- strings, bytes, decimals, dates and other values: a Python list (Petastorm raises for strings
  in ``BatchedDataLoader``, issue #795); arrays of strings: a list of numpy arrays.
- with ``BatchedDataLoader(collate={field: policy})``: strings, bytes, ragged and nested lists
  as tensors, made in C++ (``petastorm/collate.h``, docs/collate.md): ``'padded'`` gives
  ``{'padded', 'lengths', 'mask'}``, ``'offsets'`` ``{'values', 'offsets', ...}`` (one offsets
  tensor per level of lists, a dict per struct field), ``'nested'`` a torch nested tensor.

Beyond Petastorm: ``drop_last``; ``len()`` when the reader knows how many rows it delivers;
``seed`` for the shuffling buffer; :func:`shard_for_rank` for ``torch.distributed``;
``state_dict()``/``load_state_dict()`` (docs/resume.md); ``pin_memory``/``device`` on
BatchedDataLoader; :class:`IterableReaderDataset` for torch's own DataLoader.

torch is imported when a loader is used, not when this module is.
"""
import collections.abc
import decimal
import itertools
import logging
import re

# Petastorm: "Must import pyarrow before torch".
import numpy as np
import pyarrow as pa

from petastorm import _core, device_hand_off, loader_stages, loader_state
from petastorm._values import as_numpy, describe_value

logger = logging.getLogger(__name__)

_string_classes = (str, bytes)

_PARALLEL_ITER_ERROR = ('You must finish a full pass of Petastorm DataLoader before making another pass from the '
                        'beginning.If you do need to terminate early and restart from beginning, please re-create '
                        'the reader and the data loader.')

# Rows of a row reader gathered into one input of the batcher (the generic path).
_ROWS_PER_INPUT = 256


def _torch():
    import torch
    return torch


def _sanitize_pytorch_types(row_as_dict):
    """Petastorm's promotions of one row's values, in place: uint16 -> int32, uint32 -> int64,
    bool -> uint8; TypeError for arrays of strings or objects and for None."""
    for name, value in row_as_dict.items():
        if isinstance(value, np.ndarray):
            if value.dtype == np.uint16:
                row_as_dict[name] = value.astype(np.int32)
            elif value.dtype == np.uint32:
                row_as_dict[name] = value.astype(np.int64)
            elif value.dtype == np.bool_:
                row_as_dict[name] = value.astype(np.uint8)
            elif re.search('[SaUO]', value.dtype.str):
                raise TypeError('Pytorch does not support arrays of string or object classes. '
                                'Found in field {}.'.format(name))
        elif isinstance(value, np.bool_):
            row_as_dict[name] = np.uint8(value)
        elif value is None:
            raise TypeError('Pytorch does not support nullable fields. Found None in {}'.format(name))


def decimal_friendly_collate(batch):
    """``default_collate`` that also collates ``decimal.Decimal``, ``str`` and ``bytes`` values (into
    lists). `batch` is a list of rows (dicts); returns a dict of tensors and lists."""
    if isinstance(batch[0], decimal.Decimal):
        return batch
    elif isinstance(batch[0], collections.abc.Mapping):
        return {key: decimal_friendly_collate([d[key] for d in batch]) for key in batch[0]}
    elif isinstance(batch[0], _string_classes):
        return batch
    elif isinstance(batch[0], collections.abc.Sequence):
        transposed = zip(*batch)
        return [decimal_friendly_collate(samples) for samples in transposed]
    else:
        from torch.utils.data.dataloader import default_collate
        return default_collate(batch)


def shard_for_rank(rank=None, world_size=None, shard_mode=None, shard_remainder=None):
    """``dict(cur_shard=..., shard_count=...)`` for ``make_reader``/``make_batch_reader``: this
    process's share of the dataset in distributed training.

    Rank and world size default to ``torch.distributed``'s when its process group is
    initialized, else to the ``RANK`` and ``WORLD_SIZE`` environment variables (set by
    ``torchrun``), else to a single process (0, 1). ``shard_mode='rows'`` (with
    ``shard_remainder='drop'`` or ``'pad'``) gives every rank the same number of rows, so the
    same number of batches: no rank waits for another in an allreduce at the end of an epoch::

        reader = make_reader(url, **shard_for_rank(shard_mode='rows'))
    """
    if rank is None or world_size is None:
        found_rank, found_size = 0, 1
        torch = _torch()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            found_rank, found_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        else:
            import os
            if 'WORLD_SIZE' in os.environ:
                found_rank, found_size = int(os.environ.get('RANK', 0)), int(os.environ['WORLD_SIZE'])
        rank = found_rank if rank is None else rank
        world_size = found_size if world_size is None else world_size
    if not isinstance(rank, int) or not isinstance(world_size, int) or world_size < 1 or not 0 <= rank < world_size:
        raise ValueError('Need 0 <= rank < world_size, got rank={!r}, world_size={!r}'.format(rank, world_size))
    if shard_mode not in (None, 'row_groups', 'rows'):
        raise ValueError("shard_mode must be 'row_groups' or 'rows', got {!r}".format(shard_mode))
    if shard_remainder not in (None, 'drop', 'pad'):
        raise ValueError("shard_remainder must be 'drop' or 'pad', got {!r}".format(shard_remainder))
    out = dict(cur_shard=rank, shard_count=world_size)
    if shard_mode is not None:
        out['shard_mode'] = shard_mode
    if shard_remainder is not None:
        out['shard_remainder'] = shard_remainder
    return out


# --- From a reader to batches of numpy columns, through the C++ batcher ---------------------

def _pass_seed(seed, pass_index, draw):
    """The shuffling buffer's seed for one pass over the loader."""
    if seed is None:
        return draw()
    return int(np.random.SeedSequence([int(seed) % 2 ** 64, pass_index]).generate_state(1, np.uint64)[0])


def _is_numeric_array(value):
    return isinstance(value, np.ndarray) and value.dtype.kind in 'biufc'


def _column_input(name, values):
    """A column for Batcher.add_columns: `values` is a batch reader's numpy column or a list of
    row values."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind in 'biufc':
            return np.ascontiguousarray(values)
        if values.dtype.kind in 'USmM' and values.ndim == 1:
            return pa.array(values)
        values = list(values)
    values = [as_numpy(v) for v in values]  # a transform's torch tensors batch as numpy arrays do
    present = [v for v in values if v is not None]
    if not present:
        return pa.array(values)
    first = present[0]
    if isinstance(first, np.ndarray):
        if not all(isinstance(v, np.ndarray) for v in values):
            raise TypeError('Pytorch does not support nullable fields. Found None in {}'.format(name))
        return values  # one array per row: the batcher stacks them
    if isinstance(first, (np.number, np.bool_, bool, int, float)) and not isinstance(first, np.datetime64):
        if len(present) != len(values):
            raise TypeError('Pytorch does not support nullable fields. Found None in {}'.format(name))
        array = np.asarray(values)
        if array.dtype.kind in 'biufc':
            return array
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        kinds = sorted({describe_value(v) for v in present})
        raise TypeError('Field {}: cannot batch values of {}'.format(
            name, ', '.join(kinds[:3]) + (', ...' if len(kinds) > 3 else ''))) from None


def _capacity_in_budget(budget, capacity, batch_size, group):
    """The shuffling buffer's capacity in rows that keeps it within half the memory budget (the
    other half is the reader's). A buffered row keeps its whole row group's buffers alive (rows
    are views, not copies), and shuffled rows come from as many row groups as there are rows,
    so each of the up to capacity - 1 + batch_size + (a row group's rows) rows the buffer holds
    counts as a row group the size of `group`. At least 1; a warning when less than `capacity`."""
    fit = max(1, min(capacity, (budget.limit // 2) // max(1, group.memory_bytes) - batch_size - group.num_rows + 2))
    if fit < capacity:
        logger.warning('shuffling_queue_capacity=%d does not fit in half of memory_budget_bytes=%d with row groups '
                       'of %d bytes (each buffered row keeps its row group alive): the shuffling buffer holds %d rows',
                       capacity, budget.limit, group.memory_bytes, fit)
    return fit


class _BudgetMeter(object):
    """Tells the reader's memory budget the bytes a loader holds: the row groups its buffered
    rows keep alive (one per row when shuffled, the consecutive ones when not) and the batch in
    the consumer's hands, at the mean sizes of the row groups so far."""

    def __init__(self, budget, shuffled):
        self.budget = budget
        self.shuffled = shuffled
        self.bytes = 0
        self.rows = 0
        self.groups = 0

    def added(self, group, batcher):
        self.bytes += group.memory_bytes
        self.rows += group.num_rows
        self.groups += 1
        self.held(batcher, 0)

    def held(self, batcher, batch_rows):
        if not self.rows:
            return
        rows = batcher.rows_held
        groups = rows if self.shuffled else -(-rows * self.groups // self.rows) + 1
        self.budget.set_held(min(groups, self.groups) * self.bytes // self.groups +
                             batch_rows * self.bytes // self.rows)


def _numpy_batches(reader, batch_size, drop_last, shuffling_queue_capacity, seed, progress=None, resume=None,
                   clock=None, collate=None):
    """Yields (field names, columns) per batch; a column is a numpy array (batch, ...), a list
    of per-row numpy arrays, a pyarrow.Array, or a dict of numpy arrays (a field of `collate`,
    the _core.Batcher form of _collate_spec). `progress` (loader_state.PassProgress) counts
    the pass for state_dict; `resume` is a loader state to go on from; `clock`
    (loader_stages.StageClock) is charged the reader's and the batcher's time."""
    if clock is None:
        clock = loader_stages.StageClock()
    if hasattr(reader, 'decoded_row_groups') and getattr(reader, 'ngram', None) is None:
        # The reader's decoded row groups go to the C++ batcher as they are: no Python per row.
        names = list(reader.schema.fields)
        budget = getattr(reader, 'memory_budget', None)
        meter = None if budget is None else _BudgetMeter(budget, bool(shuffling_queue_capacity))
        groups = reader.decoded_row_groups()
        first = []  # read ahead of the batcher to size its buffer
        capacity = shuffling_queue_capacity
        if resume is not None:
            capacity = resume.get('buffer_rows', capacity)
        elif budget is not None and capacity:
            for group in groups:
                first.append(group)
                if group.num_rows:
                    capacity = _capacity_in_budget(budget, capacity, batch_size, group)
                    break
        if progress is not None:
            progress.buffer_rows = capacity
        batcher = _core.Batcher(names, batch_size, drop_last, capacity, seed, True, reader.is_batched_reader,
                                collate)
        clock.track(batcher)
        if resume is not None:
            loader_state.restore(reader, batcher, progress, resume)

        def drain():
            while True:
                columns = batcher.next()
                if columns is None:
                    return
                if progress is not None:
                    progress.batches += 1
                if meter is not None:
                    meter.held(batcher, batch_size)
                clock.mark('batching')
                yield names, columns
        yield from drain()
        if not batcher.finished:
            for group in itertools.chain(first, groups):
                clock.mark('reader_wait')
                batcher.add(group)
                if meter is not None:
                    meter.added(group, batcher)
                yield from drain()
            batcher.finish()
            if progress is not None:
                progress.finished = True
            yield from drain()
        if meter is not None:
            budget.set_held(0)
        return

    batcher = None
    names = None
    rows = []
    batched = bool(getattr(reader, 'batched_output', getattr(reader, 'is_batched_reader', False)))

    def feed(columns, num_rows):
        batcher.add_columns(num_rows, [_column_input(name, column) for name, column in zip(names, columns)])

    for item in reader:
        clock.mark('reader_wait')
        if not hasattr(item, '_fields'):
            raise TypeError('The PyTorch loaders take rows (namedtuples) from the reader, got {} (n-grams are '
                            'not supported)'.format(type(item).__name__))
        if batcher is None:
            names = list(item._fields)
            batcher = _core.Batcher(names, batch_size, drop_last, shuffling_queue_capacity, seed, True,
                                    collate=collate)
            clock.track(batcher)
        if batched:
            num_rows = len(item[0]) if names else 0
            feed(list(item), num_rows)
        else:
            rows.append(item)
            if len(rows) < _ROWS_PER_INPUT:
                continue
            feed(list(zip(*rows)), len(rows))
            rows = []
        while True:
            columns = batcher.next()
            if columns is None:
                break
            clock.mark('batching')
            yield names, columns
    if batcher is None:
        return
    if rows:
        feed(list(zip(*rows)), len(rows))
    batcher.finish()
    while True:
        columns = batcher.next()
        if columns is None:
            return
        clock.mark('batching')
        yield names, columns


def _arrow_to_list(array):
    t = array.type
    if pa.types.is_temporal(t):
        return list(array.to_numpy(zero_copy_only=False))
    return array.to_pylist()


def _as_python(column):
    """A batch column for a user function: numpy arrays stay, Arrow arrays become lists."""
    return _arrow_to_list(column) if isinstance(column, pa.Array) else column


def _ragged_error(name, rows):
    shapes = sorted({tuple(r.shape) for r in rows if r is not None})
    return TypeError("Field '{}' has rows of different shapes in one batch ({}): PyTorch cannot stack them into "
                     'a tensor. Pass a transform_fn (BatchedDataLoader) or a collate_fn (DataLoader) that takes the '
                     'list of per-row arrays, or read fixed-shape data.'.format(
                         name, ', '.join(str(s) for s in shapes[:4]) + (', ...' if len(shapes) > 4 else '')))


_COLLATE_POLICIES = ('list', 'padded', 'offsets', 'nested')
_COLLATE_OPTIONS = ('policy', 'pad_value', 'max_length', 'truncate')


def _collate_spec(collate, fields):
    """(the _core.Batcher form {field: (policy, pad_value, max_length, truncate)}, the fields that
    become torch nested tensors) of BatchedDataLoader's `collate`; ValueError naming an unknown
    field (not in `fields`, when known), policy or option."""
    if collate is None:
        return None, frozenset()
    if not isinstance(collate, collections.abc.Mapping):
        raise ValueError('collate must be a dict {field: policy}, got {}'.format(type(collate).__name__))
    spec, nested = {}, set()
    for name, policy in collate.items():
        if fields is not None and name not in fields:
            raise ValueError("collate: unknown field '{}' (the reader's fields: {})".format(
                name, ', '.join(sorted(fields))))
        options = dict(policy) if isinstance(policy, collections.abc.Mapping) else {'policy': policy}
        unknown = sorted(set(options) - set(_COLLATE_OPTIONS))
        if unknown:
            raise ValueError("collate: field '{}': unknown option(s) {} (known: {})".format(
                name, ', '.join(unknown), ', '.join(_COLLATE_OPTIONS)))
        kind = options.get('policy')
        if kind not in _COLLATE_POLICIES:
            raise ValueError("collate: field '{}': unknown policy {!r} (known: {})".format(
                name, kind, ', '.join(_COLLATE_POLICIES)))
        padding = {k: options[k] for k in ('pad_value', 'max_length', 'truncate') if k in options}
        if padding and kind != 'padded':
            raise ValueError("collate: field '{}': {} are options of 'padded', not {!r}".format(
                name, ', '.join(sorted(padding)), kind))
        if kind == 'list':
            continue
        if kind == 'nested':
            nested.add(name)
        max_length = options.get('max_length')
        if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or
                                       max_length < 0):
            raise ValueError("collate: field '{}': max_length must be a non-negative integer, got {!r}".format(
                name, max_length))
        if options.get('truncate') and max_length is None:
            raise ValueError("collate: field '{}': truncate needs a max_length".format(name))
        spec[name] = ('padded' if kind == 'padded' else 'offsets', float(options.get('pad_value', 0)), max_length,
                      bool(options.get('truncate', False)))
    return spec or None, frozenset(nested)


def _collated_to_torch(name, parts, nested):
    """A collated field's dict of numpy arrays as torch tensors (no copy); a torch nested tensor
    (jagged layout) for a `nested` field."""
    torch = _torch()
    if nested:
        if set(parts) != {'values', 'offsets'}:
            raise TypeError("collate: field '{}': 'nested' takes one level of lists (strings, bytes, lists of "
                            "numbers); this one has {}: use 'offsets'".format(name, ', '.join(sorted(parts))))
        return torch.nested.nested_tensor_from_jagged(torch.from_numpy(parts['values']),
                                                      torch.from_numpy(parts['offsets']))
    return {key: _collated_to_torch(name, value, False) if isinstance(value, dict) else torch.from_numpy(value)
            for key, value in parts.items()}


def _to_torch(name, column):
    """The default conversion: numeric batches to tensors (no copy), other values to lists."""
    if isinstance(column, np.ndarray):
        return _torch().from_numpy(column)
    if isinstance(column, dict):
        return _collated_to_torch(name, column, False)
    if isinstance(column, pa.Array):
        return _arrow_to_list(column)
    # A list of per-row arrays: rows of different shapes, or arrays of strings.
    if any(_is_numeric_array(r) for r in column):
        raise _ragged_error(name, column)
    return column


def _rows_per_epoch(reader):
    """How many rows one epoch of `reader` delivers, or None when that is known only by reading."""
    return getattr(reader, 'rows_per_epoch', None)


class LoaderBase(object):
    """Petastorm's iteration rules: a second full pass resets the reader (with a warning); a pass
    while another is running, or after a pass failed, raises RuntimeError."""

    def __init__(self):
        self._in_iter = None
        self._error = None
        self._passes = 0
        self._len = None
        self._progress = None   # of the current (or last) pass: loader_state.PassProgress
        self._resume = None     # a loaded state the next pass goes on from
        self._clock = loader_stages.StageClock()  # time per stage, over every pass

    def __iter__(self):
        if self._error is not None:
            raise RuntimeError('Cannot start a new iteration because last time iteration failed with error {err}.'
                               .format(err=repr(self._error)))
        if self._in_iter is not None and self._in_iter == True:  # noqa: E712
            raise RuntimeError(_PARALLEL_ITER_ERROR)
        resume, self._resume = self._resume, None
        if resume is not None:
            pass_index = resume['pass_index']
        else:
            if self._in_iter is not None:
                self.reader.reset()
                logger.warning('Start a new pass of Petastorm DataLoader, reset underlying Petastorm reader to '
                               'position 0.')
            pass_index = self._passes
        self._in_iter = True
        self._passes = pass_index + 1
        clock = self._clock if loader_stages.TRACKING else loader_stages.NullClock()
        try:
            count = 0
            _torch()  # imported before the clock starts: its import is not a stage
            clock.start()
            for batch in self._iter_impl(pass_index, resume):
                count += 1
                clock.batches += 1
                clock.mark('conversion')
                yield batch
                clock.mark('consumer')
            if self._progress is not None:
                self._progress.complete = True
            if resume is None and self._len is not None and count != self._len:
                logger.warning('len() of this loader said %d batches, the pass had %d: its reader filters rows in a '
                               'way len() did not know of (a predicate?)', self._len, count)
        except Exception as e:
            self._error = e
            logger.error('Iteration on Petastorm DataLoader raise error: %s', repr(e))
            raise
        finally:
            clock.stop()
            self._in_iter = False

    @property
    def diagnostics(self):
        """Seconds per stage summed over the passes so far (petastorm/loader_stages.py:
        reader_wait, batching, conversion, consumer; they sum to wall_seconds), batches, and the
        reader's own diagnostics under 'reader'."""
        d = self._clock.diagnostics()
        reader = getattr(self.reader, 'diagnostics', None)
        d['reader'] = dict(reader) if reader is not None else None
        return d

    def stall_summary(self):
        """One line, e.g. 'the consumer waited 41% of the time (...), mostly on codec decode'."""
        d = self.diagnostics
        return loader_stages.summary(d, d['reader'])

    def state_dict(self):
        """The loader's position, small and JSON-able (torchdata's StatefulDataLoader protocol):
        ``load_state_dict`` on a loader made the same way over a reader made with the same
        arguments (in a new process too) goes on with exactly the batches this one would have
        returned next. Counters and seeds only, never the buffered rows. Taken between batches;
        a pass left early (``break``) is saved where it was left."""
        loader_state.check_stateful(self.reader)
        if self._resume is not None:
            return self._resume
        if self._in_iter and self._progress is None:
            raise RuntimeError('state_dict: this pass is not tracked (petastorm.loader_stages.TRACKING is off)')
        if self._progress is not None and not self._progress.complete:
            return self._progress.state(self)
        return loader_state.idle_state(self)

    def load_state_dict(self, state):
        """Goes on from ``state_dict()``: the next iteration continues the saved pass (or starts the
        one after). Elastic: the list of the states of every shard of the saving run, for a reader
        with another shard_count, splits the rest of the epoch among this run's shards (in the
        middle of a pass only without a shuffling buffer)."""
        loader_state.check_stateful(self.reader)
        if self._in_iter:
            raise RuntimeError('load_state_dict: this loader is in the middle of a pass')
        states = list(state) if isinstance(state, (list, tuple)) else [state]
        if not states:
            raise ValueError('load_state_dict: no state')
        for s in states:
            loader_state.check_state(self, s)
        self._error = None
        self._progress = None
        shard = (getattr(self.reader, '_shard', (None, None, None))[:2])
        if len(states) == 1 and (states[0]['reader']['cur_shard'], states[0]['reader']['shard_count']) == shard:
            s = states[0]
            if s['in_pass']:
                self._resume = s
                self._passes, self._in_iter = s['pass_index'], None
                return
            self.reader.load_state_dict(s['reader'])
        else:
            self.reader.load_state_dict(loader_state.elastic_reader_states(self, states))
            s = max(states, key=lambda st: st['pass_index'])
            if any(st['in_pass'] for st in states):
                # The rest of the epoch is this pass: the reader starts at its share.
                self._passes, self._in_iter = s['pass_index'], None
                return
        self._resume = None
        self._passes = s['pass_index']
        self._in_iter = False if s['iterated'] else None

    def __len__(self):
        """Batches per pass; TypeError when the number of rows is not known before reading (a
        predicate, n-grams, ``num_epochs=None``, shards or filters of a reader that does not
        report its planned row groups)."""
        if self._len is None:
            epochs = getattr(self.reader, 'num_epochs', None)
            rows = _rows_per_epoch(self.reader) if epochs is not None else None
            if rows is None:
                raise TypeError('The number of batches of this loader is not known before reading: its reader has '
                                'a predicate, n-grams, num_epochs=None, or rows that are not planned ahead')
            total = rows * epochs
            self._len = total // self.batch_size if self.drop_last else -(-total // self.batch_size)
        return self._len

    _collate = None  # the _core.Batcher form of a loader's collate policies (BatchedDataLoader)

    def _batches(self, pass_index, draw_seed, resume=None):
        # One seed for the whole pipeline: without a seed of its own, the loader's comes from
        # its reader's (make_reader(url, seed=7) then gives the same batches on every run).
        if resume is not None:
            seed = resume['seed']
        else:
            seed = self.seed if self.seed is not None else getattr(self.reader, 'seed', None)
            seed = _pass_seed(seed, pass_index, draw_seed) if self.shuffling_queue_capacity else 0
        self._progress = None
        if hasattr(self.reader, '_next_group') and getattr(self.reader, 'ngram', None) is None and \
                (loader_stages.TRACKING or resume is not None):
            self._progress = loader_state.PassProgress(self.reader, seed)
            self._progress.index = pass_index
        return _numpy_batches(self.reader, self.batch_size, self.drop_last, self.shuffling_queue_capacity, seed,
                              self._progress, resume,
                              self._clock if loader_stages.TRACKING else loader_stages.NullClock(), self._collate)

    # Context manager: stops the reader on exit.
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.reader.stop()
        self.reader.join()


def _check_sizes(batch_size, shuffling_queue_capacity):
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError('batch_size must be a positive integer, got {!r}'.format(batch_size))
    if not isinstance(shuffling_queue_capacity, int) or shuffling_queue_capacity < 0:
        raise ValueError('shuffling_queue_capacity must be a non-negative integer, got {!r}'
                         .format(shuffling_queue_capacity))


class DataLoader(LoaderBase):
    """Iterates over a reader's rows in batches of ``batch_size``, merged by ``collate_fn``.

    :param reader: a reader from ``make_reader`` or ``make_batch_reader`` (epochs are the reader's).
    :param batch_size: rows per batch; the last batch may have fewer (see ``drop_last``).
    :param collate_fn: merges a list of rows (dicts) into a batch. With the default,
        :func:`decimal_friendly_collate`, the batch is assembled in C++ and no per-row dicts
        are made: a dict of tensors (numeric fields) and lists (strings, decimals, ...).
    :param shuffling_queue_capacity: rows of the shuffling buffer; 0 keeps the reader's order.
        Batches are drawn at random from the buffer once it holds
        ``shuffling_queue_capacity - 1 + batch_size`` rows.
    :param drop_last: drop the last batch when it has fewer than ``batch_size`` rows.
    :param seed: seeds the shuffling buffer (the same batches on every run); None takes the
        reader's ``seed``, and when that is None too draws it from numpy's global generator.
    """

    def __init__(self, reader, batch_size=1, collate_fn=decimal_friendly_collate, shuffling_queue_capacity=0,
                 drop_last=False, seed=None):
        super(DataLoader, self).__init__()
        _check_sizes(batch_size, shuffling_queue_capacity)
        self.reader = reader
        self.batch_size = batch_size
        self.collate_fn = collate_fn
        self.shuffling_queue_capacity = shuffling_queue_capacity
        self.drop_last = drop_last
        self.seed = seed

    def _iter_impl(self, pass_index=0, resume=None):
        def draw():
            return int(np.random.randint(0, 2 ** 63 - 1, dtype=np.int64))
        default = self.collate_fn is decimal_friendly_collate
        from_numpy = _torch().from_numpy
        ndarray = np.ndarray
        for names, columns in self._batches(pass_index, draw, resume):
            if default:
                yield {name: from_numpy(column) if type(column) is ndarray else _to_torch(name, column)
                       for name, column in zip(names, columns)}
            else:
                columns = [_as_python(c) for c in columns]
                yield self.collate_fn([dict(zip(names, values)) for values in zip(*columns)])


class BatchedDataLoader(LoaderBase):
    """Iterates over a reader in batches of ``batch_size`` rows: a dict of tensors per batch.

    :param reader: a reader from ``make_reader`` or ``make_batch_reader`` (epochs are the reader's).
    :param batch_size: rows per batch; the last batch may have fewer (see ``drop_last``).
    :param transform_fn: turns one column of a batch into what the batch holds; it gets a numpy
        array (batch, ...) for numeric fields, a list of per-row arrays for fields whose rows
        differ in shape, a list of values for strings, decimals and the like, the dict of numpy
        arrays of a ``collate`` policy. Default: numeric columns become tensors over the batch's
        buffer (no copy), other values lists, collated fields dicts of tensors (or a nested
        tensor). (Petastorm calls it on each row or reader batch before buffering; for row-wise
        functions such as ``torch.as_tensor`` the result is the same.)
    :param shuffling_queue_capacity: rows of the shuffling buffer; 0 keeps the reader's order.
        Batches are drawn at random from the buffer once it holds
        ``shuffling_queue_capacity - 1 + batch_size`` rows (Petastorm's BatchedRandomShufflingBuffer).
    :param drop_last: drop the last batch when it has fewer than ``batch_size`` rows.
    :param seed: seeds the shuffling buffer (the same batches on every run); None takes the
        reader's ``seed``, and when that is None too draws it from torch's global generator.
    :param pin_memory: the batches' tensors in pinned (page-locked) host memory, as torch's
        DataLoader ``pin_memory``: copied there (``Tensor.pin_memory()``) as they are made.
        Without an accelerator: a warning, and unpinned tensors.
    :param device: where the batches' tensors go (``'cuda'``, ``'cuda:1'``, ``torch.device``):
        on a CUDA device each batch is copied one batch ahead, non-blocking, on a stream of its
        own (from pinned memory, so the copy overlaps the compute on the batch before); the
        batch waits for its copy when it is returned. None: tensors stay on the host.
    :param collate: ``{field: policy}``, how strings, bytes, ragged and nested lists become tensors
        (made in C++, docs/collate.md): ``'list'`` (the default: Python lists, or per-row arrays),
        ``'padded'`` (``{'padded': (batch, width, ...), 'lengths': int64, 'mask': bool}``; a dict
        ``{'policy': 'padded', 'pad_value': 0, 'max_length': None, 'truncate': False}`` sets its
        options), ``'offsets'`` (``{'values': flat, 'offsets': int64 (batch + 1)}``, then
        ``'offsets_1'``, ... per further level of lists and a dict per struct field), ``'nested'``
        (a torch nested tensor of one level). Strings become int32 Unicode code points, bytes
        uint8. A null is a TypeError naming the field. ValueError for an unknown field or policy.
    :param batch_transform_fn: called on each whole batch (the dict of the batch's tensors, after
        ``transform_fn``); what it returns is the batch (a tokenizer that takes and returns
        tensors). Pinned/moved to ``device`` after it.
    """

    def __init__(self, reader, batch_size=1, transform_fn=None, shuffling_queue_capacity=0, drop_last=False,
                 seed=None, pin_memory=False, device=None, collate=None, batch_transform_fn=None):
        super(BatchedDataLoader, self).__init__()
        _check_sizes(batch_size, shuffling_queue_capacity)
        schema = getattr(reader, 'schema', None)
        fields = set(schema.fields) if schema is not None and hasattr(schema, 'fields') else None
        self._collate, self._nested = _collate_spec(collate, fields)
        if batch_transform_fn is not None and not callable(batch_transform_fn):
            raise ValueError('batch_transform_fn must be callable, got {}'.format(type(batch_transform_fn).__name__))
        self.batch_transform_fn = batch_transform_fn
        self.reader = reader
        self.batch_size = batch_size
        self.transform_fn = transform_fn
        self.shuffling_queue_capacity = shuffling_queue_capacity
        self.drop_last = drop_last
        self.seed = seed
        self.pin_memory = bool(pin_memory)
        self.device = device

    def _iter_impl(self, pass_index=0, resume=None):
        def draw():
            return int(_torch().randint(0, 2 ** 62, ()).item())
        transform = self.transform_fn
        batch_transform = self.batch_transform_fn
        nested = self._nested
        from_numpy = _torch().from_numpy
        ndarray = np.ndarray

        def convert(name, column):
            if name in nested:
                return _collated_to_torch(name, column, True)
            return from_numpy(column) if type(column) is ndarray else _to_torch(name, column)

        def batches():
            for names, columns in self._batches(pass_index, draw, resume):
                if transform is None:
                    batch = {name: convert(name, column) for name, column in zip(names, columns)}
                else:
                    batch = {name: transform(_as_python(column)) for name, column in zip(names, columns)}
                yield batch if batch_transform is None else batch_transform(batch)
        if not self.pin_memory and self.device is None:
            return batches()
        return device_hand_off.hand_off(batches(), self.pin_memory, self.device, lambda: self._progress)


class InMemBatchedDataLoader(object):
    """Loads up to ``rows_capacity`` rows into memory once (then stops the reader) and iterates
    over them ``num_epochs`` times in batches of ``batch_size``, reshuffled every epoch with
    ``torch.Generator().manual_seed(seed + epoch)`` when ``shuffle`` (Petastorm's order).

    Single use: a second iteration raises RuntimeError, as in Petastorm. ``transform_fn`` is
    applied once to each loaded column (see BatchedDataLoader). Beyond Petastorm: ``drop_last``,
    ``len()``, and string/decimal fields (lists).
    """

    def __init__(self, reader, batch_size=1, transform_fn=None, num_epochs=1, seed=0, rows_capacity=1024,
                 shuffle=False, drop_last=False):
        _check_sizes(batch_size, 0)
        if not isinstance(rows_capacity, int) or rows_capacity < 1:
            raise ValueError('rows_capacity must be a positive integer, got {!r}'.format(rows_capacity))
        self._batch_size = batch_size
        self._num_epochs = num_epochs
        self._seed = seed
        self._shuffle = shuffle
        self._drop_last = drop_last
        self._in_iter = False
        self._keys, self._buffer = self._load(reader, transform_fn, rows_capacity)

    @staticmethod
    def _load(reader, transform_fn, rows_capacity):
        """(field names, columns) of the first rows_capacity rows, assembled by the batcher."""
        keys, columns = [], []
        try:
            for names, batch in _numpy_batches(reader, rows_capacity, False, 0, 0):
                keys, columns = names, batch
                break
        finally:
            # Enough rows (or all): stop rather than drain, which with num_epochs=None never ends.
            reader.stop()
            reader.join()
        if transform_fn is None:
            columns = [_to_torch(name, column) for name, column in zip(keys, columns)]
        else:
            columns = [transform_fn(_as_python(column)) for column in columns]
        return keys, columns

    def _num_rows(self):
        return len(self._buffer[0]) if self._buffer else 0

    def __len__(self):
        n = self._num_rows()
        per_epoch = n // self._batch_size if self._drop_last else -(-n // self._batch_size)
        return per_epoch * self._num_epochs

    def __iter__(self):
        if self._in_iter:
            raise RuntimeError("InMemBatchedDataLoader couldn't be used multiple times, please specify total "
                               'number of epochs using num_epochs in constructor.')
        self._in_iter = True
        torch = _torch()
        size = self._num_rows()
        stop = size - size % self._batch_size if self._drop_last else size
        for epoch in range(self._num_epochs):
            if self._shuffle:
                g = torch.Generator()
                g.manual_seed(self._seed + epoch)
                indices = torch.randperm(size, generator=g)
            else:
                indices = torch.arange(size)
            for start in range(0, stop, self._batch_size):
                idx = indices[start:start + self._batch_size]
                yield dict(zip(self._keys, (self._take(column, idx) for column in self._buffer)))

    @staticmethod
    def _take(column, idx):
        if isinstance(column, _torch().Tensor):
            return column.index_select(0, idx)
        return [column[i] for i in idx.tolist()]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        pass


class _IterableReaderDatasetBase(object):
    """A ``torch.utils.data.IterableDataset`` over a reader, for torch's own
    ``torch.utils.data.DataLoader``, ``num_workers=N`` too: each worker process makes its own
    reader (``reader_factory(dataset_url, item_slice=(worker id, num_workers), **reader_kwargs)``)
    over a disjoint part of one plan, so every row of the epoch comes once (the order differs
    from a single reader's: the workers' outputs are interleaved by torch).

    Yields what the reader yields, as dicts: rows (make_reader; batch them with the
    DataLoader's ``batch_size``) or batches of numpy columns (make_batch_reader; use
    ``batch_size=None``). The seed is drawn here when ``reader_kwargs`` has none, so that every
    worker plans the same epoch; ``set_epoch(n)`` (as ``DistributedSampler``'s) gives later
    passes another order. Combine with :func:`shard_for_rank` for several ranks.
    """

    def __init__(self, dataset_url, reader_factory=None, **reader_kwargs):
        if reader_factory is None:
            from petastorm.reader import make_reader
            reader_factory = make_reader
        if 'item_slice' in reader_kwargs:
            raise ValueError('IterableReaderDataset sets item_slice itself (one per worker)')
        if reader_kwargs.get('reader_pool_type') == 'process':
            raise ValueError("IterableReaderDataset: torch's DataLoader makes the processes; use "
                             "reader_pool_type='thread' or 'dummy'")
        if reader_kwargs.get('seed') is None:
            reader_kwargs['seed'] = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        self.dataset_url = dataset_url
        self.reader_factory = reader_factory
        self.reader_kwargs = reader_kwargs
        self._seed = reader_kwargs['seed']
        self._epoch = 0

    def set_epoch(self, epoch):
        """The pass number: the seed of the readers of pass `epoch` is derived from it."""
        self._epoch = int(epoch)

    def __iter__(self):
        info = _torch().utils.data.get_worker_info()
        item_slice = (info.id, info.num_workers) if info is not None else (0, 1)
        kwargs = dict(self.reader_kwargs)
        if self._epoch:
            kwargs['seed'] = _pass_seed(self._seed, self._epoch, None) >> 1
        reader = self.reader_factory(self.dataset_url, item_slice=item_slice, **kwargs)
        try:
            for item in reader:
                yield item._asdict()
        finally:
            reader.stop()
            reader.join()


def _iterable_reader_dataset_class():
    torch = _torch()

    class IterableReaderDataset(_IterableReaderDatasetBase, torch.utils.data.IterableDataset):
        __doc__ = _IterableReaderDatasetBase.__doc__

    IterableReaderDataset.__module__ = __name__
    IterableReaderDataset.__qualname__ = 'IterableReaderDataset'  # pickled by name (spawned workers)
    return IterableReaderDataset


def __getattr__(name):
    # IterableReaderDataset derives from torch's IterableDataset: made when first asked for, so
    # that importing this module does not import torch.
    if name == 'IterableReaderDataset':
        cls = _iterable_reader_dataset_class()
        globals()[name] = cls
        return cls
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))


__all__ = ['DataLoader', 'BatchedDataLoader', 'InMemBatchedDataLoader', 'IterableReaderDataset',
           'decimal_friendly_collate', 'shard_for_rank']
