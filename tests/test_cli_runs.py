"""Runs are never lost or mixed: one run per folder, pruning of the run's own checkpoints only, `--resume` in the
folder it is given, the newest checkpoint by the step inside, atomic writes that survive `kill -9`; and what a run
writes (loss curves beside the log, `last checkpoint:` on its own line, render names that carry the size)."""
import os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS='1')
ENV.pop('ANYRES_DEBUG', None)
TINY = ['--preset', 'demo', '--batch', '2', '--kimg', '0.004', '--snap', '0.002']      # 2 steps, a checkpoint at each


def exe(name):
    "The installed console script, or (no install) a Python doing what it does with argv[0] set to its name."
    p = Path(sys.executable).with_name(name)
    if p.exists(): return [str(p)]
    return [sys.executable, '-c', f'import sys; sys.argv[0] = {name!r}; from anyres_nb.cli import {name}; {name}()']


def run(name, *args, cwd=None, ok=True):
    r = subprocess.run(exe(name) + [str(a) for a in args], capture_output=True, text=True, env=ENV, timeout=600, cwd=cwd)
    if ok: assert r.returncode == 0, (r.returncode, r.stderr[-3000:])
    return r


def info(p):
    c = torch.load(p, weights_only=True, mmap=True)
    return c['run_id'], c['step']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from anyres_nb.data import make_synthetic_set
    d = tmp_path_factory.mktemp('data')
    make_synthetic_set(d, n_lr=8, n_hr=4, base=32, max_factor=3, workers=1, progress=False)
    return d


def test_a_used_folder_is_refused_and_overwrite_replaces_the_run(data, tmp_path):
    out = tmp_path / 'run'
    r = run('anyres_train', '--data', data / 'lr', '--outdir', out, *TINY)             # with its progress bar
    assert '%|' in r.stderr and '\r' not in r.stdout                                   # tqdm on stderr, results on stdout
    last = [l for l in r.stdout.splitlines() if l.startswith('last checkpoint: ')]
    assert last == [f'last checkpoint: {out / "ckpt-0000002.pt"}'], r.stdout
    assert (out / 'loss.png').stat().st_size > 0 and (out / 'log.jsonl').exists()       # loss curves beside the log
    first = {info(p)[0] for p in out.glob('ckpt-*.pt')}
    (out / 'notes.txt').write_text('not a run file')
    r = run('anyres_train', '--data', data / 'lr', '--outdir', out, *TINY, '--quiet', ok=False)
    assert r.returncode == 2 and 'is not empty' in r.stderr and '--overwrite' in r.stderr and 'Traceback' not in r.stderr
    run('anyres_train', '--data', data / 'lr', '--outdir', out, *TINY, '--quiet', '--overwrite', '--seed', '1')
    ids = {info(p)[0] for p in out.glob('ckpt-*.pt')}
    assert len(ids) == 1 and ids.isdisjoint(first)                                     # only the new run's checkpoints
    assert (out / 'notes.txt').exists()                                                # other files are left alone
    r = run('anyres_train', '--resume', out, '--outdir', out, '--overwrite', '--quiet', ok=False)
    assert r.returncode == 2 and 'pass only one' in r.stderr


def test_resume_continues_in_the_folder_it_is_given(data, tmp_path):
    "A relative --outdir recorded in the config is not reused: a copied run resumes in the copy, or in --outdir."
    run('anyres_train', '--data', data / 'lr', '--outdir', 'run', *TINY, '--quiet', cwd=tmp_path)
    shutil.copytree(tmp_path / 'run', tmp_path / 'copy')
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / 'run').rglob('*'))
    r = run('anyres_train', '--resume', 'copy', '--kimg', '0.006', '--quiet', cwd=tmp_path)
    assert f'last checkpoint: {Path("copy") / "ckpt-0000003.pt"}' in r.stdout, r.stdout
    assert info(tmp_path / 'copy' / 'ckpt-0000003.pt')[1] == 3
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / 'run').rglob('*')) == before   # untouched
    r = run('anyres_train', '--resume', tmp_path / 'copy' / 'ckpt-0000002.pt', '--outdir', tmp_path / 'elsewhere',
            '--kimg', '0.006', '--quiet')
    assert info(tmp_path / 'elsewhere' / 'ckpt-0000003.pt')[1] == 3
    # a folder holding another run's checkpoints is refused for a resume too
    r = run('anyres_train', '--data', data / 'lr', '--outdir', tmp_path / 'other', *TINY, '--quiet')
    r = run('anyres_train', '--resume', tmp_path / 'copy', '--outdir', tmp_path / 'other', '--kimg', '0.008', '--quiet', ok=False)
    assert r.returncode == 2 and 'another run' in r.stderr


def test_newest_checkpoint_is_the_highest_step_inside(data, tmp_path):
    "--teacher RUN, anyres_render RUN and load_generator(RUN) use the step recorded inside, whatever the file names say."
    from anyres_nb.render import load_generator, ws_from_seeds, render
    out = tmp_path / 'run'
    run('anyres_train', '--data', data / 'lr', '--outdir', out, *TINY, '--quiet')
    a, b = out / 'ckpt-0000001.pt', out / 'ckpt-0000002.pt'
    a.rename(out / 'tmp.pt'); b.rename(a); (out / 'tmp.pt').rename(out / 'ckpt-0000009.pt')   # names now lie
    assert (info(a)[1], info(out / 'ckpt-0000009.pt')[1]) == (2, 1)
    G = load_generator(out)
    sd = torch.load(a, weights_only=True)['G_ema']                                      # the file holding step 2
    assert all(torch.equal(v, sd[k]) for k, v in G.state_dict().items())
    want = render(G, ws_from_seeds(G, [0]), 32, dtype=torch.uint8)[0].permute(1, 2, 0).numpy()
    r = run('anyres_render', out, '--size', '32', '--seeds', '0', '--outdir', tmp_path / 'img', '--quiet')
    import numpy as np
    from PIL import Image
    assert (np.asarray(Image.open(tmp_path / 'img' / 'seed0000-32px.png')) == want).all()
    run('anyres_render', out, '--size', '64', '--seeds', '0', '--outdir', tmp_path / 'img', '--quiet')
    assert {p.name for p in (tmp_path / 'img').iterdir()} == {'seed0000-32px.png', 'seed0000-64px.png'}   # no overwrite
    r = run('anyres_train', '--stage', 'patch', '--data', data / 'lr', '--data_hr', data / 'hr', '--teacher', out,
            '--outdir', tmp_path / 'stage2', '--preset', 'demo', '--batch', '4', '--kimg', '0.004', '--quiet')
    import json
    assert json.loads((tmp_path / 'stage2' / 'config.json').read_text())['teacher'] == str(a)


def test_pruning_touches_only_the_runs_own_checkpoints(data, tmp_path):
    "--keep 1 in a folder where another run's checkpoint (with a higher step) sits: it survives, and so does ours."
    from anyres_nb.train import make_config, check_config, Trainer, list_checkpoints
    other = tmp_path / 'other'
    run('anyres_train', '--data', data / 'lr', '--outdir', other, *TINY, '--kimg', '0.006', '--quiet')   # steps up to 3
    out = tmp_path / 'run'; out.mkdir()
    shutil.copy(other / 'ckpt-0000003.pt', out / 'ckpt-0000003.pt')         # planted behind the checks' back
    cfg = check_config(make_config(stage='global', data=str(data / 'lr'), outdir=str(out), preset='demo', batch=2,
                                   kimg=0.004, snap=0.002, keep=1, grid=2))
    threads = torch.get_num_threads(); torch.set_num_threads(1)               # as OMP_NUM_THREADS=1 in the commands
    try: tr = Trainer(cfg, verbose=False); last = tr.fit(progress=False)
    finally: torch.set_num_threads(threads)
    names = sorted(p.name for p in out.glob('ckpt-*.pt'))
    assert names == ['ckpt-0000002.pt', 'ckpt-0000003.pt'], names              # ours (newest only) and theirs
    assert Path(last).exists() and info(last) == (tr.run_id, 2)
    assert info(out / 'ckpt-0000003.pt')[0] != tr.run_id
    assert [p.name for p in list_checkpoints(out, tr.run_id)] == ['ckpt-0000002.pt']
    assert list_checkpoints(out)[-1].name == 'ckpt-0000003.pt'                  # the folder's newest is theirs, by step


def test_kill_9_while_writing_a_checkpoint_then_resume(data, tmp_path):
    "SIGKILL while a checkpoint is being written leaves the earlier ones readable; --resume RUN continues from the newest."
    out = tmp_path / 'run'
    p = subprocess.Popen(exe('anyres_train') + ['--data', str(data / 'lr'), '--outdir', str(out), '--preset', 'demo',
                         '--batch', '2', '--kimg', '1', '--snap', '0.002', '--keep', '2', '--quiet'],
                         env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    caught, t0 = None, time.time()
    try:
        while time.time() - t0 < 240 and p.poll() is None:
            names = os.listdir(out) if out.is_dir() else []
            tmp = [n for n in names if n.startswith('.ckpt-') and '.tmp' in n]
            if tmp and any(n.startswith('ckpt-') for n in names):                 # a write under way, and one done before
                os.kill(p.pid, signal.SIGKILL); caught = tmp[0]; break
    finally:
        if p.poll() is None: os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert caught, f'never saw a checkpoint being written: {p.stderr.read()[-2000:]}'
    assert p.returncode == -signal.SIGKILL
    cks = sorted(out.glob('ckpt-*.pt'))
    steps = [info(c)[1] for c in cks]                                           # every finished checkpoint loads
    r = run('anyres_train', '--resume', out, '--kimg', f'{(max(steps) + 2) * 2 / 1000}')
    assert f'at step {max(steps)} ' in r.stdout, r.stdout
    assert info(out / f'ckpt-{max(steps) + 2:07d}.pt')[1] == max(steps) + 2
