"""Streaming speech recognition with pocketsphinx: voice-activity endpointing plus decoding.

:class:`StreamingDecoder` turns arbitrary chunks of 16 kHz s16le audio into partial and final
results. It runs inside the worker process (pocketsphinx holds the GIL while it decodes, so it
never runs in the server's process). No I/O here: chunks in, event dicts out.

pocketsphinx's endpointer hands speech out one window late (it needs the window to decide).
Only its decisions are used: once it says speech began, the decoder gets the frames it held
since then, and from there each frame as it arrives, so partials show words about 0.27 s
sooner. When it says speech ended, the decoder has also seen the window of silence after the
end, which it needs to settle the last word anyway.

The room's glossary (:meth:`StreamingDecoder.set_glossary`) adds its written words to every
decoder's dictionary and language model, with a boosted probability (see :mod:`.vocabulary`).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pocketsphinx import Decoder, Endpointer

from edge_server.engines.pocketsphinx.search import SearchProfile, ladder_for
from edge_server.engines.pocketsphinx.vocabulary import (
    EngineWord,
    VocabularyPlan,
    WrittenForm,
    plan_vocabulary,
)
from edge_server.engines.pocketsphinx.worker_protocol import DecoderOptions


class StreamingDecoder:
    """pocketsphinx decoders, reused across streams (loading the model is the slow part).

    One decoder per step of the speed ladder, each made the first time its step is used
    (about 90 MB and 0.3 s of CPU each here), so a room that never falls behind holds one; at
    most two are kept (the accurate one and the one in use).
    """

    def __init__(self, options: DecoderOptions | None = None) -> None:
        self.options = options or DecoderOptions()
        self.ladder: tuple[SearchProfile, ...] = ladder_for(self.options.search)
        self._decoders: dict[int, Decoder] = {}
        self.vocabulary = VocabularyPlan()
        """The glossary words every decoder has (:meth:`set_glossary`)."""
        self._wanted_forms: tuple[WrittenForm, ...] | None = None
        self.step = 0
        self._wanted_step = 0
        self._decoder = self._decoder_for(0)
        self._endpointer = self._new_endpointer()
        self._decoded_s = 0.0
        self._progress_at = 0.0
        self._pending = b""
        self._in_utterance = False
        self._utt_start = 0.0
        self._utt_audio_s = 0.0
        self._last_partial_at = 0.0
        self._last_partial_text = ""
        self._frame_index = 0
        self._fed_upto = 0
        """Frames before this index went to the decoder already."""
        self._frame_s = float(self._endpointer.frame_length)
        self._recent: deque[tuple[int, bytes]] = deque(
            maxlen=round(self.options.vad_window_s / self._frame_s) + 1
        )
        """Frames not yet decoded, at most a window of them: where an utterance begins."""

    def _decoder_for(self, step: int) -> Decoder:
        decoder = self._decoders.get(step)
        if decoder is None:
            decoder = Decoder(loglevel="ERROR", **self.ladder[step].settings)
            self._teach(decoder, self.vocabulary.added)
            self._decoders[step] = decoder
        return decoder

    def _teach(self, decoder: Decoder, words: tuple[EngineWord, ...]) -> None:
        """Add ``words`` to ``decoder``: first to its language model with the boosted weight
        (``Decoder.add_word`` would add them with an average one, and a word cannot be
        re-weighted once there), then to its dictionary, rebuilding the search once."""
        if not words:
            return
        lm = decoder.get_lm()
        for entry in words:
            lm.add_word(entry.word, self.options.glossary_weight)
        for index, entry in enumerate(words):
            decoder.add_word(entry.word, entry.phones, index == len(words) - 1)

    def set_glossary(self, forms: tuple[WrittenForm, ...]) -> list[dict[str, Any]]:
        """Use the glossary ``forms`` from the next utterance on (at once between utterances).

        Returns the ``glossary`` event when it applied at once, else nothing (it comes with
        the first audio after the current utterance's final)."""
        self._wanted_forms = forms
        return [] if self._in_utterance else self._apply_glossary()

    def _apply_glossary(self) -> list[dict[str, Any]]:
        forms, self._wanted_forms = self._wanted_forms, None
        if forms is None:
            return []
        old = {w.word for w in self.vocabulary.added}
        lookup = self._decoder.lookup_word
        # Against the model's own dictionary: the words added before do not count as known.
        plan = plan_vocabulary(forms, lambda word: None if word in old else lookup(word))
        new = [w for w in plan.added if w.word not in old]
        if old <= {w.word for w in plan.added}:
            for decoder in self._decoders.values():
                self._teach(decoder, tuple(new))  # only words to add: in place
            self.vocabulary = plan
        else:
            # A word cannot be taken out of a decoder: make the one in use again.
            self.vocabulary = plan
            self._decoders.clear()
            self._decoder = self._decoder_for(self.step)
        return [{"t": "glossary", **plan.summary()}]

    def request_step(self, step: int) -> list[dict[str, Any]]:
        """Use ladder step ``step`` from the next utterance on (at once between utterances).

        Returns the ``step`` event when it applied at once, else nothing (it comes with the
        first audio after the current utterance's final)."""
        self._wanted_step = max(0, min(step, len(self.ladder) - 1))
        return [] if self._in_utterance else self._apply_step()

    def _between_utterances(self) -> list[dict[str, Any]]:
        """What was asked for during an utterance: a speed step, a glossary."""
        return self._apply_step() + self._apply_glossary()

    def _apply_step(self) -> list[dict[str, Any]]:
        if self._wanted_step == self.step:
            return []
        self.step = self._wanted_step
        self._decoder = self._decoder_for(self.step)
        for step in [s for s in self._decoders if s not in (0, self.step)]:
            del self._decoders[step]  # at most two in memory: the accurate one and this one
        return [{"t": "step", "step": self.step, "name": self.ladder[self.step].name}]

    def _new_endpointer(self) -> Endpointer:
        return Endpointer(window=self.options.vad_window_s, ratio=self.options.vad_ratio)

    @property
    def frame_bytes(self) -> int:
        """Bytes the endpointer takes at a time (30 ms)."""
        return int(self._endpointer.frame_bytes)

    def start_stream(self) -> None:
        """Reset timing and state for a new stream (a new audio connection)."""
        if self._in_utterance:
            self._decoder.end_utt()
        self._endpointer = self._new_endpointer()
        self._pending = b""
        self._in_utterance = False
        self._decoded_s = 0.0
        self._progress_at = 0.0
        self._frame_index = 0
        self._fed_upto = 0
        self._recent.clear()

    def process(self, pcm: bytes) -> list[dict[str, Any]]:
        """Feed audio; return the partial and final events it produced."""
        # A step asked for during an utterance applies here, after that utterance's final
        # went out (making a decoder the first time costs about 0.3 s of CPU).
        events: list[dict[str, Any]] = [] if self._in_utterance else self._between_utterances()
        data = self._pending + pcm
        size = self.frame_bytes
        whole = len(data) - len(data) % size
        for offset in range(0, whole, size):
            events.extend(self._process_frame(data[offset : offset + size]))
        self._pending = data[whole:]
        self._decoded_s += whole / 32000.0
        if self._decoded_s - self._progress_at >= self.options.progress_interval_s:
            self._progress_at = self._decoded_s
            events.append({"t": "progress", "at": round(self._decoded_s, 3)})
        return events

    def finish(self) -> list[dict[str, Any]]:
        """End of stream: decode what is buffered and finalize the utterance in progress."""
        events: list[dict[str, Any]] = []
        # end_stream() flushes the endpointer's window of delayed speech; it fails on an empty
        # buffer (pocketsphinx 5.1.1), so an exact multiple of 30 ms ends with one silent sample.
        tail = self._pending or b"\0\0"
        self._pending = b""
        was_in_speech = self._endpointer.in_speech
        speech = self._endpointer.end_stream(tail)
        if self._in_utterance:
            self._feed(tail)  # what the endpointer still held went to the decoder already
        elif speech is not None:
            self._begin(self._endpointer.speech_start)
            self._feed(speech)
        if self._in_utterance:
            end = self._endpointer.speech_end if was_in_speech else self._utt_end()
            events.extend(self._finalize(max(end, self._utt_end())))
        return events

    # --- internals ---------------------------------------------------------------------------

    def _utt_end(self) -> float:
        return self._utt_start + self._utt_audio_s

    def _begin(self, start: float) -> None:
        self._decoder.start_utt()
        self._in_utterance = True
        self._utt_start = start
        self._utt_audio_s = 0.0
        self._last_partial_at = 0.0
        self._last_partial_text = ""

    def _feed(self, speech: bytes) -> None:
        self._decoder.process_raw(speech, no_search=False, full_utt=False)
        self._utt_audio_s += len(speech) / 32000.0

    def _process_frame(self, frame: bytes) -> list[dict[str, Any]]:
        index = self._frame_index
        self._frame_index += 1
        self._recent.append((index, frame))  # bounded: the frames of one window
        was_in_speech = self._endpointer.in_speech
        if self._endpointer.process(frame) is None:
            return []
        if not self._in_utterance:
            self._begin(self._endpointer.speech_start)
            first = max(self._fed_upto, round(self._endpointer.speech_start / self._frame_s))
            held = b"".join(f for i, f in self._recent if i >= first)
        else:
            held = b"".join(f for i, f in self._recent if i >= self._fed_upto)
        self._fed_upto = index + 1
        self._feed(held)
        if was_in_speech and not self._endpointer.in_speech:
            return self._finalize(self._endpointer.speech_end)
        if self._utt_audio_s >= self.options.max_utterance_s:
            end = self._utt_end()
            events = self._finalize(end)
            self._begin(end)
            return events
        return self._maybe_partial()

    def _hyp_text(self) -> str:
        hyp = self._decoder.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""

    def _maybe_partial(self) -> list[dict[str, Any]]:
        if self._utt_audio_s - self._last_partial_at < self.options.partial_interval_s:
            return []
        self._last_partial_at = self._utt_audio_s
        text = self._hyp_text()
        if not text or text == self._last_partial_text:
            return []
        self._last_partial_text = text
        return [{"t": "partial", "text": text, "start": self._utt_start, "end": self._utt_end()}]

    def _finalize(self, end: float) -> list[dict[str, Any]]:
        self._decoder.end_utt()
        self._in_utterance = False
        text = self._hyp_text()
        return [{"t": "final", "text": text, "start": self._utt_start, "end": end}]
