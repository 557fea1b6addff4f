"""The benchmark's smoke mode runs, so ``python -m bench`` cannot rot (no timing assertions).

It starts the real collab server, drives it with the Node load generator
(official socket.io-client) for a few seconds at a tiny load, and checks that
every stroke reached every other member and every ack came back. The durable
Node peer (``bench/durable_relay.js``) runs the same smoke load, and its store
is checked across a restart; ``python -m bench bignote --smoke`` runs every
phase of the big-note benchmark on tiny notes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
BENCH = ROOT / "bench"
REQUIRE_ALL = os.environ.get("COLLAB_REQUIRE_ALL") == "1"


NODE_MODULES = ("socket.io-client", "socket.io", "better-sqlite3")


def _need_node_modules() -> None:
    """bench/node_modules must exist: install it with npm ci when npm is here, else skip (fail in CI)."""
    have = all((BENCH / "node_modules" / m).is_dir() for m in NODE_MODULES)
    if shutil.which("node") and have:
        return
    if shutil.which("node") and shutil.which("npm"):
        done = subprocess.run(  # better-sqlite3 may compile from source: a minute or two
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            return
        msg = f"`cd bench && npm ci` failed:\n{done.stderr[-2000:]}"
    else:
        msg = "node/npm are not installed, so bench/node_modules cannot be installed (`cd bench && npm ci`)"
    if REQUIRE_ALL:
        pytest.fail(f"{msg} and COLLAB_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(msg)  # COLLAB_REQUIRE_ALL=1 turns this into a failure


def _row(table: str, scenario: str, target: str) -> list[str]:
    """The cells of one server's row in the main table."""
    row = next(line for line in table.splitlines() if line.startswith(f"| {scenario} | {target} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def _bench(*args: str, timeout: float = 180, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m bench ARGS`` from the repository root; with ``ok``, it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if ok:
        assert done.returncode == 0, f"bench failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


def test_bench_smoke_s1_collab(tmp_path: Path) -> None:
    _need_node_modules()
    out = tmp_path / "smoke.json"
    done = _bench("s1", "--smoke", "--target", "collab", "--out", str(out))
    table = done.stdout
    assert "| scenario | server | deliveries/s |" in table
    row = next(line for line in table.splitlines() if line.startswith("| s1 | collab |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # deliveries/s, latency percentiles and CPU are figures, not blanks
    assert all(c not in ("", "-") for c in cells), row
    losses, expected = (c.strip() for c in cells[7].split("/"))
    assert losses == "0" and int(expected.replace(",", "")) > 0, row
    acks, sent = (c.strip() for c in cells[8].split("/"))
    assert acks == sent, row
    assert out.is_file() and "smoke passed" in done.stderr


def test_bench_smoke_msgpack_lever_on_the_peers(tmp_path: Path) -> None:
    """The msgpack lever (generator, naive relay and Node relay all on msgpack) still runs without loss."""
    _need_node_modules()
    pytest.importorskip("msgpack", reason="pip install msgpack (requirements-dev.txt)")
    done = _bench(
        "s1", "--smoke", "--target", "naive,node",
        "--set", "parser=msgpack", "--naive-arg=--serializer", "--naive-arg=msgpack",
        "--node-arg=--parser", "--node-arg=msgpack", "--out", str(tmp_path / "msgpack.json"),
    )  # fmt: skip
    for target in ("naive", "node"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"| s1 | {target} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        losses, expected = (c.strip() for c in cells[7].split("/"))
        assert losses == "0" and int(expected.replace(",", "")) > 0, row


def test_bench_smoke_polling_reuses_connections(tmp_path: Path) -> None:
    """S1 over long-polling runs without loss, and the generator's polls reuse kept-alive connections.

    socket.io-client under Node opens a TCP connection per request unless given an agent; the
    generator gives its polling clients one keep-alive agent, as a browser's XHR behaves.
    """
    _need_node_modules()
    out = tmp_path / "polling.json"
    _bench("s1-polling", "--smoke", "--target", "collab", "--out", str(out))
    (record,) = json.loads(out.read_text())["records"]
    lg = record["loadgen"]
    clients = lg["options"]["rooms"] * lg["options"]["clients"]
    polls = lg["result"]["received_deliveries"] // 4  # at most 16 packets a poll; at least this many polls
    # one long poll and one POST at a time per client, plus a few handshakes: a handful per client,
    # where a connection per request would be hundreds
    assert 0 < lg["http_connections"] <= 4 * clients < polls, (lg["http_connections"], clients, polls)


def test_bench_measures_disturbed_runs_and_steps_again(tmp_path: Path) -> None:
    """A run (an S3 step) disturbed by other processes is measured again and the discarded one is listed.

    ``--max-others -1`` makes every window count as disturbed (other processes' CPU is never below 0),
    so the retake path runs deterministically; ``maxP99=0`` makes every S3 step fail.
    """
    _need_node_modules()
    out = tmp_path / "retake.json"
    retake = ("--smoke", "--target", "collab", "--max-others", "-1", "--retakes", "1", "--set", "duration=1")
    done = _bench("s1", *retake, "--set", "drain=2", "--out", str(out))
    (record,) = json.loads(out.read_text())["records"]
    assert len(record["disturbed"]) == 1 and record["disturbed"][0]["others_cpu"] >= 0
    assert "s1 collab run 1 measured again" in done.stdout and "measuring again" in done.stderr

    out = tmp_path / "retake-s3.json"
    _bench("s3", *retake, "--set", "maxP99=0", "--set", "settle=0.5", "--out", str(out), ok=False)  # no step passes
    (record,) = json.loads(out.read_text())["records"]
    phases = record["loadgen"]["phases"]
    assert [bool(p.get("disturbed")) for p in phases] == [True, False], phases
    assert phases[1].get("retaken") and phases[0]["rate_per_client"] == phases[1]["rate_per_client"]
    assert phases[0]["others_cpu_pct"] >= 0 and phases[0]["server_cpu_pct"] > 0


def test_bench_smoke_durable_peer(tmp_path: Path) -> None:
    """The durable Node peer runs S1's smoke load beside collab without loss; the issue-19 table compares them."""
    _need_node_modules()
    out = tmp_path / "durable.json"
    done = _bench("s1", "--smoke", "--target", "collab,durable", "--retakes", "0", "--out", str(out))
    for target in ("collab", "durable"):
        cells = _row(done.stdout, "s1", target)
        losses, expected = (c.strip() for c in cells[7].split("/"))
        assert losses == "0" and int(expected.replace(",", "")) > 0, cells
        acks, sent = (c.strip() for c in cells[8].split("/"))
        assert acks == sent, cells
    assert "| s1 | p99 <= the durable peer's |" in done.stdout, done.stdout
    assert "| s1 | no loss, every ack | 0 | 0 | met |" in done.stdout, done.stdout
    records = json.loads(out.read_text())["records"]
    durable = next(r for r in records if r["target"] == "durable")
    assert "durable_relay.js" in " ".join(durable["command"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_durable(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["node", str(BENCH / "durable_relay.js"), "--port", str(port), "--db", str(db)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "durable_relay.js exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("durable_relay.js did not answer /healthz")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_durable_peer_acks_after_storing_and_keeps_strokes_across_a_restart(tmp_path: Path) -> None:
    """join/stroke as collab's contract says; what was acked is there after the process restarts."""
    _need_node_modules()
    import socketio

    db, port = tmp_path / "durable.db", _free_port()
    url = f"http://127.0.0.1:{port}"
    stroke = {"note": "n1", "color": "#123456", "width": 2, "points": [[1, 2], [3, 4]]}
    proc = _start_durable(db, port)
    try:
        a, b = socketio.Client(), socketio.Client()
        got: list[dict] = []
        b.on("stroke", got.append, namespace="/notes")
        for c in (a, b):
            c.connect(url, namespaces=["/notes"], transports=["websocket"])
            ack = c.call("join", {"note": "n1"}, namespace="/notes")
            assert ack["ok"] and ack["seq"] == 0 and ack["strokes"] == [], ack
        assert a.call("stroke", {**stroke, "id": "s1"}, namespace="/notes") == {"ok": True, "seq": 1}
        assert a.call("stroke", {**stroke, "id": "s2"}, namespace="/notes") == {"ok": True, "seq": 2}
        dup = a.call("stroke", {**stroke, "id": "s1"}, namespace="/notes")
        assert dup == {"ok": True, "seq": 1, "duplicate": True}
        refused = a.call("stroke", {**stroke, "note": "other", "id": "s3"}, namespace="/notes")
        assert refused["ok"] is False and refused["error"]["code"] == "not_joined"
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(op["id"], op["seq"], op["note"], op["type"]) for op in got] == [
            ("s1", 1, "n1", "stroke"),
            ("s2", 2, "n1", "stroke"),
        ]
        for c in (a, b):
            c.disconnect()
    finally:
        _stop(proc)
    proc = _start_durable(db, port)
    try:
        c = socketio.Client()
        c.connect(url, namespaces=["/notes"], transports=["polling"])
        ack = c.call("join", {"note": "n1"}, namespace="/notes")
        assert ack["seq"] == 2 and [(s["id"], s["seq"]) for s in ack["strokes"]] == [("s1", 1), ("s2", 2)]
        since = c.call("join", {"note": "n1", "since": 1}, namespace="/notes")
        assert [op["id"] for op in since["ops"]] == ["s2"] and "strokes" not in since
        assert c.call("stroke", {**stroke, "id": "s3"}, namespace="/notes") == {"ok": True, "seq": 3}
        c.disconnect()
    finally:
        _stop(proc)


def test_bench_bignote_smoke(tmp_path: Path) -> None:
    """Every phase of ``python -m bench bignote`` runs on tiny notes: joins, fan-out, exports and 304s, memory."""
    _need_node_modules()
    out = tmp_path / "bignote.json"
    done = _bench("bignote", "--smoke", "--out", str(out))
    assert "smoke passed" in done.stderr, done.stderr[-3000:]
    for heading in ("| strokes (32 points each) | join ack MB |", "| joiner of the 300-stroke note |",
                    "| strokes | export | status |", "joins sent by a client that never reads"):  # fmt: skip
        assert heading in done.stdout, done.stdout
    doc = json.loads(out.read_text())
    assert {(r["size"], r["transport"]) for r in doc["joins"]} == {
        (n, t) for n in (100, 300) for t in ("websocket", "polling", "node-websocket", "raw")
    }
    assert all(r["failures"] == 0 and r["seconds"] for r in doc["joins"])
    assert [r["with_joiner"] for r in doc["fanout"]] == [False, True]
    assert doc["fanout"][1]["joiner"]["joins"] > 0 and doc["fanout"][1]["joiner"]["failures"] == 0
    assert all(r["summary"]["losses"] == 0 for r in doc["fanout"])
    assert {(r["export"], r["status"], r["not_modified_status"]) for r in doc["exports"]} == {
        (e, 200, 304) for e in ("png", "png 240 px", "svg")
    }
    assert doc["memory"]["handled"] == doc["memory"]["joins"] == 5 and doc["memory"]["server_alive"]


def test_bench_bignote_fails_loudly_on_a_bad_option() -> None:
    """``--big`` must name one of the filled notes."""
    done = _bench("bignote", "--smoke", "--big", "7", ok=False)
    assert done.returncode == 2 and "--big 7 must be one of" in done.stderr


def test_bench_scale_smoke_compares_routings_with_the_sqlite_baseline(pg_url: str, redis_url: str) -> None:
    """``python -m bench.scale`` runs the baseline, then 2 processes with each routing, losing nothing.

    (``pg_url`` and ``redis_url`` only make sure the services answer: bench.scale makes its own database.)
    """
    _need_node_modules()
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--processes", "2", "--rooms", "2", "--clients", "3",
         "--duration", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"bench.scale failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    rows = [line.split("|")[1:4] for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [[c.strip() for c in r] for r in rows[1:]] == [
        ["1", "sqlite", "-"], ["2", "postgresql", "spread"], ["2", "postgresql", "note"]
    ], done.stdout  # fmt: skip


def test_page_render_bench_smoke_prints_every_figure_beside_its_target(tmp_path: Path) -> None:
    """``python3 bench/page_render.py --smoke`` opens a small note in headless Chromium at DPR 1 and 2
    and prints the issue's table: a figure in every cell, a verdict for every target (no timing asserted)."""
    import importlib.util

    chromium = os.environ.get("COLLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if importlib.util.find_spec("playwright") is None or not chromium:
        if REQUIRE_ALL:
            pytest.fail("Playwright and a chromium are needed and COLLAB_REQUIRE_ALL=1", pytrace=False)
        pytest.skip("needs Playwright for Python and the system chromium")  # COLLAB_REQUIRE_ALL fails instead
    script = BENCH / "page_render.py"
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "--smoke" in usage.stdout and "--runs" in usage.stdout
    out = tmp_path / "render.json"
    done = subprocess.run(
        [sys.executable, str(script), "--smoke", "--chromium", chromium, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"page_render failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    assert "smoke passed" in done.stderr, done.stderr[-3000:]
    assert "| figure | DPR 1 | DPR 2 | target | |" in done.stdout, done.stdout
    rows = {
        c[0]: c[1:]
        for line in done.stdout.splitlines()
        if line.startswith("| ") and "---" not in line and not line.startswith("| figure")
        for c in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    targets = {
        "strokes painted after navigation",
        "pan, median fps",
        "adding a local stroke, longest frame",
        "adding a remote stroke, longest frame",
    }
    assert targets <= set(rows), done.stdout
    for label, cells in rows.items():
        assert all(c not in ("", "-") for c in cells[:2]), (label, cells)  # a figure at each DPR
        if label in targets:
            assert cells[3] in ("met", "not met") or cells[3].startswith("not met at "), (label, cells)
    doc = json.loads(out.read_text())
    assert doc["strokes"] == 100 and doc["dprs"] == [1, 2]
    assert all(len(doc["results"][str(d)]) == 1 for d in (1, 2))
