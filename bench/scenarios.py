"""The benchmark's scenarios as load-generator options, and the targets collab must meet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scenario:
    """A named load shape (options for ``loadgen.js``) and what it is for."""

    name: str
    title: str
    options: dict[str, Any]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("s1", "S1 classroom: 10 rooms x 10 clients x 5 strokes/s of 32 points",
                 {"mode": "run", "rooms": 10, "clients": 10, "rate": 5, "points": 32}),
        Scenario("s2", "S2 big room: 1 room x 100 clients x 1 stroke/s of 32 points",
                 {"mode": "run", "rooms": 1, "clients": 100, "rate": 1, "points": 32}),
        Scenario("s3", "S3 ceiling: S1's shape, 3 strokes/s per client x1.5 per step until p99 > 200 ms or a loss, "
                 "then 3 steps bisecting between the last pass and the first fail (the ceiling to within 5%)",
                 {"mode": "ramp", "rooms": 10, "clients": 10, "points": 32, "rampStart": 3, "rampFactor": 1.5,
                  "rampRefine": 3, "maxP99": 200}),
        Scenario("s4", "S4 idle: 5,000 connections joined (500 rooms x 10) and held",
                 {"mode": "idle", "connections": 5000, "clients": 10, "connectConcurrency": 100}),
        Scenario("s1-polling", "S1 over HTTP long-polling only",
                 {"mode": "run", "rooms": 10, "clients": 10, "rate": 5, "points": 32, "transports": "polling"}),
    )
}  # fmt: skip

SMOKE: dict[str, Any] = {"rooms": 2, "clients": 3, "rate": 5, "points": 32, "duration": 3, "warmup": 1, "drain": 5}

#: collab's targets (issue 7): scenario -> list of (metric, op, bound, label)
TARGETS: dict[str, list[tuple[str, str, float, str]]] = {
    "s1": [("p99", "<=", 3.0, "p99 <= 3 ms"), ("losses", "==", 0, "no loss")],
    "s2": [("p99", "<=", 10.0, "p99 <= 10 ms")],
    "s3": [("deliveries_per_s", ">=", 40_000, ">= 40,000 deliveries/s at p99 <= 200 ms, no loss")],
    "s4": [("held", ">=", 5000, "5,000 held"), ("kb_per_conn", "<=", 40.0, "<= 40 KB/connection")],
    "s1-polling": [("losses", "==", 0, "no loss"), ("p99", "<=", 20.0, "p99 <= 20 ms")],
}


#: issue 19's targets against the durable Node peer measured in the same run: scenario -> (metric, op, label)
PEER_TARGETS: dict[str, list[tuple[str, str, str]]] = {
    "s1": [("p99", "<=", "p99 <= the durable peer's")],
    "s2": [("p99", "<=", "p99 <= the durable peer's")],
    "s3": [("deliveries_per_s", ">=", "ceiling >= the durable peer's")],
}


def check_peer(scenario: str, ours: dict[str, Any], peer: dict[str, Any]) -> list[tuple[str, Any, Any, bool | None]]:
    """Issue 19's targets: ``(label, collab's figure, the peer's, met)``; ``met`` is None without figures.

    Every load scenario also gets "no loss": collab lost no delivery and got every ack back. A peer
    whose S3 ramp passed no step has no ceiling: that row has no figure.
    """
    out: list[tuple[str, Any, Any, bool | None]] = []
    for metric, op, label in PEER_TARGETS.get(scenario, []):
        a, b = ours.get(metric), peer.get(metric)
        if scenario == "s3" and not b:
            b = None  # the peer passed no step: there is no ceiling to compare with
        met = None if a is None or b is None else (a <= b if op == "<=" else a >= b)
        out.append((label, a, b, met))
    if "losses" in ours:
        lost = (ours.get("losses") or 0) + (ours.get("acks_expected") or 0) - (ours.get("acks") or 0)
        out.append(("no loss, every ack", ours.get("losses"), peer.get("losses"), lost == 0))
    return out


def check(scenario: str, summary: dict[str, Any]) -> list[tuple[str, bool | None]]:
    """Each target of ``scenario`` with True (met), False (not met) or None (no figure)."""
    out: list[tuple[str, bool | None]] = []
    for metric, op, bound, label in TARGETS.get(scenario, []):
        value = summary.get(metric)
        if value is None:
            out.append((label, None))
        elif op == "<=":
            out.append((label, value <= bound))
        elif op == ">=":
            out.append((label, value >= bound))
        else:
            out.append((label, value == bound))
    return out
