"""Server memory around a client that asks for a big note again and again and never reads.

A :class:`~.rawclient.DeafClient` connects, sends ``joins`` joins of the note and reads
nothing, so every join ack (the whole note) stays with the server. RSS (``/proc``) is read
before, once the server has handled every join (its ``/metrics`` join counter) or dropped
the client for not reading (``COLLAB_MAX_QUEUED_BYTES``, its slow-disconnect counter) and
has stopped growing, and after the client closed its socket.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from ..procstat import status_kb
from ..servers import Server
from .rawclient import DeafClient


def _counters(base_url: str) -> tuple[float, float]:
    """Joins handled (``ok``) and connections dropped as slow so far, from one read of ``/metrics``."""
    import requests

    text = requests.get(base_url + "/metrics", timeout=10).text

    def total(pattern: str) -> float:  # the sum of the samples whose line matches (0 when none)
        return sum(float(m.group(1)) for m in re.finditer(pattern + r"\s+([0-9.e+-]+)\n", text))

    joins = total(r'collab_events_total\{event="join",outcome="ok"\}')
    dropped = total(r'collab_disconnects_forced_total\{reason="slow"\}')
    return joins, dropped


def _settle(pid: int, seconds: float, timeout: float) -> int:
    """RSS once it has not grown by more than 1 MB for ``seconds`` (at most ``timeout``)."""
    deadline = time.monotonic() + timeout
    last, since = status_kb(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = status_kb(pid)
        if now > last + 1024:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            break
    return status_kb(pid)


def measure(server: Server, note: str, joins: int, timeout: float = 60.0) -> dict[str, Any]:
    """RSS before, after ``joins`` unread joins of ``note``, and after the client is gone (KiB)."""
    url = server.url
    parts = urlsplit(url)
    base, dropped = _counters(url)
    time.sleep(0.5)
    before = status_kb(server.pid)
    client = DeafClient(parts.hostname or "127.0.0.1", parts.port or 80)
    t0 = time.monotonic()
    try:
        client.send_joins(note, joins)
        # until every join is handled, or the server dropped the client for not reading (then no more will be)
        while True:
            handled_now, dropped_now = _counters(url)
            if handled_now >= base + joins or dropped_now > dropped or time.monotonic() - t0 >= timeout:
                break
            time.sleep(0.1)
        handled = int(_counters(url)[0] - base)
        seconds = time.monotonic() - t0
        after = _settle(server.pid, 1.5, timeout)
        unread = client.receive_buffer_bytes()
    finally:
        client.close()
    time.sleep(2)  # the server notices the close and lets the queued acks go
    return {
        "joins": joins,
        "handled": handled,
        "seconds_to_handle": seconds,
        "rss_kb_before": before,
        "rss_kb_after": after,
        "hwm_kb": status_kb(server.pid, "VmHWM"),
        "rss_kb_closed": status_kb(server.pid),
        "client_unread_bytes": unread,
        "dropped_slow": _counters(url)[1] - dropped,
        "server_alive": server.alive(),
    }
