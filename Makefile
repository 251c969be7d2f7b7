# The targets the README and CI call. Every target installs what it needs first.
#   make demo   set up (Debian packages, .venv) and run the offline demo
#   make test   set up (plus test tools) and run lint, type checks and the whole test suite
#               (the converges beside the rest, the fault tests alone: see the target)
#   make test-py311  the suite on Python 3.11 (Raspberry Pi OS Bookworm), if present (part of test)
#   make bundle  the offline install bundle for the Pis (dist/edge-captions-bundle-*.tar)
#   make test-arm64  the full arm64 converge under qemu (audio and display nodes, offline)
#   make test-long  the long runs CI leaves out: 5 min partition, 2-hour soak, 8-hour day

VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup setup-dev speech-data demo serve lint typecheck pytest test test-py311 clean
.PHONY: bundle test-arm64 test-long

setup:
	scripts/setup-system.sh run
	scripts/setup-venv.sh run

setup-dev:
	scripts/setup-system.sh test
	scripts/setup-venv.sh test

speech-data:
	scripts/fetch-speech.sh >/dev/null

demo: setup
	scripts/demo.sh

serve: setup
	$(BIN)/edge-server serve

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make test, in three steps so the slow parts overlap:
#  1. the converges (markers appliance, arm64: Debian roots, dpkg, qemu; mostly one core) in the
#     background, their output in .cache/test-converges.log, while the rest of the suite runs
#     on Python 3.13 (but the fault tests), then the whole suite on Python 3.11;
#  2. the converges' output, once they are done;
#  3. the fault tests (marker faults: partitions, kills, the soak, the conference day) alone, so
#     their timings are not measured beside a converge.
# It fails if any step failed. `make pytest test-py311` runs the same tests one after another.
CONVERGES := appliance or arm64
test: setup-dev speech-data lint typecheck
	@mkdir -p .cache; rm -f .cache/test-converges.log; \
	set -m 2>/dev/null; $(BIN)/python -m pytest -p no:cacheprovider -m "$(CONVERGES)" $(PYTEST_ARGS) \
		>.cache/test-converges.log 2>&1 & \
	converges=$$!; set +m; \
	trap 'kill -INT $$converges 2>/dev/null; wait $$converges; exit 130' INT TERM; \
	$(BIN)/python -m pytest -m "not ($(CONVERGES)) and not faults" $(PYTEST_ARGS); rest=$$?; \
	scripts/test-py311.sh; py311=$$?; \
	wait $$converges; conv=$$?; trap - INT TERM; \
	echo "== the converges (pytest -m '$(CONVERGES)', beside the above) =="; \
	cat .cache/test-converges.log; \
	echo "== the fault tests, alone =="; \
	$(BIN)/python -m pytest -m "faults and not ($(CONVERGES))" $(PYTEST_ARGS); faults=$$?; \
	echo "test: exit 3.13 $$rest, 3.11 $$py311, converges $$conv, faults $$faults"; \
	[ $$rest -eq 0 ] && [ $$py311 -eq 0 ] && [ $$conv -eq 0 ] && [ $$faults -eq 0 ]

test-py311: setup-dev speech-data
	scripts/test-py311.sh

# make bundle [BUNDLE_ARCH=arm64] [BUNDLE_SUITE=trixie] [BUNDLE_PYTHONS="3.13 3.11"]: everything
# a Pi would otherwise download, in one archive (docs/deploy.md, "no internet at the venue").
BUNDLE_ARCH ?= arm64
BUNDLE_SUITE ?= trixie
BUNDLE_PYTHONS ?= 3.13 3.11
bundle: setup-dev
	$(BIN)/python -m scripts.offline_bundle build --out dist --arch $(BUNDLE_ARCH) \
		--suite $(BUNDLE_SUITE) $(foreach p,$(BUNDLE_PYTHONS),--python $(p)) --work .cache/bundle

test-arm64: setup-dev speech-data
	EDGE_ARM64_FULL=1 scripts/test-arm64.sh

# make test-long [LONG_SOAK_HOURS=2] [LONG_DAY_HOURS=8]: the fault tests at their full length
# (about half an hour; root): the 5 min partition, the soak and the conference day.
LONG_SOAK_HOURS ?= 2
LONG_DAY_HOURS ?= 8
test-long: setup-dev speech-data
	PARTITION_5MIN=1 SOAK_HOURS=$(LONG_SOAK_HOURS) SOAK_DAY_HOURS=$(LONG_DAY_HOURS) \
		$(BIN)/python -m pytest tests/faults/test_partition.py tests/faults/test_soak.py \
		tests/faults/test_conference_day.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-py311 .cache .mypy_cache .ruff_cache .pytest_cache demo-state

# make bench [BENCH_ARGS=--quick]: the benchmarks (docs/performance.md says what they measure);
# prints a table, writes bench/results/bench.json, docs/performance.md and its plots.
BENCH_ARGS ?=
.PHONY: bench
bench: setup-dev speech-data
	$(BIN)/python -m bench $(BENCH_ARGS)
