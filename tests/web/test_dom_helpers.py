"""The DOM helpers shared by every page (kiosk/web/dom.js) in real Chromium.

The module is imported by a blank page of the same origin (a static file of a real server), so
no page wiring runs. A MutationObserver records what each helper really writes: the setters
must not touch a node whose value is already right (no layout, no lost focus or selection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.helpers.browser import blank_page
from tests.helpers.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


@pytest.fixture
async def page(browser: Browser, server: LiveServer) -> AsyncIterator[Page]:
    """A blank page on a real server's origin, with dom.js importable."""
    async with blank_page(browser, server.http, "root") as page:
        yield page


async def call(page: Page, body: str) -> Any:
    """Run ``body`` with dom.js as ``d``, the ``<main>`` as ``root`` and ``watch(node, fn)``,
    which runs ``fn`` and returns the mutations it caused under ``node`` as short strings."""
    return await page.evaluate(
        f"""async () => {{
            const d = await import('/static/dom.js');
            const root = document.getElementById('root');
            const watch = (node, fn) => {{
                const observer = new MutationObserver(() => {{}});
                observer.observe(node, {{subtree: true, childList: true, attributes: true,
                                         characterData: true}});
                fn();
                const records = observer.takeRecords();
                observer.disconnect();
                return records.map((r) => r.type === 'attributes' ? `attr:${{r.attributeName}}`
                    : r.type === 'childList'
                        ? `list:+${{[...r.addedNodes].map((n) => n.id || n.nodeName)}}` +
                          `-${{[...r.removedNodes].map((n) => n.id || n.nodeName)}}`
                        : r.type);
            }};
            {body}
        }}"""
    )


async def test_el_writes_text_literally(page: Page) -> None:
    got = await call(
        page,
        """const evil = '<img src=x onerror="window.__pwned=1">';
        const a = d.el(document, 'p', 'line final', evil);
        const b = d.el(document, 'span');
        const c = d.el(document, 'span', '', '');
        root.append(a, b, c);
        return {
            tag: a.tagName, cls: a.className, text: a.textContent, children: a.children.length,
            bare: [b.className, b.hasAttribute('class'), b.textContent, b.childNodes.length],
            empty: [c.hasAttribute('class'), c.textContent],
            imgs: document.querySelectorAll('img').length,
            pwned: window.__pwned ?? null,
        };""",
    )
    assert got["tag"] == "P"
    assert got["cls"] == "line final"
    assert got["text"] == '<img src=x onerror="window.__pwned=1">'
    assert got["children"] == 0
    assert got["bare"] == ["", False, "", 0]
    assert got["empty"] == [False, ""]
    assert got["imgs"] == 0
    assert got["pwned"] is None


async def test_setters_write_only_on_change(page: Page) -> None:
    got = await call(
        page,
        """const node = d.el(document, 'p', 'x', 'same');
        node.dataset.age = '1';
        node.setAttribute('href', '/a');
        root.append(node);
        const unchanged = watch(root, () => {
            d.setText(node, 'same');
            d.setShown(node, true);
            d.setData(node, 'age', '1');
            d.setAttr(node, 'href', '/a');
        });
        const changed = watch(root, () => {
            d.setText(node, '<b>new</b>');
            d.setShown(node, false);
            d.setData(node, 'age', '2');
            d.setAttr(node, 'href', '/b');
        });
        const again = watch(root, () => {
            d.setShown(node, false);
            d.setText(node, '<b>new</b>');
        });
        return {
            unchanged, changed, again,
            state: [node.textContent, node.children.length, node.hidden, node.dataset.age,
                    node.getAttribute('href')],
            shownAgain: (d.setShown(node, true), node.hidden),
        };""",
    )
    assert got["unchanged"] == []
    assert got["changed"] == ["list:+#text-#text", "attr:hidden", "attr:data-age", "attr:href"]
    assert got["again"] == []
    assert got["state"] == ["<b>new</b>", 0, True, "2", "/b"]
    assert got["shownAgain"] is False


async def test_reconcile_moves_as_little_as_possible(page: Page) -> None:
    got = await call(
        page,
        """const make = (id) => Object.assign(document.createElement('div'), {id});
        const [a, b, c, e] = ['a', 'b', 'c', 'e'].map(make);
        root.append(a, b, c);
        const ids = () => [...root.children].map((n) => n.id);
        const first = watch(root, () => d.reconcile(root, [a, c, e]));
        const afterFirst = ids();
        const same = watch(root, () => d.reconcile(root, [a, c, e]));
        d.reconcile(root, [e, a]);
        const reordered = ids();
        d.reconcile(root, []);
        return {first, afterFirst, same, reordered, kept: root.contains(a), empty: ids(),
                identity: (d.reconcile(root, [b]), root.firstElementChild === b)};""",
    )
    # b leaves and e arrives; a and c are neither removed nor re-inserted.
    assert got["first"] == ["list:+-b", "list:+e-"]
    assert got["afterFirst"] == ["a", "c", "e"]
    assert got["same"] == []
    assert got["reordered"] == ["e", "a"]
    assert got["kept"] is False
    assert got["empty"] == []
    assert got["identity"] is True
