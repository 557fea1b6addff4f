"""The soak benchmark's smoke run: clients churn, vanish and leave; the server returns to baseline."""

from __future__ import annotations

import subprocess
import sys

from serverproc import ROOT


def test_soak_smoke_returns_to_baseline() -> None:
    """``python -m bench.soak --smoke`` exits 0: connections back to 0, fds back to baseline, no internal errors."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,  # a generous cap, not a timing assertion: the run itself takes about 25 s
    )
    assert run.returncode == 0, f"soak smoke failed:\n{run.stdout}\n{run.stderr[-4000:]}"
    assert "| result | PASS |" in run.stdout, run.stdout
