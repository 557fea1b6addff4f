"""Pictures on the drawing page, in Chromium against the real server: pasted, dropped
and picked with the image button (I), uploaded to the note's files and shown in the
other page; resizing keeps the aspect ratio; undo removes a placed picture; a picture
pasted while the server is down is kept, uploaded on reconnect and added exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, shot, wait_connected, wait_for
from PIL import Image

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

# Makes a PNG in the page (canvas → toBlob) and pastes it, or drops it at (x, y).
GIVE = """async ([kind, w, h, color, x, y]) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const g = c.getContext('2d');
    g.fillStyle = color;
    g.fillRect(0, 0, w, h);
    const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'picture.png', { type: 'image/png' }));
    if (kind === 'paste') {
        const target = document.activeElement || document;
        target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
        return;
    }
    const stage = document.getElementById('stage');
    for (const type of ['dragenter', 'dragover', 'drop']) {
        const init = { dataTransfer: dt, clientX: x, clientY: y, bubbles: true, cancelable: true };
        stage.dispatchEvent(new DragEvent(type, init));
    }
}"""


def fresh_note() -> str:
    return "img-" + uuid.uuid4().hex[:12]


def images(srv: ServerProcess, note: str) -> list[dict[str, Any]]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return [s for s in r.json()["strokes"] if s["tool"] == "image"]


def wait_images(srv: ServerProcess, note: str, n: int) -> list[dict[str, Any]]:
    """Until the server holds ``n`` image items (a few seconds at most)."""
    import time

    deadline = time.monotonic() + 15
    while True:
        got = images(srv, note)
        if len(got) == n or time.monotonic() > deadline:
            assert len(got) == n, got
            return got
        time.sleep(0.1)


def center(item: dict[str, Any]) -> tuple[float, float]:
    (x0, y0), (x1, y1) = item["points"]
    return (x0 + x1) / 2, (y0 + y1) / 2


def screen(page: Any, x: float, y: float) -> tuple[float, float]:
    s = page.evaluate("([x, y]) => window.collab.view.toScreen(x, y)", [x, y])
    r = page.evaluate(
        "(() => { const b = document.getElementById('stage').getBoundingClientRect(); return [b.left, b.top]; })()"
    )
    return s[0] + r[0], s[1] + r[1]


def wait_picture(page: Any, item: dict[str, Any], rgb: tuple[int, int, int]) -> None:
    """Until the page shows the item with its picture loaded, of colour ``rgb`` at its centre."""
    wait_for(
        page,
        "([id, file]) => window.collab.shown().has(id) && window.collab.images.loaded(file)",
        [item["id"], item["file"]],
    )
    x, y = screen(page, *center(item))
    wait_for(
        page,
        """([x, y, rgb]) => {
            const c = document.getElementById('board');
            const r = window.devicePixelRatio || 1;
            const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
            return Math.abs(d[0] - rgb[0]) + Math.abs(d[1] - rgb[1]) + Math.abs(d[2] - rgb[2]) < 30;
        }""",
        [x, y, list(rgb)],
    )


def test_paste_and_drop_show_the_picture_in_the_other_page(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    bob = opener.page(f"{server.url}/n/{note}", "Bob")

    ada.evaluate(GIVE, ["paste", 120, 80, "#ff0000", 0, 0])
    [pasted] = wait_images(server, note, 1)
    assert len(pasted["file"]) == 64 and pasted["color"] == "#000000" and "width" not in pasted
    (x0, y0), (x1, y1) = pasted["points"]
    assert (x1 - x0, y1 - y0) == (120, 80)  # natural size: it fits the view
    view_center = ada.evaluate("window.collab.view.toWorld(window.collab.view.W / 2, window.collab.view.H / 2)")
    assert center(pasted) == pytest.approx(view_center, abs=0.02)
    wait_picture(bob, pasted, (255, 0, 0))
    wait_picture(ada, pasted, (255, 0, 0))
    assert requests.get(f"{server.url}/api/notes/{note}/files/{pasted['file']}", timeout=10).status_code == 200

    ada.evaluate(GIVE, ["drop", 60, 60, "#0000ff", 300, 500])
    dropped = next(s for s in wait_images(server, note, 2) if s["id"] != pasted["id"])
    want = ada.evaluate(
        "(() => { const b = document.getElementById('stage').getBoundingClientRect();"
        " return window.collab.view.toWorld(300 - b.left, 500 - b.top); })()"
    )
    assert center(dropped) == pytest.approx(want, abs=0.02)
    wait_picture(bob, dropped, (0, 0, 255))
    shot(bob, artifacts, "images-bob")

    # The dropped picture is selected: duplicate it (same file), then delete the copy.
    wait_connected(ada)
    ada.keyboard.press("Control+d")
    copy = next(s for s in wait_images(server, note, 3) if s["id"] not in (pasted["id"], dropped["id"]))
    assert copy["file"] == dropped["file"]
    assert copy["points"] == [[x + 16, y + 16] for x, y in dropped["points"]]
    wait_connected(ada)
    ada.keyboard.press("Delete")
    assert {s["id"] for s in wait_images(server, note, 2)} == {pasted["id"], dropped["id"]}
    console.assert_clean()


def test_image_button_resize_keeps_the_aspect_and_undo_removes_it(
    server: ServerProcess, opener: Opener, console: Console, tmp_path: Path
) -> None:
    note = fresh_note()
    png = tmp_path / "green.png"
    Image.new("RGB", (200, 100), (0, 200, 0)).save(png)
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    bob = opener.page(f"{server.url}/n/{note}", "Bob")

    ada.set_input_files("#image-input", str(png))
    [item] = wait_images(server, note, 1)
    (x0, y0), (x1, y1) = item["points"]
    assert (x1 - x0, y1 - y0) == (200, 100)
    wait_picture(bob, item, (0, 200, 0))
    wait_connected(ada)

    # The picture is selected: drag its far corner handle, mostly down (aspect kept).
    ada.wait_for_function("window.collab.app.selection.ids.size === 1")
    hx, hy = screen(ada, x1, y1)
    ada.mouse.move(hx, hy)
    ada.mouse.down()
    ada.mouse.move(hx + 20, hy + 100, steps=5)
    ada.mouse.up()
    wait_for(ada, "() => window.collab.sync.outbox.entries.length === 0")
    wait_connected(ada)
    [resized] = images(server, note)
    (a0, b0), (a1, b1) = resized["points"]
    assert [a0, b0] == [x0, y0]
    assert (a1 - a0) / (b1 - b0) == pytest.approx(2, rel=0.01)
    assert b1 - b0 == pytest.approx(200, abs=0.5)

    # Shift frees the aspect ratio.
    ex, ey = screen(ada, a1, b1)
    ada.keyboard.down("Shift")
    ada.mouse.move(ex, ey)
    ada.mouse.down()
    ada.mouse.move(ex + 50, ey - 100, steps=5)
    ada.mouse.up()
    ada.keyboard.up("Shift")
    wait_for(ada, "() => window.collab.sync.outbox.entries.length === 0")
    wait_connected(ada)
    [free] = images(server, note)
    (c0, d0), (c1, d1) = free["points"]
    assert (c1 - c0, d1 - d0) == pytest.approx((a1 - a0 + 50, b1 - b0 - 100), abs=0.5)

    ada.keyboard.press("Control+z")  # the free resize
    ada.keyboard.press("Control+z")  # the resize
    ada.keyboard.press("Control+z")  # the picture
    wait_connected(ada)
    wait_for(bob, "(id) => !window.collab.shown().has(id)", item["id"])
    assert images(server, note) == []
    console.assert_clean()


def test_a_picture_pasted_while_the_server_is_down_arrives_once(
    tmp_path: Path, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = fresh_note()
    with ServerProcess(tmp_path) as srv:
        url = f"{srv.url}/n/{note}"
        ada = opener.page(url, "Ada")
        bob = opener.page(url, "Bob")

        console.server_down = True
        srv.stop()
        ada.wait_for_selector("#status[data-state=reconnecting], #status[data-state=offline]", timeout=15_000)
        ada.evaluate(GIVE, ["paste", 80, 80, "#ff00ff", 0, 0])
        wait_for(
            ada, "() => !!localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('collab.images.')))"
        )
        kept = ada.evaluate(
            "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('collab.images.'))))"
        )
        assert [k["item"]["id"] for k in kept] == [kept[0]["item"]["id"]]
        x, y = screen(ada, *center(kept[0]["item"]))
        wait_for(  # shown faded on #live where it will go
            ada,
            """([x, y]) => {
                const c = document.getElementById('live');
                const r = window.devicePixelRatio || 1;
                const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
                return d[0] > 200 && d[2] > 200 && d[1] < 60 && d[3] > 100;
            }""",
            [x, y],
        )
        shot(ada, artifacts, "images-offline-kept")

        srv.restart()
        wait_connected(ada)
        [item] = wait_images(srv, note, 1)
        assert item["id"] == kept[0]["item"]["id"]  # the id chosen offline
        console.server_down = False
        wait_picture(bob, item, (255, 0, 255))
        wait_connected(ada)
        wait_for(ada, "() => !Object.keys(localStorage).some(k => k.startsWith('collab.images.'))")
        ada.wait_for_timeout(1500)  # a second retry would add it again
        assert len(images(srv, note)) == 1
        assert bob.evaluate("[...window.collab.shown().values()].map(s => s.id)") == [item["id"]]
        console.errors = [e for e in console.errors if "ERR_" not in e]
        console.assert_clean()


def test_a_file_that_is_not_a_picture_the_server_takes_is_refused(
    server: ServerProcess, opener: Opener, console: Console, tmp_path: Path
) -> None:
    """A BMP named .png: the browser can read it, the server answers 415; a toast says so."""
    note = fresh_note()
    bmp = tmp_path / "not-really.png"
    Image.new("RGB", (40, 40), (10, 10, 10)).save(bmp, format="BMP")
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    ada.set_input_files("#image-input", str(bmp))
    ada.wait_for_selector(".toast-error:has-text('not a picture the server accepts')", timeout=10_000)
    ada.wait_for_selector("#upload-status", state="hidden")
    assert images(server, note) == []
    assert ada.evaluate("window.collab.sync.outbox.entries.length") == 0
    console.errors = [e for e in console.errors if "status of 415" not in e]
    console.assert_clean()


def test_a_view_only_visitor_sees_pictures_but_cannot_add_one(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = requests.post(f"{server.url}/api/notes", json={"title": "Pictures"}, timeout=10).json()["id"]
    link = requests.post(f"{server.url}/api/notes/{note}/share", json={"role": "view"}, timeout=10)
    assert link.status_code == 201, link.text
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    viewer = opener.page(f"{server.url}/n/{note}?share={link.json()['token']}", "Vic")
    wait_for(viewer, "() => document.body.classList.contains('read-only')")
    assert not viewer.is_visible("#image-btn")

    ada.evaluate(GIVE, ["paste", 50, 50, "#00ffff", 0, 0])
    [item] = wait_images(server, note, 1)
    wait_picture(viewer, item, (0, 255, 255))

    viewer.evaluate(GIVE, ["paste", 50, 50, "#ff0000", 0, 0])
    viewer.wait_for_selector(".toast:has-text('view-only')", timeout=10_000)
    viewer.keyboard.press("i")  # no file picker either: the same toast
    assert len(images(server, note)) == 1
    console.assert_clean()
