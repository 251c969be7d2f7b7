#!/bin/sh
# Create .venv with uv from the committed uv.lock. Usage: setup-venv.sh [run|test]
# uv itself is installed into .cache/uv-tool (Debian has no uv package before Trixie).
set -eu
mode="${1:-run}"
cd "$(dirname "$0")/.."
python="$(scripts/find-python.sh)"
if [ ! -x .cache/uv-tool/bin/uv ]; then
    echo "setup: installing uv into .cache/uv-tool"
    "$python" -m venv .cache/uv-tool
    .cache/uv-tool/bin/pip install -q uv
fi
uv=.cache/uv-tool/bin/uv
# The run set keeps test tools that are already there (--inexact), so `make demo` after
# `make test` does not undo it.
if [ "$mode" = test ]; then groups=""; else groups="--no-dev --inexact"; fi
# systemd-python (the `journal` extra: journal fields, sd_notify) builds from source against
# libsystemd; without its headers (macOS, a laptop without libsystemd-dev) the programs log
# plain text and notify with the standard library, so the extra is simply left out.
extras=""
if pkg-config --exists libsystemd 2>/dev/null; then
    extras="--extra journal"
else
    echo "setup: no libsystemd-dev/pkg-config: leaving out systemd-python (plain logs)"
fi
echo "setup: .venv with $("$python" --version) ($python)"
"$uv" sync --frozen --python "$python" $groups $extras --quiet
