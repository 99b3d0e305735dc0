"""docs/benchmarks-remote.md: the remote-storage and many-files workloads (W6b, W6c, W2s3, W3s3) from
run.py's docs/benchmarks/results-remote.json (merged by workload across runs). Called by report.py
for results whose 'kind' is 'remote'. Standard library only (matplotlib for the plots, as report.py).
"""
import os
import statistics

import report

GOALS = {'petastorm': 2.0, 'pyarrow': 1.0, 'first_row_s': 1.0}


def figures(record, metric):
    """report.figures plus the first row of a throughput pass and the S3 server's CPU."""
    fig = report.figures(record, metric)
    if fig is None:
        return None
    result = record['result']
    if metric == 'startup' and result.get('first_row_s'):  # to the first row, the reader's teardown left out
        firsts = result['first_row_s']
        fig.update(ms=1000 * statistics.median(firsts), ms_min=1000 * min(firsts), ms_max=1000 * max(firsts),
                   first_ms=1000 * result['warmup_first_row_s'][0] if result.get('warmup_first_row_s') else None,
                   teardown_ms=1000 * statistics.median(w - f for w, f in zip(result['wall_s'], firsts)))
    fig['first_s'] = statistics.median(result['first_row_s']) if result.get('first_row_s') else None
    server = result.get('server_cpu_s')
    fig['server_ms'] = 1000 * statistics.median(server) if server else None
    fig['server_per_m'] = 1e6 * sum(server) / sum(result['rows']) if server and sum(result['rows']) else None
    requests = result.get('server_requests_per_pass')
    fig['requests'] = sum(requests.values()) if requests else None
    return fig


def speed(record, metric):
    fig = figures(record, metric)
    return report.speed(fig, metric) if fig else None


def _same(record, **want):
    return all(record.get(k, 'local' if k == 'storage' else None) == v for k, v in want.items())


def twin(workload, record, **change):
    """The measured contender like `record` (family, kind, variant, storage, workers) but for
    `change`; for a pyarrow twin the same thread count or the nearest below."""
    keys = {k: record.get(k) for k in ('family', 'kind', 'variant')}
    keys['storage'] = record.get('storage', 'local')
    keys.update(change)
    workers = record['workers']
    metric = workload['metric']
    found = [r for r in workload['contenders'] if _same(r, **keys) and figures(r, metric) is not None]
    for candidates in ([r for r in found if r['workers'] == workers],
                       sorted((r for r in found if r['workers'] < workers), key=lambda r: -r['workers']), found):
        if candidates:
            return candidates[0]
    return None


def ratio(workload, record, other):
    """record's speed ÷ other's (> 1: record is faster), or None."""
    if other is None:
        return None
    mine, theirs = speed(record, workload['metric']), speed(other, workload['metric'])
    return mine / theirs if mine and theirs else None


def to_family(workload, record, family):
    kind = {'petastorm': record.get('kind'), 'pyarrow': 'pyarrow-dataset-startup' if workload['metric'] == 'startup'
            else 'pyarrow-dataset'}[family]
    return ratio(workload, record, twin(workload, record, family=family, kind=kind))


def s3_to_local(workload, record):
    if record.get('storage') != 's3':
        return None
    return ratio(workload, record, twin(workload, record, storage='local'))


def _goal(value, goal, above=True):
    if value is None:
        return '—'
    met = value >= goal if above else value < goal
    return '{} {}'.format(report._ratio(value) if above else '{:.2f} s'.format(value), '✓' if met else '✗')


def _workers(record):
    if record['family'] == 'pyarrow':
        return '{} thread{}'.format(record['workers'], 's' if record['workers'] > 1 else '')
    return str(record['workers'])


def workload_table(workload):
    metric = workload['metric']
    records = workload['contenders']
    server = any(figures(r, metric) and figures(r, metric)['server_ms'] is not None for r in records)
    if metric == 'startup':
        head = ['contender', 'dataset', 'workers', 'first row (ms, median)', 'min – max (ms)',
                'first call in the process (ms)', 'then stopping the reader (ms)', 'peak RSS (MiB)', 'CPU %'] + \
               (['server CPU (ms / pass)', 'server requests / pass'] if server else []) + ['÷ Petastorm', '÷ pyarrow']
    else:
        head = ['contender', 'workers', 'rows/s (median)', 'first row (s)', 'CPU s / M rows'] + \
               (['server CPU s / M rows', 'server requests / pass'] if server else []) + \
               ['MB/s decoded', 'peak RSS (MiB)', 'CPU %', '÷ Petastorm', '÷ pyarrow', 'S3 ÷ local']
    lines = ['| ' + ' | '.join(head) + ' |', '|---|' + ('---|' if metric == 'startup' else '') +
             '---:|' * (len(head) - (2 if metric == 'startup' else 1))]
    for record in records:
        label = ('**{}**' if record['family'] == 'ours' else '{}').format(report._escape(record['label']))
        first = [label] + ([record.get('variant', '')] if metric == 'startup' else []) + [_workers(record)]
        fig = figures(record, metric)
        if fig is None:
            lines.append('| {} | {} |{}'.format(' | '.join(first), report._escape(report.status_text(record)),
                                                ' |' * (len(head) - len(first) - 1)))
            continue
        ours = record['family'] == 'ours'
        to_ref = to_family(workload, record, 'petastorm') if ours else None
        to_pa = to_family(workload, record, 'pyarrow') if ours else None
        if metric == 'startup':
            cells = [report._num(fig['ms'], 1), '{} – {}'.format(report._num(fig['ms_min'], 1),
                                                                report._num(fig['ms_max'], 1)),
                     report._num(fig['first_ms'], 1), report._num(fig.get('teardown_ms'), 1), report._num(fig['rss']),
                     report._num(fig['cpu'])] + \
                    ([report._num(fig['server_ms']), report._num(fig['requests'])] if server else []) + \
                    [report._ratio(to_ref), report._ratio(to_pa)]
        else:
            cells = [report._num(fig['rows_s']), '—' if fig['first_s'] is None else '{:.3f}'.format(fig['first_s']),
                     report._cpu_m(fig['cpu_per_m'])] + \
                    ([report._cpu_m(fig['server_per_m']), report._num(fig['requests'])] if server else []) + \
                    [report._num(fig['mb_s'], 1), report._num(fig['rss']), report._num(fig['cpu']),
                     report._ratio(to_ref), report._ratio(to_pa), report._ratio(s3_to_local(workload, record))]
        lines.append('| {} | {} |'.format(' | '.join(first), ' | '.join(cells)))
    return '\n'.join(lines)


def summary_tables(results):
    """The goals: reading from S3, this project ≥ 2× Petastorm, ≥ 1× pyarrow, first row < 1 s; and
    the start-up ratios per dataset variant."""
    workers = results.get('workers') or [1, 2]
    throughput = ['| workload | workers | this project on S3 (rows/s) | ÷ Petastorm on S3 (goal ≥ 2×) '
                  '| ÷ pyarrow on S3 (goal ≥ 1×) | first row on S3 (goal < 1 s) | S3 ÷ local |',
                  '|---|---:|---:|---:|---:|---:|---:|']
    startup = ['| workload | dataset | workers | this project (ms) | Petastorm 0.13.1 (ms) | pyarrow (ms) '
               '| ÷ Petastorm | ÷ pyarrow |', '|---|---|---:|---:|---:|---:|---:|---:|']
    for workload in results['workloads']:
        metric = workload['metric']
        for w in workers:
            ours = [r for r in workload['contenders'] if r['family'] == 'ours' and r['workers'] == w]
            if metric == 'startup':
                for record in ours:
                    fig = figures(record, metric)
                    ref = twin(workload, record, family='petastorm', kind='startup')
                    pa = twin(workload, record, family='pyarrow', kind='pyarrow-dataset-startup')
                    startup.append('| {} {} | {} | {} | {} | {} | {} | {} | {} |'.format(
                        workload['id'], workload['title'], record.get('variant', ''), w,
                        report._num(fig and fig['ms'], 1) if fig else report._escape(report.status_text(record)),
                        report._num(figures(ref, metric)['ms'], 1) if ref else '—',
                        report._num(figures(pa, metric)['ms'], 1) if pa else '—',
                        report._ratio(to_family(workload, record, 'petastorm') if fig else None),
                        report._ratio(to_family(workload, record, 'pyarrow') if fig else None)))
                continue
            for record in ours:
                if record.get('storage') != 's3':
                    continue
                fig = figures(record, metric)
                if fig is None:
                    throughput.append('| {} {} | {} | {} | | | | |'.format(
                        workload['id'], workload['title'], w, report._escape(report.status_text(record))))
                    continue
                to_pa = to_family(workload, record, 'pyarrow')
                throughput.append('| {} {} | {} | {} | {} | {} | {} | {} |'.format(
                    workload['id'], workload['title'], w, report._num(fig['rows_s']),
                    _goal(to_family(workload, record, 'petastorm'), GOALS['petastorm']),
                    _goal(to_pa, GOALS['pyarrow']) if workload.get('pyarrow_same_work', True) else
                    '{} (pyarrow decodes no JPEG: not the goal\'s comparison)'.format(report._ratio(to_pa)),
                    _goal(fig['first_s'], GOALS['first_row_s'], above=False),
                    report._ratio(s3_to_local(workload, record))))
    parts = []
    if len(throughput) > 2:
        parts += ['Reading from S3 (the goals: at least 2× the original Petastorm, at least 1× pyarrow, the first row '
                  'in under 1 s; ✓ met, ✗ not met):', '', '\n'.join(throughput), '']
    if len(startup) > 2:
        parts += ['Start-up, time to the first row (ratios above 1: this project is faster):', '', '\n'.join(startup), '']
    return parts


def header(results):
    machine, versions = report.machine_and_versions(results, report.ENV_NAMES[:2])
    lines = [machine]
    if versions:
        lines.append('Versions: ' + '; '.join(versions) + '.')
    server = results.get('server') or {}
    if server.get('program'):
        uploads = ', '.join('`{}` ({:,} files, {:.1f} MB, {:.1f} s)'.format(k, v['files'], v['bytes'] / 1e6, v['seconds'])
                            for k, v in sorted(server.get('uploads', {}).items()))
        lines.append('S3 test server: {}; uploaded once per run: {}.'.format(server['program'], uploads))
        probe = server.get('probe')
        if probe:
            lines.append('Its request rate, measured after the upload: pyarrow alone made {:,} HEAD + GET pairs '
                         '(`get_file_info`, `open_input_stream().read()`, {} threads) over `{}` in {:.1f} s: '
                         '{:,.0f} requests/s.'.format(probe['files'], probe['threads'], probe['key'], probe['seconds'],
                                                      probe['requests_per_s']))
    lines += ['', '| workload | measured | commit | size | passes (after warm-up) | seconds |',
              '|---|---|---|---|---:|---:|']
    for workload in results['workloads']:
        d = workload.get('measured', {})
        lines.append('| {} | {} | {} | {} | {} (after {}) | {} |'.format(
            workload['id'], d.get('date', '?'), d.get('commit') or '?', results['size'], d.get('runs', '?'),
            d.get('warmup', '?'), d.get('seconds', '?')))
    return '\n'.join(lines)


METHOD = """\
## How these figures are made

- As in docs/benchmarks.md ("How these figures are made"): every contender in a fresh process
  (`benchmarks/runner.py`), a warm-up pass then the measured passes, the reader made in each pass;
  rows/s, CPU s / M rows and peak RSS as there. CPU counts the reader's process (and its children),
  not the S3 server's: the server's CPU during each pass is its own column (`/proc/PID/stat` of the
  server, read before and after the pass), per million rows or per start-up pass, and so are the
  requests it logged during the contender's process (a line each in its log), per pass (warm-up
  included). Both count the whole pass: for pyarrow's start-up, the scan that goes on until its
  reader is closed too.
- The S3 test server (`benchmarks/remote.py`): `moto_server` (moto[server], in this project's
  environment) on a free port of 127.0.0.1, started by `run.py` before the first remote workload,
  the cached datasets uploaded to it once per run with pyarrow's `copy_files`, stopped at the end of
  the run, also on error. It keeps the objects in memory and serves each connection in a thread of
  one Python process (so about one core at most), on the same 2 cores as the reader: its request
  rate, not the network, bounds what needs many requests (a footer per file), and its CPU is taken
  from the reader's.
- This project: `make_reader` / `make_batch_reader('s3://bench/<dataset>', storage_options={'access_key':
  ..., 'secret_key': ..., 'endpoint_override': 'http://127.0.0.1:PORT', 'region': 'us-east-1'})`.
- Petastorm 0.13.1 (`.venv-ref`, with s3fs): `make_reader('s3://...', storage_options={'key': ..., 'secret':
  ..., 'client_kwargs': {'endpoint_url': ...}})` fails with pyarrow 14: the bare s3fs filesystem takes
  `pyarrow.parquet.ParquetDataset` to its new Dataset API, where Petastorm's `validate_schema=False` is
  a `ValueError` ("not yet supported with the new Dataset API"; uber/petastorm#758 and #803, whose
  users went back to pyarrow 10). So it reads with `filesystem=` pyarrow's legacy `S3FSWrapper`
  around `s3fs.S3FileSystem(key=..., secret=..., client_kwargs={'endpoint_url': ...})`, its `walk`
  delegated to s3fs's own (the wrapper's calls s3fs's private `_ls`, a coroutine since s3fs 0.5:
  fsspec/s3fs#366), a new s3fs instance each pass (`skip_instance_cache=True`; the shared instance's
  listings cache would spare later passes the listing). `runner.petastorm_s3_filesystem`.
- pyarrow: `pyarrow.dataset.dataset(path, filesystem=S3FileSystem(...) or LocalFileSystem(),
  format='parquet')`, made in each pass. Start-up: the first batch of its scanner
  (`scanner().to_reader().read_next_batch()`), its first row to Python: the directory listing, the
  first file's footer (schema inference) and the first files' reads; `_common_metadata` is skipped by
  pyarrow, so both variants are the same work. Throughput: `to_batches(columns=<every column>,
  use_threads=True)` with `pyarrow.set_cpu_count(N)` (Arrow's I/O pool as it comes: 8 threads), each
  column to numpy; it decodes no JPEG (W2s3).
- **first row** (all four): from the start of a measured pass (the factory call, or pyarrow's
  `dataset()`) to its first row or batch, median. In W6b and W6c, stopping the reader after it
  (`reader.stop(); reader.join()`; pyarrow's `RecordBatchReader.close()`, which waits for the scan
  it started over every file) is a column of its own, outside the figure (W6 in docs/benchmarks.md
  counts it in); "first call in the process" is the warm-up pass's time to the first row, imports
  and the first connection included. **÷ Petastorm**, **÷ pyarrow**: this project's rows/s (or inverse time to the
  first row) ÷ theirs on the same storage and dataset variant, with the same workers (pyarrow: the
  same thread count, or the nearest below). **S3 ÷ local**: a contender's rows/s from S3 ÷ its rows/s
  on the same files read locally, in the same run.
- Without `_common_metadata` (W6b, W6c) this project reads every footer when the reader is made (in
  parallel: Arrow's I/O pool locally, 32 requests in flight on S3); Petastorm 0.13.1 reads them through
  pyarrow's legacy `ParquetDataset` (10 threads) and, lacking the Unischema, infers a schema from
  Parquet (its NdarrayCodec column comes as bytes, undecoded).
"""


def server_caveat(results):
    probe = (results.get('server') or {}).get('probe')
    rate = ('{:,.0f} requests/s measured after this run\'s upload (pyarrow alone, {:,} HEAD + GET pairs on {} threads '
            'in {:.1f} s); about 410 requests/s measured by hand before (4.8 s for 1,000 pairs)'.format(
                probe['requests_per_s'], probe['files'], probe['threads'], probe['seconds'])
            if probe else 'about 410 requests/s measured by hand (pyarrow alone: 4.8 s for 1,000 HEAD + GET pairs)')
    return ('The S3 server is moto, on this machine, and it is not S3. (1) Its request rate: {}. A reader that needs '
            'a request per file (W6c without `_common_metadata`) is bound by it: the server\'s CPU during such a pass '
            'is about the pass\'s wall time, one core saturated. By hand, on 1,000 files: this project\'s first row '
            'in 0.04 s with `_common_metadata`, 2.5 s without it, which is that rate; locally, 10,000 files: 0.009 s '
            'with it, 0.14-0.2 s without. (2) It answers a GET by reading the whole object (in memory here), under the '
            'object\'s lock, then slicing the range asked for (moto 5.2.5: `moto/s3/models.py` `FakeKey.value`, '
            '`moto/s3/responses.py` `_handle_range_header`): a ranged GET costs the whole object, not the range. W3\'s files are 86 MB each, so on this server the reader that '
            'makes fewer, larger requests per file wins (column "server requests / pass"), whatever the bytes. '
            'On S3 a GET costs its range, and its latency (tens of ms) favours many requests in flight. (3) It '
            'shares the 2 cores with the reader (column "server CPU"). The ratios here are about requests and CPU '
            'on this server, not a forecast of S3\'s figures.'.format(rate))


def write_markdown(results, out, plots_dir, plot_files, note):
    rel = os.path.relpath(plots_dir, os.path.dirname(out))
    parts = ['# Benchmarks: remote storage and many files', '',
             'Generated by `make bench` (`benchmarks/run.py`, workloads W6b, W6c, W2s3, W3s3); do not edit by hand. '
             'Start-up on 10,000 local files and on 1,000 files on an S3 API server, and W2 and W3 read from that '
             'server, against the original Petastorm (reading S3 through s3fs) and pyarrow. The local workloads are '
             'in [benchmarks.md](benchmarks.md). A run of some of these workloads keeps the others\' figures: each '
             'workload says when it was measured.', '', header(results), '']
    if note:
        parts += ['> ' + note, '']
    parts += ['> ' + server_caveat(results), '']
    parts += ['## Summary', ''] + summary_tables(results)
    for workload in results['workloads']:
        d = workload['dataset']
        parts += ['## {} — {}'.format(workload['id'], workload['title']), '', workload['about'], '',
                  'Dataset: {:,} rows, {} files, {} row groups, {:.1f} MB on disk.'.format(
                      d['rows'], d['files'], d['row_groups'], d['bytes'] / 1e6), '',
                  workload_table(workload), '']
        if workload['id'] in plot_files:
            parts += ['![{}]({}/{})'.format(workload['id'], rel, plot_files[workload['id']]), '']
    parts.append(METHOD)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        f.write('\n'.join(parts))


def draw_plots(results, plots_dir):
    """One plot per workload (report.plot_workload); no summary plot (that one is docs/benchmarks.md's)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(plots_dir, exist_ok=True)
    files = {}
    for workload in results['workloads']:
        name = workload['id'].lower() + '.png'
        report.plot_workload(plt, workload, os.path.join(plots_dir, name), figures=figures)
        files[workload['id']] = name
    return files
