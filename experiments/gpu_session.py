"""One prepared run for a borrowed CUDA machine: a smoke test, the GPU parity/speed check, then several stage-1/2
training runs side by side for a fixed wall time, packed into a few files to take back and resume on the CPU.

    python experiments/gpu_session.py --teacher T.pt --data DATA --out OUT [--minutes 6] [--arms a,b,...]

DATA holds `lr/` and `hr/` (`anyres_make_data`); T is a stage-1 checkpoint (the teacher of the stage-2 arms).
A tiny model leaves a big GPU idle between kernel launches, so the arms share it (one process each, two CPU
threads each). Writes to OUT: `logs.tar.gz` (each run's config, log.jsonl and console output; the check's JSON
and sample grid) and `runs-N.tar` (each run's last checkpoint, resumable with `anyres_train --resume`, and its
G_ema at up to `--snapshots` earlier checkpoints in float16, for SWD-versus-kimg curves).
Exit status 3 when the smoke test fails (nothing else is run)."""
import argparse, io, json, os, subprocess, sys, tarfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arms_gpu import write_tars          # (name, bytes) items into tars of at most 15.5 MB

ROOT = Path(__file__).resolve().parents[1]
LR2 = ['--glr', '0.005', '--dlr', '0.004']
ARMS = {   # name: (stage, extra arguments); stage 2 arms start from --teacher
    's2_base': ('patch', ['--batch', '16'] + LR2),
    's2_b32': ('patch', ['--batch', '32'] + LR2),
    's2_bp25': ('patch', ['--batch', '16', '--base_probability', '0.25'] + LR2),
    's2_tl1': ('patch', ['--batch', '16', '--teacher_lambda', '1'] + LR2),
    's2_fwd': ('patch', ['--batch', '16', '--teacher_mode', 'forward'] + LR2),
    's1_b32': ('global', ['--batch', '32'] + LR2),
}
TRAIN = "import sys; sys.argv[0] = 'anyres_train'; from anyres_nb.cli import anyres_train; anyres_train()"


def train_cmd(stage, outdir, a, extra, kimg, minutes, snap):
    cmd = [sys.executable, '-c', TRAIN, '--stage', stage, '--data', f'{a.data}/lr', '--outdir', str(outdir),
           '--preset', 'demo', '--device', a.device, '--kimg', str(kimg), '--snap', str(snap), '--keep', '0', '--quiet']
    if minutes: cmd += ['--max_minutes', str(minutes)]
    if stage == 'patch': cmd += ['--data_hr', f'{a.data}/hr', '--teacher', a.teacher]
    return cmd + extra


def env(threads):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1')
    e['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), e.get('PYTHONPATH')]))
    return e


def say(m): print(f"{time.strftime('%H:%M:%S')} {m}", flush=True)


def smoke(a, work):
    "A few stage-2 steps on the device: fails fast where the code cannot train there."
    for stage in ('patch',):
        r = subprocess.run(train_cmd(stage, work / f'smoke_{stage}', a, ['--batch', '8'], 0.05, None, 1),
                           env=env(2), capture_output=True, text=True, cwd=ROOT)
        if r.returncode:
            say(f'smoke test ({stage}) failed, exit {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}'); return False
    say('smoke test passed'); return True


def pack(a, work, names, out):
    import torch
    logs = tarfile.open(out / 'logs.tar.gz', 'w:gz')
    for f in sorted(work.glob('*.txt')) + sorted(work.glob('*.json')) + sorted(work.glob('*.png')): logs.add(f, f.name)
    items = []   # (archive name, bytes)
    for n in names:
        run = work / n
        for f in ('config.json', 'log.jsonl', 'loss.png'):
            if (run / f).exists(): logs.add(run / f, f'{n}/{f}')
        cks = sorted(run.glob('ckpt-*.pt'))
        if not cks: continue
        items.append((f'{n}/{cks[-1].name}', cks[-1].read_bytes()))
        pick = cks[::max(1, -(-len(cks) // a.snapshots))][:a.snapshots]
        snaps = {}
        for c in pick + [cks[-1]]:
            ck = torch.load(c, map_location='cpu', weights_only=False)
            snaps[float(ck['kimg'])] = {k: v.half() if v.is_floating_point() else v for k, v in ck['G_ema'].items()}
            G_kwargs = ck['G_kwargs']
        b = io.BytesIO(); torch.save(dict(G_kwargs=G_kwargs, G_ema=snaps), b)
        items.append((f'{n}/G_ema_snapshots.pt', b.getvalue()))
    logs.close()
    write_tars(items, out, 'runs')
    say('packed: ' + ', '.join(f'{p.name} {p.stat().st_size / 1e6:.1f} MB' for p in sorted(out.iterdir())))


def run_check(a, work):
    "tests/bench/cuda_check.py with a time limit, its output into the log."
    try:
        with open(work / 'cuda_check.txt', 'w') as f:
            subprocess.run([sys.executable, str(ROOT / 'tests/bench/cuda_check.py'), '--device', a.device, '--only', a.check,
                            '--json', str(work / 'cuda_check.json'), '--grid', str(work / 'bf16_vs_fp32.png')],
                           env=env(4), stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, timeout=a.check_minutes * 60)
    except subprocess.TimeoutExpired: say('cuda check: stopped at its time limit')
    say('cuda check:\n' + (work / 'cuda_check.txt').read_text()[-4000:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--teacher', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--work', default='/tmp/gpu_session')
    ap.add_argument('--minutes', type=float, default=6)
    ap.add_argument('--arms', default=','.join(ARMS))
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--snap', type=float, default=4)
    ap.add_argument('--snapshots', type=int, default=8)
    ap.add_argument('--check_minutes', type=float, default=2.5, help="the check's time limit")
    ap.add_argument('--check', default='parity,forward,steps,bf16', help="cuda_check.py's --only ('' to skip)")
    a = ap.parse_args()
    out, work = Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True); work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if not smoke(a, work): sys.exit(3)
    if a.check: run_check(a, work)
    names, procs = a.arms.split(','), []
    for n in names:
        stage, extra = ARMS[n]
        f = open(work / f'{n}.txt', 'w')
        procs.append((n, subprocess.Popen(train_cmd(stage, work / n, a, extra, 10000, a.minutes, a.snap), env=env(2),
                                          stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)))
    say(f'started {len(procs)} runs for {a.minutes} min each')
    t_end = time.time() + a.minutes * 60 + 90     # --max_minutes stops a run with a checkpoint; this is the backstop
    for n, p in procs:
        try: rc = p.wait(timeout=max(30, t_end - time.time()))
        except subprocess.TimeoutExpired: p.kill(); rc = p.wait(); say(f'{n}: killed after its time limit')
        recs = [json.loads(l) for l in open(work / n / 'log.jsonl') if l.strip()] if (work / n / 'log.jsonl').exists() else []
        last = recs[-1] if recs else {}
        say(f"{n}: exit {rc}, {last.get('kimg', 0):.1f} kimg, {last.get('kimg_h', 0):.0f} kimg/h at the end")
        if rc: say((work / f'{n}.txt').read_text()[-2000:])
    pack(a, work, names, out)
    say(f'done in {(time.time() - t0) / 60:.1f} min')


if __name__ == '__main__':
    main()
