"""Acknowledgements that wait for the commit: the op's reader moves on, the committer answers.

In cooperative async modes (gevent, eventlet) a connection's reader queues an
op and reads its next event at once; the op's ack is sent when its batch is
stored and broadcast. python-socketio sends a handler's return value as the ack
right away, so :func:`hook_deferred_acks` gives one server instance a way to
answer later: the only place collab changes python-socketio's dispatch.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from socketio import packet as sio_packet

from .errors import CollabError
from .model import OpRequest
from .packets import encoded_ack, encodes_with_collab_json


class AckSink(Protocol):
    """Who turns a settled op into its ack (the namespace: it logs and counts refusals)."""

    def _settled(self, event: str, conn: Any, req: OpRequest) -> dict[str, Any]: ...

    def _answered(self, event: str, conn: Any, ack: dict[str, Any]) -> dict[str, Any]: ...


class _Done:
    """A stand-in for an event that is already set (no ordering needed)."""

    def set(self) -> None:
        pass

    def is_set(self) -> bool:
        return True


#: An event that is always set: events handled inline need no ordering.
DONE = _Done()


class DeferredAck:
    """The ack of a queued op: sent by the committer once the op's batch is stored.

    The connection's reader queues the op and returns this instead of an ack,
    so it reads the connection's next event at once. Two parties complete it,
    in either order: the Socket.IO dispatcher calls :meth:`bind` with the ack
    id (where the answer goes), and the committer calls :meth:`set` once the
    batch is committed and broadcast (or the namespace calls :meth:`expire`
    when the store does not answer in time). Whichever comes second sends the
    ack, once. Used only in cooperative async modes (gevent, eventlet), where
    nothing runs between two statements of one task.
    """

    __slots__ = ("_ack", "_conn", "_event", "_ns", "_req", "_target", "queued_at")

    def __init__(self, ns: AckSink, conn: Any, req: OpRequest) -> None:
        self._ns = ns
        self._conn = conn
        self._event = req.kind  # the client event: one of collab.ops.KINDS
        self._req: OpRequest | None = req
        self._ack: dict[str, Any] | None = None
        self._target: tuple[Any, str, str, int | None] | None = None
        self.queued_at = time.monotonic()

    @property
    def settled(self) -> bool:
        """Whether the op's outcome is known (committed, refused or timed out)."""
        return self._ack is not None

    def bind(self, server: Any, eio_sid: str, namespace: str, ack_id: int | None) -> None:
        """Where the ack goes (``ack_id`` None: the client asked for none)."""
        self._target = (server, eio_sid, namespace, ack_id)
        self._send()

    def set(self) -> None:
        """The committer: the op's batch is committed (or refused) and broadcast."""
        req, self._req = self._req, None
        if self._ack is None and req is not None:
            self._ack = self._ns._settled(self._event, self._conn, req)
            self._send()

    def expire(self, error: CollabError) -> None:
        """No outcome within the store timeout: answer ``error`` (a later commit is not acked)."""
        if self._ack is None:
            self._req = None
            self._ack = self._ns._answered(self._event, self._conn, error.to_ack())
            self._send()

    def _send(self) -> None:
        if self._ack is None or self._target is None:
            return
        server, eio_sid, namespace, ack_id = self._target
        self._target = None
        if ack_id is None or eio_sid not in server.eio.sockets:  # no ack wanted, or the client is gone
            return
        send_ack(server, eio_sid, namespace, ack_id, [self._ack])


def send_ack(server: Any, eio_sid: str, namespace: str, ack_id: int, args: list[Any]) -> None:
    """Send the ACK of ``args`` to ``ack_id``: encoded straight to bytes when collab's JSON encodes packets."""
    if encodes_with_collab_json(server):
        pkt = encoded_ack(namespace, ack_id, args)
        if pkt is not None:
            server._send_eio_packet(eio_sid, pkt)
            return
    server._send_packet(eio_sid, server.packet_class(sio_packet.ACK, namespace=namespace, id=ack_id, data=args))


def hook_deferred_acks(server: Any) -> None:
    """Let a handler of ``server`` answer later by returning a :class:`DeferredAck` (idempotent).

    python-socketio sends a handler's return value as the ack at once
    (``Server._handle_event_internal``); this replacement, on this server
    instance only, binds a :class:`DeferredAck` to the ack id instead and
    otherwise does what python-socketio 5 does.
    """
    if getattr(server, "_collab_deferred_acks", False):
        return

    def handle_event_internal(srv: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: int | None) -> None:
        r = srv._trigger_event(data[0], namespace, sid, *data[1:])
        if type(r) is DeferredAck:
            r.bind(srv, eio_sid, namespace, id)
            return
        if r != srv.not_handled and id is not None:  # python-socketio's own path
            send_ack(srv, eio_sid, namespace, id, [] if r is None else list(r) if isinstance(r, tuple) else [r])

    server._handle_event_internal = handle_event_internal
    server._collab_deferred_acks = True
