"""The pages and exports over real HTTP (no browser): config block, CSP-ready markup,
vendored client, and the SVG/PNG exports of strokes drawn through Socket.IO."""

from __future__ import annotations

import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from PIL import Image

from collab import render

from serverproc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
SVG = "{http://www.w3.org/2000/svg}"


def config_of(html: str) -> dict[str, Any]:
    m = re.search(r'<script id="collab-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page has no collab-config block"
    return dict(json.loads(m.group(1)))


@pytest.mark.parametrize("path", ["/", "/n/some-note_1"])
def test_pages_render_with_config_and_no_inline_code(server: ServerProcess, path: str) -> None:
    r = requests.get(server.url + path, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    cfg = config_of(r.text)
    assert cfg["namespace"] == "/notes" and cfg["api"] == "/api/notes" and cfg["static"] == "/collab-static/"
    assert cfg["note"] == (None if path == "/" else "some-note_1")
    # CSP-ready: no inline handlers, every other script is a file.
    assert not re.search(r"\son[a-z]+\s*=", r.text, re.I)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", r.text, re.S)
    assert scripts
    for attrs, body in scripts:
        assert 'id="collab-config"' in attrs or ("src=" in attrs and not body.strip())
    for src in re.findall(r'(?:src|href)="(/collab-static/[^"]+)"', r.text):
        assert requests.get(server.url + src, timeout=10).status_code == 200, src


def test_note_page_refuses_a_bad_id(server: ServerProcess) -> None:
    assert requests.get(server.url + "/n/bad%20id!", timeout=10).status_code == 404


def test_vendored_client_matches_its_record() -> None:
    record = (ROOT / "static/vendor/VERSIONS.txt").read_text()
    for name, path in (("socket.io-client", "socket.io.min.js"), ("perfect-freehand", "perfect-freehand.mjs")):
        m = re.search(rf"^{name} (\S+) \S+ sha256=([0-9a-f]{{64}})$", record, re.M)
        assert m, f"{name} is not recorded in static/vendor/VERSIONS.txt"
        data = (ROOT / "static/vendor" / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == m.group(2), f"{path} differs from its record; run scripts/vendor.sh"
    assert re.search(r"^socket\.io-client 4\.\d+\.\d+ ", record, re.M)


def test_config_paths_follow_the_url_prefix(tmp_path: Path) -> None:
    class Prefixed(ServerProcess):
        @property
        def url(self) -> str:
            return f"http://127.0.0.1:{self.port}/whiteboard"

    with Prefixed(tmp_path, env={"COLLAB_URL_PREFIX": "/whiteboard"}) as srv:
        cfg = config_of(requests.get(srv.url + "/n/x", timeout=10).text)
        assert cfg["api"] == "/whiteboard/api/notes"
        assert cfg["home"] == "/whiteboard/"
        assert cfg["notePage"] == "/whiteboard/n/__NOTE__"
        assert cfg["static"] == "/whiteboard/collab-static/"
        assert cfg["socketioPath"].endswith("socket.io")  # Socket.IO keeps its own path
        assert requests.get(srv.url + "/collab-static/js/note.js", timeout=10).status_code == 200


STROKES = [
    {"id": "red-line", "color": "#e03131", "width": 6, "points": [[0, 0], [100, 0], [200, 0]]},
    {"id": 'blue<&>"id', "color": "#1971c2", "width": 10, "points": [[0, 100], [200, 100]]},
    {"id": "dot", "color": "#0f0", "width": 20, "points": [[100, 50]]},
    {"id": "marker", "color": "#fab005", "width": 24, "points": [[0, 160], [200, 160]], "tool": "highlighter"},
]


def draw_through_socketio(url: str, note: str) -> None:
    sio = socketio.Client(reconnection=False)
    sio.connect(url, namespaces=["/notes"], transports=["websocket"], wait_timeout=10)
    try:
        assert sio.call("join", {"note": note}, namespace="/notes", timeout=10)["ok"]
        for s in STROKES:
            ack = sio.call("stroke", {"note": note, **s}, namespace="/notes", timeout=10)
            assert ack["ok"], ack
    finally:
        sio.disconnect()


def test_exports_through_the_server(server: ServerProcess, note_id: str) -> None:
    draw_through_socketio(server.url, note_id)

    r = requests.get(f"{server.url}/api/notes/{note_id}.svg", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
    paths = {p.get("data-id"): p for p in ET.fromstring(r.text).iter(f"{SVG}path")}
    assert set(paths) == {s["id"] for s in STROKES}
    for s in STROKES:
        p = paths[s["id"]]
        assert p.get("stroke") == s["color"] and float(p.get("stroke-width", "0")) == s["width"]
    assert paths["marker"].get("stroke-opacity") is not None

    r = requests.get(f"{server.url}/api/notes/{note_id}.png", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    # Ink bounds (half widths included): x -12..212, y -3..172; a margin around.
    m = render.MARGIN
    x0, y0 = -12 - m, -3 - m
    assert img.size == (224 + 2 * m, 175 + 2 * m)

    def px(x: float, y: float) -> tuple[int, ...]:
        return tuple(img.getpixel((round(x - x0), round(y - y0))))  # type: ignore[arg-type]

    assert px(150, 0) == (224, 49, 49)  # red line
    assert px(150, 100) == (25, 113, 194)  # blue line
    assert px(100, 50) == (0, 255, 0)  # the dot
    r_, g_, b_ = px(100, 160)
    assert r_ > 230 and 190 < g_ < 250 and 130 < b_ < 200  # translucent yellow on white
    assert px(150, 30) == (255, 255, 255)  # paper between strokes


def test_exports_of_an_empty_and_a_missing_note(server: ServerProcess, note_id: str) -> None:
    created = requests.post(f"{server.url}/api/notes", json={"title": "blank"}, timeout=10).json()
    img = Image.open(io.BytesIO(requests.get(f"{server.url}/api/notes/{created['id']}.png", timeout=10).content))
    assert img.size[0] <= 400 and img.convert("L").getextrema() == (255, 255)
    assert "<svg" in requests.get(f"{server.url}/api/notes/{created['id']}.svg", timeout=10).text
    assert requests.get(f"{server.url}/api/notes/{note_id}.png", timeout=10).status_code == 404


UNICODE_TITLE = "Café — Überblick 日本"


@pytest.mark.parametrize("ext", ["svg", "png"])
def test_exports_download_under_the_notes_title_in_any_script(server: ServerProcess, ext: str) -> None:
    """RFC 6266: ``attachment`` with an ASCII ``filename`` and the title's own letters in ``filename*``."""
    from urllib.parse import unquote

    note = requests.post(f"{server.url}/api/notes", json={"title": UNICODE_TITLE}, timeout=10).json()
    r = requests.get(f"{server.url}/api/notes/{note['id']}.{ext}", timeout=10)
    assert r.status_code == 200
    value = r.headers["Content-Disposition"]
    assert value.isascii()
    m = re.fullmatch(r'attachment; filename="([ -~]+)"; filename\*=UTF-8\'\'(\S+)', value)
    assert m, value
    assert m.group(1) == f"Cafe Uberblick.{ext}"
    assert unquote(m.group(2), encoding="utf-8", errors="strict") == f"{UNICODE_TITLE}.{ext}"
    # A plain title needs no filename*; a title of spaces or of nothing ASCII falls back to the id.
    plain = requests.post(f"{server.url}/api/notes", json={"title": 'Q3 "plan" a/b'}, timeout=10).json()
    value = requests.get(f"{server.url}/api/notes/{plain['id']}.{ext}", timeout=10).headers["Content-Disposition"]
    assert value == f'attachment; filename="Q3 plan a b.{ext}"'
    japanese = requests.post(f"{server.url}/api/notes", json={"title": "日本"}, timeout=10).json()
    value = requests.get(f"{server.url}/api/notes/{japanese['id']}.{ext}", timeout=10).headers["Content-Disposition"]
    assert value.startswith(f"attachment; filename=\"{japanese['id']}.{ext}\"; filename*=UTF-8''%E6%97%A5")
