"""The namespace's background loops: slow readers, shared presence, acks the store never settled.

Each function runs for the life of the server in a task of its own
(``runtime.spawn``), wakes on a timer and does one small job.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .acks import DeferredAck
from .errors import CollabError

log = logging.getLogger("collab.socket")


def queued_bytes(sock: Any) -> int:
    """About how many bytes wait in an Engine.IO socket's queue (encoded packets and raw frames)."""
    queue = getattr(sock, "queue", None)
    if queue is None or not queue.qsize():
        return 0
    total = 0
    for item in list(getattr(queue, "queue", ())):  # gevent's and the standard library's queues keep a deque
        data = getattr(item, "data", None)
        if isinstance(data, (str, bytes, bytearray, memoryview)):  # memoryview: the rest of a frame
            total += len(data)
    return total


def overloaded(sock: Any, max_packets: int, max_bytes: int) -> str | None:
    """Why a socket's queue is past its bounds (packets or bytes), or ``None``."""
    queue = getattr(sock, "queue", None)
    if queue is None:
        return None
    packets = queue.qsize()
    if max_packets and packets > max_packets:
        return f"{packets} packets queued"
    if max_bytes and packets:
        size = queued_bytes(sock)
        if size > max_bytes:
            return f"{size:,} bytes queued"
    return None


def drop_slow(sock: Any, sid: str, why: str, metrics: Any = None) -> None:
    """Close a connection that stopped reading; it catches up with ``join since`` when it comes back."""
    log.warning("slow consumer: dropping sid=%s with %s", sid, why)
    if metrics is not None:
        metrics.kicked.labels("slow").inc()
    try:
        sock.close(wait=False, abort=True)
    except Exception:
        log.exception("closing slow consumer sid=%s failed", sid)


def watch_slow_consumers(
    server: Any,
    namespace: str,
    conns: Mapping[str, Any],
    max_packets: int,
    max_bytes: int,
    runtime: Any,
    metrics: Any = None,
) -> None:
    """Drop connections whose unsent packets pile up past ``max_packets`` or ``max_bytes``.

    Broadcasts never wait for a reader (what its socket does not take is
    queued), so a slow reader never delays its room; this bounds the memory
    its queue may take, counted in packets and in bytes (one join ack of a
    big note is one packet of megabytes).
    """
    while True:
        runtime.sleep(1.0)
        for eio_sid, sock in list(server.eio.sockets.items()):
            why = overloaded(sock, max_packets, max_bytes)
            if why is None:
                continue
            sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is None or sid not in conns:
                continue  # not ours: the host's other namespaces are left alone
            drop_slow(sock, sid, why, metrics)


#: Heartbeats between two looks for the member records of dead processes (collab.members).
REAP_MEMBERS_EVERY = 5


def keep_presence(presence: Any, runtime: Any, announce: Callable[[str, list[Any]], None], members: Any = None) -> None:
    """Shared presence: heartbeat, and announce notes whose members died with their process.

    A heartbeat that had lapsed lists this process's members again (others may
    have reaped them) and announces the notes where they had gone.

    With ``members`` (:class:`~collab.members.Members`), also take back the
    records of notes left, forget those of dead processes, and publish every
    batch while a process that records nothing is alive.
    """
    if members is not None:
        members.follow(presence.all_record_members())  # at once: until then every batch is published
    beats = 0
    while True:
        runtime.sleep(presence.beat)
        lapsed = presence.heartbeat()
        for note, peers in (presence.restore() if lapsed else []) + presence.reap():
            announce(note, peers)
        if members is None:
            continue
        try:
            if lapsed:
                members.renew()
            members.follow(presence.all_record_members())
            members.sweep()
            beats += 1
            if beats % REAP_MEMBERS_EVERY == 0:
                members.reap(presence.alive)
        except CollabError as exc:  # the database is away: try again at the next beat
            log.warning("members: keeping the records failed: %s", exc)
        except Exception:  # a bug: log it, and keep the heartbeat going
            log.exception("members: keeping the records failed")


def expire_deferred(pending: deque[DeferredAck], committer: Any, runtime: Any) -> None:
    """Answer the committer's timeout error for deferred acks the store has not settled in time."""
    while True:
        runtime.sleep(min(1.0, committer.timeout / 2))
        deadline = time.monotonic() - committer.timeout
        while pending and (pending[0].settled or pending[0].queued_at < deadline):  # queue order
            first = pending.popleft()
            if not first.settled:
                first.expire(committer.timed_out())


def expire_links(conns: Mapping[str, Any], runtime: Any, expired: Callable[[Any], None]) -> None:
    """Drop connections whose share link expired while they were idle (events check it themselves)."""
    while True:
        runtime.sleep(1.0)
        now = time.time()
        for conn in list(conns.values()):
            if conn.expires is not None and now >= conn.expires:
                expired(conn)
