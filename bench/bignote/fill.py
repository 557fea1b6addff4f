"""Fill big notes straight through ``collab.store`` (no sockets), before the server starts.

Each note ``big<N>`` gets N pen strokes of ``points`` points: short squiggles scattered
over a 1,600 x 1,000 canvas (a full whiteboard), in batches of 500 ops per commit,
exactly as the committer would have stored them one by one.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from ..servers import ROOT

BATCH = 500
COLORS = ("#1e90ff", "#222222", "#e4572e", "#17bebb", "#ffc914")


def note_id(size: int) -> str:
    """The id of the note of ``size`` strokes."""
    return f"big{size}"


def squiggle(rng: random.Random, points: int) -> list[list[float]]:
    """A short hand-drawn-looking path of ``points`` points somewhere on the canvas."""
    x, y = rng.uniform(20, 1580), rng.uniform(20, 980)
    dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
    out = []
    for _ in range(points):
        dx += rng.uniform(-0.8, 0.8)
        dy += rng.uniform(-0.8, 0.8)
        x, y = x + dx, y + dy
        out.append([round(x, 1), round(y, 1)])
    return out


def fill(db: Path, sizes: list[int], points: int) -> dict[str, Any]:
    """Create ``big<N>`` for each N in ``sizes`` in the SQLite file ``db``; seconds and strokes per note."""
    sys.path.insert(0, str(ROOT))
    from collab import protocol
    from collab.model import OpRequest
    from collab.store import open_store

    store = open_store(f"sqlite:///{db}")
    out: dict[str, Any] = {}
    try:
        for size in sizes:
            t0 = time.perf_counter()
            note = note_id(size)
            store.create(note, f"{size:,} strokes of {points} points")
            rng = random.Random(size)
            for start in range(0, size, BATCH):
                batch = []
                for i in range(start, min(size, start + BATCH)):
                    item = {"id": f"f{i}", "tool": "pen", "color": rng.choice(COLORS),
                            "width": rng.choice((2, 3, 4)), "points": squiggle(rng, points)}  # fmt: skip
                    batch.append(OpRequest(note, "stroke", "bench-fill", body=dict(protocol.stroke(item))))
                store.apply(batch)
                failed = [r.error for r in batch if r.error is not None]
                if failed:
                    raise RuntimeError(f"filling {note}: {failed[0]}")
            info = store.get(note)
            out[str(size)] = {"note": note, "seq": info.seq if info else None, "seconds": time.perf_counter() - t0}
    finally:
        store.close()
    return out
