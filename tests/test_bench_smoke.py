"""`make bench` cannot rot: its harness runs end to end on tiny workloads (no timing is checked).

Only this project and the pyarrow/numpy limits run here; the reference environment (.venv-ref)
and the C++ decode loop belong to `make bench` itself.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, 'benchmarks', 'run.py')

WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5a', 'W5b', 'W6', 'W7', 'W8', 'W9a', 'W9b']
# Workloads whose feature exists in every version: our row must be measured, not "n/a".
ALWAYS_MEASURED = {'W1', 'W2', 'W4', 'W6', 'W7', 'W8', 'W9a', 'W9b'}
# Workloads whose first contender of ours is not the plain reader.
FIRST_OURS = {'W7': 'this project, dict_to_spark_row', 'W8': 'this project, dict_to_spark_row',
              'W9a': 'this project, make_petastorm_dataset', 'W9b': 'this project, make_petastorm_dataset'}
# Workloads that run on Spark's local[2] whatever --workers says.
SPARK_WORKLOADS = {'W7', 'W8'}


@pytest.fixture(scope='module')
def bench_report(tmp_path_factory):
    if not os.path.exists(RUN):
        pytest.skip('benchmarks/ is not in this tree')
    tmp = tmp_path_factory.mktemp('bench')
    out = tmp / 'docs' / 'benchmarks.md'
    proc = subprocess.run(
        [sys.executable, RUN, '--size', 'tiny', '--data-dir', str(tmp / 'data'), '--out', str(out),
         '--contenders', 'ours,pyarrow,numpy,tensorflow', '--workers', '1', '--runs', '1', '--warmup', '0',
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
            workers = 2 if name in SPARK_WORKLOADS else 1
            ours = '| **{}** | {} |'.format(FIRST_OURS.get(name, 'this project'), workers)
            assert ours in section, section[:400]
    assert [w['id'] for w in results['workloads']] == WORKLOADS


def test_every_contender_ran_or_is_not_implemented(bench_report):
    _, results, _ = bench_report
    for workload in results['workloads']:
        families = {r['family'] for r in workload['contenders']}
        assert families <= {'ours', 'pyarrow', 'numpy', 'tensorflow'}, families
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
