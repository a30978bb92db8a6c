#!/usr/bin/env python
"""The stage-2 settings issue 18 did not vary (issue 13's recipe search): the scale code 'linear', the teacher's weight
and the teacher's mode, each as (b) of issue 18 with one change.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/stage2_more.py            # every arm at seed 0; about 35 min per arm on one thread; resumable
    OMP_NUM_THREADS=1 .venv/bin/python experiments/stage2_more.py --seeds 1,2 --arms b,b-ref,b-lin   # (b-lin) at seeds 1 and 2
    OMP_NUM_THREADS=1 .venv/bin/python experiments/stage2_more.py --seeds 0 --arms b,b-ref,b-lin,lin-t3   # teacher 3 on the linear code

It is `experiments/arms.py` with other arms: the same data (`out/arms/data`), the same stage-1 checkpoints of the
training seeds asked for, the same 20 kimg of stage 2 and the same evaluation (128 held-out scenes per size, the same
latents and bootstrap resamples, so differences to (b) are paired over images). (b) and (b-ref) of those seeds are
copied from issue 18's results (`experiments/arms/results.json`, `replicates.json`), not trained again. Issue 18
measured how much (b) moves between training seeds (SWD 8x per set, `stage2_table.py` prints it), so a difference
at one seed smaller than that spread is not a finding. Results: `experiments/recipe/stage2_more/` (`results.json`,
`replicates.json`, `swd_vs_size.png`, crops); the table: `experiments/stage2_table.py` (its second table).
"""
import json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import arms

MORE = {   # name: (description, stage-2 options), each (b) with one change ((b) is issue 18's default, the Fourier code)
    'b-lin':  ("the reference's normalized scale fed to the scale mapping without its RMS normalization ('linear')", dict(scale_cond='linear')),
    'b-t3':   ('teacher weight 3 (the default is 1)', dict(scale_cond='fourier', teacher_lambda=3.)),
    'b-fwd':  ("the teacher's forward mode (the default is 'inverse')", dict(scale_cond='fourier', teacher_mode='forward')),
    'lin-t3': ("the linear scale code with teacher weight 3", dict(scale_cond='linear', teacher_lambda=3.)),
}
COPIED = ('b', 'b-ref')        # from issue 18, for each training seed asked for


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    res = Path('experiments/recipe/stage2_more')
    arms.ARMS = {k: arms.ARMS[k] for k in COPIED} | MORE
    arms.FOLDER = {'b': 'b', 'b-ref': 'b_ref', 'b-lin': 'b_lin', 'b-t3': 'b_t3', 'b-fwd': 'b_fwd', 'lin-t3': 'lin_t3'}
    arms.PAIRS = [('b', k) for k in arms.ARMS if k != 'b'] + [('b-lin', 'lin-t3')]
    seeds = argv[argv.index('--seeds') + 1].split(',') if '--seeds' in argv else ['0']
    src = json.loads(Path('experiments/arms/results.json').read_text())
    rep = json.loads(Path('experiments/arms/replicates.json').read_text())
    res.mkdir(parents=True, exist_ok=True)
    if (res / 'results.json').is_file():
        R, P = json.loads((res / 'results.json').read_text()), json.loads((res / 'replicates.json').read_text())
    else:                                           # start from issue 18's settings, floor and real spectrum
        R = {k: src[k] for k in ('floor', 'real_spectrum') if k in src}
        R['settings'] = {k: src['settings'][k] for k in ('kimg1', 'kimg2', 'hr_max_factor', 'max_zoom', 'n_eval', 'n_cons',
                                                         'n_patch', 'boot', 'quick', 'sizes')}
        R['runs'], R['copied_from'], P = {}, 'experiments/arms/results.json (issue 18): runs b and b-ref, floor, real spectrum', {}
    for k in COPIED:                                # issue 18's (b) and (b-ref) of every training seed asked for
        for s in seeds:
            R['runs'].setdefault(k, {})[s] = src['runs'][k][s]; P.setdefault(k, {})[s] = rep[k][s]
    arms.save_json(P, res / 'replicates.json'); arms.save_json(R, res / 'results.json')
    arms.main(['--outdir', 'out/arms', '--results', str(res), '--seeds', ','.join(seeds), '--arms', ','.join(arms.ARMS)] + argv)


if __name__ == '__main__':
    main()
