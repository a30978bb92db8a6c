"""Write a finished stage-1 checkpoint without its optimiser, sampler and random-number state: what stage 2 reads of
its teacher (G, G_ema, D and their shapes) and nothing else, about half the file. Stage 2 started from the slim file
is the same run as one started from the full checkpoint (`anyres_train --teacher` reads only those entries); the slim
file cannot be resumed as stage 1.

    .venv/bin/python experiments/slim_checkpoint.py RUN_OR_CKPT OUT.pt
"""
import argparse, sys
from pathlib import Path
from anyres_nb.runs import load_checkpoint, save_checkpoint

KEEP = ('format', 'config', 'stage', 'run_id', 'step', 'nimg', 'kimg', 'G', 'G_ema', 'D', 'G_kwargs', 'D_kwargs')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('ckpt', help='a stage-1 checkpoint, or its run folder (its newest checkpoint)')
    ap.add_argument('out', help='the slim checkpoint to write (.pt)')
    a = ap.parse_args(argv)
    def fail(msg): print(f"slim_checkpoint: error: {msg}", file=sys.stderr); sys.exit(2)
    try: ck = load_checkpoint(a.ckpt)
    except (FileNotFoundError, ValueError) as e: fail(e)
    if ck['stage'] != 'global': fail(f"{ck['path']!r} is a stage {ck['stage']!r} checkpoint; stage 2 needs a stage-1 ('global') one")
    save_checkpoint({k: ck[k] for k in KEEP}, a.out)
    print(f"{ck['path']} ({Path(ck['path']).stat().st_size / 1e6:.1f} MB, {ck['kimg']:.1f} kimg) -> {a.out} ({Path(a.out).stat().st_size / 1e6:.1f} MB)")

if __name__ == '__main__': main()
