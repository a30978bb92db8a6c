#!/usr/bin/env bash
# Retrain the small checkpoint shipped as anyres_nb/assets/demo.pt, with the console scripts only (issue 13's recipe).
#   bash experiments/bundled_checkpoint.sh [WORKDIR] [STAGE1_KIMG] [STAGE2_KIMG] [SCALE_COND]
# Defaults: WORKDIR=out/bundle, 40 kimg of stage 1, 154 kimg of stage 2 with the 'fourier' scale code (the shipped
# model's and anyres_train's default), one torch thread (so that another job
# can use the second core): about 45 minutes + 3 hours on a 2-core AMD EPYC. Interrupted? Run the same command again:
# each stage resumes from its newest checkpoint. Writes WORKDIR/demo.pt, WORKDIR/demo_quality.json and
# WORKDIR/zoom.gif; copy demo.pt to anyres_nb/assets/ to ship it.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-out/bundle}; K1=${2:-40}; K2=${3:-154}; SC=${4:-fourier}
BIN=${BIN:-.venv/bin}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$W"
[ -f "$W/data/manifest.json" ] || $BIN/anyres_make_data "$W/data" --overwrite --quiet
stage() {   # stage NAME KIMG ARGS...: a new run, or the old one resumed until it reaches KIMG
    local name=$1 kimg=$2; shift 2
    if ls "$W/$name"/ckpt-*.pt >/dev/null 2>&1; then
        $BIN/anyres_train --resume "$W/$name" --kimg "$kimg" --quiet
    else
        $BIN/anyres_train --outdir "$W/$name" --kimg "$kimg" --preset demo --seed 0 --snap 2 --quiet "$@"
    fi
}
# stage 1: the demo preset (batch 8, G/D learning rates 0.005/0.004, R1 gamma 0.25)
stage stage1 "$K1" --stage global --data "$W/data/lr"
S1=$(ls "$W"/stage1/ckpt-*.pt | sort | tail -1)
# stage 2: patches at scales 1..8 with the frozen stage-1 teacher (teacher_lambda 1, the demo preset's), batch 16, scale code SC
stage stage2 "$K2" --stage patch --data "$W/data/lr" --data_hr "$W/data/hr" --teacher "$S1" --batch 16 --scale_cond "$SC"
$BIN/python experiments/bundle_report.py --stage1 "$S1" --stage2 "$W/stage2" --assets "$W" --gif "$W/zoom.gif"
