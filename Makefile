# make run   - set up, train if data changed, start everything
# make test  - set up, lint, train if needed, run every test
# make lint  - ruff (lint and format check) over the project, mypy over bot/ (pyproject.toml)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/nouveau-depart.tar.gz
export ND_ACTION_ENDPOINT ?= http://localhost:5055/webhook
# Keep Rasa and TensorFlow quiet and offline.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run run-scaled test lint setup train validate test-unit test-stories bench nlu-report clean

run: setup train
	@scripts/run_all.sh

# Two Rasa workers sharing conversations through Redis (127.0.0.1:6379 by default): the latency figures.
run-scaled: setup train
	@ND_SCALED=1 scripts/run_all.sh

test: setup lint train validate test-unit test-stories
	@echo "All tests passed."

setup: $(VENV)/.installed node_modules/.installed

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The web widget's browser dependencies, exactly as pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >/dev/null; } \
	  || { echo "npm is missing: run 'sudo apt-get install -y npm'." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.installed: requirements.txt scripts/find_python.sh scripts/ensure_chromium.sh
	@PY310=$$(scripts/find_python.sh) && { [ -x $(PY) ] || $$PY310 -m venv $(VENV); }
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip check
	@scripts/ensure_chromium.sh
	@touch $@

# Rasa's fingerprinting retrains only the parts whose data, domain or config changed.
train: setup
	$(RASA) train --fixed-model-name nouveau-depart --out models --num-threads 2

validate: setup
	$(PY) -m bot check-knowledge
	$(RASA) data validate --max-history 5

test-unit: setup
	$(PY) -m pytest -q tests

test-stories: setup train
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out results/stories

# Held-out first messages through the really started bot: recall per critical kind, false
# alarms on near-misses, topic accuracy (scripts/nlu_report.py), on the two current sets S and T
# (written apart at the same time); then Rasa's own intent report.
nlu-report: setup train
	$(PY) scripts/nlu_report.py --set tests/nlu/heldout_2026_12_s.yml --out results/nlu_heldout.md
	$(PY) scripts/nlu_report.py --set tests/nlu/heldout_2026_12_t.yml --out results/nlu_heldout_t.md --json results/nlu_heldout_t.json
	$(RASA) test nlu --model $(MODEL) --nlu tests/nlu/test_nlu.yml --out results/nlu

bench: setup
	$(PY) bench/bench.py --conversations 20 --think 1.0 --stagger 1.0 --rounds 3

clean:
	rm -rf results .pytest_cache
