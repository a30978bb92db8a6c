"""Parity and step speed on a CUDA GPU (issue 14's GPU check), in one run; prints one line per figure.

    python tests/bench/cuda_check.py [--steps 20] [--json FILE] [--bf16_steps 300] [--grid FILE]

1. parity on the GPU: the demo generator and discriminator, forward and backward, 'fast' ops against 'ref' ops
   (both on CUDA), and the GPU's 'fast' image against the CPU's 'ref' image of the same weights and latents;
2. the full-size StyleGAN3-T 256 px forward (batch 1 and 8), 'ref' against the default ops;
3. training steps at the demo preset (stage 1, stage 2 with the teacher), 'ref' against 'fast', float32 against
   `--precision bf16`, batch 8 and 32;
4. a short stage-1 run in float32 and in bf16 from the same seed: the loss curves (into --json) and sample grids.
Needs no data: makes a small synthetic set in a temporary folder. Exits with a message where CUDA is missing."""
import argparse, json, sys, tempfile, time
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def rel(a, b):
    "Largest absolute difference over the largest magnitude of `b`."
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30))


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def timeit(fn, dev, reps, warmup=2):
    for _ in range(warmup): fn()
    sync(dev); t0 = time.perf_counter()
    for _ in range(reps): fn()
    sync(dev); return (time.perf_counter() - t0) / reps


def parity(dev, say):
    "Forward and backward of the demo G and D: 'fast' against 'ref' on `dev`, TF32 off (CUDA's default TF32 convolutions differ at 1e-3)."
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try: return _parity(dev, say)
    finally: torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32


def _parity(dev, say):
    from anyres_nb import ops
    from anyres_nb.train import make_config
    from anyres_nb.generator import Generator
    from anyres_nb.discriminator import Discriminator
    cfg = make_config(preset='demo')
    torch.manual_seed(0)
    G, D = Generator(**cfg['G_kwargs']), Discriminator(**cfg['D_kwargs'])
    z = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), ops.use_impl('ref'): img_cpu = G(z, None)
    G, D = G.to(dev), D.to(dev)
    out = {}

    def fwd_bwd(impl):
        G.zero_grad(set_to_none=True); D.zero_grad(set_to_none=True)
        with ops.use_impl(impl):
            img = G(z.to(dev), None); logits = D(img, None)
            (logits.square().sum() + img.square().mean()).backward()
        return img.detach(), logits.detach(), [p.grad.detach().clone() for p in G.parameters() if p.grad is not None], \
            [p.grad.detach().clone() for p in D.parameters() if p.grad is not None]

    r, f = fwd_bwd('ref'), fwd_bwd('fast')
    out['G image fast vs ref (cuda)'] = rel(f[0], r[0])
    out['D logits fast vs ref (cuda)'] = rel(f[1], r[1])
    out['G grads fast vs ref (cuda, worst tensor)'] = max(rel(a, b) for a, b in zip(f[2], r[2]))
    out['D grads fast vs ref (cuda, worst tensor)'] = max(rel(a, b) for a, b in zip(f[3], r[3]))
    out['G image cuda fast vs cpu ref'] = rel(f[0].cpu(), img_cpu)
    for k, v in out.items(): say(f'parity  {k:44s} {v:.2e}')
    return out


def full_forward(dev, say, reps):
    from anyres_nb import ops
    from anyres_nb.generator import Generator
    from generator_speed import G256
    torch.manual_seed(0)
    G = Generator(**G256).eval().to(dev)
    out = {}
    for B in (1, 8):
        z = torch.randn(B, G.z_dim, device=dev)
        with torch.no_grad():
            t = {impl: timeit(lambda: G(z, None), dev, reps) for impl in ('ref', 'fast')}
            with ops.use_impl('ref'): a = G(z, None)
            b = G(z, None)
        out[f'batch {B}'] = dict(ref_s=t['ref'], fast_s=t['fast'], ratio=t['ref'] / t['fast'], rel_diff=rel(b, a))
        say(f"forward 256 px StyleGAN3-T batch {B}: ref {t['ref'] * 1e3:8.1f} ms, default {t['fast'] * 1e3:8.1f} ms, "
            f"x{t['ref'] / t['fast']:.2f}; image difference {rel(b, a):.1e}")
    return out


def train_steps(dev, say, steps, d):
    from anyres_nb.train import prepare_config, Trainer, _ops_context
    out = {}
    for B in (8, 32):
        common = dict(preset='demo', batch=B, device=str(dev), min_images=4)
        cfg1, _ = prepare_config(stage='global', data=str(d / 'data' / 'lr'), outdir=str(d / f's1_{B}'), **common)
        t1 = Trainer(cfg1, verbose=False)
        for _ in range(2): t1.train_step()
        ck = t1.save()
        cfg2, _ = prepare_config(stage='patch', data=str(d / 'data' / 'lr'), data_hr=str(d / 'data' / 'hr'), teacher=str(ck),
                                 outdir=str(d / f's2_{B}'), **common)
        for st, cfg in (('stage 1', cfg1), ('stage 2', cfg2)):
            for impl, prec in (('ref', 'fp32'), ('auto', 'fp32'), ('auto', 'bf16')):
                tr = Trainer(cfg, verbose=False)
                with _ops_context(impl, prec, dev, say=lambda m: None):
                    s = timeit(tr.train_step, dev, steps)
                key = f'{st} batch {B} {impl} {prec}'
                out[key] = s
                say(f'step    {key:32s} {s * 1e3:8.1f} ms  {B / s * 3.6:8.1f} kimg/h')
            say(f"step    {st} batch {B}: 'fast' x{out[f'{st} batch {B} ref fp32'] / out[f'{st} batch {B} auto fp32']:.2f} "
                f"over 'ref'; bf16 x{out[f'{st} batch {B} auto fp32'] / out[f'{st} batch {B} auto bf16']:.2f} over fp32")
    return out


def bf16_run(dev, say, steps, d, grid_path):
    "Stage 1 from one seed in float32 and in bf16: losses every step, and the two runs' sample grids."
    from anyres_nb.train import prepare_config, Trainer, image_grid, to_uint8
    from PIL import Image
    out, grids = {}, []
    for prec in ('fp32', 'bf16'):
        cfg, _ = prepare_config(stage='global', data=str(d / 'data' / 'lr'), outdir=str(d / f'run_{prec}'), preset='demo',
                                device=str(dev), min_images=4, precision=prec, seed=0, log_every=1)
        tr = Trainer(cfg, verbose=False)
        t0 = time.perf_counter()
        tr.fit(kimg=steps * cfg['batch'] / 1000, progress=False)
        recs = [json.loads(l) for l in open(d / f'run_{prec}' / 'log.jsonl') if l.strip()]
        out[prec] = dict(seconds=time.perf_counter() - t0, log=recs)
        with torch.no_grad():
            G = tr.G_ema
            img = G(tr.grid_z[:8].to(next(G.parameters()).device), None)
        grids.append(to_uint8(img.cpu()))
        say(f"bf16 run {prec}: {steps} steps in {out[prec]['seconds']:.1f} s; last record " +
            ', '.join(f'{k} {v:.3g}' for k, v in recs[-1].items() if isinstance(v, float)))
    if grid_path:
        import numpy as np
        Image.fromarray(image_grid(np.concatenate(grids), cols=8)).save(grid_path)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--bf16_steps', type=int, default=300)
    ap.add_argument('--json', default=None)
    ap.add_argument('--grid', default=None, help='PNG: the float32 run samples (top row) over the bf16 run samples')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--only', default='parity,forward,steps,bf16')
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == 'cuda' and not torch.cuda.is_available(): sys.exit('cuda_check: no CUDA GPU here; nothing to check')
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'
    res = dict(device=name, torch=torch.__version__)
    say = lambda m: print(m, flush=True)
    say(f'device {name}, torch {torch.__version__}')
    from anyres_nb.data import make_synthetic_set
    only = a.only.split(',')
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        make_synthetic_set(d / 'data', n_lr=64, n_hr=16, base=32, max_factor=8, workers=1, progress=False)
        for key, fn in (('parity', lambda: parity(dev, say)), ('forward', lambda: full_forward(dev, say, a.reps)),
                        ('steps', lambda: train_steps(dev, say, a.steps, d)),
                        ('bf16', lambda: bf16_run(dev, say, a.bf16_steps, d, a.grid))):
            if key not in only: continue
            try: res[key] = fn()
            except Exception as e:   # report and go on: one failed check must not hide the others
                import traceback; traceback.print_exc(); res[key] = f'failed: {type(e).__name__}: {e}'
            if a.json: Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
