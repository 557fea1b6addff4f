"""Run one scenario against one target: start the server, drive loadgen.js, sample /proc, stop.

:func:`run_one` is the whole run; :func:`drive` runs the generator against a server that is
already up (the big-note benchmark drives the collab server it filled itself).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import procstat, profile
from .scenarios import SCENARIOS
from .servers import BENCH, PYTHON_TARGETS, Server

LOADGEN = BENCH / "loadgen.js"


class BenchError(RuntimeError):
    """The benchmark could not run (missing tool, server or generator failure)."""


def check_node(targets: Iterable[str] = ()) -> None:
    """Fail with the fix when Node or bench/node_modules (better-sqlite3 for the durable peer) is missing."""
    if shutil.which("node") is None:
        raise BenchError("node is not on PATH: install Node.js 20+ (the load generator runs on it)")
    needed = ["socket.io-client", *(["better-sqlite3"] if "durable" in targets else [])]
    for module in needed:
        if not (BENCH / "node_modules" / module).is_dir():
            raise BenchError(f"{BENCH / 'node_modules' / module} is missing: run `cd bench && npm ci` first")


def raise_nofile(wanted: int = 20_000) -> tuple[int, int]:
    """Raise this process's open-file limit (inherited by the server and the generator) for S4.

    The soft limit goes up to the hard limit (at most ``wanted``); returns the new (soft, hard).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class _Events(threading.Thread):
    """Reads the generator's stderr: ``@bench {...}`` events sample the server; the rest is kept."""

    def __init__(
        self,
        proc: subprocess.Popen[str],
        server: Server,
        profile_to: Path | None,
        window: float,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.proc, self.server, self.on_event = proc, server, on_event
        self.profile_to, self.window = profile_to, window
        self.profiler: subprocess.Popen[bytes] | None = None
        self.cpu: dict[int, procstat.CpuWindow] = {}
        self.samples: dict[str, int] = {}
        self.other: list[str] = []

    def run(self) -> None:
        assert self.proc.stderr is not None
        pid = self.server.pid
        for line in self.proc.stderr:
            if not line.startswith("@bench "):
                self.other.append(line)
                del self.other[:-50]
                continue
            ev = json.loads(line[7:])
            name = ev["event"]
            try:
                if name == "measure_start":
                    w = self.cpu[ev["phase"]] = procstat.CpuWindow(pid)
                    w.start()
                    if self.profile_to is not None and self.profiler is None:
                        self.profiler = profile.start(pid, self.window, self.profile_to)
                elif name == "measure_end":
                    self.cpu[ev["phase"]].stop()
                    self.samples[f"rss_kb_phase{ev['phase']}"] = procstat.status_kb(pid)
                elif name == "held":
                    self.samples["rss_kb_held"] = procstat.status_kb(pid)
                    w = self.cpu[-1] = procstat.CpuWindow(pid)
                    w.start()
                elif name == "hold_end":
                    self.samples["rss_kb_hold_end"] = procstat.status_kb(pid)
                    self.cpu[-1].stop()
            except (OSError, KeyError):  # the server died: reported by the caller
                pass
            if self.on_event is not None:
                self.on_event(ev)


Extra = dict[str, list[str]]


def run_one(
    scenario: str,
    target: str,
    workdir: Path,
    *,
    overrides: dict[str, Any] | None = None,
    collab_env: dict[str, str] | None = None,
    extra_args: Extra | None = None,
    profile_to: Path | None = None,
    timeout: float = 1200.0,
) -> dict[str, Any]:
    """One run: returns ``{"scenario", "target", "loadgen": {...}, "server": {...}, "summary": {...}}``.

    ``extra_args``: command-line arguments per target (``{"naive": ["--nodelay"]}``).
    """
    opts = {**SCENARIOS[scenario].options, **(overrides or {})}
    server = Server(target, workdir, collab_env=collab_env, extra_args=(extra_args or {}).get(target))
    server.start()
    record: dict[str, Any] = {"scenario": scenario, "target": target, "options": opts, "command": server.cmd}
    try:
        time.sleep(0.5)
        record.update(drive(server, opts, profile_to=profile_to, timeout=timeout))
    finally:
        code = server.stop()
        record["server_exit"] = code
        record["server_log_tail"] = server.log(1500)
    return record


def drive(
    server: Server,
    opts: dict[str, Any],
    *,
    profile_to: Path | None = None,
    timeout: float = 1200.0,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run loadgen.js with ``opts`` against a running ``server``; ``{"loadgen", "server", "seconds", "summary"}``.

    ``on_event`` is called with each ``@bench`` event of the generator (``measure_start``...), after the
    server's ``/proc`` was sampled for it.
    """
    record: dict[str, Any] = {}
    rss0 = procstat.status_kb(server.pid)
    opts = {**opts, "url": server.url, "serverPid": server.pid}
    proc = subprocess.Popen(
        ["node", str(LOADGEN), "--json", json.dumps(opts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=BENCH,
    )
    if server.target not in PYTHON_TARGETS:
        profile_to = None  # py-spy samples Python processes only
    events = _Events(proc, server, profile_to, float(opts.get("duration", 10)), on_event)
    events.start()
    t0 = time.monotonic()
    watchdog = threading.Timer(timeout, proc.kill)  # stderr is the events thread's: no communicate()
    watchdog.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.wait()
    finally:
        watchdog.cancel()
    events.join(10)
    if proc.returncode == -9:
        raise BenchError(f"the load generator did not finish within {timeout:.0f}s")
    if proc.returncode != 0 or not out.strip():
        raise BenchError(
            f"loadgen exited with {proc.returncode}:\n{''.join(events.other)[-3000:]}\nserver log:\n{server.log()}"
        )
    record["loadgen"] = json.loads(out.strip().splitlines()[-1])
    alive = server.alive()
    record["server"] = {
        "alive_after": alive,
        "rss_kb_start": rss0,
        "rss_kb_end": procstat.status_kb(server.pid) if alive else None,
        "hwm_kb": procstat.status_kb(server.pid, "VmHWM") if alive else None,
        "cpu_pct": {str(k): w.percent for k, w in events.cpu.items()},
        "machine_cpu_pct": {str(k): w.machine_percent for k, w in events.cpu.items()},
        **events.samples,
    }
    record["seconds"] = time.monotonic() - t0
    if events.profiler is not None and profile_to is not None:
        try:
            events.profiler.wait(30)
            record["profile"] = {"file": str(profile_to), **profile.top(profile_to)}
        except (subprocess.TimeoutExpired, OSError) as exc:
            record["profile"] = {"error": f"py-spy: {exc}"}
    record["summary"] = summarize(record, rss0)
    return record


def _others(machine: float | None, server: float | None, gen: float | None) -> float | None:
    if machine is None or server is None or gen is None:
        return None
    return max(0.0, machine - server - gen)


def summarize(record: dict[str, Any], rss0: int) -> dict[str, Any]:
    """The flat figures of one run that the tables show."""
    lg, srv = record["loadgen"], record["server"]
    cpu = srv["cpu_pct"]
    mcpu = srv.get("machine_cpu_pct", {})
    if lg["mode"] == "idle":
        held = lg.get("held", 0)
        end = srv.get("rss_kb_hold_end") or srv.get("rss_kb_end") or rss0
        return {
            "held": held,
            "requested": lg["connect"]["requested"],
            "connect_s": lg["connect"]["seconds"],
            "kb_per_conn": (end - rss0) / held if held else None,
            "server_rss_mb": end / 1024,
            "server_cpu": cpu.get("-1"),
            "machine_cpu": mcpu.get("-1"),
            "gen_rss_mb": lg.get("generator_rss_mb"),
        }
    res = lg["result"]
    phase = str(res["phase"])
    lat, ack = res["latency_ms"], res["ack_latency_ms"]
    s = {
        "deliveries_per_s": res["deliveries_per_s"],
        "strokes_per_s": res["strokes_per_s"],
        "p50": lat["p50"],
        "p90": lat["p90"],
        "p99": lat["p99"],
        "max": lat["max"],
        "losses": res["losses"],
        "expected": res["expected_deliveries"],
        "acks": res["acks"],
        "acks_expected": res["strokes_sent"],
        "ack_errors": res["ack_errors"],
        "ack_p50": ack["p50"],
        "ack_p99": ack["p99"],
        "server_cpu": cpu.get(phase),
        "server_rss_mb": (srv.get(f"rss_kb_phase{phase}") or rss0) / 1024,
        "gen_cpu": res["generator_cpu_pct"],
        "machine_cpu": mcpu.get(phase),
        # CPU used by everything but the server and the generator: other agents, the kernel...
        "others_cpu": _others(mcpu.get(phase), cpu.get(phase), res["generator_cpu_pct"]),
        "gen_loop_p99": res["event_loop_delay_ms"]["p99"],
        "joined": lg["connect"]["joined"],
    }
    # server CPU per delivery: robust to neighbours' load where latency is not; 1e6 / it = deliveries/s per core
    if s["server_cpu"] and s["deliveries_per_s"]:
        s["server_us_per_delivery"] = s["server_cpu"] / 100 * 1e6 / s["deliveries_per_s"]
    else:
        s["server_us_per_delivery"] = None
    if lg["mode"] == "ramp":
        s["ceiling_rate"] = res["rate_per_client"] if res.get("passed") else 0
        if not res.get("passed"):  # not even the first step passed
            s["deliveries_per_s"] = 0.0
        s["steps"] = [
            {
                "rate": p["rate_per_client"],
                "deliveries_per_s": round(p["deliveries_per_s"]),
                "p99": p["latency_ms"]["p99"],
                "losses": p["losses"],
                "acks_missing": p["acks_missing"],
                "server_cpu": cpu.get(str(p["phase"])),
                "gen_cpu": round(p["generator_cpu_pct"]),
                "passed": p["passed"],
                "refining": bool(p.get("refining")),
                "others_cpu": p.get("others_cpu_pct"),
                "disturbed": bool(p.get("disturbed")),
            }
            for p in lg["phases"]
        ]
    return s
