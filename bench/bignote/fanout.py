"""Other notes' fan-out with and without one client joining the big note back to back.

The load is the existing generator's (``loadgen.js``): R notes x C people x ``rate``
strokes/s of 32 points, on notes of its own. In the runs *with*, a
:class:`~.rawclient.Joiner` joins the big note again and again during the measured
window (it starts at the generator's ``measure_start`` and stops at ``measure_end``).
Runs alternate without/with, then with/without (ABBA), so a drift of the shared
machine's speed falls on both.

The server paces joins by their bytes (``COLLAB_RATE_JOIN_BYTES``, on by default), so
the joiner's acks come at that rate once its burst is spent; ``COLLAB_RATE_JOIN_BYTES=0``
in the environment measures joins as fast as the server can send them.
"""

from __future__ import annotations

from typing import Any

from ..run import drive
from ..servers import Server
from .rawclient import Joiner, describe


def one_run(server: Server, note: str, opts: dict[str, Any], with_joiner: bool) -> dict[str, Any]:
    """One generator run; with ``with_joiner`` the big note is joined back to back meanwhile."""
    joiner = Joiner(server.url, note) if with_joiner else None
    if joiner is not None:
        joiner.start()

    def on_event(ev: dict[str, Any]) -> None:
        if joiner is not None and ev["event"] == "measure_start":
            joiner.begin()
        elif joiner is not None and ev["event"] == "measure_end":
            joiner.finish()

    try:
        rec = drive(server, opts, on_event=on_event, timeout=300)
    finally:
        if joiner is not None:
            joiner.finish()
            joiner.join(120)
    rec["with_joiner"] = with_joiner
    if joiner is not None:
        rec["joiner"] = describe(joiner)
    return rec


def measure(server: Server, note: str, opts: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    """``runs`` pairs of runs without and with the joiner, in ABBA order."""
    out = []
    for i in range(runs):
        for with_joiner in (False, True) if i % 2 == 0 else (True, False):
            rec = one_run(server, note, opts, with_joiner)
            rec["run"] = i
            out.append(rec)
    return out
