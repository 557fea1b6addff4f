"""``python -m bench bignote``: what big notes cost collab, and what they cost everyone else.

    python -m bench bignote                  # 1,000 / 10,000 / 50,000 strokes of 32 points (a few minutes)
    python -m bench bignote --smoke          # tiny notes, seconds (CI): exit 1 on any failure

1. fills notes ``big<N>`` straight through ``collab.store`` (:mod:`.fill`), then starts collab on them;
2. join times by note size and transport, measured by a python-socketio client (:mod:`.joins`);
3. other notes' fan-out p99 (the load generator, 5 notes x 10 people x 5 strokes/s) without and
   with one client joining the ``--big`` note back to back (:mod:`.fanout`);
4. export and thumbnail times, cold and warm, and the 304 of ``If-None-Match`` (:mod:`.exports`);
5. on a fresh server over the same database: RSS before and after ``--memory-joins`` joins of the
   ``--big`` note by a client that never reads its socket (:mod:`.memory`).

Raw records go to ``bench/results/<time>-bignote.json``; the markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import procstat, report
from ..run import BenchError, check_node
from ..servers import BENCH, Server
from . import exports, fanout, fill, joins, memory, tables

#: the smoke mode's options: tiny notes and load, a few seconds in all
SMOKE = {"sizes": "100,300", "big": 300, "joins": 1, "warm": 1, "fanout_runs": 1, "duration": 2.0,
         "warmup": 1.0, "rooms": 2, "clients": 3, "memory_joins": 5}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m bench bignote", description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny notes and load, seconds; exit 1 on any failure")
    p.add_argument("--sizes", default="1000,10000,50000", help="strokes per note [1000,10000,50000]")
    p.add_argument("--points", type=int, default=32, help="points per stroke [32]")
    p.add_argument("--big", type=int, default=10000, help="the note (one of --sizes) for fan-out and memory [10000]")
    p.add_argument("--joins", type=int, default=5, help="joins per size and transport [5]")
    p.add_argument("--warm", type=int, default=1, help="warm requests per export after the cold one [1]")
    p.add_argument("--fanout-runs", type=int, default=2, help="pairs of fan-out runs without/with the joiner [2]")
    p.add_argument("--duration", type=float, default=10, help="measured seconds per fan-out run [10]")
    p.add_argument("--warmup", type=float, default=2, help="fan-out warm-up seconds [2]")
    p.add_argument("--rooms", type=int, default=5, help="fan-out notes [5]")
    p.add_argument("--clients", type=int, default=10, help="fan-out people per note [10]")
    p.add_argument("--rate", type=float, default=5, help="strokes/s per person [5]")
    p.add_argument("--memory-joins", type=int, default=100, help="unread joins of the --big note [100]")
    p.add_argument("--skip", default="", help="phases to leave out, a comma list of joins,fanout,exports,memory")
    p.add_argument("--out", type=Path, default=None, help="raw record [bench/results/<time>-bignote.json]")
    return p


def _options(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.smoke:  # the smoke values, unless given on the command line
        given = {a.split("=")[0].lstrip("-").replace("-", "_") for a in argv if a.startswith("--")}
        for key, value in SMOKE.items():
            if key not in given:
                setattr(args, key, value)
    args.size_list = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    if args.big not in args.size_list:
        parser.error(f"--big {args.big} must be one of --sizes {args.sizes}")
    return args


def run(args: argparse.Namespace, workdir: Path, doc: dict[str, Any], save: Any) -> None:
    """Every phase, each saved into ``doc`` as it ends."""
    skip = set(args.skip.split(","))
    db = workdir / "bignote.db"
    doc["fill"] = fill.fill(db, args.size_list, args.points)
    notes = {size: fill.note_id(size) for size in args.size_list}
    big = fill.note_id(args.big)
    server = Server("collab", workdir, database=db).start()
    try:
        if "joins" not in skip:
            _say(f"join times: {args.joins} per size and transport")
            doc["joins"] = joins.measure(server.url, notes, args.joins)
            save()
        if "fanout" not in skip:
            _say(f"fan-out: {args.fanout_runs} pair(s) of runs without/with the joiner of {big}")
            load = {"mode": "run", "rooms": args.rooms, "clients": args.clients, "rate": args.rate,
                    "points": 32, "duration": args.duration, "warmup": args.warmup, "drain": 3}  # fmt: skip
            doc["fanout"] = fanout.measure(server, big, load, args.fanout_runs)
            save()
        if "exports" not in skip:
            _say("exports: png, png?width=240, svg; cold, warm, 304")
            doc["exports"] = exports.measure(server.url, notes, args.warm)
            save()
    finally:
        server.stop()
    if "memory" not in skip:
        _say(f"memory: {args.memory_joins} joins of {big} never read, on a fresh server")
        server = Server("collab", workdir, database=db).start()
        try:
            doc["memory"] = memory.measure(server, big, args.memory_joins)
        finally:
            server.stop()
        save()


def _say(text: str) -> None:
    print(f"bench bignote: {text} …", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the big-note benchmark; print its tables; 1 when something failed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _options(argv)
    try:
        check_node()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    now = dt.datetime.now(dt.timezone.utc)
    out_path = args.out or BENCH / "results" / f"{now:%Y%m%dT%H%M%SZ}-bignote.json"
    doc: dict[str, Any] = {
        "command": "python -m bench bignote " + shlex.join(argv),
        "date": now.isoformat(timespec="seconds"),
        "options": {k: v for k, v in vars(args).items() if k != "out"},
        "versions": report.versions(),
        "machine": procstat.machine(),
        "collab_commit": report.collab_commit(),
    }

    def save() -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(doc, indent=1, default=str))

    with tempfile.TemporaryDirectory(prefix="collab-bignote-") as tmp:
        try:
            run(args, Path(tmp), doc, save)
        except (BenchError, RuntimeError, OSError) as exc:
            doc["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        save()
    print(f"bench bignote: raw record in {out_path}", file=sys.stderr)
    print(report.header(doc["command"], doc["date"], args.fanout_runs, doc["collab_commit"], doc["machine"]))
    print(tables.render(doc))
    bad = tables.problems(doc) + ([doc["error"]] if "error" in doc else [])
    for line in bad:
        print(f"bench bignote: FAILED: {line}", file=sys.stderr)
    if args.smoke:
        print("bench bignote: smoke " + ("FAILED" if bad else "passed"), file=sys.stderr)
    return 1 if bad else 0
