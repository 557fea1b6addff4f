"""Scale-out benchmark: the same load on 1, 2 and 3 collab processes (PostgreSQL + Redis).

    python -m bench.scale                       # S1's shape at 5 strokes/s, 1/2/3 processes
    python -m bench.scale --mode ramp           # S3's shape: rising rate until p99 > 200 ms or a loss
    python -m bench.scale --processes 1,2 --transports polling --routing spread

First, the baseline: one process on the embedded default (SQLite, no message queue)
under the same load, so that every other row has its ratio to it in the same run.
Then for each process count, each routing:

- ``spread``: each room's clients are dealt round-robin over the processes, so
  every broadcast crosses Redis to reach most of its receivers (what ``ip_hash``
  gives for people behind different addresses);
- ``note``: each room's clients all reach one process, as deploy/nginx.conf's
  note-affine routing (``hash`` on the connection's ``note``) gives; Redis then
  carries only what must cross.

Every op is stored in one PostgreSQL database shared by the processes (a fresh
database per run). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from .procstat import cpu_seconds, status_kb
from .servers import free_port

ROOT = Path(__file__).resolve().parent.parent
LOADGEN = Path(__file__).resolve().parent / "loadgen.js"
PG = os.environ.get("COLLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("COLLAB_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _fresh_database() -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from collab.store.sql import normalize_url

    admin_url = make_url(normalize_url(PG))
    name = "collab_scale_" + uuid.uuid4().hex[:10]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def _start(n: int, database: str, workdir: Path, queue: bool = True) -> list[tuple[subprocess.Popen[bytes], str]]:
    channel = "collab-scale-" + uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "COLLAB_MAX_CONNECTIONS_PER_IP": "0",
        "COLLAB_MESSAGE_QUEUE_CHANNEL": channel,
        "PYTHONUNBUFFERED": "1",
    }
    procs = []
    for i in range(n):
        port = free_port()
        log = open(workdir / f"scale-{n}-{i}-{uuid.uuid4().hex[:4]}.log", "wb")  # noqa: SIM115 - lives as long as the server
        cmd = [
            sys.executable, str(ROOT / "app.py"), "--port", str(port), "--database", database,
            *(("--message-queue", REDIS) if queue else ()), "--log-level", "warning",
        ]  # fmt: skip
        procs.append(
            (
                subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT),
                f"http://127.0.0.1:{port}",
            )
        )
    deadline = time.monotonic() + 30
    for proc, url in procs:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"a server exited with {proc.returncode}; see {workdir}")
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start; see {workdir}")
            time.sleep(0.1)
    return procs


def run(
    n: int, args: argparse.Namespace, workdir: Path, store: str = "postgresql", routing: str = "spread"
) -> dict[str, Any]:
    """One measurement with ``n`` processes on ``store`` (``sqlite``: one process, no queue)."""
    if store == "sqlite":
        database, drop = f"sqlite:///{workdir / ('scale-' + uuid.uuid4().hex[:8] + '.db')}", lambda: None
        procs = _start(n, database, workdir, queue=False)
    else:
        database, drop = _fresh_database()
        procs = _start(n, database, workdir)
    try:
        time.sleep(1)
        cpu0 = [cpu_seconds(p.pid) for p, _ in procs]
        t0 = time.monotonic()
        opts = {
            "url": ",".join(url for _, url in procs),
            "mode": args.mode,
            "rooms": args.rooms,
            "clients": args.clients,
            "rate": args.rate,
            "points": 32,
            "duration": args.duration,
            "warmup": 2,
            "transports": args.transports,
            "deal": "room" if routing == "note" else "client",
        }
        cmd = ["node", str(LOADGEN), "--json", json.dumps(opts)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        elapsed = time.monotonic() - t0
        if out.returncode not in (0, 1):
            raise RuntimeError(f"loadgen failed: {out.stderr[-2000:]}")
        result = json.loads(out.stdout)["result"]
        cpu = [100 * (cpu_seconds(p.pid) - c) / elapsed for (p, _), c in zip(procs, cpu0, strict=True)]
        rss = [status_kb(p.pid) / 1024 for p, _ in procs]
        return {"processes": n, "store": store, "routing": routing, "result": result, "cpu": cpu, "rss": rss}
    finally:
        for p, _ in procs:
            p.terminate()
        for p, _ in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        drop()


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of a series of runs, each with its ratios to the first (the baseline)."""
    lines = [
        "| processes | store | routing | deliveries/s | p50 ms | p99 ms | max ms | losses | acks "
        "| server CPU % (each) | RSS MB (each) | p99 / baseline | CPU / baseline |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    base = rows[0] if rows else None
    for r in rows:
        res = r["result"]
        lat = res.get("latency_ms", {})
        ratios = "| - | -"
        if base is not None and r is not base:
            b_lat, b_cpu = base["result"].get("latency_ms", {}).get("p99") or 0, sum(base["cpu"])
            p99 = f"{lat.get('p99', 0) / b_lat:.2f}x" if b_lat else "-"
            cpu = f"{sum(r['cpu']) / b_cpu:.2f}x" if b_cpu else "-"
            ratios = f"| {p99} | {cpu}"
        routing = r.get("routing", "spread") if r["processes"] > 1 else "-"
        lines.append(
            f"| {r['processes']} | {r.get('store', 'postgresql')} | {routing} "
            f"| {res.get('deliveries_per_s', 0):,.0f} | {lat.get('p50', 0):.1f} "
            f"| {lat.get('p99', 0):.1f} | {lat.get('max', 0):.1f} | {res.get('losses', 0):,} | {res.get('acks', 0):,} "
            f"| {sum(r['cpu']):.0f} ({', '.join(f'{c:.0f}' for c in r['cpu'])}) "
            f"| {', '.join(f'{m:.0f}' for m in r['rss'])} {ratios} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    p.add_argument("--processes", default="1,2,3", help="process counts to compare [1,2,3]")
    p.add_argument("--mode", choices=("run", "ramp"), default="run", help="fixed rate (run) or rising rate (ramp)")
    p.add_argument("--rooms", type=int, default=10)
    p.add_argument("--clients", type=int, default=10, help="clients per room")
    p.add_argument("--rate", type=float, default=5, help="strokes per second per client (run mode)")
    p.add_argument("--duration", type=float, default=10, help="seconds per measurement (per step in ramp mode)")
    p.add_argument("--transports", default="websocket", help="websocket or polling")
    p.add_argument(
        "--routing", default="spread,note", help="spread, note, or spread,note (both), for 2 processes or more"
    )
    p.add_argument("--no-baseline", action="store_true", help="leave out the SQLite single-process baseline")
    args = p.parse_args(argv)
    routings = [r.strip() for r in args.routing.split(",") if r.strip()]
    if not routings or set(routings) - {"spread", "note"}:
        p.error(f"--routing takes spread, note or spread,note, not {args.routing!r}")
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        if not _answers(port):
            print(f"bench.scale: {name} does not answer on 127.0.0.1:{port}", file=sys.stderr)
            return 2
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"collab-scale-{uuid.uuid4().hex[:6]}"
    workdir.mkdir(parents=True)
    plan = [] if args.no_baseline else [(1, "sqlite", "spread")]
    for n in (int(x) for x in args.processes.split(",")):
        plan += [(n, "postgresql", routing) for routing in (routings if n > 1 else ["spread"])]
    rows = []
    for n, store, routing in plan:
        rows.append(run(n, args, workdir, store=store, routing=routing))
        print(f"bench.scale: {n} process(es), {store}, {routing}: done", file=sys.stderr, flush=True)
    print(f"- command: `python -m bench.scale {' '.join(argv if argv is not None else sys.argv[1:])}`")
    print(f"- date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}; {os.cpu_count()} cores; logs in {workdir}")
    print(f"- load: {args.rooms} rooms x {args.clients} clients, {args.mode} mode, {args.transports}")
    print("- baseline (first row): one process, SQLite, no message queue; ratios are to it, in this run\n")
    print(table(rows))
    bad = [
        r for r in rows if r["result"].get("losses") or r["result"].get("acks_missing") or r["result"].get("ack_errors")
    ]
    for r in bad:
        print(f"bench.scale: losses or missing acks with {r['processes']} process(es), {r['routing']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
