"""The drawing page on a phone (390 x 844, touch) and on wide screens: the toolbar fits
without sideways scrolling, and what does not fit is in the *More* menu, where it works."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, shot, wait_connected, wait_for

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

#: Every control that is not a primary tool on a phone: each must be in the menu there.
TOOLS = ["Highlighter", "Ellipse", "Line", "Sticky note", "Laser pointer"]
COLOURS = ["Black", "Red", "Green", "Blue", "Orange", "Violet", "Yellow"]
WIDTHS = ["Thin", "Medium", "Thick", "Very thick"]
FILLS = ["No fill", "Yellow fill", "Green fill", "Blue fill", "Red fill", "Grey fill"]
ACTIONS = ["Insert a picture", "Clear the note", "History", "Share", "SVG", "PNG", "Keyboard shortcuts"]
PRIMARY = ["Select", "Hand", "Pen", "Eraser", "Rectangle", "Arrow", "Text"]

CHROME = ".topbar, .topbar *, .toolbar, .toolbar *, .bottombar, .bottombar *, .style-panel, .style-panel *"
#: Every chrome element that sticks out of the viewport (none expected).
OUTSIDE = """sel => [...document.querySelectorAll(sel)].flatMap(e => {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height) return [];
    const out = r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5;
    const name = e.id || e.getAttribute('aria-label') || e.className;
    return out ? [`${name}: ${r.left},${r.top} ${r.right},${r.bottom}`] : [];
})"""
#: The page, or a chrome element, that scrolls sideways (a title cut with an ellipsis does not scroll).
SCROLLS = """sel => [document.documentElement, ...document.querySelectorAll(sel)].filter(e => {
    const scrolls = e === document.documentElement || ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
    return scrolls && e.scrollWidth > e.clientWidth;
}).map(e => e.id || e.className || e.tagName)"""


def fresh_note() -> str:
    return "phone-" + uuid.uuid4().hex[:12]


def phone(opener: Opener, url: str) -> Any:
    ctx = opener.browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True
    )
    ctx.add_init_script("localStorage.getItem('collab.name') || localStorage.setItem('collab.name', 'Pia')")
    opener.contexts.append(ctx)
    return opener.page(url, ctx=ctx)


def stored(srv: ServerProcess, note: str) -> list[dict[str, Any]]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return list(r.json()["strokes"])


def test_on_a_phone_the_toolbar_fits_and_the_rest_is_in_the_more_menu(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = fresh_note()
    page = phone(opener, f"{server.url}/n/{note}")
    assert page.evaluate("innerWidth") == 390
    assert page.evaluate(OUTSIDE, CHROME) == []
    assert page.evaluate(SCROLLS, CHROME) == []
    toolbar = page.locator("#toolbar")
    for name in PRIMARY:
        assert toolbar.get_by_role("radio", name=name, exact=True).is_visible(), name
    more = page.get_by_role("button", name="More", exact=True)
    assert more.get_attribute("aria-haspopup") == "dialog" and more.get_attribute("aria-expanded") == "false"
    shot(page, artifacts, "phone-toolbar")

    # Every other control is in the menu, inside the screen.
    more.tap()
    menu = page.get_by_role("dialog", name="More tools and actions")
    menu.wait_for()
    assert more.get_attribute("aria-expanded") == "true"
    for name in TOOLS + COLOURS + WIDTHS + FILLS:
        assert menu.get_by_role("radio", name=name, exact=True).is_visible(), name
    for name in ACTIONS:
        assert menu.get_by_role("button", name=name, exact=True).or_(menu.get_by_role("link", name=name)).is_visible()
    assert page.evaluate(OUTSIDE, CHROME) == []
    box = menu.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] >= 0
    shot(page, artifacts, "phone-more-menu")

    # A choice closes it and works: the next stroke has the width and colour chosen there.
    menu.get_by_role("radio", name="Very thick").tap()
    assert menu.is_hidden() and more.get_attribute("aria-expanded") == "false"
    more.tap()
    menu.get_by_role("radio", name="Red", exact=True).tap()
    assert menu.is_hidden()
    draw(page, [(100, 300), (250, 360)])
    wait_connected(page)
    [stroke] = stored(server, note)
    assert stroke["width"] == 16 and stroke["color"] == "#e03131" and stroke["tool"] == "pen"

    # A tool of the menu is used from there, and *More* shows that it holds the choice.
    more.tap()
    menu.get_by_role("radio", name="Ellipse").tap()
    assert page.evaluate("window.collab.app.toolbar.prefs.tool") == "ellipse"
    assert "holds-choice" in (more.get_attribute("class") or "")

    # A tap outside closes it; Escape closes it and gives the focus back to *More*.
    more.tap()
    menu.wait_for()
    page.touchscreen.tap(200, 200)
    assert menu.is_hidden()
    more.tap()
    menu.wait_for()
    page.keyboard.press("Escape")
    assert menu.is_hidden()
    assert page.evaluate("document.activeElement.id") == "more-btn"
    console.assert_clean()


def test_on_a_phone_the_more_menu_is_reachable_with_the_keyboard(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    page = phone(opener, f"{server.url}/n/{fresh_note()}")
    page.focus("#more-btn")
    page.keyboard.press("Enter")
    menu = page.get_by_role("dialog", name="More tools and actions")
    menu.wait_for()
    assert page.evaluate("document.getElementById('more-menu').contains(document.activeElement)")
    # Tab goes from group to group; arrows move within one; Enter chooses and closes.
    seen = []
    for _ in range(6):
        seen.append(page.evaluate("document.activeElement.getAttribute('aria-label') || document.activeElement.id"))
        page.keyboard.press("Tab")
    assert "Black" in seen and "Medium" in seen and "No fill" in seen, seen
    page.get_by_role("radio", name="Medium").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Thick"
    assert menu.is_visible()  # an arrow moves the choice, the menu stays
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert menu.is_hidden()
    assert page.evaluate("window.collab.app.toolbar.prefs.widthIndex") == 3
    console.assert_clean()


@pytest.mark.parametrize("size", [(1440, 900), (1121, 800), (1200, 800), (1320, 800), (800, 700)])
def test_on_wider_screens_every_control_is_in_view_and_there_is_no_more_button(
    server: ServerProcess, opener: Opener, console: Console, size: tuple[int, int]
) -> None:
    ctx = opener.new_context("Ada", viewport=size)
    page = opener.page(f"{server.url}/n/{fresh_note()}", ctx=ctx)
    assert page.evaluate(OUTSIDE, CHROME) == []
    assert page.evaluate(SCROLLS, CHROME) == []
    assert not page.get_by_role("button", name="More", exact=True).is_visible()
    for name in PRIMARY + TOOLS + COLOURS + WIDTHS + FILLS:
        assert page.get_by_role("radio", name=name, exact=True).is_visible(), name
    for name in ("Insert a picture", "Clear the note", "History", "Keyboard shortcuts"):
        assert page.get_by_role("button", name=name, exact=True).is_visible(), name
    console.assert_clean()


def test_turning_a_phone_sideways_and_back_keeps_every_control_working(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    """The controls move between the toolbar and the menu as the width changes: the same
    elements, so their handlers stay."""
    note = fresh_note()
    page = phone(opener, f"{server.url}/n/{note}")
    page.set_viewport_size({"width": 900, "height": 390})
    wait_for(page, "() => !document.getElementById('more-menu').querySelector('[role=radio]')")
    page.get_by_role("radio", name="Thick", exact=True).click()
    page.set_viewport_size({"width": 390, "height": 844})
    wait_for(page, "() => !!document.getElementById('more-menu').querySelector('#widths')")
    page.get_by_role("button", name="More", exact=True).tap()
    assert page.get_by_role("radio", name="Thick", exact=True).get_attribute("aria-checked") == "true"
    page.get_by_role("radio", name="Thin", exact=True).tap()
    draw(page, [(100, 300), (250, 300)])
    wait_connected(page)
    assert [s["width"] for s in stored(server, note)] == [2]
    console.assert_clean()
