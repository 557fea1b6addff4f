"""Sharing, pointing and following, in Chromium against the real server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from pagekit import Console, Opener, shot, wait_connected, wait_for

from serverproc import ServerProcess

pytestmark = pytest.mark.browser


def test_share_link_laser_follow_and_resize(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = "together-" + uuid.uuid4().hex[:10]
    url = f"{server.url}/n/{note}"
    ada = opener.page(url, "Ada")
    bob = opener.page(url, "Bob")

    # A rectangle, resized by its corner handle: one update of its points.
    ada.keyboard.press("r")
    ada.mouse.move(200, 200)
    ada.mouse.down()
    ada.mouse.move(350, 300, steps=5)
    ada.mouse.up()
    ada.mouse.move(350, 300)
    ada.mouse.down()
    ada.mouse.move(400, 350, steps=5)
    ada.mouse.up()
    wait_connected(ada)
    st = requests.get(f"{server.url}/api/notes/{note}", timeout=10).json()
    assert st["strokes"][0]["points"] == [[200, 200], [400, 350]] and st["seq"] == 2

    # The share dialog makes a view-only link; Enter closes it.
    ada.click("#share")
    ada.click("dialog[open] button[data-role=view]")
    wait_for(ada, "() => document.querySelector('dialog[open] input').value.includes('?share=')")
    link = ada.input_value("dialog[open] input")
    ada.keyboard.press("Enter")
    assert ada.locator("dialog[open]").count() == 0
    carol = opener.page(link, "Carol")
    assert carol.evaluate("window.collab.sync.role") == "view"
    assert carol.is_visible("#view-only") and not carol.is_visible("#share")

    # Carol points with the laser: the others see a fading trail, nothing is stored.
    carol.keyboard.press("k")
    carol.mouse.move(500, 400)
    carol.mouse.down()
    carol.mouse.move(600, 450, steps=8)
    carol.mouse.up()
    wait_for(ada, "() => document.querySelector('.cursor.laser') !== null")
    wait_for(bob, "() => window.collab.app.presence.lasers.size > 0")
    assert requests.get(f"{server.url}/api/notes/{note}", timeout=10).json()["seq"] == 2

    # Ada follows Bob: his zoom and pan become hers.
    bob.mouse.move(500, 350)
    ada.click("#people")
    ada.click("#people-items li:has-text('Bob') button.follow")
    bob.keyboard.press("+")
    bob.mouse.wheel(120, 60)
    wait_for(bob, "() => window.collab.view.z > 1.2")
    bob.mouse.move(520, 360)
    view = bob.evaluate("window.collab.view.rect()")
    wait_for(
        ada,
        "v => { const r = window.collab.view.rect(); return r.every((x, i) => Math.abs(x - v[i]) < 1); }",
        view,
    )
    assert ada.is_visible("#following")
    shot(ada, artifacts, "together-following")
    ada.click("#stop-following")
    assert not ada.is_visible("#following")
    console.assert_clean()


def test_history_view_walks_through_the_changes(server: ServerProcess, opener: Opener, console: Console) -> None:
    from pagekit import draw, wait_ink

    note = "history-" + uuid.uuid4().hex[:10]
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    one = draw(ada, [(200, 200), (400, 200)])
    two = draw(ada, [(200, 400), (400, 400)])
    ada.keyboard.press("Control+z")  # op 3 removes `two`
    wait_connected(ada)
    ada.click("#history-btn")
    ada.wait_for_url(lambda u: "at=3" in u)
    ada.wait_for_selector("#history-bar:not([hidden])")
    wait_for(ada, "() => document.getElementById('history-label').textContent === 'Change 3 of 3'")
    assert ada.is_visible("#view-only") and not ada.is_visible("#style-panel")
    ada.click("#history-prev")
    wait_for(ada, "ids => JSON.stringify([...window.collab.shown().keys()]) === JSON.stringify(ids)", [one, two])
    assert "at=2" in ada.url
    ada.click("#history-prev")
    wait_for(ada, "ids => JSON.stringify([...window.collab.shown().keys()]) === JSON.stringify(ids)", [one])
    ada.click("#history-live")
    wait_connected(ada)
    assert "at=" not in ada.url
    wait_for(ada, "ids => JSON.stringify([...window.collab.shown().keys()]) === JSON.stringify(ids)", [one])
    wait_ink(ada, 300, 400, present=False)
    console.assert_clean()
