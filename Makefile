# Thin on purpose: every target is uv or the `journey` command.
# Python is the machine's 3.11; nothing here downloads an interpreter.
export UV_PYTHON ?= python3.11
export UV_PYTHON_DOWNLOADS ?= never
UV ?= uv
RUN := $(UV) run --frozen

.PHONY: install browser run test lint format schemas-check bench bench-processor devstack-up devstack-down devstack-status

install:  ## the workspace, from the committed lock file
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen

run: install  ## the main job: the system, a simulated cohort, a report, then serve until Ctrl-C (RUN_ARGS="--journeys 500")
	$(RUN) journey run $(RUN_ARGS)

browser:  ## Debian's Chromium, which the dashboard test drives headless (needs root or sudo)
	@command -v chromium >/dev/null || { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; }

test: install browser  ## unit, contract and integration tests on a real Kafka and PostgreSQL
	$(RUN) journey devstack run -- $(UV) run --frozen pytest

lint: install  ## ruff and strict mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy libs cli/src services tests bench

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

schemas-check: install  ## no incompatible schema change within a major version
	$(RUN) journey schemas check

bench: devstack-up  ## referral writes/s and latency on the real stack, one JSON object (BENCH_ARGS="--clients 64")
	$(RUN) python bench/referral_writes.py $(BENCH_ARGS)

bench-processor: devstack-up  ## journey processor events/s against a plain decode loop, one JSON object (BENCH_ARGS="--journeys 30000")
	$(RUN) python bench/journey_processor.py $(BENCH_ARGS)

devstack-up: install
	$(RUN) journey devstack up

devstack-down:
	$(RUN) journey devstack down

devstack-status:
	$(RUN) journey devstack status
