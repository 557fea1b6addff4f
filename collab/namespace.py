"""The Socket.IO namespace: each note is a room. The only module that emits.

Every client event goes through :meth:`NotesNamespace.trigger_event`, which

- keeps one connection's events in the order they arrived (a per-connection
  chain: an event starts its work only after the previous event of the same
  connection has *queued* its op or finished its join, so ops still pipeline
  into the group commit while ``join`` then ``stroke`` sent back to back works);
- turns every :class:`~collab.errors.CollabError` into the contract's failed
  ack and every unexpected exception into ``internal`` (logged), so a handler
  never kills the connection or loses an ack.

What an event asks for is decided by :mod:`collab.handlers` (pure); this
module admits connections, reads and writes through its collaborators and
emits. Committed ops go out through :class:`~collab.fanout.Fanout`, in seq
order, from the committer's task; so do the acks of ops (a connection's
reader queues an op and reads on: :mod:`collab.acks`). The background loops
are :mod:`collab.watchdogs`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import flask_socketio
from flask import request
from socketio.exceptions import ConnectionRefusedError as SioConnectionRefused

from . import _json, handlers, hosts, logs, ops, protocol, watchdogs
from .acks import DONE, DeferredAck, hook_deferred_acks
from .errors import BadRequest, CollabError, Forbidden, InternalError, NotFound, RateLimited
from .fanout import Fanout
from .handlers import Connection
from .limits import TokenBucket
from .members import Members
from .model import OpRequest, room_of
from .packets import MALFORMED, encodes_with_collab_json
from .presence import Peer, Presence, default_color
from .roles import ROLES
from .settings import RealtimeSettings
from .store.base import Store

__all__ = ["ROLES", "Access", "Connection", "NotesNamespace"]

log = logging.getLogger("collab.socket")

#: An address may join this many times as often as one connection (a whole office behind one NAT).
JOINS_PER_ADDRESS = 20
#: ...and be sent this many times the join bytes of one connection.
JOIN_BYTES_PER_ADDRESS = 4
#: Refusals of one connection per flood window logged at info (the rest at debug).
LOGGED_REFUSALS = 10
#: Seconds a join waits for the ops queued before it to commit (a stalled store: it reads anyway).
JOIN_SETTLE_WAIT = 2.0


def _for_address(buckets: dict[str, TokenBucket], ip: str, like: TokenBucket, k: int, now: float) -> TokenBucket:
    """The bucket of client address ``ip`` in ``buckets``: ``k`` times ``like``'s rate and burst, made on first use."""
    bucket = buckets.get(ip)
    if bucket is None:
        bucket = buckets[ip] = TokenBucket(like.rate * k, like.burst * k, now)
    return bucket


class Access(Protocol):
    """Who a connection is and what it may do (the app's hooks: :class:`~collab.extension.CollabState`)."""

    def identify_socket(self, auth: protocol.Auth) -> Any: ...

    def authorize_socket(self, conn: Connection, note: str) -> str | None: ...

    def link_expiry(self, conn: Connection, note: str) -> float | None: ...

    def refusal(self, conn: Connection, note: str) -> CollabError: ...

    def blocking(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def signal(self, name: str, **kwargs: Any) -> None: ...


def _valid_name(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value.strip()) <= protocol.MAX_NAME:
        return value.strip()
    return None


def _valid_color(value: Any) -> str | None:
    return value if isinstance(value, str) and protocol.PEER_COLOR_RE.match(value) else None


class NotesNamespace(flask_socketio.Namespace):
    """The ``/notes`` namespace (name configurable) of one app."""

    #: Set once the app's committer exists (it needs :attr:`fanout` first).
    committer: Any = None

    def __init__(
        self,
        namespace: str,
        settings: RealtimeSettings,
        access: Access,
        store: Store,
        presence: Presence,
        runtime: Any,
        metrics: Any = None,
    ) -> None:
        super().__init__(namespace)
        self.settings = settings
        self.access = access
        self.store = store
        self.presence = presence
        self.runtime = runtime
        self.metrics = metrics
        self.conns: dict[str, Connection] = {}
        self.per_ip: dict[str, int] = {}
        #: joins allowed per client address (all its connections together)
        self.ip_joins: dict[str, TokenBucket] = {}
        self.ip_join_bytes: dict[str, TokenBucket] = {}
        self._watchdog: Any = None
        self._presence_loop: Any = None
        self._fanout: Fanout | None = None
        #: Several processes on collab's Redis queue: the notes this one has members in (collab.members).
        self.members: Members | None = None
        #: most ops of one connection waiting for their commit at once; 0: none (ack each op before the next)
        self.max_in_flight = 0
        self._deferred: deque[DeferredAck] = deque()  # in queue order, for the store timeout
        self._expirer: Any = None
        self._link_watch: Any = None
        self._handlers: dict[str, Callable[[Connection, Any, Any], Any]] = {
            "join": self._join,
            "leave": self._leave,
            **{name: self._op_handler(kind) for name, kind in ops.KINDS.items()},
            "cursor": self._cursor,
            "draft": self._draft,
            "profile": self._profile,
        }

    def defer_acks(self, limit: int) -> None:
        """Let each connection have up to ``limit`` ops waiting for their commit (see :mod:`collab.acks`).

        Only where events run inline in the connection's reader under a
        cooperative async mode (gevent, eventlet: collab's own setup); elsewhere,
        and with ``limit`` 0, each op is acknowledged before the next is read.
        """
        server = self.socketio.server  # type: ignore[union-attr]
        if limit <= 0 or server.async_handlers or server.eio.async_mode not in ("gevent", "eventlet"):
            return
        hook_deferred_acks(server)
        self.max_in_flight = limit

    def broadcast_batch(self, batch: Any) -> None:
        """The committer's ``on_commit``: each committed op to the other members of its note (seq order)."""
        if self._fanout is None:
            self._fanout = Fanout(
                self.emit,
                self.socketio.server,
                self.runtime,
                self.metrics,
                self.access.signal,  # type: ignore[union-attr]
            )
        self._fanout.batch(batch)

    # -- connection lifecycle ---------------------------------------------------
    def on_connect(self, auth: Any = None) -> None:
        """Accept a connection: parse ``auth``, identify the user, make its peer."""
        sid = request.sid  # type: ignore[attr-defined]
        settings = self.settings
        ip = self._client_ip()
        try:
            if not hosts.allowed(request.environ.get("HTTP_HOST"), settings.allowed_hosts):
                raise Forbidden("this host name is not served here; connect to the server's own name")
            parsed = protocol.auth(auth)
            limit = settings.max_connections_per_ip
            if limit and self.per_ip.get(ip, 0) >= limit:
                raise RateLimited(f"too many connections from {ip} (limit {limit}); close some and retry")
            identity = self._identify(parsed)
        except CollabError as exc:
            log.info("connect refused sid=%s ip=%s code=%s: %s", sid, ip, exc.code, exc.message)
            if self.metrics is not None:
                self.metrics.errors.labels(exc.code).inc()
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
        conn = Connection.open(sid, peer, settings, time.monotonic(), ip=ip, identity=identity, token=parsed["token"])
        conn.in_room = functools.partial(self._in_room, sid)
        self.conns[sid] = conn
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        if self._watchdog is None and (settings.max_queued_packets or settings.max_queued_bytes):
            self._watchdog = self.runtime.spawn(
                watchdogs.watch_slow_consumers,
                self.socketio.server,  # type: ignore[union-attr]
                self.namespace,
                self.conns,
                settings.max_queued_packets,
                settings.max_queued_bytes,
                self.runtime,
                self.metrics,
            )
        if self._presence_loop is None and self.presence.shared:
            # both set before the heartbeat, which yields to other connections: one loop, one Members
            self.members = self._track_members()
            self._presence_loop = self.runtime.spawn(
                watchdogs.keep_presence, self.presence, self.runtime, self._announce, self.members
            )
            self.presence.heartbeat()  # before this connection's member is listed
        log.info("connect sid=%s ip=%s name=%r", sid, ip, peer["name"])

    def _track_members(self) -> Members | None:
        """Members, where batches are published in one message each (collab's Redis queue)."""
        manager = self.socketio.server.manager  # type: ignore[union-attr]
        if self.committer is None or not hasattr(manager, "publish_batch"):
            return None
        self.presence.records_members = True  # type: ignore[attr-defined]  # told in the heartbeat
        return Members(self.store, self.committer, self.runtime, self.presence.proc, self._has_members)  # type: ignore[attr-defined]

    def _has_members(self, note: str) -> bool:
        manager = self.socketio.server.manager  # type: ignore[union-attr]
        return next(iter(manager.get_participants(self.namespace, room_of(note))), None) is not None

    def _identify(self, parsed: protocol.Auth) -> Any:
        try:
            return self.access.identify_socket(parsed)
        except CollabError:
            raise
        except Exception:
            log.exception("the identify hook raised; refusing the connection")
            raise InternalError("the server could not identify you; try again later") from None

    def _client_ip(self) -> str:
        env = request.environ
        if self.settings.trust_proxy:
            forwarded = env.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                return str(forwarded.split(",")[0].strip())
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
            self.ip_joins.pop(conn.ip, None)
            self.ip_join_bytes.pop(conn.ip, None)
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
        if conn.expires is not None and time.time() >= conn.expires:
            self.link_expired(conn)
            return Forbidden("your share link expired; ask for a new one and open the note again").to_ack()
        if self.socketio.server.async_handlers:  # type: ignore[union-attr]
            # events of one connection may run concurrently: chain them in arrival order
            prev, mine = conn.tail, self.runtime.event()
            conn.tail = mine
        else:  # handled inline by the connection's reader: already in order
            prev, mine = None, DONE
        try:
            if prev is not None and not prev.is_set():
                prev.wait(self.settings.store_timeout)
            handler = self._handlers.get(event)
            if event == MALFORMED:
                return self._refusal(event, conn, BadRequest(str(data)))
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
            if self.metrics is not None:
                self.metrics.event(event, ack)
            if ack.get("ok") is False and conn.flood.refused(time.monotonic()):  # every refusal counts
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
    def _in_room(self, sid: str, note: str) -> bool:
        rooms = self.socketio.server.manager.rooms.get(self.namespace, {})  # type: ignore[union-attr]
        return sid in rooms.get(room_of(note), ())

    @staticmethod
    def _refusal(event: str, conn: Connection, exc: CollabError) -> dict[str, Any]:
        """The failed ack of ``exc``, logged (``internal`` as an error, a contract refusal as info).

        A connection that keeps being refused is logged at info for its first
        :data:`LOGGED_REFUSALS` refusals of a flood window only, then at debug:
        a flood does not flood the log too.
        """
        if exc.code == "internal":
            log.error("event %r sid=%s failed: %s", event, conn.sid, exc.message)
        else:
            level = logging.INFO if conn.flood.count < LOGGED_REFUSALS else logging.DEBUG
            log.log(level, "event %r sid=%s refused code=%s: %r", event, conn.sid, exc.code, exc.message)
        return exc.to_ack()

    def _commit(self, conn: Connection, req: OpRequest, mine: Any) -> dict[str, Any] | DeferredAck:
        """Queue ``req`` for the committer; its ack once committed, or a :class:`DeferredAck` for it."""
        committer = self.committer
        if conn.in_flight < self.max_in_flight:
            deferred = DeferredAck(self, conn, req)
            conn.in_flight += 1
            self._deferred.append(deferred)
            if self._expirer is None:
                self._expirer = self.runtime.spawn(watchdogs.expire_deferred, self._deferred, committer, self.runtime)
            committer.enqueue(req, deferred)
            return deferred
        handle = committer.enqueue(req)
        mine.set()  # the op holds its place in the queue: the next event may start
        committer.wait(req, handle)
        try:
            ack = self._outcome(req)
        except CollabError as exc:
            self._log_op(conn, req, None, exc.code)
            raise
        self._log_op(conn, req, ack.get("seq"), None)
        return ack

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
            self._log_op(conn, req, ack.get("seq"), None)
        except CollabError as exc:
            self._log_op(conn, req, None, exc.code)
            ack = self._refusal(event, conn, exc)
        return self._answered(event, conn, ack)

    @staticmethod
    def _log_op(conn: Connection, req: OpRequest, seq: Any, code: str | None) -> None:
        """A debug line per op (ids, seq, sizes; never the payload): see :func:`collab.logs.log_op`."""
        if not logs.events_debug():
            return
        body = req.body
        points = body.get("points")
        logs.log_op(
            conn.sid,
            req.note,
            req.kind,
            seq=seq if isinstance(seq, int) else None,
            op_id=body.get("id"),
            points=len(points) if isinstance(points, list) else None,
            code=code,
        )

    def _answered(self, event: str, conn: Connection, ack: dict[str, Any]) -> dict[str, Any]:
        conn.in_flight -= 1
        if self.metrics is not None:
            self.metrics.event(event, ack)
        return ack

    def _announce(self, note: str, peers: list[Any]) -> None:
        self.emit("presence", {"note": note, "peers": peers}, room=room_of(note))

    def _announce_leave(self, note: str, conn: Connection) -> None:
        conn.notes.pop(note, None)
        self.leave_room(conn.sid, room_of(note))
        peers = self.presence.remove(note, conn.sid)
        if peers is not None:
            self._announce(note, peers)
        self.access.signal("member_left", note=note, peer=conn.peer)

    # -- events -------------------------------------------------------------------
    def _join(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        now = time.monotonic()
        by_ip = _for_address(self.ip_joins, conn.ip, conn.joins, JOINS_PER_ADDRESS, now)
        if not conn.joins.take(now) or not by_ip.take(now):
            raise RateLimited(f"more than {conn.joins.rate:g} joins/s; wait a moment and retry")
        self._check_reading(conn)
        note = protocol.target_note(data, "join")
        role = self.access.authorize_socket(conn, note)
        if role is None:
            raise self.access.blocking(self.access.refusal, conn, note)
        plan = handlers.join_plan(conn, data, role, self.settings)
        fresh = note not in conn.notes
        # Enter the room before reading, so no op committed meanwhile is missed:
        # such ops may reach the client before this ack; it keeps those above `seq`.
        self.enter_room(conn.sid, room_of(note))
        # With several processes, record that this one has members here before reading,
        # so that every batch committed after the read is published to this process.
        entering = self.members.enter(note) if self.members is not None else None
        # Ops this process took before the join (perhaps from this client's
        # connection that just died) are committed first, so the catch-up holds
        # them and the client does not send them again.
        settled = self.committer.barrier() if self.committer is not None else None
        if settled is not None:
            settled.wait(JOIN_SETTLE_WAIT)
        if entering is not None and (not entering.done.wait(self.committer.timeout) or entering.error is not None):
            if fresh:
                self.leave_room(conn.sid, room_of(note))
            raise entering.error or self.committer.timed_out()
        read = functools.partial(
            self.store.join,
            note,
            plan.since,
            plan.create,
            epoch=plan.epoch,
            max_notes=self.settings.max_notes,
            encoded=self._splices(),
        )
        try:
            st = self.access.blocking(read)
        except BaseException:
            if fresh:
                self.leave_room(conn.sid, room_of(note))
            raise
        if st is None:
            if fresh:
                self.leave_room(conn.sid, room_of(note))
            if plan.epoch is not None:
                raise NotFound(
                    f"note {note!r} was deleted (it no longer has epoch {plan.epoch!r:.40}); start a new note"
                )
            raise NotFound(f"note {note!r} does not exist")
        conn.notes[note] = role = role or "view"  # join_plan refused no role
        self._watch_link(conn, note)
        if st.created:
            self.access.signal("note_created", note=st.note)
        peers, changed = self.presence.add(note, conn.peer)
        ack = protocol.ok(note=st.note.as_ref(), seq=st.note.seq, peer=conn.sid, peers=peers, role=role)
        if st.ops is not None:
            ack["ops"] = st.ops
        else:
            ack["strokes"] = st.strokes
            if st.reset:
                ack["reset"] = True
        if changed:
            self._announce(note, peers)
            self.access.signal("member_joined", note=note, peer=conn.peer, role=role)
        if logs.events_debug():
            strokes = st.strokes if isinstance(st.strokes, list) else None
            logs.log_join(conn.sid, note, role, since=plan.since, seq=st.note.seq,
                          strokes=len(strokes) if strokes is not None else None,
                          ops=len(st.ops) if st.ops is not None else None)  # fmt: skip
        self._pace_join(conn, st.size)
        return ack

    def _pace_join(self, conn: Connection, size: int) -> None:
        """Hold a join's ack until the connection's (and its address's) join bytes allow it.

        A join sends the whole note: a client that joins a big note back to back
        would spend the server's time on its megabytes, and everyone's fan-out
        would wait. Joins past ``COLLAB_RATE_JOIN_BYTES_BURST`` come at most at
        ``COLLAB_RATE_JOIN_BYTES`` per second: the ack just comes later (the
        client is in the room meanwhile and gets the note's ops, as on any join).
        Only this connection's later events wait behind it; a first join of any
        note within the burst is never held.
        """
        bucket = conn.join_bytes
        if bucket is None or size <= 0:
            return
        now = time.monotonic()
        by_ip = _for_address(self.ip_join_bytes, conn.ip, bucket, JOIN_BYTES_PER_ADDRESS, now)
        wait = max(bucket.owe(now, size), by_ip.owe(now, size))
        if wait > 0:
            if self.metrics is not None:
                self.metrics.joins_paced.inc()
            log.info("join of %d bytes paced by %.2f s: sid=%s", size, wait, conn.sid)
            self.runtime.sleep(wait)

    def _check_reading(self, conn: Connection) -> None:
        """A join sends the whole note: first drop a connection that does not read what it was sent."""
        server = self.socketio.server  # type: ignore[union-attr]
        sock = server.eio.sockets.get(server.manager.eio_sid_from_sid(conn.sid, self.namespace))
        why = watchdogs.overloaded(sock, self.settings.max_queued_packets, self.settings.max_queued_bytes)
        if why is not None:
            watchdogs.drop_slow(sock, conn.sid, why, self.metrics)
            raise RateLimited("you are not reading what the server sends; reconnect and read")

    def _watch_link(self, conn: Connection, note: str) -> None:
        """A role that a share link grants ends when the link expires (see :func:`watchdogs.expire_links`)."""
        expiry = self.access.link_expiry(conn, note)
        if expiry is None:
            return
        conn.expires = expiry if conn.expires is None else min(conn.expires, expiry)
        if self._link_watch is None:
            self._link_watch = self.runtime.spawn(watchdogs.expire_links, self.conns, self.runtime, self.link_expired)

    def link_expired(self, conn: Connection) -> None:
        """The share link that gave ``conn`` its role expired: ``error``, then the connection is dropped."""
        log.info("share link expired: dropping sid=%s", conn.sid)
        conn.expires = None
        self.kick(conn.sid, Forbidden("your share link expired; ask for a new one and open the note again"), "expired")

    def _splices(self) -> bool:
        """Whether packets are encoded by collab's JSON module, which splices stored JSON (``orjson.Fragment``).

        A host's own SocketIO may encode with another module; its joins get decoded items.
        """
        return encodes_with_collab_json(self.socketio.server) and _json.splices  # type: ignore[union-attr]

    def _leave(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note = protocol.target_note(data, "leave")
        handlers.role_in(conn, note)
        self._announce_leave(note, conn)
        return protocol.ok()

    def _op_handler(self, kind: ops.OpKind) -> Callable[[Connection, Any, Any], dict[str, Any] | DeferredAck]:
        """The handler of one op event (``stroke``, ``remove``, ``clear``, ``update``, ``move``, ``restore``)."""
        request_of = handlers.op_request
        settings = self.settings

        def handle(conn: Connection, data: Any, mine: Any) -> dict[str, Any] | DeferredAck:
            return self._commit(conn, request_of(conn, kind, data, settings, time.monotonic()), mine)

        return handle

    def _cursor(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note, relay = handlers.cursor(conn, data, time.monotonic())
        self.emit("cursor", relay, room=room_of(note), skip_sid=conn.sid)
        return protocol.ok()

    def _draft(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        note, relay = handlers.draft(conn, data, self.settings, time.monotonic())
        self.emit("draft", relay, room=room_of(note), skip_sid=conn.sid)
        return protocol.ok()

    def _profile(self, conn: Connection, data: Any, mine: Any) -> dict[str, Any]:
        """``profile``: a new name or colour, announced to every note the connection joined."""
        peer = handlers.profile(conn, data, time.monotonic())
        for note in list(conn.notes):
            self._announce(note, self.presence.update(note, peer))
        return protocol.ok(peer=peer)

    # -- server-initiated -------------------------------------------------------------
    def emit(self, event: str, data: Any = None, room: str | None = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Emit in this namespace (``skip_sid`` supported)."""
        self.socketio.emit(event, data, to=room, namespace=self.namespace, **kwargs)  # type: ignore[union-attr]

    def enter_room(self, sid: str, room: str) -> None:
        self.socketio.server.enter_room(sid, room, namespace=self.namespace)  # type: ignore[union-attr]

    def leave_room(self, sid: str, room: str) -> None:
        self.socketio.server.leave_room(sid, room, namespace=self.namespace)  # type: ignore[union-attr]

    def note_renamed(self, note: str, title: str) -> None:
        """Tell a note's members its new title (event ``renamed``)."""
        self.emit("renamed", {"note": note, "title": title}, room=room_of(note))

    def note_deleted(self, note: str) -> None:
        """Tell a note's members it is gone, and take them out of its room."""
        self.emit("deleted", {"note": note}, room=room_of(note))
        for conn in list(self.conns.values()):
            conn.notes.pop(note, None)
        self.presence.drop(note)
        self.socketio.server.close_room(room_of(note), namespace=self.namespace)  # type: ignore[union-attr]

    def kick(self, sid: str, error: CollabError, reason: str) -> None:
        """Send ``error`` to a connection, then drop it (flooding, revoked access)."""
        if self.metrics is not None:
            self.metrics.kicked.labels(reason).inc()
        self.emit("error", error.to_dict(), room=sid)
        self.socketio.server.disconnect(sid, namespace=self.namespace)  # type: ignore[union-attr]
