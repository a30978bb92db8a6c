#!/usr/bin/env python
"""Ship a trained run as the bundled model: write `anyres_nb/assets/demo.pt`, its quality report and the zoom GIF.

    .venv/bin/python experiments/bundle_report.py --stage1 S1 --stage2 S2 [--assets anyres_nb/assets] [--gif nbs/images/zoom.gif]

S1, S2: the stage-1 and stage-2 checkpoints (or run folders: their newest checkpoint). Writes
- ASSETS/demo.pt: S2's G_ema (`legacy.save_networks`, loads with `torch.load(weights_only=True)`), with the kimg of both stages;
- ASSETS/demo_quality.json: issue 13's measurements of that G_ema (`zoom_eval.py`'s protocol: SWD at 1x and 8x against
  held-out scenes with the real-vs-real floor, the top octave of the 8x renders against real and against Lanczos);
- the zoom GIF (1x to 8x towards a crest, rendered through patches at 128 px).
"""
import argparse, json, sys
from pathlib import Path

import torch

from anyres_nb.train import load_checkpoint, generator_from_checkpoint
from anyres_nb.legacy import save_networks
from anyres_nb.render import zoom_frames, save_gif, ws_from_seeds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from controlled import log, save_json
from zoom_eval import evaluate, real_and_floor


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--stage1', required=True)
    ap.add_argument('--stage2', required=True)
    ap.add_argument('--assets', default='anyres_nb/assets')
    ap.add_argument('--gif', default='nbs/images/zoom.gif')
    ap.add_argument('--seed', type=int, default=1, help='latent of the zoom GIF')
    ap.add_argument('--center', default='0.0,0.36', help="zoom centre x,y in [-1, 1] (the default: the snow-capped crest in the middle of the shipped model's seed-1 image)")
    ap.add_argument('--n1', type=int, default=256)
    ap.add_argument('--n8', type=int, default=64)
    a = ap.parse_args(argv)
    c1, c2 = load_checkpoint(a.stage1), load_checkpoint(a.stage2)
    G = generator_from_checkpoint(c2).eval()
    assets = Path(a.assets); assets.mkdir(parents=True, exist_ok=True)
    save_networks(assets / 'demo.pt', {'G_ema': G}, kimg=float(c2['kimg']), stage1_kimg=float(c1['kimg']))
    log(f"demo.pt: {(assets / 'demo.pt').stat().st_size / 1e6:.2f} MB; stage 1 {c1['kimg']:.1f} kimg, stage 2 {c2['kimg']:.1f} kimg")
    real, floor = real_and_floor(a.n1, a.n8)
    r, _ = evaluate(G, real, a.n1, a.n8)
    targets = dict(swd1=r['swd1'] <= 1.5 * floor['swd1'], swd8=r['swd8'] <= 1.5 * floor['swd8'],
                   top_octave_vs_real=abs(r['top_db_vs_real']) <= 3, top_octave_vs_lanczos=r['top_db_vs_lanczos'] >= 6)
    rep = dict(stage1_kimg=float(c1['kimg']), stage2_kimg=float(c2['kimg']), floor=floor, n1=a.n1, n8=a.n8, **r, targets_met=targets)
    save_json(rep, assets / 'demo_quality.json')
    log(f"SWD 1x {r['swd1']:.1f} (floor {floor['swd1']:.1f}, target <= {1.5 * floor['swd1']:.1f}); "
        f"8x {r['swd8']:.1f} (floor {floor['swd8']:.1f}, target <= {1.5 * floor['swd8']:.1f}); top octave "
        f"{r['top_db_vs_real']:+.1f} dB vs real (target within 3), {r['top_db_vs_lanczos']:+.1f} dB vs Lanczos (target >= +6)")
    log('targets met: ' + ', '.join(f'{k} {v}' for k, v in targets.items()))
    if a.gif:
        cx, cy = (float(v) for v in a.center.split(','))
        with torch.no_grad():
            frames = zoom_frames(G, ws_from_seeds(G, [a.seed]), center=(cx, cy), zoom_start=1, zoom_end=8, n_frames=16, size=128)
        Path(a.gif).parent.mkdir(parents=True, exist_ok=True)
        save_gif(list(frames) + [frames[-1]] * 4, a.gif, fps=6)          # hold the last frame
        log(f"{a.gif}: {Path(a.gif).stat().st_size / 1e3:.0f} kB")


if __name__ == '__main__':
    main()
