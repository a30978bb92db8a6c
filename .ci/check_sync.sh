#!/usr/bin/env bash
# Fails when `nbdev_export` would change anyres_nb/ or `nbdev_clean` would change nbs/.
# Works on a copy, so the working tree is never touched.
set -euo pipefail
bin=${1:-.venv/bin}; bin=$(cd "$bin" && pwd)
top=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tar --exclude=./.venv --exclude=./.git --exclude=./out --exclude=./runs -cf - . | tar -xf - -C "$tmp"
(cd "$tmp" && "$bin/nbdev_export" && "$bin/nbdev_clean") >/dev/null
status=0
if ! diff -rq --exclude=__pycache__ "$top/anyres_nb" "$tmp/anyres_nb" >&2; then
  diff -r --exclude=__pycache__ "$top/anyres_nb" "$tmp/anyres_nb" | head -40 >&2 || true
  echo "anyres_nb/ is out of step with the notebooks: run 'make export' and commit the result." >&2; status=1
fi
if ! diff -r --exclude=.ipynb_checkpoints "$top/nbs" "$tmp/nbs" >/dev/null; then
  diff -rq --exclude=.ipynb_checkpoints "$top/nbs" "$tmp/nbs" >&2 || true
  echo "notebooks are not clean: run 'make export' (nbdev_clean) and commit the result." >&2; status=1
fi
[ $status = 0 ] && echo "sync: library matches notebooks; notebooks are clean"
exit $status
