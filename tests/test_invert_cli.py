"""anyres_invert through the installed console script: a short projection writes its files; bad input gets one line and exit 2."""
import os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from cli_helpers import console_cmd

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS='1')


def invert_cmd(tmp): return console_cmd(tmp, 'anyres_invert')


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from anyres_nb.render import bundled_checkpoint
    from anyres_nb.data import render_scene
    ck = bundled_checkpoint()
    if ck is None: pytest.skip('no bundled checkpoint in anyres_nb/assets')
    d = tmp_path_factory.mktemp('inv')
    Image.fromarray(render_scene(1_000_001, (48, 64))).save(d/'scene.png')     # non-square, larger than native
    return d, ck


def test_good_input(setup):
    d, ck = setup
    out = d/'out'
    r = run(invert_cmd(d) + [str(d/'scene.png'), '--network', str(ck), '--size', '64', '--outdir', str(out), '--steps', '5', '--wplus', '--quiet'])
    assert r.returncode == 0, r.stderr
    for f in ('fit.png', 'target.png', 'latent.pt', 'render-64px.png', 'render-8x.png', 'lanczos-8x.png', 'compare.png', 'loss.png'):
        assert (out/f).is_file(), f
    lat = torch.load(out/'latent.pt', weights_only=True)
    assert lat['ws'].ndim == 3 and lat['ws'].shape[0] == 1 and lat['wplus'] is True and lat['steps'] == 5
    assert len(lat['losses']) == 5 and np.isfinite(lat['psnr'])
    with Image.open(out/'render-64px.png') as im: assert im.size == (64, 64)
    with Image.open(out/'render-8x.png') as im: assert im.size == (8*lat['img_resolution'],)*2
    # a second projection into the same folder is refused (one line, exit 2) and leaves the first one's files alone
    before = (out/'latent.pt').read_bytes()
    r = run(invert_cmd(d) + [str(d/'scene.png'), '--network', str(ck), '--size', '64', '--outdir', str(out), '--steps', '2', '--quiet'])
    assert r.returncode == 2 and '--overwrite' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert (out/'latent.pt').read_bytes() == before
    r = run(invert_cmd(d) + [str(d/'scene.png'), '--network', str(ck), '--size', '64', '--outdir', str(out), '--steps', '2',
                             '--starts', '2', '--overwrite', '--quiet'])
    assert r.returncode == 0, r.stderr
    assert torch.load(out/'latent.pt', weights_only=True)['steps'] == 2


@pytest.mark.parametrize('case, needle', [('missing', 'does not exist'), ('unreadable', 'cannot be read'),
                                          ('size', '--size'), ('steps', '--steps'), ('starts', '--starts'), ('network', 'neither')])
def test_bad_input(setup, case, needle):
    d, ck = setup
    (d/'notes.txt').write_text('not a network\n'); (d/'broken.png').write_bytes(b'\x89PNG not really')
    img, args = str(d/'scene.png'), ['--network', str(ck), '--outdir', str(d/'bad'), '--steps', '2', '--quiet']
    if case == 'missing': img = str(d/'missing.png')
    if case == 'unreadable': img = str(d/'broken.png')
    if case == 'size': args += ['--size', '0']
    if case == 'steps': args += ['--steps', '-3']
    if case == 'starts': args += ['--starts', '0']
    if case == 'network': args[1] = str(d/'notes.txt')
    r = run(invert_cmd(d) + [img] + args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('anyres_invert: error: ') and needle in lines[0], r.stderr
