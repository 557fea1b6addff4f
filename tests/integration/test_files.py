"""Images on notes: the files API, image items and exports against the real server."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from serverproc import ServerProcess
from sioclient import Peer


def picture(fmt: str = "PNG", size: tuple[int, int] = (40, 20), color: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def post(srv: ServerProcess, note: str, data: bytes, ctype: str) -> requests.Response:
    headers = {"Content-Type": ctype, "Origin": srv.url}
    return requests.post(f"{srv.url}/api/notes/{note}/files", data=data, headers=headers, timeout=10)


@pytest.fixture
def note(server: ServerProcess) -> str:
    note = "img-" + uuid.uuid4().hex[:8]
    assert requests.get(f"{server.url}/api/notes", timeout=5).ok
    p = Peer(server.url)
    assert p.call("join", {"note": note})["ok"]  # creates it
    p.close()
    return note


@pytest.mark.parametrize(("fmt", "ctype"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"),
                                             ("GIF", "image/gif")])  # fmt: skip
def test_an_upload_is_stored_and_read_back_with_its_type(
    server: ServerProcess, note: str, fmt: str, ctype: str
) -> None:
    data = picture(fmt)
    r = post(server, note, data, ctype)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {
        "file": hashlib.sha256(data).hexdigest(),
        "type": ctype,
        "bytes": len(data),
        "width": 40,
        "height": 20,
    }
    got = requests.get(f"{server.url}/api/notes/{note}/files/{body['file']}", timeout=5)
    assert got.status_code == 200 and got.content == data and got.headers["Content-Type"] == ctype
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in got.headers["Cache-Control"]
    assert got.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert got.headers["ETag"].strip('"') == body["file"]
    again = requests.get(got.url, headers={"If-None-Match": got.headers["ETag"]}, timeout=5)
    assert again.status_code == 304


def test_the_same_bytes_twice_are_one_file(server: ServerProcess, note: str) -> None:
    data = picture()
    one, two = post(server, note, data, "image/png"), post(server, note, data, "image/png")
    assert one.status_code == two.status_code == 201 and one.json() == two.json()


@pytest.mark.parametrize(
    ("data", "ctype"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "image/svg+xml"),
        (b"GIF89a but not really", "image/gif"),  # the magic, then garbage
        (b"hello", "text/plain"),
        (None, "image/jpeg"),  # PNG bytes that claim to be a JPEG
    ],
    ids=["svg", "broken-gif", "text", "wrong-claim"],
)
def test_anything_but_a_readable_image_of_the_claimed_type_is_415(
    server: ServerProcess, note: str, data: bytes | None, ctype: str
) -> None:
    r = post(server, note, data if data is not None else picture(), ctype)
    assert r.status_code == 415 and r.json()["error"]["code"] == "bad_request", r.text


def test_a_decompression_bomb_and_a_big_file_are_413(tmp_path: Path) -> None:
    env = {
        "COLLAB_MAX_IMAGE_PIXELS": "1000000",
        "COLLAB_MAX_FILE_BYTES": "200000",
        "COLLAB_MAX_NOTE_FILE_BYTES": "300000",
    }
    with ServerProcess(tmp_path, env=env) as srv:
        p = Peer(srv.url)
        assert p.call("join", {"note": "n"})["ok"]
        p.close()
        bomb = io.BytesIO()
        Image.new("1", (4000, 4000)).save(bomb, format="PNG")  # 16 M pixels in a few kB
        assert len(bomb.getvalue()) < 20_000
        r = post(srv, "n", bomb.getvalue(), "image/png")
        assert r.status_code == 413 and "pixels" in r.json()["error"]["message"]
        big = io.BytesIO()
        Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)).save(big, format="PNG")  # ~270 kB of noise
        assert post(srv, "n", big.getvalue(), "image/png").status_code == 413  # over COLLAB_MAX_FILE_BYTES
        codes = []
        for _ in range(3):  # the note's total: 3 x ~120 kB of noise is past 300 kB
            small = io.BytesIO()
            Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(small, format="PNG")
            last = post(srv, "n", small.getvalue(), "image/png")
            codes.append(last.status_code)
        assert codes == [201, 201, 413], codes
        assert last.status_code == 413 and "COLLAB_MAX_NOTE_FILE_BYTES" in last.json()["error"]["message"]


def test_image_items_name_files_of_their_note_and_exports_draw_them(server: ServerProcess, note: str) -> None:
    file = post(server, note, picture(color=(0, 0, 255)), "image/png").json()["file"]
    p = Peer(server.url)
    try:
        assert p.call("join", {"note": note})["ok"]
        box = [[100, 100], [300, 200]]
        ack = p.call(
            "stroke", {"note": note, "id": "pic", "tool": "image", "color": "#000", "points": box, "file": file}
        )
        assert ack["ok"], ack
        bad = p.call(
            "stroke", {"note": note, "id": "x", "tool": "image", "color": "#000", "points": box, "file": "0" * 64}
        )
        assert bad["error"]["code"] == "bad_request"
        assert (
            p.call("update", {"note": note, "id": "pic", "set": {"file": "0" * 64}})["error"]["code"] == "bad_request"
        )
        assert p.call("move", {"note": note, "ids": ["pic"], "dx": 10, "dy": 0})["ok"]
        assert p.call("remove", {"note": note, "id": "pic"})["ok"]
        assert p.call("restore", {"note": note, "ids": ["pic"]})["ids"] == ["pic"]
    finally:
        p.close()
    png = Image.open(io.BytesIO(requests.get(f"{server.url}/api/notes/{note}.png", timeout=10).content)).convert("RGB")
    w, h = png.size
    assert png.getpixel((w // 2, h // 2)) == (0, 0, 255)  # the picture's pixels fill the item's box
    svg = requests.get(f"{server.url}/api/notes/{note}.svg", timeout=10).text
    assert "data:image/png;base64," in svg  # the SVG stands alone


def test_files_of_one_note_are_not_served_under_another_and_go_with_their_note(
    server: ServerProcess, note: str
) -> None:
    file = post(server, note, picture(), "image/png").json()["file"]
    p = Peer(server.url)
    assert p.call("join", {"note": "other-" + note})["ok"]
    p.close()
    assert requests.get(f"{server.url}/api/notes/other-{note}/files/{file}", timeout=5).status_code == 404
    assert requests.get(f"{server.url}/api/notes/{note}/files/not-a-hash", timeout=5).status_code == 404
    assert (
        requests.delete(f"{server.url}/api/notes/{note}", headers={"Origin": server.url}, timeout=5).status_code == 204
    )
    assert requests.get(f"{server.url}/api/notes/{note}/files/{file}", timeout=5).status_code == 404
    assert post(server, "never-made", picture(), "image/png").status_code == 404


def test_an_image_uploaded_through_one_process_is_served_by_another(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with ServerProcess(tmp_path / "a", database=pg_url) as a, ServerProcess(tmp_path / "b", database=pg_url) as b:
        p = Peer(a.url)
        assert p.call("join", {"note": "shared"})["ok"]
        p.close()
        data = picture("JPEG")
        file = post(a, "shared", data, "image/jpeg").json()["file"]
        got = requests.get(f"{b.url}/api/notes/shared/files/{file}", timeout=5)
        assert got.status_code == 200 and got.content == data


def test_the_python_client_uploads_and_places_a_picture_a_second_client_sees(server: ServerProcess, note: str) -> None:
    from collab.client import NoteClient

    data = picture(size=(64, 32), color=(0, 200, 0))
    with NoteClient(server.url, note) as a, NoteClient(server.url, note) as b:
        item_id = a.add_image(data, (10, 10, 138, 74), wait=True)
        b.wait_until(lambda c: c.item(item_id) is not None, timeout=10)
        item = b.item(item_id)
        assert item is not None and item["tool"] == "image" and item["points"] == [[10, 10], [138, 74]]
        assert requests.get(f"{server.url}/api/notes/{note}/files/{item['file']}", timeout=5).content == data
        natural = a.add_image(data, wait=True)  # the same bytes: the same file, placed at its natural size
        assert a.item(natural)["points"] == [[0, 0], [64, 32]] and a.item(natural)["file"] == item["file"]  # type: ignore[index]
        with pytest.raises(Exception, match="PNG, JPEG"):
            a.add_image(b"not a picture")


def test_collab_import_places_a_picture_once(server: ServerProcess, note: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    pic = tmp_path / "photo.jpg"
    pic.write_bytes(picture("JPEG", size=(30, 20)))
    cmd = [sys.executable, "-m", "collab", "import", server.url, note, str(pic)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "imported 1 image, 0 already there" in first.stderr
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "imported 0 image, 1 already there" in again.stderr
    items = requests.get(f"{server.url}/api/notes/{note}", timeout=5).json()["strokes"]
    assert [(i["tool"], i["points"]) for i in items] == [("image", [[0, 0], [30, 20]])]
