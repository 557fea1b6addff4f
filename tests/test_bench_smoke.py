"""The benchmark's smoke mode runs, so ``python -m bench`` cannot rot (no timing assertions).

It starts the real collab server, drives it with the Node load generator
(official socket.io-client) for a few seconds at a tiny load, and checks that
every stroke reached every other member and every ack came back.
"""

from __future__ import annotations

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


def test_bench_smoke_s1_collab(tmp_path: Path) -> None:
    _need_node_modules()
    out = tmp_path / "smoke.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "s1", "--smoke", "--target", "collab", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"smoke failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
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
    done = subprocess.run(
        [
            sys.executable, "-m", "bench", "s1", "--smoke", "--target", "naive,node",
            "--set", "parser=msgpack", "--naive-arg=--serializer", "--naive-arg=msgpack",
            "--node-arg=--parser", "--node-arg=msgpack", "--out", str(tmp_path / "msgpack.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, f"smoke failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    for target in ("naive", "node"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"| s1 | {target} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        losses, expected = (c.strip() for c in cells[7].split("/"))
        assert losses == "0" and int(expected.replace(",", "")) > 0, row
