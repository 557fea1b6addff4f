"""collab/_patches: every patch guarded by fingerprints; speed-ups only in collab's own server.

A patch whose target changed is skipped (a speed-up, with a warning) or refused (a
fix, with a message saying what to install); ``init_app`` in a plain host installs
fixes only; ``COLLAB_PATCHES`` turns them off. Processes that must start clean run
in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import tomllib

from collab import _patches
from collab._patches import FIX, SPEEDUP, Patch, PatchRefused
from collab._patches import engineio as eio_patches
from collab._patches import socketio as sio_patches
from collab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file


def run_python(*parts: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """Run the code ``parts`` in a fresh interpreter; it prints one JSON object as its last line."""
    full_env = {k: v for k, v in os.environ.items() if k != "COLLAB_PATCHES"}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", "".join(textwrap.dedent(part) for part in parts)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


# -- the guard --------------------------------------------------------------------------------


def _stock(x: int) -> int:
    return x + 1


def _changed(x: int) -> int:
    return x + 2


def test_fingerprint_ignores_comments_blank_lines_and_indentation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fp_a.py").write_text("def f(x):\n\n    # a comment\n    return x + 1\n")
    (tmp_path / "fp_b.py").write_text("if True:\n    def f(x):\n            return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fp_a  # type: ignore[import-not-found]
    import fp_b  # type: ignore[import-not-found]

    assert _patches.fingerprint(fp_a.f) == _patches.fingerprint(fp_b.f)
    assert _patches.fingerprint(_stock) != _patches.fingerprint(_changed)


def _patch(kind: str, applied: list[str], prints: frozenset[str] | None = None) -> Patch:
    target = f"{__name__}:_stock"
    return Patch(
        name=f"test-{kind}",
        kind=kind,
        library="python-engineio",
        what="a test",
        checked="1.0",
        targets={target: prints if prints is not None else frozenset({_patches.fingerprint(_stock)})},
        apply=lambda: applied.append(kind),
    )


def test_a_patch_is_installed_when_its_target_is_what_it_was_written_against() -> None:
    applied: list[str] = []
    assert _patches.install(_patch(FIX, applied))
    assert _patches.install(_patch(SPEEDUP, applied))
    assert applied == [FIX, SPEEDUP]


def test_a_speedup_whose_target_changed_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    applied: list[str] = []
    with caplog.at_level(logging.WARNING, logger="collab.patches"):
        assert not _patches.install(_patch(SPEEDUP, applied, frozenset({"0000000000000000"})))
    assert applied == []
    assert _patches.report()["test-speed-up"].startswith("skipped: ")
    (record,) = [r for r in caplog.records if r.name == "collab.patches"]
    assert "speed-up test-speed-up skipped" in record.getMessage()
    assert "the stock code runs" in record.getMessage()


def test_a_fix_whose_target_changed_refuses_to_start_and_says_what_to_do() -> None:
    applied: list[str] = []
    with pytest.raises(PatchRefused) as info:
        _patches.install(_patch(FIX, applied, frozenset({"0000000000000000"})))
    assert applied == []
    message = str(info.value)
    assert isinstance(info.value, ConfigError)  # the server exits 3 with it
    assert "collab's fix test-fix" in message
    assert "pip install 'python-engineio>=4.11.0,<4.16'" in message
    assert "COLLAB_PATCHES=off" in message
    assert "\n" not in message


def test_a_real_fix_is_refused_when_engineio_changed_the_function(monkeypatch: pytest.MonkeyPatch) -> None:
    from engineio import socket as eio_socket

    def poll(self: Any) -> list[Any]:  # what a future python-engineio might have
        return []

    monkeypatch.setattr(eio_socket.Socket, "poll", poll)
    with pytest.raises(PatchRefused, match=r"engineio\.socket:Socket\.poll changed"):
        _patches.install(eio_patches.POLL_CAP)
    assert eio_socket.Socket.poll is poll  # left alone


def test_a_real_speedup_is_skipped_when_socketio_changed_the_function(monkeypatch: pytest.MonkeyPatch) -> None:
    from socketio import packet

    def data_is_binary(cls: Any, data: Any) -> bool:
        return False

    changed = classmethod(data_is_binary)
    monkeypatch.setattr(packet.Packet, "data_is_binary", changed, raising=False)  # absent before 5.14.2
    assert not _patches.install(sio_patches.BINARY_CHECK)
    assert packet.Packet.__dict__["data_is_binary"] is changed


def test_a_patch_whose_target_is_gone_counts_as_changed() -> None:
    patch = Patch(
        "test-gone", SPEEDUP, "python-engineio", "x", "1", {"engineio.socket:Socket.nope": frozenset()}, print
    )
    assert _patches.check(patch) == ("changed", "engineio.socket:Socket.nope is missing")


def test_installing_twice_judges_the_library_not_collabs_own_replacement() -> None:
    assert _patches.install(eio_patches.POLL_CAP) or _patches.report()["engineio-poll-cap"] == "installed"
    assert _patches.check(eio_patches.POLL_CAP) == ("ok", "")  # Socket.poll is collab's now, and still fine
    assert _patches.install(eio_patches.POLL_CAP)


def _pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, sep, ver = line.split("#")[0].strip().partition("==")
        if sep:
            pins[re.sub(r"\[.*\]", "", name).lower()] = ver
    return pins


def test_every_patch_matches_the_installed_libraries() -> None:
    """Every fix matches any tested version; every speed-up matches the pinned ones (requirements.txt).

    At the lowest versions (``.ci/run``'s second run) a speed-up may be skipped, never a fix.
    """
    pytest.importorskip("gevent")
    import engineio.async_drivers.gevent  # noqa: F401 - a target's module

    pins = _pinned()
    for patch in _patches.all_patches():
        verdict, detail = _patches.check(patch)
        if patch.kind == FIX or pins.get(patch.library) == _patches.version(patch.library):
            assert verdict == "ok", f"{patch.name}: {detail} (scripts/patch-fingerprints.py prints them)"


def test_every_patch_says_what_it_does_and_where_it_was_checked() -> None:
    names = [p.name for p in _patches.all_patches()]
    assert len(names) == len(set(names))
    for patch in _patches.all_patches():
        assert patch.kind in (FIX, SPEEDUP) and patch.what and re.match(r"\d", patch.checked)
        assert patch.library in _patches.TESTED, patch.library
        assert patch.targets and all(":" in t for t in patch.targets)


def test_pyproject_declares_the_ranges_the_patches_were_checked_on() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {}
    for spec in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0].lower()
        declared[name] = spec[len(name) :].split("]")[-1]
    for library, tested in _patches.TESTED.items():
        assert declared.get(library) == tested, f"{library}: pyproject has {declared.get(library)!r}, tested {tested!r}"


def test_collab_patches_switch_values() -> None:
    assert _patches.mode({}) == "on"
    assert _patches.mode({"COLLAB_PATCHES": "off"}) == "off"
    assert _patches.mode({"COLLAB_PATCHES": "Fixes"}) == "fixes"
    with pytest.raises(ConfigError, match="COLLAB_PATCHES must be on, fixes or off"):
        _patches.mode({"COLLAB_PATCHES": "some"})


# -- who installs what (fresh processes) ------------------------------------------------------

_STATE = """
    import json
    from engineio import socket as eio_socket
    from socketio import packet
    from geventwebsocket.websocket import Header
    from collab import _patches, _wswriter
    from collab._patches import engineio as p_eio, socketio as p_sio, geventwebsocket as p_gws
    state = {
        "status": _patches.report(),
        "poll": eio_socket.Socket.poll is p_eio._capped_poll,
        "writer": eio_socket.Socket._websocket_handler is _wswriter._coalescing_handler,
        "pings": eio_socket.Socket.schedule_ping is p_eio._timer_schedule_ping,
        "binary": getattr(packet.Packet.__dict__.get("data_is_binary"), "__func__", None) is p_sio._fast_data_is_binary,
        "mask": Header.mask_payload is p_gws._xor_mask,
    }
    print(json.dumps(state))
"""

_HOST = """
    {patch}
    import logging
    logging.basicConfig(level=logging.WARNING)
    from flask import Flask
    from flask_socketio import SocketIO
    from collab import Collab
    app = Flask("host")
    app.config["COLLAB_DATABASE"] = "sqlite:///host.db"
    socketio = SocketIO(app, async_mode={mode!r})
    Collab().init_app(app, socketio=socketio)
"""


@pytest.mark.parametrize("mode", ["gevent", "threading"])
def test_init_app_in_a_plain_host_installs_fixes_and_no_speedup(tmp_path: Path, mode: str) -> None:
    patch = "from gevent import monkey; monkey.patch_all()" if mode == "gevent" else ""
    state = run_python(_HOST.format(patch=patch, mode=mode), _STATE, cwd=tmp_path)
    assert state["poll"], "the poll cap is a fix: hosts get it"
    assert not any(state[k] for k in ("writer", "pings", "binary", "mask")), state
    speedups = {p.name for p in _patches.all_patches() if p.kind == SPEEDUP}
    assert not speedups & set(state["status"]), state["status"]
    assert "monkey-patching was not applied" not in state["stderr"]


def test_init_app_under_gevent_without_monkey_patching_warns(tmp_path: Path) -> None:
    state = run_python(_HOST.format(patch="", mode="gevent"), _STATE, cwd=tmp_path)
    assert "gevent async mode, but gevent's monkey-patching was not applied" in state["stderr"]
    assert "monkey.patch_all()" in state["stderr"]


def test_collabs_own_server_installs_the_speedups(tmp_path: Path) -> None:
    code = """
        from gevent import monkey; monkey.patch_all()
        from collab import create_app, _patches
        app = create_app({"COLLAB_DATABASE": "sqlite:///own.db"})
        _patches.install_speedups("gevent")  # what collab.server does after create_app
    """
    state = run_python(code, _STATE, cwd=tmp_path)
    flags = {
        "engineio-coalescing-writer": "writer",
        "engineio-timer-pings": "pings",
        "socketio-binary-check": "binary",
        "geventwebsocket-xor-mask": "mask",
    }
    pins = _pinned()
    for patch in _patches.all_patches():
        if patch.name not in flags:
            continue
        status = state["status"][patch.name]
        assert state[flags[patch.name]] is (status == "installed"), (patch.name, status)
        if pins.get(patch.library) == _patches.version(patch.library):
            assert status == "installed", (patch.name, status)  # the pinned versions get every speed-up
        else:
            assert status == "installed" or status.startswith("skipped: "), (patch.name, status)
    assert state["poll"]


@pytest.mark.parametrize(("value", "fixes", "speedups"), [("off", False, False), ("fixes", True, False)])
def test_collab_patches_env_turns_them_off(tmp_path: Path, value: str, fixes: bool, speedups: bool) -> None:
    code = """
        from gevent import monkey; monkey.patch_all()
        from collab import create_app, _patches
        app = create_app({"COLLAB_DATABASE": "sqlite:///own.db"})
        _patches.install_speedups("gevent")
    """
    state = run_python(code, _STATE, env={"COLLAB_PATCHES": value}, cwd=tmp_path)
    assert state["poll"] is fixes
    assert not any(state[k] for k in ("writer", "pings", "binary", "mask")) if not speedups else True
    assert set(state["status"].values()) <= {"installed", "off"}


def test_lowest_requirements_are_the_floors_of_pyproject() -> None:
    """.ci/run tests requirements-lowest.txt: it must be exactly the lowest versions pyproject allows."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"]) + [s for extra in project["optional-dependencies"].values() for s in extra]
    lowest = {}
    for line in (ROOT / "requirements-lowest.txt").read_text().splitlines():
        name, sep, ver = line.split("#")[0].strip().partition("==")
        if sep:
            lowest[re.sub(r"\[.*\]", "", name).lower()] = ver
    for spec in specs:
        name = re.sub(r"\[.*\]", "", re.split(r"[<>=!~ ]", spec, maxsplit=1)[0]).lower()
        floor = re.search(r">=([0-9][^,;\s]*)", spec)
        assert floor, f"{spec}: every dependency has a tested floor"
        assert lowest.get(name) == floor.group(1), f"{name}: requirements-lowest.txt {lowest.get(name)}, floor {spec}"


def _eio_server(async_mode: str) -> Any:
    import engineio

    server = engineio.Server(async_mode=async_mode)
    eio_patches._fast_compression(server)
    return server


@pytest.mark.parametrize("async_mode", ["gevent", "threading"])
def test_poll_responses_are_compressed_fast_into_what_clients_decode(async_mode: str) -> None:
    import gzip
    import zlib

    server = _eio_server(async_mode)
    for size in (2_000, eio_patches.OFF_LOOP_BYTES * 4):
        body = json.dumps([{"id": i, "points": [[i, i / 7]] * 8} for i in range(size // 60)]).encode()
        assert gzip.decompress(server._gzip(body)) == body
        assert zlib.decompress(server._deflate(body)) == body
        assert len(server._gzip(body)) < len(body) / 2


def test_a_large_poll_response_is_compressed_while_other_greenlets_run() -> None:
    import gevent

    server = _eio_server("gevent")
    body = json.dumps([[i, i / 3, "stroke"] for i in range(400_000)]).encode()
    assert len(body) >= eio_patches.OFF_LOOP_BYTES
    events: list[str] = []

    def neighbour() -> None:
        while "compressed" not in events:
            events.append("tick")
            gevent.sleep(0)

    ticker = gevent.spawn(neighbour)
    gevent.sleep(0)  # the neighbour runs once, then waits for its turn
    events.clear()
    server._gzip(body)
    events.append("compressed")
    ticker.join(timeout=10)
    assert "tick" in events[: events.index("compressed")], "the loop was held for the whole compression"
