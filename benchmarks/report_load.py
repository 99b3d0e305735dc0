"""The loaded-machine parts of the report (run.py --load N / --load-threads N): each figure under
load against the same contender's in a quiet run's results.json. Standard library only.
"""
import json
import os

import report


def read_quiet(path):
    """The quiet run's results, or {'missing': path} when there are none to compare with."""
    if path and os.path.exists(path):
        with open(path) as f:
            quiet = json.load(f)
        if not quiet.get('load'):
            quiet['path'] = path
            return quiet
    return {'missing': path, 'workloads': []}


def _quiet_twin(workload, record, quiet):
    """The same contender (workload, label, workers) in the quiet results, when it was measured."""
    for other in quiet.get('workloads', []):
        if other['id'] != workload['id']:
            continue
        for twin in other['contenders']:
            if twin['label'] == record['label'] and twin['workers'] == record['workers'] \
                    and report.figures(twin, other['metric']) is not None:
                return other, twin
    return None, None


def to_quiet(workload, record, quiet):
    """`record`'s speed under load ÷ its speed in the quiet run (below 1: the load slowed it)."""
    metric = workload['metric']
    _, twin = _quiet_twin(workload, record, quiet)
    loaded = report.speed(report.figures(record, metric), metric)
    if twin is None or loaded is None:
        return None
    return loaded / report.speed(report.figures(twin, metric), metric)


def intro(results, quiet):
    load = results['load']
    lines = ['> **Loaded machine**: {} during every measurement, started before each contender\'s process and '
             'stopped after it, the same for every contender (`benchmarks/load.py`).'.format(load['description'])]
    if quiet.get('missing') is not None:
        lines.append('> No quiet results to compare with ({}): run `make bench` without --load first.'.format(
            quiet['missing']))
    else:
        m = quiet['machine']
        lines.append('> **÷ quiet** compares each figure with the same contender\'s in the quiet run of {} at '
                     'commit {} (`{}`).'.format(m.get('date', '?'), m.get('commit') or '?',
                                                os.path.relpath(quiet['path'])))
    return ['\n>\n'.join(lines), '']


def summary_section(results, quiet):
    """Per workload and worker count: this project's ratio to Petastorm and to each peer, quiet and
    under load, and their quotient (above 1: this project holds up better under load)."""
    lines = ['## Under load ÷ quiet', '',
             'For each comparison: this project\'s rows/s ÷ the other\'s (as in the tables), in the quiet run and '
             'under load; **load ÷ quiet** is their quotient (above 1: under load this project loses less than '
             'the other). The last two columns: each one\'s rows/s under load ÷ quiet.', '',
             '| workload | this project ÷ | workers | quiet | under load | load ÷ quiet | this project: load ÷ quiet '
             '| it: load ÷ quiet |', '|---|---|---:|---:|---:|---:|---:|---:|']
    for workload in results['workloads']:
        metric = workload['metric']
        ours = [r for r in workload['contenders'] if r['family'] == 'ours' and not r.get('vs_ours')]
        for record in workload['contenders']:
            if record['family'] != 'petastorm' and not record.get('peer'):
                continue
            mine = [r for r in ours if r['workers'] == record['workers']]
            if not mine:
                continue
            ratio_load = _ratio_of(workload, mine[0], record, metric)
            q_workload, q_ours = _quiet_twin(workload, mine[0], quiet)
            _, q_other = _quiet_twin(workload, record, quiet)
            ratio_quiet = _ratio_of(q_workload, q_ours, q_other, metric) if q_ours and q_other else None
            lines.append('| {} | {} | {} | {} | {} | {} | {} | {} |'.format(
                workload['id'], report._escape(record['label']), record['workers'], report._ratio(ratio_quiet),
                report._ratio(ratio_load), report._ratio(ratio_load / ratio_quiet if ratio_load and ratio_quiet
                                                         else None),
                report._ratio(to_quiet(workload, mine[0], quiet)), report._ratio(to_quiet(workload, record, quiet))))
    return lines + ['']


def _ratio_of(workload, ours, other, metric):
    a = report.speed(report.figures(ours, metric), metric)
    b = report.speed(report.figures(other, metric), metric)
    return a / b if a and b else None
