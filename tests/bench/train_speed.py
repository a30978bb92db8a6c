"""Training speed at the `demo` preset: stage-1 and stage-2 steps, 'ref' ops against the default ('fast') ops, in one run.

    .venv/bin/python tests/bench/train_speed.py [--steps 10] [--preset demo] [--batch N] [--ops ref,auto]

Makes a small synthetic set in a temporary folder, trains a few stage-1 steps, saves the checkpoint that stage 2
uses as its teacher, then times `--steps` iterations of each stage per ops implementation after two warm-up steps
(snapshots and logging excluded). Stage 2's step is also split: the teacher's forward, the warp of the teacher
loss (`patch_into_frame` / `frame_into_patch`, forward only: their backward is inside G's backward) and the
patch loader (`Trainer._real_batch`: the time the step waits for its batch, which is loaded on a background thread
during the step before), each timed where it is called; then stage 2 with that prefetching off and on. Prints one
line per stage and implementation, then the ratios."""
import argparse, statistics, tempfile, time
from pathlib import Path
import torch


class Timers:
    "Wraps callables so that the wall time spent inside them accumulates under a name."
    def __init__(self): self.t = {}
    def wrap(self, name, fn):
        def w(*a, **k):
            t0 = time.perf_counter()
            try: return fn(*a, **k)
            finally: self.t[name] = self.t.get(name, 0.) + time.perf_counter() - t0
        return w


def time_steps(tr, steps, impl, warmup=2, timers=None):
    from anyres_nb.train import _ops_context
    with _ops_context(impl):
        for _ in range(warmup): tr.train_step()
        if timers: timers.t.clear()
        t0 = time.perf_counter()
        for _ in range(steps): tr.train_step()
        return (time.perf_counter() - t0) / steps


def stage2_timers(tr):
    "Timers on the teacher forward, the teacher-loss warp and the patch loader of stage-2 trainer `tr`."
    import anyres_nb.losses as L
    tm = Timers()
    tr.teacher.forward = tm.wrap('teacher forward', tr.teacher.forward)
    for f in ('patch_into_frame', 'frame_into_patch'): setattr(L, f, tm.wrap('warp (teacher loss)', getattr(L, f)))
    tr._real_batch = tm.wrap('wait for the real batch', tr._real_batch)
    return tm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--preset', default='demo')
    ap.add_argument('--batch', type=int, default=None)
    ap.add_argument('--ops', default='ref,auto', help="comma-separated ops implementations to compare ('auto': the default)")
    a = ap.parse_args()
    import os
    from anyres_nb.data import make_synthetic_set
    from anyres_nb.train import prepare_config, Trainer
    from anyres_nb import ops
    impls = a.ops.split(',')
    print(f'load average at start: {" ".join(f"{v:.2f}" for v in os.getloadavg())}; torch threads {torch.get_num_threads()}')
    res = {}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        make_synthetic_set(d / 'data', n_lr=16, n_hr=8, base=32, max_factor=8, workers=1, progress=False)
        common = dict(preset=a.preset, batch=a.batch, device='cpu', min_images=4)
        cfg1, _ = prepare_config(stage='global', data=str(d / 'data' / 'lr'), outdir=str(d / 's1'), **common)
        t1 = Trainer(cfg1, verbose=False)
        for _ in range(2): t1.train_step()
        ck = t1.save()
        cfg2, _ = prepare_config(stage='patch', data=str(d / 'data' / 'lr'), data_hr=str(d / 'data' / 'hr'), teacher=str(ck),
                                 outdir=str(d / 's2'), **common)
        B = cfg1['batch']
        print(f"preset {a.preset}, {cfg1['res']} px, batch {B}, {a.steps} steps each")
        for impl in impls:
            name = ops.get_impl() if impl == 'auto' else impl
            s1 = time_steps(Trainer(cfg1, verbose=False), a.steps, impl)
            t2 = Trainer(cfg2, verbose=False); tm = stage2_timers(t2)
            s2 = time_steps(t2, a.steps, impl, timers=tm)
            res[impl] = (s1, s2)
            for st, s in (('stage 1 (global)', s1), ('stage 2 (patch + teacher)', s2)):
                print(f"ops {name!r:7s} {st:26s} {1 / s:6.2f} it/s   {B / s * 3.6:7.1f} kimg/h   ({s:.3f} s/it)", flush=True)
            print('    stage 2 parts per step: ' + ', '.join(f'{k} {v / a.steps * 1e3:.0f} ms' for k, v in tm.t.items()), flush=True)
        # the loader off the critical path: stage 2 (default ops) with prefetching off and on, alternating rounds
        pf, wait = {False: [], True: []}, {False: [], True: []}
        for _ in range(3):
            for on in (False, True):
                Trainer.prefetch = on
                t2 = Trainer(cfg2, verbose=False); tm = Timers(); t2._real_batch = tm.wrap('wait', t2._real_batch)
                pf[on].append(time_steps(t2, a.steps, 'auto', timers=tm)); wait[on].append(tm.t['wait'] / a.steps)
        Trainer.prefetch = True
        print(f"stage 2, default ops, the real batch loaded in the step / prefetched on a thread: {statistics.median(pf[False]):.3f} / "
              f"{statistics.median(pf[True]):.3f} s/it (medians of 3 rounds; the step waits {statistics.median(wait[False]) * 1e3:.1f} / "
              f"{statistics.median(wait[True]) * 1e3:.1f} ms for its batch)", flush=True)
    if 'ref' in res and len(res) > 1:
        other = [k for k in res if k != 'ref'][0]
        r1, r2 = res['ref'][0] / res[other][0], res['ref'][1] / res[other][1]
        print(f"speed-up of {other!r} over 'ref': stage 1 {r1:.2f}x, stage 2 {r2:.2f}x (target >= 3x: {'met' if r2 >= 3 else 'NOT met'})")
    print(f'load average at end: {" ".join(f"{v:.2f}" for v in os.getloadavg())}')


if __name__ == '__main__':
    main()
