"""The ```python blocks of README.md and of docs/*.md run, so the documentation cannot drift.

The blocks of one page run in order in one fresh interpreter (one namespace, as a reader following
the page would run them), in a temporary directory; '/tmp/' in a block is that directory, so runs
do not share files. A block preceded by `<!-- not run: REASON -->` is not run (data or servers
the tests do not have); the reason is required.
"""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))
_FENCE = re.compile(r'^```(\S*)\s*$')
_NOT_RUN = re.compile(r'^<!--\s*not run:\s*(.*?)\s*-->\s*$')


def extract_blocks(text):
    """[(first line number, language, code, not-run reason or None)] of the page's fenced blocks."""
    blocks, lines, i, previous = [], text.splitlines(), 0, None
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match and match.group(1):
            start, language = i + 1, match.group(1)
            i += 1
            body = []
            while i < len(lines) and lines[i].rstrip() != '```':
                body.append(lines[i])
                i += 1
            reason = _NOT_RUN.match(previous).group(1) if previous and _NOT_RUN.match(previous) else None
            blocks.append((start + 1, language, '\n'.join(body) + '\n', reason))
            previous = None
        elif lines[i].strip():
            previous = lines[i]
        i += 1
    return blocks


def _python_pages():
    return [page for page in PAGES if any(lang == 'python' for _, lang, _, _ in extract_blocks(page.read_text()))]


_RUNNER = textwrap.dedent('''
    import sys
    namespace = {'__name__': '__main__'}
    for origin, code in BLOCKS:
        print('--- running', origin, flush=True)
        exec(compile(code, origin, 'exec'), namespace)
    print('--- all blocks ran', flush=True)
''')


@pytest.mark.parametrize('page', _python_pages(), ids=lambda page: page.name)
def test_python_blocks_run(page, tmp_path):
    blocks = [(line, code, reason) for line, lang, code, reason in extract_blocks(page.read_text())
              if lang == 'python']
    to_run = [('{}:{}'.format(page.relative_to(ROOT), line), code.replace('/tmp/', str(tmp_path) + '/'))
              for line, code, reason in blocks if reason is None]
    if not to_run:
        pytest.skip('every python block of {} is marked not run'.format(page.name))
    script = tmp_path / 'run_blocks.py'
    script.write_text('BLOCKS = {!r}\n{}'.format(to_run, _RUNNER))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
               TF_CPP_MIN_LOG_LEVEL='2')
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, 'a block of {} failed:\n{}\n{}'.format(page.name, result.stdout[-3000:],
                                                                         result.stderr[-5000:])
    assert '--- all blocks ran' in result.stdout
    assert result.stdout.count('--- running ') == len(to_run)
    print(result.stdout)


def test_not_run_markers_give_a_reason_and_stay_few():
    skipped = []
    for page in PAGES:
        for line, lang, _, reason in extract_blocks(page.read_text()):
            if lang == 'python' and reason is not None:
                assert reason, '{}:{}: a not-run marker without a reason'.format(page.name, line)
                skipped.append((page.name, line))
    ran = sum(1 for page in PAGES for _, lang, _, reason in extract_blocks(page.read_text())
              if lang == 'python' and reason is None)
    assert ran > len(skipped), (ran, skipped)


def test_extract_blocks_reads_markers_and_languages():
    text = 'x\n\n```python\na = 1\n```\n<!-- not run: needs S3 -->\n\n```python\nb = 2\n```\n```sh\nls\n```\n'
    assert extract_blocks(text) == [(4, 'python', 'a = 1\n', None), (9, 'python', 'b = 2\n', 'needs S3'),
                                    (12, 'sh', 'ls\n', None)]
