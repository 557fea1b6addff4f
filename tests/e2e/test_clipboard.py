"""Copy, cut and paste on the drawing page, in Chromium against the real server: through
the real system clipboard (Ctrl+C / Ctrl+X / Ctrl+V) between notes and browser contexts,
plain text as a text item, pictures brought into another note, untrusted payloads
refused, a view-only visitor who copies but never pastes or cuts, and the text editor
keeping the browser's own copy and paste."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, wait_connected, wait_for

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

TRANSPORTS = [pytest.param("", id="default"), pytest.param("polling", id="polling")]

# A paste event made in the page: [[type, data], …] as clipboardData, plus an optional
# PNG (w, h, colour) made on a canvas.
PASTE = """async ([entries, png]) => {
    const dt = new DataTransfer();
    for (const [type, data] of entries) dt.setData(type, data);
    if (png) {
        const c = document.createElement('canvas');
        [c.width, c.height] = [png[0], png[1]];
        const g = c.getContext('2d');
        g.fillStyle = png[2];
        g.fillRect(0, 0, png[0], png[1]);
        const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
        dt.items.add(new File([blob], 'picture.png', { type: 'image/png' }));
    }
    const target = document.activeElement || document;
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
}"""

# The union box of items as the page computes it (draw.js, the module the page uses).
UNION_BOX = """async (items) => {
    const src = document.querySelector('script[src*="/js/note.js"]').src;
    const draw = await import(src.replace(/note\\.js.*$/, 'draw.js'));
    return draw.unionBox(items);
}"""


def fresh_note() -> str:
    return "cb-" + uuid.uuid4().hex[:12]


def url_of(srv: ServerProcess, note: str, transport: str = "") -> str:
    return f"{srv.url}/n/{note}" + (f"?transport={transport}" if transport else "")


def state(srv: ServerProcess, note: str) -> dict[str, Any]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return dict(r.json())


def items_of(srv: ServerProcess, note: str) -> list[dict[str, Any]]:
    return list(state(srv, note)["strokes"])


def wait_count(srv: ServerProcess, note: str, n: int) -> list[dict[str, Any]]:
    """Until the server holds ``n`` items (a few seconds at most)."""
    deadline = time.monotonic() + 15
    while True:
        got = items_of(srv, note)
        if len(got) == n or time.monotonic() > deadline:
            assert len(got) == n, got
            return got
        time.sleep(0.05)


def drag(page: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=6)
    page.mouse.up()


def same_items(page: Any, srv: ServerProcess, note: str) -> None:
    """Until the page shows exactly the server's items, with the same points."""
    want = {s["id"]: s["points"] for s in items_of(srv, note)}
    wait_for(
        page,
        """want => {
            const got = {};
            for (const [id, s] of window.collab.shown()) got[id] = s.points;
            return JSON.stringify(Object.keys(got).sort()) === JSON.stringify(Object.keys(want).sort())
                && Object.keys(want).every(id => JSON.stringify(got[id]) === JSON.stringify(want[id]));
        }""",
        want,
    )


def world(page: Any, x: float, y: float) -> list[float]:
    """The world point under CSS pixel (x, y) of the window."""
    return list(
        page.evaluate(
            """([x, y]) => { const b = document.getElementById('stage').getBoundingClientRect();
                return window.collab.view.toWorld(x - b.left, y - b.top); }""",
            [x, y],
        )
    )


def offset(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float]:
    return b["points"][0][0] - a["points"][0][0], b["points"][0][1] - a["points"][0][1]


def envelope(items: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"type": "collab/clipboard", "version": 1, "items": items, **extra})


def paste_says(page: Any, entries: list[list[str]], why: str) -> None:
    """Paste ``entries`` as clipboardData and wait for the toast that says ``why`` (an earlier one is gone)."""
    page.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")
    page.evaluate(PASTE, [entries, None])
    page.wait_for_selector(f".toast:has-text({why!r})")


def selected(page: Any) -> set[str]:
    return set(page.evaluate("[...window.collab.app.selection.ids]"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_selection_copied_in_one_note_pastes_into_another(
    server: ServerProcess, opener: Opener, console: Console, transport: str
) -> None:
    a, b = fresh_note(), fresh_note()
    ada = opener.page(url_of(server, a, transport), "Ada")
    bob = opener.page(url_of(server, b, transport), "Bob")
    bea = opener.page(url_of(server, b, transport), "Bea")

    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 260))
    ada.keyboard.press("p")
    draw(ada, [(350, 200), (380, 240), (420, 260)])
    ada.keyboard.press("t")
    ada.mouse.click(200, 320)
    ada.wait_for_selector("textarea.text-editor")
    ada.keyboard.type("Hello")
    ada.keyboard.press("Enter")
    ada.keyboard.type("world")
    ada.keyboard.press("Escape")
    wait_connected(ada)
    src = items_of(server, a)
    assert [s["tool"] for s in src] == ["rect", "pen", "text"]

    ada.keyboard.press("Control+a")
    ada.keyboard.press("Control+c")
    bob.mouse.move(600, 420)
    bob.keyboard.press("Control+v")
    wait_for(bob, "() => window.collab.shown().size === 3")
    wait_connected(bob)
    got = items_of(server, b)
    assert [s["tool"] for s in got] == ["rect", "pen", "text"]
    assert not {s["id"] for s in got} & {s["id"] for s in src}  # fresh ids
    assert got[2]["text"] == "Hello\nworld" and got[0]["color"] == src[0]["color"]
    # The layout is kept: every point moved by the same offset...
    dx, dy = offset(src[0], got[0])
    for s, g in zip(src, got, strict=True):
        assert g["points"] == [
            [pytest.approx(x + dx, abs=0.02), pytest.approx(y + dy, abs=0.02)] for x, y in s["points"]
        ]
    # ...so that the items' box is centred on the pointer.
    box = bob.evaluate(UNION_BOX, got)
    assert [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2] == pytest.approx(world(bob, 600, 420), abs=0.05)
    assert selected(bob) == {s["id"] for s in got}
    same_items(bea, server, b)

    bob.keyboard.press("Control+z")  # one step removes the whole paste
    wait_connected(bob)
    assert items_of(server, b) == []
    wait_for(bea, "() => window.collab.shown().size === 0")
    assert len(items_of(server, a)) == 3
    console.assert_clean()


def test_cut_removes_the_selection_in_one_step_and_undo_brings_it_back(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    bob = opener.page(url_of(server, note), "Bob")
    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 260))
    ada.keyboard.press("o")
    drag(ada, (400, 200), (480, 260))
    wait_connected(ada)
    before = items_of(server, note)
    seq = state(server, note)["seq"]

    ada.keyboard.press("Control+a")
    ada.keyboard.press("Control+x")
    wait_for(ada, "() => window.collab.shown().size === 0")
    wait_connected(ada)
    assert items_of(server, note) == [] and state(server, note)["seq"] == seq + 2  # a remove per item
    wait_for(bob, "() => window.collab.shown().size === 0")

    ada.keyboard.press("Control+z")  # one step brings both back, with their ids
    wait_connected(ada)
    assert [s["id"] for s in items_of(server, note)] == [s["id"] for s in before]
    same_items(bob, server, note)

    ada.mouse.move(500, 500)
    ada.keyboard.press("Control+v")  # what was cut is on the clipboard
    got = wait_count(server, note, 4)
    assert {s["tool"] for s in got[2:]} == {"rect", "ellipse"}
    assert offset(before[0], got[2]) == offset(before[1], got[3])
    wait_connected(ada)
    same_items(bob, server, note)
    ada.keyboard.press("?")  # the help overlay lists the clipboard keys
    assert "Copy / cut / paste" in ada.inner_text("dialog#help[open]")
    ada.keyboard.press("Escape")
    console.assert_clean()


def test_the_text_editor_keeps_native_copy_and_paste_and_text_pastes_as_a_text_item(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    bob = opener.page(url_of(server, note), "Bob")
    ada.keyboard.press("t")
    ada.mouse.click(150, 150)
    ada.wait_for_selector("textarea.text-editor")
    ada.keyboard.type("two")
    ada.keyboard.press("Enter")
    ada.keyboard.type("lines")
    ada.keyboard.press("Control+a")  # in the textarea: its own text, not every item
    ada.keyboard.press("Control+c")  # the browser's copy of the selected text
    ada.keyboard.press("Control+End")
    ada.keyboard.press("Control+v")  # the browser's paste into the textarea
    assert ada.input_value("textarea.text-editor") == "two\nlinestwo\nlines"
    assert ada.evaluate("window.collab.shown().size") == 0
    ada.keyboard.press("Escape")
    wait_connected(ada)
    [typed] = items_of(server, note)
    assert typed["text"] == "two\nlinestwo\nlines"

    # On the canvas, the plain text on the clipboard becomes a text item, lines kept.
    ada.mouse.move(600, 400)
    ada.keyboard.press("Control+v")
    [_, pasted] = wait_count(server, note, 2)
    assert pasted["tool"] == "text" and pasted["text"] == "two\nlines"
    box = ada.evaluate(UNION_BOX, [pasted])
    assert [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2] == pytest.approx(world(ada, 600, 400), abs=0.05)
    assert selected(ada) == {pasted["id"]}
    same_items(bob, server, note)

    # Very long text is cut to the contract's 10,000 characters, and the page says so.
    ada.evaluate(PASTE, [[["text/plain", "é" * 10_050]], None])
    ada.wait_for_selector(".toast:has-text('cut to its first 10,000 characters')")
    long = wait_count(server, note, 3)[2]
    assert long["text"] == "é" * 10_000
    wait_connected(ada)
    ada.keyboard.press("Control+z")
    ada.keyboard.press("Control+z")
    wait_connected(ada)
    assert [s["id"] for s in items_of(server, note)] == [typed["id"]]
    console.assert_clean()


def test_a_picture_copied_in_one_note_is_uploaded_to_the_other(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    a, b = fresh_note(), fresh_note()
    ada = opener.page(url_of(server, a), "Ada")
    bob = opener.page(url_of(server, b), "Bob")
    bea = opener.page(url_of(server, b), "Bea")
    ada.evaluate(PASTE, [[], [90, 60, "#ff0000"]])  # a picture, placed and selected
    [picture] = wait_count(server, a, 1)
    assert picture["tool"] == "image"
    wait_connected(ada)
    ada.keyboard.press("r")
    drag(ada, (100, 100), (160, 140))
    ada.keyboard.press("Control+a")
    ada.keyboard.press("Control+c")
    files_b = f"{server.url}/api/notes/{b}/files/{picture['file']}"
    assert requests.get(files_b, timeout=10).status_code == 404  # not in note b yet

    bob.mouse.move(500, 300)
    bob.keyboard.press("Control+v")
    got = wait_count(server, b, 2)
    [image] = [s for s in got if s["tool"] == "image"]
    assert image["file"] == picture["file"] and image["id"] != picture["id"]
    (x0, y0), (x1, y1) = image["points"]
    (p0, q0), (p1, q1) = picture["points"]
    assert (x1 - x0, y1 - y0) == pytest.approx((p1 - p0, q1 - q0), abs=0.02)
    served = requests.get(files_b, timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"
    wait_for(
        bea,
        "([id, file]) => window.collab.shown().has(id) && window.collab.images.loaded(file)",
        [image["id"], image["file"]],
    )
    wait_connected(bob)
    bob.keyboard.press("Control+z")
    wait_connected(bob)
    assert items_of(server, b) == []
    console.assert_clean()


def test_a_malformed_or_hostile_payload_adds_nothing_and_says_why(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    rect = {"tool": "rect", "color": "#1e1e1e", "width": 2, "points": [[0, 0], [40, 30]]}
    bad = [
        {"tool": "laser", "color": "#000", "width": 2, "points": [[0, 0]]},  # not a tool of the contract
        {"tool": "pen", "color": "#000", "width": 2, "points": [[2e6, 0]]},  # out of range
        {"tool": "pen", "color": "#000", "width": 2, "points": [[0, "1"]]},  # not a number
        {"tool": "rect", "color": "#000", "width": 2, "points": [[0, 0]]},  # one point
        {"tool": "pen", "color": "red", "width": 2, "points": [[0, 0]]},  # not a colour
        {"tool": "text", "color": "#000", "text": "a\u0000b", "points": [[0, 0]]},  # a control character
        {"tool": "line", "color": "#000", "width": 2, "fill": "#fff", "points": [[0, 0], [1, 1]]},  # fill on a line
        {"tool": "pen", "color": "#000", "width": 500, "points": [[0, 0]]},  # too wide
        ["not", "an", "item"],
        None,
    ]
    cases = [
        (envelope(bad), "Nothing on the clipboard can be pasted"),
        ('{"type": "collab/clipboard", "version": 1, "items": [', "cannot be read"),
        (envelope([rect] * 1001), "At most 1,000 items"),
        (json.dumps({"type": "collab/clipboard", "version": 9, "items": [rect]}), "newer version"),
        (json.dumps({"type": "collab/clipboard", "version": 1, "items": {"0": rect}}), "cannot be read"),
    ]
    for text, why in cases:
        paste_says(ada, [["text/plain", text]], why)
    paste_says(ada, [["application/x-collab+json", "no JSON at all"], ["text/plain", "ignored"]], "cannot be read")
    # A picture claimed from another site is never fetched: it is left out.
    foreign = {"tool": "image", "color": "#000000", "points": [[0, 0], [10, 10]], "file": "a" * 64}
    elsewhere = envelope([foreign], source={"origin": "https://elsewhere.example", "note": "x"})
    paste_says(ada, [["text/plain", elsewhere]], "could not be brought from the other note")
    assert ada.evaluate("window.collab.shown().size") == 0
    assert ada.evaluate("window.collab.sync.outbox.entries.length") == 0

    # Valid items of a partly bad payload are pasted; the others are counted out.
    paste_says(ada, [["text/plain", envelope([rect, *bad[:3]])]], "3 item(s) on the clipboard were not valid")
    [pasted] = wait_count(server, note, 1)
    assert pasted["tool"] == "rect" and pasted["points"][1][0] - pasted["points"][0][0] == 40
    wait_connected(ada)
    console.assert_clean()


def test_a_view_only_visitor_can_copy_but_not_paste_or_cut(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = requests.post(f"{server.url}/api/notes", json={"title": "Look only"}, timeout=10).json()["id"]
    token = requests.post(f"{server.url}/api/notes/{note}/share", json={"role": "view"}, timeout=10).json()["token"]
    other = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 260))
    wait_connected(ada)
    [rect] = items_of(server, note)

    vic = opener.page(f"{server.url}/n/{note}?share={token}", "Vic")
    wait_for(vic, "() => document.body.classList.contains('read-only')")
    wait_for(vic, "() => window.collab.shown().size === 1")
    vic.keyboard.press("v")
    vic.mouse.click(200, 230)
    assert selected(vic) == {rect["id"]}
    vic.keyboard.press("Control+x")  # a view-only cut is a copy
    vic.wait_for_selector(".toast:has-text('Copied, not cut')")
    vic.mouse.move(600, 400)
    vic.keyboard.press("Control+v")
    vic.wait_for_selector(".toast:has-text('view-only')")
    vic.evaluate(PASTE, [[["text/plain", "some words"]], None])
    assert vic.evaluate("window.collab.sync.outbox.entries.length") == 0
    assert items_of(server, note) == [rect]

    # What the visitor copied is on the clipboard: an editor of another note pastes it.
    bob = opener.page(url_of(server, other), "Bob")
    bob.keyboard.press("Control+v")
    [copy] = wait_count(server, other, 1)
    assert copy["tool"] == "rect" and copy["id"] != rect["id"]
    wait_connected(bob)
    console.assert_clean()
