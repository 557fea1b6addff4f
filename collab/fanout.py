"""Fan-out: each committed op goes to the other members of its note, in seq order.

The committer calls :meth:`Fanout.batch` after each commit. Local emits
never wait (a non-blocking write, else a queued packet), so they run inline.
Through a message queue every emit is a network round trip: then a task of
its own sends them, in the same order, and the next commit does not wait for
the previous batch's broadcasts.
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
        #: A manager that sends a batch as one message (collab.queues), else None: one emit per op.
        self._emit_batch = getattr(server.manager, "emit_batch", None)
        self._server = server
        self._runtime = runtime
        self._metrics = metrics
        self._signal = signal
        self._outbox: Any = None  # committed batches waiting for the broadcaster task

    def batch(self, batch: Sequence[OpRequest]) -> None:
        """Send each newly committed op of ``batch`` to the other members of its note."""
        if not hasattr(self._server.manager, "_publish"):
            if self._server.eio.async_mode == "gevent":
                _wswriter.hold()  # a member gets the batch's ops and its own acks in one write
            self._send(batch)
            return
        if self._outbox is None:
            self._outbox = self._runtime.queue()
            self._runtime.spawn(self._broadcaster)
        self._outbox.put(batch)

    def _broadcaster(self) -> None:
        while True:
            batch = self._outbox.get()
            try:
                self._send(batch)
            except Exception:
                log.exception("broadcasting a batch failed")

    def _send(self, batch: Sequence[OpRequest]) -> None:
        metrics, signal, emit = self._metrics, self._signal, self._emit
        fresh = [req for req in batch if req.op is not None and not req.duplicate]
        if self._emit_batch is not None and fresh:
            self._emit_batch(
                self._namespace,
                [(req.kind, {"note": req.note, **req.op}, room_of(req.note), req.context) for req in fresh],  # type: ignore[dict-item]
            )
        for req in fresh:
            assert req.op is not None
            if self._emit_batch is None:
                emit(req.kind, {"note": req.note, **req.op}, room=room_of(req.note), skip_sid=req.context)
            if metrics is not None:
                metrics.ops.labels(req.kind).inc()
                metrics.broadcast_seconds.observe(time.monotonic() - req.received)
            if signal is not None:
                signal("op_applied", note=req.note, op=req.op)
