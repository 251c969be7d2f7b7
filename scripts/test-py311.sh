#!/bin/sh
# Run the test suite on Python 3.11 (Raspberry Pi OS Bookworm's) in .venv-py311, when a 3.11
# interpreter exists here; say so and succeed when it does not.
set -eu
cd "$(dirname "$0")/.."
py311=""
for candidate in python3.11 "$(pyenv root 2>/dev/null)/versions/3.11.7/bin/python3" /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        py311="$(command -v "$candidate")"
        break
    fi
done
if [ -z "$py311" ]; then
    echo "test-py311: no Python 3.11 on this machine; skipped"
    exit 0
fi
UV_PROJECT_ENVIRONMENT=.venv-py311 .cache/uv-tool/bin/uv sync --frozen --python "$py311" --quiet
.venv-py311/bin/mypy --python-version 3.11
# The appliance and arm64 converges are the same on both Pythons (they run inside Debian 13
# roots, with the roots' own Python): once is enough.
.venv-py311/bin/python -m pytest -q -m "not appliance and not arm64" "$@"
