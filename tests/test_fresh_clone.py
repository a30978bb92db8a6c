"""A new user's clone has nothing beside it: the tests' reference fixtures travel with the repository."""
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ['public_coords.pt', 'public_discriminator.pt', 'public_generator.pt', 'public_network-snapshot.pkl']


def test_library_does_not_know_where_fixtures_live():
    hits = [p.name for p in (ROOT/'anyres_nb').glob('*.py') if 'fixture' in p.read_text().lower()]
    assert not hits, f"library modules mention the test fixtures: {hits}"


@pytest.mark.skipif(not (ROOT/'.git').exists() or shutil.which('git') is None, reason='not a git checkout')
def test_fixtures_resolve_in_a_clone_in_a_temporary_folder(tmp_path):
    clone = tmp_path/'clone'
    subprocess.run(['git', 'clone', '-q', str(ROOT), str(clone)], check=True)
    for name in FIXTURES: assert (clone/'tests'/'fixtures'/name).stat().st_size > 100_000, name
    # the notebook that introduces the fixtures runs there with nothing beside the clone
    env = {k: v for k, v in os.environ.items() if k != 'ANYRES_FIXTURES'}
    env['OMP_NUM_THREADS'] = '1'
    nbdev_test = Path(sys.executable).parent/'nbdev_test'
    r = subprocess.run([str(nbdev_test), '--path', 'nbs/00_coords.ipynb'], cwd=clone, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
