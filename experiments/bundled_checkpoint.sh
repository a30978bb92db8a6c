#!/usr/bin/env bash
# Retrain the small checkpoint shipped as anyres_nb/assets/demo.pt, with the console scripts only.
#   bash experiments/bundled_checkpoint.sh [WORKDIR] [STAGE1_MINUTES] [STAGE2_MINUTES]
# Defaults: WORKDIR=out/bundle, 38 minutes of stage 1, 25 of stage 2 (one torch thread each, so that
# another job can use the second core). Writes WORKDIR/demo.pt and WORKDIR/summary.txt; copy demo.pt to
# anyres_nb/assets/ to ship it.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-out/bundle}; M1=${2:-38}; M2=${3:-25}
BIN=${BIN:-.venv/bin}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$W"
$BIN/anyres_make_data "$W/data" --overwrite --quiet
$BIN/anyres_train --stage global --data "$W/data/lr" --outdir "$W/stage1" --preset demo --kimg 200 \
    --max_minutes "$M1" --seed 0 --snap 4 --quiet
S1=$(ls "$W"/stage1/ckpt-*.pt | sort | tail -1)
$BIN/anyres_train --stage patch --data "$W/data/lr" --data_hr "$W/data/hr" --teacher "$S1" \
    --outdir "$W/stage2" --preset demo --kimg 200 --max_minutes "$M2" --seed 0 --snap 4 --quiet
$BIN/python - "$W" <<'PY'
import sys, json
from pathlib import Path
from anyres_nb.train import load_checkpoint, generator_from_checkpoint
from anyres_nb.legacy import save_networks
w = Path(sys.argv[1])
c = load_checkpoint(w/'stage2')
save_networks(w/'demo.pt', {'G_ema': generator_from_checkpoint(c, 'G_ema')}, kimg=float(c['kimg']),
              stage1_kimg=float(load_checkpoint(w/'stage1')['kimg']))
lines = []
for st in ('stage1', 'stage2'):
    recs = [json.loads(l) for l in open(w/st/'log.jsonl') if l.strip()]
    last = recs[-1]
    lines.append(f"{st}: {len(recs)} log records; last: " + ', '.join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                                for k, v in last.items()))
lines.append(f"demo.pt: {(w/'demo.pt').stat().st_size/1e6:.2f} MB")
(w/'summary.txt').write_text('\n'.join(lines) + '\n'); print('\n'.join(lines))
PY
