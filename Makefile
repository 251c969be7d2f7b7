# The targets the README and CI call. Every target installs what it needs first.
#   make demo   set up (Debian packages, .venv) and run the offline demo
#   make test   set up (plus test tools) and run lint, type checks and the whole test suite
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

test: setup-dev speech-data lint typecheck pytest test-py311

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
