#!/bin/sh
# Print the path of the Python to use: $PYTHON if set, else 3.13 (Raspberry Pi OS Trixie's),
# else the system python3 if it is at least 3.11 (Bookworm). Exit 1 when none fits.
set -eu
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; }
if [ -n "${PYTHON:-}" ]; then
    ok "$PYTHON" && { command -v "$PYTHON"; exit 0; }
    echo "PYTHON=$PYTHON is not a Python >= 3.11" >&2; exit 1
fi
for candidate in python3.13 \
    "$(pyenv root 2>/dev/null)/versions/3.13.0/bin/python3" \
    /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && ok "$candidate"; then
        command -v "$candidate"; exit 0
    fi
done
echo "no Python >= 3.11 found: install python3 (Debian 12+ or Raspberry Pi OS Bookworm+)" >&2
exit 1
