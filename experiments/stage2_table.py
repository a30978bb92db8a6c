#!/usr/bin/env python
"""The stage-2 part of issue 13's recipe search, read from issue 18's controlled experiment.

    .venv/bin/python experiments/stage2_table.py        # writes experiments/recipe/stage2_search.md

The arms of `experiments/arms.py` are stage-2 recipes trained from the same stage-1 checkpoints (the `demo` preset, three
training seeds) for the same 20 kimg, each changing one stage-2 setting of the default (b): the scale code (b-ref), the
scale sampling (c', c), the teacher (d) and the share of high-resolution patches (e). This script tabulates what that
experiment measured, for choosing the bundled model's stage-2 settings: SWD (x1e3) at 1x, 4x and 8x with both
normalizations (mean over seeds [two-level 95 % interval]), the paired difference to (b) at 8x, pSWD, the top octave's
power against the truth at 8x and scale consistency at 8x. It computes nothing new; rerun it after `make experiment`.
When `experiments/stage2_more.py` has run (the scale code 'linear', the teacher's weight and mode), a second table
gives those arms beside (b) and (b-ref) of the same training seeds, with paired differences over images.
"""
import json, sys
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RES, OUT = ROOT / 'experiments' / 'arms' / 'results.json', ROOT / 'experiments' / 'recipe' / 'stage2_search.md'
MORE = ROOT / 'experiments' / 'recipe' / 'stage2_more' / 'results.json'
CHANGE = {'b': "issue 18's default: continuous scales 1x-8x, the Fourier scale code, teacher 1, base probability 0.5",
          'b-ref': "the reference's constant scale branch", "c'": 'discrete scales {1, 1/2, 1/4, 1/8}',
          'c': 'discrete scales {1, 1/2, 1/4}', 'd': 'no teacher loss', 'e': 'no high-resolution patches (base probability 1)',
          'a+': '(baseline) no stage 2: stage 1 continued, Lanczos-upsampled',
          'b-lin': "the scale code 'linear': the reference's normalized scale without its RMS normalization",
          'b-t3': 'teacher weight 3', 'b-fwd': "the teacher's 'forward' mode",
          'lin-t3': "the scale code 'linear' with teacher weight 3"}


def fmt(v): return f"{v['mean']:.1f} [{v['ci'][0]:.1f}, {v['ci'][1]:.1f}]"


def diff(pr, nm, s):
    if pr is None: return ''
    v = pr[nm][str(s)]
    return f"{-v['diff']:+.1f}{' *' if v['excludes_0'] else ''}{' †' if v.get('excludes_0_t') else ''}"


def mean_sd(vals):
    return f"{np.mean(vals):.1f}" + (f" ± {np.std(vals, ddof=1):.1f}" if len(vals) > 1 else '')


def table(summ, runs, arms):
    "Rows of the table for `arms`, from a results file's summary and runs."
    rows = []
    for a in arms:
        r = summ['arms'][a]; pr = summ['pairs'].get(f'b vs {a}')
        R = [runs[a][str(s)] for s in r['seeds']]
        rows.append(f"| ({a}) | {CHANGE[a]} | {', '.join(map(str, r['seeds']))} | {fmt(r['each']['32'])} | {fmt(r['each']['128'])} | "
                    f"{fmt(r['each']['256'])} | {diff(pr, 'each', 256)} | {fmt(r['joint']['256'])} | {diff(pr, 'joint', 256)} | "
                    f"{mean_sd([x['pswd']['joint']['mean'] for x in R])} | "
                    f"{mean_sd([x['spectra']['256']['top_octave_db_vs_real'] for x in R])} | "
                    f"{mean_sd([x['consistency']['8'] for x in R])} |")
    return rows


HEADER = ['| arm | stage-2 setting | seeds | SWD 1x (each) | SWD 4x (each) | SWD 8x (each) | vs (b) | SWD 8x (joint) | vs (b) | pSWD | top octave 8x | consistency 8x |',
          '|---|---|---|---|---|---|---|---|---|---|---|---|']


def more_table(A):
    "The table of experiments/stage2_more.py's arms beside (b) and (b-ref) of the same seeds, or [] when it has not run."
    if not MORE.is_file(): return []
    M = json.loads(MORE.read_text()); summ = M.get('summary', {})
    arms = [a for a in ('b', 'b-ref', 'b-lin', 'b-t3', 'b-fwd', 'lin-t3') if a in summ.get('arms', {})]
    done = {a: summ['arms'][a]['seeds'] for a in arms}
    return ['## Further stage-2 settings', '',
            'Made by `OMP_NUM_THREADS=1 .venv/bin/python experiments/stage2_more.py [--seeds S --arms A]` (results in '
            '`experiments/recipe/stage2_more/`): the same data, stage-1 checkpoints, 20 kimg of stage 2 and evaluation as '
            "above, for the training seeds listed; (b) and (b-ref) are issue 18's runs of those seeds, copied. Columns as "
            "above; 'vs (b)' is over the seeds both arms have. " + ', '.join(f'({a}): seeds {s}' for a, s in done.items() if a not in ('b', 'b-ref'))
            + '.', ''] + HEADER + table(summ, M['runs'], arms) + [''] + [
        pair_line(summ['pairs'][k], x, y, M['runs']) for k in summ.get('pairs', {}) for x, y in [k.split(' vs ')] if x != 'b'] + ['']


def pair_line(v, x, y, runs):
    "One sentence: arm `y` minus arm `x` at 8x (from the stored pair `v` = x - y), with its intervals, and both arms' consistency."
    d = lambda nm: f"{-v[nm]['256']['diff']:+.1f} [{-v[nm]['256']['ci'][1]:+.1f}, {-v[nm]['256']['ci'][0]:+.1f}]"
    cons = [np.mean([runs[a][str(sd)]['consistency']['8'] for sd in v['seeds']]) for a in (y, x)]
    return (f"{y} minus {x} (paired, seeds {v['seeds']}): SWD 8x each {d('each')}, joint {d('joint')}; "
            f"consistency at 8x {cons[0]:.1f} dB vs {cons[1]:.1f} dB.")


def main():
    if not RES.is_file(): sys.exit(f"{RES} does not exist: run `make experiment` first")
    A = json.loads(RES.read_text()); summ, runs = A['summary'], A['runs']
    arms = [a for a in ('b', 'b-ref', "c'", 'c', 'd', 'e', 'a+') if a in summ['arms']]
    lines = ['# Stage-2 settings: what issue 18\'s controlled experiment measured', '',
             'Made by `.venv/bin/python experiments/stage2_table.py` from `experiments/arms/results.json` '
             f"(made by `make experiment`: {A['settings']['command']}).", '']
    if A.get('partial'):
        lines += [f"**Partial**: {len(A['missing'])} (arm, seed) runs are not evaluated yet ({', '.join(A['missing'])}).", '']
    lines += [f"Every arm: the `demo` preset, stage 1 {A['settings']['kimg1']:g} kimg, then {A['settings']['kimg2']:g} kimg of the "
              "setting named (a+: of stage 1). SWD x1e3, mean over the Laplacian levels without the low-pass one, "
              f"{A['settings']['n_eval']} renders against as many held-out scenes rendered natively; mean over the training "
              "seeds [two-level 95 % bootstrap interval over seeds and images]. 'vs (b)' is the arm minus (b) at 8x: "
              "positive means worse than the default; * the bootstrap interval excludes 0, † so does a Student-t interval "
              "over the seeds alone. pSWD (joint, random-scale patches), top octave at 8x (dB against the truth) and "
              "consistency at 8x (dB): mean ± sd over seeds. Resampling images with replacement duplicates some, which raises "
              "SWD, so an interval can lie wholly above its point value; the paired differences, where that shift "
              "cancels, are the numbers to compare.", '',
              ] + HEADER
    lines += table(summ, runs, arms)
    fl = A['floor']
    lines += [f"| real vs real | | | {fl['each']['32']:.1f} | {fl['each']['128']:.1f} | {fl['each']['256']:.1f} | | "
              f"{fl['joint']['256']:.1f} | | | 0 | |", '']
    lines += more_table(A)
    OUT.parent.mkdir(parents=True, exist_ok=True); OUT.write_text('\n'.join(lines))
    print(f"wrote {OUT}")


if __name__ == '__main__':
    main()
