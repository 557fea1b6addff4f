"""The benchmark's smoke mode runs, so ``python -m bench`` cannot rot (no timing assertions).

It starts the real collab server, drives it with the Node load generator
(official socket.io-client) for a few seconds at a tiny load, and checks that
every stroke reached every other member and every ack came back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
REQUIRE_ALL = os.environ.get("COLLAB_REQUIRE_ALL") == "1"


def _need_node_modules() -> None:
    """bench/node_modules must exist: install it with npm ci when npm is here, else skip (fail in CI)."""
    if shutil.which("node") and (BENCH / "node_modules" / "socket.io-client").is_dir():
        return
    if shutil.which("node") and shutil.which("npm"):
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, capture_output=True, text=True, timeout=120
        )
        if done.returncode == 0:
            return
        msg = f"`cd bench && npm ci` failed:\n{done.stderr[-2000:]}"
    else:
        msg = "node/npm are not installed, so bench/node_modules cannot be installed (`cd bench && npm ci`)"
    if REQUIRE_ALL:
        pytest.fail(f"{msg} and COLLAB_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(msg)  # COLLAB_REQUIRE_ALL=1 turns this into a failure


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
