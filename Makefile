# anyres-nb: the two commands a new machine needs are `make demo` and `make test`.
# Both create .venv (CPU torch where this machine has one on disk) and install the project.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo
TORCH_CPU ?= torch==2.13.0
export OMP_NUM_THREADS ?= 2

.PHONY: browser env demo test sync nbtest pytest export readme bundled-notebooks bench experiment experiment-controlled bundle clean

env: $(VENV)/.installed

# Try the local CPU wheel first so a new machine does not pull GBs of CUDA libraries;
# fall back to whatever torch the index has.
$(VENV)/.installed: setup.py settings.ini
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/pip install -q '$(TORCH_CPU)' \
	  || echo "note: $(TORCH_CPU) is not at hand; the project's torch requirement will be installed instead"
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

demo: env
	$(BIN)/anyres_demo --outdir $(OUT)

# 1. the library matches the notebooks and the notebooks are clean
# 2. every notebook runs (cells flagged `#| slow` skipped)
# 3. pytest: the wheel installs and works outside the source tree
test: env browser sync nbtest pytest

# the real-browser widget test drives Debian's chromium (never a downloaded browser); where it
# cannot be installed the test skips and says why
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } \
	  || echo "note: chromium is not installed; tests/test_browser.py will be skipped"

sync: env
	bash .ci/check_sync.sh $(BIN)

nbtest: env
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

pytest: env
	$(BIN)/python -m pytest -q tests

export: env
	$(BIN)/nbdev_export && $(BIN)/python .ci/kernelspec.py && $(BIN)/nbdev_clean

# benchmarks (not tests; about 15 minutes): the 256 px forward of a plainly built Generator and the demo G+D step against
# the 'ref' ops with FLOP rates, the stage-1/2 steps with the teacher, warp and loader timed, where the step's time goes.
# On a machine shared with other jobs use BENCH_THREADS=1: more threads than free cores make OpenMP spin and time nothing.
BENCH_THREADS ?= 0
bench: env
	$(BIN)/python tests/bench/loader.py
	$(BIN)/python tests/bench/generator_speed.py --threads $(BENCH_THREADS)
	$(if $(filter-out 0,$(BENCH_THREADS)),OMP_NUM_THREADS=$(BENCH_THREADS)) $(BIN)/python tests/bench/train_speed.py
	$(if $(filter-out 0,$(BENCH_THREADS)),OMP_NUM_THREADS=$(BENCH_THREADS)) $(BIN)/python tests/bench/train_step_parts.py
	$(BIN)/python tests/bench/render_speed.py

# issue 18's experiment (experiments/arms.py): 7 arms x 3 training seeds, many CPU hours. Runs in the background with one
# thread, logging to out/arms/experiment.log; writes experiments/arms/ after every evaluation. Re-running resumes.
# EXPERIMENT_ARGS='--jobs 2': two processes at a time (both cores; about half the wall time, about 12 h on 2 cores).
EXPERIMENT_ARGS ?=
experiment: env
	@mkdir -p out/arms
	@if [ -f out/arms/experiment.pid ] && kill -0 $$(cat out/arms/experiment.pid) 2>/dev/null; then \
	  echo "the experiment is already running (pid $$(cat out/arms/experiment.pid)); follow it with: tail -f out/arms/experiment.log"; \
	else \
	  echo "=== $$(date '+%F %T') make experiment $(EXPERIMENT_ARGS)" >> out/arms/experiment.log; \
	  OMP_NUM_THREADS=1 nohup $(BIN)/python experiments/arms.py $(EXPERIMENT_ARGS) >> out/arms/experiment.log 2>&1 & \
	  echo $$! > out/arms/experiment.pid; \
	  echo "started the experiment in the background (pid $$(cat out/arms/experiment.pid), one thread)"; \
	  echo "  follow it:  tail -f out/arms/experiment.log"; \
	  echo "  results:    experiments/arms/results.json (rewritten after every evaluation; \"partial\": true until done)"; \
	  echo "  stop it:    kill $$(cat out/arms/experiment.pid)"; \
	  echo "  resume it:  make experiment (finished stages are skipped, unfinished ones continue from their last checkpoint)"; \
	fi

# issue 7's controlled experiment, the run 14_experiment's later sections document (12 + 10 kimg, as committed in
# experiments/controlled/results.json); about 1.5 hours on 2 busy cores
experiment-controlled: env
	OMP_NUM_THREADS=1 $(BIN)/python experiments/controlled.py --kimg1 12 --kimg2 10

# retrain the checkpoint shipped in anyres_nb/assets/demo.pt (10 layers of 64 channels, 80 + 218 kimg, 'fourier' scale code;
# about 11 hours on one core, 8.5 with OMP_NUM_THREADS=2; re-running resumes);
# writes out/bundle/demo.pt, demo_quality.json and zoom.gif
bundle: env
	BIN=$(BIN) bash experiments/bundled_checkpoint.sh out/bundle

clean:
	rm -rf build dist *.egg-info _proc _docs

# execute notebook nbs/$(1).ipynb in place (slow cells included, so its committed figures are current) and clean it
execute_nb = $(BIN)/jupyter nbconvert --to notebook --execute --inplace nbs/$(1).ipynb && $(BIN)/nbdev_clean --fname nbs/$(1).ipynb

readme: env
	$(call execute_nb,index)
	$(BIN)/python .ci/make_readme.py

# after shipping a new anyres_nb/assets/demo.pt: execute the notebooks that show the bundled model in place (their
# `slow` cells included, so that their figures are the new model's), clean them, write README.md again
BUNDLED_NBS = index 05_generator 10_render 10a_invert 12_widgets A6_demo
bundled-notebooks: env
	for nb in $(BUNDLED_NBS); do $(call execute_nb,$$nb) || exit 1; done
	$(BIN)/python .ci/make_readme.py
