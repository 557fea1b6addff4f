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


def _metric(base_url: str, pattern: str) -> float:
    """The sum of the ``/metrics`` samples whose line matches ``pattern`` (0 when none)."""
    import requests

    text = requests.get(base_url + "/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(pattern + r"\s+([0-9.e+-]+)\n", text))


def _joins_handled(base_url: str) -> float:
    return _metric(base_url, r'collab_events_total\{event="join",outcome="ok"\}')


def _dropped_slow(base_url: str) -> float:
    return _metric(base_url, r'collab_disconnects_forced_total\{reason="slow"\}')


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
    base, dropped = _joins_handled(url), _dropped_slow(url)
    time.sleep(0.5)
    before = status_kb(server.pid)
    client = DeafClient(parts.hostname or "127.0.0.1", parts.port or 80)
    t0 = time.monotonic()
    try:
        client.send_joins(note, joins)
        # until every join is handled, or the server dropped the client for not reading (then no more will be)
        while _joins_handled(url) < base + joins and time.monotonic() - t0 < timeout:
            if _dropped_slow(url) > dropped:
                break
            time.sleep(0.1)
        handled = int(_joins_handled(url) - base)
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
        "dropped_slow": _dropped_slow(url) - dropped,
        "server_alive": server.alive(),
    }
