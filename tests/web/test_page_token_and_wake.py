"""The pages' shared pieces for secrets and screens, in real Chromium: ``takeToken`` (the token
leaves the address, stays for the tab) and ``ScreenWake`` (asks at once, again when visible,
says when it cannot), with plain objects standing in for location, storage and navigator."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser

from tests.helpers.browser import blank_page
from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

TOKEN_SCRIPT = """async () => {
  const { takeToken } = await import("/static/access-token.js");
  const memory = () => {
    const items = new Map();
    return { setItem: (k, v) => items.set(k, v), getItem: (k) => items.get(k) ?? null, items };
  };
  const run = (href, storage) => {
    const replaced = [];
    const url = new URL(href);
    const token = takeToken({ search: url.search, href, storage, key: "k",
      replaceUrl: (u) => replaced.push(u) });
    return { token, replaced, stored: storage?.items ? Object.fromEntries(storage.items) : null };
  };
  const kept = memory();
  const broken = { setItem: () => { throw new Error("quota"); },
                   getItem: () => { throw new Error("denied"); } };
  return [
    run("https://h/listen/main?token=abc&lang=it#x", kept),
    run("https://h/listen/main?lang=it", kept),          // later: the kept one
    run("https://h/listen/main?token=new", kept),        // a new QR code wins
    run("https://h/listen/main?token=%20", memory()),    // blank is none
    run("https://h/listen/main?token=abc", null),        // no storage: the page keeps it
    run("https://h/listen/main?token=abc", broken),      // storage refusing: same
    run("https://h/listen/main", broken),
  ];
}"""


async def test_take_token(server: LiveServer, browser: Browser) -> None:
    async with blank_page(browser, server.http, "main") as page:
        out: list[dict[str, Any]] = await page.evaluate(TOKEN_SCRIPT)
    assert out == [
        {"token": "abc", "replaced": ["/listen/main?lang=it#x"], "stored": {"k": "abc"}},
        {"token": "abc", "replaced": [], "stored": {"k": "abc"}},
        {"token": "new", "replaced": ["/listen/main"], "stored": {"k": "new"}},
        {"token": None, "replaced": [], "stored": {}},
        {"token": "abc", "replaced": ["/listen/main"], "stored": None},
        {"token": "abc", "replaced": ["/listen/main"], "stored": None},
        {"token": None, "replaced": [], "stored": None},
    ]


WAKE_SCRIPT = """async () => {
  const { ScreenWake, wakeNote } = await import("/static/screen-wake.js");
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const fakeDoc = () => {
    const doc = new EventTarget();
    doc.visibilityState = "visible";
    return doc;
  };
  const granting = () => {
    const asked = [];
    return { asked, wakeLock: { request: async (type) => {
      asked.push(type);
      const sentinel = new EventTarget();
      sentinel.release = async () => sentinel.dispatchEvent(new Event("release"));
      return sentinel;
    } } };
  };
  const results = {};
  const show = (doc, state) => {
    doc.visibilityState = state;
    doc.dispatchEvent(new Event("visibilitychange"));
    return settle();
  };

  // Granted at once; released when hidden; asked again only once visible.
  {
    const nav = granting(), doc = fakeDoc(), states = [];
    const wake = new ScreenWake({ nav, doc, onChange: (s) => states.push(s) });
    wake.start(); await settle();
    await wake.sentinel.release();
    await show(doc, "hidden");
    const whileHidden = nav.asked.length;
    await show(doc, "visible");
    await show(doc, "visible");  // held: not asked twice
    results.granted = { states, asked: nav.asked, whileHidden, state: wake.state };
  }
  // Refused, then allowed on a later try (a tap).
  {
    let allow = false;
    const nav = { wakeLock: { request: async () => {
      if (!allow) throw new DOMException("denied", "NotAllowedError");
      const sentinel = new EventTarget(); return sentinel;
    } } };
    const states = [];
    const wake = new ScreenWake({ nav, doc: fakeDoc(), onChange: (s) => states.push(s) });
    wake.start(); await settle();
    allow = true; await wake.keep();
    results.refused = { states, requests: wake.requests };
  }
  // No API (plain http, old browser): never asks, says so.
  {
    const states = [];
    const wake = new ScreenWake({ nav: {}, doc: fakeDoc(), onChange: (s) => states.push(s) });
    wake.start(); await settle();
    results.unsupported = { states, requests: wake.requests };
  }
  // Loaded in a hidden tab: nothing until visible.
  {
    const nav = granting(), doc = fakeDoc();
    doc.visibilityState = "hidden";
    const wake = new ScreenWake({ nav, doc });
    wake.start(); await settle();
    results.hidden = { asked: nav.asked.length, state: wake.state };
  }
  results.notes = ["on", "off", "refused", "unsupported"].flatMap(
    (s) => [wakeNote(s, true), wakeNote(s, false)]);
  return results;
}"""


async def test_screen_wake(server: LiveServer, browser: Browser) -> None:
    async with blank_page(browser, server.http, "main") as page:
        out: dict[str, Any] = await page.evaluate(WAKE_SCRIPT)
    assert out["granted"] == {
        "states": ["off", "on", "off", "on"],
        "asked": ["screen", "screen"],
        "whileHidden": 1,
        "state": "on",
    }
    assert out["refused"] == {"states": ["off", "refused", "on"], "requests": 2}
    assert out["unsupported"] == {"states": ["unsupported"], "requests": 0}
    assert out["hidden"] == {"asked": 0, "state": "off"}
    on, _, off, _, refused, _, no_api_secure, no_api_plain = out["notes"]
    assert on == "The screen stays on while this page is open."
    assert off == ""
    assert "did not allow" in refused
    assert "This browser cannot keep the screen on" in no_api_secure
    assert "needs the https address" in no_api_plain
