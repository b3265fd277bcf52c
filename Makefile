# painsign: `make demo` runs the main job on the bundled demo, `make test` runs the tests.
# Both create .venv (Python 3.11) and install painsign into it when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.painsign-installed

.PHONY: install test test-fast demo demo-unit demo-video bench lint models models-check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[gui,dev]"
	touch $(STAMP)

install: $(STAMP)

PYTEST := QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
# Processes for the tests not marked `slow` (pytest-xdist; 0 runs them in one process).
TEST_PROCESSES ?= 2

# Every test. The `slow` ones wait on the wall clock (real-time replays, timeouts) or build
# the wheel: they run afterwards in one process, so that no other test takes their time.
test: $(STAMP)
	$(PYTEST) -m "not slow" -n $(TEST_PROCESSES); fast=$$?; \
	$(PYTEST) -m slow; slow=$$?; \
	[ $$fast -eq 0 ] && [ $$slow -eq 0 ]

# The tests not marked `slow`: for the edit-test loop.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow" -n $(TEST_PROCESSES)

# Speed, latency and memory on this machine (see README, Performance).
bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -o addopts="" tests/benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds
	$(BIN)/painsign bench

# ruff (lint and format), the layer contracts (import-linter) and mypy on signal/,
# alarms/, scoring/ and monitor/; .ci/run runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/painsign models --verify
	$(BIN)/painsign detect assets/astronaut.jpg --out out/demo_faces.png
	$(BIN)/painsign analyze assets/demo_grimace.mp4 --out out/demo
	@echo "open out/demo/sign.png (the pain sign), out/demo/summary.json, out/demo/frames.csv"
	@echo "the monitor replays the demo video with shortened alarm delays (--demo); close its window or press Ctrl+C to stop"
	$(BIN)/painsign monitor --video assets/demo_grimace.mp4 --bed "demo bed" --db out/demo/sessions.db --demo

# A unit on this machine: mosquitto on a free loopback port (BROKER=mqtt://HOST:PORT uses a
# running broker instead), three headless bedside monitors replaying the demo video and the
# central station window (HEADLESS=1: one line per bed change). One Ctrl+C stops them all.
demo-unit: $(STAMP)
	BIN=$(BIN) scripts/demo_unit.sh

# Rebuild the ONNX models from MediaPipe's TFLite files with pinned tools.
$(VENV)-models/.ok: scripts/models-requirements.txt
	test -x $(VENV)-models/bin/python || $(PYTHON) -m venv $(VENV)-models
	$(VENV)-models/bin/python -m pip install --quiet -r scripts/models-requirements.txt
	touch $@

models: $(VENV)-models/.ok
	$(VENV)-models/bin/python scripts/build_models.py

models-check: $(VENV)-models/.ok
	$(VENV)-models/bin/python scripts/build_models.py --check

clean:
	rm -rf out build dist .pytest_cache .ruff_cache

# Re-render the synthetic demo video from assets/grace_hopper.jpg.
demo-video: $(STAMP)
	$(BIN)/python scripts/make_demo_video.py
