#!/usr/bin/env bash
# Retrain the small checkpoint shipped as anyres_nb/assets/demo.pt, with the console scripts only (issue 13's recipe).
#   bash experiments/bundled_checkpoint.sh [WORKDIR] [STAGE1_KIMG] [STAGE2_KIMG] [SCALE_COND] [END_KIMG]
# Defaults: WORKDIR=out/bundle; a generator of 10 layers of 64 channels (the demo preset's are 6 of 32); 80 kimg of
# stage 1; stage 2 with the 'fourier' scale code (anyres_train's default) and the demo preset's stage-2 settings
# (batch 16 here, a quarter of the batches low-resolution images) to STAGE2_KIMG=180 at the preset's learning rates,
# then on to END_KIMG=218 at a quarter of them (a resumed run in WORKDIR/stage2_low; the run at the full rates stays in
# WORKDIR/stage2; the shipped model is this run's 218-kimg checkpoint, the best of 200-220 on two sets of latents,
# experiments/recipe/bundle_search.md). Measured on a 2-core AMD EPYC (AVX-512) with OMP_NUM_THREADS=2: 39-45 kimg/h,
# so about 2 h for stage 1 and 6.5 h for stage 2 (one thread, the default, so that another job can use the second
# core: 26-29 kimg/h beside another run, about 11 h in all). Interrupted? Run the same command again: each stage resumes from its newest
# checkpoint. Writes WORKDIR/demo.pt, WORKDIR/demo_quality.json and WORKDIR/zoom.gif; copy demo.pt to
# anyres_nb/assets/ to ship it. Bash reads a script as it runs it: editing this file (a git checkout, a pull) under a
# running bundle breaks it, so run a copy in an ignored folder of the repository (the script finds the repository as
# its folder's parent):
#   mkdir -p out && cp experiments/bundled_checkpoint.sh out/ && bash out/bundled_checkpoint.sh ...
# G_CHANNELS=N / G_LAYERS=N (environment) size the generator of stage 1 otherwise (anyres_train --g_channels /
# --g_layers); stage 2 takes the teacher's shape. TEACHER=FILE (environment) skips stage 1 and starts stage 2 from that
# stage-1 checkpoint (for one carried from another machine, slimmed by experiments/slim_checkpoint.py).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-out/bundle}; K1=${2:-80}; K2=${3:-180}; SC=${4:-fourier}; K3=${5:-218}
BIN=${BIN:-.venv/bin}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$W"
[ -f "$W/data/manifest.json" ] || $BIN/anyres_make_data "$W/data" --overwrite --quiet
# stage 2's high-resolution set: 400 other scenes with short sides 6x-8.5x the base size, so that about 18 % of patches
# are at 6x or more (the default set's 2x-8x gives 2.9 %; see experiments/recipe/bundle_curves.md)
[ -f "$W/data_hr8/manifest.json" ] || $BIN/anyres_make_data "$W/data_hr8" --n_lr 8 --n_hr 400 --min_factor 6 --max_factor 8.5 --seed 1 --overwrite --quiet
stage() {   # stage NAME KIMG ARGS...: a new run, or the old one resumed until it reaches KIMG
    local name=$1 kimg=$2; shift 2
    if ls "$W/$name"/ckpt-*.pt >/dev/null 2>&1; then
        $BIN/anyres_train --resume "$W/$name" --kimg "$kimg" --quiet
    else
        $BIN/anyres_train --outdir "$W/$name" --kimg "$kimg" --preset demo --seed 0 --snap 2 --quiet "$@"
    fi
}
# stage 1: the demo preset (batch 8, G/D learning rates 0.005/0.004, R1 gamma 0.25) with the generator sized as above
SHAPE=(--g_channels "${G_CHANNELS:-64}" --g_layers "${G_LAYERS:-10}")
if [ -n "${TEACHER:-}" ]; then      # a finished stage 1 brought from elsewhere (experiments/slim_checkpoint.py's file): skip stage 1
    S1=$TEACHER
else
    stage stage1 "$K1" --stage global --data "$W/data/lr" "${SHAPE[@]}"
    S1=$(ls "$W"/stage1/ckpt-*.pt | sort | tail -1)
fi
# stage 2: patches at scales 1..8.5 of the 6x-8.5x set with the frozen stage-1 teacher (teacher_lambda 1, the demo
# preset's), batch 16, scale code SC; the scale code's range is the one the default set gives (1..7.90625)
stage stage2 "$K2" --stage patch --data "$W/data/lr" --data_hr "$W/data_hr8/hr" --teacher "$S1" --batch 16 --scale_cond "$SC" \
      --scale_mapping_max 7.90625 --keep_every 20    # one checkpoint per 20 kimg kept, for experiments/bundle_curves.py
# the end of stage 2 at a quarter of the learning rates (the demo preset's 0.005 / 0.004), where the constant rates had
# stopped gaining (experiments/recipe/bundle_curves.md: runs four10_bp25 and lr25f184)
if ls "$W/stage2_low"/ckpt-*.pt >/dev/null 2>&1; then
    $BIN/anyres_train --resume "$W/stage2_low" --kimg "$K3" --quiet
else
    $BIN/anyres_train --resume "$(ls "$W"/stage2/ckpt-*.pt | sort | tail -1)" --outdir "$W/stage2_low" --glr 0.00125 --dlr 0.001 --kimg "$K3" --quiet
fi
$BIN/python experiments/bundle_report.py --stage1 "$S1" --stage2 "$W/stage2_low" --assets "$W" --gif "$W/zoom.gif"
