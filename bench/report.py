"""Aggregate runs (medians) and print the markdown tables that docs/performance.md holds."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
from importlib import metadata
from typing import Any

from . import procstat
from .scenarios import check, check_peer
from .servers import BENCH, LABELS, TARGETS

#: figures summed over runs (counts); every other number is the median over runs
SUMMED = ("losses", "expected", "acks", "acks_expected", "ack_errors")
#: figures taken as the worst run
WORST_MIN = ("held",)

PY_PACKAGES = ("flask", "flask-socketio", "python-socketio", "python-engineio", "gevent", "gevent-websocket",
               "simple-websocket", "sqlalchemy")  # fmt: skip


def versions() -> dict[str, str]:
    """Versions of Python, the server's packages, Node and socket.io."""
    out = {"python": platform.python_version()}
    for name in PY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    try:
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        out["node"] = "absent"
    for pkg in ("socket.io", "socket.io-client", "better-sqlite3"):
        try:
            out[pkg] = json.loads((BENCH / "node_modules" / pkg / "package.json").read_text())["version"]
        except OSError:
            out[pkg] = "absent"
    return out


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians (counts summed, held at its worst) of the runs of one scenario and target."""
    sums = [r["summary"] for r in records if "summary" in r]
    if not sums:
        return {"runs": 0}
    out: dict[str, Any] = {"runs": len(sums)}
    for key in sums[0]:
        values = [s.get(key) for s in sums]
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if key in SUMMED:
            out[key] = sum(nums)
        elif key in WORST_MIN:
            out[key] = min(nums) if nums else None
        elif nums and len(nums) == len(values):
            out[key] = statistics.median(nums)
        elif key == "steps":
            # the steps of the run whose ceiling is the median one
            order = sorted(sums, key=lambda s: s.get("deliveries_per_s") or 0)
            out[key] = order[len(order) // 2].get("steps")
        else:
            out[key] = None
    return out


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


#: the number format of every table (other modules' tables too)
fmt = _f


def _ratio(a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "-"
    return f"{a / b:.2f}x"


def tables(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown for ``{scenario: {target: aggregated summary}}``."""
    lines: list[str] = []
    load = [s for s in results if s != "s4"]
    if load:
        lines += [
            "| scenario | server | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | losses | acks | "
            "ack p99 ms | server CPU % | server CPU µs/delivery | server RSS MB | generator CPU % | gen. loop p99 ms | "
            "other CPU % |",
            "| --- | --- |" + " ---: |" * 14,
        ]
        for scen in load:
            for target, a in results[scen].items():
                if not a.get("runs"):
                    lines.append(f"| {scen} | {target} | failed: {a.get('error', '?')} |" + " |" * 13)
                    continue
                dps = _f(a.get("deliveries_per_s"))
                if scen == "s3":
                    rate = a.get("ceiling_rate")
                    passed = bool(a.get("deliveries_per_s"))
                    dps = f"**{dps}** (ceiling, {_f(rate)}/s per client)" if passed else "**0** (no step passed)"
                gen = _f(a.get("gen_cpu"), 0)
                if (a.get("gen_cpu") or 0) > 90:
                    gen += " (saturated)"
                lines.append(
                    f"| {scen} | {target} | {dps} | {_f(a.get('p50'), 2)} | {_f(a.get('p90'), 2)} | "
                    f"{_f(a.get('p99'), 2)} | {_f(a.get('max'), 1)} | "
                    f"{_f(a.get('losses'))} / {_f(a.get('expected'))} | "
                    f"{_f(a.get('acks'))} / {_f(a.get('acks_expected'))} | {_f(a.get('ack_p99'), 2)} | "
                    f"{_f(a.get('server_cpu'), 0)} | {_f(a.get('server_us_per_delivery'), 0)} | "
                    f"{_f(a.get('server_rss_mb'), 0)} | {gen} | "
                    f"{_f(a.get('gen_loop_p99'), 1)} | {_f(a.get('others_cpu'), 0)} |"
                )
        lines.append("")
    if "s3" in results:
        for target, a in results["s3"].items():
            steps = a.get("steps") or []
            if steps:
                desc = "; ".join(
                    ("refining: " if s.get("refining") else "")
                    + f"{s['rate']}/s → {s['deliveries_per_s']:,}/s p99 {_f(s['p99'], 1)} ms"
                    + ("" if s["passed"] else f" ✗ (losses {s['losses']}, acks missing {s['acks_missing']})")
                    + (f" [disturbed: others {s['others_cpu']:.0f}% CPU; run again]" if s.get("disturbed") else "")
                    for s in steps
                )
                lines.append(f"- S3 steps, {target}: {desc}")
        lines.append("")
    if "s4" in results:
        lines += [
            "| scenario | server | held / opened | KB per connection | server RSS MB | idle CPU % | connect s |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for target, a in results["s4"].items():
            if not a.get("runs"):
                lines.append(f"| s4 | {target} | failed: {a.get('error', '?')} | | | | |")
                continue
            lines.append(
                f"| s4 | {target} | {_f(a.get('held'))} / {_f(a.get('requested'))} | {_f(a.get('kb_per_conn'), 1)} | "
                f"{_f(a.get('server_rss_mb'), 0)} | {_f(a.get('server_cpu'), 1)} | {_f(a.get('connect_s'), 1)} |"
            )
        lines.append("")
    lines += _ratios(results)
    lines += _peer_targets(results)
    lines += _targets(results)
    return "\n".join(lines)


_RATIO_FIGURES = {
    "s1": [("p99", "p99 ms"), ("server_cpu", "server CPU %"), ("server_us_per_delivery", "server CPU µs/delivery")],
    "s2": [("p99", "p99 ms"), ("server_cpu", "server CPU %"), ("server_us_per_delivery", "server CPU µs/delivery")],
    "s3": [("deliveries_per_s", "ceiling deliveries/s")],
    "s4": [("kb_per_conn", "KB per connection")],
    "s1-polling": [("p99", "p99 ms"), ("server_cpu", "server CPU %")],
}


#: the peers in the ratio table, in this order
PEERS = ("naive", "node", "durable")


def _ratios(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    rows = []
    for scen, per in results.items():
        c = per.get("collab")
        if not c or not c.get("runs") or len(per) < 2:
            continue
        for key, label in _RATIO_FIGURES.get(scen, []):
            cells = [f"| {scen} | {label} | {_f(c.get(key), 2)} |"]
            for peer in PEERS:
                p = per.get(peer, {})
                cells.append(f" {_f(p.get(key), 2)} | {_ratio(c.get(key), p.get(key))} |")
            rows.append("".join(cells))
    if not rows:
        return []
    head = "".join(f" {LABELS[p]} | collab ÷ {LABELS[p].split()[0]} |" for p in PEERS)
    return ["| scenario | figure | collab |" + head, "| --- | --- | ---: |" + " ---: | ---: |" * len(PEERS), *rows, ""]


def _peer_targets(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Issue 19: collab against the durable Node peer of the same run (reported, not asserted)."""
    rows = []
    for scen, per in results.items():
        c, d = per.get("collab"), per.get("durable")
        if not c or not d or not c.get("runs") or not d.get("runs"):
            continue
        for label, ours, theirs, met in check_peer(scen, c, d):
            mark = "met" if met else ("no figure" if met is None else "**not met**")
            rows.append(f"| {scen} | {label} | {_f(ours, 2)} | {_f(theirs, 2)} | {mark} |")
    if not rows:
        return []
    return [
        "| scenario | collab against the durable Node peer (issue 19) | collab | durable Node | |",
        "| --- | --- | ---: | ---: | --- |",
        *rows,
        "",
    ]


def _targets(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    rows = []
    for scen, per in results.items():
        c = per.get("collab")
        if not c:
            continue
        for label, met in check(scen, c) if c.get("runs") else [("run failed", False)]:
            mark = "met" if met else ("no figure" if met is None else "**not met**")
            rows.append(f"| {scen} | {label} | {mark} |")
    if not rows:
        return []
    return ["| scenario | collab target | |", "| --- | --- | --- |", *rows, ""]


def retakes(records: list[dict[str, Any]]) -> str:
    """A line per run measured again because other processes disturbed it (empty when none was)."""
    lines = [
        f"- {r['scenario']} {r['target']} run {r.get('run', 0) + 1} measured again: other processes used "
        + ", ".join(f"{d['others_cpu']:.0f}% (p99 {_f(d.get('p99'), 1)} ms)" for d in r["disturbed"])
        + " of a core during the discarded window"
        + ("s" if len(r["disturbed"]) > 1 else "")
        for r in records
        if r.get("disturbed")
    ]
    return "\n".join(lines)


def collab_commit() -> str:
    """The commit of the collab tree being measured, ``+dirty`` when it has uncommitted changes."""
    root = BENCH.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "collab", "app.py"], cwd=root,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else "unknown"


def header(
    command: str,
    date: str,
    runs: int,
    commit: str | None = None,
    machine: dict[str, Any] | None = None,
    versions_: dict[str, str] | None = None,
) -> str:
    """The run's provenance: command, date, collab commit, versions, machine (as recorded, else as now)."""
    v = versions_ or versions()
    m: dict[str, Any] = machine or procstat.machine()
    load = ", ".join(f"{x:.2f}" for x in m["loadavg"])
    return (
        f"- command: `{command}`\n"
        f"- date: {date}; medians of {runs} run(s); collab at {commit or collab_commit()}\n"
        f"- versions: {', '.join(f'{k} {val}' for k, val in v.items())}\n"
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}; "
        f"load average at start {load}\n"
    )


__all__ = ["TARGETS", "aggregate", "fmt", "header", "tables", "versions"]
