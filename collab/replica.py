"""The client's copy of one note, as a pure state machine (no sockets, no threads).

:class:`NoteReplica` follows the contract's rules for a client:

- ops are applied in ``seq`` order; a seq already applied is ignored; ops that
  arrive early wait in a buffer; a gap that does not fill within ``gap_grace``
  seconds asks for a re-join with ``since`` = the last applied seq
  (:meth:`NoteReplica.check` returns a :class:`NeedRejoin`);
- a join ack replaces the state (``strokes``) or extends it (``ops``); ops that
  arrived before the ack are kept only above the ack's ``seq``;
- this client's own ops wait in an *outbox* until acknowledged. After a
  reconnect they are re-sent with the same stroke ids (the server answers a
  stroke id it already has with the original seq), except those the re-join
  shows were applied already.

The transport layer (:mod:`collab.client`) feeds it what arrives, asks it what
to send, and turns the returned effects into callbacks. Every method takes
``now`` (a monotonic time in seconds) instead of reading a clock, so tests can
drive it step by step.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import ops

#: Error codes after which an op is tried again (after a pause) instead of failing.
RETRYABLE = frozenset({"rate_limited", "internal", "not_joined"})


# -- effects: what happened, for the transport layer to act on ------------------------
@dataclass(frozen=True)
class OpApplied:
    """An op entered the state, in seq order. ``own``: this client sent it.

    ``undo``: for an own op, the events that undo it (see :func:`collab.ops.inverse`),
    computed against the state just before it.
    """

    op: dict[str, Any]
    own: bool
    undo: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class StateReset:
    """The state was replaced wholesale (a full join, or ``reset: true``)."""

    seq: int
    strokes: list[dict[str, Any]]


@dataclass(frozen=True)
class OpDone:
    """One of this client's ops was acknowledged (``seq`` may be unknown after a reset)."""

    key: int
    seq: int | None
    duplicate: bool = False


@dataclass(frozen=True)
class OpFailed:
    """One of this client's ops was refused for good."""

    key: int
    code: str
    message: str


@dataclass(frozen=True)
class NeedRejoin:
    """Ops are missing: send ``join`` with ``since`` (the last seq applied)."""

    since: int


Effect = OpApplied | StateReset | OpDone | OpFailed | NeedRejoin


@dataclass
class Outgoing:
    """One op of this client on its way to the server."""

    key: int
    kind: str  # one of collab.ops.KINDS
    payload: dict[str, Any]  # the event payload without "note"
    size: int = 0  # rough encoded size in bytes, for the send window
    state: str = "queued"  # queued → sent → done | failed
    attempts: int = 0
    sent_as: set[str] = field(default_factory=set)  # peer ids it was sent under
    not_before: float = 0.0
    seq: int | None = None
    error: tuple[str, str] | None = None

    @property
    def stroke_id(self) -> str | None:
        """The stroke id a ``stroke`` or ``remove`` names."""
        value = self.payload.get("id")
        return value if isinstance(value, str) else None


class NoteReplica:
    """The state of one note as this client knows it, plus its unacknowledged ops."""

    def __init__(self, note: str, *, since: int | None = None, gap_grace: float = 1.0) -> None:
        self.note = note
        #: The last seq applied (0 before the first join).
        self.seq = since or 0
        #: True once a join ack gave this replica a base to extend with ``since``.
        self.has_base = since is not None
        self.title: str | None = None
        self.peer: str | None = None
        self.peers: list[dict[str, Any]] = []
        self.role: str | None = None
        self.gap_grace = gap_grace
        #: the items, live and removed, as the ops applied so far left them.
        self._state = ops.NoteState()
        #: seq → op received above the next expected seq.
        self._buffer: dict[int, dict[str, Any]] = {}
        self._gap_since: float | None = None
        self._join_pending = False
        self._my_peers: set[str] = set()
        self._outbox: dict[int, Outgoing] = {}
        self._keys = itertools.count(1)

    # -- reading ----------------------------------------------------------------------
    @property
    def strokes(self) -> list[dict[str, Any]]:
        """The live items (added and not removed, or restored since), in layer order."""
        return self._state.listing()

    def stroke(self, stroke_id: str) -> dict[str, Any] | None:
        """The live item with this id, or ``None``."""
        return self._state.items.get(stroke_id)

    def removed(self, item_id: str) -> dict[str, Any] | None:
        """An item removed or cleared (as it was then) that this replica saw, or ``None``."""
        return self._state.removed.get(item_id)

    @property
    def pending(self) -> list[dict[str, Any]]:
        """This client's strokes not yet in the state (unacknowledged, or acknowledged ahead of a gap)."""
        out = []
        removing = {o.stroke_id for o in self._outbox.values() if o.kind == "remove" and o.state != "failed"}
        for o in self._outbox.values():
            if o.kind != "stroke" or o.state == "failed" or self._state.knows(o.payload["id"]):
                continue
            if o.seq is not None and o.seq <= self.seq:
                continue
            if o.payload["id"] in removing:
                continue
            out.append(dict(o.payload, seq=o.seq, peer=self.peer))
        return out

    @property
    def joined(self) -> bool:
        """A join ack arrived on the current connection."""
        return self.has_base and self.peer is not None and not self._join_pending

    @property
    def gap(self) -> bool:
        """Ops above the next expected seq are waiting for the ones before them."""
        return bool(self._buffer)

    def unfinished(self) -> list[Outgoing]:
        """This client's ops not yet acknowledged, or acknowledged but not yet applied."""
        return [o for o in self._outbox.values() if o.state in ("queued", "sent")]

    @property
    def synced(self) -> bool:
        """Joined, no gap, and every op this client sent is acknowledged and applied."""
        return self.joined and not self._buffer and not self._outbox

    def outgoing(self, key: int) -> Outgoing | None:
        """The outbox entry ``key`` (``None`` once it is done and applied, or failed and reported)."""
        return self._outbox.get(key)

    # -- connection lifecycle ---------------------------------------------------------
    def join_request(self, fresh: bool = True) -> dict[str, Any]:
        """The ``join`` payload to send now: ``since`` once the replica has a base.

        ``fresh``: the first join of a new connection (nothing of this client
        is sent before its ack). Otherwise a re-join on a live connection, to
        fill a gap or to probe the link, which holds nothing up.
        """
        if fresh:
            self._join_pending = True
        payload: dict[str, Any] = {"note": self.note}
        if self.has_base:
            payload["since"] = self.seq
        return payload

    def disconnected(self) -> None:
        """The connection is gone: ops sent on it will be sent again after the next join."""
        self.peer = None
        self._join_pending = False
        for o in self._outbox.values():
            if o.state == "sent":
                o.state = "queued"
                o.not_before = 0.0

    def join_failed(self) -> None:
        """The join was refused or timed out (the caller decides what to do)."""
        self._join_pending = False

    def apply_join_ack(self, ack: dict[str, Any], now: float, since: int | None = None) -> list[Effect]:
        """Apply a successful join ack (``{"ok": true, "seq", "peer", "strokes" | "ops", ...}``).

        ``since``: the ``since`` the join was sent with (from :meth:`join_request`).
        """
        self._join_pending = False
        since_sent = since
        note = ack.get("note")
        if isinstance(note, dict) and isinstance(note.get("title"), str):
            self.title = note["title"]
        peer = ack.get("peer")
        if isinstance(peer, str):
            self.peer = peer
            self._my_peers.add(peer)
        if isinstance(ack.get("peers"), list):
            self.peers = ack["peers"]
        if isinstance(ack.get("role"), str):
            self.role = ack["role"]
        seq = int(ack.get("seq", 0))
        effects: list[Effect] = []
        if "strokes" in ack:
            strokes = [s for s in ack["strokes"] if isinstance(s, dict) and "id" in s]
            went_back = since_sent is not None and seq < since_sent
            if not self.has_base or went_back or seq >= self.seq:
                if went_back:
                    self._buffer.clear()
                self._state = ops.NoteState({s["id"]: s for s in strokes}, seq=seq)
                self.seq = seq
                self.has_base = True
                self._buffer = {k: v for k, v in self._buffer.items() if k > seq}
                effects.append(StateReset(seq, self.strokes))
                effects.extend(self._reconcile_reset())
            # else: the replica already moved past this (older) state; keep it.
        else:
            self.has_base = True
            for op in ack.get("ops") or []:
                if isinstance(op, dict) and isinstance(op.get("seq"), int):
                    effects.extend(self._receive(op, now))
        effects.extend(self._drain(now))
        return effects

    # -- ops from the server ------------------------------------------------------------
    def apply_op(self, op: dict[str, Any], now: float) -> list[Effect]:
        """An op broadcast by the server (``stroke``/``remove``/``clear`` event payload)."""
        if not isinstance(op.get("seq"), int) or op.get("type") not in ops.KINDS:
            return []
        return self._receive(op, now)

    def _receive(self, op: dict[str, Any], now: float) -> list[Effect]:
        seq = op["seq"]
        if self.has_base and seq <= self.seq:
            return []  # applied already
        self._buffer.setdefault(seq, op)
        if self._join_pending and not self.has_base:
            return []  # wait for the join ack to learn where the state starts
        return self._drain(now)

    def _drain(self, now: float) -> list[Effect]:
        effects: list[Effect] = []
        if not self.has_base:
            return effects
        for stale in [k for k in self._buffer if k <= self.seq]:
            del self._buffer[stale]
        while self.seq + 1 in self._buffer:
            op = self._buffer.pop(self.seq + 1)
            effects.extend(self._apply(op))
        self._gap_since = (self._gap_since or now) if self._buffer else None
        self._prune()
        return effects

    def _apply(self, op: dict[str, Any]) -> list[Effect]:
        kind = op["type"]
        self.seq = op["seq"]
        own = op.get("peer") in self._my_peers
        op = self._complete(op)
        effects: list[Effect] = []
        if kind == "stroke":
            for o in self._outbox.values():
                if o.kind == "stroke" and o.payload["id"] == op["id"] and o.state != "done":
                    own = True
                    effects.extend(self._finish(o, op["seq"]))
        elif own and not any(o.state == "done" and o.seq == op["seq"] for o in self._outbox.values()):
            # an own op that no ack claimed yet (a re-join's catch-up showed it landed): its outbox entry is done
            for o in self._outbox.values():
                if o.kind == kind and op.get("peer") in o.sent_as and o.state != "done":
                    if kind == "remove" and o.stroke_id != op.get("id"):
                        continue
                    effects.extend(self._finish(o, op["seq"]))
                    break
        undo = tuple(ops.inverse(op, self._state)) if own else ()
        self._state.apply(op)
        effects.insert(0, OpApplied(dict(op), own, undo))
        return effects

    def _complete(self, op: dict[str, Any]) -> dict[str, Any]:
        """An own restore built from its ack names ids: its items are the removed ones, as they are now."""
        if op["type"] == "restore" and "items" not in op:
            ids = op.pop("ids", [])
            op["items"] = [self._state.removed[i] for i in ids if i in self._state.removed]
        return op

    def _reconcile_reset(self) -> list[Effect]:
        """After a state reset: own strokes now present and removes whose stroke is gone are done."""
        effects: list[Effect] = []
        for o in self._outbox.values():
            if o.state not in ("queued", "sent") or not o.attempts:
                continue
            if o.kind == "stroke" and o.payload["id"] in self._state.items:
                effects.extend(self._finish(o, self._state.items[o.payload["id"]].get("seq")))
            elif o.kind == "remove" and o.stroke_id not in self._state.items and o.state == "queued":
                effects.extend(self._finish(o, None))
        return effects

    def _finish(self, o: Outgoing, seq: int | None, duplicate: bool = False) -> list[Effect]:
        o.state = "done"
        o.seq = seq
        return [OpDone(o.key, seq, duplicate)]

    def _prune(self) -> None:
        for key in [k for k, o in self._outbox.items() if o.state == "done" and (o.seq is None or o.seq <= self.seq)]:
            del self._outbox[key]

    def check(self, now: float) -> list[Effect]:
        """Timers: a gap older than ``gap_grace`` asks for a re-join."""
        if self._buffer and self._gap_since is not None and now - self._gap_since >= self.gap_grace:
            if self._join_pending:
                return []
            self._gap_since = now  # ask again only after another grace period
            return [NeedRejoin(self.seq)]
        return []

    # -- this client's ops ----------------------------------------------------------------
    def submit(self, kind: str, payload: dict[str, Any], size: int = 0) -> int:
        """Queue an op (``payload`` without ``note``); returns its key."""
        key = next(self._keys)
        self._outbox[key] = Outgoing(key, kind, dict(payload), size=size)
        return key

    def sendable(self, now: float, max_ops: int, max_bytes: int, max_new: int | None = None) -> list[Outgoing]:
        """Queued ops to send now, in order, within a window of unacknowledged ops/bytes.

        At most ``max_new`` are returned (a rate limit). They are marked sent
        under the current peer id. Nothing is sent before the join ack of the
        current connection.
        """
        if not self.joined or self.peer is None:
            return []
        in_flight = [o for o in self._outbox.values() if o.state == "sent"]
        n, size = len(in_flight), sum(o.size for o in in_flight)
        out: list[Outgoing] = []
        for o in self._outbox.values():
            if o.state != "queued":
                continue
            if o.not_before > now:
                break  # keep the order: later ops wait behind one that backs off
            if n >= max_ops or (n and size + o.size > max_bytes) or (max_new is not None and len(out) >= max_new):
                break
            o.state = "sent"
            o.attempts += 1
            o.sent_as.add(self.peer)
            n += 1
            size += o.size
            out.append(o)
        return out

    def apply_ack(self, key: int, ack: Any, now: float) -> list[Effect]:
        """The server's answer to an op of this client."""
        o = self._outbox.get(key)
        if o is None or o.state != "sent":
            return []
        if not isinstance(ack, dict):
            ack = {"ok": False, "error": {"code": "internal", "message": f"malformed ack {ack!r:.80}"}}
        if ack.get("ok"):
            seq = ack.get("seq")
            effects = self._finish(o, seq if isinstance(seq, int) else None, bool(ack.get("duplicate")))
            if isinstance(seq, int):
                op: dict[str, Any] = {"type": o.kind, "seq": seq, "peer": self.peer, **o.payload}
                if o.kind in ("move", "restore") and isinstance(ack.get("ids"), list):
                    op["ids"] = ack["ids"]  # the ids the server held (a restore's items are filled in when applied)
                if o.kind == "restore" and not all(self._state.knows(i) for i in op["ids"]):
                    # removed before this replica's base: only the log has their content
                    effects.append(NeedRejoin(self.seq))
                elif not ack.get("duplicate"):
                    effects.extend(self._receive(op, now))
                elif o.kind == "stroke":
                    # The server had this id from an earlier attempt: the op is in
                    # the log at `seq`; it reaches the state through the op stream.
                    op["peer"] = next(iter(o.sent_as))
                    effects.extend(self._receive(op, now))
            self._prune()
            return effects
        err = ack.get("error") if isinstance(ack.get("error"), dict) else {}
        code = str(err.get("code", "internal"))
        message = str(err.get("message", "the server refused the op"))
        if code == "not_found" and o.kind in ("remove", "restore") and o.attempts > 1:
            return self._finish(o, None)  # an earlier attempt (or someone else) removed it
        if code in RETRYABLE:
            o.state = "queued"
            o.not_before = now + min(5.0, 0.2 * 2 ** min(o.attempts, 5))
            return [NeedRejoin(self.seq)] if code == "not_joined" else []
        o.state = "failed"
        o.error = (code, message)
        del self._outbox[key]
        return [OpFailed(key, code, message)]

    def fail_all(self, code: str, message: str) -> list[Effect]:
        """Give up every unfinished op (the note was deleted, the client closed)."""
        effects: list[Effect] = []
        for key, o in list(self._outbox.items()):
            if o.state in ("queued", "sent"):
                del self._outbox[key]
                effects.append(OpFailed(key, code, message))
        return effects

    def forget(self) -> None:
        """The note is gone: empty the state."""
        self._state = ops.NoteState()
        self._buffer.clear()
        self._gap_since = None


def strokes_equal(a: Iterable[dict[str, Any]], b: Iterable[dict[str, Any]]) -> bool:
    """True when two stroke lists hold the same strokes in the same order (ignoring extra fields)."""
    keys = ("id", "seq", "color", "width", "points", "tool")

    def norm(s: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(s.get(k) for k in keys)

    return [norm(s) for s in a] == [norm(s) for s in b]
