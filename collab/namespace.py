"""The Socket.IO namespace: each note is a room. The only module that emits.

Every client event goes through :meth:`NotesNamespace.trigger_event`, which

- keeps one connection's events in the order they arrived (a per-connection
  chain: an event starts its work only after the previous event of the same
  connection has *queued* its op or finished its join, so ops still pipeline
  into the group commit while ``join`` then ``stroke`` sent back to back works);
- turns every :class:`~collab.errors.CollabError` into the contract's failed
  ack and every unexpected exception into ``internal`` (logged), so a handler
  never kills the connection or loses an ack.

Broadcasts of committed ops are sent from the committer's task, in seq order,
by :meth:`NotesNamespace.broadcast_batch`. So are the acks of ops: a
connection's reader queues an op and reads on (up to
``COLLAB_MAX_OPS_IN_FLIGHT`` ops of one connection wait for their commit at
once), and the committer sends each op's ack once its batch is stored and
broadcast (:class:`DeferredAck`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import flask_socketio
from flask import request
from socketio import packet as sio_packet
from socketio.exceptions import ConnectionRefusedError as SioConnectionRefused

from . import _json, _wswriter, ops, protocol
from .errors import BadRequest, CollabError, Forbidden, InternalError, NotFound, NotJoined, RateLimited, TooLarge
from .limits import FloodGuard, TokenBucket
from .model import OpRequest
from .presence import Peer, default_color

if TYPE_CHECKING:
    from .extension import CollabState

log = logging.getLogger("collab.socket")

ROLES = ("edit", "view")


def _valid_name(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value.strip()) <= protocol.MAX_NAME:
        return value.strip()
    return None


def _valid_color(value: Any) -> str | None:
    return value if isinstance(value, str) and protocol.PEER_COLOR_RE.match(value) else None


class _Done:
    """A stand-in for an event that is already set (no ordering needed)."""

    def set(self) -> None:
        pass

    def is_set(self) -> bool:
        return True


_DONE = _Done()


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

    def __init__(self, ns: NotesNamespace, conn: Connection, req: OpRequest) -> None:
        self._ns = ns
        self._conn = conn
        self._event = req.kind  # the client event: stroke, remove or clear
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
        ack = server.packet_class(sio_packet.ACK, namespace=namespace, id=ack_id, data=[self._ack])
        server._send_packet(eio_sid, ack)


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
            args = [] if r is None else list(r) if isinstance(r, tuple) else [r]
            srv._send_packet(eio_sid, srv.packet_class(sio_packet.ACK, namespace=namespace, id=id, data=args))

    server._handle_event_internal = handle_event_internal
    server._collab_deferred_acks = True


@dataclass(eq=False)
class Connection:
    """What the server knows of one connected client."""

    sid: str
    peer: Peer
    ops: TokenBucket
    volatile: TokenBucket
    flood: FloodGuard
    ip: str = ""
    identity: Any = None
    token: str | None = None
    #: note id → role ("edit" or "view")
    notes: dict[str, str] = field(default_factory=dict)
    #: the event the previous client event sets once later events may start
    tail: Any = None
    #: ops queued for the committer whose ack is not sent yet (see DeferredAck)
    in_flight: int = 0


class NotesNamespace(flask_socketio.Namespace):
    """The ``/notes`` namespace (name configurable) of one app."""

    def __init__(self, namespace: str, state: CollabState) -> None:
        super().__init__(namespace)
        self.state = state
        self.conns: dict[str, Connection] = {}
        self.per_ip: dict[str, int] = {}
        self._watchdog: Any = None
        self._presence_loop: Any = None
        self._outbox: Any = None  # committed batches waiting for the broadcaster task
        #: most ops of one connection waiting for their commit at once; 0: none (ack each op before the next)
        self.max_in_flight = 0
        self._deferred: deque[DeferredAck] = deque()  # in queue order, for the store timeout
        self._expirer: Any = None
        self._handlers: dict[str, Callable[[Connection, Any, Any], Any]] = {
            "join": self._join,
            "leave": self._leave,
            **{name: self._op_handler(kind) for name, kind in ops.KINDS.items()},
            "cursor": self._cursor,
            "draft": self._draft,
            "profile": self._profile,
        }
        self.limits = ops.Limits(max_points=int(state.config["COLLAB_MAX_POINTS"]))

    def defer_acks(self, limit: int) -> None:
        """Let each connection have up to ``limit`` ops waiting for their commit (see :class:`DeferredAck`).

        Only where events run inline in the connection's reader under a
        cooperative async mode (gevent, eventlet: collab's own setup); elsewhere,
        and with ``limit`` 0, each op is acknowledged before the next is read.
        """
        server = self.socketio.server  # type: ignore[union-attr]
        if limit <= 0 or server.async_handlers or server.eio.async_mode not in ("gevent", "eventlet"):
            return
        hook_deferred_acks(server)
        self.max_in_flight = limit

    # -- connection lifecycle ---------------------------------------------------
    def on_connect(self, auth: Any = None) -> None:
        """Accept a connection: parse ``auth``, identify the user, make its peer."""
        sid = request.sid  # type: ignore[attr-defined]
        cfg = self.state.config
        ip = self._client_ip()
        try:
            parsed = protocol.auth(auth)
            limit = cfg["COLLAB_MAX_CONNECTIONS_PER_IP"]
            if limit and self.per_ip.get(ip, 0) >= limit:
                raise RateLimited(f"too many connections from {ip} (limit {limit}); close some and retry")
            identity = self._identify(parsed)
        except CollabError as exc:
            log.info("connect refused sid=%s ip=%s code=%s: %s", sid, ip, exc.code, exc.message)
            if self.state.metrics is not None:
                self.state.metrics.errors.labels(exc.code).inc()
            refusal = SioConnectionRefused(exc.message)
            refusal.error_args = {"message": exc.message, "code": exc.code, "data": exc.to_dict()}
            raise refusal from None
        name, color = parsed["name"], parsed["color"]
        if isinstance(identity, Mapping):  # the host knows better who this is
            name = _valid_name(identity.get("name")) or name
            color = _valid_color(identity.get("color")) or color
        peer: Peer = {
            "peer": sid,
            "name": name or f"Guest {sid[:4]}",
            "color": color or default_color(sid),
        }
        now = time.monotonic()
        self.conns[sid] = Connection(
            sid,
            peer,
            ops=TokenBucket(cfg["COLLAB_RATE_OPS"], cfg["COLLAB_RATE_OPS_BURST"], now),
            volatile=TokenBucket(cfg["COLLAB_RATE_VOLATILE"], cfg["COLLAB_RATE_VOLATILE_BURST"], now),
            flood=FloodGuard(cfg["COLLAB_FLOOD_LIMIT"], cfg["COLLAB_FLOOD_WINDOW"]),
            ip=ip,
            identity=identity,
            token=parsed["token"],
        )
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        if self._watchdog is None and cfg["COLLAB_MAX_QUEUED_PACKETS"]:
            self._watchdog = self.state.runtime.spawn(self._watch_slow_consumers)
        if self._presence_loop is None and self.state.presence.shared:
            self.state.presence.heartbeat()  # before this process's first member is listed
            self._presence_loop = self.state.runtime.spawn(self._keep_presence)
        log.info("connect sid=%s ip=%s name=%r", sid, ip, peer["name"])

    def _identify(self, parsed: protocol.Auth) -> Any:
        try:
            return self.state.identify_socket(parsed)
        except CollabError:
            raise
        except Exception:
            log.exception("the identify hook raised; refusing the connection")
            raise InternalError("the server could not identify you; try again later") from None

    def _client_ip(self) -> str:
        env = request.environ
        if self.state.config["COLLAB_TRUST_PROXY"]:
            forwarded = env.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return str(env.get("REMOTE_ADDR") or "?")

    def on_disconnect(self, reason: Any = None) -> None:
        """Forget the connection and tell its rooms it left."""
        sid = request.sid  # type: ignore[attr-defined]
        conn = self.conns.pop(sid, None)
        if conn is None:
            return
        left = self.per_ip.get(conn.ip, 1) - 1
        if left > 0:
            self.per_ip[conn.ip] = left
        else:
            self.per_ip.pop(conn.ip, None)
        for note in list(conn.notes):
            self._announce_leave(note, conn)
        log.info("disconnect sid=%s reason=%s", sid, reason)

    # -- dispatch -----------------------------------------------------------------
    def trigger_event(self, event: str, *args: Any) -> Any:
        """Route a client event through the per-connection order and error handling."""
        sid = args[0]
        if event in ("connect", "disconnect") and self._from_server(event, sid):
            return super().trigger_event(event, *args)
        data = args[1] if len(args) > 1 else None
        conn = self.conns.get(sid)
        if conn is None:  # connected to another app's namespace or already gone
            return InternalError("this connection is not registered; reconnect").to_ack()
        if self.socketio.server.async_handlers:  # type: ignore[union-attr]
            # events of one connection may run concurrently: chain them in arrival order
            prev, mine = conn.tail, self.state.runtime.event()
            conn.tail = mine
        else:  # handled inline by the connection's reader: already in order
            prev, mine = None, _DONE
        try:
            if prev is not None and not prev.is_set():
                prev.wait(self.state.store_timeout)
            handler = self._handlers.get(event)
            if handler is None:
                return BadRequest(f"unknown event {event!r:.80}; see docs/protocol.md for the events").to_ack()
            if event == "join":
                # Flask-SocketIO's dispatcher gives the authorize hook a request context.
                ack = self.socketio._handle_event(  # type: ignore[union-attr]
                    self._guarded, event, self.namespace, sid, event, handler, conn, data, mine
                )
            else:  # the hot path: ops, cursors and drafts need no request context
                ack = self._guarded(event, handler, conn, data, mine)
                if type(ack) is DeferredAck:
                    return ack  # answered when committed (metrics then)
            if not isinstance(ack, dict):  # Flask-SocketIO found no environ for this sid
                ack = InternalError("this connection is not registered; reconnect").to_ack()
            if self.state.metrics is not None:
                self.state.metrics.event(event, ack)
            refused = isinstance(ack, dict) and ack.get("error", {}).get("code") == "rate_limited"
            if refused and conn.flood.refused(time.monotonic()):
                log.warning("flood: dropping sid=%s ip=%s", sid, conn.ip)
                self.kick(sid, RateLimited("too many refused events; slow down before reconnecting"), "flood")
            return ack
        except Exception:
            log.exception("event %s sid=%s raised", event, sid)
            return InternalError("the server failed to handle the event; nothing was applied").to_ack()
        finally:
            mine.set()

    def _from_server(self, event: str, sid: str) -> bool:
        """Whether a ``connect``/``disconnect`` comes from Socket.IO itself, not from a client's event.

        A client may send events of any name, these two included; python-socketio
        hands them to the same method. Its own connect runs before the sid is
        ours, its own disconnect after the sid stopped counting as connected.
        """
        if event == "connect":
            return sid not in self.conns
        return not self.socketio.server.manager.is_connected(sid, self.namespace)  # type: ignore[union-attr]

    @staticmethod
    def _guarded(event: str, handler: Callable[..., Any], conn: Connection, data: Any, mine: Any) -> Any:
        """Run a handler; contract errors become failed acks, anything else ``internal``."""
        try:
            return handler(conn, data, mine)
        except CollabError as exc:
            return NotesNamespace._refusal(event, conn, exc)
        except Exception:
            log.exception("event %s sid=%s raised", event, conn.sid)
            return InternalError("the server failed to handle the event; nothing was applied").to_ack()

    # -- helpers -------------------------------------------------------------------
    def _joined(self, conn: Connection, note: str) -> str:
        role = conn.notes.get(note)
        if role is not None and not self._in_room(conn.sid, note):
            # the room was closed, possibly by another process (the note was deleted)
            conn.notes.pop(note, None)
            role = None
        if role is None:
            raise NotJoined(f"join note {note!r} before sending events to it")
        return role

    def _in_room(self, sid: str, note: str) -> bool:
        rooms = self.socketio.server.manager.rooms.get(self.namespace, {})  # type: ignore[union-attr]
        return sid in rooms.get(note, ())

    def _editor(self, conn: Connection, note: str) -> None:
        if self._joined(conn, note) != "edit":
            raise Forbidden(f"you may view note {note!r} but not change it")
        if not conn.ops.take(time.monotonic()):
            raise RateLimited(
                f"more than {conn.ops.rate:g} ops/s (bursts of {conn.ops.burst:g}); wait a moment and retry"
            )

    @staticmethod
    def _volatile(conn: Connection) -> None:
        if not conn.volatile.take(time.monotonic()):
            raise RateLimited(f"cursor/draft faster than {conn.volatile.rate:g}/s; dropped")

    @staticmethod
    def _refusal(event: str, conn: Connection, exc: CollabError) -> dict[str, Any]:
        """The failed ack of ``exc``, logged (``internal`` as an error, a contract refusal as info)."""
        if exc.code == "internal":
            log.error("event %s sid=%s failed: %s", event, conn.sid, exc.message)
        else:
            log.info("event %s sid=%s refused code=%s: %s", event, conn.sid, exc.code, exc.message)
        return exc.to_ack()

    def _commit(self, conn: Connection, req: OpRequest, mine: Any) -> dict[str, Any] | DeferredAck:
        """Queue ``req`` for the committer; its ack once committed, or a :class:`DeferredAck` for it."""
        req.received = time.monotonic()
        committer = self.state.committer
        if conn.in_flight < self.max_in_flight:
            deferred = DeferredAck(self, conn, req)
            conn.in_flight += 1
            self._deferred.append(deferred)
            if self._expirer is None:
                self._expirer = self.state.runtime.spawn(self._expire_deferred)
            committer.enqueue(req, deferred)
            return deferred
        handle = committer.enqueue(req)
        mine.set()  # the op holds its place in the queue: the next event may start
        committer.wait(req, handle)
        return self._outcome(req)

    @staticmethod
    def _outcome(req: OpRequest) -> dict[str, Any]:
        if req.error is not None:
            raise req.error
        assert req.op is not None
        if req.duplicate:
            return protocol.ok(seq=req.op["seq"], duplicate=True)
        return protocol.ok(seq=req.op["seq"], **ops.KINDS[req.kind].ack(req.op))

    def _settled(self, event: str, conn: Connection, req: OpRequest) -> dict[str, Any]:
        """The ack of a deferred op whose batch is committed (refusals logged as :meth:`_guarded` does)."""
        try:
            ack = self._outcome(req)
        except CollabError as exc:
            ack = self._refusal(event, conn, exc)
        return self._answered(event, conn, ack)

    def _answered(self, event: str, conn: Connection, ack: dict[str, Any]) -> dict[str, Any]:
        conn.in_flight -= 1
        if self.state.metrics is not None:
            self.state.metrics.event(event, ack)
        return ack

    def _expire_deferred(self) -> None:
        """Answer the committer's timeout error for deferred ops the store has not settled in time."""
        committer = self.state.committer
        pending = self._deferred
        while True:
            self.state.runtime.sleep(min(1.0, committer.timeout / 2))
            deadline = time.monotonic() - committer.timeout
            while pending and (pending[0].settled or pending[0].queued_at < deadline):  # queue order
                first = pending.popleft()
                if not first.settled:
                    first.expire(committer.timed_out())

    def _announce_leave(self, note: str, conn: Connection) -> None:
        conn.notes.pop(note, None)
        self.leave_room(conn.sid, note)
        peers = self.state.presence.remove(note, conn.sid)
        if peers is not None:
            self.emit("presence", {"note": note, "peers": peers}, room=note)
        self.state.signal("member_left", note=note, peer=conn.peer)

    # -- events -------------------------------------------------------------------
    def _join(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note, since, epoch = protocol.join(data)
        role = self.state.authorize_socket(conn, note)
        if role is None:
            raise Forbidden(f"you may not open note {note!r}")
        fresh = note not in conn.notes
        limit = self.state.config["COLLAB_MAX_NOTES_JOINED"]
        if fresh and len(conn.notes) >= limit:
            raise TooLarge(f"a connection may join at most {limit} notes; leave one first")
        # Only an editor's join creates a missing note, and never one that names an epoch.
        create = note if self.state.auto_create and role == "edit" and epoch is None else None
        # Enter the room before reading, so no op committed meanwhile is missed:
        # such ops may reach the client before this ack; it keeps those above `seq`.
        self.enter_room(conn.sid, note)
        try:
            st = self.state.blocking(
                functools.partial(
                    self.state.store.join,
                    note,
                    since,
                    create,
                    epoch=epoch,
                    max_notes=self.state.config["COLLAB_MAX_NOTES"],
                    encoded=self._splices(),
                )
            )
        except BaseException:
            if fresh:
                self.leave_room(conn.sid, note)
            raise
        if st is None:
            if fresh:
                self.leave_room(conn.sid, note)
            if epoch is not None:
                raise NotFound(f"note {note!r} was deleted (it no longer has epoch {epoch!r:.40}); start a new note")
            raise NotFound(f"note {note!r} does not exist")
        conn.notes[note] = role
        if st.created:
            self.state.signal("note_created", note=st.note)
        peers, changed = self.state.presence.add(note, conn.peer)
        ack = protocol.ok(note=st.note.as_ref(), seq=st.note.seq, peer=conn.sid, peers=peers, role=role)
        if st.ops is not None:
            ack["ops"] = st.ops
        else:
            ack["strokes"] = st.strokes
            if st.reset:
                ack["reset"] = True
        if changed:
            self.emit("presence", {"note": note, "peers": peers}, room=note)
            self.state.signal("member_joined", note=note, peer=conn.peer, role=role)
        return ack

    def _splices(self) -> bool:
        """Whether packets are encoded by collab's JSON module, which splices stored JSON (``orjson.Fragment``).

        A host's own SocketIO may encode with another module; its joins get decoded items.
        """
        packet_class = self.socketio.server.packet_class  # type: ignore[union-attr]
        return getattr(packet_class, "json", None) is _json and _json.splices

    def _leave(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note = protocol.target_note(data, "leave")
        self._joined(conn, note)
        self._announce_leave(note, conn)
        return protocol.ok()

    def _op_handler(self, kind: ops.OpKind) -> Callable[[Connection, Any, Any], dict[str, Any] | DeferredAck]:
        """The handler of one op event (``stroke``, ``remove``, ``clear``, ``update``, ``move``, ``restore``)."""
        name = kind.name

        def handle(conn: Connection, data: Any, mine: Any) -> dict[str, Any] | DeferredAck:
            note = protocol.target_note(data, name)
            self._editor(conn, note)
            body = kind.parse(data, self.limits)
            return self._commit(conn, OpRequest(note, name, conn.sid, body=body, context=conn.sid), mine)

        return handle

    def _cursor(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note, fields = protocol.cursor(data)
        self._joined(conn, note)
        self._volatile(conn)
        self.emit("cursor", {"note": note, "peer": conn.sid, **fields}, room=note, skip_sid=conn.sid)
        return protocol.ok()

    def _profile(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        """``profile``: a new name or colour, announced to every note the connection joined."""
        name, color = protocol.profile(data)
        self._volatile(conn)
        peer: Peer = {"peer": conn.sid, "name": name or conn.peer["name"], "color": color or conn.peer["color"]}
        conn.peer = peer
        for note in list(conn.notes):
            peers = self.state.presence.update(note, peer)
            self.emit("presence", {"note": note, "peers": peers}, room=note)
        return protocol.ok(peer=peer)

    def _draft(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note, draft = protocol.draft(data, self.state.config["COLLAB_MAX_POINTS"])
        if self._joined(conn, note) != "edit":
            raise Forbidden(f"you may view note {note!r} but not draw in it")
        self._volatile(conn)
        self.emit("draft", {"note": note, "peer": conn.sid, **draft}, room=note, skip_sid=conn.sid)
        return protocol.ok()

    # -- server-initiated -------------------------------------------------------------
    def emit(self, event: str, data: Any = None, room: str | None = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Emit in this namespace (``skip_sid`` supported)."""
        self.socketio.emit(event, data, to=room, namespace=self.namespace, **kwargs)  # type: ignore[union-attr]

    def enter_room(self, sid: str, room: str) -> None:
        self.socketio.server.enter_room(sid, room, namespace=self.namespace)  # type: ignore[union-attr]

    def leave_room(self, sid: str, room: str) -> None:
        self.socketio.server.leave_room(sid, room, namespace=self.namespace)  # type: ignore[union-attr]

    def broadcast_batch(self, batch: Sequence[OpRequest]) -> None:
        """Send each newly committed op to the other members of its note (seq order).

        Called by the committer after each commit. Local emits never wait (a
        non-blocking write, else a queued packet), so they run inline. Through a
        message queue every emit is a network round trip: then a broadcaster
        task of its own sends them, in the same order, and the next commit does
        not wait for the previous batch's broadcasts.
        """
        if not hasattr(self.socketio.server.manager, "_publish"):  # type: ignore[union-attr]
            if self.socketio.server.eio.async_mode == "gevent":  # type: ignore[union-attr]
                _wswriter.hold()  # a member gets the batch's ops and its own acks in one write
            self._broadcast(batch)
            return
        if self._outbox is None:
            self._outbox = self.state.runtime.queue()
            self.state.runtime.spawn(self._broadcaster)
        self._outbox.put(batch)

    def _broadcaster(self) -> None:
        while True:
            batch = self._outbox.get()
            try:
                self._broadcast(batch)
            except Exception:
                log.exception("broadcasting a batch failed")

    def _broadcast(self, batch: Sequence[OpRequest]) -> None:
        metrics = self.state.metrics
        for req in batch:
            if req.op is None or req.duplicate:
                continue
            self.emit(req.kind, {"note": req.note, **req.op}, room=req.note, skip_sid=req.context)
            if metrics is not None:
                metrics.ops.labels(req.kind).inc()
                metrics.broadcast_seconds.observe(time.monotonic() - req.received)
            self.state.signal("op_applied", note=req.note, op=req.op)

    def note_renamed(self, note: str, title: str) -> None:
        """Tell a note's members its new title (event ``renamed``)."""
        self.emit("renamed", {"note": note, "title": title}, room=note)

    def note_deleted(self, note: str) -> None:
        """Tell a note's members it is gone, and take them out of its room."""
        self.emit("deleted", {"note": note}, room=note)
        for conn in list(self.conns.values()):
            conn.notes.pop(note, None)
        self.state.presence.drop(note)
        self.socketio.server.close_room(note, namespace=self.namespace)  # type: ignore[union-attr]

    def kick(self, sid: str, error: CollabError, reason: str) -> None:
        """Send ``error`` to a connection, then drop it (flooding, revoked access)."""
        if self.state.metrics is not None:
            self.state.metrics.kicked.labels(reason).inc()
        self.emit("error", error.to_dict(), room=sid)
        self.socketio.server.disconnect(sid, namespace=self.namespace)  # type: ignore[union-attr]

    def _keep_presence(self) -> None:
        """Shared presence: heartbeat, and announce notes whose members died with their process."""
        presence = self.state.presence
        while True:
            self.state.runtime.sleep(presence.beat)
            presence.heartbeat()
            for note, peers in presence.reap():
                self.emit("presence", {"note": note, "peers": peers}, room=note)

    def _watch_slow_consumers(self) -> None:
        """Drop connections whose unsent packets pile up (a client that stopped reading).

        Broadcasts never wait for a reader (what its socket does not take is
        queued), so a slow reader never delays its room; this bounds the memory
        its queue may take. The client catches up with
        ``join since`` when it reconnects.
        """
        limit = self.state.config["COLLAB_MAX_QUEUED_PACKETS"]
        server = self.socketio.server  # type: ignore[union-attr]
        while True:
            self.state.runtime.sleep(1.0)
            for eio_sid, sock in list(server.eio.sockets.items()):
                queue = getattr(sock, "queue", None)
                if queue is None or queue.qsize() <= limit:
                    continue
                sid = server.manager.sid_from_eio_sid(eio_sid, self.namespace)
                if sid is None or sid not in self.conns:
                    continue  # not ours: the host's other namespaces are left alone
                log.warning("slow consumer: dropping sid=%s with %d packets queued", sid, queue.qsize())
                if self.state.metrics is not None:
                    self.state.metrics.kicked.labels("slow").inc()
                try:
                    sock.close(wait=False, abort=True)
                except Exception:
                    log.exception("closing slow consumer sid=%s failed", sid)
