# Thin on purpose: every target is uv or the `journey` command.
# Python is the machine's 3.11; nothing here downloads an interpreter.
export UV_PYTHON ?= python3.11
export UV_PYTHON_DOWNLOADS ?= never
UV ?= uv
RUN := $(UV) run --frozen

.PHONY: install browser container-tools run test test-unit test-faults test-deploy test-containers images lint audit format schemas-check bench bench-processor devstack-up devstack-down devstack-status

install:  ## the workspace, from the committed lock file
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen

run: install  ## the main job: the system, a simulated cohort, a report, then serve until Ctrl-C (RUN_ARGS="--journeys 500")
	$(RUN) journey run $(RUN_ARGS)

browser:  ## Debian's Chromium, which the dashboard test drives headless (needs root or sudo)
	@command -v chromium >/dev/null || { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; }

test: install browser  ## unit, contract and integration tests on a real Kafka, PostgreSQL, Jaeger and Prometheus
	$(RUN) journey devstack run -- $(UV) run --frozen pytest

# Every test that needs no server: each member's tests/unit, the contracts and the
# observability checks, the authorisation matrix on in-memory apps (tests/authorisation),
# the layout rules (tests/layout) and the benchmarks' CPU accounting (tests/bench).
# tests/integration, tests/deploy and tests/faults need the stack.
UNIT_TESTS := libs services cli schemas tests/contracts tests/observability tests/authorisation tests/layout tests/bench

test-unit: install  ## the unit tests alone, one process per core: no Kafka, no PostgreSQL, no root (PYTEST_ARGS="-k planner")
	env -u KAFKA_BOOTSTRAP_SERVERS -u DATABASE_URL $(RUN) pytest -n auto $(UNIT_TESTS) $(PYTEST_ARGS)

test-faults: install  ## the whole system under a simulated load, one fault per scenario (tests/faults, FAULTS_ARGS="-k kafka")
	$(RUN) journey devstack run -- $(UV) run --frozen pytest -m faults tests/faults $(FAULTS_ARGS)

container-tools:  ## podman, buildah, runc and debootstrap from Debian, for the images and the compose stack (needs root or sudo)
	@command -v podman >/dev/null && command -v buildah >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || { apt-get install -y -q podman buildah runc debootstrap || { apt-get update -q && apt-get install -y -q podman buildah runc debootstrap; }; }

test-deploy: install container-tools  ## container images, the compose stack, the Helm chart and a real kube-apiserver (tests/deploy)
	$(RUN) journey devstack run -- $(UV) run --frozen pytest -m deploy tests/deploy

# The integration tests that make test-containers runs (CONTAINER_TESTS=tests/integration for all).
CONTAINER_TESTS ?= tests/integration/test_outbox.py tests/integration/test_dead_letter.py tests/integration/test_partner_journey.py

test-containers: install  ## CONTAINER_TESTS on testcontainers' Kafka and PostgreSQL: podman's API on a private socket (or Docker's), local server images where no registry answers; not in CI
	$(RUN) journey images --only kafka --only postgres $(IMAGES_ARGS)
	$(RUN) journey testcontainers -- $(UV) run --frozen pytest $(CONTAINER_TESTS)

images: install  ## the container images with podman or docker; local bases where no registry answers (IMAGES_ARGS="--bases public")
	$(RUN) journey images $(IMAGES_ARGS)

lint: install  ## ruff and strict mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy libs cli/src cli/tests services tests bench

audit: install  ## pip-audit of every pinned package (waivers: deploy/audit/waivers.toml), bandit, an SBOM; into build/audit/
	$(RUN) journey audit

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

schemas-check: install  ## no incompatible schema change within a major version
	$(RUN) journey schemas check

bench: devstack-up  ## referral writes/s and latency on the real stack, one JSON object (BENCH_ARGS="--clients 64")
	$(RUN) python bench/referral_writes.py $(BENCH_ARGS)

bench-processor: devstack-up  ## journey processor: the core, one and two workers against a plain decode loop, state per journey, report-to-flag latency; one JSON object (BENCH_ARGS="--journeys 30000 --engine kafka|faust --skip-latency --skip-two-workers --latency-only")
	$(RUN) python bench/processor_throughput.py $(BENCH_ARGS)

devstack-up: install
	$(RUN) journey devstack up

devstack-down:
	$(RUN) journey devstack down

devstack-status:
	$(RUN) journey devstack status
