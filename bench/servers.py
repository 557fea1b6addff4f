"""Start and stop the servers under test: collab and its three peers.

The peers: the naive Flask-SocketIO relay (in memory), the Node socket.io relay (in
memory) and the durable Node peer (socket.io + better-sqlite3: each stroke committed
before its ack, as collab does).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TARGETS = ("collab", "naive", "node", "durable")
#: what each target is called in the tables
LABELS = {"collab": "collab", "naive": "naive relay", "node": "Node relay", "durable": "durable Node"}
#: the targets that are Python processes (py-spy can sample them)
PYTHON_TARGETS = ("collab", "naive")
#: collab settings the benchmark needs: every generator client comes from 127.0.0.1, so the
#: per-IP connection cap (256 by default) is lifted; ``--collab-env`` overrides these.
#: Every benchmark client comes from 127.0.0.1: the limits per address would count them as one
#: abusive user (thousands of sockets, joins back to back). The byte and packet bounds stay.
COLLAB_BENCH_ENV = {
    "COLLAB_MAX_CONNECTIONS_PER_IP": "0",
    "COLLAB_MAX_SOCKETS_PER_IP": "0",
    "COLLAB_RATE_JOINS": "1000000",
    "COLLAB_RATE_JOINS_BURST": "1000000",
    # the peers write no access log either (collab's costs a line per long-poll request)
    "COLLAB_ACCESS_LOG": "false",
}


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process on a free port; ``pid`` is the process whose ``/proc`` is sampled."""

    def __init__(
        self,
        target: str,
        workdir: Path,
        *,
        collab_env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        database: Path | None = None,
    ) -> None:
        """``extra_args`` go to the server's command line; ``database``: the SQLite file (collab, durable)."""
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
        self.target = target
        self.workdir = workdir
        self.port = free_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        extra = list(extra_args or [])
        self.database = database or workdir / f"{'bench' if target == 'collab' else target}-{self.port}.db"
        if target == "collab":
            self.env.update(COLLAB_BENCH_ENV)
            self.env.update(collab_env or {})
            self.cmd = [
                sys.executable, str(ROOT / "app.py"),
                "--port", str(self.port),
                "--database", f"sqlite:///{self.database}",
                "--async-mode", self.env.get("COLLAB_ASYNC_MODE", "gevent"),
                "--log-level", "warning",
                *extra,
            ]  # fmt: skip
        elif target == "naive":
            self.cmd = [sys.executable, str(BENCH / "naive_relay.py"), "--port", str(self.port), *extra]
        elif target == "node":
            self.cmd = ["node", str(BENCH / "node_relay.js"), "--port", str(self.port), *extra]
        else:
            relay = str(BENCH / "durable_relay.js")
            self.cmd = ["node", relay, "--port", str(self.port), "--db", str(self.database), *extra]
        self.log_path = workdir / f"{target}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> Server:
        """Start and wait until ``/healthz`` answers 200."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.target} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.target} did not answer {self.url}/healthz within {timeout}s:\n{self.log()}")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self, tail: int = 4000) -> str:
        """The end of the server's output."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""
