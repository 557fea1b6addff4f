"""The command line with contract v2, against a real server: every op kind, SVG shapes, access, backup.

Each test runs ``python -m collab`` in a subprocess and checks its exit code
and its exact messages (one line on stderr, ``collab: <what> (<fix>)``).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from collab import __version__
from collab.access import ShareLinks
from collab.client import NoteClient

from faultproxy import FaultProxy
from serverproc import ROOT, ServerProcess, free_port

SECRET = "test-cli-share-secret"


def run(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("COLLAB_URL", "COLLAB_DATABASE")}
    full.update(PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "collab", *args], capture_output=True, text=True, timeout=timeout, env=full, cwd=ROOT
    )


def note_json(url: str, note: str, **params: Any) -> dict[str, Any]:
    r = requests.get(f"{url}/api/notes/{note}", params=params, timeout=10)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def content(item: dict[str, Any]) -> dict[str, Any]:
    """An item without what its note gave it (id, seq, peer)."""
    return {k: v for k, v in item.items() if k not in ("id", "seq", "peer", "type")}


@pytest.fixture
def every_kind(server, note_id):
    """A note whose history holds every tool and every op kind (seq 13)."""
    with NoteClient(server.url, note_id) as c:
        pen = c.draw([(0, 0), (10, 5), (20, 0)], color="#e03131", width=3)
        c.add("highlighter", [(0, 40), (100, 40)], color="#fab005", width=20)
        line = c.line([(0, 0), (50, 0), (50, 50)], color="#1971c2")
        c.arrow([(10, 10), (80, 60)], width=4)
        rect = c.rect(0, 0, 40, 30, fill="#ffec99", color="#2f9e44")
        c.ellipse(60, 80, 100, 100, color="#862e9c")  # corners in order: SVG gives them back so
        text = c.text(5, 5, "Hello\nworld", 24, color="#212529")
        c.sticky(200, 0, "todo")
        c.wait_synced(10)
        c.update(rect, width=5)
        c.move([pen, rect], 10, 20)
        c.remove(line)
        c.restore(line)
        c.update(text, text="Hello again")
    return note_id


# -- the command line itself ------------------------------------------------------------------------
def test_version_prints_the_package_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout == f"collab {__version__}\n"


def test_usage_errors_are_one_line_and_exit_2(tmp_path):
    cases = {
        ("watch",): "collab: the following arguments are required: NOTE (see 'collab watch --help')\n",
        ("watch", "n"): "collab: no server URL given (pass it before the other arguments, or set COLLAB_URL)\n",
        ("notes",): "collab: no server URL given (pass it before the other arguments, or set COLLAB_URL)\n",
        ("export", "http://x", "bad id", "-o", "x.json"): (
            "collab: argument NOTE: NOTE must be 1-64 characters of letters, digits, '_' or '-'; got 'bad id' "
            "(see 'collab export --help')\n"
        ),
        ("export", "http://x", "n", "-o", "x.json", "--at", "-1"): (
            "collab: argument --at: '-1' is not a seq (an integer >= 0) (see 'collab export --help')\n"
        ),
        ("watch", "http://x", "n", "--header", "no-colon"): (
            "collab: --header 'no-colon' is not 'Name: value' (e.g. --header 'Authorization: Bearer abc')\n"
        ),
        ("watch", "http://x", "n", "--cookie", "a"): (
            "collab: --cookie 'a' is not 'name=value' (give one cookie per --cookie, e.g. session=abc)\n"
        ),
        ("nope",): "collab: argument COMMAND: invalid choice: 'nope' (choose from 'serve', 'notes', 'export', "
        "'import', 'watch', 'replay', 'backup') (see 'collab --help')\n",
    }
    for args, message in cases.items():
        r = run(*args)
        assert (r.returncode, r.stderr) == (2, message), args


def test_collab_url_is_the_default_server_and_an_argument_overrides_it(server, every_kind, tmp_path):
    env = {"COLLAB_URL": server.url}
    r = run("notes", env=env)
    assert r.returncode == 0, r.stderr
    assert every_kind in r.stdout
    out = tmp_path / "n.json"
    r = run("export", every_kind, "-o", str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["seq"] == 13
    dead = {"COLLAB_URL": f"http://127.0.0.1:{free_port()}"}
    r = run("export", server.url, every_kind, "-o", "-", env=dead)  # the positional form still works
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == every_kind
    r = run("watch", every_kind, "--timeout", "3", env=dead)
    assert r.returncode == 1 and r.stderr.startswith(f"collab: cannot reach {dead['COLLAB_URL']}/api/notes/")


# -- access: token, headers, cookies -------------------------------------------------------------------
class Recorder(FaultProxy):
    """A proxy that keeps every byte the client sent."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sent = bytearray()

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if src is pair[0]:
                    with self._lock:
                        self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        for s in pair:
            try:
                s.close()
            except OSError:
                pass

    def heads(self, path: str) -> list[str]:
        """The request heads sent for URLs starting with ``path``."""
        text = bytes(self.sent).decode("latin-1")
        return [h for h in text.split("\r\n\r\n") if f" {path}" in h.split("\r\n", 1)[0]]


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A server where nobody may do anything without a share link."""
    env = {"COLLAB_DEFAULT_ROLE": "none", "COLLAB_SECRET_KEY": SECRET}
    with ServerProcess(tmp_path_factory.mktemp("private"), env=env) as srv:
        yield srv


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_token_headers_and_cookies_are_sent_over_http_and_the_socket(private, note_id, tmp_path, transport):
    token = ShareLinks(SECRET, None).make(note_id, "edit")
    drawing = tmp_path / "d.svg"
    drawing.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><rect x="1" y="2" width="3" height="4" stroke="red"/></svg>'
    )
    access = ["--header", "X-Site: yes", "--cookie", "a=b", "--cookie", "c=d"]
    with Recorder("127.0.0.1", private.port) as proxy:
        r = run("import", proxy.url, note_id, str(drawing), "--transport", transport)
        assert r.returncode == 1
        assert r.stderr == (
            f"collab: forbidden: joining note {note_id!r}: you may not open note {note_id!r} "
            "(pass a share link's token with --token, or the site's login with --cookie or --header)\n"
        )
        proxy.sent.clear()
        r = run("import", proxy.url, note_id, str(drawing), "--token", token, "--transport", transport, *access)
        assert r.returncode == 0, r.stderr
        assert "imported 1 items, 0 already there" in r.stderr
        sockets = proxy.heads("/socket.io/")
        assert sockets and all("X-Site: yes" in h and "Cookie: a=b; c=d" in h for h in sockets), sockets
        out = tmp_path / "x.json"
        r = run("export", proxy.url, note_id, "-o", str(out))
        assert r.returncode == 1 and r.stderr == (
            f"collab: GET {proxy.url}/api/notes/{note_id} was refused (403 forbidden: you may not open note "
            f"{note_id!r}) (pass a share link's token with --token, or the site's login with --cookie or --header)\n"
        )
        assert run("export", proxy.url, note_id, "-o", str(out), "--token", token, *access).returncode == 0
        assert json.loads(out.read_text())["strokes"][0]["tool"] == "rect"
        [head] = [h for h in proxy.heads(f"/api/notes/{note_id}") if "X-Collab-Token" in h]
        assert f"X-Collab-Token: {token}" in head and "X-Site: yes" in head and "Cookie: a=b; c=d" in head


# -- watch ----------------------------------------------------------------------------------------------
def test_watch_of_a_missing_note_exits_1_and_creates_nothing(server, note_id):
    r = run("watch", server.url, note_id)
    assert r.returncode == 1
    assert r.stderr == (
        f"collab: note {note_id!r} does not exist on {server.url} (list the notes with 'collab notes {server.url}')\n"
    )
    assert requests.get(f"{server.url}/api/notes/{note_id}", timeout=5).status_code == 404


def _watch(server: ServerProcess, note: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "collab", "watch", server.url, note, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_watch_prints_a_joined_line_then_every_kind_of_op(server, every_kind):
    proc = _watch(server, every_kind)
    try:
        first = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        epoch = first.pop("epoch")
        assert first == {"note": every_kind, "type": "joined", "seq": 13, "title": every_kind} and epoch
        with NoteClient(server.url, every_kind) as c:
            r = c.rect(0, 0, 1, 1, wait=True)
            c.update(r, fill="#000")
            c.move(r, 1, 1)
            c.remove(r)
            c.restore(r)
            c.clear()
        lines = [json.loads(proc.stdout.readline()) for _ in range(6)]  # type: ignore[union-attr]
        assert [(op["type"], op["seq"]) for op in lines] == [
            ("stroke", 14), ("update", 15), ("move", 16), ("remove", 17), ("restore", 18), ("clear", 19)
        ]  # fmt: skip
        assert lines[0]["tool"] == "rect" and lines[1]["set"] == {"fill": "#000"} and lines[2]["ids"] == [r]
        assert lines[4]["items"][0]["id"] == r and all(op["note"] == every_kind for op in lines)
    finally:
        proc.kill()
        proc.wait()


def test_watch_since_0_prints_the_whole_history(server, every_kind):
    proc = _watch(server, every_kind, "--since", "0")
    try:
        lines = [json.loads(proc.stdout.readline()) for _ in range(14)]  # type: ignore[union-attr]
        assert lines[0]["type"] == "joined" and lines[0]["seq"] == 13
        assert [op["seq"] for op in lines[1:]] == list(range(1, 14))
        assert [op["type"] for op in lines[9:]] == ["update", "move", "remove", "restore", "update"]
    finally:
        proc.kill()
        proc.wait()


def test_watch_ends_at_once_when_its_reader_goes_away(server, every_kind):
    started = time.monotonic()
    r = subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m collab watch {server.url} {every_kind} | head -1; echo ${{PIPESTATUS[0]}}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    took = time.monotonic() - started
    first, status = r.stdout.splitlines()
    assert json.loads(first)["type"] == "joined" and status == "0", r.stderr
    assert took < 10, f"watch went on for {took:.1f}s after its reader left"
    assert r.stderr == "" or "Traceback" not in r.stderr


def test_watch_exits_1_when_the_note_is_deleted(server, every_kind):
    proc = _watch(server, every_kind)
    try:
        assert json.loads(proc.stdout.readline())["type"] == "joined"  # type: ignore[union-attr]
        r = requests.delete(f"{server.url}/api/notes/{every_kind}", headers={"Origin": server.url}, timeout=5)
        assert r.status_code == 204
        assert proc.wait(20) == 1
        assert proc.stderr.read().splitlines()[-1] == (  # type: ignore[union-attr]
            f"collab: note {every_kind!r} was deleted while watching (there is nothing more to watch)"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- export --at, import, replay --------------------------------------------------------------------------
def test_export_at_a_seq_gives_the_note_as_it_was(server, every_kind, tmp_path):
    out = tmp_path / "at.json"
    r = run("export", server.url, every_kind, "--at", "9", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"exported note {every_kind!r} at seq 9 as json to {out} ({out.stat().st_size} bytes)\n"
    at9 = json.loads(out.read_text())
    assert at9["seq"] == 9 and at9 == note_json(server.url, every_kind, at=9)
    assert next(s for s in at9["strokes"] if s["tool"] == "rect")["width"] == 5
    svg = tmp_path / "at.svg"
    assert run("export", server.url, every_kind, "--at", "1", "-o", str(svg)).returncode == 0
    assert svg.read_text().count("data-id=") == 1
    r = run("export", server.url, every_kind, "--at", "99", "-o", str(out))
    assert r.returncode == 1 and r.stderr.startswith(f"collab: note {every_kind!r} has no state at seq 99 on ")


def test_import_says_how_many_items_were_new(server, every_kind, note_id, tmp_path):
    src = tmp_path / "src.json"
    assert run("export", server.url, every_kind, "-o", str(src)).returncode == 0
    target = f"{note_id}-copy"
    r = run("import", server.url, target, str(src))
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"imported 8 items, 0 already there (note {target!r} now has 8 items, seq 8)\n"
    r = run("import", server.url, target, str(src))
    assert r.stderr == f"imported 0 items, 8 already there (note {target!r} now has 8 items, seq 8)\n"
    original, copy = note_json(server.url, every_kind), note_json(server.url, target)
    assert [(s["id"], content(s)) for s in copy["strokes"]] == [(s["id"], content(s)) for s in original["strokes"]]
    # an image cannot come along (its file is not uploaded): skipped, and said so
    data = json.loads(src.read_text())
    data["strokes"].append({"id": "img", "tool": "image", "color": "#000", "points": [[0, 0], [1, 1]], "file": "f"})
    src.write_text(json.dumps(data))
    r = run("import", server.url, target, str(src))
    assert r.stderr.startswith("imported 0 items, 8 already there, 1 image skipped (images are not imported) (")


def test_svg_import_keeps_rects_ellipses_polygons_and_text(server, note_id, tmp_path):
    svg = tmp_path / "shapes.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
        '<rect width="400" height="300" fill="white"/>'
        '<g stroke="#1971c2" stroke-width="3" fill="none">'
        '<rect x="10" y="20" width="100" height="50" fill="#ffec99"/>'
        '<ellipse cx="200" cy="100" rx="40" ry="20"/>'
        '<circle cx="50" cy="200" r="10" fill="#b2f2bb"/>'
        '<polygon points="0,0 30,0 15,25"/>'
        '<polyline points="0,50 10,60 20,50"/>'
        '<line x1="0" y1="0" x2="100" y2="100"/>'
        '<path d="M 300 10 H 350 V 60 Z"/>'
        '<path d="M 0 0 C 10 10 20 10 30 0"/>'
        '<rect x="0" y="0" width="10" height="10" transform="rotate(45)"/>'
        "</g>"
        '<text x="20" y="260" font-size="32px" fill="#e03131">Hello <tspan font-weight="bold">SVG</tspan></text>'
        '<text x="200" y="240" style="font-size: 12px"><tspan x="200" y="240">two</tspan>'
        '<tspan x="200" y="255">lines</tspan></text>'
        "</svg>"
    )
    r = run("import", server.url, note_id, str(svg))
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("imported 11 items, 0 already there")
    items = note_json(server.url, note_id)["strokes"]
    assert [s["tool"] for s in items] == [
        "rect", "ellipse", "ellipse", "line", "line", "line", "line", "pen", "line", "text", "text"
    ]  # fmt: skip
    rect, ellipse, circle, polygon, polyline, line, path, _, turned, text, two = items
    assert rect["points"] == [[10, 20], [110, 70]] and rect["fill"] == "#ffec99" and rect["width"] == 3
    assert ellipse["points"] == [[160, 80], [240, 120]] and "fill" not in ellipse
    assert circle["points"] == [[40, 190], [60, 210]] and circle["fill"] == "#b2f2bb"
    assert polygon["points"] == [[0, 0], [30, 0], [15, 25], [0, 0]]  # closed: the first point again
    assert polyline["points"] == [[0, 50], [10, 60], [20, 50]] and line["points"] == [[0, 0], [100, 100]]
    assert path["points"] == [[300, 10], [350, 10], [350, 60], [300, 10]]
    assert len(turned["points"]) == 5 and turned["points"][0] == turned["points"][-1]  # a turned rect: its outline
    assert (text["text"], text["size"], text["color"], text["points"]) == ("Hello SVG", 32, "#e03131", [[20, 228]])
    assert (two["text"], two["size"], two["points"]) == ("two\nlines", 12, [[200, 228]])


def test_our_svg_export_imports_back_as_the_same_items(server, every_kind, note_id, tmp_path):
    svg = tmp_path / "note.svg"
    assert run("export", server.url, every_kind, "-o", str(svg)).returncode == 0
    target = f"{note_id}-svg"
    r = run("import", server.url, target, str(svg))
    assert r.returncode == 0, r.stderr
    original, copy = note_json(server.url, every_kind)["strokes"], note_json(server.url, target)["strokes"]
    assert [(s["id"], s["tool"]) for s in copy] == [(s["id"], s["tool"]) for s in original]
    assert [content(s) for s in copy] == [content(s) for s in original]
    assert "already there" in run("import", server.url, target, str(svg)).stderr  # the ids came from the file


def test_replay_repeats_every_kind_of_op(server, every_kind):
    target = f"{every_kind}-r"
    r = run("replay", server.url, every_kind, "--speed", "0", "--into", target)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[-1] == f"replayed 13 ops (source seq 13) into note {target!r}"
    original, copy = note_json(server.url, every_kind), note_json(server.url, target)
    assert copy["seq"] == 13
    assert [content(s) for s in copy["strokes"]] == [content(s) for s in original["strokes"]]
    r = run("replay", server.url, every_kind, "--speed", "40", "--into", f"{target}2")  # animated, with drafts
    assert r.returncode == 0, r.stderr
    assert [content(s) for s in note_json(server.url, f"{target}2")["strokes"]] == [
        content(s) for s in original["strokes"]
    ]


def test_replay_of_a_missing_note_creates_nothing(server, note_id):
    r = run("replay", server.url, note_id, "--speed", "0")
    assert r.returncode == 1 and r.stderr.startswith(f"collab: note {note_id!r} does not exist on ")
    assert requests.get(f"{server.url}/api/notes/{note_id}", timeout=5).status_code == 404


# -- backup -----------------------------------------------------------------------------------------------
def test_backup_copies_a_sqlite_database_while_the_server_writes(tmp_path, note_id):
    with ServerProcess(_mkdir(tmp_path / "live")) as srv:
        stop = threading.Event()
        with NoteClient(srv.url, note_id) as c:
            c.draw([(0, 0)], wait=True)

            def write() -> None:
                i = 0
                while not stop.is_set():
                    c.draw([(i, i)])
                    i += 1
                    time.sleep(0.005)

            writer = threading.Thread(target=write)
            writer.start()
            try:
                time.sleep(0.3)
                copy = tmp_path / "copy.db"
                r = run("backup", str(copy), "--database", srv.database)
                assert r.returncode == 0, r.stderr
                source = srv.database.removeprefix("sqlite:///")
                assert r.stderr.startswith(f"backed up {source} to {copy} ({copy.stat().st_size} bytes, 1 note) in ")
            finally:
                stop.set()
                writer.join()
            c.wait_synced(20)
        with sqlite3.connect(copy) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        with ServerProcess(_mkdir(tmp_path / "restored"), database=f"sqlite:///{copy}") as restored:
            state = note_json(restored.url, note_id)
            assert 1 <= len(state["strokes"]) == state["seq"] <= note_json(srv.url, note_id)["seq"]
        # COLLAB_DATABASE is the default; an existing file is kept unless --force
        env = {"COLLAB_DATABASE": srv.database}
        r = run("backup", str(copy), env=env)
        assert (r.returncode, r.stderr) == (
            1,
            f"collab: {copy} already exists (remove it, pick another path or pass --force)\n",
        )
        assert run("backup", str(copy), "--force", env=env).returncode == 0


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_backup_refuses_postgresql_and_other_urls(tmp_path):
    r = run("backup", str(tmp_path / "x"), "--database", "postgresql://postgres@127.0.0.1/collab")
    assert r.returncode == 2 and r.stderr == (
        "collab: backup copies SQLite databases only (for PostgreSQL use pg_dump, e.g. pg_dump --format=custom "
        "--file notes.dump 'DATABASE_URL', and pg_restore to bring it back)\n"
    )
    r = run("backup", str(tmp_path / "x"))
    assert (r.returncode, r.stderr) == (
        2,
        "collab: no database given (pass --database sqlite:///notes.db or set COLLAB_DATABASE)\n",
    )
    missing = tmp_path / "missing.db"
    r = run("backup", str(tmp_path / "x"), "--database", f"sqlite:///{missing}")
    assert (r.returncode, r.stderr) == (
        1,
        f"collab: {missing} does not exist (check --database 'sqlite:///{missing}')\n",
    )
    assert not missing.exists()


def test_notes_follows_every_page_of_the_list(server, every_kind, monkeypatch, capsys):
    from collab import cli

    with NoteClient(server.url, f"{every_kind}-b") as c:
        c.draw([(0, 0)], wait=True)
    every = requests.get(f"{server.url}/api/notes", params={"limit": 1000}, timeout=10).json()
    monkeypatch.setattr(cli, "NOTES_PAGE", 1)  # one note per page: the Link header is followed
    assert cli.main(["notes", server.url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [n["id"] for n in listed] == [n["id"] for n in every] and len(listed) >= 2


def test_a_server_that_does_not_answer_the_socket_is_one_line(tmp_path):
    items = tmp_path / "one.json"
    items.write_text('[{"tool": "rect", "color": "#000", "width": 2, "points": [[0, 0], [1, 1]]}]')
    url = f"http://127.0.0.1:{free_port()}"
    r = run("import", url, "n", str(items), "--timeout", "2")
    assert (r.returncode, r.stderr) == (
        1,
        f"collab: cannot connect to {url} (namespace /notes): [Errno 111] Connection refused "
        "(is the server running? start one with 'collab serve', or check the URL and --transport)\n",
    )
