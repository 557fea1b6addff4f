"""Optional py-spy profile of a Python server during the measured window (``--profile``).

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;... count``);
:func:`top` turns them into the functions with the most samples, by self time and
including callees, so the per-op overhead shows without opening a flame graph
(``py-spy record -o flame.svg --pid <pid>`` draws one by hand).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

_LINE = re.compile(r":\d+\)$")


def start(pid: int, seconds: float, out: Path, rate: int = 250) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` for ``seconds`` into ``out``; None when py-spy is missing."""
    exe = shutil.which("py-spy")
    if exe is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", str(rate),
           "--format", "raw", "--nonblocking", "-o", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top(path: Path, n: int = 15) -> dict[str, Any]:
    """The ``n`` hottest functions of a collapsed-stack file, self and inclusive, in % of samples."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        k = int(count)
        total += k
        frames = [_LINE.sub(")", f.strip()) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        self_c[frames[-1]] += k
        for f in set(frames):
            incl[f] += k
    pct = (lambda c: round(100.0 * c / total, 1)) if total else (lambda c: 0.0)
    return {
        "samples": total,
        "self": [(f, pct(c)) for f, c in self_c.most_common(n)],
        "inclusive": [(f, pct(c)) for f, c in incl.most_common(n)],
    }
