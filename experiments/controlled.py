#!/usr/bin/env python
"""The controlled experiment of issue #7: what does continuous-scale training buy, on data whose truth exists at every size?

    .venv/bin/python experiments/controlled.py                 # the committed run (about 1 hour on 2 cores)
    .venv/bin/python experiments/controlled.py --quick         # a smoke test of the whole path (a few minutes)
    make experiment                                            # the same as the first line

Data: the synthetic scene family of `07_data` (`make_synthetic_set`: 1000 scenes at the 32 px base size and 160 others
at native 64..256 px). Held out: `--n_eval` further scenes rendered natively at 1x, 2x and 4x the base size (32, 64,
128 px), seeds disjoint from the training scenes.

Models, all with the `demo` preset:
  (a) stage 1 only (`--stage global`, `--kimg1` kimg), its base-size image Lanczos-upsampled to each size;
  (b) stage 2, continuous scales (`--stage patch` from (a), teacher loss on), `--kimg2` kimg;
  (c) stage 2 with the discrete scales {1, 1/2, 1/4} only (`--scales 1,0.5,0.25`), `--kimg2` kimg;
  (d) stage 2 without the teacher loss (`--teacher_lambda 0`), `--kimg2` kimg.
(b), (c) and (d) start from the same stage-1 checkpoint and see the same number of images (same steps, same batch).
Stage 2 uses `anyres_train`'s default scale code, `'fourier'` (issue 13). The committed `results.json` was made
before the scale codes existed, with the reference's constant scale branch (`'reference'`) and the preset's
`base_probability` then 0.5 (now 0.25); a rerun measures the defaults (`--reeval` only re-evaluates the stored checkpoints).

Evaluated per model, at 32, 64 and 128 px against the held-out scenes at the same size: SWD per Laplacian level (x1e3,
finest level first), the log-spectral distance over the upper half of the frequencies (dB), and scale consistency (the
2x and 4x renderings Lanczos-shrunk back, PSNR against the 1x rendering), each averaged over `--eval_seeds` (each seed
its own held-out scenes and latents; `by_seed` keeps them apart), and, as a noise floor, the same distances between two
disjoint held-out sets. Also written: radially averaged spectra at
128 px, and crops of the 4x renderings (`crops_4x.png`).

Everything is written under `--outdir` (data, runs, checkpoints); the small results (`results.json`, `crops_4x.png`)
also to `--results`, which is committed. Re-running the command continues: finished stages are not retrained
(each stage resumes from its last checkpoint), evaluations already in `results.json` are kept unless `--reeval`.
"""
import argparse, json, os, sys, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from anyres_nb import ops
from anyres_nb.data import make_synthetic_set, render_scene
from anyres_nb.train import train, load_checkpoint, generator_from_checkpoint, list_checkpoints
from anyres_nb.metrics import (latents, map_latents, fake_images, sliced_wasserstein, spectral_distance,
                               image_spectrum, scale_consistency, pyramid_resolutions)

MODELS = {
    'a': 'stage 1 only, Lanczos-upsampled',
    'b': 'stage 2, continuous scales (the method)',
    'c': 'stage 2, discrete scales {1, 1/2, 1/4}',
    'd': 'stage 2, no teacher loss',
}
EVAL_SEED0 = 3 * 2**24          # held-out scene seeds: make_synthetic_set(seed=0) uses 0 .. 1159


def log(*a):
    print(time.strftime('%H:%M:%S'), *a, flush=True)


def save_json(obj, path):
    "Write JSON atomically (temp file + rename), so an interrupted run never leaves a broken results file."
    path = Path(path); tmp = path.with_suffix('.tmp')
    tmp.write_text(json.dumps(obj, indent=1)); os.replace(tmp, path)


def run_stage(outdir, **opts):
    "Train one stage to its kimg target, continuing from the run folder's last checkpoint if there is one; returns (ckpt path, seconds)."
    outdir = Path(outdir); t0 = time.time()
    if list_checkpoints(outdir) if outdir.is_dir() else []:
        ck = load_checkpoint(outdir)
        if ck['kimg'] >= opts['kimg'] - 1e-9:
            log(f"{outdir.name}: already at {ck['kimg']:.2f} kimg, not retrained"); return ck['path'], 0.
        log(f"{outdir.name}: resuming at {ck['kimg']:.2f} kimg")
        path = train(resume=str(outdir), progress=False, kimg=opts['kimg'], **{k: opts[k] for k in ('device', 'max_minutes') if k in opts})
    else:  # a folder without a checkpoint (a run stopped before its first snapshot) holds nothing to keep: start it again
        path = train(outdir=str(outdir), progress=False, overwrite=outdir.is_dir(), **opts)
    return str(path), time.time() - t0


def _scene(job): return render_scene(*job)


def heldout(n, sizes, seed0=EVAL_SEED0, map_fn=map):
    "Held-out scenes rendered natively at each size: {size: uint8 NCHW}. `map_fn`: e.g. a process pool's `map`, to render in parallel."
    return {s: torch.from_numpy(np.stack(list(map_fn(_scene, [(seed0 + j, s) for j in range(n)])))).permute(0, 3, 1, 2).contiguous()
            for s in sizes}


def render_fakes(G, n, sizes, upsample, seed=0):
    "`n` generated images per size (uint8 NCHW), the same latents at every size (`metrics.fake_images`)."
    p = G.img_resolution
    return {s: fake_images(G, n, s, seed, batch=max(1, 16 * p * p // (s * s)), upsample=upsample) for s in sizes}


@torch.no_grad()
def evaluate_model(G, real, sizes, upsample, n_cons, seed=0):
    "The table's entries for one generator: SWD per level, spectral distance and spectra per size, consistency."
    p = G.img_resolution
    out = dict(swd={}, spectral_distance={}, spectrum={})
    fakes = render_fakes(G, len(real[sizes[0]]), sizes, upsample, seed)
    for s in sizes:
        fake = fakes[s]
        out['swd'][str(s)] = dict(zip([str(r) for r in pyramid_resolutions(s)], sliced_wasserstein(real[s], fake, seed=seed)))
        out['spectral_distance'][str(s)] = spectral_distance(real[s], fake)
        f, pw = image_spectrum(fake); out['spectrum'][str(s)] = [f.tolist(), pw.tolist()]
    ks = [s // p for s in sizes if s > p]
    wc = map_latents(G, latents(G, n_cons, seed))       # the first n_cons of the latents rendered above
    out['consistency'] = {str(k): v for k, v in scale_consistency(G, wc, ks, batch=4, upsample=upsample).items()}
    return out, fakes


def mean_results(rs):
    "Average the numbers of several `evaluate_model` results (same keys), leaf by leaf; spectra from the first."
    def avg(vs):
        if isinstance(vs[0], dict): return {k: avg([v[k] for v in vs]) for k in vs[0]}
        return float(np.mean(vs))
    out = {k: avg([r[k] for r in rs]) for k in rs[0] if k not in ('spectrum', 'fake_stats')}
    out['spectrum'] = rs[0]['spectrum']
    return out


def crops_figure(fakes, real, path, n=4, size=128, crop=64):
    "One row per model plus the held-out truth: the centre `crop` px of the first `n` 4x renderings, side by side."
    rows = []
    for name in list(fakes) + ['real']:
        imgs = (real if name == 'real' else fakes[name])[size][:n]
        o = (size - crop) // 2
        rows.append(np.concatenate([im.permute(1, 2, 0).numpy()[o:o + crop, o:o + crop] for im in imgs], 1))
    pad = 2
    H, W = crop, rows[0].shape[1]
    canvas = np.full((len(rows) * (H + pad) - pad, W, 3), 255, np.uint8)
    for i, r in enumerate(rows): canvas[i * (H + pad): i * (H + pad) + H] = r
    Image.fromarray(canvas).save(path)
    return list(fakes) + ['real']


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index('Data:'):])
    ap.add_argument('--outdir', default='out/controlled', help='data, runs and checkpoints (not committed)')
    ap.add_argument('--results', default='experiments/controlled', help='results.json and crops_4x.png (committed)')
    ap.add_argument('--kimg1', type=float, default=14., help='stage 1 length (thousand images)')
    ap.add_argument('--kimg2', type=float, default=5., help='stage 2 length of each of (b), (c), (d)')
    ap.add_argument('--n_eval', type=int, default=128, help='held-out scenes (and generated images) per size')
    ap.add_argument('--n_cons', type=int, default=16, help='latents for scale consistency')
    ap.add_argument('--seed', type=int, default=0, help='training seed (data, initialisation, batches)')
    ap.add_argument('--models', default='abcd', help='which models to train and evaluate')
    ap.add_argument('--eval_seeds', default='0,1', help='evaluation seeds (held-out scenes and latents); the table averages them')
    ap.add_argument('--reeval', action='store_true', help='evaluate again even if results.json has the model')
    ap.add_argument('--quick', action='store_true', help='tiny sizes everywhere: a smoke test of the whole path')
    a = ap.parse_args(argv)
    if a.quick: a.kimg1, a.kimg2, a.n_eval, a.n_cons = 0.064, 0.032, 16, 4
    out, res_dir = Path(a.outdir), Path(a.results)
    out.mkdir(parents=True, exist_ok=True); res_dir.mkdir(parents=True, exist_ok=True)
    res_path = res_dir / 'results.json'
    results = json.loads(res_path.read_text()) if res_path.is_file() else {}
    if results.get('settings', {}).get('quick', a.quick) != a.quick:
        sys.exit(f"{res_path} holds a {'quick' if results['settings']['quick'] else 'full'} run; "
                 f"pass another --results folder or delete it")
    ops.set_impl('fast')
    t_start = time.time()
    results['settings'] = dict(kimg1=a.kimg1, kimg2=a.kimg2, n_eval=a.n_eval, n_cons=a.n_cons, seed=a.seed, quick=a.quick,
                               eval_seeds=a.eval_seeds,
                               preset='demo', batch='preset', sizes=[32, 64, 128], models=MODELS,
                               torch_threads=torch.get_num_threads(), cpus=os.cpu_count(),
                               command=' '.join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])))
    results.setdefault('timings_s', {})

    data = out / 'data'
    if not (data / 'manifest.json').is_file():
        log('making the synthetic data set'); t0 = time.time()
        make_synthetic_set(data, n_lr=200 if a.quick else 1000, n_hr=32 if a.quick else 160, seed=a.seed,
                           overwrite=True, progress=False)
        results['timings_s']['data'] = round(time.time() - t0, 1)
    common = dict(preset='demo', seed=a.seed, data=str(data / 'lr'), snap=max(a.kimg1 / 4, 0.016), keep=2)

    log(f'(a) stage 1: {a.kimg1} kimg')
    ck1, sec = run_stage(out / 'a_stage1', stage='global', kimg=a.kimg1, **common)
    T = results['timings_s']            # seconds spent on each part, summed over invocations (a resumed run adds)
    if sec: T['a'] = round(T.get('a', 0.) + sec, 1)
    cks = {'a': ck1}
    stage2 = dict(b={}, c=dict(scales='1,0.5,0.25'), d=dict(teacher_lambda=0.))
    for m in a.models:
        if m == 'a': continue
        log(f'({m}) {MODELS[m]}: {a.kimg2} kimg')
        cks[m], sec = run_stage(out / f'{m}_stage2', stage='patch', data_hr=str(data / 'hr'), teacher=ck1, kimg=a.kimg2,
                                **{**common, 'snap': max(a.kimg2 / 2, 0.016)}, **stage2[m])
        if sec: T[m] = round(T.get(m, 0.) + sec, 1)
        save_json(results, res_path)

    sizes = [32, 64, 128]
    eval_seeds = [int(v) for v in str(a.eval_seeds).split(',') if v.strip()]
    reals = {e: heldout(a.n_eval, sizes, EVAL_SEED0 + 100_000 * e) for e in eval_seeds}
    real = reals[eval_seeds[0]]
    results['real_spectrum'] = {str(s): [v.tolist() for v in image_spectrum(real[s])] for s in sizes}
    if len(eval_seeds) > 1:          # the noise floor: two disjoint held-out sets of the same distribution
        r0, r1 = reals[eval_seeds[0]], reals[eval_seeds[1]]
        results['real_vs_real'] = dict(
            swd={str(s): dict(zip([str(r) for r in pyramid_resolutions(s)], sliced_wasserstein(r0[s], r1[s], seed=a.seed)))
                 for s in sizes},
            spectral_distance={str(s): spectral_distance(r0[s], r1[s]) for s in sizes})
    results.setdefault('models', {})
    fakes = {}
    for m in a.models:
        G = generator_from_checkpoint(cks[m])
        t0 = time.time()
        if m in results['models'] and not a.reeval:
            fakes[m] = render_fakes(G, a.n_eval, sizes, m == 'a', eval_seeds[0])      # for the crops only
            log(f'({m}) kept the evaluation already in {res_path}'); continue
        by_seed = {}
        for e in eval_seeds:           # held-out scenes and latents both change with the evaluation seed
            r, f = evaluate_model(G, reals[e], sizes, upsample=(m == 'a'), n_cons=a.n_cons, seed=e)
            if e == eval_seeds[0]: fakes[m] = f
            by_seed[str(e)] = r
        r = mean_results(list(by_seed.values()))
        r['by_seed'] = {e: {k: v for k, v in rr.items() if k != 'spectrum'} for e, rr in by_seed.items()}
        ck = load_checkpoint(cks[m])
        r.update(name=MODELS[m], kimg=float(ck['kimg']), step=int(ck['step']), checkpoint=str(Path(cks[m]).relative_to(out)),
                 eval_seeds=eval_seeds)
        results['models'][m] = r
        log(f"({m}) evaluated in {time.time() - t0:.0f} s: SWD mean " +
            ', '.join(f"{s} px {np.mean(list(r['swd'][str(s)].values())):.1f}" for s in sizes) +
            ' | spectral ' + ', '.join(f"{r['spectral_distance'][str(s)]:.2f}" for s in sizes) + ' dB | consistency ' +
            ', '.join(f"{k}x {v:.1f} dB" for k, v in r['consistency'].items()))
        save_json(results, res_path)
    rows = crops_figure(fakes, real, res_dir / 'crops_4x.png')
    results['crops_rows'] = rows
    results.setdefault('invocations', []).append(dict(command=results['settings']['command'],
                                                      seconds=round(time.time() - t_start, 1)))
    save_json(results, res_path)
    log(f'results: {res_path}, crops: {res_dir / "crops_4x.png"}')


if __name__ == '__main__':
    main()
