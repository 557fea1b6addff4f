"""``python -m bench <scenario>``: run the benchmark and print its markdown tables.

    python -m bench s1 [--target collab|naive|node|durable|all] [--runs 3] [--out FILE]
    python -m bench all --runs 3                 # every scenario, every server, one table
    python -m bench s1 --smoke                   # a few seconds, tiny load, collab only (CI)
    python -m bench store                        # the store alone: ops/s (see bench/store_bench.py)
    python -m bench bignote [--smoke]            # big notes: join, fan-out beside joins, exports, memory
    python -m bench report bench/results/X.json  # print the tables of a saved run again

See bench/README.md for how it works and what each column means, docs/performance.md for the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from . import procstat, report
from .run import BenchError, check_node, raise_nofile, run_one, summarize
from .scenarios import SMOKE
from .servers import BENCH, TARGETS

ALL = ("s1", "s2", "s3", "s4", "s1-polling")


def _kv(items: list[str], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{what} needs KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        epilog="other commands: python -m bench store --help | bignote --help | report FILE.json",
    )
    p.add_argument("scenario", choices=(*ALL, "all"), help="s1 s2 s3 s4 s1-polling, or all")
    p.add_argument(
        "--target", default=None, help="collab, naive, node, durable, a comma list or all [all; --smoke: collab]"
    )
    p.add_argument("--runs", type=int, default=1, help="runs per scenario and server; figures are medians [1]")
    p.add_argument("--smoke", action="store_true", help="seconds of tiny load; exit 1 on a loss or a missing ack")
    p.add_argument("--duration", type=float, default=15, help="measured seconds (per S3 step: --step) [15]")
    p.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring [3]")
    p.add_argument("--step", type=float, default=8, help="measured seconds per S3 step [8]")
    p.add_argument("--hold", type=float, default=10, help="S4: seconds the idle connections are held [10]")
    p.add_argument("--connections", type=int, default=5000, help="S4: idle connections [5000]")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any loadgen.js option, e.g. --set rampStart=20 --set points=64",
    )
    p.add_argument(
        "--collab-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for the collab server, e.g. --collab-env COLLAB_SQLITE_SYNCHRONOUS=FULL",
    )
    p.add_argument("--collab-arg", action="append", default=[], metavar="ARG", help="extra argument to app.py")
    p.add_argument(
        "--naive-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument to naive_relay.py, e.g. --naive-arg=--nodelay",
    )
    p.add_argument(
        "--node-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument to node_relay.js, e.g. --node-arg=--parser --node-arg=msgpack",
    )
    p.add_argument(
        "--durable-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument to durable_relay.js, e.g. --durable-arg=--synchronous --durable-arg=FULL",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="sample the Python servers with py-spy during the (first) measured window",
    )
    p.add_argument(
        "--max-others",
        type=float,
        default=15.0,
        help="a run (an S3 step) during which other processes used more than this %% of a core is"
        " measured again, at most --retakes times [15]",
    )
    p.add_argument("--retakes", type=int, default=2, help="see --max-others [2]")
    p.add_argument("--out", type=Path, default=None, help="raw records go here [bench/results/<time>.json]")
    return p  # fmt: skip


def _targets(arg: str | None, smoke: bool) -> list[str]:
    if arg is None:
        return ["collab"] if smoke else list(TARGETS)
    if arg == "all":
        return list(TARGETS)
    names = [t.strip() for t in arg.split(",") if t.strip()]
    for t in names:
        if t not in TARGETS:
            raise SystemExit(f"unknown target {t!r}: use {', '.join(TARGETS)} or all")
    return names


def _overrides(args: argparse.Namespace, scenario: str) -> dict[str, Any]:
    if args.smoke:
        o: dict[str, Any] = dict(SMOKE)
        if scenario == "s3":
            o.update(rampStart=5, rampFactor=2, rampMax=10, duration=2)
        if scenario == "s4":
            o.update(connections=20, hold=1)
        o.update(_kv(args.set, "--set"))
        return o
    o = {"duration": args.duration, "warmup": args.warmup}
    if scenario == "s3":
        o.update(duration=args.step, warmup=min(args.warmup, 2))
    if scenario == "s4":
        o = {"connections": args.connections, "hold": args.hold}
    o.update(_kv(args.set, "--set"))
    return o


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios; print the tables; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["store"]:
        from . import store_bench

        return store_bench.main(argv[1:])
    if argv[:1] == ["report"]:
        return _report(argv[1:])
    if argv[:1] == ["bignote"]:
        from . import bignote

        return bignote.main(argv[1:])
    args = build_parser().parse_args(argv)
    scenarios = list(ALL) if args.scenario == "all" else [args.scenario]
    targets = _targets(args.target, args.smoke)
    try:
        check_node(targets)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    runs = 1 if args.smoke else max(1, args.runs)
    nofile = raise_nofile()
    if "s4" in scenarios and nofile[0] < args.connections + 200:
        print(f"bench: warning: open-file limit {nofile[0]} < S4's {args.connections} connections", file=sys.stderr)
    now = dt.datetime.now(dt.timezone.utc)
    command = "python -m bench " + shlex.join(argv)
    out_path = args.out or BENCH / "results" / f"{now:%Y%m%dT%H%M%SZ}-{args.scenario}.json"
    doc: dict[str, Any] = {
        "command": command,
        "date": now.isoformat(timespec="seconds"),
        "runs": runs,
        "versions": report.versions(),
        "machine": procstat.machine(),
        "collab_commit": report.collab_commit(),
        "records": [],
    }
    failed = False
    with tempfile.TemporaryDirectory(prefix="collab-bench-") as tmp:
        for scen in scenarios:
            for i in range(runs):
                for target in targets:
                    print(f"bench: {scen} {target} run {i + 1}/{runs} …", file=sys.stderr, flush=True)
                    try:
                        disturbed: list[dict[str, Any]] = []
                        while True:
                            rec = run_one(
                                scen,
                                target,
                                Path(tmp),
                                overrides={
                                    **_overrides(args, scen),
                                    "maxOthers": args.max_others,
                                    "retakes": args.retakes,
                                },
                                collab_env={k: str(v) for k, v in _kv(args.collab_env, "--collab-env").items()},
                                extra_args={
                                    "collab": args.collab_arg,
                                    "naive": args.naive_arg,
                                    "node": args.node_arg,
                                    "durable": args.durable_arg,
                                },
                                profile_to=(
                                    out_path.with_name(f"{out_path.stem}-{scen}-{target}-run{i + 1}.pyspy.txt")
                                    if args.profile
                                    else None
                                ),
                            )
                            others = rec["summary"].get("others_cpu")
                            if scen == "s3" or others is None or others <= args.max_others:
                                break  # S3 retakes its disturbed steps itself (loadgen.js)
                            if len(disturbed) >= args.retakes:
                                break
                            disturbed.append({k: rec["summary"].get(k) for k in ("others_cpu", "p99", "server_cpu")})
                            note = f"bench:   disturbed (other processes {others:.0f}% CPU): measuring again"
                            print(note, file=sys.stderr)
                        rec["run"] = i
                        if disturbed:
                            rec["disturbed"] = disturbed
                        _progress(rec)
                    except (BenchError, RuntimeError, OSError, ValueError) as exc:
                        failed = True
                        traceback.print_exc(limit=1)
                        rec = {"scenario": scen, "target": target, "run": i, "error": str(exc)[:2000]}
                    doc["records"].append(rec)
                    _save(out_path, doc)
    print(f"bench: raw records in {out_path}", file=sys.stderr)
    _print_report(doc)
    if args.smoke:
        return 0 if _smoke_ok(doc) else 1
    return 1 if failed else 0


def _smoke_ok(doc: dict[str, Any]) -> bool:
    ok = True
    for rec in doc["records"]:
        s = rec.get("summary")
        if s is None:
            print(f"bench: smoke: {rec['scenario']} {rec['target']} failed: {rec.get('error')}", file=sys.stderr)
            ok = False
        elif "losses" in s and (s["losses"] or s["acks"] != s["acks_expected"] or s["ack_errors"] or not s["expected"]):
            print(f"bench: smoke: {rec['scenario']} {rec['target']}: losses or missing acks: {s}", file=sys.stderr)
            ok = False
        elif "held" in s and s["held"] != s["requested"]:
            print(f"bench: smoke: {rec['target']}: held {s['held']}/{s['requested']}", file=sys.stderr)
            ok = False
    print("bench: smoke " + ("passed" if ok else "FAILED"), file=sys.stderr)
    return ok


def _progress(rec: dict[str, Any]) -> None:
    s = rec["summary"]
    brief = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items() if k != "steps"}
    print(f"bench:   {json.dumps(brief)}", file=sys.stderr, flush=True)
    prof = rec.get("profile")
    if prof and "self" in prof:
        print(f"bench:   py-spy ({prof['samples']} samples, {prof['file']}), self time:", file=sys.stderr)
        for frame, pct in prof["self"][:12]:
            print(f"bench:     {pct:5.1f}%  {frame}", file=sys.stderr)
        print("bench:   including callees:", file=sys.stderr)
        for frame, pct in prof["inclusive"][:15]:
            print(f"bench:     {pct:5.1f}%  {frame}", file=sys.stderr)


def _save(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))


def _results(doc: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in doc["records"]:
        if "loadgen" in rec and "server" in rec:  # recompute: a saved run gets today's columns
            rec["summary"] = summarize(rec, rec["server"]["rss_kb_start"])
        results.setdefault(rec["scenario"], {}).setdefault(rec["target"], {})
    for scen, per in results.items():
        for target in per:
            recs = [r for r in doc["records"] if r["scenario"] == scen and r["target"] == target]
            agg = report.aggregate(recs)
            if not agg.get("runs"):
                agg["error"] = next((r.get("error", "") for r in recs if "error" in r), "")[:80].replace("|", "/")
            per[target] = agg
    return results


def _report(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench report bench/results/<file>.json", file=sys.stderr)
        return 2
    _print_report(json.loads(Path(argv[0]).read_text()))
    return 0


def _print_report(doc: dict[str, Any]) -> None:
    """The provenance and the tables of a run's records, and the runs measured again, on stdout."""
    commit = doc.get("collab_commit", "unknown")
    print(report.header(doc["command"], doc["date"], doc["runs"], commit, doc.get("machine"), doc.get("versions")))
    print(report.tables(_results(doc)))
    retaken = report.retakes(doc["records"])
    if retaken:
        print(retaken + "\n")


if __name__ == "__main__":
    sys.exit(main())
