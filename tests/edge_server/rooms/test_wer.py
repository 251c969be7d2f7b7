"""Recognition quality through the whole system versus pocketsphinx decoding the same files in
one batch: the streamed word error rate must be within 0.10 of the batch one.

The server's search is pinned to ``accurate`` (the adaptive default would step to a faster
search here: ``--speed 0`` sends faster than real time, which looks like falling behind)."""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path

import jiwer
import pytest
from pocketsphinx import Decoder

from tests.helpers.live_server import LiveServers, make_settings
from tests.helpers.processes import EDGE_AUDIO

pytestmark = pytest.mark.speech
WER_MARGIN = 0.10


SPELLINGS = {"mr": "mister", "mr.": "mister", "mrs": "missus", "mrs.": "missus"}


def normalize(text: str) -> str:
    # The corpus transcripts spell "mister", the dictionary has "mr"; compare words, not spelling
    # (nor the sentence case and full stops the server adds).
    words = (word.strip(".,!?") for word in text.lower().split())
    return " ".join(SPELLINGS.get(word, word) for word in words)


def batch_decode(files: list[Path]) -> list[str]:
    decoder = Decoder(loglevel="ERROR")
    out = []
    for wav in files:
        with wave.open(str(wav)) as w:
            pcm = w.readframes(w.getnframes())
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        out.append(hyp.hypstr if hyp is not None else "")
    return out


async def test_streamed_wer_is_within_margin_of_batch(
    live_server: LiveServers,
    tmp_path: Path,
    librivox_files: list[tuple[Path, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = await live_server(make_settings(tmp_path / "state", offline_search="accurate"))
    files = [wav for wav, _ in librivox_files]
    references = [normalize(ref) for _, ref in librivox_files]
    batch = [normalize(h) for h in await asyncio.to_thread(batch_decode, files)]

    streamed: list[str] = []
    store = server.settings.state_dir / "rooms" / "main" / "transcript.jsonl"
    seen = 0
    for wav in files:
        proc = await asyncio.create_subprocess_exec(
            *EDGE_AUDIO, "stream-file", str(wav), "--server", server.http, "--room", "main",
            "--lang", "en-US", "--speed", "0", "--quiet",
        )  # fmt: skip
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        records = [json.loads(line) for line in store.read_text().splitlines()]
        streamed.append(" ".join(r["text"] for r in records[seen:]))
        seen = len(records)
    streamed = [normalize(s) for s in streamed]

    batch_wer = jiwer.wer(references, batch)
    streamed_wer = jiwer.wer(references, streamed)
    report = (
        f"LibriVox ({len(files)} files): batch WER {batch_wer:.3f}, "
        f"streamed through edge-audio -> edge-server WER {streamed_wer:.3f}, "
        f"difference {streamed_wer - batch_wer:+.3f} (allowed +{WER_MARGIN:.2f})"
    )
    with capsys.disabled():  # the figures belong in every test log
        print("\n" + report)
        for ref, b, s in zip(references, batch, streamed, strict=True):
            print(f"  ref:      {ref}\n  batch:    {b}\n  streamed: {s}")
    assert streamed_wer <= batch_wer + WER_MARGIN, report
