"""The Tk desktop example starts under Xvfb, draws through its mouse handlers, and the strokes reach the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collab.client import NoteClient

from serverproc import ROOT

REQUIRE_ALL = os.environ.get("COLLAB_REQUIRE_ALL") == "1"


def _missing(what: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{what} and COLLAB_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(what)  # COLLAB_REQUIRE_ALL turns this into a failure


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private X display served by Xvfb (Debian package ``xvfb``)."""
    try:
        import tkinter  # noqa: F401
    except ImportError:
        _missing("this Python has no tkinter (Debian: python3-tk, or a pyenv build with tk-dev)")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        _missing("Xvfb is not installed (apt-get install xvfb)")
    for num in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{num}").exists() and not Path(f"/tmp/.X{num}-lock").exists():
            break
    proc = subprocess.Popen(
        [str(xvfb), f":{num}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while not Path(f"/tmp/.X11-unix/X{num}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{num} did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.05)
    try:
        yield f":{num}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_tk_example_draws_undoes_and_shows_others(server, note_id, display):
    with NoteClient(server.url, note_id, name="browser-stand-in") as other:
        remote = other.draw([(400, 400), (450, 420), (500, 400)], color="#2f9e44", width=5, wait=True)
        shapes = [
            other.sticky(600, 50, "a sticky\nnote"),
            other.text(600, 200, "plain text", 30),
            other.ellipse(600, 300, 700, 350, fill="#b2f2bb"),
            other.arrow([(600, 400), (700, 450)]),
        ]
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tk_draw.py"), server.url, note_id, "--demo", "--quit-after-demo"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    mine, second, rect = summary["drawn"]
    state = requests.get(f"{server.url}/api/notes/{note_id}", timeout=10).json()
    # The first demo stroke reached the server once; the second and the rectangle were undone,
    # the second redone and undone again (the client's undo: removes, then a restore).
    assert [s["id"] for s in state["strokes"]] == [remote, *shapes, mine]
    assert state["seq"] == 12  # 5 remote items, 3 own, 2 undos, a redo, an undo
    assert len(state["strokes"][-1]["points"]) == 30
    assert second not in summary["shown"] and rect not in summary["shown"]
    at_rect = requests.get(f"{server.url}/api/notes/{note_id}", params={"at": 8}, timeout=10).json()
    assert at_rect["strokes"][-1]["id"] == rect and at_rect["strokes"][-1]["tool"] == "rect"  # it was drawn
    # The canvas showed the other peer's items of every tool and the own one.
    assert summary["shown"] == [remote, *shapes, mine]
