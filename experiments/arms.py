#!/usr/bin/env python
"""The controlled experiment made sound (issue 18): compute-matched arms, three training seeds, off-grid sizes, paired bootstrap.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/arms.py              # the full run (many CPU hours; resumable)
    OMP_NUM_THREADS=1 .venv/bin/python experiments/arms.py --quick      # a smoke test of the whole path (minutes)
    make experiment                                                      # the full run in the background, resumable

In parallel: `--seeds S --stage1_only` trains one seed's stage 1 (one process per seed); `--train_only --arms A
--seeds S` one (arm, seed); `--eval_to DIR` writes each evaluation to a file instead of the results (one process
per run; `--eval_device cuda` renders and bootstraps on a GPU), and `--eval_from DIR --import_only` gathers them
into the results. `--jobs N` does all of that itself: stage 1 of every seed, every (arm, seed) run, every missing
evaluation, N processes at a time, then the results (`make experiment EXPERIMENT_ARGS='--jobs 2'` uses both cores of a
2-core machine, about half the wall time). `experiments/arms_gpu.py` uses the same flags to train and evaluate every
arm side by side on one GPU.

Data: the synthetic scene family of `07_data` (`make_synthetic_set(seed=0, max_factor=10)`: 1000 scenes at the 32 px
base size, 160 others at native 2x..10x, 64..315 px), the same for every training seed. Why 10x and not the library's
default 8x: with 8x the largest short side of the 160 is 253 px, so no image allows the 1/8 scale (a 256 px target,
never upsampled) and (c') would train bit for bit like (c). With 10x, 23 of the 160 allow it. All patch arms are
capped at 8x (`--max_zoom 8`: `scale_min=1/8` and `scale_mapping_max=8` for every stage-2 arm), so (b)'s continuous
range and (c')'s grid both span exactly 1x..8x, the evaluation range. Held out: `--n_eval` further scenes rendered natively at
each evaluation size (`controlled.heldout`, seeds from `controlled.EVAL_SEED0`, disjoint from the training scenes), and
a second disjoint held-out set for the real-vs-real floor.

Arms, per training seed s (`--seeds`, default 0,1,2), all from the same stage-1 checkpoint of seed s (`train(stage=
'global', preset='demo', seed=s, kimg=K1)`), each with K1 + K2 kimg in total:
  a+     stage 1 continued for K2 more kimg (the stage-1 run copied, then resumed), Lanczos-upsampled from 32 px;
  b      stage 2, continuous scales, Fourier scale conditioning (`scale_cond='fourier'`, the default when this ran): the method;
  b-ref  as b with the reference's constant scale branch (`scale_cond='reference'`);
  c'     stage 2, discrete scales {1, 1/2, 1/4, 1/8} (b's range);
  c      stage 2, discrete scales {1, 1/2, 1/4} (issue 7's arm);
  d      stage 2 without the teacher loss (`teacher_lambda=0`);
  e      stage 2 with the teacher but no high-resolution patches (`base_probability=1`).
Stage-2 arms otherwise use the demo preset (batch 8, teacher_lambda 1, base_probability 0.25; the recorded results in
experiments/arms were made when the preset's base_probability was 0.5), `data_hr` the set's hr/ folder, K2 kimg.
`--hr_max_factor 8 --max_zoom 0` gives the library's defaults instead (then (c') duplicates (c)).

Evaluation per (arm, seed) at 1x, 1.5x, 2x, 3x, 4x, 6x, 8x (32 ... 256 px), the same latents for every arm (paired):
  - SWD (x1e3) per Laplacian level, normalized per set ('each', ProGAN) and jointly ('joint'); the headline number is
    the mean over the levels EXCLUDING the coarsest, low-pass one (16 px; 24 px at 48, 96 and 192 px); per-level
    numbers are kept;
  - a 95 % percentile bootstrap interval of that mean over images (`--boot` resamples of the real and the generated
    image indices, with replacement; the same resamples for every arm and seed, so differences are paired);
  - pSWD (`metrics.real_patches`/`fake_patches`: random-scale 32 px patches, 1x..8x, of held-out 256 px scenes);
  - spectra: power over the top octave (0.25-0.5 cycles/px) in dB relative to the real scenes', and the log-spectral
    distance; scale consistency (PSNR of the k x render Lanczos-shrunk by k against the 1x render, k = 2, 3, 4, 6, 8);
  - FID / pFID only with `--inception FILE` (a local TorchScript Inception; nothing is downloaded).
Renders of a model are computed once and reused by every metric.

Statistics (`summarize`): per arm and size the mean over seeds; for each pair (b vs a+, c', c, b-ref, d, e) and size
the paired difference b - other per seed with its bootstrap interval, and combined over seeds: the mean over seeds with
a two-level bootstrap interval (each draw picks one image resample, shared by all seeds because they share images and
latents, and resamples the training seeds with replacement, then averages the seeds' replicate differences). Whether
the 95 % interval excludes 0 is reported. With 3 seeds that interval understates seed-to-seed variation, so a
Student-t interval over the per-seed values alone (`ci_t_seeds`, `excludes_0_t`) is reported beside it. The
bootstrap holds the descriptors' normalization statistics at their full-sample values (renormalising each resample
costs a sort per resample; the shift it causes is O(1/sqrt(n))). Resampling with replacement duplicates images, so a
bootstrapped SWD sits above the full-sample one (`boot_mean` in the results shows by how much); the paired
differences, where that shift largely cancels, are the numbers to read.

Everything is resumable: re-running the command continues unfinished training runs from their last checkpoint, skips
finished ones, and keeps evaluations already stored (unless `--reeval`). Runs and data go under `--outdir`; the results
(`results.json`, `replicates.json`, `swd_vs_size.png`, `crops_4x.png`, `crops_8x.png`) to `--results`, written
atomically after each evaluation; while arms or seeds are missing `results.json` says `"partial": true` and lists them.
"""
import argparse, json, os, shutil, sys, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from anyres_nb import ops
from anyres_nb.data import make_synthetic_set
from anyres_nb.train import train, load_checkpoint, generator_from_checkpoint, list_checkpoints
from anyres_nb.metrics import (latents, map_latents, render_images, to_uint8, sliced_wasserstein, image_spectrum,
                               band_power_db, spectral_distance, psnr, downsample, real_patches, fake_patches, laplacian_pyramid,
                               pyramid_resolutions, level_descriptors,
                               as_images, _gen, fid_from_images)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from controlled import EVAL_SEED0, log, save_json, run_stage, heldout

ARMS = {   # name: (description, stage-2 options or None for the continued stage 1)
    'a+':    ('stage 1 continued for the stage-2 budget, Lanczos-upsampled', None),
    'b':     ('stage 2, continuous scales, Fourier scale conditioning (the method)', dict(scale_cond='fourier')),
    'b-ref': ("stage 2, continuous scales, the reference's constant scale branch", dict(scale_cond='reference')),
    "c'":    ('stage 2, discrete scales {1, 1/2, 1/4, 1/8}', dict(scales='1,0.5,0.25,0.125')),
    'c':     ('stage 2, discrete scales {1, 1/2, 1/4}', dict(scales='1,0.5,0.25')),
    'd':     ('stage 2, no teacher loss', dict(teacher_lambda=0.)),
    'e':     ('stage 2, teacher on, no high-resolution patches (base_probability 1)', dict(base_probability=1.)),
}
FOLDER = {'a+': 'a_plus', 'b': 'b', 'b-ref': 'b_ref', "c'": 'c_prime', 'c': 'c', 'd': 'd', 'e': 'e'}
PAIRS = [('b', 'a+'), ('b', "c'"), ('b', 'c'), ('b', 'b-ref'), ('b', 'd'), ('b', 'e')]
SIZES = [32, 48, 64, 96, 128, 192, 256]
NORMS = ('each', 'joint')
BOOT_SEED = 18


# ---------------------------------------------------------------------------------------------- generic statistics
def boot_counts(n, B, key, seed=BOOT_SEED):
    "Bootstrap resamples of `n` indices as counts `[B, n]` (how often each index is drawn), seeded by `key`: the same for every arm."
    rng = np.random.default_rng([seed, *[int(k) for k in key]])
    idx = rng.integers(0, n, (B, n))
    return np.stack([np.bincount(r, minlength=n) for r in idx]).astype(np.float32)


def _weighted_w1(order_ids, gaps, W, chunk=4):
    """W1 between two weighted empirical distributions, averaged over projections, for each row of `W` `[b, 2N]`
    (the weight of each image: + for set A, - for set B, each set summing to 1). `order_ids` `[C, 2M]`: the image id of
    each merged projection in sorted order, per projection; `gaps` `[C, 2M-1]`: the sorted projections' differences.
    W1 of one projection = sum over gaps of |CDF_A - CDF_B| x gap, the CDF difference being a cumulative sum."""
    if order_ids.device.type == 'cpu':
        if len(W) >= 16:                         # many weightings (the bootstrap): blocks of positions by matrix products
            out = _weighted_w1_blocked(order_ids, gaps, W)
            direct = _weighted_w1(order_ids, gaps, W[:2])        # checked on every call against the direct sum
            assert torch.allclose(out[:2], direct.double(), rtol=1e-4, atol=1e-9), (out[:2], direct)
            return out
        oi, gp = np.ascontiguousarray(order_ids[:, :-1].numpy().astype(np.int32)), gaps.numpy()   # numpy's gather and
        return torch.tensor([float(np.mean(np.sum(np.abs(np.cumsum(w[oi], axis=1)) * gp, axis=1))) for w in W.numpy()])   # cumsum are faster here
    oi = order_ids[:, :-1]
    return torch.cat([(Wc[:, oi].cumsum(-1).abs_() * gaps).sum(-1).mean(-1) for Wc in W.split(chunk)])


def _weighted_w1_blocked(order_ids, gaps, W, K=64, rows=20000):
    """`_weighted_w1` on a CPU for many weightings at once, exactly, 2-4x faster. The sorted positions of each projection
    are cut into blocks of `K`. Where the CDF difference keeps one sign over a whole block (its value before the block,
    O, plus the most negative partial sum of the block's weights stays >= 0, or O plus the most positive stays <= 0),
    the block's sum of |CDF| x gap is +-(O x sum(gaps) + sum_k w_k x (gaps from k to the block's end)): linear in the
    weights, so matrix products give it for every weighting at once. Only the blocks near a sign change (a few % when
    the two sets differ, ~20 % when they are alike) are summed position by position."""
    C, L = gaps.shape; n2 = W.shape[1]; nb = len(W)
    nq = -(-L // K); pad = nq * K - L                                      # blocks per projection; the last one padded
    ids = np.concatenate([order_ids[:, :-1].numpy().astype(np.int64), np.full((C, pad), n2)], 1).reshape(C * nq, K)
    gp = np.concatenate([gaps.numpy(), np.zeros((C, pad), np.float32)], 1).reshape(C * nq, K)   # padding: id n2, weight 0
    Wz = np.concatenate([W.numpy().astype(np.float32), np.zeros((nb, 1), np.float32)], 1)      # [nb, n2 + 1]
    suffix = np.cumsum(gp[:, ::-1], 1)[:, ::-1]                            # gaps from position k to the block's end
    flat = (np.arange(C * nq)[:, None] * (n2 + 1) + ids).ravel()
    H = np.bincount(flat, minlength=C * nq * (n2 + 1)).reshape(C * nq, n2 + 1).astype(np.float32)    # ids per block
    A = np.bincount(flat, weights=suffix.ravel(), minlength=C * nq * (n2 + 1)).reshape(C * nq, n2 + 1).astype(np.float32)
    total = (Wz @ H.T).astype(np.float64)                                  # each block's sum of weights [nb, C*nq]
    lowest = np.minimum(Wz, 0) @ H.T                                       # no partial sum in a block goes below this
    linear = Wz @ A.T                                                      # sum_k w_k x suffix_k
    O = np.cumsum(total.reshape(nb, C, nq), 2).reshape(nb, C * nq) - total # the CDF difference before each block
    up, down = O + lowest >= 0, O + (total - lowest) <= 0
    val = O * gp.sum(1)[None] + linear
    np.negative(val, out=val, where=~up)
    bi, qi = np.nonzero(~(up | down))                                      # blocks where the sign may change
    for st in range(0, len(bi), rows):
        b_, q_ = bi[st:st + rows], qi[st:st + rows]
        x = np.take(Wz.ravel(), b_[:, None] * (n2 + 1) + ids[q_])
        np.cumsum(x, 1, out=x); x += O[b_, q_][:, None].astype(np.float32); np.abs(x, out=x)
        val[b_, q_] = np.einsum('ij,ij->i', x, gp[q_])
    return torch.from_numpy(val.reshape(nb, C, nq).sum(2).mean(1))


def swd_bootstrap(real, fake, counts_r, counts_f, normalize='each', seed=0, nhoods=128, dirs=128, repeats=4,
                  nhood_size=7, min_res=16, drop_coarsest=True, boot_dirs=128, device='cpu'):
    """ProGAN's SWD (x1e3, finest level first) of two equal-size image sets, and its bootstrap replicates.

    Descriptors, positions and projection directions are those of `metrics.sliced_wasserstein` (same seeds), so the
    per-level point values equal the library's. For resample t, image i of the real set counts `counts_r[t, i]` times
    (fake: `counts_f`); the W1 distance of each projection between the two weighted sets is computed exactly from one
    sort of the merged projections, over the first `boot_dirs` directions only (an unbiased subset of the point
    estimate's `repeats * dirs`, 4x faster). Normalization statistics stay at their full-sample values. The sorts and
    sums run on `device` (a GPU makes the bootstrap about a hundred times faster). Returns
    `(levels, point_mean, replicates[B])`, the means over the levels without the coarsest when `drop_coarsest`."""
    a, b = as_images(real), as_images(fake)
    if a.shape != b.shape: raise ValueError(f"swd_bootstrap needs two sets of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    N = len(a)
    n = len(pyramid_resolutions(min(a.shape[-2:]), min_res))
    la, lb = laplacian_pyramid(a, n), laplacian_pyramid(b, n)
    keep = list(range(n - 1)) if drop_coarsest and n > 1 else list(range(n))
    Wr = torch.cat([torch.as_tensor(counts_r), -torch.as_tensor(counts_f)], 1).to(device, torch.float32)   # [B, 2N]
    levels, reps = [], torch.zeros(len(Wr), len(keep), dtype=torch.float64)
    for i, (A, Bl) in enumerate(zip(la, lb)):
        da, db = level_descriptors(A, Bl, i, nhoods, nhood_size, normalize, seed)      # as sliced_wasserstein's
        gen = _gen(seed, 3, i)
        th = []
        for _ in range(repeats):
            t = torch.randn(da.shape[1], dirs, generator=gen); th.append(t / t.norm(dim=0, keepdim=True))
        th = torch.cat(th, 1).to(device)                                       # [D, repeats*dirs]
        proj = (torch.cat([da, db]).to(device) @ th).T                          # [cols, 2M]
        if proj.device.type == 'cpu':          # numpy's argsort is 2x torch's here; the order of ties does not matter:
            order = torch.from_numpy(np.argsort(proj.numpy(), axis=1)); sp = torch.take_along_dim(proj, order, 1)   # their gaps are 0
        else: sp, order = torch.sort(proj, dim=1, stable=True)
        gaps = sp.diff(dim=1); del sp, proj
        M = len(da); k = M // N
        ids = torch.cat([torch.arange(M, device=device) // k, N + torch.arange(M, device=device) // k])   # image of each descriptor
        order_ids = ids[order]; del order
        unit = torch.cat([torch.ones(N, device=device), -torch.ones(N, device=device)])[None] / M
        levels.append(1e3 * float(_weighted_w1(order_ids, gaps, unit)))
        if i in keep:
            reps[:, keep.index(i)] = 1e3 * _weighted_w1(order_ids[:boot_dirs], gaps[:boot_dirs], Wr / M).double().cpu()
    return levels, float(np.mean([levels[i] for i in keep])), reps.mean(1).numpy()


def percentile_ci(x, level=0.95):
    "The percentile interval `[lo, hi]` of samples `x`."
    q = (1 - level) / 2 * 100
    lo, hi = np.percentile(np.asarray(x, np.float64), [q, 100 - q])
    return [float(lo), float(hi)]


def t_interval(points, level=0.95):
    "Student-t interval of the mean of per-seed `points` (seed-to-seed variation only; None for fewer than 2 seeds)."
    from scipy import stats
    x = np.asarray(points, np.float64)
    if len(x) < 2: return None
    h = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return [float(x.mean() - h), float(x.mean() + h)]


def combine_seeds(points, reps, draws=4000, seed=BOOT_SEED):
    """Mean over training seeds of per-seed `points`, with a two-level bootstrap interval: each draw takes one image
    resample t (shared by all seeds: they share images and latents) and a resample of the seeds with replacement,
    and averages `reps[seed][t]` over the drawn seeds. Returns `(mean, [lo, hi])`; one seed gives its image interval."""
    points, reps = np.asarray(points, np.float64), np.asarray(reps, np.float64)    # [S], [S, B]
    S, B = reps.shape
    rng = np.random.default_rng([seed, 99])
    t = rng.integers(0, B, draws); s = rng.integers(0, S, (draws, S))
    return float(points.mean()), percentile_ci(reps[s, t[:, None]].mean(1))


# ---------------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def render_model(G, n, sizes, upsample, n_cons, seed=0):
    "Renders of one model, computed once: uint8 NCHW per size for `latents(G, n, seed)` and the float renders of the first `n_cons` (for consistency)."
    p = G.img_resolution
    ws = map_latents(G, latents(G, n, seed))
    u8, flt = {}, {}
    per = 16 if ws.device.type == 'cpu' else 512          # 32 px images per batch (a GPU wants big batches)
    for s in sizes:
        x = render_images(G, ws, s, batch=max(1, per * p * p // (s * s)), upsample=upsample)
        u8[s] = to_uint8(x).cpu(); flt[s] = x[:n_cons].clamp(-1, 1).cpu()
    return u8, flt


@torch.no_grad()
def evaluate(G, real, real_big, sizes, counts, upsample, a, feats=None):
    "Every metric of one generator against the held-out `real` sets (renders reused); returns (result dict, replicates, renders)."
    t0 = time.time(); p = G.img_resolution
    fakes, flt = render_model(G, a.n_eval, sizes, upsample, a.n_cons, seed=0)
    t_render = time.time() - t0
    out = dict(swd={nm: {} for nm in NORMS}, spectra={}, consistency={}, seconds={})
    reps = {nm: {} for nm in NORMS}
    for s in sizes:
        for nm in NORMS:
            lv, mean, rp = swd_bootstrap(real[s], fakes[s], *counts[s], normalize=nm, device=a.eval_device)
            out['swd'][nm][str(s)] = dict(levels={str(r): v for r, v in zip(pyramid_resolutions(s), lv)}, mean=mean,
                                          ci=percentile_ci(rp), boot_mean=float(np.mean(rp)))
            reps[nm][str(s)] = [round(float(v), 4) for v in rp]
            if a.quick and a.check_library:               # the fast path must agree with the library
                ref = sliced_wasserstein(real[s], fakes[s], normalize=nm)
                assert np.allclose(lv, ref, rtol=1e-3, atol=1e-3), (s, nm, lv, ref)
        if a.check_library and s == sizes[-1]: a.check_library = False; log('the fast SWD path agrees with metrics.sliced_wasserstein')
        tr, tf = band_power_db(real[s]), band_power_db(fakes[s])
        out['spectra'][str(s)] = dict(top_octave_db_vs_real=tf - tr, spectral_distance=spectral_distance(real[s], fakes[s]))
        if s in (128, 256): out['spectra'][str(s)]['spectrum'] = [v.tolist() for v in image_spectrum(fakes[s])]
        if feats is not None: out.setdefault('fid', {})[str(s)] = fid_from_images(feats, real[s], fakes[s])
    t_swd = time.time() - t0 - t_render
    for s in sizes:
        if s > p and s % p == 0:
            k = s // p
            out['consistency'][str(k)] = float(psnr(downsample(flt[s], k), flt[p]).mean())
    rp_, T = real_patches(real_big, p, a.n_patch, (p, max(sizes)), seed=0)
    fp_ = fake_patches(G, T, seed=1, upsample=upsample)
    out['pswd'] = {nm: dict(levels={str(r): v for r, v in zip(pyramid_resolutions(p), sliced_wasserstein(rp_, fp_, normalize=nm))})
                   for nm in NORMS}
    for nm in NORMS:
        lv = list(out['pswd'][nm]['levels'].values()); out['pswd'][nm]['mean'] = float(np.mean(lv[:-1] if len(lv) > 1 else lv))
    if feats is not None: out['pfid'] = fid_from_images(feats, rp_, fp_)
    out['seconds'] = dict(render=round(t_render, 1), swd_bootstrap=round(t_swd, 1), total=round(time.time() - t0, 1))
    return out, reps, fakes


# ---------------------------------------------------------------------------------------------- summary and figures
def summarize(results, replicates, arms, seeds):
    "Means over seeds with two-level intervals per arm, and paired differences per seed and combined, from what is stored."
    runs = results.get('runs', {})
    out = dict(arms={}, pairs={})
    for arm in arms:
        done = [s for s in seeds if str(s) in runs.get(arm, {})]
        if not done: continue
        out['arms'][arm] = {nm: {} for nm in NORMS}
        out['arms'][arm]['seeds'] = done
        for nm in NORMS:
            for s in SIZES:
                pts = [runs[arm][str(sd)]['swd'][nm][str(s)]['mean'] for sd in done]
                rp = [replicates[arm][str(sd)][nm][str(s)] for sd in done]
                m, ci = combine_seeds(pts, rp)
                out['arms'][arm][nm][str(s)] = dict(mean=m, ci=ci, ci_t_seeds=t_interval(pts), by_seed=pts,
                                                    seed_sd=float(np.std(pts, ddof=1)) if len(pts) > 1 else None)
    for x, y in PAIRS:
        if x not in out['arms'] or y not in out['arms']: continue
        both = [s for s in out['arms'][x]['seeds'] if s in out['arms'][y]['seeds']]
        if not both: continue
        key = f'{x} vs {y}'
        out['pairs'][key] = dict(seeds=both, **{nm: {} for nm in NORMS})
        for nm in NORMS:
            for s in SIZES:
                per, pts, rps = {}, [], []
                for sd in both:
                    d = runs[x][str(sd)]['swd'][nm][str(s)]['mean'] - runs[y][str(sd)]['swd'][nm][str(s)]['mean']
                    r = np.asarray(replicates[x][str(sd)][nm][str(s)]) - np.asarray(replicates[y][str(sd)][nm][str(s)])
                    ci = percentile_ci(r)
                    per[str(sd)] = dict(diff=d, ci=ci, excludes_0=bool(ci[0] > 0 or ci[1] < 0))
                    pts.append(d); rps.append(r)
                m, ci = combine_seeds(pts, rps); ct = t_interval(pts)
                out['pairs'][key][nm][str(s)] = dict(diff=m, ci=ci, excludes_0=bool(ci[0] > 0 or ci[1] < 0), ci_t_seeds=ct,
                                                     excludes_0_t=None if ct is None else bool(ct[0] > 0 or ct[1] < 0), by_seed=per)
    return out


def swd_figure(results, path):
    "SWD (mean over levels without the coarsest) against size per arm, with the combined intervals, both normalizations."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    summ = results.get('summary', {}).get('arms', {})
    fig, axs = plt.subplots(1, 2, figsize=(12, 4), dpi=80)
    for ax, nm in zip(axs, NORMS):
        for j, (arm, r) in enumerate(summ.items()):
            m = np.array([r[nm][str(s)]['mean'] for s in SIZES]); ci = np.array([r[nm][str(s)]['ci'] for s in SIZES])
            x = np.array(SIZES) * (1 + 0.012 * (j - len(summ) / 2))
            yerr = np.clip([m - ci[:, 0], ci[:, 1] - m], 0, None)    # a bootstrap interval can sit wholly above the point value
            ax.errorbar(x, m, yerr=yerr, marker='o', ms=3, capsize=2, label=f"({arm}) n={len(r['seeds'])}")
        fl = results.get('floor', {}).get(nm)
        if fl: ax.plot(SIZES, [fl[str(s)] for s in SIZES], 'k--', lw=1, label='real vs real')
        ax.set_xscale('log', base=2); ax.set_xticks(SIZES, [f"{s}\n{s / 32:g}x" for s in SIZES])
        ax.set_xlabel('size (px)'); ax.set_ylabel('SWD x1e3 (mean over levels, no low-pass)')
        ax.set_title(f"SWD, normalize='{nm}'" + (' (partial)' if results.get('partial') else ''))
    axs[0].legend(fontsize=7)
    fig.tight_layout(); fig.savefig(path); plt.close(fig)


def crops_figure(rows, path, crop):
    "One row per entry of `rows` (name -> uint8 NCHW images): the centre `crop` px of each image, side by side."
    strips = []
    for imgs in rows.values():
        o = (imgs.shape[-1] - crop) // 2
        strips.append(np.concatenate([im.permute(1, 2, 0).numpy()[o:o + crop, o:o + crop] for im in imgs], 1))
    pad = 2; H, W = crop, strips[0].shape[1]
    canvas = np.full((len(strips) * (H + pad) - pad, W, 3), 255, np.uint8)
    for i, r in enumerate(strips): canvas[i * (H + pad): i * (H + pad) + H] = r
    Image.fromarray(canvas).save(path)


# ---------------------------------------------------------------------------------------------- driver
def run_pool(cmds, jobs, logdir):
    "Run `(name, argv)` commands, at most `jobs` at a time, each logging to `logdir/name.txt`; returns the names that failed."
    import subprocess
    logdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'), PYTHONUNBUFFERED='1')
    todo, running, failed = list(cmds), [], []
    while todo or running:
        while todo and len(running) < jobs:
            name, argv = todo.pop(0)
            running.append((name, subprocess.Popen([sys.executable, __file__, *argv], env=env, stdout=open(logdir / f'{name}.txt', 'w'),
                                                   stderr=subprocess.STDOUT)))
        time.sleep(2)
        for name, pr in list(running):
            if pr.poll() is not None:
                running.remove((name, pr)); log(f'{name}: exit {pr.returncode}')
                if pr.returncode: failed.append(name)
    return failed


def parallel_phases(a, out, seeds, arms, results):
    """`--jobs N`: stage 1 of every seed, then every (arm, seed) run, then every evaluation not yet in the results, each
    in its own process, N at a time; the evaluations go to `out/evals` and the caller stores them (`--import_only`)."""
    common = ['--outdir', str(out), '--kimg1', str(a.kimg1), '--kimg2', str(a.kimg2), '--hr_max_factor', str(a.hr_max_factor),
              '--max_zoom', str(a.max_zoom), '--n_eval', str(a.n_eval), '--n_cons', str(a.n_cons), '--n_patch', str(a.n_patch),
              '--boot', str(a.boot), '--device', a.device, '--eval_device', a.eval_device] + (['--quick'] if a.quick else [])
    res = lambda name: ['--results', str(out / 'jobs' / name)]
    logs = out / 'logs'
    log(f'--jobs {a.jobs}: stage 1 of seeds {seeds}')
    bad = run_pool([(f'stage1_seed{s}', common + res(f'stage1_seed{s}') + ['--seeds', str(s), '--stage1_only']) for s in seeds], a.jobs, logs)
    runs = [(arm, s) for s in seeds for arm in arms if f'stage1_seed{s}' not in bad]
    log(f'--jobs {a.jobs}: training {len(runs)} runs')
    bad += run_pool([(f'train_{FOLDER[arm]}_seed{s}', common + res(f'train_{FOLDER[arm]}_seed{s}') + ['--seeds', str(s), '--arms', arm, '--train_only'])
                     for arm, s in runs], a.jobs, logs)
    todo = [(arm, s) for arm, s in runs if f'train_{FOLDER[arm]}_seed{s}' not in bad and (a.reeval or str(s) not in results['runs'].get(arm, {}))
            and not (out / 'evals' / f'{FOLDER[arm]}_seed{s}.pt').is_file()]
    log(f'--jobs {a.jobs}: evaluating {len(todo)} runs')
    bad += run_pool([(f'eval_{FOLDER[arm]}_seed{s}', common + res(f'eval_{FOLDER[arm]}_seed{s}') + ['--seeds', str(s), '--arms', arm, '--eval_to', str(out / 'evals')])
                     for arm, s in todo], a.jobs, logs)
    if bad: log(f'--jobs {a.jobs}: failed: {bad} (their logs are in {logs}); rerun to retry')


def parse_arms(s):
    alias = {v: k for k, v in FOLDER.items()}
    arms = [alias.get(v.strip(), v.strip()) for v in s.split(',') if v.strip()]
    bad = [v for v in arms if v not in ARMS]
    if bad: raise SystemExit(f"--arms: unknown arm(s) {bad}; choose from {','.join(ARMS)} (or {','.join(FOLDER.values())})")
    return [k for k in ARMS if k in arms]


def train_arm(arm, seed, out, data, ck1, a):
    "Train (or continue, or skip) arm `arm` of training seed `seed`; returns (checkpoint, seconds)."
    run = out / f'seed{seed}' / FOLDER[arm]
    if arm == 'a+':
        if not (run.is_dir() and list_checkpoints(run)):                # copy the finished stage-1 run, then continue it
            tmp = run.with_name(run.name + '.copying')
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(Path(ck1).parent, tmp); os.replace(tmp, run)
        return run_stage(run, stage='global', kimg=a.kimg1 + a.kimg2, device=a.device, max_minutes=a.max_minutes)  # resumes (the copy is at K1)
    cap = dict(scale_min=1 / a.max_zoom, scale_mapping_max=float(a.max_zoom)) if a.max_zoom else {}
    return run_stage(run, stage='patch', preset='demo', seed=seed, data=str(data / 'lr'), data_hr=str(data / 'hr'),
                     teacher=ck1, kimg=a.kimg2, snap=a.snap2, keep=2, device=a.device, max_minutes=a.max_minutes, **cap, **ARMS[arm][1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index('Data:'):])
    ap.add_argument('--outdir', default=None, help='data, runs and checkpoints (not committed); default out/arms (--quick: out/arms_quick)')
    ap.add_argument('--results', default=None, help='results.json and figures (committed); default experiments/arms (--quick: out/arms_quick/results)')
    ap.add_argument('--kimg1', type=float, default=40., help='stage 1 length K1 (thousand images)')
    ap.add_argument('--kimg2', type=float, default=20., help='K2: the stage-2 length of each stage-2 arm, and what a+ adds to stage 1')
    ap.add_argument('--seeds', default='0,1,2', help='training seeds')
    ap.add_argument('--arms', default=','.join(ARMS), help='which arms to train and evaluate')
    ap.add_argument('--hr_max_factor', type=float, default=10., help='largest native size of the hr/ set, in multiples of 32 px')
    ap.add_argument('--max_zoom', type=float, default=8., help='cap every patch arm at this zoom (scale_min = 1/max_zoom); 0: no cap')
    ap.add_argument('--n_eval', type=int, default=128, help='held-out scenes (and generated images) per size')
    ap.add_argument('--n_cons', type=int, default=16, help='latents for scale consistency')
    ap.add_argument('--n_patch', type=int, default=256, help='patches per set for pSWD')
    ap.add_argument('--boot', type=int, default=200, help='bootstrap resamples (B)')
    ap.add_argument('--inception', default=None, help='local TorchScript Inception file for FID/pFID (skipped without it)')
    ap.add_argument('--reeval', action='store_true', help='evaluate again even if results.json has the (arm, seed)')
    ap.add_argument('--quick', action='store_true', help='tiny everything: a smoke test of the whole path')
    ap.add_argument('--train_only', action='store_true', help='train (or resume) the runs and stop: no evaluation, results untouched '
                    '(for training seeds or arms in parallel processes; a later run without it evaluates)')
    ap.add_argument('--stage1_only', action='store_true', help='train only the stage-1 runs of --seeds (implies --train_only)')
    ap.add_argument('--device', default='auto', help="training device: 'auto', 'cpu', 'cuda' (evaluation runs on the CPU)")
    ap.add_argument('--eval_device', default='cpu', help="where evaluation renders and bootstraps ('cuda' is many times faster)")
    ap.add_argument('--eval_to', default=None, help='write each evaluation to DIR/<arm>_seed<s>.pt instead of the results (parallel processes; no floor, no figures)')
    ap.add_argument('--eval_from', default=None, help='take evaluations from DIR/<arm>_seed<s>.pt (written by --eval_to) instead of computing them')
    ap.add_argument('--import_only', action='store_true', help='with --eval_from: store the evaluations found there, compute no others')
    ap.add_argument('--jobs', type=int, default=1, help='run this many training and evaluation processes at once (one thread each); 1: all in this process')
    ap.add_argument('--max_minutes', type=float, default=None, help='stop each training run (with a checkpoint) after this much wall time; rerun to continue')
    a = ap.parse_args(argv)
    a.train_only = a.train_only or a.stage1_only
    if a.quick:
        a.kimg1, a.kimg2, a.n_eval, a.n_cons, a.n_patch, a.boot = 0.064, 0.032, 8, 4, 16, 20
        if a.seeds == '0,1,2': a.seeds = '0,1'
    a.check_library = a.quick          # --quick: check the fast SWD path against the library once
    out = Path(a.outdir or ('out/arms_quick' if a.quick else 'out/arms'))
    res_dir = Path(a.results or (out / 'results' if a.quick else 'experiments/arms'))
    if a.quick and res_dir.resolve() == Path('experiments/arms').resolve():
        sys.exit('--quick writes a smoke test, never experiments/arms; pass another --results folder')
    a.snap1, a.snap2 = min(2., max(a.kimg1 / 4, 0.016)), min(2., max(a.kimg2 / 2, 0.016))
    seeds = [int(v) for v in a.seeds.split(',') if v.strip()]
    arms = parse_arms(a.arms)
    out.mkdir(parents=True, exist_ok=True); res_dir.mkdir(parents=True, exist_ok=True)
    res_path, rep_path = res_dir / 'results.json', res_dir / 'replicates.json'
    results = json.loads(res_path.read_text()) if res_path.is_file() else {}
    replicates = json.loads(rep_path.read_text()) if rep_path.is_file() else {}
    fixed = dict(kimg1=a.kimg1, kimg2=a.kimg2, hr_max_factor=a.hr_max_factor, max_zoom=a.max_zoom, n_eval=a.n_eval,
                 n_cons=a.n_cons, n_patch=a.n_patch, boot=a.boot, quick=a.quick, sizes=SIZES)
    old = {k: results.get('settings', {}).get(k) for k in fixed}
    if results.get('settings') and old != fixed:
        sys.exit(f"{res_path} holds a run with other settings ({ {k: v for k, v in old.items() if v != fixed[k]} } vs "
                 f"{ {k: v for k, v in fixed.items() if v != old[k]} }); pass another --results folder or delete it")
    ops.set_impl('fast')
    t_start = time.time()
    command = ' '.join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:]))
    all_seeds = sorted(set(seeds) | {int(s) for s in results.get('settings', {}).get('seeds', [])})
    results['settings'] = dict(**fixed, seeds=all_seeds, command=command, preset='demo', data_seed=0, arms={k: v[0] for k, v in ARMS.items()},
                               stage2_options={k: v[1] for k, v in ARMS.items()}, pairs=[f'{x} vs {y}' for x, y in PAIRS],
                               eval_seed0=EVAL_SEED0, floor_seed0=EVAL_SEED0 + 100_000, boot_seed=BOOT_SEED,
                               headline='SWD x1e3, mean over the Laplacian levels without the coarsest, low-pass one (16 px; 24 px at 48, 96, 192 px)',
                               inception=a.inception, torch_threads=torch.get_num_threads(), cpus=os.cpu_count())
    if not a.inception: results['settings']['fid_note'] = 'FID/pFID skipped: no --inception file given (nothing is downloaded)'
    results.setdefault('timings_s', {}); results.setdefault('runs', {})
    T = results['timings_s']
    inv = dict(command=command, started=time.strftime('%Y-%m-%d %H:%M:%S'), seconds=0., finished=None)
    results.setdefault('invocations', []).append(inv)      # its seconds are updated at every write: an interrupted one keeps them

    def write():
        inv['seconds'] = round(time.time() - t_start, 1)
        expected = [(arm, s) for arm in ARMS for s in all_seeds]
        missing = [f'{arm}/seed{s}' for arm, s in expected if str(s) not in results['runs'].get(arm, {})]
        results['partial'] = bool(missing); results['missing'] = missing
        results['summary'] = summarize(results, replicates, list(ARMS), all_seeds)
        save_json(replicates, rep_path); save_json(results, res_path)

    def figures():
        "SWD against size with intervals; crops at 4x and 8x of the first training seed that has them, plus the truth."
        write()
        swd_figure(results, res_dir / 'swd_vs_size.png')
        for s, name, crop in ((128, 'crops_4x.png', 64), (256, 'crops_8x.png', 128)):
            rows = {}
            for arm in ARMS:
                for sd in all_seeds:
                    f = out / 'renders' / f'{FOLDER[arm]}_seed{sd}.pt'
                    if f.is_file(): rows[f'{arm} (seed {sd})'] = torch.load(f)[s]; break
            if rows:
                rows['real'] = real[s][:4]
                crops_figure(rows, res_dir / name, crop)
                results[f'crops_rows_{name[6:8]}'] = list(rows)

    data = out / 'data'
    if not (data / 'manifest.json').is_file():
        log('making the synthetic data set'); t0 = time.time()
        make_synthetic_set(data, n_lr=200 if a.quick else 1000, n_hr=32 if a.quick else 160, seed=0,
                           max_factor=a.hr_max_factor, overwrite=True, progress=False)
        T['data'] = round(T.get('data', 0.) + time.time() - t0, 1)
    mf = json.loads((data / 'manifest.json').read_text()).get('max_factor')
    if mf != a.hr_max_factor:
        sys.exit(f"{data} was made with max_factor {mf}, not --hr_max_factor {a.hr_max_factor:g}; pass another --outdir or delete it")

    # held-out truth (cached), the bootstrap resamples (shared by all arms and seeds) and the real-vs-real floor
    t0 = time.time()
    if a.train_only: real = real_big = counts = None
    else:
        cache = out / f'heldout_n{a.n_eval}.pt'
        if cache.is_file(): real, real2 = torch.load(cache)
        else:
            real, real2 = heldout(a.n_eval, SIZES, EVAL_SEED0), heldout(a.n_eval, SIZES, EVAL_SEED0 + 100_000)
            torch.save((real, real2), cache)
        real_big = [im.permute(1, 2, 0).numpy() for im in real[max(SIZES)]]
        counts = {s: (boot_counts(a.n_eval, a.boot, (s, 0)), boot_counts(a.n_eval, a.boot, (s, 1))) for s in SIZES}
        if 'floor' not in results and not a.eval_to:
            results['floor'] = {nm: {str(s): float(np.mean(sliced_wasserstein(real[s], real2[s], normalize=nm)[:-1])) for s in SIZES}
                                for nm in NORMS}
            results['real_spectrum'] = {str(s): [v.tolist() for v in image_spectrum(real[s])] for s in (128, 256)}
        T['heldout_and_floor'] = round(T.get('heldout_and_floor', 0.) + time.time() - t0, 1)
    if a.jobs > 1 and not (a.train_only or a.eval_to or a.eval_from):
        parallel_phases(a, out, seeds, arms, results)
        a.eval_from, a.import_only = str(out / 'evals'), True
    feats = None
    if a.inception:
        from anyres_nb.metrics import InceptionFeatures
        feats = InceptionFeatures(a.inception)

    for seed in seeds:
        s1 = out / f'seed{seed}' / 'stage1'
        if a.import_only and not (s1.is_dir() and list_checkpoints(s1)):
            log(f'seed {seed}: no stage-1 run (--import_only): skipped'); continue
        log(f'seed {seed}: stage 1, {a.kimg1} kimg')
        ck1, sec = run_stage(out / f'seed{seed}' / 'stage1', stage='global', preset='demo', seed=seed, data=str(data / 'lr'),
                             kimg=a.kimg1, snap=a.snap1, keep=2, device=a.device, max_minutes=a.max_minutes)
        if sec: T[f'stage1/seed{seed}'] = round(T.get(f'stage1/seed{seed}', 0.) + sec, 1)
        kimg_stage1 = float(load_checkpoint(ck1)['kimg'])
        if kimg_stage1 < a.kimg1 - 1e-9:                # stopped by --max_minutes: no arm starts from an unfinished teacher
            log(f'seed {seed}: stage 1 stopped at {kimg_stage1:.2f} of {a.kimg1} kimg; rerun to continue'); continue
        if a.stage1_only: continue
        for arm in arms:
            log(f'seed {seed}: ({arm}) {ARMS[arm][0]}')
            if a.import_only and not (Path(a.eval_from) / f'{FOLDER[arm]}_seed{seed}.pt').is_file():
                log(f'seed {seed}: ({arm}) no evaluation in {a.eval_from} yet (--import_only): skipped'); continue
            ck, sec = train_arm(arm, seed, out, data, ck1, a)
            if sec: T[f'{arm}/seed{seed}'] = round(T.get(f'{arm}/seed{seed}', 0.) + sec, 1)
            if a.train_only: continue
            target = a.kimg1 + a.kimg2 if arm == 'a+' else a.kimg2
            if float(load_checkpoint(ck)['kimg']) < target - 1e-9:
                log(f'seed {seed}: ({arm}) stopped before {target} kimg; rerun to continue and evaluate'); continue
            rfile = out / 'renders' / f'{FOLDER[arm]}_seed{seed}.pt'
            if str(seed) in results['runs'].get(arm, {}) and not a.reeval and rfile.is_file():
                log(f'seed {seed}: ({arm}) kept the evaluation already in {res_path}'); write(); continue
            efile = f'{FOLDER[arm]}_seed{seed}.pt'
            if a.eval_from and (Path(a.eval_from) / efile).is_file():       # evaluated elsewhere (--eval_to)
                r, reps, crops = (lambda d: (d['r'], d['reps'], d['crops']))(torch.load(Path(a.eval_from) / efile))
                want = dict(n_eval=a.n_eval, n_cons=a.n_cons, n_patch=a.n_patch, boot=a.boot)
                if r.get('eval_settings') != want:
                    sys.exit(f"{Path(a.eval_from) / efile} was evaluated with {r.get('eval_settings')}, not {want}; evaluate it here (drop --eval_from)")
                log(f'seed {seed}: ({arm}) evaluation taken from {Path(a.eval_from) / efile}')
            else:
                G = generator_from_checkpoint(ck, device=a.eval_device)
                r, reps, fakes = evaluate(G, real, real_big, SIZES, counts, arm == 'a+', a, feats)
                crops = {s: fakes[s][:4].clone() for s in (128, 256)}
                ckd = load_checkpoint(ck)
                r.update(kimg=float(ckd['kimg']), step=int(ckd['step']), checkpoint=str(Path(ck).relative_to(out)),
                         stage=ckd['stage'], total_kimg=float(ckd['kimg']) + (0. if arm == 'a+' else kimg_stage1),
                         eval_device=str(a.eval_device), eval_settings=dict(n_eval=a.n_eval, n_cons=a.n_cons, n_patch=a.n_patch, boot=a.boot))
            if a.eval_to:
                Path(a.eval_to).mkdir(parents=True, exist_ok=True)
                torch.save(dict(r=r, reps=reps, crops=crops), Path(a.eval_to) / efile)
                log(f"seed {seed}: ({arm}) evaluated in {r['seconds']['total']:.0f} s, written to {Path(a.eval_to) / efile}"); continue
            rfile.parent.mkdir(parents=True, exist_ok=True)
            torch.save(crops, rfile)
            results['runs'].setdefault(arm, {})[str(seed)] = r
            replicates.setdefault(arm, {})[str(seed)] = reps
            figures(); write()
            sw = r['swd']
            log(f"seed {seed}: ({arm}) evaluated in {r['seconds']['total']:.0f} s (render {r['seconds']['render']:.0f} s): SWD each " +
                ', '.join(f"{s}: {sw['each'][str(s)]['mean']:.1f}" for s in SIZES) + ' | joint ' +
                ', '.join(f"{s}: {sw['joint'][str(s)]['mean']:.1f}" for s in SIZES) + ' | pSWD ' +
                f"{r['pswd']['each']['mean']:.1f} | consistency " + ', '.join(f"{k}x {v:.1f}" for k, v in r['consistency'].items()))

    if a.eval_to: log(f'evaluations written to {a.eval_to}'); return
    if a.train_only:
        log(f'trained {len(seeds)} seed(s) in {time.time() - t_start:.0f} s; nothing evaluated (--train_only)'); return
    inv['finished'] = time.strftime('%Y-%m-%d %H:%M:%S')
    figures(); write()
    log(f"results: {res_path} ({'partial: ' + str(len(results['missing'])) + ' missing' if results['partial'] else 'complete'})")


if __name__ == '__main__':
    main()
