"""The server side of one Transcribe stream in the fake: audio in, transcript events out."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from amazon_transcribe.eventstream import EventStreamBuffer, EventStreamMessageSerializer
from h2.exceptions import ProtocolError

from tests.fakes.transcribe_model import FakeSpeechModel, ModelConfig
from tests.fakes.transcribe_script import EmittedEvent, RecordedStream, flag

if TYPE_CHECKING:
    from tests.fakes.transcribe_fake import _Protocol

_SERIALIZER = EventStreamMessageSerializer()
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.transcribe.streaming/"


class FakeStream:
    """Server side of one HTTP/2 stream."""

    def __init__(self, proto: _Protocol, stream_id: int, record: RecordedStream) -> None:
        self.proto = proto
        self.stream_id = stream_id
        self.record = record
        self.script = proto.fake.next_script()
        fake = proto.fake
        headers = record.headers
        identify = flag(headers.get("x-amzn-transcribe-identify-language"))
        options = headers.get("x-amzn-transcribe-language-options", "")
        language = headers.get("x-amzn-transcribe-language-code") or (
            headers.get("x-amzn-transcribe-preferred-language") or options.split(",")[0]
        )
        self.model = FakeSpeechModel(
            ModelConfig(
                stabilization=flag(
                    headers.get("x-amzn-transcribe-enable-partial-results-stabilization")
                ),
                identify=identify,
                language=language,
                language_for=fake.language_for if identify else None,
                stable_tail=fake.stable_tail,
                max_words=fake.max_words,
            ),
            result_prefix=f"s{record.index}",
        )
        self.buffer = EventStreamBuffer()
        self.outbox: deque[tuple[bytes, str, bool]] = deque()
        self.end_pending = False
        self.finished = False
        self.failed = False
        self.answered = False

    def start(self) -> None:
        if self.script.hang:
            return
        if self.script.answer_delay_s > 0:
            asyncio.get_running_loop().call_later(self.script.answer_delay_s, self._answer)
            return
        self._answer()

    def _answer(self) -> None:
        if self.proto.closed:
            return
        if self.script.reject_status is not None:
            body = json.dumps({"Message": self.script.reject_message}).encode()
            self.proto.conn.send_headers(
                self.stream_id,
                [
                    (":status", str(self.script.reject_status)),
                    ("x-amzn-errortype", f"{self.script.reject_type}:{_ERROR_NAMESPACE}"),
                    ("content-type", "application/x-amz-json-1.1"),
                    ("x-amzn-requestid", f"req-{self.record.index}"),
                ],
            )
            self.proto.conn.send_data(self.stream_id, body, end_stream=True)
            self.finished = True
            self.proto.flush()
            return
        self.proto.conn.send_headers(
            self.stream_id,
            [
                (":status", "200"),
                ("content-type", "application/vnd.amazon.eventstream"),
                ("x-amzn-request-id", f"req-{self.record.index}"),
                ("x-amzn-transcribe-session-id", f"session-{self.record.index}"),
                ("x-amzn-transcribe-sample-rate", "16000"),
                ("x-amzn-transcribe-media-encoding", "pcm"),
            ],
        )
        self.answered = True
        self.proto.flush()
        self.pump()

    def data(self, data: bytes) -> None:
        if self.finished or self.failed or self.script.hang:
            return
        self.buffer.add_data(data)
        for message in self.buffer:
            if not message.payload:
                self.record.client_ended = True
                self.finish()
                return
            inner = EventStreamBuffer()
            inner.add_data(message.payload)
            for event in inner:
                if event.headers.get(":event-type") == "AudioEvent":
                    self.audio(event.payload)
            if self.finished or self.failed:
                return

    def audio(self, pcm: bytes) -> None:
        self.record.audio += pcm
        self.record.audio_events += 1
        for result in self.model.feed(pcm):
            self.queue_result(result)
        script = self.script
        if script.drop_after_s is not None and self.record.audio_s >= script.drop_after_s:
            self.failed = True
            self.proto.drop()
        elif (
            script.exception_after_s is not None and self.record.audio_s >= script.exception_after_s
        ):
            self.failed = True
            payload = json.dumps({"Message": script.exception_message}).encode()
            headers = {
                ":message-type": "exception",
                ":exception-type": script.exception_type,
                ":content-type": "application/json",
            }
            self.queue(_SERIALIZER.serialize(headers, payload), "", False)
            self.queue_end()

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for result in self.model.finish():
            self.queue_result(result)
        self.queue_end()

    def queue_result(self, result: dict[str, Any]) -> None:
        headers = {
            ":message-type": "event",
            ":event-type": "TranscriptEvent",
            ":content-type": "application/json",
        }
        payload = json.dumps({"Transcript": {"Results": [result]}}).encode()
        text = result["Alternatives"][0]["Transcript"]
        self.queue(_SERIALIZER.serialize(headers, payload), text, bool(result["IsPartial"]))

    def queue(self, data: bytes, text: str, is_partial: bool) -> None:
        delay = self.script.event_delay_s
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._enqueue, data, text, is_partial)
        else:
            self._enqueue(data, text, is_partial)

    def queue_end(self) -> None:
        delay = self.script.event_delay_s
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._enqueue_end)
        else:
            self._enqueue_end()

    def _enqueue(self, data: bytes, text: str, is_partial: bool) -> None:
        self.outbox.append((data, text, is_partial))
        self.pump()

    def _enqueue_end(self) -> None:
        self.end_pending = True
        self.pump()

    def acks(self) -> bool:
        """Whether received data still earns flow-control window."""
        limit = self.script.stop_acking_after_s
        return limit is None or self.record.audio_s < limit

    def pump(self) -> None:
        """Send what the flow-control window allows, then the end of the stream."""
        conn = self.proto.conn
        if self.proto.closed or self.record.closed or not self.answered:
            return
        try:
            while self.outbox:
                data, text, is_partial = self.outbox[0]
                if conn.local_flow_control_window(self.stream_id) < len(data):
                    return
                self.outbox.popleft()
                step = conn.max_outbound_frame_size
                for offset in range(0, len(data), step):
                    conn.send_data(self.stream_id, data[offset : offset + step])
                self.proto.flush()
                if text or is_partial:
                    self.record.emitted.append(EmittedEvent(text, is_partial, time.monotonic()))
            if self.end_pending:
                self.end_pending = False
                conn.end_stream(self.stream_id)
                self.proto.flush()
        except ProtocolError:
            # The client reset or closed the stream meanwhile.
            self.outbox.clear()
