"""anyres_train end to end: the contract's command lines, argument checks, resume, and two processes under torchrun."""
import os, shutil, socket, subprocess, sys, textwrap
from pathlib import Path
import pytest
import torch
from cli_helpers import console_cmd

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "A tiny synthetic set: 8 low-res (32 px) and 4 high-res images."
    from anyres_nb.data import make_synthetic_set
    d = tmp_path_factory.mktemp('data')
    make_synthetic_set(d, n_lr=8, n_hr=4, base=32, max_factor=3, workers=1, progress=False)
    return d


def anyres_train_cmd(tmp): return console_cmd(tmp, 'anyres_train')          # the console script (anyres_nb.cli: it loads the panorama trainer)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600, **kw)
    return r


def test_contract_command_lines_and_resume(data, tmp_path):
    "The three invocations of the public contract, exactly as written (plus --quiet), then a resume."
    at = anyres_train_cmd(tmp_path)
    run1, run2 = tmp_path / 'run1', tmp_path / 'run2'
    r = run(at + ['--stage', 'global', '--data', str(data / 'lr'), '--outdir', str(run1), '--preset', 'demo', '--kimg', '0.016'])
    assert r.returncode == 0, r.stderr[-3000:]
    ck1 = sorted(run1.glob('ckpt-*.pt'))[-1]
    assert (run1 / 'config.json').exists() and (run1 / 'log.jsonl').exists()
    r = run(at + ['--stage', 'patch', '--data', str(data / 'lr'), '--data_hr', str(data / 'hr'), '--teacher', str(ck1),
                  '--outdir', str(run2), '--preset', 'demo', '--kimg', '0.016'])
    assert r.returncode == 0, r.stderr[-3000:]
    ck2 = sorted(run2.glob('ckpt-*.pt'))[-1]
    c = torch.load(ck2, weights_only=True)
    assert c['stage'] == 'patch' and c['step'] == 2 and c['teacher'] is not None
    r = run(at + ['--stage', 'patch', '--data', str(data / 'lr'), '--data_hr', str(data / 'hr'), '--teacher', str(ck1),
                  '--outdir', str(run2), '--preset', 'demo', '--kimg', '0.032', '--resume', str(ck2), '--quiet'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'resumed from' in r.stdout
    c3 = torch.load(sorted(run2.glob('ckpt-*.pt'))[-1], weights_only=True)
    assert c3['step'] == 4


@pytest.mark.parametrize('args, needle', [
    (['--stage', 'patch'], '--teacher'),
    (['--stage', 'global', '--data', '/nonexistent/images'], 'does not exist'),
    (['--stage', 'global', '--min_images', '1000'], 'lower --min_images'),
])
def test_bad_arguments_are_refused_before_training(data, tmp_path, args, needle):
    at = anyres_train_cmd(tmp_path)
    base = ['--data', str(data / 'lr'), '--outdir', str(tmp_path / 'run')]
    r = run(at + base + args)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert needle in r.stderr and 'Traceback' not in r.stderr
    assert not list((tmp_path / 'run').glob('ckpt-*.pt')) if (tmp_path / 'run').exists() else True


def test_ctrl_c_stops_with_a_checkpoint_and_resumes(data, tmp_path):
    "SIGINT (Ctrl-C) during a run: the step ends, a checkpoint is written, one line says how to continue, exit 130."
    import signal, time
    at, run_dir = anyres_train_cmd(tmp_path), tmp_path / 'run'
    p = subprocess.Popen(at + ['--data', str(data / 'lr'), '--outdir', str(run_dir), '--kimg', '10', '--snap', '10', '--quiet'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as from a terminal, even where this runs ignoring SIGINT
    started, t0 = run_dir / 'reals.png', time.time()                  # written when the training loop starts
    while not started.exists() and time.time() - t0 < 300 and p.poll() is None: time.sleep(0.2)
    time.sleep(1); p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert 'stopped by SIGINT' in err and f'anyres_train --resume {run_dir}' in err and 'Traceback' not in err, err[-2000:]
    ck = torch.load(sorted(run_dir.glob('ckpt-*.pt'))[-1], weights_only=True)
    assert ck['step'] >= 1                                               # the step in progress was finished and kept
    r = run(at + ['--resume', str(run_dir), '--kimg', str((ck['step'] + 1) * 8 / 1000), '--quiet'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert torch.load(sorted(run_dir.glob('ckpt-*.pt'))[-1], weights_only=True)['step'] == ck['step'] + 1


DDP_SCRIPT = textwrap.dedent('''
    import sys, torch
    from anyres_nb.train import train, prepare_config, Trainer
    from anyres_nb.runs import init_distributed
    import torch.distributed as dist
    data, outdir = sys.argv[1], sys.argv[2]
    tiny = dict(res=16, batch=4, kimg=0.012, snap=0.004, grid=2, min_images=4, log_every=1,
                G_kwargs=dict(z_dim=8, w_dim=8, mapping_kwargs=dict(num_layers=1), channel_base=128, channel_max=8,
                              num_layers=2, num_critical=1, margin_size=2),
                D_kwargs=dict(channel_base=64, channel_max=8, epilogue_kwargs=dict(mbstd_group_size=2)))
    rank, world, dev = init_distributed('cpu')
    cfg, _ = prepare_config(world_size=world, stage='global', data=data, outdir=outdir, device='cpu', **tiny)
    tr = Trainer(cfg, device=dev, rank=rank, world_size=world, verbose=False)
    tr.fit(progress=False)
    torch.save({'G': tr.G.state_dict(), 'D': tr.D.state_dict(), 'G_ema': tr.G_ema.state_dict(), 'step': tr.step,
                'world': world}, f'{outdir}/rank{rank}.pt')
    dist.destroy_process_group()
''')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_two_processes_stay_identical_and_resume_in_one(data, tmp_path):
    script = tmp_path / 'ddp_train.py'; script.write_text(DDP_SCRIPT)
    out = tmp_path / 'ddp'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={free_port()}', str(script), str(data / 'lr'), str(out)]
    r = run(cmd)
    assert r.returncode == 0, r.stderr[-4000:]
    a, b = torch.load(out / 'rank0.pt', weights_only=True), torch.load(out / 'rank1.pt', weights_only=True)
    assert a['world'] == 2 and a['step'] == b['step'] == 3
    for net in ('G', 'G_ema', 'D'):
        bad = [k for k in a[net] if not torch.equal(a[net][k], b[net][k])]
        assert not bad, f'{net} differs between ranks: {bad[:5]}'
    cks = sorted(out.glob('ckpt-*.pt'))
    assert cks and not list(out.glob('rank1*.pt.tmp*'))
    last = torch.load(cks[-1], weights_only=True)
    assert all(torch.equal(last['G'][k], a['G'][k]) for k in a['G'])      # rank 0 wrote what the ranks hold
    # the checkpoint resumes in a single process
    from anyres_nb.train import train
    path = train(resume=str(cks[-1]), kimg=0.02, progress=False)
    assert torch.load(path, weights_only=True)['step'] == 3 + 2           # batch 4 -> 5 steps for 0.02 kimg


def test_demo_quick(tmp_path):
    "The demo driver end to end in its smoke-test size, in a fresh process (as `anyres_demo --quick`)."
    script = tmp_path / 'anyres_demo.py'
    script.write_text('from anyres_nb.demo import anyres_demo\nanyres_demo()\n')
    out = tmp_path / 'demo'
    r = run([sys.executable, str(script), '--outdir', str(out), '--quick'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'renders in' in r.stdout
    names = {p.name for p in (out / 'renders').iterdir()}
    assert {'seed00-1x.png', 'seed00-8x.png', 'zoom.gif', 'seed00-stage1-vs-stage2-4x.png', 'zoom-vs-bundled.png'} <= names


def test_panorama_train_and_render(tmp_path):
    "360-degree panoramas from the command line: strips, a 2-step `--stage pano` run, full-turn PNGs whose ends meet."
    import numpy as np
    from PIL import Image
    from anyres_nb.panorama import wrap_seam
    strips, run_dir, out = tmp_path / 'strips', tmp_path / 'pano', tmp_path / 'render'
    r = run(console_cmd(tmp_path, 'anyres_make_data', 'data') + [str(strips), '--panorama', '8', '--quiet'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(list(strips.glob('*.png'))) == 8
    r = run(anyres_train_cmd(tmp_path) + ['--stage', 'pano', '--data', str(strips), '--outdir', str(run_dir), '--preset', 'demo',
                                          '--kimg', '0.008', '--batch', '4', '--quiet'])
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'frames of 90 degrees' in r.stdout, r.stdout[-2000:]
    c = torch.load(sorted(run_dir.glob('ckpt-*.pt'))[-1], weights_only=True)
    assert (c['stage'], c['step'], c['G_kwargs']['training_mode'], c['G_kwargs']['fov']) == ('pano', 2, 'global-360', 90.)
    ar = console_cmd(tmp_path, 'anyres_render', 'render')
    r = run(ar + [str(run_dir), '--panorama', '--seeds', '0,1', '--outdir', str(out), '--quiet'])
    assert r.returncode == 0, r.stderr[-3000:]
    imgs = np.stack([np.asarray(Image.open(out / f'seed{s:04d}-pano-32x128.png')) for s in (0, 1)])
    assert imgs.shape == (2, 32, 128, 3)                       # native height, a full turn of square pixels
    seam = wrap_seam(torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1)
    assert seam['ratio'] < 1.5, seam
    r = run(ar + [str(run_dir), '--panorama', '--center', '0.5,0.5', '--outdir', str(out), '--quiet'])
    assert r.returncode != 0 and '--yaw' in r.stderr, r.stderr[-2000:]
