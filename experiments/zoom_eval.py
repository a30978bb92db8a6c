#!/usr/bin/env python
"""Does a model show detail when zoomed? Issue 13's targets for any set of runs, at their last (or every) snapshot.

    .venv/bin/python experiments/zoom_eval.py RUN [RUN ...] [--all] [--json FILE] [--md FILE] [--png FILE]

A RUN is a run folder (its checkpoints), a checkpoint or network file, or a `G_ema_snapshots.pt` written by
`experiments/gpu_session.py` (G_ema at several kimg). For each generator, against held-out scenes rendered natively
(seeds disjoint from the training scenes):
- SWD x1e3 at 1x (32 px, `--n1` images, mean over the levels 32, 16) and at 8x (256 px rendered whole through the
  generator's Fourier grid, `--n8` images, mean over the levels 256 ... 16), each beside the real-vs-real floor of
  the same protocol (two disjoint held-out sets);
- the power over the top octave (0.25-0.5 cycles/px) of the 8x renders, in dB against the real scenes' and against
  a Lanczos upsampling of the same model's 1x render (detail that upsampling cannot invent);
- the same difference to the real scenes octave by octave (1/64 ... 1/2 cycles/px at 8x, 1/16 ... 1/2 at 1x), finest
  last, in the JSON (`octaves8_db_vs_real`, `octaves1_db_vs_real`) and the log: which scales of detail are missing.
Targets (issue 13): SWD within 1.5x the floor at 1x and 8x; top octave within 3 dB of real and >= 6 dB above Lanczos.
"""
import argparse, json, sys
from pathlib import Path

import numpy as np
import torch

from anyres_nb.generator import Generator
from anyres_nb.render import load_generator
from anyres_nb.train import list_checkpoints
from anyres_nb.metrics import fake_images, sliced_wasserstein, band_power_db, image_spectrum

sys.path.insert(0, str(Path(__file__).resolve().parent))
from controlled import EVAL_SEED0, log, save_json, heldout


def generators(src, every=False):
    "(label, kimg, G) for a run folder, checkpoint, network file or snapshot file: the last, or every one with `every`."
    src = Path(src)
    if src.name == 'G_ema_snapshots.pt':
        d = torch.load(src, map_location='cpu', weights_only=False)
        ks = sorted(d['G_ema']) if every else [max(d['G_ema'])]
        for k in ks:
            G = Generator(**d['G_kwargs']); G.load_state_dict({n: v.float() for n, v in d['G_ema'][k].items()})
            yield src.parent.name, float(k), G.eval()
        return
    label = src.name if src.is_dir() else src.stem
    for p in (list_checkpoints(src) if src.is_dir() and every else [src]):
        G = load_generator(p)             # a checkpoint, a run folder's newest, or a network file (legacy.save_networks), e.g. demo.pt
        yield label, float(G.kimg or 0), G


def real_and_floor(n1, n8):
    "Held-out scenes at 32 and 256 px (`n1`, `n8` of them), and the real-vs-real floor of the protocol against a disjoint set."
    real = {32: heldout(n1, [32], EVAL_SEED0)[32], 256: heldout(n8, [256], EVAL_SEED0)[256]}
    real2 = {32: heldout(n1, [32], EVAL_SEED0 + 100_000)[32], 256: heldout(n8, [256], EVAL_SEED0 + 100_000)[256]}
    return real, dict(swd1=float(np.mean(sliced_wasserstein(real[32], real2[32]))),
                      swd8=float(np.mean(sliced_wasserstein(real[256], real2[256]))),
                      top_db_real_vs_real=band_power_db(real2[256]) - band_power_db(real[256]))


@torch.no_grad()
def evaluate(G, real, n1, n8, seed=1):
    f1 = fake_images(G, n1, 32, seed=seed)
    f8 = fake_images(G, n8, 256, seed=seed, batch=4)
    up = fake_images(G, n8, 256, seed=seed, batch=4, upsample=True)
    s1, s8 = sliced_wasserstein(real[32], f1), sliced_wasserstein(real[256], f8)
    sf8, sr8 = image_spectrum(f8), image_spectrum(real[256])           # each spectrum once, for every band below
    t8, tu, tr = band_power_db(sf8), band_power_db(up), band_power_db(sr8)
    return dict(swd1=float(np.mean(s1)), swd8=float(np.mean(s8)), swd8_levels=[round(v, 2) for v in s8],
                top_db_vs_real=t8 - tr, top_db_vs_lanczos=t8 - tu,
                octaves8_db_vs_real=octave_profile(sf8, sr8, 256),
                octaves1_db_vs_real=octave_profile(image_spectrum(f1), image_spectrum(real[32]), 32)), f8


def octave_profile(fake, real, size):
    "Power of `fake` minus `real` (dB; `(freqs, power)` pairs of `size`-px images) in each octave from 1/64 (or the lowest above 1/size) to 0.5 cycles/px, finest last: where detail is missing."
    lo = [2.0 ** -k for k in range(6, 1, -1) if 2.0 ** -k >= 2 / size]
    return [round(band_power_db(fake, a, 2 * a) - band_power_db(real, a, 2 * a), 2) for a in lo]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('runs', nargs='+')
    ap.add_argument('--all', action='store_true', help='every snapshot, not only the last')
    ap.add_argument('--n1', type=int, default=256)
    ap.add_argument('--n8', type=int, default=64)
    ap.add_argument('--json', default=None)
    ap.add_argument('--png', default=None, help='the first 4 images of each model at 8x, one row per model')
    a = ap.parse_args(argv)
    real, floor = real_and_floor(a.n1, a.n8)
    log(f"floor: SWD 1x {floor['swd1']:.1f}, 8x {floor['swd8']:.1f}; targets <= {1.5 * floor['swd1']:.1f}, <= {1.5 * floor['swd8']:.1f}")
    rows, strips = [], []
    for src in a.runs:
        for name, kimg, G in generators(src, a.all):
            r, f8 = evaluate(G, real, a.n1, a.n8)
            r.update(name=name, kimg=kimg, src=str(src)); rows.append(r)
            strips.append(f8[:4])
            log(f"{name} {kimg:.1f} kimg: SWD 1x {r['swd1']:.1f} ({r['swd1'] / floor['swd1']:.2f}x floor), 8x {r['swd8']:.1f} "
                f"({r['swd8'] / floor['swd8']:.2f}x), top octave {r['top_db_vs_real']:+.1f} dB vs real, "
                f"{r['top_db_vs_lanczos']:+.1f} dB vs Lanczos; by octave, coarse to fine, vs real: 8x "
                f"{' '.join(f'{v:+.1f}' for v in r['octaves8_db_vs_real'])} dB, 1x {' '.join(f'{v:+.1f}' for v in r['octaves1_db_vs_real'])} dB")
    if a.json: save_json(dict(floor=floor, rows=rows, n1=a.n1, n8=a.n8), a.json)
    if a.png:
        from PIL import Image
        from anyres_nb.train import image_grid
        imgs = torch.cat(strips + [real[256][:4]]).permute(0, 2, 3, 1).numpy()
        Image.fromarray(image_grid(imgs, cols=4)).save(a.png)


if __name__ == '__main__':
    main()
