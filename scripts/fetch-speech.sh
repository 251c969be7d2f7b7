#!/bin/sh
# Fetch the public-domain LibriVox recordings (with their transcripts) that ship in the
# pocketsphinx source distribution, into .cache/speech/librivox/. Prints that folder.
set -eu
cd "$(dirname "$0")/.."
dest=.cache/speech
if [ ! -f "$dest/librivox/fileids" ]; then
    version="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pocketsphinx"))')"
    mkdir -p "$dest/sdist"
    # With pocketsphinx's build backend at hand, pip reads the sdist's metadata without
    # compiling it (in an isolated build environment it compiles the whole library: minutes).
    .cache/uv-tool/bin/pip install -q scikit-build-core >&2
    .cache/uv-tool/bin/pip download -q --no-binary :all: --no-deps --no-build-isolation \
        "pocketsphinx==$version" -d "$dest/sdist" >&2
    tar -xzf "$dest/sdist/pocketsphinx-$version.tar.gz" -C "$dest/sdist" \
        "pocketsphinx-$version/test/data/librivox"
    rm -rf "$dest/librivox"
    mv "$dest/sdist/pocketsphinx-$version/test/data/librivox" "$dest/librivox"
    rm -rf "$dest/sdist"
fi
echo "$(pwd)/$dest/librivox"
