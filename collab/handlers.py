"""What a client event asks for: payloads turned into op requests and relays (no Socket.IO, no I/O).

Each function takes the :class:`Connection` the event came on, the payload
as it came off the wire and the clock, checks what is cheap first (the note
is joined, the role allows it, the rate allows it) and only then validates
the payload (:mod:`collab.protocol`, :mod:`collab.ops`). It returns what the
namespace must do: an :class:`~collab.model.OpRequest` to commit, a
:class:`JoinPlan` to read, or the fields to relay. Every refusal is a
:class:`~collab.errors.CollabError` with the contract's code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import ops, protocol, roles
from .errors import BadRequest, NotJoined, RateLimited, TooLarge
from .limits import FloodGuard, TokenBucket
from .model import OpRequest
from .presence import Peer
from .settings import RealtimeSettings


@dataclass(eq=False)
class Connection:
    """What the server knows of one connected client."""

    sid: str
    peer: Peer
    ops: TokenBucket
    volatile: TokenBucket
    flood: FloodGuard
    joins: TokenBucket
    #: Bytes of join acks (None: joins are not paced); see NotesNamespace._pace_join.
    join_bytes: TokenBucket | None = None
    ip: str = ""
    identity: Any = None
    token: str | None = None
    #: note id → role (see :mod:`collab.roles`)
    notes: dict[str, str] = field(default_factory=dict)
    #: the event the previous client event sets once later events may start
    tail: Any = None
    #: ops queued for the committer whose ack is not sent yet (see collab.acks.DeferredAck)
    in_flight: int = 0
    #: When a role its share link gave it ends (a Unix time), if one does.
    expires: float | None = None
    #: Whether the connection is still in a note's room (a room may close in another process).
    in_room: Callable[[str], bool] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, sid: str, peer: Peer, settings: RealtimeSettings, now: float, **extra: Any) -> Connection:
        """A new connection with fresh allowances."""
        return cls(
            sid,
            peer,
            ops=TokenBucket(settings.rate_ops, settings.rate_ops_burst, now),
            volatile=TokenBucket(settings.rate_volatile, settings.rate_volatile_burst, now),
            flood=FloodGuard(settings.flood_limit, settings.flood_window),
            joins=TokenBucket(settings.rate_joins, settings.rate_joins_burst, now),
            join_bytes=(
                TokenBucket(settings.rate_join_bytes, settings.rate_join_bytes_burst, now)
                if settings.rate_join_bytes > 0
                else None
            ),
            **extra,
        )


@dataclass(frozen=True, slots=True)
class JoinPlan:
    """What a ``join`` asks the store for."""

    note: str
    since: int | None
    epoch: str | None
    #: The title to create the note with when it is missing, or ``None``: never create.
    create: str | None


def _payload(data: Any, event: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest(f"{event}: the payload must be a JSON object")
    return data


def role_in(conn: Connection, note: str) -> str:
    """The connection's role in a note it joined, else :class:`~collab.errors.NotJoined`."""
    role = conn.notes.get(note)
    if role is not None and conn.in_room is not None and not conn.in_room(note):
        conn.notes.pop(note, None)  # the room was closed, possibly by another process (the note was deleted)
        role = None
    if role is None:
        raise NotJoined(f"join note {note!r} before sending events to it")
    return role


def op_request(conn: Connection, kind: ops.OpKind, data: Any, settings: RealtimeSettings, now: float) -> OpRequest:
    """An op event (``stroke``, ``remove``, ``clear``, ``update``, ``move``, ``restore``) → the request to commit."""
    note = protocol.note_id(_payload(data, kind.name).get("note"))
    roles.require_edit(role_in(conn, note), note)
    if not conn.ops.take(now):
        raise RateLimited(f"more than {conn.ops.rate:g} ops/s (bursts of {conn.ops.burst:g}); wait a moment and retry")
    body = kind.parse(data, settings.limits)
    return OpRequest(note, kind.name, conn.sid, body=body, context=conn.sid, received=now)


def join_plan(conn: Connection, data: Any, role: str | None, settings: RealtimeSettings) -> JoinPlan:
    """A ``join`` → what to read; ``role`` is what the access hooks granted in that note."""
    note, since, epoch = protocol.join(data)
    roles.require_view(role, note)
    if note not in conn.notes and len(conn.notes) >= settings.max_notes_joined:
        raise TooLarge(f"a connection may join at most {settings.max_notes_joined} notes; leave one first")
    # Only an editor's join creates a missing note, and never one that names an epoch.
    create = note if settings.auto_create and roles.may_edit(role) and epoch is None else None
    return JoinPlan(note, since, epoch, create)


def _volatile(conn: Connection, now: float) -> None:
    if not conn.volatile.take(now):
        raise RateLimited(f"cursor/draft faster than {conn.volatile.rate:g}/s; dropped")


def cursor(conn: Connection, data: Any, now: float) -> tuple[str, dict[str, Any]]:
    """A ``cursor`` → (note, the event to relay to the others)."""
    note = protocol.note_id(_payload(data, "cursor").get("note"))
    role_in(conn, note)
    _volatile(conn, now)
    _, fields = protocol.cursor(data)
    return note, {"note": note, "peer": conn.sid, **fields}


def draft(conn: Connection, data: Any, settings: RealtimeSettings, now: float) -> tuple[str, dict[str, Any]]:
    """A ``draft`` (an unfinished item) → (note, the event to relay); validated only once allowed."""
    note = protocol.note_id(_payload(data, "draft").get("note"))
    role = role_in(conn, note)
    if not roles.may_edit(role):
        raise roles.Forbidden(f"you may view note {note!r} but not draw in it")
    _volatile(conn, now)
    item = protocol.stroke(data, settings.limits.max_points, event="draft", images=settings.limits.images)
    return note, {"note": note, "peer": conn.sid, **item}


def profile(conn: Connection, data: Any, now: float) -> Peer:
    """A ``profile`` → the connection's peer as it now appears (``conn.peer`` is updated)."""
    _volatile(conn, now)
    name, color = protocol.profile(data)
    peer: Peer = {"peer": conn.sid, "name": name or conn.peer["name"], "color": color or conn.peer["color"]}
    conn.peer = peer
    return peer
