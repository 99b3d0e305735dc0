"""`make bench` cannot rot: its harness runs end to end on tiny workloads (no timing is checked).

Only this project, the pyarrow/numpy limits and the hand-rolled torch peers (they need only this
project's environment) run here; the reference environment (.venv-ref), the other peers' environments
and the C++ decode loop belong to `make bench` itself. A second, loaded run (--load 1) of one workload
checks the loaded-machine report against the first run's results.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, 'benchmarks', 'run.py')

WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5a', 'W5b', 'W5c', 'W6', 'W7', 'W8', 'W9a', 'W9b', 'W10a', 'W10b',
             'W2ra', 'W2rb', 'W3ra', 'W3rb']
RANDOM_ACCESS = {'W2ra', 'W2rb', 'W3ra', 'W3rb'}
# Workloads whose feature exists in every version: our row must be measured, not "n/a".
ALWAYS_MEASURED = {'W1', 'W2', 'W4', 'W5c', 'W6', 'W7', 'W8', 'W9a', 'W9b', 'W10a', 'W10b'} | RANDOM_ACCESS
FAMILIES = {'ours', 'pyarrow', 'numpy', 'tensorflow', 'handrolled'}
# Workloads whose first contender of ours is not the plain reader.
FIRST_OURS = {'W7': 'this project, dict_to_spark_row', 'W8': 'this project, dict_to_spark_row',
              'W9a': 'this project, make_petastorm_dataset', 'W9b': 'this project, make_petastorm_dataset',
              **{w: 'this project, make_map_dataset' for w in RANDOM_ACCESS}}
# Workloads that run with 2 workers whatever --workers says: Spark's local[2], the overlap loaders.
TWO_WORKER_WORKLOADS = {'W7', 'W8', 'W10a', 'W10b'} | RANDOM_ACCESS


@pytest.fixture(scope='module')
def bench_report(tmp_path_factory):
    if not os.path.exists(RUN):
        pytest.skip('benchmarks/ is not in this tree')
    tmp = tmp_path_factory.mktemp('bench')
    out = tmp / 'docs' / 'benchmarks.md'
    proc = subprocess.run(
        [sys.executable, RUN, '--size', 'tiny', '--data-dir', str(tmp / 'data'), '--out', str(out),
         '--contenders', ','.join(sorted(FAMILIES)), '--workers', '1', '--runs', '1', '--warmup', '0',
         '--timeout', '300'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    with open(tmp / 'docs' / 'benchmarks' / 'results.json') as f:
        results = json.load(f)
    return out.read_text(), results, tmp


def test_report_has_a_table_per_workload(bench_report):
    text, results, _ = bench_report
    assert text.startswith('# Benchmarks')
    assert 'Machine: ' in text and 'Versions: ' in text
    assert '## Summary' in text
    for workload in WORKLOADS:
        assert '\n## {} — '.format(workload) in text, workload
    sections = text.split('\n## ')
    for section in sections:
        name = section.split(' ')[0]
        if name in WORKLOADS:
            assert '| contender | workers |' in section, section[:200]
            workers = 2 if name in TWO_WORKER_WORKLOADS else 1
            ours = '| **{}** | {} |'.format(FIRST_OURS.get(name, 'this project'), workers)
            assert ours in section, section[:400]
    assert [w['id'] for w in results['workloads']] == WORKLOADS


def test_every_contender_ran_or_is_not_implemented(bench_report):
    _, results, _ = bench_report
    for workload in results['workloads']:
        families = {r['family'] for r in workload['contenders']}
        assert families <= FAMILIES, families
        for record in workload['contenders']:
            status = record['result']['status']
            assert status in ('ok', 'n/a'), (workload['id'], record)
            if record['family'] == 'ours' and workload['id'] in ALWAYS_MEASURED:
                assert status == 'ok', (workload['id'], record)
            if status == 'ok':
                assert min(record['result']['rows']) > 0
                assert record['result']['peak_rss_mb'] > 0


def test_limits_are_measured(bench_report):
    _, results, _ = bench_report
    by_id = {w['id']: w for w in results['workloads']}
    for workload, family in (('W3', 'pyarrow'), ('W4', 'numpy'), ('W6', 'pyarrow'), ('W9a', 'tensorflow'),
                             ('W9b', 'tensorflow')):
        limits = [r for r in by_id[workload]['contenders'] if r['family'] == family]
        assert limits and all(r['result']['status'] == 'ok' for r in limits), (workload, limits)


def test_plots_when_matplotlib_is_available(bench_report):
    text, _, tmp = bench_report
    if 'Plots not drawn' in text:
        pytest.skip('no interpreter with matplotlib (the reference environment is made by make bench)')
    for name in ['summary'] + [w.lower() for w in WORKLOADS]:
        assert (tmp / 'docs' / 'benchmarks' / (name + '.png')).stat().st_size > 0
        assert 'benchmarks/{}.png'.format(name) in text


def test_hand_rolled_peers_and_cpu_per_million_rows(bench_report):
    text, results, _ = bench_report
    by_id = {w['id']: w for w in results['workloads']}
    for workload in ('W5a', 'W5c', 'W10a', 'W10b'):
        peers = [r for r in by_id[workload]['contenders'] if r['family'] == 'handrolled']
        assert peers and all(r['result']['status'] == 'ok' for r in peers), (workload, peers)
        assert all(r['peer'] for r in peers)
    overlap = [r for r in by_id['W10b']['contenders'] if r['result']['status'] == 'ok']
    assert all(r['result']['busy_ms'] == 50 and r['result']['batches'] for r in overlap), overlap
    assert '| CPU s / M rows |' in text and '| epoch ÷ busy |' in text
    assert '\n## Peers\n' in text


def test_loaded_run_compares_with_the_quiet_one(bench_report):
    _, _, tmp = bench_report
    out = tmp / 'docs' / 'benchmarks-load.md'
    proc = subprocess.run(
        [sys.executable, RUN, '--size', 'tiny', '--data-dir', str(tmp / 'data'), '--out', str(out),
         '--workloads', 'W3', '--contenders', 'ours,pyarrow', '--workers', '1', '--runs', '1', '--warmup', '0',
         '--load', '1', '--load-threads', '2', '--timeout', '300'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:]
    text = out.read_text()
    assert text.startswith('# Benchmarks on a loaded machine')
    assert '## Under load ÷ quiet' in text and '| ÷ quiet |' in text
    with open(tmp / 'docs' / 'benchmarks' / 'results-load.json') as f:
        loaded = json.load(f)
    assert loaded['load'] == {'processes': 1, 'threads': 2, 'description': loaded['load']['description']}
    # The quiet run's results are left as they were.
    with open(tmp / 'docs' / 'benchmarks' / 'results.json') as f:
        assert 'load' not in json.load(f)
