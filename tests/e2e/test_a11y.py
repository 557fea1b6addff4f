"""Accessibility of the pages, in Chromium: radio groups with names people say, the WAI-ARIA
APG keyboard (one Tab stop per group, arrows move and choose, Enter and Space press), a live
connection status, and text contrast of at least 4.5:1 (WCAG AA) in the light and dark themes,
computed here from the computed styles with WCAG's relative luminance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, wait_for

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

GROUPS = {
    "Tool": [
        "Select", "Hand", "Pen", "Highlighter", "Eraser", "Rectangle", "Ellipse", "Line", "Arrow", "Text",
        "Sticky note", "Laser pointer",
    ],
    "Colour": ["Black", "Red", "Green", "Blue", "Orange", "Violet", "Yellow"],
    "Width": ["Thin", "Medium", "Thick", "Very thick"],
    "Fill": ["No fill", "Yellow fill", "Green fill", "Blue fill", "Red fill", "Grey fill"],
}  # fmt: skip

#: Contrast of every element showing text among ``sel``: [{what, text, ratio}], its colour
#: composited over the backgrounds of its ancestors (WCAG 2 relative luminance).
CONTRASTS = """sel => {
    const rgba = c => {
        const v = c.match(/rgba?\\(([^)]*)\\)/)[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
        return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
    };
    const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
    const lum = c => {
        const f = x => (x /= 255) <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
        return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const out = [];
    for (const e of document.querySelectorAll(sel)) {
        const own = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
        const after = getComputedStyle(e, '::after').content;
        const text = own || (after && after !== 'none' && after !== 'normal' ? after : '');
        if (!text || !e.getClientRects().length || getComputedStyle(e).visibility === 'hidden') continue;
        if (e.closest(':disabled')) continue;  // inactive controls are exempt (WCAG 1.4.3)
        const chain = [];
        let opacity = 1;
        for (let n = e; n; n = n.parentElement) { chain.unshift(n); opacity *= Number(getComputedStyle(n).opacity); }
        let bg = [255, 255, 255, 1];
        for (const n of chain) { const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0) bg = over(c, bg); }
        const fg = rgba(getComputedStyle(e).color);
        const ink = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
        const [a, b] = [lum(ink), lum(bg)].sort((x, y) => y - x);
        out.push({what: e.id || e.className || e.tagName, text: text.slice(0, 30), ratio: (a + 0.05) / (b + 0.05)});
    }
    return out;
}"""
CHROME = (
    ".topbar, .topbar *, .toolbar *, .bottombar *, .style-panel *, .history-bar *, #gone *, dialog[open] *,"
    " .list-header *, .list-main *, .cursor-name, .toast"
)


def fresh_note() -> str:
    return "a11y-" + uuid.uuid4().hex[:12]


def low(page: Any) -> list[dict[str, Any]]:
    """The texts of the page under 4.5:1 (none expected), after checking some were measured."""
    found = page.evaluate(CONTRASTS, CHROME)
    assert found, "no text measured"
    return [f for f in found if f["ratio"] < 4.5]


def test_tools_colours_widths_and_fills_are_radio_groups_with_spoken_names(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    page = opener.page(f"{server.url}/n/{fresh_note()}", "Ada")
    for group, names in GROUPS.items():
        radios = page.get_by_role("radiogroup", name=group, exact=True).get_by_role("radio")
        assert [r.get_attribute("aria-label") for r in radios.all()] == names
        checked = [r.get_attribute("aria-checked") for r in radios.all()]
        assert checked.count("true") == 1 and checked.count("false") == len(names) - 1, (group, checked)
        # Roving tabindex: the checked radio is the group's one Tab stop.
        stops = [r.get_attribute("tabindex") for r in radios.all()]
        assert stops == ["0" if c == "true" else "-1" for c in checked], (group, stops)
    assert page.get_by_role("radio", name="Red", exact=True).get_attribute("data-color") == "#e03131"
    assert page.get_by_role("radio", name="Pen").get_attribute("aria-checked") == "true"
    status = page.locator("#status")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    assert "Connected" in page.get_by_role("status").filter(has_text="Connected").inner_text()
    console.assert_clean()


def test_arrow_keys_move_within_a_group_and_enter_and_space_press_buttons(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    page = opener.page(f"{server.url}/n/{fresh_note()}", "Ada")
    tool = "window.collab.app.toolbar.prefs.tool"
    focused = "document.activeElement.getAttribute('aria-label')"
    page.get_by_role("radio", name="Pen").focus()
    for key, name, chosen in [
        ("ArrowRight", "Highlighter", "highlighter"),
        ("ArrowLeft", "Pen", "pen"),
        ("ArrowDown", "Highlighter", "highlighter"),
        ("End", "Laser pointer", "laser"),
        ("ArrowRight", "Select", "select"),  # wraps
        ("ArrowUp", "Laser pointer", "laser"),
        ("Home", "Select", "select"),
    ]:
        page.keyboard.press(key)
        assert page.evaluate(focused) == name and page.evaluate(tool) == chosen, key
        assert page.get_by_role("radio", name=name, exact=True).get_attribute("tabindex") == "0"
    # Tab leaves the group (one stop), Shift+Tab comes back to its checked radio.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('role')") != "radio"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(focused) == "Select"
    # Colours: the arrows choose the colour of the next stroke.
    page.get_by_role("radio", name="Black").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("window.collab.app.toolbar.prefs.color") == "#e03131"
    assert page.get_by_role("radio", name="Red", exact=True).get_attribute("aria-checked") == "true"
    # Space and Enter press the focused control.
    page.get_by_role("radio", name="Rectangle").focus()
    page.keyboard.press("Space")
    assert page.evaluate(tool) == "rect"
    page.get_by_role("radio", name="Ellipse").focus()
    page.keyboard.press("Enter")
    assert page.evaluate(tool) == "ellipse"
    page.get_by_role("button", name="Zoom in").focus()
    page.keyboard.press("Enter")
    wait_for(page, "() => Math.abs(window.collab.view.z - 1.25) < 1e-9")
    page.get_by_role("button", name="Zoom out").focus()
    page.keyboard.press("Space")
    wait_for(page, "() => Math.abs(window.collab.view.z - 1) < 1e-9")
    console.assert_clean()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_and_every_avatar_colour_has_a_contrast_of_at_least_4_5(
    server: ServerProcess, opener: Opener, console: Console, scheme: str
) -> None:
    ctx = opener.browser.new_context(viewport={"width": 1200, "height": 800}, color_scheme=scheme)
    ctx.add_init_script("localStorage.setItem('collab.name', 'Ada Lovelace')")
    opener.contexts.append(ctx)
    requests.post(f"{server.url}/api/notes", json={"title": "A note on the list"}, timeout=10)
    home = opener.page(f"{server.url}/", ctx=ctx, wait=False)
    home.wait_for_selector("li.card")
    assert low(home) == [], low(home)
    home.click("#new-note")  # a dialog, its label and buttons
    home.wait_for_selector("dialog[open]")
    assert low(home) == [], low(home)

    page = opener.page(f"{server.url}/n/{fresh_note()}", ctx=ctx)
    page.evaluate("document.getElementById('view-only').hidden = false")  # the badge, measured too
    page.click("#people")
    assert low(page) == [], low(page)
    # Every colour the page may pick for an avatar, and colours a host or an older page gave.
    palette = page.evaluate("async () => (await import('/collab-static/js/ui.js')).PALETTE")
    others = ["#f08c00", "#e03131", "#2f9e44", "#fab005", "#ffe066", "#868e96", "#000000", "#ffffff"]
    colours = palette + others
    assert len(palette) == 8
    for start in range(0, len(colours), 5):
        batch = colours[start : start + 5]
        page.evaluate(
            """batch => {
                const p = window.collab.app.presence;
                p.set(batch.map((color, i) => ({peer: 'p' + i, name: 'Zoe Quinn', color})));
                batch.forEach((c, i) => p.onCursor({peer: 'p' + i, x: 100 + 40 * i, y: 200}));
            }""",
            batch,
        )
        shown = page.evaluate(
            "() => [...document.querySelectorAll('#people .avatar')].map(a => a.style.getPropertyValue('--c'))"
        )
        assert shown == batch
        measured = [f for f in page.evaluate(CONTRASTS, ".avatar, .cursor-name")]
        assert len(measured) >= 2 * len(batch)
        assert [f for f in measured if f["ratio"] < 4.5] == [], batch
    # The status when the server is unreachable, with changes waiting.
    page.evaluate("async () => (await import('/collab-static/js/screens.js')).onStatus('unreachable', 3)")
    assert "3 waiting" in page.inner_text("#status")
    assert low(page) == [], low(page)
    console.assert_clean()
