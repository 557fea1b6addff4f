"""How many ops per second the store sustains alone (no sockets): ``python -m bench store``.

Calls ``collab.store.open_store(url).apply(batch)`` in a loop with batches of
1, 16 and 128 stroke ops (spread over ``--notes`` notes, like S1's rooms) and
prints ops/s and the per-batch commit latency, on SQLite with
``synchronous=NORMAL`` (collab's default) and ``FULL``, and on PostgreSQL when
it answers (``--pg URL``; skipped when absent). The committer groups the ops that
arrive while a commit runs into the next batch, so batch 1 is the worst case and
128 is what a saturated server gets.

    python -m bench store [--seconds 3] [--notes 10] [--points 32] [--batches 1,16,128] [--pg URL | --no-pg]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def bench_store(
    url: str, *, batch: int, seconds: float, notes: int, points: int, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Apply batches of ``batch`` stroke ops for ``seconds``; returns ops/s and batch latency (ms)."""
    sys.path.insert(0, str(ROOT))
    from collab import protocol
    from collab.model import OpRequest
    from collab.store import open_store

    store = open_store(url, **(options or {}))
    run = uuid.uuid4().hex[:8]
    note_ids = [f"sb-{run}-{i}" for i in range(notes)]
    for n in note_ids:
        store.create(n, n)
    pts = [[100.5 + k * 2.3, 200.25 + k * 1.9] for k in range(points)]
    counter = 0
    lat: list[float] = []
    errors = 0
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    try:
        while time.perf_counter() < t_end:
            reqs = []
            for _ in range(batch):
                counter += 1
                s = protocol.stroke({"id": f"s{counter}", "color": "#1e90ff", "width": 2, "points": pts})
                reqs.append(OpRequest(note_ids[counter % notes], "stroke", "peer-bench", body=dict(s)))
            b0 = time.perf_counter()
            store.apply(reqs)
            lat.append(time.perf_counter() - b0)
            errors += sum(1 for r in reqs if r.error is not None)
        wall = time.perf_counter() - t0
    finally:
        for n in note_ids:
            store.delete(n)
        store.close()
    lat.sort()
    ms = [x * 1000 for x in lat]
    return {
        "url": url.split("@")[-1],
        "options": options or {},
        "batch": batch,
        "ops": counter,
        "errors": errors,
        "ops_per_s": counter / wall,
        "batch_ms_p50": statistics.median(ms),
        "batch_ms_p99": ms[min(len(ms) - 1, int(0.99 * len(ms)))],
        "batch_ms_max": ms[-1],
    }


def main(argv: list[str] | None = None) -> int:
    """Run every store and batch size; print a markdown table."""
    p = argparse.ArgumentParser(prog="python -m bench store", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per store and batch size [3]")
    p.add_argument("--notes", type=int, default=10, help="notes the ops are spread over [10]")
    p.add_argument("--points", type=int, default=32, help="points per stroke [32]")
    p.add_argument("--batches", default="1,16,128", help="batch sizes [1,16,128]")
    p.add_argument("--pg", default=PG_URL, help=f"PostgreSQL URL [{PG_URL}]")
    p.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    args = p.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="collab-store-bench-") as tmp:
        stores: list[tuple[str, str, dict[str, Any]]] = [
            ("SQLite synchronous=NORMAL (default)", f"sqlite:///{tmp}/normal.db", {"sqlite_synchronous": "NORMAL"}),
            ("SQLite synchronous=FULL", f"sqlite:///{tmp}/full.db", {"sqlite_synchronous": "FULL"}),
        ]
        if args.no_pg:
            pass
        elif _answers(args.pg):
            stores.append(("PostgreSQL", args.pg, {}))
        else:
            print(f"bench store: PostgreSQL does not answer at {args.pg.split('@')[-1]}: skipped", file=sys.stderr)
        for label, url, opts in stores:
            for b in batches:
                r = bench_store(url, batch=b, seconds=args.seconds, notes=args.notes, points=args.points, options=opts)
                r["store"] = label
                rows.append(r)
                print(f"bench store: {label} batch {b}: {r['ops_per_s']:,.0f} ops/s", file=sys.stderr, flush=True)
    from .report import collab_commit

    print(
        f"Store alone: stroke ops of {args.points} points over {args.notes} notes, {args.seconds:g} s each; "
        f"collab at {collab_commit()}; `python -m bench store {' '.join(argv or sys.argv[2:])}`.\n"
    )
    print("| store | batch | ops/s | batch p50 ms | batch p99 ms | batch max ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['store']} | {r['batch']} | {r['ops_per_s']:,.0f} | {r['batch_ms_p50']:.2f} | "
            f"{r['batch_ms_p99']:.2f} | {r['batch_ms_max']:.1f} | {r['errors']} |"
        )
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
