"""``GET /metrics``: every room's state in the Prometheus text format.

A collector reads the rooms at each scrape (no counters to keep in step); the registry belongs
to the application, not to the process, so tests and several apps do not share it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge_server.rooms.registry import RoomRegistry
from edge_server.rooms.status_views import audio_state
from edge_server.web.app_keys import ROOMS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RoomCollector(Collector):
    """Gauges and counters derived from the rooms' current state."""

    def __init__(self, rooms: RoomRegistry) -> None:
        self.rooms = rooms

    def collect(self) -> Iterator[Metric]:
        """One sample per room (and per engine or service where it applies)."""
        flowing = GaugeMetricFamily(
            "edge_room_audio_flowing", "1 while audio frames arrive", labels=["room"]
        )
        offline = GaugeMetricFamily(
            "edge_room_offline", "1 while the embedded engine stands in for the cloud",
            labels=["room"],
        )  # fmt: skip
        subscribers = GaugeMetricFamily(
            "edge_room_subscribers", "Connected caption subscribers", labels=["room"]
        )
        rms = GaugeMetricFamily(
            "edge_room_signal_rms_dbfs", "Last reported input level", labels=["room"]
        )
        no_signal = GaugeMetricFamily(
            "edge_room_no_signal", "1 while the audio node reports no signal", labels=["room"]
        )
        finals = CounterMetricFamily(
            "edge_room_finals", "Finalized captions in the transcript", labels=["room"]
        )
        audio = CounterMetricFamily(
            "edge_room_recognizer_audio_seconds", "Audio sent to each recognizer",
            labels=["room", "engine"],
        )  # fmt: skip
        cost = GaugeMetricFamily(
            "edge_room_cost_usd", "Estimated cloud cost since start", labels=["room", "service"]
        )
        latency = GaugeMetricFamily(
            "edge_room_caption_latency_seconds",
            "Recent delay from the audio that ended a sentence to its final (p50, p95)",
            labels=["room", "quantile"],
        )
        lag = GaugeMetricFamily(
            "edge_room_recognizer_lag_seconds",
            "How long ago the audio the embedded recognizer decodes now arrived",
            labels=["room"],
        )
        behind = GaugeMetricFamily(
            "edge_room_recognizer_behind",
            "1 while the recognizer falls behind real time even at its fastest setting",
            labels=["room"],
        )
        listeners = GaugeMetricFamily(
            "edge_room_listeners_with_speech", "Listeners receiving speech", labels=["room", "lang"]
        )
        storage = StorageMetrics()
        for name, room in sorted(self.rooms.rooms.items()):
            storage.add(name, room.store.storage())
            summary = room.latency.summary()
            if summary is not None:
                latency.add_metric([name, "0.5"], summary.p50_s)
                latency.add_metric([name, "0.95"], summary.p95_s)
            for lang in sorted(room.broadcaster.audio_languages()):
                listeners.add_metric([name, lang], float(len(room.broadcaster.listeners(lang))))
            flowing.add_metric([name], float(audio_state(room) == "flowing"))
            health = room.recognizer.health()
            offline.add_metric([name], float(health.offline))
            behind.add_metric([name], float(health.behind))
            if health.lag_s is not None:
                lag.add_metric([name], health.lag_s)
            subscribers.add_metric([name], float(len(room.broadcaster.subscribers)))
            finals.add_metric([name], float(room.store.count))
            signal = room.source.signal if room.source else None
            if signal is not None:
                rms.add_metric([name], signal.rms_dbfs)
                no_signal.add_metric([name], float(signal.no_signal))
            for engine, seconds in sorted(room.costs.recognizer_seconds.items()):
                audio.add_metric([name, engine], seconds)
            for service, usd in room.costs.estimate()["usd"].items():
                cost.add_metric([name, service], usd)
        yield from (flowing, offline, subscribers, rms, no_signal, finals, audio, cost)
        yield from (latency, listeners, lag, behind)
        yield from storage.families()


class StorageMetrics:
    """The transcript storage's samples: whether it writes, what it holds, what it lost."""

    def __init__(self) -> None:
        self.ok = GaugeMetricFamily(
            "edge_room_storage_ok",
            "1 while the transcript is written; 0 while the disk refuses it (finals held)",
            labels=["room"],
        )
        self.failing = GaugeMetricFamily(
            "edge_room_storage_failing",
            "1 for the error that stops the transcript now (ENOSPC, EROFS, EIO, ...)",
            labels=["room", "error"],
        )
        self.unsaved = GaugeMetricFamily(
            "edge_room_unsaved_finals", "Finals shown but held in memory, not on disk yet",
            labels=["room"],
        )  # fmt: skip
        self.unsaved_max = GaugeMetricFamily(
            "edge_room_unsaved_finals_max", "Most finals held before the oldest is dropped",
            labels=["room"],
        )  # fmt: skip
        self.dropped = CounterMetricFamily(
            "edge_room_unsaved_dropped",
            "Unsaved finals dropped from memory because the cap was reached (in the log only)",
            labels=["room"],
        )
        self.failures = CounterMetricFamily(
            "edge_room_storage_write_failures", "Failed transcript write attempts",
            labels=["room"],
        )  # fmt: skip
        self.free = GaugeMetricFamily(
            "edge_room_state_free_bytes", "Free space of the state folder's file system",
            labels=["room"],
        )  # fmt: skip
        self.low = GaugeMetricFamily(
            "edge_room_state_low_space", "1 while free space is below min_free_mb",
            labels=["room"],
        )  # fmt: skip

    def add(self, room: str, storage: Mapping[str, Any]) -> None:
        """One room's samples from its ``storage`` report."""
        ok = storage["state"] == "ok"
        self.ok.add_metric([room], float(ok))
        if not ok:
            error = str(storage["error"] or "unknown").split(":", 1)[0]
            self.failing.add_metric([room, error], 1.0)
        self.unsaved.add_metric([room], float(storage["unsaved"]))
        self.unsaved_max.add_metric([room], float(storage["unsaved_max"]))
        self.dropped.add_metric([room], float(storage["dropped"]))
        self.failures.add_metric([room], float(storage["failures"]))
        if storage["free_bytes"] is not None:
            self.free.add_metric([room], float(storage["free_bytes"]))
        self.low.add_metric([room], float(bool(storage["low_space"])))

    def families(self) -> Iterator[Metric]:
        """Every family, samples added."""
        yield from (self.ok, self.failing, self.unsaved, self.unsaved_max, self.dropped)
        yield from (self.failures, self.free, self.low)


def setup_metrics(app: web.Application) -> None:
    """Register the collector for this app and add the route."""
    serve_metrics(app, RoomCollector(app[ROOMS]))


def serve_metrics(app: web.Application, collector: Collector) -> None:
    """``GET /metrics`` with ``collector``'s samples, in a registry of this app's own (room
    servers and hubs)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
