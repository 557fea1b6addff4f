"""The big-note benchmark's markdown tables, and the checks its smoke mode makes."""

from __future__ import annotations

import os
import statistics
from typing import Any

from .. import report

MB = 1024 * 1024


def _ms(seconds: list[float]) -> str:
    if not seconds:
        return "-"
    s = sorted(seconds)
    return f"{statistics.median(s) * 1000:,.0f} / {s[-1] * 1000:,.0f}"


_f = report.fmt


def joins(rows: list[dict[str, Any]]) -> list[str]:
    """Join times by note size, client and transport."""
    by = {(r["size"], r["transport"]): r for r in rows}
    sizes = sorted({r["size"] for r in rows})
    columns = [("websocket", "Python WebSocket"), ("polling", "Python long-polling"),
               ("node-websocket", "Node socket.io-client WebSocket"),
               ("raw", "raw WebSocket, ack not decoded")]  # fmt: skip
    out = [
        "| strokes (32 points each) | join ack MB | "
        + " | ".join(f"{label} p50 / max ms" for _, label in columns)
        + " | joins each | failures |",
        "| ---: | ---: | " + " | ".join("---:" for _ in columns) + " | ---: | ---: |",
    ]
    for size in sizes:
        cells = [by.get((size, key), {}) for key, _ in columns]
        fails = sum(r.get("failures", 0) for r in cells)
        out.append(
            f"| {size:,} | {(cells[0].get('ack_bytes') or 0) / MB:.1f} | "
            + " | ".join(_ms(r.get("seconds", [])) for r in cells)
            + f" | {len(cells[0].get('seconds', []))} | {fails} |"
        )
    errors = [f"{r['size']} {r['transport']}: {r['error']}" for r in rows if r.get("error")]
    return [*out, "", *(f"- failed: {e}" for e in errors), *([""] if errors else [])]


def fanout(records: list[dict[str, Any]], big: int) -> list[str]:
    """Other notes' fan-out with and without the back-to-back joiner (medians over runs)."""
    out = [
        f"| joiner of the {big:,}-stroke note | runs | deliveries/s | p50 ms | p99 ms | max ms | losses | acks "
        "| server CPU % | big joins in the window | big join p50 / max ms | other CPU % |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    agg = {}
    for with_joiner in (False, True):
        recs = [r for r in records if r["with_joiner"] is with_joiner and "summary" in r]
        if not recs:
            continue
        a = agg[with_joiner] = report.aggregate(recs)
        js = [r["joiner"] for r in recs if "joiner" in r]
        joins = "-" if not js else f"{statistics.median(j['joins'] for j in js):,.0f}"
        jms = "-"
        if js and all(j["join_ms_p50"] is not None for j in js):
            jms = f"{statistics.median(j['join_ms_p50'] for j in js):,.0f} / {max(j['join_ms_max'] for j in js):,.0f}"
        out.append(
            f"| {'joining back to back' if with_joiner else 'none'} | {a['runs']} | {_f(a.get('deliveries_per_s'))} | "
            f"{_f(a.get('p50'), 2)} | {_f(a.get('p99'), 2)} | {_f(a.get('max'))} | "
            f"{_f(a.get('losses'))} / {_f(a.get('expected'))} | {_f(a.get('acks'))} / {_f(a.get('acks_expected'))} | "
            f"{_f(a.get('server_cpu'), 0)} | {joins} | {jms} | {_f(a.get('others_cpu'), 0)} |"
        )
    out.append("")
    if False in agg and True in agg and agg[False].get("p99"):
        ratio = agg[True]["p99"] / agg[False]["p99"]
        out += [f"- fan-out p99 with the joiner ÷ without: **{ratio:.2f}x** (medians of the runs above)", ""]
    out += [f"- {join_pacing()}", ""]
    return out


def join_pacing() -> str:
    """How the server paced the joiner: ``COLLAB_RATE_JOIN_BYTES`` from the environment, or collab's default."""
    from collab.config import DEFAULTS

    rate = os.environ.get("COLLAB_RATE_JOIN_BYTES", str(DEFAULTS["COLLAB_RATE_JOIN_BYTES"]))
    burst = os.environ.get("COLLAB_RATE_JOIN_BYTES_BURST", str(DEFAULTS["COLLAB_RATE_JOIN_BYTES_BURST"]))
    if float(rate or 0) <= 0:
        return "joins not paced (`COLLAB_RATE_JOIN_BYTES=0`)"
    return (
        f"joins paced by the server: `COLLAB_RATE_JOIN_BYTES={rate}` past a burst of {burst} "
        "(run with `COLLAB_RATE_JOIN_BYTES=0` for unpaced joins)"
    )


def exports(rows: list[dict[str, Any]]) -> list[str]:
    """Export and thumbnail times, and the 304s."""
    out = [
        "| strokes | export | status | KB | cold ms | warm ms | `If-None-Match` | 304 ms |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        out.append(
            f"| {r['size']:,} | {r['export']} | {r['status']} | {r['bytes'] / 1024:,.0f} | {_f(r['cold_ms'], 0)} | "
            f"{_f(r.get('warm_ms'), 0)} | {r.get('not_modified_status', 'no ETag')} | "
            f"{_f(r.get('not_modified_ms'), 1)} |"
        )
    return [*out, ""]


def memory(m: dict[str, Any], big: int) -> list[str]:
    """RSS before and after the unread joins."""
    grown = (max(m["rss_kb_after"], m["hwm_kb"]) - m["rss_kb_before"]) / 1024
    return [
        f"| {big:,}-stroke note, joins sent by a client that never reads | handled | RSS before MB | after MB "
        "| after the client closed MB | growth per join MB | dropped as slow |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {m['joins']} | {m['handled']} | {m['rss_kb_before'] / 1024:,.0f} | "
        f"{max(m['rss_kb_after'], m['hwm_kb']) / 1024:,.0f} | {m['rss_kb_closed'] / 1024:,.0f} | "
        f"{grown / max(1, m['handled']):.2f} | {m['dropped_slow']:.0f} |",
        "",
    ]


def render(doc: dict[str, Any]) -> str:
    """Every table of a big-note run."""
    big = doc["options"]["big"]
    fill = ", ".join(f"{int(k):,} strokes in {v['seconds']:.1f} s" for k, v in doc["fill"].items())
    lines = [f"Notes filled through `collab.store` (batches of 500): {fill}.", ""]
    if "joins" in doc:
        lines += joins(doc["joins"])
    if "fanout" in doc:
        lines += fanout(doc["fanout"], big)
    if "exports" in doc:
        lines += exports(doc["exports"])
    if "memory" in doc:
        lines += memory(doc["memory"], big)
    return "\n".join(lines)


def problems(doc: dict[str, Any]) -> list[str]:
    """What makes a run fail: failed joins, losses, missing acks, a wrong status, a join neither handled nor refused.

    A client that never reads is dropped once ``COLLAB_MAX_QUEUED_BYTES`` wait for it:
    its later joins are not handled, as they should not be.
    """
    out = []
    for r in doc.get("joins", []):
        if r["failures"] or not r["seconds"]:
            out.append(f"join {r['size']} {r['transport']}: {r['failures']} failure(s) {r.get('error', '')}")
    for r in doc.get("fanout", []):
        s = r.get("summary")
        if s is None:
            out.append(f"fan-out run failed: {r.get('error')}")
            continue
        if s["losses"] or s["acks"] != s["acks_expected"] or s["ack_errors"] or not s["expected"]:
            acks = f"{s['acks']}/{s['acks_expected']}"
            out.append(f"fan-out (joiner {r['with_joiner']}): losses {s['losses']}, acks {acks}")
        j = r.get("joiner")
        if j is not None and (j["error"] or j["failures"] or not j["joins"]):
            out.append(f"back-to-back joiner: {j}")
    for r in doc.get("exports", []):
        if r["status"] != 200 or r.get("not_modified_status") != 304:
            nm = r.get("not_modified_status")
            out.append(f"export {r['size']} {r['export']}: status {r['status']}, If-None-Match {nm}")
    m = doc.get("memory")
    if m is not None and ((m["handled"] != m["joins"] and not m["dropped_slow"]) or not m["server_alive"]):
        alive, dropped = m["server_alive"], m["dropped_slow"]
        out.append(f"memory: {m['handled']}/{m['joins']} joins handled, not dropped ({dropped}), server alive {alive}")
    return out
