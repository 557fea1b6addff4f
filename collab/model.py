"""Plain data passed between the store, the committer and the transport (no I/O)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from .errors import CollabError


def room_of(note: str) -> str:
    """The Socket.IO room of a note. Prefixed: every connection is also in a room named after its
    own sid, and a note id may look like one (joining it must not reach that connection)."""
    return "note:" + note


def iso_utc(ts: float) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2026-11-21T06:22:05.123Z``."""
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class NoteInfo:
    """One note's row: its id, title, last seq, live stroke count and times."""

    id: str
    title: str
    seq: int
    strokes: int
    created: float
    updated: float
    #: The lowest seq still in the op log (ops below it were compacted away).
    log_start: int = 1
    #: Names this incarnation of the id: a note deleted and made again gets another.
    epoch: str = ""

    def as_row(self) -> dict[str, Any]:
        """The note as a ``GET /api/notes`` list row."""
        return {
            "id": self.id,
            "title": self.title,
            "seq": self.seq,
            "strokes": self.strokes,
            "updated": iso_utc(self.updated),
        }

    def as_ref(self) -> dict[str, str]:
        """``{"id", "title", "epoch"}``, as the join ack carries it."""
        return {"id": self.id, "title": self.title, "epoch": self.epoch}


@dataclass(slots=True)
class OpRequest:
    """One op a client asked for, waiting to be assigned a seq and stored."""

    note: str
    #: One of :data:`collab.ops.KINDS`.
    kind: str
    peer: str
    #: The op's arguments as :meth:`collab.ops.OpKind.parse` gave them (no ``note``).
    body: dict[str, Any] = field(default_factory=dict)
    #: Filled in by the committer: the op as it travels, or the error.
    op: dict[str, Any] | None = None
    duplicate: bool = False
    error: CollabError | None = None
    #: Opaque per-request data of the caller (e.g. the sender's sid to skip).
    context: Any = field(default=None, repr=False)
    #: When the request arrived (``time.monotonic()``), for latency metrics.
    received: float = 0.0
    #: Filled in by the store: whether another server process has members of the note, so the
    #: broadcast must cross (True when the store does not track members: see ``Store.track_members``).
    elsewhere: bool = True


@dataclass(frozen=True, slots=True)
class JoinState:
    """What a join reads: the note, and either its strokes or the ops since ``since``."""

    note: NoteInfo
    #: The live items in layer order: a list, or (``encoded``) an ``orjson.Fragment`` of the JSON array.
    strokes: Any
    #: The ops after ``since`` in seq order (each may be an ``orjson.Fragment``).
    ops: list[Any] | None
    reset: bool = False
    #: True when this join created the note.
    created: bool = False
    #: Characters of stored JSON the items or ops take: about the bytes the join's ack will carry.
    size: int = 0


@dataclass(slots=True)
class MemberChange:
    """A record for the store that process ``proc`` now has members in ``note`` (``present``) or none.

    The committer writes it in queue order (see ``Committer.track``) and then
    sets ``done``; ``error`` says it was not written.
    """

    proc: str
    note: str
    present: bool
    done: Any = None
    error: CollabError | None = None
