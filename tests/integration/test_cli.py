"""The command line against a real server: exit codes, export → import round trips, watch, replay."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from collab.client import NoteClient
from collab.svgimport import SvgError, path_points, strokes_from_svg

from serverproc import ROOT, free_port


def run(*args: str, timeout: float = 60, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "collab", *args],
        capture_output=True,
        text=stdin is None,
        input=stdin,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def note_json(url: str, note: str) -> dict:
    r = requests.get(f"{url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return r.json()


def fields(strokes: list[dict]) -> list[tuple]:
    return [(s["id"], s["color"], s["width"], s["points"], s["tool"]) for s in strokes]


@pytest.fixture
def drawn(server, note_id):
    """A note with a few strokes (one highlighter, one removed)."""
    with NoteClient(server.url, note_id) as c:
        c.draw([(0, 0), (10, 5), (20, 0), (30, 7.5)], color="#e03131", width=3)
        c.draw([(5, 40)], color="#1971c2", width=12, tool="highlighter")
        gone = c.draw([(1, 1), (2, 2)], wait=True)
        c.remove(gone)
        c.draw([(-50.5, 3), (0, 99), (40, 40)], color="#2f9e44", width=1.5)
    return note_id


def test_usage_errors_exit_2_and_runtime_errors_exit_1(server, tmp_path):
    r = run()
    assert (
        r.returncode == 2
        and r.stderr == "collab: the following arguments are required: COMMAND (see 'collab --help')\n"
    )
    r = run("export", server.url, "x")  # -o missing
    assert r.returncode == 2 and r.stderr.startswith("collab: the following arguments are required: -o/--output")
    r = run("notes", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert r.returncode == 1 and r.stderr.startswith("collab: cannot reach") and "collab serve" in r.stderr
    r = run("export", server.url, "no-such-note", "-o", str(tmp_path / "x.json"))
    assert r.returncode == 1
    fix = f"list the notes with 'collab notes {server.url}'"
    assert r.stderr == f"collab: note 'no-such-note' does not exist on {server.url} ({fix})\n"
    r = run("export", server.url, "n", "-o", str(tmp_path / "x.gif"))
    assert r.returncode == 2 and "--format" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"strokes": [{"color": "red", "width": 2, "points": [[0, 0]]}]}')
    r = run("import", server.url, "n", str(bad))
    assert r.returncode == 1 and "item #1" in r.stderr and "color" in r.stderr
    assert run("--help").returncode == 0
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1


def test_notes_lists_the_server_notes(server, drawn):
    r = run("notes", server.url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["ID", "TITLE", "ITEMS", "SEQ", "UPDATED"]
    assert any(line.split()[0] == drawn for line in r.stdout.splitlines()[1:])
    rows = json.loads(run("notes", server.url, "--json").stdout)
    assert {"id": drawn, "strokes": 3, "seq": 5}.items() <= next(r for r in rows if r["id"] == drawn).items()


@pytest.mark.parametrize("fmt", ["json", "svg"])
def test_export_then_import_round_trips(server, drawn, tmp_path, fmt):
    out = tmp_path / f"note.{fmt}"
    r = run("export", server.url, drawn, "-o", str(out))
    assert r.returncode == 0, r.stderr
    target = f"{drawn}-{fmt}"
    r = run("import", server.url, target, str(out), "--progress")
    assert r.returncode == 0, r.stderr
    assert "3/3" in r.stderr  # the progress bar
    original, copy = note_json(server.url, drawn), note_json(server.url, target)
    assert fields(copy["strokes"]) == fields(original["strokes"])
    # Importing the same file again changes nothing: the stroke ids come from the file.
    assert run("import", server.url, target, str(out)).returncode == 0
    assert note_json(server.url, target)["seq"] == 3
    # ... unless fresh ids are asked for.
    assert run("import", server.url, target, str(out), "--fresh-ids").returncode == 0
    assert len(note_json(server.url, target)["strokes"]) == 6


def test_export_png_and_stdout(server, drawn, tmp_path):
    png = tmp_path / "n.png"
    assert run("export", server.url, drawn, "-o", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run("export", server.url, drawn, "-o", "-")
    assert json.loads(r.stdout)["id"] == drawn


def test_import_svg_paths_and_polylines(server, note_id, tmp_path):
    svg = tmp_path / "drawing.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">'
        '<rect width="200" height="200" fill="white"/>'
        '<g stroke="#e03131" stroke-width="4" fill="none">'
        '<path d="M10 10 L50 10 h10 v10 C 70 20 80 30 90 40 Q 100 50 110 40 Z"/>'
        '<polyline points="0,0 5,5 10,0" style="stroke:rgb(0,0,255); stroke-width:2"/>'
        '<line x1="1" y1="2" x2="3" y2="4" stroke-opacity="0.4"/>'
        "</g></svg>"
    )
    r = run("import", server.url, note_id, str(svg))
    assert r.returncode == 0, r.stderr
    strokes = note_json(server.url, note_id)["strokes"]
    assert [(s["color"], s["width"], s["tool"]) for s in strokes] == [
        ("#e03131", 4, "pen"),  # curved: a pen stroke
        ("#0000ff", 2, "line"),  # straight segments keep their corners
        ("#e03131", 4, "highlighter"),  # translucent
    ]
    path = strokes[0]["points"]
    assert path[:4] == [[10, 10], [50, 10], [60, 10], [60, 20]] and path[-1] == [10, 10]
    assert len(path) > 10  # curves were sampled
    assert strokes[1]["points"] == [[0, 0], [5, 5], [10, 0]]


def test_svg_parser_details():
    assert path_points("m0 0 l10 0 0 10 z M 5 5 H 0") == [
        [(0, 0), (10, 0), (10, 10), (0, 0)],
        [(5, 5), (0, 5)],
    ]
    s = strokes_from_svg(
        '<svg xmlns="http://www.w3.org/2000/svg"><g transform="translate(10,10) scale(2)">'
        '<polyline points="0,0 1,1" stroke="#123" stroke-width="1.5"/></g></svg>'
    )
    assert s == [{"color": "#123", "width": 3.0, "points": [[10, 10], [12, 12]], "tool": "line"}]
    long = strokes_from_svg(
        '<svg xmlns="http://www.w3.org/2000/svg"><polyline stroke="black" points="'
        + " ".join(f"{i},0" for i in range(12000))
        + '"/></svg>'
    )
    assert [len(x["points"]) for x in long] == [5000, 5000, 2002]


def test_svg_arcs_are_sampled_as_svg_defines_them():
    # a half circle of radius 10 over (10, 0); sweep 1 is clockwise on screen: the top half (y < 0)
    [half] = path_points("M0 0 A10 10 0 0 1 20 0")
    assert half[0] == (0, 0) and half[-1] == (20, 0) and len(half) > 5
    assert all(math.isclose(math.dist(p, (10, 0)), 10) for p in half)
    assert all(p[1] < 0 for p in half[1:-1])
    [other] = path_points("M0 0 A10 10 0 0 0 20 0")  # sweep 0: the bottom half
    assert all(p[1] > 0 for p in other[1:-1])
    # large arc: three quarters of the circle around (0, 10), not the quarter around (10, 0)
    [large] = path_points("M0 0 A10 10 0 1 0 10 10")
    assert all(math.isclose(math.dist(p, (0, 10)), 10) for p in large)
    assert min(p[0] for p in large) < -9.9 and max(p[1] for p in large) > 19.9
    # an ellipse turned by 90 degrees: its 20-long radius runs along y
    [turned] = path_points("M0 0 A20 10 90 0 1 0 40")
    assert all(math.isclose((p[0] / 10) ** 2 + ((p[1] - 20) / 20) ** 2, 1) for p in turned)
    # radii too small to reach the end are scaled up: the same half circle
    [scaled] = path_points("M0 0 A1 1 0 0 1 20 0")
    assert all(math.isclose(math.dist(p, (10, 0)), 10) for p in scaled)
    # a zero radius is a straight line; an arc to where it starts adds nothing
    assert path_points("M0 0 A0 5 0 0 1 10 10") == [[(0, 0), (10, 10)]]
    assert path_points("M5 5 A3 3 0 0 1 5 5 L6 6") == [[(5, 5), (6, 6)]]
    # flags written without separators, relative arcs and repeated arguments
    assert path_points("M0 0 a10 10 0 0150 0") == path_points("M0 0 a10 10 0 0 1 50 0")
    assert path_points("M0 0 a10 10 0 0 1 20 0 10 10 0 0 1 20 0")[0][-1] == (40, 0)
    with pytest.raises(SvgError, match="flags must be 0 or 1"):
        path_points("M0 0 A10 10 0 2 1 20 0")


def test_watch_prints_ops_as_json_lines_and_exits_130_on_ctrl_c(server, drawn):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "collab", "watch", server.url, drawn, "--since", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = [json.loads(proc.stdout.readline()) for _ in range(3)]  # type: ignore[union-attr]
        assert [(op["type"], op["seq"]) for op in lines] == [("joined", 5), ("remove", 4), ("stroke", 5)]
        with NoteClient(server.url, drawn) as c:
            c.clear()
        live = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert live["type"] == "clear" and live["seq"] == 6 and live["note"] == drawn
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_replay_redraws_the_history_into_another_note(server, drawn):
    r = run("replay", server.url, drawn, "--speed", "0", "--into", f"{drawn}-r")
    assert r.returncode == 0, r.stderr
    original, copy = note_json(server.url, drawn), note_json(server.url, f"{drawn}-r")
    assert copy["seq"] == original["seq"] == 5  # 4 strokes, 1 remove
    assert [s["points"] for s in copy["strokes"]] == [s["points"] for s in original["strokes"]]
    r = run("replay", server.url, drawn, "--speed", "50")  # animated with drafts, into NOTE-replay
    assert r.returncode == 0, r.stderr
    assert len(note_json(server.url, f"{drawn}-replay")["strokes"]) == 3


def test_serve_runs_the_server(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "collab", "serve", "--port", str(port), "--database", f"sqlite:///{tmp_path}/s.db"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("collab serve did not answer /healthz")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    help_text = run("serve", "--help").stdout
    assert "usage: collab serve" in help_text
