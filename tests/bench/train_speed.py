"""Training speed at the `demo` preset: stage-1 and stage-2 iterations per second and kimg per hour on this machine.

    .venv/bin/python tests/bench/train_speed.py [--steps 20] [--preset demo] [--batch N] [--ops auto|ref|fast]

Makes a small synthetic set in a temporary folder, times `--steps` training iterations of each stage after two
warm-up steps (snapshots and logging excluded), and prints one line per stage."""
import argparse, math, tempfile, time
from pathlib import Path
import torch


def time_steps(tr, steps, warmup=2):
    from anyres_nb.train import _ops_context
    with _ops_context(tr.cfg.get('ops', 'auto')):
        for _ in range(warmup): tr.train_step()
        t0 = time.perf_counter()
        for _ in range(steps): tr.train_step()
        return (time.perf_counter() - t0) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--preset', default='demo')
    ap.add_argument('--batch', type=int, default=None)
    ap.add_argument('--ops', default='auto')
    a = ap.parse_args()
    from anyres_nb.data import make_synthetic_set
    from anyres_nb.train import prepare_config, Trainer
    from anyres_nb import ops
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        make_synthetic_set(d / 'data', n_lr=16, n_hr=8, base=32, max_factor=8, workers=1, progress=False)
        common = dict(preset=a.preset, batch=a.batch, ops=a.ops, device='cpu', min_images=4)
        cfg1, _ = prepare_config(stage='global', data=str(d / 'data' / 'lr'), outdir=str(d / 's1'), **common)
        t1 = Trainer(cfg1, verbose=False)
        s1 = time_steps(t1, a.steps)
        ck = t1.save()
        cfg2, _ = prepare_config(stage='patch', data=str(d / 'data' / 'lr'), data_hr=str(d / 'data' / 'hr'), teacher=str(ck),
                                 outdir=str(d / 's2'), **common)
        t2 = Trainer(cfg2, verbose=False)
        s2 = time_steps(t2, a.steps)
        B = cfg1['batch']
        impl = a.ops if a.ops != 'auto' else ('fast' if 'fast' in ops.available_impls() else ops.get_impl())
        print(f"preset {a.preset}, {cfg1['res']} px, batch {B}, ops {impl!r}, torch threads {torch.get_num_threads()}, {a.steps} steps each")
        for name, s in (('stage 1 (global)', s1), ('stage 2 (patch + teacher)', s2)):
            print(f"{name:26s} {1 / s:6.2f} it/s   {B / s * 3.6:7.1f} kimg/h   ({s:.3f} s/it)")


if __name__ == '__main__':
    main()
