"""Fan-out: each committed op goes to the other members of its note, in seq order.

The committer calls :meth:`Fanout.batch` after each commit. Local emits
never wait (a non-blocking write, else a queued packet), so they run inline,
writes held back under gevent so that a member gets a batch's ops and its own
acks in one ``send``. What must cross to other processes is a network round
trip: a task of its own publishes it, in the same order, and the next commit
does not wait for it. With collab's Redis manager that is one message per
batch, and none for a batch whose notes have no members on another process
(:mod:`collab.members`); with another python-socketio message queue, each
emit is published (and emitted here) by that task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import _wswriter
from .model import OpRequest, room_of

log = logging.getLogger("collab.socket")


class Fanout:
    """Broadcasts of committed batches for one namespace."""

    def __init__(
        self,
        emit: Callable[..., None],
        server: Any,
        runtime: Any,
        metrics: Any = None,
        signal: Callable[..., None] | None = None,
        namespace: str = "/notes",
    ) -> None:
        self._emit = emit
        self._namespace = namespace
        manager = server.manager
        #: Through a message queue, every emit publishes unless the manager splits them (collab.queues).
        self._queued = hasattr(manager, "_publish")
        #: collab's Redis manager (collab.queues): local emits and one publish per batch, apart.
        self._batching: Any = manager if hasattr(manager, "publish_batch") else None
        self._gevent = server.eio.async_mode == "gevent"
        self._runtime = runtime
        self._metrics = metrics
        self._signal = signal
        self._outbox: Any = None  # the publisher task's calls, in commit order

    def batch(self, batch: Sequence[OpRequest]) -> None:
        """Send each newly committed op of ``batch`` to the other members of its note."""
        if self._queued and self._batching is None:
            self._later(self._send, batch)  # python-socketio's queue: every emit is a round trip
            return
        if self._gevent:
            _wswriter.hold()  # a member gets the batch's ops and its own acks in one write
        self._send(batch)

    def _later(self, call: Callable[..., None], *args: Any) -> None:
        """Run ``call(*args)`` in the publisher task, after the calls queued before it."""
        if self._outbox is None:
            self._outbox = self._runtime.queue()
            self._runtime.spawn(self._publisher)
        self._outbox.put((call, args))

    def _publisher(self) -> None:
        while True:
            call, args = self._outbox.get()
            try:
                call(*args)
            except Exception:
                log.exception("broadcasting a batch failed")

    def _send(self, batch: Sequence[OpRequest]) -> None:
        metrics, signal = self._metrics, self._signal
        fresh = [req for req in batch if req.op is not None and not req.duplicate]
        emits = [(req.kind, {"note": req.note, **req.op}, room_of(req.note), req.context) for req in fresh]  # type: ignore[dict-item]
        if self._batching is None:
            for kind, data, room, skip_sid in emits:
                self._emit(kind, data, room=room, skip_sid=skip_sid)
        elif emits:
            self._batching.emit_here(self._namespace, emits)
            crossing = [emit for emit, req in zip(emits, fresh, strict=True) if req.elsewhere]
            if crossing:  # only notes another process has members in (collab.members)
                self._later(self._batching.publish_batch, self._namespace, crossing)
        for req in fresh:
            if metrics is not None:
                metrics.ops.labels(req.kind).inc()
                metrics.broadcast_seconds.observe(time.monotonic() - req.received)
            if signal is not None:
                signal("op_applied", note=req.note, op=req.op)
