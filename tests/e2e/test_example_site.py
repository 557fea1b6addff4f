"""The example site (``examples/host_site``) in real Chromium: log in, draw, a visitor watches.

Alice logs in with the site's own form and draws on a whiteboard under
``/whiteboard`` with the mouse; a visitor who is not logged in sees her stroke
live, has no drawing tools, and cannot change the note with the mouse or the
keyboard: the server's state stays Alice's. The visitor then follows the page's
"Log in to draw" link, logs in as Bob, lands back on the note and can draw.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, shot, stroke_ids, wait_connected, wait_for, wait_ids, wait_ink

from serverproc import HostSite

pytestmark = pytest.mark.browser

TRANSPORTS = [pytest.param("", id="default"), pytest.param("polling", id="polling")]
LINE_A = [(200.0, 300.0), (320.0, 300.0), (440.0, 300.0)]
LINE_V = [(200.0, 450.0), (300.0, 420.0), (420.0, 470.0)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    with HostSite(tmp_path_factory.mktemp("host_site_e2e")) as srv:
        yield srv


def stored(site: HostSite, note: str) -> dict[str, Any]:
    """The note as the server holds it (read as a visitor: the view role may read)."""
    r = requests.get(f"{site.url}/whiteboard/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return dict(r.json())


def log_in(page: Any, user: str) -> None:
    """Fill the site's login form (the page is on /login) and wait for the redirect."""
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-pw")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)


def drag(page: Any, points: list[tuple[float, float]]) -> None:
    """A mouse drag through ``points`` (no stroke expected)."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=8)
    page.mouse.up()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_logged_in_user_draws_and_a_visitor_watches(
    site: HostSite, opener: Opener, console: Console, artifacts: Path, transport: str
) -> None:
    note = "site-" + uuid.uuid4().hex[:10]
    query = f"?transport={transport}" if transport else ""
    url = f"{site.url}/whiteboard/n/{note}{query}"

    # Alice logs in through the site's own form, then opens a whiteboard.
    alice_ctx = opener.new_context("Alice")
    alice = alice_ctx.new_page()
    console.watch(alice, "alice")
    alice.goto(site.url + "/login")
    log_in(alice, "alice")
    assert "Hello Alice" in alice.inner_text("main")
    alice.goto(url)
    wait_connected(alice)
    assert alice.get_attribute("#whoami", "data-user") == "alice"  # the site's own template override
    assert alice.evaluate("window.collab.sync.role") == "edit"
    assert alice.is_visible("#toolbar") and not alice.is_visible("#view-only")

    # A visitor (no login) opens the same note: view only, no tools.
    visitor = opener.page(url, "Visitor")
    wait_for(visitor, "() => document.querySelector('#people').dataset.count === '2'")
    assert visitor.evaluate("window.collab.sync.role") == "view"
    wait_for(visitor, "() => document.body.classList.contains('read-only')")
    assert not visitor.is_visible("#style-panel") and not visitor.is_visible("#clear")
    assert not visitor.is_visible(".tool[data-tool=pen]") and visitor.is_visible(".tool[data-tool=laser]")
    assert visitor.is_visible("#view-only")  # view-only is shown at all times
    assert "view only" in visitor.inner_text("#host-badge")

    # Alice draws with the mouse; the visitor sees it live.
    first = draw(alice, LINE_A)
    wait_ids(visitor, [first])
    wait_ink(visitor, 380, 300, present=True)
    wait_connected(alice)
    assert [s["id"] for s in stored(site, note)["strokes"]] == [first]

    # The visitor tries to draw, to undo and to clear: nothing leaves the page.
    drag(visitor, LINE_V)
    visitor.keyboard.press("Control+z")
    visitor.keyboard.press("Shift+Delete")
    wait_for(visitor, "() => [...document.querySelectorAll('#toasts *')].some(t => /view/i.test(t.textContent))")
    assert stroke_ids(visitor, pending=True) == [first]
    assert visitor.evaluate("window.collab.sync.outbox.entries.length") == 0
    wait_connected(visitor)
    wait_ink(visitor, 250, 435, present=False)
    # Alice draws again: when her second stroke reaches the visitor, the server holds exactly hers.
    second = draw(alice, [(200.0, 550.0), (440.0, 550.0)])
    wait_ids(visitor, [first, second])
    wait_connected(alice)
    state = stored(site, note)
    assert [s["id"] for s in state["strokes"]] == [first, second] and state["seq"] == 2
    wait_ink(alice, 250, 435, present=False)
    shot(visitor, artifacts, f"example-site-{transport or 'default'}-visitor")

    # The visitor logs in from the page's own link and comes back able to draw.
    visitor.click("#host-badge a:has-text('Log in to draw')")
    log_in(visitor, "bob")
    assert visitor.url.startswith(f"{site.url}/whiteboard/n/{note}")
    wait_connected(visitor)
    assert visitor.evaluate("window.collab.sync.role") == "edit"
    assert "Bob (can draw)" in visitor.inner_text("#host-badge")
    third = draw(visitor, LINE_V)
    wait_ids(alice, [first, second, third])
    wait_ink(alice, 250, 435, present=True)
    wait_connected(visitor)
    assert [s["id"] for s in stored(site, note)["strokes"]] == [first, second, third]
    shot(alice, artifacts, f"example-site-{transport or 'default'}-alice")
    console.assert_clean()


def test_share_links_open_a_private_board_to_visitors(
    site: HostSite, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = "private-" + uuid.uuid4().hex[:10]
    url = f"{site.url}/whiteboard/n/{note}"
    alice = opener.new_context("Alice").new_page()
    console.watch(alice, "alice")
    alice.goto(f"{site.url}/login?next=/whiteboard/n/{note}")
    log_in(alice, "alice")
    wait_connected(alice)
    first = draw(alice, LINE_A)
    wait_connected(alice)

    # Alice makes a view link and an edit link from her page (same origin, her session).
    make = "role => fetch(location.pathname.replace('/n/', '/api/notes/') + '/share', {method: 'POST',"
    make += " headers: {'Content-Type': 'application/json'}, body: JSON.stringify({role})}).then(r => r.json())"
    view_link = alice.evaluate(make, "view")["url"]
    edit_link = alice.evaluate(make, "edit")["url"]
    assert view_link.startswith(url + "?share=")

    # Without a link a visitor is refused: the page says so and shows nothing.
    stranger = opener.page(url, "Stranger", wait=False)
    stranger.wait_for_selector("#gone:has-text('You cannot open this note')")
    assert "may not" in stranger.inner_text("#gone")
    assert not stranger.is_visible("#toolbar") and not stranger.is_visible("#stage")
    assert stroke_ids(stranger, pending=True) == []
    assert stranger.evaluate("Object.keys(localStorage).filter(k => k.startsWith('collab.outbox.')).length") == 0

    # With the view link: the drawing, live, and no tools.
    viewer = opener.page(view_link, "Viewer")
    wait_ids(viewer, [first])
    assert viewer.evaluate("window.collab.sync.role") == "view"
    assert not viewer.is_visible("#style-panel") and not viewer.is_visible(".tool[data-tool=pen]")
    assert viewer.is_visible("#view-only")
    # With the edit link: a visitor may draw, and everyone sees it.
    editor = opener.page(edit_link, "Editor")
    assert editor.evaluate("window.collab.sync.role") == "edit"
    second = draw(editor, LINE_V)
    wait_ids(viewer, [first, second])
    wait_ids(alice, [first, second])
    wait_connected(editor)
    shot(viewer, artifacts, "example-site-share-viewer")
    console.assert_clean()
