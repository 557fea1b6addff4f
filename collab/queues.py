"""Message-queue managers for several server processes.

python-socketio's Redis manager publishes one Redis message per emit, so a
group commit of 50 ops cost 50 round trips to Redis and 50 messages for every
other process to decode. :class:`BatchingRedisManager` splits a committed
batch's broadcast in two: :meth:`~BatchingRedisManager.emit_here` to this
process's clients, at once, and :meth:`~BatchingRedisManager.publish_batch`,
one message that every other process expands into its local emits, in order.
Everything else (presence, rooms, disconnects, other emits) is python-socketio's
own. It overrides the one method that receives emits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import socketio

#: The event (and room, which nobody is in) that carries a batch between processes.
BATCH = "\x00collab:batch"

Emit = tuple[str, Any, str, Any]  # event, data, room, skip_sid


class BatchingRedisManager(socketio.RedisManager):  # type: ignore[misc]
    """python-socketio's :class:`~socketio.RedisManager`, plus one Redis message per committed batch."""

    def emit_here(self, namespace: str, emits: Sequence[Emit]) -> None:
        """Emit every ``(event, data, room, skip_sid)`` to this process's clients only, in order."""
        for event, data, room, skip_sid in emits:
            self.emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid, ignore_queue=True)

    def publish_batch(self, namespace: str, emits: Sequence[Emit]) -> None:
        """Send ``emits`` to the other processes as one message (a Redis round trip)."""
        self._publish(
            {
                "method": "emit",
                "event": BATCH,
                "data": [list(emits)],
                "binary": False,
                "namespace": namespace,
                "room": BATCH,  # a process that does not know batches emits it to nobody
                "skip_sid": None,
                "callback": None,
                "host_id": self.host_id,
            }
        )

    def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") != BATCH:
            super()._handle_emit(message)
            return
        self.emit_here(message.get("namespace") or "/", message["data"][0])


def manager_for(url: str | None, channel: str) -> Any:
    """The client manager collab's own server uses for a message-queue URL (``None``: python-socketio's choice)."""
    if url and url.startswith(("redis://", "rediss://")):
        return BatchingRedisManager(url, channel=channel)
    return None
