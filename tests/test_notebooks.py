"""Notebook hygiene a new user meets first: every notebook opens in JupyterLab on the Python 3 kernel."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10, NOTEBOOKS


def test_every_notebook_has_the_python3_kernel():
    bad = []
    for f in NOTEBOOKS:
        md = json.loads(f.read_text())['metadata']
        if md.get('kernelspec', {}).get('name') != 'python3' or md.get('language_info', {}).get('name') != 'python':
            bad.append(f.name)
    assert not bad, f"notebooks without the python3 kernelspec (run 'make export'): {bad}"


def test_kernelspec_check_reports_a_notebook_without_it(tmp_path):
    "The fixer's --check really looks: a copy of the tree with one kernel-less notebook fails it."
    (tmp_path/'.ci').mkdir(); (tmp_path/'nbs').mkdir()
    (tmp_path/'.ci'/'kernelspec.py').write_text((ROOT/'.ci'/'kernelspec.py').read_text())
    nb = {'cells': [], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    (tmp_path/'nbs'/'x.ipynb').write_text(json.dumps(nb))
    run = lambda *a: subprocess.run([sys.executable, tmp_path/'.ci'/'kernelspec.py', *a], capture_output=True, text=True)
    r = run('--check'); assert r.returncode == 1 and 'x.ipynb' in r.stdout
    assert run().returncode == 0 and run('--check').returncode == 0
    assert json.loads((tmp_path/'nbs'/'x.ipynb').read_text())['metadata']['kernelspec']['name'] == 'python3'


def test_bundled_notebooks_target_lists_the_notebooks_that_show_the_bundled_model():
    "`make bundled-notebooks` (run after shipping a new demo.pt) executes exactly the notebooks whose code loads it."
    def loads_it(f):
        return any(c['cell_type'] == 'code' and 'demo_generator(' in ''.join(c['source']) for c in json.loads(f.read_text())['cells'])
    shows = sorted(f.stem for f in NOTEBOOKS if loads_it(f))
    line = next(l for l in (ROOT/'Makefile').read_text().splitlines() if l.startswith('BUNDLED_NBS'))
    assert len(shows) >= 3 and sorted(line.split('=', 1)[1].split()) == shows, (line, shows)
