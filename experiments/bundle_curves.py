#!/usr/bin/env python
"""Curves of the bundle candidates (issue 13 §2, §3): `zoom_eval.py`'s figures every few kimg of each stage-2 run, one table, one plot.

    .venv/bin/python experiments/bundle_curves.py NAME=RUN [NAME=RUN ...] [--every 10] [--json F] [--md F] [--png F]
                                                  [--add NAME=ZOOM_EVAL_JSON ...] [--frozen NAME ...]

RUN is a stage-2 run folder (its checkpoints, its config.json). The checkpoints nearest each multiple of `--every`
kimg (within 1 kimg) and the newest one are evaluated with `zoom_eval.evaluate` (held-out scenes, SWD at 1x and 8x
with the real-vs-real floor, top octave of the 8x renders against real and Lanczos). Results already in `--json`
are kept, so running the command again after the runs have gone on evaluates only their new checkpoints; `--add`
reads earlier `zoom_eval.py --json` files (the same protocol) into a run's curve, and a `--frozen` run gets no new
evaluation (nor needs its folder, once `--json` holds it: runs of lost machines keep their rows). The first run is the baseline:
each other run's row says which options differ from it (from the configs), with the share of its patches that the
high-resolution set lets reach 6x or more (target sizes are drawn uniformly from base size to an image's short side),
and, for rows evaluated since it existed, `layout_follow.py`'s recall (does the 8x render keep its latent's layout).
The plot: 8x SWD and the top octave against kimg, and every checkpoint's two 8x figures against each other, with the box
where both targets are met.
"""
import argparse, json, sys
from pathlib import Path

import numpy as np
from PIL import Image

from anyres_nb.train import load_checkpoint, generator_from_checkpoint, list_checkpoints

sys.path.insert(0, str(Path(__file__).resolve().parent))
from controlled import log, save_json
from zoom_eval import evaluate, real_and_floor
from layout_follow import layout_follow, N_LATENTS

G_SHAPE = ('channel_max', 'num_layers')              # the network's shape (stage 2 runs its teacher's), from a checkpoint
G_SHAPE_BEFORE = dict(num_layers=6)                    # rows recorded before num_layers was: all had the demo preset's 6
KEYS = ('data_hr', 'batch', 'glr', 'dlr', 'gamma', 'scale_cond', 'scale_mapping_max', 'teacher_lambda',
        'base_probability', 'scale_min', 'scale_max')


def zoom_share(data_hr, p=32, zoom=6., draws=100_000, seed=0, scale_max=1.):
    "Share of stage-2 patches at >= `zoom` x the base size `p`: image uniform, target size uniform in [p / scale_max, short side]."
    files = sorted(Path(data_hr).glob('*.png'))
    if not files: return None
    n = np.array([min(Image.open(f).size) for f in files], float)
    rng = np.random.default_rng(seed)
    m = n[rng.integers(len(n), size=draws)]
    return float(np.mean(rng.uniform(p / scale_max, np.maximum(m, p / scale_max)) >= zoom * p))


def file_md5(path):
    import hashlib
    return hashlib.md5(Path(path).read_bytes()).hexdigest() if path and Path(path).is_file() else None


def describe(r, b):
    "What differs from the baseline run `b`: 'key value' pairs of the configs, the teacher by content, G's shape."
    cfg, base = r['config'], b['config']
    out = [f"teacher {cfg['teacher']}"] if r.get('teacher_md5') != b.get('teacher_md5') else []
    out += [f"{k} {cfg.get(k)}" for k in KEYS if cfg.get(k) != base.get(k)]
    shape = lambda x, k: x.get(f'g_{k}', G_SHAPE_BEFORE.get(k))
    out += [f"G {k} {shape(r, k)} (the teacher's)" for k in G_SHAPE if shape(r, k) != shape(b, k)]
    return ', '.join(out) or '(baseline)'


def due(paths, every, batch):
    "Checkpoints nearest each multiple of `every` kimg (within 1 kimg), and the newest: [(kimg, path)] (kimg from the step in the name)."
    ks = [(int(Path(p).stem.split('-')[-1]) * batch / 1000, p) for p in paths]
    pick = {ks[-1][1]} if ks else set()
    for m in np.arange(every, max((k for k, _ in ks), default=0) + 1, every):
        k, p = min(ks, key=lambda kp: abs(kp[0] - m))
        if abs(k - m) <= 1: pick.add(p)
    return [(k, p) for k, p in ks if p in pick]


def table(res):
    base = res['runs'][next(iter(res['runs']))]
    lines = ["| run | differs from the first | HR patches >= 6x | kimg | SWD 1x | SWD 8x | top octave vs real | vs Lanczos | 8x keeps the layout |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in res['runs'].items():
        share = f"{100 * r['zoom6_share']:.1f} %" if r.get('zoom6_share') is not None else ''
        for i, row in enumerate(sorted(r['rows'], key=lambda x: x['kimg'])):
            keeps = f"{100 * row['recall']:.0f} %" if 'recall' in row else ''
            lines.append(f"| {name if i == 0 else ''} | {describe(r, base) if i == 0 else ''} | {share if i == 0 else ''} | "
                         f"{row['kimg']:.0f} | {row['swd1']:.1f} | {row['swd8']:.1f} | {row['top_db_vs_real']:+.1f} dB | "
                         f"{row['top_db_vs_lanczos']:+.1f} dB | {keeps} |")
    f = res['floor']
    return (f"Floor (real vs real, same protocol): SWD 1x {f['swd1']:.1f}, 8x {f['swd8']:.1f}; targets <= {1.5 * f['swd1']:.1f} "
            f"and <= {1.5 * f['swd8']:.1f}; top octave within 3 dB of real, >= +6 dB above Lanczos.\n\n" + '\n'.join(lines) + '\n')


def plot(res, path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 3, figsize=(17, 4.2), dpi=80)
    for i, (name, r) in enumerate(res['runs'].items()):       # ten colours, then the next ten dashed: every run told apart
        rows = sorted(r['rows'], key=lambda x: x['kimg'])
        k = [x['kimg'] for x in rows]; style = dict(color=f'C{i % 10}', ls='-' if i < 10 else '--', marker='o', ms=3)
        axs[0].plot(k, [x['swd8'] for x in rows], label=name, **style)
        axs[1].plot(k, [x['top_db_vs_real'] for x in rows], **style)
        axs[2].scatter([x['swd8'] for x in rows], [x['top_db_vs_real'] for x in rows], s=14, color=style['color'],
                       marker='o' if i < 10 else 's')
    swd_target = 1.5 * res['floor']['swd8']
    axs[0].axhline(swd_target, color='k', ls='--', lw=1, label='target (1.5x floor)')
    axs[1].axhline(-3, color='k', ls='--', lw=1, label='target (-3 dB)')
    # both 8x targets at once: the shaded box (SWD at most the target, top octave within 3 dB)
    axs[2].axvline(swd_target, color='k', ls='--', lw=1); axs[2].axhline(-3, color='k', ls='--', lw=1)
    lo = min(x['swd8'] for r in res['runs'].values() for x in r['rows'])
    axs[2].fill_between([0, swd_target], -3, 3, color='g', alpha=.12, label='both targets')
    axs[2].set_xlim(min(lo, swd_target) - 8, None)
    axs[0].set(xlabel='stage-2 kimg', ylabel='SWD x1e3 at 8x (256 px)', title='realism at 8x')
    axs[1].set(xlabel='stage-2 kimg', ylabel='dB vs real scenes', title='top-octave power of the 8x renders')
    axs[2].set(xlabel='SWD x1e3 at 8x (lower is better)', ylabel='top octave, dB vs real (higher is better)',
               title='every checkpoint: both 8x figures at once')
    axs[2].legend(fontsize=8, loc='lower right')
    for ax in axs: ax.grid(alpha=.3)
    axs[1].legend(fontsize=8)
    fig.legend(*axs[0].get_legend_handles_labels(), loc='center right', fontsize=7)   # one legend for both, beside them
    fig.tight_layout(rect=(0, 0, 0.9, 1)); fig.savefig(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('runs', nargs='+', help='NAME=RUN_FOLDER')
    ap.add_argument('--every', type=float, default=10.)
    ap.add_argument('--add', nargs='*', default=[], help='NAME=zoom_eval.json: earlier evaluations of that run')
    ap.add_argument('--frozen', nargs='*', default=[], help='runs whose curve is only what --json and --add hold (no new evaluation)')
    ap.add_argument('--json', default='experiments/recipe/bundle_curves.json')
    ap.add_argument('--md', default='experiments/recipe/bundle_curves.md')
    ap.add_argument('--png', default='experiments/recipe/bundle_curves.png')
    ap.add_argument('--n1', type=int, default=256)
    ap.add_argument('--n8', type=int, default=64)
    a = ap.parse_args(argv)
    if a.n8 < N_LATENTS:
        ap.error(f'--n8 {a.n8}: the layout measure reuses the first {N_LATENTS} of the 8x renders; pass --n8 {N_LATENTS} or more')
    res = json.loads(Path(a.json).read_text()) if Path(a.json).exists() else dict(runs={})
    runs = dict(s.split('=', 1) for s in a.runs)
    for name, folder in runs.items():
        if name in a.frozen and name in res['runs']: continue   # its rows and config are in --json; its folder may be gone
        cfg = json.loads((Path(folder) / 'config.json').read_text())
        r = res['runs'].setdefault(name, dict(rows=[]))
        r.update(folder=str(folder), config=cfg, zoom6_share=zoom_share(cfg['data_hr'], cfg['res'], scale_max=cfg.get('scale_max') or 1.), teacher_md5=file_md5(cfg['teacher']))
        ck = list_checkpoints(folder)                # the network a checkpoint holds (older stage-2 configs said the preset's)
        if ck: G_kwargs = load_checkpoint(ck[-1])['G_kwargs']; r.update({f'g_{k}': G_kwargs[k] for k in G_SHAPE})
    for s in a.add:
        name, f = s.split('=', 1)
        for row in json.loads(Path(f).read_text())['rows']:
            if all(abs(x['kimg'] - row['kimg']) > 1e-6 for x in res['runs'][name]['rows']): res['runs'][name]['rows'].append(row)
    real = None
    for name, folder in runs.items():
        r = res['runs'][name]
        if name in a.frozen: continue
        for kimg, p in due(list_checkpoints(folder), a.every, r['config']['batch']):
            if any(abs(x['kimg'] - kimg) < 1e-6 for x in r['rows']): continue
            if real is None:
                real, floor = real_and_floor(a.n1, a.n8); res.update(floor=floor, n1=a.n1, n8=a.n8)
            try: G = generator_from_checkpoint(load_checkpoint(p)).eval()
            except FileNotFoundError: log(f'{p}: gone (a run in flight keeps only its newest checkpoints); skipped'); continue
            row, f8 = evaluate(G, real, a.n1, a.n8)                # f8: the 8x renders of latents(G, n8, seed 1)
            row['recall'], row['mse_ratio'] = layout_follow(G, renders8=f8)
            row.update(name=Path(p).stem, kimg=float(kimg), src=str(p)); r['rows'].append(row)
            log(f"{name} {kimg:.1f} kimg: SWD 1x {row['swd1']:.1f}, 8x {row['swd8']:.1f}, top octave {row['top_db_vs_real']:+.1f} dB "
                f"vs real, {row['top_db_vs_lanczos']:+.1f} dB vs Lanczos, 8x keeps the layout {100 * row['recall']:.0f} %; "
                f"8x by octave vs real {' '.join(f'{v:+.1f}' for v in row['octaves8_db_vs_real'])} dB")
            save_json(res, a.json)
        for row in r['rows']:                        # rows evaluated before the layout measure existed
            if 'recall' not in row and Path(row['src']).is_file():
                row['recall'], row['mse_ratio'] = layout_follow(generator_from_checkpoint(load_checkpoint(row['src'])).eval())
                save_json(res, a.json)
    if 'floor' not in res: res['floor'] = real_and_floor(a.n1, a.n8)[1]
    save_json(res, a.json)
    flags = ''.join(f' --{k} ' + ' '.join(v) for k, v in (('frozen', a.frozen), ('add', a.add)) if v) + f' --every {a.every:g}'
    Path(a.md).write_text("# Bundle candidates: stage-2 curves\n\nMade by `.venv/bin/python experiments/bundle_curves.py "
                          + ' '.join(f'{n}={Path(f)}' for n, f in runs.items()) + flags + "` (evaluation: `zoom_eval.py`'s protocol; rows "
                          "added from earlier `zoom_eval.py --json` files with `--add`; each row's checkpoint is its `src` in the "
                          "JSON beside this file).\n\n"
                          + table(res))
    plot(res, a.png)
    print(table(res))


if __name__ == '__main__':
    main()
