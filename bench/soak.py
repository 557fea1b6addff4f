"""Soak test: many clients join, draw, leave and vanish for minutes; the server must come back to baseline.

    python -m bench.soak [--minutes 10] [--clients 200] [--notes 40] [--procs 4] [--rounds 1] [--smoke]

Loopback only and bounded. It starts its own collab server (gevent, SQLite in a
temporary directory), warms it up, records its baseline resident memory
(``VmRSS``) and open file descriptors, then runs ``--clients`` concurrent
python-socketio clients (threads spread over ``--procs`` load-generator
processes, so no single GIL delays the clients' heartbeats) in churn: each
connects over WebSocket or long-polling, joins one to three of ``--notes``
notes, draws strokes, moves its cursor, sends drafts, removes a stroke, and then
leaves politely, disconnects without leaving, or drops dead (its socket shut
without a goodbye). A helper
process of "ghost" clients is SIGKILLed every few seconds, so the server must
also notice peers that vanish mid-session (TCP reset, or the heartbeat for a
long-poll). After the churn it waits for the heartbeats to clean up and checks:

* ``collab_connections`` at ``/metrics`` is back to 0 and ``/healthz`` is 200;
* the server's open file descriptors are back within a small slack of baseline;
* no event was answered with ``internal``.

Resident memory is reported, not checked: CPython and the allocator keep the
memory of the busiest moment, so RSS settles at a plateau above the baseline.
``--rounds N`` repeats the churn and measures after each clean-up; a leak would
show as RSS that keeps rising from round to round.

It prints a markdown table and exits 1 when a check fails. ``--smoke`` runs
about 20 seconds (tests/integration/test_soak_smoke.py runs it); results of a full run are
in docs/performance.md ("Soak").
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
NS = "/notes"
HOST = "127.0.0.1"  # loopback only, by design
FD_SLACK = 8

GHOSTS = r"""
import random, sys, time, socketio
url, count, notes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
clients = []
for i in range(count):
    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(url, namespaces=["/notes"], transports=[random.choice(["websocket", "polling"])],
                    auth={"name": f"ghost{i}"}, wait_timeout=10)
        note = random.choice(notes)
        sio.call("join", {"note": note, "since": 0}, namespace="/notes", timeout=20)
        sio.call("stroke", {"note": note, "id": f"g{random.getrandbits(64):x}", "color": "#555", "width": 2,
                            "points": [[i, i], [i + 5, i + 9]]}, namespace="/notes", timeout=20)
        clients.append(sio)
    except Exception as exc:
        print("ghost failed:", exc, file=sys.stderr, flush=True)
print(len(clients), flush=True)
time.sleep(3600)
"""


# -- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (``/proc/<pid>/status`` VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (``/proc/<pid>/stat`` fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_log_summary(text: str) -> tuple[Counter[str], int, int]:
    """Disconnect reasons, slow-consumer drops and flood drops in the server's log."""
    reasons = Counter(m.group(1) for m in re.finditer(r"disconnect sid=\S+ reason=(.+)$", text, re.M))
    return reasons, text.count("slow consumer: dropping"), text.count("flood: dropping")


def fd_count(pid: int) -> int:
    """Open file descriptors of ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def gauge(url: str, name: str) -> float | None:
    """One unlabelled metric from ``/metrics``, or None if the server does not answer."""
    try:
        text = requests.get(url + "/metrics", timeout=10).text
    except requests.RequestException:
        return None
    m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


class Server:
    """``python app.py`` on a free loopback port with a throwaway SQLite database."""

    def __init__(self, workdir: Path, ping: float) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = workdir / "server.log"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "COLLAB_MAX_CONNECTIONS_PER_IP": "0",  # every client comes from 127.0.0.1
            "COLLAB_PING_INTERVAL": str(ping),
            "COLLAB_PING_TIMEOUT": str(ping),
        }
        cmd = [
            sys.executable, str(ROOT / "app.py"), "--host", HOST, "--port", str(self.port),
            "--database", f"sqlite:///{workdir / 'soak.db'}", "--log-level", "info",
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"collab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"collab did not answer /healthz within 30 s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# -- the clients ---------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Counters shared by every client thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0
    ops: int = 0
    volatile: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    endings: Counter[str] = field(default_factory=Counter)
    ghosts: int = 0

    def ack(self, ack: Any, op: bool) -> None:
        with self.lock:
            if isinstance(ack, dict) and ack.get("ok") is True:
                self.ops += op
            elif isinstance(ack, dict) and isinstance(ack.get("error"), dict):
                self.errors[str(ack["error"].get("code"))] += 1
            else:
                self.errors[f"malformed ack {ack!r:.40}"] += 1

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures[what] += 1

    def totals(self) -> dict[str, Any]:
        """The counters as plain data (to send from a worker process)."""
        with self.lock:
            return {
                "connections": self.connections, "ops": self.ops, "volatile": self.volatile,
                "errors": dict(self.errors), "failures": dict(self.failures), "endings": dict(self.endings),
            }  # fmt: skip

    def merge(self, totals: dict[str, Any]) -> None:
        """Add a worker process's :meth:`totals`."""
        with self.lock:
            self.connections += totals["connections"]
            self.ops += totals["ops"]
            self.volatile += totals["volatile"]
            self.errors.update(totals["errors"])
            self.failures.update(totals["failures"])
            self.endings.update(totals["endings"])

    def ended(self, how: str) -> None:
        with self.lock:
            self.endings[how] += 1

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


def _stroke(note: str, sid: str, rng: random.Random) -> dict[str, Any]:
    x, y = rng.uniform(0, 1000), rng.uniform(0, 700)
    pts = [
        [round(x + i * rng.uniform(-4, 4), 1), round(y + i * rng.uniform(-4, 4), 1)] for i in range(rng.randint(2, 40))
    ]
    return {"note": note, "id": sid, "color": rng.choice(["#e03131", "#1971c2", "#2f9e44"]), "width": 3, "points": pts}


def _close_abruptly(sio: socketio.Client) -> None:
    """Drop the connection without a goodbye: shut the WebSocket's TCP socket under the client."""
    ws = getattr(sio.eio, "ws", None)
    raw = getattr(ws, "sock", None)
    if raw is not None:
        try:
            raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    sio.disconnect()  # the client's own clean-up; the server already lost the socket


def session(url: str, notes: list[str], rng: random.Random, stats: Stats, name: str, stop_at: float) -> None:
    """One client's life: connect, join, draw, and leave, disconnect or drop dead."""
    transport = "websocket" if rng.random() < 0.7 else "polling"
    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(url, namespaces=[NS], transports=[transport], auth={"name": name}, wait_timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure is counted and reported
        stats.fail(f"connect: {type(exc).__name__} ({transport})")
        return
    stats.count("connections")
    mine: list[tuple[str, str]] = []
    try:
        joined = rng.sample(notes, rng.randint(1, 3))
        for note in joined:
            ack = sio.call("join", {"note": note}, namespace=NS, timeout=30)
            stats.ack(ack, op=False)
            if isinstance(ack, dict) and len(ack.get("strokes") or ()) > 400:
                stats.ack(sio.call("clear", {"note": note}, namespace=NS, timeout=30), op=True)  # keep notes small
        for _ in range(rng.randint(5, 40)):
            if time.monotonic() > stop_at:
                break  # the churn is over: end this session now
            note = rng.choice(joined)
            roll = rng.random()
            if roll < 0.55:
                sid = f"{name}-{rng.getrandbits(48):x}"
                stats.ack(sio.call("stroke", _stroke(note, sid, rng), namespace=NS, timeout=30), op=True)
                mine.append((note, sid))
            elif roll < 0.8:
                sio.emit("cursor", {"note": note, "x": rng.uniform(0, 1000), "y": rng.uniform(0, 700)}, namespace=NS)
                stats.count("volatile")
            elif roll < 0.93:
                sio.emit("draft", _stroke(note, "draft", rng), namespace=NS)
                stats.count("volatile")
            elif mine:
                rnote, rid = mine.pop(rng.randrange(len(mine)))
                stats.ack(sio.call("remove", {"note": rnote, "id": rid}, namespace=NS, timeout=30), op=True)
            time.sleep(rng.uniform(0.05, 0.4))
        ending = rng.random()
        if ending < 0.4:
            for note in joined:
                stats.ack(sio.call("leave", {"note": note}, namespace=NS, timeout=30), op=False)
            stats.ended("leave")
            sio.disconnect()
        elif ending < 0.75 or transport != "websocket":
            stats.ended("disconnect")
            sio.disconnect()
        else:
            stats.ended("abrupt")
            _close_abruptly(sio)
    except Exception as exc:  # noqa: BLE001 - any failure is counted and reported
        stats.fail(f"{type(exc).__name__} ({transport})")
        sio.disconnect()
    finally:
        http = getattr(sio.eio, "http", None)
        if http is not None:
            http.close()  # no idle keep-alive sockets left behind on the server


def client_loop(url: str, notes: list[str], stop_at: float, seed: int, stats: Stats) -> None:
    """Sessions back to back until ``stop_at``."""
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < stop_at:
        session(url, notes, rng, stats, f"c{seed}-{n}", stop_at)
        n += 1
        time.sleep(rng.uniform(0, 0.5))


def client_process(url: str, notes: list[str], clients: int, seconds: float, seed: int, out: Any) -> None:
    """One load-generator process: ``clients`` threads churning for ``seconds``; puts its counters on ``out``."""
    stats = Stats()
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(url, notes, stop_at, seed * 100_000 + i, stats), daemon=True)
        for i in range(clients)
    ]
    for i, t in enumerate(threads):
        t.start()
        if i % 10 == 9:
            time.sleep(0.1)  # ramp up rather than a thundering herd of handshakes
    for t in threads:
        t.join(timeout=max(5.0, stop_at - time.monotonic() + 60))
    out.put(stats.totals())


def churn(url: str, notes: list[str], clients: int, procs: int, seconds: float, stats: Stats, seed: int) -> None:
    """``clients`` threads in ``procs`` processes churning for ``seconds``; ghosts SIGKILLed along the way.

    Several processes keep the load generator's own GIL from delaying its clients' heartbeats.
    """
    stop_at = time.monotonic() + seconds
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [
        ctx.Process(
            target=client_process, args=(url, notes, len(range(i, clients, procs)), seconds, seed * 100 + i, out)
        )
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    ghost_count = max(2, clients // 20)
    rng = random.Random(seed)
    while time.monotonic() < stop_at - 2:
        proc = subprocess.Popen(
            [sys.executable, "-c", GHOSTS, url, str(ghost_count), ",".join(notes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            ready = proc.stdout.readline().strip()
            stats.count("ghosts", int(ready or 0))
            time.sleep(min(rng.uniform(1, 6), max(0.0, stop_at - time.monotonic())))
        finally:
            proc.kill()  # SIGKILL: no goodbye from any of its clients
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    for _ in workers:
        stats.merge(out.get(timeout=max(5.0, stop_at - time.monotonic() + 120)))
    for w in workers:
        w.join(timeout=30)
        if w.is_alive():
            w.kill()
            w.join()


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class Sample:
    """Peaks seen by the monitor thread."""

    rss: int = 0
    fds: int = 0
    connections: float = 0.0
    timeline: list[int] = field(default_factory=list)  # RSS (KiB) once a second


def monitor(server: Server, peak: Sample, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if not server.alive():
            return
        rss = rss_kib(server.pid)
        peak.timeline.append(rss)
        peak.rss = max(peak.rss, rss)
        peak.fds = max(peak.fds, fd_count(server.pid))
        peak.connections = max(peak.connections, gauge(server.url, "collab_connections") or 0.0)


def wait_for_zero(url: str, timeout: float) -> float | None:
    """Poll ``collab_connections`` until it is 0; its last value."""
    deadline = time.monotonic() + timeout
    value = gauge(url, "collab_connections")
    while value != 0 and time.monotonic() < deadline:
        time.sleep(1)
        value = gauge(url, "collab_connections")
    return value


def _own_cpu() -> float:
    """CPU seconds of this process and its finished children (workers, ghosts)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="length of the churn (default 10)")
    p.add_argument("--clients", type=int, default=200, help="concurrent clients (default 200)")
    p.add_argument("--notes", type=int, default=40, help="notes the clients pick from (default 40)")
    p.add_argument(
        "--procs", type=int, default=4, help="load-generator processes the clients are spread over (default 4)"
    )
    p.add_argument("--rounds", type=int, default=1, help="repeat the churn, measuring after each clean-up (default 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--smoke", action="store_true", help="a ~20 s run with 20 clients (for tests)")
    args = p.parse_args(argv)
    seconds = 8.0 if args.smoke else args.minutes * 60
    clients = 20 if args.smoke else args.clients
    ping = 2.0 if args.smoke else 5.0
    procs = 1 if args.smoke else max(1, min(args.procs, clients))
    seconds = min(seconds, 3600.0)  # bounded, whatever is asked
    notes = [f"soak-{i}" for i in range(args.notes)]

    with tempfile.TemporaryDirectory(prefix="collab-soak-") as tmp:
        server = Server(Path(tmp), ping)
        try:
            return run(server, notes, clients, procs, seconds, ping, args.seed, max(1, args.rounds))
        finally:
            server.stop()


def run(
    server: Server, notes: list[str], clients: int, procs: int, seconds: float, ping: float, seed: int, rounds: int = 1
) -> int:
    """Warm up, measure the baseline, churn, wait for clean-up, measure and report."""
    cleanup_timeout = 4 * (2 * ping) + 30
    warm = Stats()
    churn(server.url, notes, min(clients, 10), 1, 4.0, warm, seed + 1)  # imports, caches, pool connections
    wait_for_zero(server.url, cleanup_timeout)
    time.sleep(2)
    base_rss, base_fds = rss_kib(server.pid), fd_count(server.pid)
    print(f"baseline: {mib(base_rss)}, {base_fds} fds; churning {clients} clients for {seconds:.0f} s", flush=True)

    stats, peak, stop = Stats(), Sample(), threading.Event()
    mon = threading.Thread(target=monitor, args=(server, peak, stop), daemon=True)
    mon.start()
    churned = server_cpu_s = own_cpu_s = 0.0
    after_rounds: list[tuple[int, int]] = []  # (RSS KiB, fds) after each round's clean-up
    for r in range(rounds):
        started, server_cpu0, own_cpu0 = time.monotonic(), cpu_seconds(server.pid), _own_cpu()
        churn(server.url, notes, clients, procs, seconds, stats, seed + 7 * r)
        churned += time.monotonic() - started
        server_cpu_s += cpu_seconds(server.pid) - server_cpu0 if server.alive() else 0.0
        own_cpu_s += _own_cpu() - own_cpu0
        left = wait_for_zero(server.url, cleanup_timeout)
        time.sleep(2)
        if not server.alive():
            break
        after_rounds.append((rss_kib(server.pid), fd_count(server.pid)))
        if rounds > 1:
            print(f"round {r + 1}: {mib(after_rounds[-1][0])}, {after_rounds[-1][1]} fds after clean-up", flush=True)
    server_cpu, own_cpu = server_cpu_s / churned * 100, own_cpu_s / churned * 100
    stop.set()
    mon.join()

    alive = server.alive()
    end_rss = rss_kib(server.pid) if alive else 0
    end_fds = fd_count(server.pid) if alive else 0
    healthy = alive and requests.get(server.url + "/healthz", timeout=10).status_code == 200
    problems = []
    if not healthy:
        problems.append("the server died or /healthz failed")
    if left != 0:
        problems.append(f"collab_connections is {left} after the clean-up wait, not 0")
    if end_fds > base_fds + FD_SLACK:
        problems.append(f"{end_fds} open fds at the end, baseline {base_fds} (+{FD_SLACK} allowed)")
    if stats.errors.get("internal"):
        problems.append(f"{stats.errors['internal']} events answered with internal errors (see the server log)")

    errors = ", ".join(f"{k} {v}" for k, v in sorted(stats.errors.items())) or "none"
    failures = ", ".join(f"{k} {v}" for k, v in sorted(stats.failures.items())) or "none"
    endings = ", ".join(f"{k} {v}" for k, v in sorted(stats.endings.items()))
    reasons, slow, flood = server_log_summary(server.log_path.read_text(errors="replace"))
    quarters = [peak.timeline[min(len(peak.timeline) - 1, len(peak.timeline) * q // 4)] for q in (1, 2, 3, 4)]
    rows = [
        (
            "churn",
            f"{churned:.0f} s in {rounds} round(s), {clients} concurrent clients in {procs} processes, "
            f"{len(notes)} notes, ping {ping:g}+{ping:g} s",
        ),
        (
            "connections",
            f"{stats.connections} sessions + {stats.ghosts} ghosts SIGKILLed; peak {peak.connections:.0f} open",
        ),
        ("session endings", endings),
        ("ops acked", f"{stats.ops} ({stats.ops / churned:.0f}/s) + {stats.volatile} cursors/drafts"),
        ("error acks", errors),
        ("client failures", failures),
        ("server-side disconnects", ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))),
        ("dropped by the server", f"slow consumer {slow}, flood {flood}"),
        (
            "CPU during the churn",
            f"server {server_cpu:.0f}%, load generator {own_cpu:.0f}% (all its processes; 100% = one core)",
        ),
        ("RSS baseline / peak / end", f"{mib(base_rss)} / {mib(peak.rss)} / {mib(end_rss)}"),
        ("RSS at 1/4, 2/4, 3/4, 4/4 of the churn", " / ".join(mib(k) for k in quarters) if peak.timeline else "-"),
        *(
            [("RSS / fds after each round's clean-up", ", ".join(f"{mib(k)} / {n}" for k, n in after_rounds))]
            if rounds > 1
            else []
        ),
        ("open fds baseline / peak / end", f"{base_fds} / {peak.fds} / {end_fds}"),
        ("collab_connections after clean-up", f"{left:g}" if left is not None else "no answer"),
        ("result", "PASS" if not problems else "FAIL: " + "; ".join(problems)),
    ]
    print("\n| measure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")
    if problems:
        print("\nserver log (tail):\n" + server.log_tail(), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
