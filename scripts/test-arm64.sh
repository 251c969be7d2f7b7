#!/bin/sh
# Run the arm64 converge alone (as root): the offline bundle built, refused bundles tried, and
# site.yml converging an arm64 Debian 13 root under qemu from the bundle with no network, then
# speech recognized there. Usage: scripts/test-arm64.sh [--cold] [pytest arguments]
#   --cold  forget the cached arm64 base root and converged root first
# A converged audio root kept from a run with the same inputs is reused (the report says CACHED);
# EDGE_ARM64_FRESH=1 converges anyway (tests/appliance/test_arm64.py says what the key holds).
# EDGE_ARM64_FULL=1 (make test-arm64) converges the display node too (Chromium: slow emulated).
# Timings, recaps and the recognized text end up in .cache/arm64/report.txt.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = --cold ]; then
    shift
    rm -rf .cache/arm64
fi
exec .venv/bin/python -m pytest tests/appliance/test_arm64.py -p no:cacheprovider "$@"
