"""Issue 17's page fixes, in Chromium against the real server: a refused visitor, the
connection states, thumbnails, wheel zoom, friendly network errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, shot, wait_connected, wait_for

from serverproc import HostSite, ServerProcess

pytestmark = pytest.mark.browser


def fresh_note() -> str:
    return "rules-" + uuid.uuid4().hex[:12]


def test_a_refused_visitor_sees_why_and_where_to_log_in(
    tmp_path: Path, opener: Opener, console: Console, artifacts: Path
) -> None:
    """The host's rules give no role: no fake toolbar, nothing queued, and a login link
    when the host's page has <link rel="login">."""
    with ServerProcess(tmp_path, env={"COLLAB_DEFAULT_ROLE": "none"}) as srv:
        note = fresh_note()
        ctx = opener.new_context("Eve")

        def with_login(route: Any) -> None:
            resp = route.fetch()
            body = resp.text().replace("</head>", '<link rel="login" href="/login?next=here"></head>')
            route.fulfill(response=resp, body=body)

        ctx.route(f"**/n/{note}?transport=polling", with_login)
        failed: list[tuple[int, str, str]] = []
        ctx.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.request.method, r.url)))
        # (A routed document may not open WebSockets to 127.0.0.1 in Chromium: long-polling.)
        page = opener.page(f"{srv.url}/n/{note}?transport=polling", ctx=ctx, wait=False)
        page.mouse.move(300, 300)
        page.mouse.down()
        page.mouse.move(400, 300, steps=4)
        page.mouse.up()
        page.wait_for_selector("#gone:has-text('You cannot open this note')")
        assert page.get_attribute("#gone a:has-text('Log in')", "href") == "/login?next=here"
        assert not page.is_visible("#toolbar") and not page.is_visible("#style-panel")
        assert page.get_attribute("#status", "data-state") == "refused"
        assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('collab.outbox.')).length") == 0
        assert requests.get(f"{srv.url}/api/notes/{note}", timeout=10).status_code in (403, 404)
        shot(page, artifacts, "rules-refused")
        # Chromium logs the 403 of the page's own API calls, if any; none are made. The one
        # failure allowed: a long-poll the page sent just before its own disconnect, which
        # reaches the server after it and is answered 400 (the session is closed).
        assert all(st == 400 and m == "GET" and "/socket.io/" in u for st, m, u in failed), failed
        if failed:
            console.errors = [e for e in console.errors if "status of 400" not in e]
        console.assert_clean()


def test_offline_and_server_unreachable_are_told_apart(tmp_path: Path, opener: Opener, console: Console) -> None:
    with ServerProcess(tmp_path) as srv:
        note = fresh_note()
        ctx = opener.new_context("Ada")
        page = opener.page(f"{srv.url}/n/{note}", ctx=ctx)
        console.server_down = True
        srv.stop()
        page.wait_for_selector("#status[data-state=unreachable]", timeout=30_000)
        assert "Server unreachable" in page.inner_text("#status")
        ctx.set_offline(True)
        page.wait_for_selector("#status[data-state=offline]")
        assert page.inner_text("#status-text") == "Offline"
        ctx.set_offline(False)
        srv.restart()
        wait_connected(page)
        console.server_down = False
        # The list page: a failed request reads as a sentence, not "Failed to fetch".
        home = ctx.new_page()
        console.watch(home, "home")
        home.goto(f"{srv.url}/")
        home.wait_for_selector("#new-note")
        console.server_down = True
        srv.stop()
        home.click("#new-note")
        home.keyboard.press("Enter")
        wait_for(home, "() => /cannot be reached/.test(document.getElementById('toasts').textContent)")
        assert "Failed to fetch" not in home.inner_text("#toasts")
        srv.restart()
        console.errors = [e for e in console.errors if "ERR_CONNECTION_REFUSED" not in e]
        console.assert_clean()


def test_thumbnails_and_wheel_zoom(server: ServerProcess, opener: Opener, console: Console) -> None:
    note = fresh_note()
    page = opener.page(f"{server.url}/n/{note}", "Ada")
    draw(page, [(200, 200), (400, 260)])
    wait_connected(page)
    # One Ctrl+wheel notch zooms by a step, not by a factor of e.
    page.mouse.move(500, 350)
    page.keyboard.down("Control")
    page.mouse.wheel(0, 100)
    page.keyboard.up("Control")
    wait_for(page, "() => window.collab.view.z < 1")
    z = page.evaluate("window.collab.view.z")
    assert 0.75 < z < 0.9
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    wait_for(page, "() => Math.abs(window.collab.view.z - 1) < 1e-9")

    home = opener.page(f"{server.url}/", "Ada", wait=False)
    img = home.wait_for_selector(f"li.card[data-note='{note}'] img")
    assert img.get_attribute("loading") == "lazy"
    assert "width=240" in (img.get_attribute("src") or "")
    wait_for(home, "id => document.querySelector(`li.card[data-note='${id}'] img`).naturalWidth === 240", note)
    console.assert_clean()


def test_the_render_cache_draws_only_what_changed(server: ServerProcess, opener: Opener, console: Console) -> None:
    """Bob's new stroke reaches Ada's board as an append (only it is drawn); an erase
    redraws everything; the pixels are right either way."""
    from pagekit import wait_ids, wait_ink

    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    bob = opener.page(f"{server.url}/n/{note}", "Bob")
    one = draw(bob, [(200, 200), (400, 200)])
    wait_ids(ada, [one])
    wait_ink(ada, 300, 200, present=True)
    before = ada.evaluate("({...window.collab.app.renderer.stats})")
    two = draw(bob, [(200, 400), (400, 400)])
    wait_ids(ada, [one, two])
    wait_ink(ada, 300, 400, present=True)
    wait_ink(ada, 300, 200, present=True)
    after = ada.evaluate("({...window.collab.app.renderer.stats})")
    assert after["incremental"] > before["incremental"]
    bob.keyboard.press("e")
    bob.mouse.move(300, 180)
    bob.mouse.down()
    bob.mouse.move(300, 220, steps=3)
    bob.mouse.up()
    wait_ids(ada, [two])
    wait_ink(ada, 300, 200, present=False)
    wait_ink(ada, 300, 400, present=True)
    assert ada.evaluate("window.collab.app.renderer.stats.full") > after["full"]
    # A pan moves the board's pixels and draws only what it uncovers: same picture as a full redraw.
    shifted = ada.evaluate("window.collab.app.renderer.stats.shifted")
    ada.keyboard.press("h")
    ada.mouse.move(600, 500)
    ada.mouse.down()
    ada.mouse.move(500, 450, steps=5)
    ada.mouse.up()
    wait_for(ada, "n => window.collab.app.renderer.stats.shifted > n", shifted)
    wait_ink(ada, 200, 350, present=True)  # moved by (-100, -50)
    wait_ink(ada, 300, 400, present=False)
    picture = "() => document.getElementById('board').toDataURL()"
    incremental = ada.evaluate(picture)
    ada.evaluate("() => { const r = window.collab.app.renderer; r.drawn = null; r.renderScene(); }")
    assert ada.evaluate(picture) == incremental
    console.assert_clean()


def test_a_name_the_host_gives_is_used_and_never_asked(server: ServerProcess, opener: Opener, console: Console) -> None:
    """An identify hook returning a name makes the join ack list us under it (the server
    side is tested in test_embedding*); here the ack is rewritten as such a host's would be."""
    ctx = opener.new_context(None)
    ctx.add_init_script(
        """(() => {
            const wrap = () => {
                if (!window.io || window.io.__wrapped) return;
                const real = window.io;
                window.io = (...a) => {
                    const s = real(...a);
                    const emit = s.emit.bind(s);
                    s.emit = (ev, payload, ack) => ev === 'join' && typeof ack === 'function'
                        ? emit(ev, payload, (err, res) => {
                            if (res && res.ok) for (const p of res.peers) if (p.peer === res.peer) p.name = 'Dr. Host';
                            ack(err, res);
                        })
                        : emit(ev, payload, ack);
                    return s;
                };
                window.io.__wrapped = true;
            };
            document.addEventListener('readystatechange', wrap);
            const t = setInterval(() => { wrap(); if (window.io && window.io.__wrapped) clearInterval(t); }, 0);
        })()"""
    )
    page = opener.page(f"{server.url}/n/{fresh_note()}", ctx=ctx)
    assert page.locator("dialog[open]").count() == 0
    assert page.evaluate("window.collab.name()") == "Dr. Host"
    page.click("#people")
    assert not page.is_visible("#change-name")
    console.assert_clean()


def test_the_dark_theme_follows_the_system(server: ServerProcess, opener: Opener, console: Console) -> None:
    ctx = opener.browser.new_context(viewport={"width": 1000, "height": 700}, color_scheme="dark")
    opener.contexts.append(ctx)
    page = opener.page(f"{server.url}/n/{fresh_note()}", ctx=ctx)
    assert "invert" in page.evaluate("getComputedStyle(document.getElementById('board')).filter")
    bg = page.evaluate("getComputedStyle(document.querySelector('.toolbar')).backgroundColor")
    assert bg.startswith("rgb(35, 36, 39")
    console.assert_clean()


@pytest.mark.parametrize("ext", ["svg", "png"])
def test_an_export_downloads_under_the_notes_title_with_its_letters_kept(
    server: ServerProcess, opener: Opener, console: Console, ext: str
) -> None:
    title = "Café — Überblick 日本"
    note = requests.post(f"{server.url}/api/notes", json={"title": title}, timeout=10).json()["id"]
    page = opener.page(f"{server.url}/n/{note}", "Ada")
    wait_for(page, "t => document.getElementById('title').textContent === t", title)
    assert page.get_attribute(f"#export-{ext}", "download") == f"{title}.{ext}"
    with page.expect_download() as info:
        page.click(f"#export-{ext}")
    assert info.value.suggested_filename == f"{title}.{ext}"
    # Without the link's download attribute, the server's Content-Disposition names it the same.
    page.evaluate("ext => document.getElementById(`export-${ext}`).removeAttribute('download')", ext)
    with page.expect_download() as info:
        page.click(f"#export-{ext}")
    assert info.value.suggested_filename == f"{title}.{ext}"
    console.assert_clean()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    """The example host site: logged-in users edit, visitors view (COLLAB_LOGIN_URL set)."""
    with HostSite(tmp_path_factory.mktemp("host_site_rules")) as srv:
        yield srv


def log_in_from_the_list(page: Any, site: HostSite) -> None:
    """Follow the list's *Log in to create* link as alice, back to the list."""
    page.get_by_role("link", name="Log in to create").click()
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/whiteboard/")


def test_the_list_offers_new_note_only_to_visitors_who_may_create_one(
    site: HostSite, opener: Opener, console: Console
) -> None:
    """A visitor of the example site may look but not create: no *New note*, a *Log in to
    create* link instead, which comes back to the list logged in, where *New note* works."""
    page = opener.page(f"{site.url}/whiteboard/", "Visitor", wait=False)
    page.wait_for_selector("#log-in-to-create")
    assert page.locator("#new-note").count() == 0
    assert page.get_by_role("link", name="Log in to create").get_attribute("href") == "/login?next=/whiteboard/"
    log_in_from_the_list(page, site)
    page.get_by_role("button", name="New note").click()
    page.fill("dialog[open] input", "Made after logging in")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/whiteboard/n/*")
    wait_connected(page)
    assert page.evaluate("window.collab.sync.role") == "edit"
    console.assert_clean()


def test_the_list_offers_rename_and_delete_only_on_notes_the_visitor_may_edit(
    site: HostSite, opener: Opener, console: Console
) -> None:
    """On the example site visitors view and logged-in users edit: a visitor's card says
    *View only* and has no rename or delete (which the API would refuse); alice's has both."""
    alice = requests.Session()
    alice.post(f"{site.url}/login", data={"username": "alice", "password": "alice-pw"}, timeout=10)
    made = alice.post(f"{site.url}/whiteboard/api/notes", json={"title": "Roles plan"}, timeout=10)
    assert made.status_code == 201, made.text
    note = made.json()["id"]
    for who, role in ((requests, "view"), (alice, "edit")):
        rows = who.get(f"{site.url}/whiteboard/api/notes", timeout=10).json()
        assert {r["id"]: r["role"] for r in rows}[note] == role
    page = opener.page(f"{site.url}/whiteboard/", "Visitor", wait=False)
    card = page.locator(f".card[data-note='{note}']")
    card.wait_for()
    assert card.get_by_text("View only").is_visible()
    assert card.get_by_role("button", name="Rename").count() == 0
    assert card.get_by_role("button", name="Delete").count() == 0
    log_in_from_the_list(page, site)
    card.get_by_role("button", name="Rename").wait_for()
    assert card.get_by_role("button", name="Delete").is_visible() and card.get_by_text("View only").count() == 0
    console.assert_clean()


def test_a_refused_visitor_is_sent_to_the_configured_login_url(
    site: HostSite, opener: Opener, console: Console
) -> None:
    """COLLAB_LOGIN_URL (the example site's function, with ?next=) reaches the refused screen
    without any <link rel="login"> in the template."""
    note = "private-" + uuid.uuid4().hex[:10]
    page = opener.page(f"{site.url}/whiteboard/n/{note}", "Stranger", wait=False)
    page.wait_for_selector("#gone:has-text('You cannot open this note')")
    assert page.locator('link[rel="login"], link[rel="collab-login"]').count() == 0
    login = page.locator("#gone").get_by_role("link", name="Log in", exact=True)
    assert login.get_attribute("href") == f"/login?next=/whiteboard/n/{note}"
    login.click()
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "bob-pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/whiteboard/n/{note}")
    wait_connected(page)
    assert page.evaluate("window.collab.sync.role") == "edit"
    console.assert_clean()


def test_the_login_url_key_of_a_standalone_server_reaches_the_refused_screen(
    tmp_path: Path, opener: Opener, console: Console
) -> None:
    env = {"COLLAB_DEFAULT_ROLE": "none", "COLLAB_LOGIN_URL": "/sso/login?from=collab"}
    with ServerProcess(tmp_path, env=env) as srv:
        page = opener.page(f"{srv.url}/n/{fresh_note()}", "Eve", wait=False)
        page.wait_for_selector("#gone:has-text('You cannot open this note')")
        assert page.get_by_role("link", name="Log in", exact=True).get_attribute("href") == "/sso/login?from=collab"
        console.assert_clean()


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two DOMRects (as dicts) intersect."""
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def box(page: Any, sel: str) -> dict[str, float]:
    return dict(page.evaluate("s => document.querySelector(s).getBoundingClientRect().toJSON()", sel))


@pytest.mark.parametrize("width", [1121, 1200, 1320, 1440])
def test_a_long_title_is_cut_short_beside_the_toolbar_never_under_it(
    server: ServerProcess, opener: Opener, console: Console, width: int
) -> None:
    title = ("A very long title about the quarterly plan of the whole team " * 3)[:120]
    note = requests.post(f"{server.url}/api/notes", json={"title": title}, timeout=10).json()["id"]
    ctx = opener.new_context("Ada", viewport=(width, 800))
    page = opener.page(f"{server.url}/n/{note}", ctx=ctx)
    wait_for(page, "t => document.getElementById('title').textContent === t", title)
    for other in ("#title", ".title-panel"):
        assert not overlap(box(page, other), box(page, "#toolbar")), (other, width)
    assert not overlap(box(page, "#toolbar"), box(page, ".people-panel"))
    # Cut with an ellipsis; the whole title is the tooltip.
    assert page.evaluate("getComputedStyle(document.getElementById('title')).textOverflow") == "ellipsis"
    assert page.evaluate("(e => e.scrollWidth > e.clientWidth)(document.getElementById('title'))")
    assert title in (page.get_attribute("#title", "title") or "")
    console.assert_clean()
