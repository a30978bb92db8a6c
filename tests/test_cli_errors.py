"""Every user mistake through the installed console scripts: one line `PROG: error: MESSAGE`, exit status 2, no traceback.

The commands run concurrently (each spends most of its time importing torch) so the file stays well under a minute.
"""
import os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS='1')
ENV.pop('ANYRES_DEBUG', None)
MODULES = dict(anyres_make_data='data', anyres_train='train', anyres_render='render', anyres_eval='metrics',
               anyres_convert='legacy')
CUDA = torch.cuda.is_available()

# (id, command line with {T} = a scratch folder, {CK} = a training checkpoint, {NOTES} = a text file,
#  {LR}/{HR} = tiny image folders, {USED} = a folder holding a run; what the error line must contain; path that must not appear)
CASES = [
    ('render-text-ckpt', 'anyres_render {NOTES} --outdir {T}/r1', 'neither a checkpoint', '{T}/r1'),
    ('eval-text-ckpt', 'anyres_eval {NOTES} --data {LR} --json {T}/e1.json', 'neither a checkpoint', '{T}/e1.json'),
    ('convert-text', 'anyres_convert {NOTES} {T}/c1.pt', 'not a pickle file', '{T}/c1.pt'),
    ('train-text-teacher', 'anyres_train --stage patch --data {LR} --data_hr {HR} --teacher {NOTES} --outdir {T}/t1', '--teacher', '{T}/t1'),
    ('train-text-resume', 'anyres_train --resume {NOTES}', '--resume', None),
    ('render-which-D', 'anyres_render {CK} --which D --outdir {T}/r2', '--which must be one of G_ema, G, teacher', '{T}/r2'),
    ('render-cuda', 'anyres_render {CK} --device cuda --outdir {T}/r3', '--device cuda: CUDA is not available', '{T}/r3'),
    ('train-batch-0', 'anyres_train --data {LR} --outdir {T}/t3 --batch 0', '--batch must be a whole number >= 1', '{T}/t3'),
    ('train-used-outdir', 'anyres_train --data {LR} --outdir {USED}', 'is not empty', None),
    ('make-n_lr-neg', 'anyres_make_data {T}/m1 --n_lr -5', '--n_lr must be a whole number >= 0, got -5', '{T}/m1'),
    ('make-empty', 'anyres_make_data {T}/m2 --n_lr 0 --n_hr 0', 'nothing to write', '{T}/m2'),
    ('make-nonsquare', 'anyres_make_data {T}/m3 --nonsquare 2', '--nonsquare', '{T}/m3'),
    ('make-existing', 'anyres_make_data {DATA} --n_lr 2 --n_hr 0', '--overwrite', None),
    ('convert-own-pt', 'anyres_convert {CK} {T}/c2.pt', 'needs no conversion', '{T}/c2.pt'),
    ('render-size-0', 'anyres_render {CK} --size 0 --outdir {T}/r4', '--size must be >= 1', '{T}/r4'),
    ('render-center-out', 'anyres_render {CK} --center 5,5 --outdir {T}/r5', 'must be in -1..1', '{T}/r5'),
    ('eval-no-data', 'anyres_eval {CK}', '--data DIR is required', None),
]


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    "Tiny data, a text file, a training checkpoint (step 0, written in this process), a used run folder."
    from anyres_nb.data import make_synthetic_set
    from anyres_nb.train import prepare_config, Trainer
    t = tmp_path_factory.mktemp('cli_errors')
    make_synthetic_set(t / 'data', n_lr=8, n_hr=4, base=32, max_factor=3, workers=1, progress=False)
    (t / 'notes.txt').write_text('hello, I am not a network\n')
    threads = torch.get_num_threads(); torch.set_num_threads(1)          # as OMP_NUM_THREADS=1 in the commands
    try:                                                                 # a real checkpoint, written before any step
        cfg, _ = prepare_config(stage='global', data=str(t / 'data' / 'lr'), outdir=str(t / 'used'), preset='demo', batch=2)
        ck = str(Trainer(cfg, verbose=False).save())
    finally: torch.set_num_threads(threads)
    (t / 'scratch').mkdir()
    return dict(T=t / 'scratch', CK=ck, NOTES=t / 'notes.txt', LR=t / 'data' / 'lr', HR=t / 'data' / 'hr', USED=t / 'used',
                DATA=t / 'data')


def exe(name):
    "The installed console script, or (no install) a Python doing what it does with argv[0] set to its name."
    p = Path(sys.executable).with_name(name)
    if p.exists(): return [str(p)]
    return [sys.executable, '-c', f'import sys; sys.argv[0] = {name!r}; from anyres_nb.cli import {name}; {name}()']


def run(line, w, env=ENV):
    args = [a.format(**w) for a in line.split()]
    return args[0], subprocess.run(exe(args[0]) + args[1:], capture_output=True, text=True, env=env, timeout=300)


EXTRA = {'debug': ('anyres_render {CK} --size 0', dict(ANYRES_DEBUG='1')), 'help-eval': ('anyres_eval --help', {}),
         'help-render': ('anyres_render --help', {}), 'help-train': ('anyres_train --help', {})}


@pytest.fixture(scope='module')
def results(world):
    "Every command of this file, four at a time."
    jobs = [(c[0], c[1], ENV) for c in CASES if not (CUDA and 'cuda' in c[0])]
    jobs += [(k, line, dict(ENV, **env)) for k, (line, env) in EXTRA.items()]
    with ThreadPoolExecutor(4) as pool:
        return dict(zip([j[0] for j in jobs], pool.map(lambda j: run(j[1], world, j[2]), jobs)))


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_one_line_and_status_2(case, results, world):
    cid, line, needle, absent = case
    if CUDA and 'cuda' in cid: pytest.skip('this machine has CUDA')
    prog, r = results[cid]
    assert 'Traceback' not in r.stderr + r.stdout, r.stderr[-3000:]
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr                                   # one line, nothing else on stderr
    assert lines[0].startswith(f'{prog}: error: ') and lines[0].count(f'{prog}:') == 1, lines[0]
    assert needle in lines[0], lines[0]
    if absent: assert not Path(absent.format(**world)).exists(), 'refused, but only after writing'


def test_debug_shows_the_traceback(results):
    _, r = results['debug']
    assert r.returncode != 0 and 'Traceback' in r.stderr and '--size must be >= 1' in r.stderr


def test_trunc_is_spelled_alike(results):
    "anyres_render and anyres_eval both take --trunc; anyres_eval's older --psi still works but is not shown."
    _, r = results['help-eval']
    assert r.returncode == 0 and '--trunc' in r.stdout and '--psi' not in r.stdout, r.stdout
    _, r = results['help-render']
    assert r.returncode == 0 and '--trunc' in r.stdout and '--seeds' in r.stdout


def test_help_groups_defaults_required_examples(results):
    _, r = results['help-train']
    h = r.stdout
    assert r.returncode == 0, r.stderr
    for title in ('data:', 'model and training:', 'stage 2 (--stage patch)', 'panorama (--stage pano):', 'output:'): assert title in h, title
    assert 'default: t 32, r 32, demo 8' in h                           # the presets' resolved batch sizes
    assert 'required for a new run' in h and 'required for --stage patch' in h
    assert h.index('examples:') > h.index('output:') and 'anyres_train --resume' in h
    for k in ('help-eval', 'help-render'): assert 'examples:' in results[k][1].stdout, k
