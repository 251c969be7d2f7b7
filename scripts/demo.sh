#!/bin/bash
# The offline demo: start edge-server on the embedded engine, stream real recorded speech (public
# domain LibriVox readings) through edge-audio in real time, and print the captions as they
# are finalized. Open the kiosk URL it prints to watch the monitor page.
#
# Settings (environment): DEMO_HOST (127.0.0.1; 0.0.0.0 to open the kiosk from another
# machine), DEMO_PORT (8080), DEMO_ROOM (demo), DEMO_SPEED (1 = real time), DEMO_STATE
# (demo-state). With a terminal on stdin the server keeps running after the talk, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

host="${DEMO_HOST:-127.0.0.1}"
port="${DEMO_PORT:-8080}"
room="${DEMO_ROOM:-demo}"
speed="${DEMO_SPEED:-1}"
state="${DEMO_STATE:-demo-state}"
bin=.venv/bin
url_host="$host"
[ "$host" = "0.0.0.0" ] && url_host="$(hostname -I 2>/dev/null | awk '{print $1}')"
base="http://${url_host:-127.0.0.1}:$port"
local_base="http://127.0.0.1:$port"
[ "$host" != "0.0.0.0" ] && local_base="http://$host:$port"

echo "demo: fetching the LibriVox recordings (pocketsphinx's source distribution)"
speech="$(scripts/fetch-speech.sh)"

# One continuous "talk": the recordings in order, with a pause between sentences.
talk=.cache/speech/librivox-talk.wav
if [ ! -f "$talk" ]; then
    "$bin/python" - "$speech" "$talk" <<'PY'
import sys
from pathlib import Path

import numpy as np
import soundfile

folder, out = Path(sys.argv[1]), sys.argv[2]
parts = []
for name in (folder / "fileids").read_text().split():
    data, rate = soundfile.read(folder / f"{name}.wav", dtype="int16")
    parts += [data, np.zeros(int(rate * 0.9), dtype=np.int16)]
soundfile.write(out, np.concatenate(parts), rate, subtype="PCM_16")
PY
fi

server_pid=""
follow_pid=""
cleanup() {
    [ -n "$follow_pid" ] && kill "$follow_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin/edge-server" --log-level WARNING serve --host "$host" --port "$port" \
    --state-dir "$state" &
server_pid=$!

echo "demo: starting edge-server (offline engine: pocketsphinx) on port $port"
for _ in $(seq 1 100); do
    if "$bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "$local_base/healthz" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "demo: edge-server did not start (is port $port in use? set DEMO_PORT)" >&2
        exit 1
    fi
    sleep 0.2
done

cat <<MSG

  Kiosk page (open in a browser):  $base/kiosk/$room
  Health:                          $base/healthz
  Transcript:                      $base/rooms/$room/transcript.txt  (.srt, .vtt)

demo: streaming $(basename "$talk") to room '$room' at ${speed}x real time; captions:

MSG

"$bin/edge-server" --log-level WARNING follow "$room" --server "$local_base" --backlog 0 &
follow_pid=$!
sleep 1
"$bin/edge-audio" --log-level WARNING stream-file "$talk" --server "$local_base" --room "$room" \
    --lang en-US --speed "$speed" --quiet
sleep 1

echo
echo "demo: the talk is over. Transcript (.txt):"
"$bin/python" -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" \
    "$local_base/rooms/$room/transcript.txt"
if [ -t 0 ]; then
    echo "demo: the server keeps running for the kiosk page at $base/kiosk/$room — Ctrl-C to stop."
    wait "$server_pid"
fi
