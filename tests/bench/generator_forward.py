"""Forward (and forward+backward) time of the Generator for a few sizes, per ops implementation.

Run: .venv/bin/python tests/bench/generator_forward.py [--impl ref] [--threads 2] [--device cpu]
Prints one line per configuration; figures depend on the machine and its load."""
import argparse, sys, time
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run from a source checkout without installing
from anyres_nb import ops
from anyres_nb.generator import Generator

CONFIGS = {  # name: (init kwargs, batch)
    'T-32px-c32 (fixture)': (dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3, channel_base=2048,
                                  channel_max=32, num_fp16_res=0, magnitude_ema_beta=0.9, training_mode='patch',
                                  scale_mapping_kwargs=dict(scale_mapping_norm='positive', scale_mapping_min=1,
                                                            scale_mapping_max=4)), 4),
    'T-64px-c64': (dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=64, img_channels=3, channel_base=4096,
                        channel_max=64, num_fp16_res=0, training_mode='global'), 4),
    'R-32px-c64': (dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3, channel_base=4096,
                        channel_max=64, conv_kernel=1, use_radial_filters=True, num_fp16_res=0,
                        training_mode='global'), 4),
}

def bench(fn, reps):
    fn(); t = time.perf_counter()
    for _ in range(reps): fn()
    return (time.perf_counter() - t) / reps

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--impl', default='ref', help=f"ops implementation ({', '.join(ops.available_impls())})")
    ap.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch default)')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    ops.set_impl(a.impl)
    for name, (kw, n) in CONFIGS.items():
        torch.manual_seed(0)
        G = Generator(**kw).to(a.device)
        z = torch.randn(n, kw['z_dim'], device=a.device)
        with torch.no_grad(): fwd = bench(lambda: G(z, None), a.reps)
        def fb():
            G.zero_grad(); G(z, None).square().mean().backward()
        print(f'{name:24s} batch {n}: forward {fwd*1e3:8.1f} ms   forward+backward {bench(fb, a.reps)*1e3:8.1f} ms  '
              f'[impl={a.impl}, device={a.device}, threads={torch.get_num_threads()}]')

if __name__ == '__main__':
    main()
