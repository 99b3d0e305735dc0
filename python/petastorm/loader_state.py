"""The resumable state of the PyTorch loaders (state_dict / load_state_dict).

A loader's state is counters, never rows (tf.data's way): the reader's state at the start of
the pass, the pass's shuffling seed, how many work items the pass had handed to the batcher and
how many batches it had returned. The batcher's draws depend on row counts only, so a resume
replays them on placeholders (``Batcher.add_placeholder`` / ``skip``) with the row counts the
plan gives, and reads again only the work items whose rows are still held (the shuffling
buffer's, the unbatched rest of the last item): ``Batcher.live_placeholders`` / ``fill``.
When row counts are known only by reading (a predicate, a make_batch_reader transform) the
resume reads the pass again up to the saved point and drops the batches already returned.
"""
import numpy as np

from petastorm import _core

STATE_VERSION = 1
KIND = 'petastorm.loader'


def check_stateful(reader):
    if not hasattr(reader, 'state_dict') or not hasattr(reader, '_next_group') or \
            getattr(reader, 'ngram', None) is not None:
        raise TypeError('state_dict/load_state_dict need a reader from make_reader or make_batch_reader '
                        '(no n-grams), got {}'.format(type(reader).__name__))


class PassProgress(object):
    """How far one pass of a loader has gone: what its state saves."""

    def __init__(self, reader, seed):
        self.reader = reader
        self.start_state = reader.state_dict()
        self.seed = seed
        self.base = 0              # items of the pass before the reader's current start
        self.k0 = reader._items_taken()
        self.batches = 0           # returned by the loader
        self.finished = False      # every item handed to the batcher
        self.complete = False      # the pass ran to its end

        self.buffer_rows = 0       # the shuffling buffer's capacity (less than the loader's in a memory budget)
        self.returned = None       # counters of the batch last returned, when batches go ahead
                                   # of what the loader returned (a device copy one batch ahead)

    def items(self):
        return self.base + self.reader._items_taken() - self.k0

    def counters(self):
        return self.items(), self.batches, self.finished

    def state(self, loader):
        items, batches, finished = self.returned if self.returned is not None else self.counters()
        return dict(_header(loader), pass_index=self.index, iterated=True, in_pass=not self.complete,
                    reader=self.start_state, seed=self.seed, items=items, batches=batches,
                    finished=finished, remaining=self._remaining(loader, items, batches),
                    buffer_rows=self.buffer_rows)

    def _remaining(self, loader, items, batches):
        """The reader state of the rows not returned yet (the form an elastic resume takes): the
        state at the first row not returned, or with a shuffling buffer the rows it still held
        (work items narrowed to those rows) before the items not handed to it yet. None when
        rows are known only by reading."""
        if self.complete:
            return None
        rows = self.reader._item_rows(items, self.start_state)
        if rows is None:
            return None
        if loader.shuffling_queue_capacity:
            return self._remaining_with_buffer(loader, items, batches, rows)
        returned = min(batches * loader.batch_size, int(np.sum(rows, dtype=np.int64)) if rows else 0)
        k = 0
        while k < len(rows) and returned >= rows[k]:
            returned -= rows[k]
            k += 1
        return self.reader._state_at(self.start_state, k, returned)


    def _remaining_with_buffer(self, loader, items, batches, rows):
        # The buffer's draws depend on row counts only: replayed on placeholders, they leave the
        # rows it held when the state was taken.
        batcher = _core.Batcher(['_'], loader.batch_size, bool(loader.drop_last), self.buffer_rows, self.seed)
        _replay(batcher, rows, batches, self.returned[2] if self.returned is not None else self.finished)
        held = batcher.held_placeholder_rows()
        first = self.reader._items_at(self.start_state, [index for index, _ in held])
        narrowed = []
        for item, (_, kept) in zip(first, held):
            item = list(item)
            if len(item) == 10:  # already narrowed: positions among its positions
                kept = [item[9][j] for j in kept]
            narrowed.append(item[:9] + [list(kept)])
        state = self.reader._state_at(self.start_state, items, 0)
        position = dict(state['position'], first_items=narrowed + state['position']['first_items'])
        return dict(state, position=position)


def _replay(batcher, rows, batches, finished):
    """Puts `batcher` where it was after `batches` batches of inputs of `rows` rows each (and
    finish() when `finished`), on placeholders; returns the batches it drew."""
    skipped = 0

    def skip():
        nonlocal skipped
        while skipped < batches and batcher.skip():
            skipped += 1
    for count in rows:
        batcher.add_placeholder(count)
        skip()
    if finished:
        batcher.finish()
    skip()
    return skipped


def _header(loader):
    return {'version': STATE_VERSION, 'kind': KIND, 'loader': type(loader).__name__,
            'batch_size': loader.batch_size, 'shuffling_queue_capacity': loader.shuffling_queue_capacity,
            'drop_last': bool(loader.drop_last)}


def idle_state(loader):
    """The state of a loader between passes."""
    return dict(_header(loader), pass_index=loader._passes, iterated=loader._in_iter is not None, in_pass=False,
                reader=loader.reader.state_dict())


def check_state(loader, state):
    """ValueError unless `state` is a loader state that `loader` can resume from."""
    if not isinstance(state, dict) or state.get('kind') != KIND:
        raise ValueError('load_state_dict: not a loader state (from DataLoader/BatchedDataLoader.state_dict()): '
                         '{!r}'.format(type(state).__name__))
    if state.get('version') != STATE_VERSION:
        raise ValueError('load_state_dict: loader state version {!r}, this loader reads version {}'.format(
            state.get('version'), STATE_VERSION))
    for name in ('batch_size', 'shuffling_queue_capacity', 'drop_last'):
        if state[name] != getattr(loader, name):
            raise ValueError('load_state_dict: the state was saved by a loader with {}={!r}, this one has {!r}'
                             .format(name, state[name], getattr(loader, name)))


def elastic_reader_states(loader, states):
    """The reader states an elastic resume of loader `states` (one per old shard) starts from."""
    if all(not s['in_pass'] for s in states):
        return [s['reader'] for s in states]
    missing = [s for s in states if s['in_pass'] and s.get('remaining') is None]
    if missing:
        raise NotImplementedError(
            'load_state_dict: an elastic resume (another shard_count) of a loader saved in the middle of a pass '
            'needs row counts known before reading (no predicate, no make_batch_reader transform). Resume with '
            'the saving run\'s shard_count, or save between passes')
    return [s['remaining'] if s['in_pass'] else s['reader'] for s in states]


def restore(reader, batcher, progress, state):
    """Puts `reader` and `batcher` (made with the state's seed) where the saved pass was."""
    reader.load_state_dict(state['reader'])
    progress.start_state = state['reader']
    progress.k0, progress.base = reader._items_taken(), 0
    n, wanted = state['items'], state['batches']
    skipped = 0

    def skip():
        nonlocal skipped
        while skipped < wanted and batcher.skip():
            skipped += 1

    rows = reader._item_rows(n)
    if rows is None:
        # Row counts are known only by reading: read the pass again up to the saved point.
        while progress.items() < n:
            group = reader._next_group()
            if group is None:
                raise ValueError('load_state_dict: the reader ended after {} of the {} work items the state counts'
                                 .format(progress.items(), n))
            batcher.add(group)
            skip()
        if state['finished']:
            batcher.finish()
        skip()
    else:
        skipped = _replay(batcher, rows, wanted, state['finished'])
    if skipped != wanted:
        raise ValueError('load_state_dict: the state counts {} batches, its work items give {}: the data or the '
                         'loader changed since it was saved'.format(wanted, skipped))
    if rows is not None:
        live = batcher.live_placeholders()
        reader._restart_with(live, n)
        for index in live:
            group = reader._next_group()
            if group is None:
                raise ValueError('load_state_dict: work item {} of the pass could not be read again'.format(index))
            batcher.fill(index, group)
        progress.base, progress.k0 = n - len(live), 0
    progress.batches = wanted
    progress.finished = state['finished']
