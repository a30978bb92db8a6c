"""The experiment's stage-2 arms (and a+) on a borrowed CUDA machine: every (arm, training seed) run of
`experiments/arms.py` side by side, one process each, for a fixed wall time, packed into a few files to take back.

    python experiments/arms_gpu.py pack-inputs gpu_in/arms              # here: data + each seed's last stage-1 checkpoint
    python experiments/arms_gpu.py train --src gpu_in/arms --out $OUT --minutes 7   # there
    python experiments/arms_gpu.py unpack FILES_AT                       # here: the runs into out/arms, then `make experiment`

A run longer than one device command (10 minutes) is started detached (`setsid`) with `--out` in the machine's /tmp
by one command, and a second command, sent at once so that the machine stays warm, waits for `DONE` and copies
the files to $OUT.

Why a GPU at all: the demo-sized model leaves a GPU idle between kernel launches, so one run there is only about
three times one CPU thread, but twenty runs share it almost for free (one CPU core each). `arms.py --train_only
--device cuda --max_minutes M` trains one (arm, seed) and stops with a checkpoint at its kimg target or after M
minutes, whichever comes first. What comes back: each run's config, log and last checkpoint; a finished run's
checkpoint without the optimizer states (evaluation needs only the generators), an unfinished one whole, so
`make experiment` resumes it on the CPU and then evaluates everything. Nothing here changes the recipe: the same
presets, batch and seeds as on the CPU (the GPU's float arithmetic differs in the last bits, so a run is not bit
for bit the CPU's)."""
import argparse, io, json, os, shutil, subprocess, sys, tarfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'experiments'))


def say(m): print(f"{time.strftime('%H:%M:%S')} {m}", flush=True)


def last_ckpt(run):
    cks = sorted(Path(run).glob('ckpt-*.pt'))
    return cks[-1] if cks else None


def pack_inputs(a):
    "Copy the data set and each seed's finished stage-1 run (its last checkpoint only) into `a.dest` (to carry)."
    src, dest = Path(a.outdir), Path(a.dest)
    shutil.rmtree(dest, ignore_errors=True); dest.mkdir(parents=True)
    shutil.copytree(src / 'data', dest / 'data')
    for sd in sorted(src.glob('seed*')):
        ck = last_ckpt(sd / 'stage1')
        if ck is None: sys.exit(f'{sd}/stage1 has no checkpoint: train stage 1 first (arms.py --stage1_only)')
        (dest / sd.name / 'stage1').mkdir(parents=True)
        for f in [ck, sd / 'stage1' / 'config.json', sd / 'stage1' / 'log.jsonl']:
            if f.exists(): shutil.copy2(f, dest / sd.name / 'stage1' / f.name)
    size = sum(f.stat().st_size for f in dest.rglob('*') if f.is_file())
    say(f'{dest}: {size / 1e6:.1f} MB to carry')


def slim(path):
    "A finished run's checkpoint for evaluation (bytes): the generators only (no discriminator, teacher or optimizer states)."
    import torch
    ck = torch.load(path, map_location='cpu', weights_only=True)
    for k in ('G_opt', 'D_opt', 'D', 'teacher'): ck.pop(k, None)
    ck['slim'] = True
    b = io.BytesIO(); torch.save(ck, b); return b.getvalue()


def train(a):
    from arms import ARMS, FOLDER, parse_arms
    import torch
    src, work, out = Path(a.src).resolve(), Path(a.work), Path(a.out)
    shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True); out.mkdir(parents=True, exist_ok=True)
    os.symlink(src / 'data', work / 'data')
    here = ROOT / 'out' / 'arms' / 'data'      # the stage-1 configs name their data relative to the repo (out/arms/data/lr): a+ resumes with it
    if not here.exists(): here.parent.mkdir(parents=True, exist_ok=True); os.symlink(src / 'data', here)
    seeds = [int(s) for s in a.seeds.split(',')]
    for s in seeds: shutil.copytree(src / f'seed{s}' / 'stage1', work / f'seed{s}' / 'stage1')
    say(f"torch {torch.__version__}, cuda {torch.cuda.is_available()}, {os.cpu_count()} CPUs")
    jobs, t0 = [], time.time()
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1',
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')])))
    for arm in parse_arms(a.arms):
        for s in seeds:
            name = f'{FOLDER[arm]}_seed{s}'
            cmd = [sys.executable, str(ROOT / 'experiments/arms.py'), '--outdir', str(work), '--results', str(work / 'res' / name),
                   '--seeds', str(s), '--arms', arm, '--train_only', '--device', a.device, '--max_minutes', str(a.minutes),
                   '--kimg1', str(a.kimg1), '--kimg2', str(a.kimg2)]
            jobs.append((arm, s, name, subprocess.Popen(cmd, env=env, stdout=open(work / f'{name}.txt', 'w'),
                                                        stderr=subprocess.STDOUT, cwd=ROOT)))
    say(f'started {len(jobs)} runs, at most {a.minutes} min each')
    t_end = time.time() + a.minutes * 60 + 75
    items, finished, logs = [], [], tarfile.open(out / 'logs.tar.gz', 'w:gz')
    for arm, s, name, p in jobs:
        try: rc = p.wait(timeout=max(20, t_end - time.time()))
        except subprocess.TimeoutExpired: p.kill(); rc = p.wait(); say(f'{name}: killed at the time limit')
        run = work / f'seed{s}' / FOLDER[arm]
        logs.add(work / f'{name}.txt', f'{name}.txt')
        for f in ('config.json', 'log.jsonl'):
            if (run / f).exists(): logs.add(run / f, f'seed{s}/{FOLDER[arm]}/{f}')
        ck = last_ckpt(run)
        if ck is None: say(f'{name}: exit {rc}, no checkpoint\n' + (work / f'{name}.txt').read_text()[-1500:]); continue
        kimg = torch.load(ck, map_location='cpu', weights_only=True)['kimg']
        done = kimg >= (a.kimg1 + a.kimg2 if arm == 'a+' else a.kimg2) - 1e-9
        recs = [json.loads(l) for l in open(run / 'log.jsonl') if l.strip()]
        say(f"{name}: exit {rc}, {kimg:.2f} kimg ({'done' if done else 'unfinished'}), "
            f"{recs[-1].get('kimg_h', 0) if recs else 0:.0f} kimg/h at the end")
        if rc: say((work / f'{name}.txt').read_text()[-1500:])
        items.append((f'seed{s}/{FOLDER[arm]}/{ck.name}', slim(ck) if done else ck.read_bytes()))
        if done: finished.append((arm, s, name))
    logs.close()
    write_tars(items, out, 'runs')
    say('packed: ' + ', '.join(f'{p.name} {p.stat().st_size / 1e6:.1f} MB' for p in sorted(out.iterdir())))
    (out / 'TRAINED').write_text(f'{len(finished)} of {len(jobs)} runs finished\n')
    if a.eval_minutes > 0: evaluate_all(a, work, out, finished, env, t0)
    say(f'done in {(time.time() - t0) / 60:.1f} min')
    (out / 'DONE').write_text(f'{len(finished)} of {len(jobs)} runs finished\n')


def write_tars(items, out, stem):
    "`(name, bytes)` items into `stem-1.tar`, `stem-2.tar`, ... of at most 15.5 MB each."
    k, size, tf = 0, 0, None
    for nm, data in items:
        if tf is None or size + len(data) > 15.5e6:
            if tf: tf.close()
            k += 1; size = 0; tf = tarfile.open(out / f'{stem}-{k}.tar', 'w')
        ti = tarfile.TarInfo(nm); ti.size = len(data); tf.addfile(ti, io.BytesIO(data)); size += len(data)
    if tf: tf.close()


def evaluate_all(a, work, out, runs, env, t0):
    """The finished runs' evaluations, one process each on the GPU (`arms.py --eval_to`), after the held-out scenes
    are rendered once with every CPU; each evaluation comes back as `evals-N.tar` for `arms.py --eval_from`."""
    import torch
    from concurrent.futures import ProcessPoolExecutor
    from arms import SIZES
    from controlled import EVAL_SEED0, heldout
    t1 = time.time(); n = a.n_eval
    with ProcessPoolExecutor(os.cpu_count()) as ex:     # the same sets arms.py caches, rendered with every CPU
        sets = tuple(heldout(n, SIZES, EVAL_SEED0 + off, lambda f, xs: ex.map(f, xs, chunksize=4)) for off in (0, 100_000))
    torch.save(sets, work / f'heldout_n{n}.pt')
    say(f'held-out scenes rendered in {time.time() - t1:.0f} s; evaluating {len(runs)} runs')
    procs = []
    for arm, s, name in runs:
        cmd = [sys.executable, str(ROOT / 'experiments/arms.py'), '--outdir', str(work), '--results', str(work / 'res' / name),
               '--seeds', str(s), '--arms', arm, '--eval_to', str(work / 'evals'), '--eval_device', a.device,
               '--kimg1', str(a.kimg1), '--kimg2', str(a.kimg2), '--n_eval', str(n)]
        procs.append((name, subprocess.Popen(cmd, env=env, stdout=open(work / f'eval_{name}.txt', 'w'), stderr=subprocess.STDOUT, cwd=ROOT)))
    t_end = t0 + a.eval_minutes * 60
    for name, p in procs:
        try: p.wait(timeout=max(5, t_end - time.time()))
        except subprocess.TimeoutExpired: p.kill(); p.wait(); say(f'eval {name}: killed at the time limit')
    with tarfile.open(out / 'eval_logs.tar.gz', 'w:gz') as tf:
        for name, _ in procs: tf.add(work / f'eval_{name}.txt', f'eval_{name}.txt')
    files = sorted((work / 'evals').glob('*.pt')) if (work / 'evals').is_dir() else []
    write_tars([(f'evals/{f.name}', f.read_bytes()) for f in files], out, 'evals')
    say(f'{len(files)} of {len(runs)} evaluations packed in {time.time() - t1:.0f} s: ' +
        ', '.join(f'{p.name} {p.stat().st_size / 1e6:.1f} MB' for p in sorted(out.iterdir())))


def collect(a):
    "On the device, from a second command: wait for the detached run's TRAINED, copy its runs to `a.out`, then copy the evaluations written by `a.deadline` seconds."
    src, out, t0 = Path(a.src), Path(a.out), time.time()
    while not (src / 'TRAINED').exists():
        if time.time() - t0 > a.deadline: say('no TRAINED marker in time'); break
        time.sleep(3)
    for f in sorted(src.glob('runs-*.tar')) + sorted(src.glob('logs.tar.gz')): shutil.copy2(f, out / f.name)
    while not (src / 'DONE').exists() and time.time() - t0 < a.deadline: time.sleep(3)
    if (src / 'DONE').exists():
        for f in sorted(src.glob('evals-*.tar')) + sorted(src.glob('eval_logs.tar.gz')): shutil.copy2(f, out / f.name)
    else:                                            # still evaluating: take what is written
        files = sorted((Path(a.work) / 'evals').glob('*.pt')) if (Path(a.work) / 'evals').is_dir() else []
        write_tars([(f'evals/{f.name}', f.read_bytes()) for f in files], out, 'evals')
        say(f'deadline: {len(files)} evaluations written so far')
    say('collected: ' + ', '.join(f'{p.name} {p.stat().st_size / 1e6:.1f} MB' for p in sorted(out.iterdir())))


def unpack(a):
    "Extract the runs (and logs) into `a.outdir` (out/arms), beside the stage-1 runs; a later `make experiment` evaluates."
    src, dest = Path(a.files), Path(a.outdir)
    for t in sorted(src.glob('runs-*.tar')) + sorted(src.glob('evals-*.tar')) + sorted(src.glob('*logs.tar.gz')):
        with tarfile.open(t) as tf:
            for m in tf.getmembers():
                if m.name.endswith('.txt'): m.name = f'logs/gpu_{m.name}'
                tf.extract(m, dest, filter='data')
        say(f'unpacked {t.name}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('pack-inputs'); p.add_argument('dest'); p.add_argument('--outdir', default='out/arms')
    p = sub.add_parser('train')
    p.add_argument('--src', required=True); p.add_argument('--out', required=True); p.add_argument('--work', default='/tmp/arms_gpu')
    p.add_argument('--minutes', type=float, default=7.); p.add_argument('--seeds', default='0,1,2')
    p.add_argument('--arms', default="a+,b,b-ref,c',c,d,e"); p.add_argument('--device', default='cuda')
    p.add_argument('--kimg1', type=float, default=40.); p.add_argument('--kimg2', type=float, default=20.)
    p.add_argument('--eval_minutes', type=float, default=0., help='evaluate the finished runs there until this many minutes after the start (0: no)')
    p.add_argument('--n_eval', type=int, default=128)
    p = sub.add_parser('collect'); p.add_argument('--src', required=True); p.add_argument('--out', required=True)
    p.add_argument('--work', default='/tmp/arms_gpu'); p.add_argument('--deadline', type=float, default=540, help='seconds')
    p = sub.add_parser('unpack'); p.add_argument('files'); p.add_argument('--outdir', default='out/arms')
    a = ap.parse_args()
    dict(**{'pack-inputs': pack_inputs, 'train': train, 'collect': collect, 'unpack': unpack})[a.cmd](a)


if __name__ == '__main__':
    main()
