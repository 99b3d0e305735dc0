"""Writes docs/benchmarks.md (a table per workload) and its PNG plots from run.py's results.

    python benchmarks/report.py RESULTS.json [--out docs/benchmarks.md] [--plots-dir docs/benchmarks] [--no-plots]

Results of the remote workloads (results-remote.json, 'kind': 'remote') make docs/benchmarks-remote.md
instead (report_remote.py).

Plots need matplotlib (installed in .venv-ref); without it the tables are written alone.
Standard library only otherwise, so it runs in either environment.
"""
import argparse
import json
import math
import os
import statistics
import sys

if __name__ == '__main__':  # report_load imports this module by name
    sys.modules.setdefault('report', sys.modules[__name__])
import report_load  # noqa: E402

COLORS = {'ours': '#1f6fb4', 'petastorm': '#ef8a17', 'cpp': '#7f7f7f', 'pyarrow': '#7f7f7f', 'numpy': '#a9a9a9',
          'hf': '#2ca02c', 'lance': '#9467bd', 'handrolled': '#8c564b', 'ray': '#17becf'}


# --- Figures ---------------------------------------------------------------------------------

def figures(record, metric):
    """The figures of one contender, or None when it has no measurement."""
    result = record.get('result', {})
    if result.get('status') != 'ok':
        return None
    walls, rows, nbytes, cpus = result['wall_s'], result['rows'], result['bytes'], result['cpu_s']
    rates = [r / w for r, w in zip(rows, walls)]
    out = {'rss': result.get('peak_rss_mb'), 'cpu': 100.0 * sum(cpus) / sum(walls) if sum(walls) else None,
           'runs': len(walls), 'tree': result.get('peak_tree_mb'),
           'cpu_per_m': 1e6 * sum(cpus) / sum(rows) if sum(rows) else None}
    if metric == 'overlap' and result.get('batches') and result.get('busy_ms'):
        ideal = [b * result['busy_ms'] / 1000.0 for b in result['batches']]
        out.update(epoch_s=statistics.median(walls), ideal_s=statistics.median(ideal),
                   overlap=statistics.median(w / i for w, i in zip(walls, ideal)))
    if metric == 'startup':
        out.update(ms=1000 * statistics.median(walls), ms_min=1000 * min(walls), ms_max=1000 * max(walls),
                   first_ms=1000 * result['warmup_s'][0] if result.get('warmup_s') else None)
    else:
        out.update(rows_s=statistics.median(rates), rows_min=min(rates), rows_max=max(rates),
                   mb_s=statistics.median(b / w for b, w in zip(nbytes, walls)) / 1e6)
    return out


def speed(fig, metric):
    """Bigger is faster: rows/s, or first rows per second for start-up."""
    if fig is None:
        return None
    return 1000.0 / fig['ms'] if metric == 'startup' else fig['rows_s']


def pick(records, metric, workers, predicate):
    """The measured record satisfying `predicate` with the same worker count, else the one with the
    most workers below it, else any."""
    found = [r for r in records if predicate(r) and figures(r, metric) is not None]
    for candidates in ([r for r in found if r['workers'] == workers],
                       sorted((r for r in found if r['workers'] < workers), key=lambda r: -r['workers']),
                       found):
        if candidates:
            return candidates[0]
    return None


def ratios(workload, record):
    """(÷ Petastorm, ÷ limit) for one of our records: > 1 means this project is faster."""
    metric, records = workload['metric'], workload['contenders']
    ours = speed(figures(record, metric), metric)
    if ours is None:
        return None, None
    ref = [r for r in records if r['family'] == 'petastorm' and r['workers'] == record['workers']
           and figures(r, metric) is not None]
    # The limit of the same work: a decode at a scale (decode_options) beside the loop at that scale.
    limit = pick(records, metric, record['workers'],
                 lambda r: r['limit'] and r.get('decode_scale') == record.get('decode_scale'))
    return (ours / speed(figures(ref[0], metric), metric) if ref else None,
            ours / speed(figures(limit, metric), metric) if limit else None)


def _to_our_first(workload, record):
    """`record`'s speed over this project's first contender with as many workers."""
    metric = workload['metric']
    first = [r for r in workload['contenders'] if r['family'] == 'ours' and r['workers'] == record['workers']
             and not r.get('vs_ours') and figures(r, metric) is not None]
    mine = figures(record, metric)
    if not first or mine is None:
        return None
    return speed(mine, metric) / speed(figures(first[0], metric), metric)


def status_text(record):
    result = record.get('result', {})
    status = result.get('status', 'not run')
    if status == 'n/a':
        return 'n/a (not implemented yet)' if record['family'] == 'ours' else 'n/a: ' + result.get('reason', '')
    if status == 'not run':
        return 'not run: ' + result.get('reason', '')
    return 'error: ' + result.get('reason', '?')


# --- Markdown --------------------------------------------------------------------------------

def _num(value, digits=0):
    if value is None:
        return '—'
    return '{:,.{}f}'.format(value, digits)


def _cpu_m(value):
    """CPU seconds per million rows, with 3 significant digits or more."""
    if value is None:
        return '—'
    return _num(value, 3 if value < 1 else 2 if value < 10 else 1 if value < 100 else 0)


def _ratio(value):
    return '—' if value is None else '{:.2f}×'.format(value)


def _escape(text):
    return text.replace('|', '\\|').replace('\n', ' ')


def workload_table(workload, quiet=None):
    metric = workload['metric']
    if metric == 'startup':
        lines = ['| contender | workers | first row (ms, median) | min – max (ms) | first call in the process (ms) '
                 '| peak RSS (MiB) | CPU % | ÷ Petastorm | ÷ limit |',
                 '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    elif metric == 'overlap':
        lines = ['| contender | workers | rows/s (median) | epoch (s) | batches × busy (s) | epoch ÷ busy '
                 '| CPU s / M rows | peak RSS (MiB) | CPU % | ÷ Petastorm |',
                 '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    else:
        lines = ['| contender | workers | rows/s (median) | CPU s / M rows | MB/s decoded | peak RSS (MiB) | CPU % '
                 '| ÷ Petastorm | ÷ limit |',
                 '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    if quiet is not None:  # a loaded run: each contender's rows/s (or first rows/s) ÷ its quiet figure
        lines[0] += ' ÷ quiet |'
        lines[1] += '---:|'
    for record in workload['contenders']:
        label = ('**{}**' if record['family'] == 'ours' else '{}').format(record['label'])
        if record.get('peer'):
            ratio = _to_our_first(workload, record)
            label += ' (this project: {})'.format(_ratio(1 / ratio)) if ratio else ''
        elif record.get('vs_ours') and record.get('vs_ours_invert'):
            ratio = _to_our_first(workload, record)
            label += ' ({} is {} of this)'.format(record['vs_ours_text'], _ratio(1 / ratio if ratio else None))
        elif record.get('vs_ours'):
            label += ' ({} of {})'.format(_ratio(_to_our_first(workload, record)),
                                          record.get('vs_ours_text', 'the thread pool'))
        workers = str(record['workers'])
        if record['family'] in ('cpp', 'pyarrow', 'numpy', 'tensorflow'):
            workers += ' thread' + ('s' if record['workers'] > 1 else '')
        elif record.get('peer'):
            workers = ('{} process{}'.format(record['workers'], 'es' if record['workers'] > 1 else '')
                       if record.get('processes') else 'in process')
        fig = figures(record, metric)
        if fig is None:
            blanks = ' |' * (lines[1].count('|') - 4)
            lines.append('| {} | {} | {} |{}'.format(label, workers, _escape(status_text(record)), blanks))
            continue
        to_ref, to_limit = ratios(workload, record) if record['family'] == 'ours' else (None, None)
        rss = _num(fig['rss']) + (' (tree {})'.format(_num(fig['tree'])) if fig.get('tree') else '')
        if metric == 'startup':
            cells = [_num(fig['ms'], 1), '{} – {}'.format(_num(fig['ms_min'], 1), _num(fig['ms_max'], 1)),
                     _num(fig['first_ms'], 1), rss, _num(fig['cpu']), _ratio(to_ref), _ratio(to_limit)]
        elif metric == 'overlap':
            cells = [_num(fig['rows_s']), _num(fig.get('epoch_s'), 2), _num(fig.get('ideal_s'), 2),
                     _ratio(fig.get('overlap')), _cpu_m(fig['cpu_per_m']), rss, _num(fig['cpu']), _ratio(to_ref)]
        else:
            cells = [_num(fig['rows_s']), _cpu_m(fig['cpu_per_m']),
                     _num(fig['mb_s'], 1), rss, _num(fig['cpu']), _ratio(to_ref), _ratio(to_limit)]
        if quiet is not None:
            cells.append(_ratio(report_load.to_quiet(workload, record, quiet)))
        lines.append('| {} | {} | {} |'.format(label, workers, ' | '.join(cells)))
    return '\n'.join(lines)


def summary_table(results):
    workers = results['workers']
    head = ['workload'] + ['÷ Petastorm, {} worker{}'.format(w, 's' if w > 1 else '') for w in workers] + \
           ['÷ limit, {} worker{}'.format(w, 's' if w > 1 else '') for w in workers]
    lines = ['| ' + ' | '.join(head) + ' |', '|---' + '|---:' * (len(head) - 1) + '|']
    for workload in results['workloads']:
        cells_ref, cells_limit = [], []
        for w in workers:
            ours = [r for r in workload['contenders'] if r['family'] == 'ours' and r['workers'] == w]
            if not ours:
                cells_ref.append('—')
                cells_limit.append('—')
                continue
            if figures(ours[0], workload['metric']) is None:
                text = 'n/a' if ours[0].get('result', {}).get('status') == 'n/a' else 'error'
                cells_ref.append(text)
                cells_limit.append(text)
                continue
            to_ref, to_limit = ratios(workload, ours[0])
            cells_ref.append(_ratio(to_ref))
            cells_limit.append(_ratio(to_limit))
        lines.append('| {} {} | {} |'.format(workload['id'], workload['title'], ' | '.join(cells_ref + cells_limit)))
    return '\n'.join(lines)


def peers_table(results):
    """Each peer beside this project's row with as many workers: rows/s, CPU s / M rows, peak RSS."""
    lines = ['| workload | peer | workers | rows/s | this project\'s rows/s | this project ÷ peer '
             '| CPU s / M rows: peer / this project | peak RSS (MiB): peer / this project |',
             '|---|---|---:|---:|---:|---:|---:|---:|']
    for workload in results['workloads']:
        metric = workload['metric']
        for record in workload['contenders']:
            if not record.get('peer'):
                continue
            workers = '{} proc.'.format(record['workers']) if record.get('processes') else 'in process'
            label = _escape(record['label'])
            mine = figures(record, metric)
            if mine is None:
                lines.append('| {} | {} | {} | {} | | | | |'.format(workload['id'], label, workers,
                                                                 _escape(status_text(record))))
                continue
            ours = [r for r in workload['contenders'] if r['family'] == 'ours' and not r.get('vs_ours')
                    and r['workers'] == record['workers'] and figures(r, metric) is not None]
            theirs = figures(ours[0], metric) if ours else None
            peak = _num(mine['tree'] or mine['rss'])
            lines.append('| {} | {} | {} | {} | {} | {} | {} / {} | {} / {} |'.format(
                workload['id'], label, workers, _num(mine['rows_s']), _num(theirs and theirs['rows_s']),
                _ratio(theirs['rows_s'] / mine['rows_s'] if theirs else None), _cpu_m(mine['cpu_per_m']),
                _cpu_m(theirs and theirs['cpu_per_m']), peak + (' (tree)' if mine['tree'] else ''),
                _num(theirs and theirs['rss'])))
    return '\n'.join(lines) if len(lines) > 2 else None


def conversions_section(results):
    conversions = results.get('conversions') or []
    if not conversions:
        return []
    lines = ['## One-time conversions of the peers', '',
             'Made once and cached in `.bench-data/` beside the dataset (`benchmarks/peers.py prepare`), not '
             'counted in the rows/s: Hugging Face `datasets` converts the Parquet files to its Arrow cache '
             '(`Dataset.from_parquet`, JPEG columns cast to `datasets.Image()`, `save_to_disk`), Lance writes '
             'a Lance dataset (`lance.write_dataset`). A cached copy shows the time measured when it was made.', '',
             '| peer | dataset | seconds | Parquet (MB) | converted copy (MB) | made |', '|---|---|---:|---:|---:|---|']
    for c in conversions:
        if c.get('status') != 'ok':
            lines.append('| {} | {} | failed: {} | | | |'.format(c.get('family'), c.get('dataset'),
                                                                 _escape(c.get('reason', '?'))))
            continue
        lines.append('| {} | {} | {:.1f} | {:.1f} | {:.1f} | {}{} |'.format(
            c['family'], c['dataset'], c['seconds'], c['source_bytes'] / 1e6, c['bytes'] / 1e6, c.get('date', '?'),
            ' (cached)' if c.get('cached') else ' (this run)'))
    return lines + ['']


# The contenders whose library versions a report's header names, and how.
ENV_NAMES = (('ours', 'this project'), ('petastorm', 'Petastorm'), ('hf', 'HF peer'), ('lance', 'Lance peer'),
             ('ray', 'Ray peer'))


def machine_and_versions(results, families=ENV_NAMES):
    """The header's first lines: the machine, and the versions of `families`' environments."""
    m = results['machine']
    wanted = dict(families)
    envs = {}
    for workload in results['workloads']:
        for record in workload['contenders']:
            versions = record.get('result', {}).get('versions')
            if versions and record['family'] in wanted:
                envs.setdefault(record['family'], {}).update(versions)

    def env_text(v, name):
        parts = ['petastorm {}'.format(v['petastorm'])] if 'petastorm' in v else []
        parts += ['{} {}'.format(label, v[key]) for key, label in
                  (('datasets', 'datasets'), ('lance', 'pylance'), ('ray', 'ray'), ('pyarrow', 'pyarrow'),
                   ('s3fs', 's3fs'), ('numpy', 'numpy'), ('pandas', 'pandas'), ('cv2', 'OpenCV'), ('PIL', 'Pillow'),
                   ('torch', 'torch'), ('python', 'Python')) if key in v]
        return '{}: {}'.format(name, ', '.join(parts))

    machine = 'Machine: **{}**, {} cores, {} GiB RAM, {}.'.format(m['cpu'], m['cores'], m['memory_gib'], m['os'])
    return machine, [env_text(envs[k], name) for k, name in families if k in envs]


def header(results):
    m = results['machine']
    machine, versions = machine_and_versions(results)
    lines = [machine]
    libs = ['{} {}'.format(k, m[k]) for k in ('libjpeg-turbo', 'libspng') if m.get(k)]
    if libs:
        versions.append('C++ limit: ' + ', '.join(libs))
    lines.append('Versions: ' + '; '.join(versions) + '.')
    lines.append('Measured {} at commit {}; {} workloads, {} measured passes after {} warm-up pass{} per contender; '
                 'the whole run took {:.0f} s.'.format(m['date'], m.get('commit') or '?', results['size'],
                                                       results['runs'], results['warmup'],
                                                       '' if results['warmup'] == 1 else 'es', results['seconds']))
    return '\n'.join(lines)


METHOD = """\
## How these figures are made

- `make bench` writes each workload's dataset once (`benchmarks/workloads.py`, cached in `.bench-data/`,
  rewritten when the generator's source changes). Our datasets are written by this project, with
  Petastorm's pickled Unischema beside ours: Petastorm 0.13.1 (from PyPI, in `.venv-ref`) reads the very
  same files. Before the workloads, `benchmarks/compat_check.py` checks both directions (the original
  reads what we write, we read what it writes with Spark) value by value.
- Every contender runs in a fresh process (`benchmarks/runner.py`, or the C++ `decode_loop`): one
  warm-up pass, then the measured passes. A pass reads the whole dataset once, making the reader
  included (`make_reader(url, workers_count=N, reader_pool_type='thread', shuffle_row_groups=False,
  num_epochs=1)`, iterating every row and touching every field).
- **rows/s**: median over the passes of rows ÷ wall time. **MB/s decoded**: bytes of the decoded
  values (numpy `nbytes`) per second, 1 MB = 10⁶ bytes. **peak RSS**: the process's high-water mark
  (`VmHWM`), including the data the limits load beforehand; for contenders with worker processes
  (DataLoader `num_workers` > 0, the process pool) "tree" is the peak of the process's RSS plus its
  workers' private memory (USS: `Private_Clean + Private_Dirty` of `/proc/PID/smaps_rollup`; what they
  share with it, libraries and pages inherited by the fork, is in its RSS already), sampled every 0.2 s. **CPU %**: CPU time ÷ wall time over the measured passes (200 % = both cores busy);
  **CPU s / M rows**: CPU seconds per million rows over the same passes. CPU time counts the process
  and every process it started: `getrusage(RUSAGE_SELF)` + `getrusage(RUSAGE_CHILDREN)` (DataLoader
  workers, joined at the end of each epoch) + the live descendants' `utime + stime + cutime + cstime`
  from `/proc/PID/stat` (workers kept between epochs, as this project's process pool keeps them).
- Peers (`benchmarks/peers.py`, `benchmarks/handrolled.py`): Hugging Face `datasets` (`.venv-hf`) and
  `pylance` (`.venv-lance`), each in a pinned environment of its own
  (`benchmarks/requirements-peer-*.txt`, `make bench-peers`), read converted copies of the same files,
  made once (their cost is in "One-time conversions"); the hand-rolled pyarrow and Pillow loaders run
  in this project's environment. A peer that is not installed or fails is reported with its reason.
- Overlap (W10a, W10b): the loop spends a fixed time holding the GIL on every batch
  (`benchmarks/training_loop.py`); **epoch ÷ busy** is a pass's wall time ÷ (batches × that time).
- A loaded run (`make bench BENCH_ARGS='--load 2'`, `--load-threads N`) starts the background load of
  `benchmarks/load.py` before each contender's process and stops it after, and writes
  `docs/benchmarks-load.md` (and `docs/benchmarks/results-load.json`) against the quiet run's
  `docs/benchmarks/results.json`, which every quiet run saves.
- **÷ Petastorm**: our rows/s ÷ Petastorm's with the same worker count; **÷ limit**: our rows/s ÷ the
  limit's with the same thread count (or the nearest below). For start-up, the inverse ratio of
  times. Above 1 means this project is faster.
- Limits: the C++ `decode_loop` (`benchmarks/decode_loop.cc`) reads the encoded cells into memory
  first, then times only decoding them (libspng, TurboJPEG, `.npy` header parse and copy) on N
  threads, each reusing its output buffers. `pyarrow` reads with `ParquetFile.iter_batches`
  (threads on when N > 1) and converts each column to numpy. `numpy.load` decodes the cells read into
  memory beforehand, one thread.
- Start-up (W6): the same, with a pass being `make_reader(...)` then `next(reader)`; "first call in the
  process" is the warm-up pass, which also pays for lazy imports and first-time initialisation.
- The remote-storage and many-files workloads (W6b, W6c, W2s3, W3s3: start-up on 10,000 local files
  and on 1,000 files on an S3 test server, W2 and W3 read from it) have a report of their own,
  `docs/benchmarks-remote.md`, written by the same `make bench`.
- "n/a (not implemented yet)": this project raised `NotImplementedError` or `ImportError` for the
  feature; the row fills in by itself once it lands.
"""


def busy_machine_warnings(results):
    """The C++ loop keeps N threads busy by construction: well under N × 100 % CPU means cores were
    taken by something else during the run (another process, or the host of a virtual machine)."""
    found = []
    for workload in results['workloads']:
        for record in workload['contenders']:
            fig = figures(record, workload['metric'])
            if record['family'] == 'cpp' and fig and record['workers'] > 1 and fig['cpu'] is not None \
                    and fig['cpu'] < 100 * record['workers'] * 0.8:
                found.append('{} ({:.0f} % on {} threads)'.format(workload['id'], fig['cpu'], record['workers']))
    if not found:
        return None
    return ('The machine was not quiet: the C++ decode loop, which keeps every thread busy, got less CPU than '
            'its threads asked for in ' + ', '.join(found) + '. Figures with more than one worker are '
            'understated there; measure again on an idle machine.')


def compatibility_section(results):
    compat = results.get('compatibility')
    if not compat:
        return ['## Compatibility with Petastorm 0.13.1', '', 'Not checked: the reference environment is missing.', '']
    lines = ['## Compatibility with Petastorm 0.13.1', '',
             'Checked before the workloads (`benchmarks/compat_check.py`): a dataset of every codec, nullable '
             'fields, Decimal and strings, read by both libraries.', '']
    for check in compat.get('checks', []):
        lines.append('- {}: {} rows × {} fields, {}'.format(
            check['name'], check['rows'], check.get('fields', '?'),
            'identical values' if not check['differences'] else
            '**different**: ' + _escape('; '.join(check['differences'][:3]))))
    if compat.get('status') != 'ok':
        lines.append('- **failed**: ' + _escape(compat.get('reason', 'see above')))
    return lines + ['']


def write_markdown(results, out, plots_dir, plot_files, note, quiet=None):
    rel = os.path.relpath(plots_dir, os.path.dirname(out))
    loaded = results.get('load')
    parts = ['# Benchmarks' + (' on a loaded machine' if loaded else ''), '',
             'Generated by `make bench{}` (`benchmarks/run.py`); do not edit by hand. This project against the '
             'original Petastorm, other loaders (peers) and the raw limits of the same work, on the same '
             'files.'.format(" BENCH_ARGS='--load ...'" if loaded else ''), '',
             header(results), '']
    if loaded:
        parts += report_load.intro(results, quiet)
    for text in (note, None if loaded else busy_machine_warnings(results)):
        if text:
            parts += ['> ' + text, '']
    parts += ['## Summary', '', 'Ratios above 1 mean this project is faster.', '', summary_table(results), '']
    if loaded:
        parts += report_load.summary_section(results, quiet)
    peers = peers_table(results)
    if peers:
        parts += ['## Peers', '', 'Other ways of getting the same files into torch tensors of the same batch size, '
                  'each beside this project\'s row with as many workers (in process: 1). For peers with '
                  'worker processes, CPU counts the workers and the peak memory is the process tree\'s '
                  '(see "How these figures are made").', '',
                  peers, '']
    parts += conversions_section(results)
    parts += compatibility_section(results)
    if 'summary' in plot_files:
        parts += ['![Summary]({}/{})'.format(rel, plot_files['summary']), '']
    for workload in results['workloads']:
        d = workload['dataset']
        parts += ['## {} — {}'.format(workload['id'], workload['title']), '', workload['about'], '',
                  'Dataset: {:,} rows, {} files, {} row groups, {:.1f} MB on disk.'.format(
                      d['rows'], d['files'], d['row_groups'], d['bytes'] / 1e6), '',
                  workload_table(workload, quiet), '']
        if workload['id'] in plot_files:
            parts += ['![{}]({}/{})'.format(workload['id'], rel, plot_files[workload['id']]), '']
    parts.append(METHOD)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        f.write('\n'.join(parts))


# --- Plots -----------------------------------------------------------------------------------

def _label(record):
    unit = 'thread' if record['family'] in ('cpp', 'pyarrow', 'numpy', 'tensorflow') else 'worker'
    variant = ', ' + record['variant'] if record.get('variant') else ''  # the remote report's dataset variants
    return '{}{}\n{} {}{}'.format(record['label'], variant, record['workers'], unit,
                                  's' if record['workers'] > 1 else '')


def _short_number_formatter():
    from matplotlib.ticker import FuncFormatter

    def short(value, _pos):
        for scale, suffix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
            if abs(value) >= scale:
                return '{:g}{}'.format(round(value / scale, 2), suffix)
        return '{:g}'.format(value)
    return FuncFormatter(short)


def plot_workload(plt, workload, path, figures=figures):
    """`figures`: the figures of a record (report_remote's for its workloads)."""
    metric = workload['metric']
    records = workload['contenders']
    height = 1.2 + 0.55 * len(records)
    fig, ax = plt.subplots(figsize=(9, height))
    values, lows, highs = [], [], []
    for record in records:
        fig_ = figures(record, metric)
        if fig_ is None:
            values.append(0)
            lows.append(0)
            highs.append(0)
        elif metric == 'startup':
            values.append(fig_['ms'])
            lows.append(fig_['ms'] - fig_['ms_min'])
            highs.append(fig_['ms_max'] - fig_['ms'])
        else:
            values.append(fig_['rows_s'])
            lows.append(fig_['rows_s'] - fig_['rows_min'])
            highs.append(fig_['rows_max'] - fig_['rows_s'])
    y = list(range(len(records)))[::-1]
    colors = [COLORS.get(r['family'], '#7f7f7f') for r in records]
    hatches = ['//' if r['family'] in ('cpp', 'pyarrow', 'numpy', 'tensorflow') else '' for r in records]
    bars = ax.barh(y, values, color=colors, xerr=[lows, highs], capsize=3, error_kw={'elinewidth': 1})
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
        bar.set_edgecolor('white')
    ax.set_yticks(y)
    ax.set_yticklabels([_label(r) for r in records], fontsize=8.5)
    top = max(v + h for v, h in zip(values, highs)) if any(values) else 1
    for yi, record, value, high in zip(y, records, values, highs):
        fig_ = figures(record, metric)
        if fig_ is None:
            text = status_text(record)
            ax.text(top * 0.01, yi, text if len(text) < 70 else text[:67] + '...', va='center', fontsize=8,
                    color='#555555', style='italic')
        elif metric == 'startup':
            ax.text(value + high + top * 0.01, yi, '{:,.1f} ms'.format(value), va='center', fontsize=8.5)
        else:
            ax.text(value + high + top * 0.01, yi, '{:,.0f} rows/s  ({:,.0f} MB/s)'.format(value, fig_['mb_s']),
                    va='center', fontsize=8.5)
    ax.set_xlim(0, top * 1.5)
    ax.xaxis.set_major_formatter(_short_number_formatter())
    ax.set_xlabel('milliseconds from make_reader() to the first row (lower is better)' if metric == 'startup'
                  else 'rows per second (higher is better); bars: median, whiskers: min–max of the passes')
    ax.set_title('{} — {}'.format(workload['id'], workload['title']), fontsize=11, loc='left')
    ax.grid(axis='x', alpha=0.3)
    ax.set_axisbelow(True)
    for side in ('top', 'right'):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_summary(plt, results, path):
    """Our speed ÷ Petastorm's and ÷ the limit's per workload: bars from 1× (log scale), right = faster."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    workers = results['workers']
    workloads = results['workloads']
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.6 + 0.5 * len(workloads)), sharey=True)
    y = list(range(len(workloads)))[::-1]
    width = 0.8 / max(1, len(workers))
    shades = ['#9ecae1', '#1f6fb4', '#08306b', '#6baed6']
    for ax, which, title in ((axes[0], 0, 'this project ÷ Petastorm 0.13.1'),
                             (axes[1], 1, 'this project ÷ the limit')):
        low, high = 0.5, 2.0
        notes = []
        for k, w in enumerate(workers):
            for yi, workload in zip(y, workloads):
                ours = [r for r in workload['contenders'] if r['family'] == 'ours' and r['workers'] == w]
                value = ratios(workload, ours[0])[which] if ours else None
                pos = yi + (len(workers) - 1 - 2 * k) * width / 2
                if value is None:
                    status = ours[0].get('result', {}).get('status') if ours else None
                    text = {'n/a': 'n/a (not implemented yet)', 'ok': 'no comparison', None: 'not run'}.get(
                        status, status)
                    notes.append((pos, text))
                    continue
                low, high = min(low, value), max(high, value)
                ax.barh(pos, value - 1.0, left=1.0, height=width * 0.9, color=shades[k % len(shades)],
                        label='{} worker{}'.format(w, 's' if w > 1 else ''))
                ax.text(value, pos, ' {:.2f}× '.format(value), va='center', fontsize=7.5,
                        ha='left' if value >= 1 else 'right')
        ax.set_xscale('log')
        ax.set_xlim(low / 2.2, high * 2.2)
        for pos, text in notes:
            ax.text(low / 2.0, pos, text, va='center', fontsize=7.5, color='#777777', style='italic')
        ticks = [2.0 ** e for e in range(-10, 11) if low / 2.2 <= 2.0 ** e <= high * 2.2]
        if len(ticks) > 7:  # every other power of two, always keeping 1×
            ticks = [t for t in ticks if round(math.log2(t)) % 2 == 0]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _pos: '{:g}×'.format(v) if v >= 1 else '1/{:g}×'.format(round(1 / v))))
        ax.axvline(1.0, color='#444444', linewidth=1)
        ax.set_title(title + '\n(log scale; right of 1× = this project is faster)', fontsize=10, loc='left')
        ax.grid(axis='x', alpha=0.3)
        ax.set_axisbelow(True)
        for side in ('top', 'right'):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(['{} {}'.format(w['id'], w['title']) for w in workloads], fontsize=8.5)
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if seen:
        fig.legend(list(seen.values()), list(seen.keys()), loc='lower right', fontsize=8, ncol=len(seen))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_plots(results, plots_dir):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(plots_dir, exist_ok=True)
    files = {}
    plot_summary(plt, results, os.path.join(plots_dir, 'summary.png'))
    files['summary'] = 'summary.png'
    for workload in results['workloads']:
        name = workload['id'].lower() + '.png'
        plot_workload(plt, workload, os.path.join(plots_dir, name))
        files[workload['id']] = name
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('results')
    parser.add_argument('--out', default='docs/benchmarks.md')
    parser.add_argument('--plots-dir', default='docs/benchmarks')
    parser.add_argument('--no-plots', action='store_true')
    parser.add_argument('--quiet-results', help='a loaded run: the quiet run\'s results.json to compare with')
    args = parser.parse_args(argv)
    with open(args.results) as f:
        results = json.load(f)
    remote = results.get('kind') == 'remote'  # the remote workloads' report (report_remote.py)
    if remote:
        import report_remote
    quiet = report_load.read_quiet(args.quiet_results) if results.get('load') else None
    plot_files, note = {}, None
    if not args.no_plots:
        try:
            plot_files = (report_remote.draw_plots if remote else draw_plots)(results, args.plots_dir)
        except ImportError as e:
            note = 'Plots not drawn: {} (matplotlib is installed in .venv-ref by `make bench`).'.format(e)
    elif results.get('load'):
        note = 'A loaded run draws no plots: its tables compare each figure with the quiet run\'s.'
    else:
        note = 'Plots not drawn (--no-plots).'
    if remote:
        report_remote.write_markdown(results, os.path.abspath(args.out), os.path.abspath(args.plots_dir), plot_files,
                                     note)
    else:
        write_markdown(results, os.path.abspath(args.out), os.path.abspath(args.plots_dir), plot_files, note, quiet)
    print('wrote {}{}'.format(args.out, ' and {} plots in {}'.format(len(plot_files), args.plots_dir)
                              if plot_files else ''), file=sys.stderr)


if __name__ == '__main__':
    main()
