#!/usr/bin/env python
"""Does the 8x render keep its latent's layout? The measurement that moved the default scale code back to 'fourier'.

    .venv/bin/python experiments/layout_follow.py [NAME=CKPT ...] [--n 48] [--json F] [--md F]

For each generator, `n` latents rendered at 1x (32 px) and at 8x (256 px, `metrics.fake_images`); each 8x render is
area-shrunk to 32 px and compared (luminance MSE) with every latent's 1x render. Reported: how often the 8x render is
closest to its own latent's 1x render ('recall', chance 1/n), and the mean MSE to its own 1x render over the mean MSE to
the others' ('MSE ratio', 1 when the 8x layout ignores the latent). SWD and the spectrum see only local statistics: a
model that draws the same 8x layout for every latent can score well on both (issue 13, session 9: the linear code did).

Default generators: issue 18's stage-2 arms (b = 'fourier', b-lin = 'linear', b-ref = 'reference'; 20 kimg, seeds 0-2,
`out/arms/seed*/`) and the bundle runs of issue 13 when they exist (`/work/runs/bundle/`).
"""
import argparse, sys
from pathlib import Path

import torch

from anyres_nb.metrics import fake_images, downsample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from controlled import log, save_json
from zoom_eval import generators


N_LATENTS = 48                                      # latents per generator, unless told otherwise


@torch.no_grad()
def layout_follow(G, n=N_LATENTS, seed=1, renders8=None):
    """(recall, mse_ratio) of the 8x renders against the 1x renders of the same `n` latents (see the module docstring).
    `renders8`: 8x renders already made by `fake_images(G, m, 256, seed=seed)` with m >= n (the first n are used; the
    first n latents of `metrics.latents(G, m, seed)` are those of `latents(G, n, seed)`), so they need not be rendered again."""
    if renders8 is not None and len(renders8) < n:
        raise ValueError(f"renders8: {len(renders8)} renders given for n={n} latents; pass at least n, or none to render them here")
    f1 = fake_images(G, n, 32, seed=seed).float()
    f8 = renders8[:n] if renders8 is not None else fake_images(G, n, 256, seed=seed, batch=4)
    f8 = downsample(f8.float(), 8, 'area')
    lum = lambda x: x.mean(1).flatten(1)
    D = torch.cdist(lum(f8), lum(f1)) ** 2 / 1024                      # [i, j]: 8x render of latent i vs 1x render of j
    own, other = D.diag().mean().item(), (D.sum() - D.diag().sum()).item() / (n * n - n)
    return float((D.argmin(1) == torch.arange(n)).float().mean()), own / other


def default_sources():
    out = {}
    for s in (0, 1, 2):
        for arm, folder in (('b', 'b'), ('b-lin', 'b_lin'), ('b-ref', 'b_ref')):
            p = Path(f'out/arms/seed{s}/{folder}')
            if p.is_dir(): out[f'{arm} seed {s}'] = str(p)
    B = Path('/work/runs/bundle')
    for name, p in (('bundle fourier (s2_tl1)', B / 's2_tl1'), ('bundle linear (s2_lin)', B / 's2_lin_keep'),
                    ('bundle linear, hr 6-8.5x (s2_hr8)', B / 's2_hr8'), ('bundle fourier, hr 6-8.5x (s2_hr8_four)', B / 's2_hr8_four')):
        if p.is_dir(): out[name] = str(p)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('sources', nargs='*', help='NAME=CHECKPOINT_OR_RUN (default: the arms and bundle runs)')
    ap.add_argument('--n', type=int, default=N_LATENTS)
    ap.add_argument('--json', default='experiments/recipe/layout_follow.json')
    ap.add_argument('--md', default='experiments/recipe/layout_follow.md')
    a = ap.parse_args(argv)
    src = dict(s.split('=', 1) for s in a.sources) if a.sources else default_sources()
    rows = []
    for name, path in src.items():
        for _, kimg, G in generators(path):
            recall, ratio = layout_follow(G.eval(), a.n)
            rows.append(dict(name=name, src=path, kimg=kimg, recall=recall, mse_ratio=ratio))
            log(f"{name} ({kimg:.0f} kimg): 8x finds its own 1x {100 * recall:.0f} %, MSE own/others {ratio:.2f}")
    save_json(dict(n=a.n, rows=rows), a.json)
    lines = [f"# Does the 8x render keep its latent's layout?\n\n`.venv/bin/python experiments/layout_follow.py` ({a.n} latents; "
             "recall: the 8x render, shrunk to 32 px, is closest to its own latent's 1x render; chance "
             f"{100 / a.n:.0f} %; MSE ratio: own / others, 1 = the layout ignores the latent).\n",
             "| generator | stage-2 kimg | recall | MSE own / others |", "|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['kimg']:.0f} | {100 * r['recall']:.0f} % | {r['mse_ratio']:.2f} |" for r in rows]
    Path(a.md).write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
