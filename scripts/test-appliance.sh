#!/bin/sh
# Run the appliance's tests alone: lint, syntax, and the converge into fresh Debian 13 roots
# (as root). Usage: scripts/test-appliance.sh [--cold] [pytest arguments]
#   --cold  forget the cached base root and downloads first (what CI starts from)
# Timings, recaps and exposure scores end up in .cache/appliance/report.txt too.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = --cold ]; then
    shift
    rm -rf .cache/appliance
fi
exec .venv/bin/python -m pytest tests/appliance/test_appliance.py -p no:cacheprovider "$@"
