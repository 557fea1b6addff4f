"""Read a process's CPU time and memory from ``/proc`` (Linux)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (``/proc/<pid>/stat`` fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid: int, key: str = "VmRSS") -> int:
    """A ``/proc/<pid>/status`` memory field (``VmRSS``, ``VmHWM``…) in KiB, 0 if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``: everything but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


@dataclass
class CpuWindow:
    """CPU% of one process over a wall-clock window: ``start()`` then ``stop()``."""

    pid: int
    t0: float = 0.0
    c0: float = 0.0
    m0: float = 0.0
    percent: float | None = None
    #: every process on the machine over the same window (100 = one core busy)
    machine_percent: float | None = None

    def start(self) -> None:
        """Mark the window's start."""
        self.t0, self.c0, self.m0 = time.monotonic(), cpu_seconds(self.pid), machine_busy_seconds()

    def stop(self) -> float:
        """End the window; returns CPU% (100 = one core busy)."""
        wall = time.monotonic() - self.t0
        if wall <= 0:
            self.percent = self.machine_percent = 0.0
            return 0.0
        self.percent = 100.0 * (cpu_seconds(self.pid) - self.c0) / wall
        self.machine_percent = 100.0 * (machine_busy_seconds() - self.m0) / wall
        return self.percent


def machine() -> dict[str, object]:
    """What the figures were taken on: CPU model, cores, memory, kernel, load."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1048576, 1),
        "kernel": os.uname().release,
        "loadavg": os.getloadavg(),
    }
