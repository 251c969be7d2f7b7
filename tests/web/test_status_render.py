"""The status page's and the door sign's modules (kiosk/web: status-poll.js, access-token.js,
status-model.js, room-settings.js, status-cards.js, room-settings-form.js, door-sign.js) in
real Chromium.

The modules are imported by a blank page of the same origin (a static file of a real server), so
no wiring runs: each test calls the exported functions with data shaped like ``/api/status``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.helpers.browser import blank_page
from tests.helpers.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

# The modules the tests call, merged into one namespace ``r`` (no two export the same name).
MODULES = [
    "status-poll.js",
    "access-token.js",
    "status-model.js",
    "room-settings.js",
    "status-cards.js",
    "room-settings-form.js",
    "door-sign.js",
]

ROOM: dict[str, Any] = {
    "engine": "transcribe",
    "translator": "amazon-translate",
    "source_lang": "en-US",
    "targets": ["it", "de"],
    "audio": "flowing",
    "offline": True,
    "source": {
        "session": "main-3",
        "client": "edge-audio 0.1.0",
        "remote": "127.0.0.1",
        "language": "en-US",
        "device": "pipewire:alsa_input.usb-BEHRINGER",
        "audio_seconds": 12.5,
        "last_frame_age_s": 0.02,
        "signal": {
            "rms_dbfs": -30.0,
            "peak_dbfs": -6.0,
            "clipping": False,
            "silent_s": 42.0,
            "no_signal": True,
        },
        "gaps": [],
        "dropped_s": 0.0,
    },
    "subscribers": 4,
    "finals": 17,
    "last_error": "translation: boom",
    "cost": {
        "since": "2026-11-21T10:00:00Z",
        "usd": {"recognizer": 0.024, "translate": 0.0, "polly": 0.0, "total": 0.024},
    },
    "engine_switches": [{"at": "2026-11-21T10:05:00Z", "to": "pocketsphinx", "reason": "down"}],
    "languages": [],
    "source_langs": None,
    "identification": True,
    "latency": {"last_s": 0.84, "p50_s": 0.9, "p95_s": 1.7, "count": 12},
    "listeners": {"total": 4, "audio": 1, "by_lang": {"it": 3, "en-US": 1, "de": 0}},
    "errors": [
        {"at": "2026-11-21T10:01:00Z", "message": "older"},
        {"at": "2026-11-21T10:02:00Z", "message": "newer <b>bold</b>"},
    ],
    "listen_url": "http://127.0.0.1:1/listen/main?token=LLLL",
    "speech": False,
    "synthesizer": "none",
}


@pytest.fixture
async def page(browser: Browser, server: LiveServer) -> AsyncIterator[Page]:
    """A blank page on a real server's origin, with the modules importable."""
    async with blank_page(browser, server.http, "rooms", timezone_id="UTC") as page:
        yield page


async def call(page: Page, body: str, arg: Any = None) -> Any:
    """Run ``body`` (an async arrow function body) with the modules as ``r`` and ``arg``."""
    return await page.evaluate(
        f"""async ([arg, modules]) => {{
            const r = Object.assign({{}}, ...await Promise.all(
                modules.map((name) => import(`/static/${{name}}`))));
            {body}
        }}""",
        [arg, MODULES],
    )


async def test_poll_backoff_token_and_urls(page: Page) -> None:
    got = await call(
        page,
        """return {
            delays: Array.from({length: 12}, (_, i) => r.pollDelay(i)),
            tokens: ['?token=abc', '?token=', '', '?x=1&token=%20t%20'].map(r.tokenFromSearch),
            stripped: [r.withoutToken('http://h/status?token=abc'),
                       r.withoutToken('http://h/static/door.html?room=main&token=a#x')],
            withToken: [r.withToken('/kiosk/main', 'a b&c'), r.withToken('/x?room=m', 't'),
                        r.withToken('/x', null)],
            headers: [r.authHeaders('t', {'Content-Type': 'application/json'}),
                      r.authHeaders(null)],
        };""",
    )
    # 2 s while the server answers; after failures 1 s x 1.5 per failure, at least 2 s, <= 30 s
    assert got["delays"] == [2000, 2000, 2000, 2250, 3375, 5063, 7594, 11391, 17086, 25629,
                             30000, 30000]  # fmt: skip
    assert got["tokens"] == ["abc", None, None, "t"]
    assert got["stripped"] == ["/status", "/static/door.html?room=main#x"]
    assert got["withToken"] == ["/kiosk/main?token=a%20b%26c", "/x?room=m&token=t", "/x"]
    assert got["headers"] == [
        {"Content-Type": "application/json", "Authorization": "Bearer t"},
        {},
    ]


async def test_answers_are_classified(page: Page) -> None:
    got = await call(
        page,
        """return [
            r.classifyAnswer(200, {rooms: {}}),
            r.classifyAnswer(200, null),
            r.classifyAnswer(401, {error: 'token_missing', message: 'needs the admin token'}),
            r.classifyAnswer(403, {error: 'token_wrong', message: 'not the admin token'}),
            r.classifyAnswer(403, {error: 'origin_refused', message: 'http://evil'}),
            r.classifyAnswer(429, {error: 'too_many_attempts'}, '7'),
            r.classifyAnswer(502, null),
        ].map((a) => [a.kind, a.message, a.retryAfterS ?? null]);""",
    )
    assert [kind for kind, _, _ in got] == [
        "ok", "failed", "token", "token", "refused", "busy", "failed",
    ]  # fmt: skip
    assert "needs the admin token" in got[2][1]
    assert got[3][1] == "The server refused this token: not the admin token"
    assert "http://evil" in got[4][1]
    assert got[5][2] == 7
    assert got[6][1] == "HTTP 502"


async def test_room_view(page: Page) -> None:
    view = await call(page, "return r.roomView('main', arg, 'ADM');", ROOM)
    entries = await call(page, "return r.errorEntries(r.roomView('main', arg));", ROOM)
    # Errors and engine switches together, newest first.
    assert [(e["kind"], e["message"]) for e in entries] == [
        ("switch", "switched to pocketsphinx: down"),
        ("error", "newer <b>bold</b>"),
        ("error", "older"),
    ]
    assert view["alarm"] == "no_signal"
    assert view["behind"] is False
    assert view["search"] == ""
    assert view["signal"]["rmsPercent"] == 50
    assert view["signal"]["peakPercent"] == 90
    assert view["offline"] is True
    assert view["engine"] == "transcribe"
    assert [e["message"] for e in view["errors"]] == ["newer <b>bold</b>", "older"]
    assert view["listeners"] == {"total": 4, "audio": 1, "byLang": [["it", 3], ["en-US", 1]]}
    assert view["cost"]["total"] == 0.024
    assert view["cost"]["parts"] == [["speech recognition", 0.024]]
    assert view["links"]["kiosk"] == "/kiosk/main?token=ADM"
    assert view["links"]["listen"] == ROOM["listen_url"]
    assert view["links"]["door"] == "/static/door.html?room=main&token=ADM"
    assert view["links"]["exports"][0] == {
        "label": "txt",
        "href": "/rooms/main/transcript.txt?token=ADM",
    }
    # No source: no alarm even if a stale signal were around; garbage gives safe defaults.
    quiet = await call(
        page,
        """return [r.roomView('b', {...arg, source: null, audio: 'absent'}),
                   r.roomView('c', 'garbage'),
                   r.roomView('d', {source: {signal: {clipping: true}}})];""",
        ROOM,
    )
    assert quiet[0]["alarm"] == ""
    assert quiet[0]["source"] is None
    assert quiet[1]["engine"] == "?"
    assert quiet[1]["errors"] == []
    assert quiet[1]["latency"] is None
    assert quiet[2]["alarm"] == "clipping"


async def test_settings_form_values_problems_and_body(page: Page) -> None:
    got = await call(
        page,
        """const current = {sourceLang: 'en-US', languages: [], targets: ['it']};
        return {
            list: r.parseLangList(' it, DE;pt-br  it english'),
            values: r.formValues({sourceLang: 'en-US', languages: ['en-US', 'it-IT'],
                                  targets: ['it', 'de']}),
            problems: [
                r.formProblems({sourceLang: 'it-IT', auto: false, languages: 'x y', targets: 'de'}),
                r.formProblems({sourceLang: 'english', auto: true, languages: 'en-US, zz_1',
                                targets: 'it, 42'}),
            ].map((ps) => ps.map((p) => p.field)),
            bodies: [
                r.settingsBody({sourceLang: 'en-US', auto: false, languages: '', targets: 'it'},
                               current),
                r.settingsBody({sourceLang: 'IT-it', auto: false, languages: 'x',
                                targets: 'it, de'}, current),
                r.settingsBody({sourceLang: 'english', auto: true, languages: 'en-US, it-IT',
                                targets: ''}, current),
            ],
            results: [
                r.applyResult(200, {room: 'main', source_lang: 'it-IT', languages: [],
                                    targets: ['de']}),
                r.applyResult(400, {error: 'invalid_setting', message: 'source_lang: bad'}),
                r.applyResult(409, {error: 'unsupported', message: 'only en-US'}),
                r.applyResult(500, null),
            ],
        };""",
    )
    assert got["list"] == {"codes": ["it", "de", "pt-BR"], "bad": ["english"]}
    assert got["values"] == {
        "sourceLang": "en-US",
        "auto": True,
        "languages": "en-US, it-IT",
        "targets": "it, de",
    }
    assert got["problems"] == [[], ["source_lang", "languages", "targets"]]
    assert got["bodies"] == [
        {},  # nothing changed: nothing sent
        {"source_lang": "it-IT", "targets": ["it", "de"]},  # case fixed; identification off
        # What is not a code is sent as typed: the server's message says what is wrong.
        {"source_lang": "english", "languages": ["en-US", "it-IT"], "targets": []},
    ]
    assert got["results"][0] == {
        "ok": True,
        "text": "Applied: source it-IT · fixed language · translating to de",
    }
    assert got["results"][1] == {
        "ok": False,
        "text": "Invalid (invalid_setting): source_lang: bad",
    }
    assert got["results"][2] == {"ok": False, "text": "Not possible (unsupported): only en-US"}
    assert got["results"][3] == {"ok": False, "text": "HTTP 500: no details"}


async def test_cards_render_wire_text_literally_and_keep_forms(page: Page) -> None:
    evil = '<img src=x onerror="window.__pwned=1">'
    room = {**ROOM, "errors": [{"at": "2026-11-21T10:02:00Z", "message": evil}],
            "source": {**ROOM["source"], "device": evil}}  # fmt: skip
    got = await call(
        page,
        """const box = document.getElementById('rooms');
        const views = [r.roomView('main', arg, 't'), r.roomView('aux', {}, 't')];
        r.renderRooms(box, views, (card, view, created) => {
            if (created) r.fillForm(card.querySelector('form'), r.formValues(view));
        });
        const form = box.querySelector('section[data-room="main"] form');
        const targets = form.querySelector('input.targets');
        targets.value = 'fr, es';
        r.showHints(form);
        const first = box.querySelector('section[data-room="main"]');
        // A second render (the next poll) with one room gone and the other changed.
        r.renderRooms(box, [r.roomView('main', {...arg, finals: 18}, 't')], () => {});
        return {
            same: box.querySelector('section[data-room="main"]') === first,
            cards: [...box.querySelectorAll('section.room')].map((c) => c.dataset.room),
            targets: targets.value,
            chips: [...form.querySelectorAll('.chip')].map((c) => c.textContent),
            finals: first.querySelector('dd.finals').textContent,
            alarm: first.querySelector('.alarm').textContent,
            alarmShown: !first.querySelector('.alarm').hidden,
            engine: first.querySelector('.badge.engine').textContent,
            error: first.querySelector('.error-list li.error .message').textContent,
            errorTime: first.querySelector('.error-list li.error time').textContent,
            source: first.querySelector('dd.source').textContent,
            imgs: document.querySelectorAll('img').length,
            pwned: window.__pwned ?? null,
            latency: first.querySelector('dd.latency').textContent,
            listeners: first.querySelector('dd.listeners').textContent,
            sourceInputShown: !form.querySelector('input.source-lang').hidden,
            languages: first.querySelector('dd.languages').textContent,
            nodeChose: (() => {
                const other = {...arg, source: {...arg.source, language: 'de-DE'}};
                r.renderRooms(box, [r.roomView('main', other, 't')]);
                return first.querySelector('dd.languages').textContent;
            })(),
        };""",
        room,
    )
    assert got["same"] is True  # updated in place: a form being edited is not rebuilt
    assert got["cards"] == ["main"]
    assert got["targets"] == "fr, es"
    assert got["chips"] == ["fr", "es"]
    assert got["finals"] == "18 finals"
    assert got["alarmShown"]
    assert got["alarm"].startswith("NO SIGNAL for 42.0 s")
    assert got["engine"] == "OFFLINE · transcribe"
    assert got["error"] == evil
    assert got["errorTime"] == "10:02:00"
    assert evil in got["source"]
    assert got["imgs"] == 0
    assert got["pwned"] is None
    assert got["latency"] == "last 0.84 s · p50 0.90 s · p95 1.70 s (12)"
    assert got["listeners"] == "4 connected, 1 with sound — it 3, en-US 1"
    assert got["sourceInputShown"] is True  # source_langs null: free text
    assert got["languages"] == "speaks en-US → it, de (amazon-translate)"
    assert got["nodeChose"] == (
        "speaks de-DE (chosen by the audio node; room setting en-US) → it, de (amazon-translate)"
    )


async def test_source_select_when_the_recognizer_lists_languages(page: Page) -> None:
    got = await call(
        page,
        """const box = document.getElementById('rooms');
        const view = r.roomView('ps', {...arg, engine: 'pocketsphinx', source_langs: ['en-US'],
                                       identification: false});
        r.renderRooms(box, [view], (card, v) => r.fillForm(card.querySelector('form'),
                                                           r.formValues(v)));
        const form = box.querySelector('form');
        const select = form.querySelector('select.source-lang');
        const input = form.querySelector('input.source-lang');
        const before = {
            select: !select.hidden,
            input: !input.hidden,
            options: [...select.options].map((o) => o.value),
            autoDisabled: form.querySelector('input.auto').disabled,
            values: r.readForm(form),
        };
        // "other language..." reveals a text field (the server has the last word).
        select.value = r.OTHER_LANG;
        input.value = 'it-IT';
        r.showHints(form);
        return {...before, other: [!input.hidden, r.readForm(form).sourceLang,
                                   form.querySelector('.source-hint').textContent]};""",
        ROOM,
    )
    assert got["select"] is True
    assert got["input"] is False
    assert got["options"] == ["en-US", "__other__"]
    assert got["autoDisabled"] is True
    assert got["values"] == {
        "sourceLang": "en-US",
        "auto": False,
        "languages": "",
        "targets": "it, de",
    }
    assert got["other"] == [
        True,
        "it-IT",
        "this recognizer knows en-US: the server refuses others",
    ]


async def test_link_line_and_door(page: Page) -> None:
    got = await call(
        page,
        """document.body.innerHTML = `<article id="sign"><h1 class="room-name"></h1>
            <img class="qr"><p class="listen-url"></p></article>`;
        const sign = document.getElementById('sign');
        r.renderDoor(sign, {room: 'main', qrSrc: '/rooms/main/qr.svg?token=t',
                            listenUrl: 'http://h/listen/main?token=<L>'});
        const at = Date.UTC(2026, 10, 21, 10, 15, 2);
        return {
            lines: [
                r.linkText({phase: 'ok', lastOkAt: at}),
                r.linkText({phase: 'unreachable', failingSince: at, nextPollMs: 3375,
                            message: 'no connection'}),
                r.linkText({phase: 'token'}),
                r.linkText({phase: 'connecting'}),
            ],
            door: [sign.querySelector('.room-name').textContent,
                   sign.querySelector('img').getAttribute('src'),
                   sign.querySelector('.listen-url').textContent],
        };""",
    )
    assert got["lines"] == [
        "Live · updated 10:15:02",
        "Server unreachable since 10:15:02 (no connection) — retrying in 3 s",
        "Admin token needed",
        "Connecting…",
    ]
    assert got["door"] == ["main", "/rooms/main/qr.svg?token=t", "http://h/listen/main?token=<L>"]


async def test_a_room_falling_behind_is_an_alarm_after_the_signal(page: Page) -> None:
    healthy_signal = {**ROOM["source"]["signal"], "no_signal": False}
    behind = {
        **ROOM,
        "source": {**ROOM["source"], "signal": healthy_signal},
        "behind": True,
        "recognizer_lag_s": 4.2,
        "search": "fastest",
    }
    got = await call(
        page,
        """const box = document.createElement('div');
        const view = r.roomView('main', arg, 't');
        r.renderRooms(box, [view]);
        const silent = r.roomView('main', {...arg, source: {...arg.source,
            signal: {...arg.source.signal, no_signal: true}}}, 't');
        return {alarm: view.alarm, text: r.alarmText(view), lag: view.lagS,
                engine: box.querySelector('.badge.engine').textContent,
                card: box.querySelector('.room').dataset.alarm,
                silentFirst: silent.alarm};""",
        behind,
    )
    assert got["alarm"] == "behind"
    assert got["card"] == "behind"
    assert got["lag"] == 4.2
    assert got["text"].startswith("Captions falling behind (4.20 s late)")
    assert got["engine"] == "OFFLINE · transcribe · fastest"
    assert got["silentFirst"] == "no_signal"


STORAGE_OK = {
    "state": "ok", "unsaved": 0, "unsaved_max": 5000, "oldest_unsaved_segment": None,
    "dropped": 0, "dropped_segments": None, "recovered": 0, "failures": 0, "error": None,
    "failing_since": None, "last_error": None, "last_error_at": None, "next_retry_s": None,
    "free_bytes": 3 * 1024**3, "min_free_bytes": 256 * 1024**2, "low_space": False,
}  # fmt: skip
STORAGE_CASES = {
    "ok": STORAGE_OK,
    "failing": {
        **STORAGE_OK, "state": "failing", "unsaved": 12, "failures": 3,
        "error": "ENOSPC: No space left on device", "failing_since": "2026-11-21T10:03:00Z",
        "last_error": "ENOSPC: No space left on device", "last_error_at": "2026-11-21T10:04:00Z",
        "next_retry_s": 4.5, "free_bytes": 0, "low_space": True,
    },
    "dropped": {
        **STORAGE_OK, "dropped": 1, "dropped_segments": [40, 40], "recovered": 5000,
        "last_error": "EROFS: Read-only file system", "last_error_at": "2026-11-21T10:04:00Z",
    },
    "low": {**STORAGE_OK, "free_bytes": 100 * 1024**2, "low_space": True},
    "missing": None,
}  # fmt: skip


async def test_storage_alarm_is_its_own_line_beside_the_signal_alarm(page: Page) -> None:
    got = await call(
        page,
        """const out = {};
        for (const [key, storage] of Object.entries(arg.cases)) {
          const box = document.createElement('div');
          const view = r.roomView('main', {...arg.room, storage}, 't');
          r.renderRooms(box, [view]);
          const card = box.querySelector('.room');
          const alarm = card.querySelector('.storage-alarm');
          out[key] = {kind: view.storageAlarm, text: alarm.textContent, hidden: alarm.hidden,
                      card: card.dataset.storage, signal: card.dataset.alarm,
                      line: card.querySelector('dd.storage').textContent,
                      alerts: card.querySelectorAll('[role=alert]:not([hidden])').length};
        }
        return out;""",
        {"room": ROOM, "cases": STORAGE_CASES},
    )
    assert got["ok"]["kind"] == ""
    assert got["ok"]["hidden"] is True
    assert got["ok"]["line"] == "saved on disk · 3.0 GiB free"
    failing = got["failing"]
    assert (failing["kind"], failing["hidden"], failing["card"]) == ("not_saved", False, "failing")
    assert failing["signal"] == "no_signal"  # both alarms at once
    assert failing["alerts"] == 2
    assert failing["text"].startswith(
        "TRANSCRIPT NOT SAVED — ENOSPC: No space left on device since 10:03:00: "
        "12 captions held in memory (at most 5000). Screens still get every caption."
    )
    assert failing["text"].endswith("Next try in 4.50 s.")
    assert failing["line"] == (
        "NOT SAVED: 12 captions held in memory (ENOSPC: No space left on device) · 0 B free"
    )
    assert got["dropped"]["kind"] == "dropped"
    assert got["dropped"]["text"] == (
        "Transcript incomplete: 1 caption dropped from memory (their text is in the log) while "
        "the disk refused writes (last: EROFS: Read-only file system); writing works again."
    )
    assert got["dropped"]["line"].endswith("last problem EROFS: Read-only file system at 10:04:00")
    assert got["low"]["kind"] == "low_space"
    assert got["low"]["text"].startswith("Low disk space: 100.0 MiB free on the card")
    assert (got["missing"]["kind"], got["missing"]["line"]) == ("", "—")
    assert got["missing"]["card"] == "unknown"


async def test_the_languages_line_names_the_voice_speaking_now(page: Page) -> None:
    texts = await call(
        page,
        """return [{speech: true, synthesizer: 'amazon-polly', voice_offline: false},
                   {speech: true, synthesizer: 'espeak', voice_offline: true},
                   {speech: false, synthesizer: 'none'}]
            .map((voice) => r.languagesText(r.roomView('main', {...arg, ...voice})));""",
        ROOM,
    )
    assert [t.split(") · ", 1)[-1] for t in texts] == [
        "voice amazon-polly",
        "voice espeak (standing in: Polly unavailable)",
        "speaks en-US → it, de (amazon-translate)",  # no speech: no voice named
    ]


REPLICATION_CASES = {
    "off": None,
    "ok": {"target": "redis://:***@hub:6379/0", "state": "ok", "error": None,
           "sent_through": 40, "behind": 0, "failing_since": None},
    "behind": {"target": "redis://:***@hub:6379/0", "state": "ok", "error": None,
               "sent_through": 40, "behind": 3, "failing_since": None},
    "failing": {"target": "redis://:***@hub:6379/0", "state": "failing",
                "error": "wrong password or user refused by Redis", "sent_through": 40,
                "behind": 1, "failing_since": None},
}  # fmt: skip


async def test_replication_has_its_own_line_and_an_alarm_only_while_failing(page: Page) -> None:
    got = await call(
        page,
        """const out = {};
        for (const [key, replication] of Object.entries(arg.cases)) {
          const box = document.createElement('div');
          r.renderRooms(box, [r.roomView('main', {...arg.room, replication}, 't')]);
          const card = box.querySelector('.room');
          const alarm = card.querySelector('.replication-alarm');
          const line = card.querySelector('dd.replication');
          out[key] = {alarm: alarm.hidden ? null : alarm.textContent,
                      state: card.dataset.replication, line: line.hidden ? null : line.textContent,
                      label: !line.previousElementSibling.hidden};
        }
        return out;""",
        {"room": ROOM, "cases": REPLICATION_CASES},
    )
    assert got["off"] == {"alarm": None, "state": "off", "line": None, "label": False}
    assert got["ok"] == {"alarm": None, "state": "ok", "label": True,
                         "line": "to redis://:***@hub:6379/0 · up to date"}  # fmt: skip
    assert got["behind"]["line"] == "to redis://:***@hub:6379/0 · 3 captions to send"
    assert got["failing"]["state"] == "failing"
    assert got["failing"]["alarm"] == (
        "REPLICATION FAILING — wrong password or user refused by Redis "
        "(redis://:***@hub:6379/0): 1 caption not copied yet (kept on the Pi, sent in order "
        "when it answers). Captions in the room are not affected."
    )
    assert got["failing"]["line"] == (
        "FAILING to redis://:***@hub:6379/0: wrong password or user refused by Redis"
    )


GLOSSARY_CASES: dict[str, Any] = {
    "ready": {
        "recognizer": {
            "vocabulary": "glossary",
            "languages": {
                "it-IT": {"state": "empty", "phrases": 0, "dropped": []},
                "en-US": {
                    "state": "ready",
                    "phrases": 41,
                    "dropped": [{"phrase": "C++", "reason": "'+' is not allowed"}],
                },
            },
        },
        "translator": {"terminology": "glossary", "state": "ready", "terms": 38},
    },
    "failed": {
        "recognizer": {
            "vocabulary": "glossary",
            "languages": {"en-US": {"state": "pending", "phrases": 2, "dropped": []}},
        },
        "translator": {
            "terminology": "glossary",
            "state": "failed",
            "reason": "Amazon Translate: <b>AccessDeniedException</b>",
        },
    },
    "configured": {
        "recognizer": {"vocabulary": "configured", "names": ["conf-2026-names"]},
        "translator": {"terminology": "glossary", "state": "none", "terms": 0},
    },
    "none": None,
}


async def test_the_glossary_line_shows_the_vocabulary_and_terminology(page: Page) -> None:
    got = await call(
        page,
        """const out = {};
        for (const [key, cloud_glossary] of Object.entries(arg.cases)) {
          const box = document.createElement('div');
          r.renderRooms(box, [r.roomView('main', {...arg.room, cloud_glossary}, 't')]);
          const dd = box.querySelector('dd.glossary');
          out[key] = {text: dd.textContent, hidden: dd.hidden, problem: dd.dataset.problem,
                      bold: dd.querySelectorAll('b').length};
        }
        return out;""",
        {"room": ROOM, "cases": GLOSSARY_CASES},
    )
    assert got["ready"] == {
        "text": "vocabulary en-US ready (41 phrases, 1 left out) · terminology ready (38 terms)",
        "hidden": False,
        "problem": "false",
        "bold": 0,
    }
    assert got["failed"]["text"] == (
        "⚠ terminology failed: Amazon Translate: <b>AccessDeniedException</b> · "
        "vocabulary en-US pending (2 phrases)"
    )
    assert (got["failed"]["problem"], got["failed"]["bold"]) == ("true", 0)
    assert got["configured"]["text"] == "vocabulary conf-2026-names (configured)"
    assert (got["none"]["text"], got["none"]["hidden"]) == ("", True)
