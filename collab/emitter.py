"""Push ops into notes from outside the server: a script, a cron job, a worker.

An op must be stored before anyone sees it, so a pusher writes through the
store (it gets seqs like any other writer; several processes share
PostgreSQL safely) and then publishes the broadcast on the servers' message
queue with Flask-SocketIO's write-only emitter, on the servers' channel::

    from collab.emitter import Pusher

    with Pusher("postgresql://collab@db/collab", "redis://redis:6379/0") as push:
        seqs = push.strokes("standup", [{"id": "bot-1", "color": "#1971c2", "width": 3,
                                         "points": [[0, 0], [40, 40]]}])

Every member of the note, on every server process, receives the strokes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import protocol
from .errors import CollabError
from .model import OpRequest, room_of
from .store import open_store


class Pusher:
    """Stores ops and broadcasts them through the message queue."""

    def __init__(
        self,
        database: str,
        message_queue: str,
        *,
        namespace: str = "/notes",
        channel: str = "flask-socketio",
        peer: str = "script",
    ) -> None:
        from flask_socketio import SocketIO

        self.store = open_store(database)
        self.namespace = namespace
        self.peer = peer
        self._emitter = SocketIO(message_queue=message_queue, channel=channel, async_mode="threading")

    def strokes(self, note: str, strokes: Iterable[dict[str, Any]]) -> list[int]:
        """Add strokes to an existing note; returns their seqs (original seqs for known ids)."""
        note = protocol.note_id(note)
        reqs = [OpRequest(note, "stroke", self.peer, body=dict(protocol.stroke(s))) for s in strokes]
        return self._apply(reqs)

    def remove(self, note: str, stroke_id: str) -> int:
        """Remove one stroke; returns the op's seq."""
        body = {"id": protocol.stroke_id(stroke_id)}
        return self._apply([OpRequest(protocol.note_id(note), "remove", self.peer, body=body)])[0]

    def clear(self, note: str) -> int:
        """Clear a note; returns the op's seq."""
        return self._apply([OpRequest(protocol.note_id(note), "clear", self.peer)])[0]

    def _apply(self, reqs: list[OpRequest]) -> list[int]:
        self.store.apply(reqs)
        for req in reqs:
            if req.error is not None:
                raise req.error
        for req in reqs:
            assert req.op is not None
            if not req.duplicate:
                self._emitter.emit(
                    req.kind, {"note": req.note, **req.op}, to=room_of(req.note), namespace=self.namespace
                )
        return [req.op["seq"] for req in reqs if req.op is not None]

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["CollabError", "Pusher"]
