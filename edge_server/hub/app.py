"""The hub's aiohttp application: ``create_hub_app(settings, redis_url)``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import kiosk
from edge_server.core.refusals import RecentRefusals
from edge_server.core.settings import ServerSettings
from edge_server.hub import captions, overview, pages, talks
from edge_server.hub.conference import Conference
from edge_server.hub.keys import CONFERENCE
from edge_server.replication.connection import open_redis
from edge_server.web.access import install_limiter
from edge_server.web.app import close_sockets, no_cache_for_pages
from edge_server.web.app_keys import REFUSED, SETTINGS, SOCKETS, STARTED
from edge_server.web.metrics import serve_metrics
from edge_server.web.open_sockets import OpenSockets
from edge_server.web.proxies import install_proxies

BLOCKING_READ_MARGIN_S = 10.0


class ConferenceCollector(Collector):
    """The conference in Prometheus samples: per room, from the status every room writes, and
    what this hub relays."""

    def __init__(self, conference: Conference) -> None:
        self.conference = conference

    def collect(self) -> Iterator[Metric]:
        """One sample per room."""
        stale = GaugeMetricFamily("edge_hub_room_stale", "1 while a room sends no status",
                                  labels=["room"])  # fmt: skip
        alarms = GaugeMetricFamily("edge_hub_room_alarms", "Alarms of a room", labels=["room"])
        room_listeners = GaugeMetricFamily(
            "edge_hub_room_listeners", "Subscribers at the room server itself", labels=["room"]
        )
        here = GaugeMetricFamily(
            "edge_hub_listeners", "Subscribers of this hub per room", labels=["room"]
        )
        relayed = CounterMetricFamily(
            "edge_hub_finals_relayed", "Finals this hub read from Redis", labels=["room"]
        )
        redis_ok = GaugeMetricFamily("edge_hub_redis_ok", "1 while the hub reads Redis")
        redis_ok.add_metric([], float(self.conference.error is None))
        for room in self.conference.rooms:
            stale.add_metric([room.room], float(room.stale))
            alarms.add_metric([room.room], float(len(room.alarms)))
            room_listeners.add_metric([room.room], float(room.status.get("listeners") or 0))
        for name, relay in sorted(self.conference.relays.items()):
            here.add_metric([name], float(len(relay.broadcaster.subscribers)))
            relayed.add_metric([name], float(relay.relayed))
        yield from (stale, alarms, room_listeners, here, relayed, redis_ok)


async def _conference_lifecycle(app: web.Application) -> AsyncIterator[None]:
    conference = app[CONFERENCE]
    task = asyncio.create_task(conference.run(), name="hub-conference")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await conference.close()
    await conference.client.aclose()


def create_hub_app(settings: ServerSettings, redis_url: str) -> web.Application:
    """The hub: the conference overview, captions, listener pages, exports and metrics, all
    from the Redis at ``redis_url`` (nothing kept of its own)."""
    from edge_server.hub.relay import BLOCK_MS

    app = web.Application()
    app[SETTINGS] = settings
    app[SOCKETS] = OpenSockets()
    app[REFUSED] = RecentRefusals()  # subscribers refused (old tokens), as on a room server
    app[STARTED] = time.monotonic()
    client = open_redis(redis_url, command_timeout_s=BLOCK_MS / 1000 + BLOCKING_READ_MARGIN_S)
    app[CONFERENCE] = Conference(client, redis_url, settings.hub_stale_s, settings.backlog_max)
    install_proxies(app)
    install_limiter(app)
    app.cleanup_ctx.append(_conference_lifecycle)
    app.on_shutdown.append(close_sockets)
    app.on_response_prepare.append(no_cache_for_pages)
    serve_metrics(app, ConferenceCollector(app[CONFERENCE]))
    app.add_routes(
        [
            web.get("/", overview.overview_page),
            web.get("/api/overview", overview.api_overview),
            web.get("/listen/{room}", pages.listen_page),
            web.get("/kiosk/{room}", pages.kiosk_page),
            web.get("/overlay/{room}", pages.overlay_page),
            web.get("/rooms/{room}/qr.svg", pages.qr_code),
            web.get(r"/rooms/{room}/transcript.{fmt:txt|srt|vtt|jsonl}", pages.transcript_export),
            web.get("/rooms/{room}/talks", talks.list_talks),
            web.get(
                r"/rooms/{room}/talks/{talk_id}/transcript.{fmt:txt|srt|vtt|jsonl}",
                talks.talk_transcript,
            ),
            web.get("/ws/captions/{room}", captions.captions),
            web.static("/static", kiosk.WEB_ROOT),
        ]
    )
    return app
