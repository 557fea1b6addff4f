"""A Python client for collab notes, built on the python-socketio client.

::

    from collab.client import NoteClient

    with NoteClient("http://127.0.0.1:5000", "my-note", name="plotter") as note:
        sid = note.draw([(0, 0), (10, 20)], color="#e03131", width=3)
        box = note.rect(0, 0, 40, 30, fill="#ffec99")
        note.move([sid, box], 10, 0)
        note.undo()                      # the move, undone
        note.on_stroke(lambda op: print("someone drew", op["id"]))
        note.wait_synced(timeout=10)
        print(len(note.strokes), "items at seq", note.seq)

How it stays reliable (``docs/client.md`` says more):

- The note's state is a replica kept by :class:`collab.replica.NoteReplica`:
  ops are applied in ``seq`` order, duplicates are ignored, gaps are filled
  by re-joining with ``since``.
- :meth:`NoteClient.draw` (and every other op: :meth:`~NoteClient.add`,
  :meth:`~NoteClient.update`, :meth:`~NoteClient.move`, ...) never loses an
  op: it is queued; the client sends it when joined and re-sends it after a
  reconnect until the server acknowledges it, unless the re-join shows it was
  applied already (so a move is never applied twice).
- :meth:`NoteClient.undo` / :meth:`NoteClient.redo` undo this client's own
  ops with the inverse the replica computed against the state just before
  each one; an inverse that no longer applies is skipped.
- Re-joins carry the note's ``epoch``: a note deleted meanwhile is reported
  (``deleted``), never created again.
- One background thread (the *engine*) owns the Socket.IO connection. It does
  not trust python-engineio to notice a dead link: when nothing has arrived
  for ``liveness`` seconds while an answer is awaited, or an idle link does
  not answer a probe (a re-join with ``since``), it drops the connection and
  connects again (a fresh ``socketio.Client`` each time, rotating over the
  URLs given, with backoff).
- Callbacks run on a separate dispatcher thread, in order, never while the
  client's lock is held; every public method may be called from any thread.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
import queue
import random
import secrets
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import socketio
from engineio.payload import Payload

from . import ops, protocol
from ._sioclient import Client as _SioClient
from .errors import BadRequest, CollabError, InternalError, NotFound, error_for_code
from .replica import Effect, NeedRejoin, NoteReplica, OpApplied, OpDone, OpFailed, StateReset

__all__ = ["AsyncNoteClient", "ConnectionFailed", "NoteClient", "Tool"]

log = logging.getLogger("collab.client")

#: Seconds one connection attempt may take before it is abandoned.
CONNECT_TIMEOUT = 12.0
#: Seconds a closing client waits for the server to have been told it leaves.
GOODBYE_TIMEOUT = 2.0
#: Connect-time refusals that trying again will not fix.
_PERMANENT = frozenset({"bad_request", "forbidden", "not_found", "too_large"})
#: How many of its own ops a client can undo, at most (the oldest are forgotten first).
UNDO_LIMIT = 1000
#: Events a callback may be registered for with :meth:`NoteClient.on`.
EVENTS = (
    "op",
    "stroke",
    "remove",
    "clear",
    "update",
    "move",
    "restore",
    "reset",
    "joined",
    "change",
    "presence",
    "cursor",
    "draft",
    "renamed",
    "deleted",
    "status",
    "error",
)

Callback = Callable[..., Any]
Point = Sequence[float]
#: The tools a client may add (``image`` needs an uploaded file: not offered here).
Tool = Literal["pen", "highlighter", "line", "arrow", "rect", "ellipse", "text"]
#: The colour of a sticky note unless told otherwise.
STICKY_FILL = "#ffd43b"
Events = list[tuple[str, dict[str, Any]]]


class ConnectionFailed(CollabError):
    """No connection could be made; the message names the URLs and namespace tried."""

    code = "internal"

    def __init__(self, message: str, urls: Sequence[str] = (), namespace: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.urls = list(urls)
        self.namespace = namespace
        #: What the last attempt ran into (a refusal, a timeout, a connection error).
        self.reason = reason or message


def _raise_decode_limit() -> None:
    # The server answers a poll with at most 16 packets, the stock client's own
    # limit; other servers may send more, so accept up to 1024 per payload.
    if Payload.max_decode_packets < 1024:
        Payload.max_decode_packets = 1024


def new_stroke_id() -> str:
    """A fresh random stroke id (16 hex digits)."""
    return secrets.token_hex(8)


def _points(points: Iterable[Point]) -> list[list[float]]:
    return [[p[0], p[1]] for p in points]


def _ids(ids: str | Iterable[str]) -> list[str]:
    return [ids] if isinstance(ids, str) else list(ids)


def _lf(text: str) -> str:
    """Text as the contract wants it: CRLF and lone CR as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fallback_inverse(kind: str, payload: Mapping[str, Any]) -> Events:
    """What undoes an op whose application this client did not see (known from the op alone)."""
    if kind == "stroke":
        return [("remove", {"id": payload["id"]})]
    if kind == "remove":
        return [("restore", {"ids": [payload["id"]]})]
    if kind == "restore":
        return [("remove", {"id": i}) for i in payload["ids"]]
    if kind == "move":
        return [("move", {"ids": list(payload["ids"]), "dx": -payload["dx"], "dy": -payload["dy"]})]
    return []  # clear, update: the state before them is needed


@dataclass
class _Step:
    """One entry of the undo (or redo) stack: the events that undo (redo) it."""

    number: int
    events: Events


@dataclass
class _Request:
    """An undo() or redo() call, answered once the op it sent is applied (or nothing was left)."""

    number: int
    kind: str  # "undo" | "redo"
    waited: bool
    done: bool = False
    seq: int | None = None
    error: CollabError | None = None
    active: _Group | None = None


@dataclass
class _Group:
    """The outbox entries of one user op, or of one undo or redo (several restores undo a big clear)."""

    number: int
    purpose: str  # "do" | "undo" | "redo"
    request: _Request | None = None
    open: set[int] = field(default_factory=set)
    parts: list[tuple[int, Events]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


class _History:
    """The undo and redo stacks of one client's own ops, fed the replica's effects.

    Every user op and every undo/redo request gets a number from one counter,
    in call order. An op's step enters the undo stack once it is applied
    (with the ``undo`` of its :class:`OpApplied`); a request runs once every
    op numbered before it is settled, and undoes the newest step numbered
    before it. Its ops' own inverses become the redo step (and a redo's the
    undo step). When every op of an undo is refused ``not_found`` (someone
    else removed the item since) the step is skipped and the next one tried.
    Pure bookkeeping under the client's lock: no I/O.
    """

    def __init__(self, submit: Callable[[str, dict[str, Any]], int], limit: int = UNDO_LIMIT) -> None:
        self._submit = submit
        self.limit = limit
        self.undo_steps: list[_Step] = []
        self.redo_steps: list[_Step] = []
        self._groups: dict[int, _Group] = {}  # unsettled, by number
        self._keys: dict[int, tuple[_Group, str, dict[str, Any]]] = {}
        self._done_first: dict[int, int] = {}  # seq -> key: acknowledged, not yet applied (a gap)
        self._applied: dict[int, Events] = {}  # seq -> undo of an own op applied in this batch
        self._requests: deque[_Request] = deque()
        self._numbers = itertools.count(1)
        self._last_do = 0

    @property
    def busy(self) -> bool:
        """Own ops not yet settled, or undo/redo calls not yet answered."""
        return bool(self._groups or self._requests)

    @property
    def asked(self) -> bool:
        """Undo/redo calls not yet answered."""
        return bool(self._requests)

    def track(self, key: int, kind: str, payload: dict[str, Any]) -> None:
        """A user op was queued as outbox entry ``key``."""
        group = _Group(next(self._numbers), "do")
        self._groups[group.number] = group
        group.open.add(key)
        self._keys[key] = (group, kind, payload)

    def quiet(self, key: int) -> bool:
        """Whether ``key`` belongs to an undo or redo (its refusal is the request's, not an error of its own)."""
        entry = self._keys.get(key)
        return entry is not None and entry[0].purpose != "do"

    def request(self, kind: str, waited: bool) -> _Request:
        req = _Request(next(self._numbers), kind, waited)
        self._requests.append(req)
        return req

    def feed(self, effects: Iterable[Effect], seq: int) -> list[CollabError]:
        """Take the effects of one replica call (``seq``: the replica's seq after it); returns errors to report."""
        for e in effects:
            if isinstance(e, OpApplied):
                if not e.own:
                    continue
                s = e.op["seq"]
                key = self._done_first.pop(s, None)
                if key is not None:
                    self._settle(key, s, list(e.undo))
                else:
                    self._applied[s] = list(e.undo)
            elif isinstance(e, OpDone):
                if e.key not in self._keys:
                    continue
                if e.seq is None:
                    self._settle(e.key, None, None)
                elif e.seq in self._applied:
                    self._settle(e.key, e.seq, self._applied.pop(e.seq))
                else:
                    self._done_first[e.seq] = e.key
            elif isinstance(e, OpFailed) and e.key in self._keys:
                group = self._keys.pop(e.key)[0]
                group.open.discard(e.key)
                group.errors.append((e.code, e.message))
                if not group.open:
                    self._close(group)
        # acknowledged but applied without an OpApplied (the state was reset over it)
        for s in [s for s in self._done_first if s <= seq]:
            self._settle(self._done_first.pop(s), s, None)
        self._applied.clear()
        return self.advance()

    def _settle(self, key: int, seq: int | None, undo: Events | None) -> None:
        group, kind, payload = self._keys.pop(key)
        group.open.discard(key)
        group.parts.append((seq or 0, undo if undo is not None else _fallback_inverse(kind, payload)))
        if not group.open:
            self._close(group)

    def _push(self, stack: list[_Step], step: _Step) -> None:
        i = len(stack)
        while i and stack[i - 1].number > step.number:
            i -= 1
        stack.insert(i, step)
        del stack[: max(0, len(stack) - self.limit)]

    def _close(self, group: _Group) -> None:
        del self._groups[group.number]
        parts = sorted(group.parts, key=lambda p: p[0], reverse=True)  # undo the last part first
        events = [ev for _, inverse in parts for ev in inverse]
        if group.purpose == "do":
            if parts:
                self._last_do = max(self._last_do, group.number)
                self.redo_steps = [s for s in self.redo_steps if s.number > group.number]
                if events:
                    self._push(self.undo_steps, _Step(group.number, events))
            return
        req = group.request
        assert req is not None
        req.active = None
        if parts:
            if group.purpose == "redo":
                self._push(self.undo_steps, _Step(group.number, events))
            elif group.number > self._last_do:  # an op done after the undo call cleared the redo stack
                self._push(self.redo_steps, _Step(group.number, events))
            req.done, req.seq = True, min((s for s, _ in parts if s), default=None)
        elif any(code != "not_found" for code, _ in group.errors):
            code, message = next((c, m) for c, m in group.errors if c != "not_found")
            req.done, req.error = True, error_for_code(code, f"{req.kind}: {message}")
        # else every op was refused not_found: the step no longer applies; advance() tries the next

    def advance(self) -> list[CollabError]:
        """Run the first waiting request if everything before it is settled; returns errors nobody waits for."""
        errors: list[CollabError] = []
        while self._requests:
            req = self._requests[0]
            if req.done:
                self._requests.popleft()
                if req.error is not None and not req.waited:
                    errors.append(req.error)
                continue
            if req.active is not None or any(n < req.number for n in self._groups):
                break
            stack = self.undo_steps if req.kind == "undo" else self.redo_steps
            i = len(stack)
            while i and stack[i - 1].number > req.number:
                i -= 1
            if not i:
                req.done = True  # nothing (left) to undo or redo
                continue
            step = stack.pop(i - 1)
            group = _Group(req.number, req.kind, request=req)
            self._groups[group.number] = group
            req.active = group
            for event, payload in step.events:
                key = self._submit(event, payload)
                group.open.add(key)
                self._keys[key] = (group, event, payload)
        return errors

    def abort(self, err: CollabError) -> None:
        """The client stopped for good: every request fails with ``err``."""
        for req in self._requests:
            if not req.done:
                req.done, req.error = True, err
        self._requests.clear()
        self._groups.clear()
        self._keys.clear()


def with_note(url: str, note: str) -> str:
    """``url`` with ``note=<note>`` added to its query: the routing hint a note-affine proxy reads.

    Engine.IO keeps a connection URL's query on every request (long-polling and the
    WebSocket upgrade alike), so deploy/nginx.conf's ``hash`` on it sends all of a
    note's members to one process. The server ignores the parameter.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != "note"] + [("note", note)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class NoteClient:
    """A live connection to one note: a local replica plus queued, retried ops.

    :param url: the server's base URL (``http://host:5000``), or a list of
        them: the client rotates over the list when a connection fails.
    :param note: the note id (1-64 of ``[A-Za-z0-9_-]``); joining creates it.
    :param name: display name shown to the other members (connect ``auth``).
    :param color: ``#rrggbb`` colour of this peer's cursor.
    :param token: an access token, if the server wants one.
    :param transports: ``["websocket"]``, ``["polling"]`` or ``None`` for
        polling upgraded to WebSocket.
    :param namespace: the Socket.IO namespace of the server (``/notes``).
    :param since: start from this seq without the earlier state (for
        followers of the op stream such as ``collab watch``); ``strokes``
        then holds only strokes added after it.
    :param epoch: join only this incarnation of the note (a join ack's
        ``note.epoch``): a note that does not exist, or was deleted and made
        again, is reported as deleted instead of being created. Without it
        the first join may create the note; every re-join carries the epoch
        the first join gave.
    :param wait: block until the first join succeeded (raise
        :class:`ConnectionFailed` after ``timeout``); ``False`` returns at
        once and connects in the background (ops queue meanwhile).
    :param timeout: seconds ``wait`` waits for the first join.
    :param reconnect: connect again after a lost connection (default).
    :param liveness: seconds of silence while an answer is awaited after
        which the link is declared dead and replaced.
    :param max_in_flight: unacknowledged ops sent at once (also bounded to
        256 KB) — keeps a long-polling POST small.
    :param max_rate: ops sent per second at most (the server refuses more
        than ``COLLAB_RATE_OPS``, 200/s by default, per connection).
    :param headers: extra HTTP headers for the connection (a host site's
        ``Cookie``, for instance).
    :param undo_limit: how many own ops :meth:`undo` can go back.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        note: str,
        *,
        name: str | None = None,
        color: str | None = None,
        token: str | None = None,
        transports: Sequence[str] | None = None,
        namespace: str = "/notes",
        socketio_path: str = "socket.io",
        since: int | None = None,
        epoch: str | None = None,
        wait: bool = True,
        timeout: float = 10.0,
        reconnect: bool = True,
        liveness: float = 5.0,
        max_in_flight: int = 64,
        max_rate: float = 150.0,
        headers: dict[str, str] | None = None,
        undo_limit: int = UNDO_LIMIT,
    ) -> None:
        protocol.note_id(note)
        if epoch is not None:
            protocol.join({"note": note, "epoch": epoch})
        self.urls: list[str] = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("give at least one server URL, e.g. http://127.0.0.1:5000")
        self.namespace = namespace
        self.transports = list(transports) if transports else None
        self.socketio_path = socketio_path
        self.reconnect = reconnect
        self.liveness = liveness
        self.max_in_flight = max(1, max_in_flight)
        self.max_bytes = 256_000
        self.max_rate = max_rate
        self._allowance = float(self.max_in_flight)
        self._allowance_at = time.monotonic()
        self.headers = dict(headers or {})
        self.auth = {k: v for k, v in (("name", name), ("color", color), ("token", token)) if v is not None}
        _raise_decode_limit()

        self._replica: NoteReplica = NoteReplica(note, since=since)
        self._history = _History(self._submit_inverse, max(0, undo_limit))
        self._epoch = epoch
        self._profiles: dict[int, dict[str, Any]] = {}  # profile calls not yet acknowledged
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._calls: queue.Queue[tuple[str, tuple[Any, ...]] | None] = queue.Queue()
        self._callbacks: dict[str, list[Callback]] = {e: [] for e in EVENTS}
        self._results: dict[int, tuple[int | None, CollabError | None]] = {}
        self._waited: set[int] = set()
        self._errors: list[CollabError] = []
        self._fatal: CollabError | None = None
        self._closed = False
        self._url_index = 0
        self._last_failure = "not tried yet"
        self._ever_joined = False
        self._up = False  # a "connected" status was announced and no "lost" since
        # engine-thread state
        self._sio: socketio.Client | None = None
        self._gen = 0
        self._outstanding: dict[Any, float] = {}
        self._tokens = itertools.count(1)
        self._last_rx = 0.0
        self._cursor: dict[str, Any] | None = None
        self._drafts: dict[str, dict[str, Any]] = {}
        self._last_volatile = 0.0
        self.current_url: str | None = None

        self._dispatcher = threading.Thread(target=self._dispatch, name=f"collab-callbacks-{note}", daemon=True)
        self._dispatcher.start()
        self._engine = threading.Thread(target=self._run, name=f"collab-engine-{note}", daemon=True)
        self._engine.start()
        if wait:
            try:
                self.wait_connected(timeout)
            except BaseException:
                self.close(flush=False)
                raise

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> NoteClient:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(flush=exc_type is None)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self.connected else "connecting"
        return f"<NoteClient note={self.note_id!r} seq={self.seq} {state} url={self.current_url or self.urls[0]!r}>"

    # -- state (snapshots, safe from any thread) --------------------------------------------
    @property
    def note_id(self) -> str:
        """The note's id."""
        return self._replica.note

    @property
    def title(self) -> str | None:
        """The note's title (``None`` before the first join)."""
        with self._lock:
            return self._replica.title

    @property
    def seq(self) -> int:
        """The last seq applied to the replica."""
        with self._lock:
            return self._replica.seq

    @property
    def strokes(self) -> list[dict[str, Any]]:
        """The note's strokes as the server acknowledged them, in seq order (copies)."""
        with self._lock:
            return [dict(s) for s in self._replica.strokes]

    @property
    def pending(self) -> list[dict[str, Any]]:
        """This client's strokes not yet in :attr:`strokes` (queued or awaiting their ack)."""
        with self._lock:
            return self._replica.pending

    @property
    def backlog(self) -> int:
        """How many ops of this client are not yet acknowledged (queued or in flight)."""
        with self._lock:
            return sum(1 for o in self._replica.unfinished() if o.state != "done")

    def stroke(self, stroke_id: str) -> dict[str, Any] | None:
        """One stroke of the state by id, or ``None``."""
        with self._lock:
            s = self._replica.stroke(stroke_id)
            return dict(s) if s is not None else None

    @property
    def items(self) -> list[dict[str, Any]]:
        """The same as :attr:`strokes` (v2 calls every stroke, shape and text an *item*)."""
        return self.strokes

    def item(self, item_id: str) -> dict[str, Any] | None:
        """The same as :meth:`stroke`: one live item by id, or ``None``."""
        return self.stroke(item_id)

    @property
    def epoch(self) -> str | None:
        """The incarnation of the note this client joined (``note.epoch`` of the join ack)."""
        with self._lock:
            return self._epoch

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` has something to undo (an own op, applied or still on its way)."""
        with self._lock:
            return bool(self._history.undo_steps) or self._history.busy

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` has an undone op to do again."""
        with self._lock:
            return bool(self._history.redo_steps)

    @property
    def peer(self) -> str | None:
        """This connection's peer id (changes on every reconnect)."""
        with self._lock:
            return self._replica.peer

    @property
    def peers(self) -> list[dict[str, Any]]:
        """The members of the note: ``[{"peer", "name", "color"}]``."""
        with self._lock:
            return list(self._replica.peers)

    @property
    def role(self) -> str | None:
        """``"edit"`` or ``"view"``, as the server granted on join."""
        with self._lock:
            return self._replica.role

    @property
    def connected(self) -> bool:
        """Connected and joined right now."""
        with self._lock:
            return self._replica.joined and not self._closed

    @property
    def synced(self) -> bool:
        """Joined, no gap, and every op of this client (undo and redo too) acknowledged and applied."""
        with self._lock:
            return self._replica.synced and not self._history.asked

    @property
    def stopped(self) -> CollabError | None:
        """The error that stopped this client for good (note deleted, access refused), or ``None``."""
        with self._lock:
            return self._fatal

    @property
    def transport(self) -> str | None:
        """``"websocket"`` or ``"polling"`` while connected, else ``None``."""
        sio = self._sio
        try:
            return sio.transport() if sio is not None and self.connected else None
        except Exception:  # noqa: BLE001 - a dying client may have no transport
            return None

    # -- callbacks ------------------------------------------------------------------------
    def on(self, event: str, fn: Callback | None = None) -> Any:
        """Register ``fn`` for ``event`` (usable as a decorator); see :data:`EVENTS`.

        ``op`` (every op applied, own ones too), ``stroke``/``remove``/``clear``/
        ``update``/``move``/``restore`` (ops of *other* peers), ``reset`` (state
        replaced: strokes), ``joined`` (a connection's join: ``{"note", "title",
        "epoch", "seq", "peer", "role", "since"}``), ``change`` (no argument:
        ``strokes`` or ``pending`` changed), ``presence`` (peers),
        ``cursor``/``draft`` (the event's payload, with ``laser``/``view`` when
        sent), ``renamed`` (title), ``deleted`` (note id), ``status``
        (connected: bool, detail: str), ``error`` (a :class:`CollabError`
        nobody waited for).
        Callbacks run on one background thread, in order.
        """
        if event not in self._callbacks:
            raise ValueError(f"unknown event {event!r}; one of: {', '.join(EVENTS)}")

        def register(f: Callback) -> Callback:
            with self._lock:
                self._callbacks[event].append(f)
            return f

        return register(fn) if fn is not None else register

    def off(self, event: str, fn: Callback) -> None:
        """Unregister a callback."""
        with self._lock:
            if fn in self._callbacks.get(event, []):
                self._callbacks[event].remove(fn)

    def on_stroke(self, fn: Callback) -> Callback:
        """``fn(op)`` for each stroke another peer adds (op: the stroke with seq and peer)."""
        return self.on("stroke", fn)  # type: ignore[no-any-return]

    def on_remove(self, fn: Callback) -> Callback:
        """``fn(op)`` for each stroke another peer removes (op: ``{"type","seq","id","peer"}``)."""
        return self.on("remove", fn)  # type: ignore[no-any-return]

    def on_clear(self, fn: Callback) -> Callback:
        """``fn(op)`` when another peer clears the note."""
        return self.on("clear", fn)  # type: ignore[no-any-return]

    def on_change(self, fn: Callback) -> Callback:
        """``fn()`` after anything in :attr:`strokes` or :attr:`pending` changed."""
        return self.on("change", fn)  # type: ignore[no-any-return]

    def on_presence(self, fn: Callback) -> Callback:
        """``fn(peers)`` when someone joins or leaves."""
        return self.on("presence", fn)  # type: ignore[no-any-return]

    def on_cursor(self, fn: Callback) -> Callback:
        """``fn({"peer","x","y"})`` for other peers' cursor moves."""
        return self.on("cursor", fn)  # type: ignore[no-any-return]

    def on_status(self, fn: Callback) -> Callback:
        """``fn(connected, detail)`` when the connection comes or goes."""
        return self.on("status", fn)  # type: ignore[no-any-return]

    def on_error(self, fn: Callback) -> Callback:
        """``fn(error)`` when an op that nobody waits for is refused."""
        return self.on("error", fn)  # type: ignore[no-any-return]

    def on_op(self, fn: Callback) -> Callback:
        """``fn(op)`` for every op applied to the replica, this client's too, in seq order."""
        return self.on("op", fn)  # type: ignore[no-any-return]

    def on_update(self, fn: Callback) -> Callback:
        """``fn(op)`` when another peer changes an item (op: ``{"type","seq","peer","id","set"}``)."""
        return self.on("update", fn)  # type: ignore[no-any-return]

    def on_move(self, fn: Callback) -> Callback:
        """``fn(op)`` when another peer moves items (op: ``{"type","seq","peer","ids","dx","dy"}``)."""
        return self.on("move", fn)  # type: ignore[no-any-return]

    def on_restore(self, fn: Callback) -> Callback:
        """``fn(op)`` when another peer restores items (op: ``{"type","seq","peer","items"}``)."""
        return self.on("restore", fn)  # type: ignore[no-any-return]

    def on_reset(self, fn: Callback) -> Callback:
        """``fn(items)`` when the state is replaced wholesale (the first join, or the server's reset)."""
        return self.on("reset", fn)  # type: ignore[no-any-return]

    def on_joined(self, fn: Callback) -> Callback:
        """``fn(info)`` after each connection's join: ``{"note","title","epoch","seq","peer","role","since"}``."""
        return self.on("joined", fn)  # type: ignore[no-any-return]

    def on_draft(self, fn: Callback) -> Callback:
        """``fn(draft)`` for other peers' unfinished items (``{"note","peer","id",...}``)."""
        return self.on("draft", fn)  # type: ignore[no-any-return]

    def on_renamed(self, fn: Callback) -> Callback:
        """``fn(title)`` when the note is renamed."""
        return self.on("renamed", fn)  # type: ignore[no-any-return]

    def on_deleted(self, fn: Callback) -> Callback:
        """``fn(note_id)`` when the note is deleted (also found out on a re-join); the client then stops."""
        return self.on("deleted", fn)  # type: ignore[no-any-return]

    # -- ops ------------------------------------------------------------------------------
    # Every op is checked here as the server would check it (BadRequest, TooLarge),
    # then queued in the replica's outbox: sent when joined, re-sent after a
    # reconnect unless the re-join shows it applied. Adding returns the item's id
    # at once (``wait=True`` blocks for the ack); the other ops wait by default
    # and return the op's seq.
    def draw(
        self,
        points: Iterable[Point],
        color: str = "#000000",
        width: float = 2.0,
        tool: str = "pen",
        *,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add a stroke; returns its id at once (the stroke is queued and sent when possible).

        Checked here as the server would check it (:class:`~collab.errors.BadRequest`,
        :class:`~collab.errors.TooLarge`). With ``wait=True`` it blocks until
        the server acknowledged it and raises the server's refusal; otherwise
        a refusal is raised by the next :meth:`wait_synced` and passed to
        ``error`` callbacks.
        """
        stroke = {
            "id": id or new_stroke_id(),
            "color": color,
            "width": width,
            "points": _points(points),
            "tool": tool,
        }
        return self._add(dict(protocol.stroke(stroke)), wait, timeout)

    def add(
        self,
        tool: Tool,
        points: Iterable[Point],
        *,
        color: str = "#000000",
        width: float | None = 2.0,
        fill: str | None = None,
        text: str | None = None,
        size: float | None = None,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add an item of any tool but ``image``; returns its id at once (see :meth:`draw`).

        ``points`` by tool: ``pen``/``highlighter`` 1-5000 (the path),
        ``line``/``arrow`` 2-5000 (straight segments, an arrow head at the
        last), ``rect``/``ellipse`` exactly 2 (opposite corners of the box),
        ``text`` exactly 1 (its top-left corner). ``fill`` is for ``rect``,
        ``ellipse`` and ``text`` (a text with a fill is a sticky note);
        ``text`` and ``size`` (4-400, default 20) for ``text``, whose
        ``width`` is ignored. A field the tool does not use is
        :class:`~collab.errors.BadRequest`.
        """
        item: dict[str, Any] = {"id": id or new_stroke_id(), "tool": tool, "color": color, "points": _points(points)}
        for key, value in (("width", width), ("fill", fill), ("text", text), ("size", size)):
            if value is not None:
                item[key] = _lf(value) if key == "text" and isinstance(value, str) else value
        return self._add(dict(protocol.stroke(item)), wait, timeout)

    def line(
        self,
        points: Iterable[Point],
        *,
        color: str = "#000000",
        width: float = 2.0,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add a polyline of straight segments through ``points`` (2 or more); returns its id."""
        return self.add("line", points, color=color, width=width, id=id, wait=wait, timeout=timeout)

    def arrow(
        self,
        points: Iterable[Point],
        *,
        color: str = "#000000",
        width: float = 2.0,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add a polyline with an arrow head at its last point; returns its id."""
        return self.add("arrow", points, color=color, width=width, id=id, wait=wait, timeout=timeout)

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        *,
        color: str = "#000000",
        width: float = 2.0,
        fill: str | None = None,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add a rectangle with opposite corners (x0, y0) and (x1, y1), filled with ``fill`` if given."""
        return self.add(
            "rect", [(x0, y0), (x1, y1)], color=color, width=width, fill=fill, id=id, wait=wait, timeout=timeout
        )

    def ellipse(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        *,
        color: str = "#000000",
        width: float = 2.0,
        fill: str | None = None,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add the ellipse inscribed in the box with opposite corners (x0, y0) and (x1, y1)."""
        return self.add(
            "ellipse", [(x0, y0), (x1, y1)], color=color, width=width, fill=fill, id=id, wait=wait, timeout=timeout
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 20,
        *,
        color: str = "#000000",
        fill: str | None = None,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add a text whose top-left corner is (x, y); newlines make lines (CRLF is sent as LF)."""
        return self.add(
            "text", [(x, y)], color=color, width=None, fill=fill, text=text, size=size, id=id, wait=wait,
            timeout=timeout,
        )  # fmt: skip

    def sticky(
        self,
        x: float,
        y: float,
        text: str,
        fill: str = STICKY_FILL,
        *,
        size: float = 20,
        color: str = "#000000",
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Add a sticky note: a text on a ``fill`` background (yellow by default)."""
        return self.text(x, y, text, size, color=color, fill=fill, id=id, wait=wait, timeout=timeout)

    def add_image(
        self,
        image: str | bytes | os.PathLike[str],
        box: tuple[float, float, float, float] | None = None,
        *,
        id: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Upload a PNG, JPEG, WebP or GIF (a path or its bytes) to the note and place it; returns the item id.

        ``box`` is ``(x0, y0, x1, y1)``; by default the picture's natural size
        with its top-left corner at (0, 0). The upload is over HTTP (with this
        client's token and headers) and happens now; the item then travels as
        any op (queued while offline). Uploading the same bytes twice stores
        one file.
        """
        from . import files

        data = image if isinstance(image, bytes) else open(image, "rb").read()  # noqa: SIM115 - read whole
        kind = files.sniff(data)
        if kind is None:
            raise BadRequest("only PNG, JPEG, WebP and GIF images can be placed")
        uploaded = self._upload(data, kind, timeout or 30.0)
        x0, y0, x1, y1 = box if box is not None else (0, 0, uploaded["width"], uploaded["height"])
        item = {"id": id or new_stroke_id(), "tool": "image", "color": "#000000", "points": [[x0, y0], [x1, y1]],
                "file": uploaded["file"]}  # fmt: skip
        return self._add(dict(protocol.stroke(item, images=True)), wait, timeout)

    def _upload(self, data: bytes, kind: str, timeout: float) -> dict[str, Any]:
        import requests

        headers = {**self.headers, "Content-Type": kind}
        if "token" in self.auth:
            headers["X-Collab-Token"] = self.auth["token"]
        last: Exception | None = None
        for url in self.urls:
            try:
                r = requests.post(f"{url.rstrip('/')}/api/notes/{self.note_id}/files", data=data, headers=headers,
                                  timeout=timeout)  # fmt: skip
            except requests.RequestException as exc:
                last = exc
                continue
            if r.status_code == 201:
                return r.json()  # type: ignore[no-any-return]
            try:
                err = r.json()["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "internal", "message": f"HTTP {r.status_code}"}
            raise error_for_code(err.get("code", "internal"), f"the upload was refused: {err.get('message')}")
        raise ConnectionFailed(f"could not upload the image to any of {', '.join(self.urls)}: {last}")

    def _add(self, item: dict[str, Any], wait: bool, timeout: float | None) -> str:
        key = self._submit("stroke", item, wait)
        if wait:
            self._wait_key(key, timeout)
        return str(item["id"])

    def remove(self, stroke_id: str, *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Remove an item by id; with ``wait`` (default) returns the op's seq.

        Raises :class:`~collab.errors.NotFound` when the note does not hold it.
        A remove retried after a reconnect whose first try had worked counts
        as done. :meth:`restore` brings the item back.
        """
        key = self._submit("remove", {"id": protocol.stroke_id(stroke_id)}, wait)
        return self._wait_key(key, timeout) if wait else None

    def clear(self, *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Remove every item; with ``wait`` (default) returns the op's seq.

        If the connection drops before the ack and the re-join cannot show
        whether the clear was applied (history compacted), it is sent again.
        """
        key = self._submit("clear", {}, wait)
        return self._wait_key(key, timeout) if wait else None

    def update(self, item_id: str, /, *, wait: bool = True, timeout: float | None = None, **changes: Any) -> int | None:
        """Change fields of one item: ``color``, ``width``, ``points``, ``fill``, ``text``, ``size``.

        ``fill=None`` removes the fill; no other field may be ``None``. The
        item as changed must keep its tool's rules (a rect keeps 2 points, a
        pen takes no fill): checked here against the replica's copy when it
        has one, and by the server. With ``wait`` (default) returns the op's
        seq; :class:`~collab.errors.NotFound` if the note does not hold it.
        """
        if "points" in changes and changes["points"] is not None:
            changes["points"] = _points(changes["points"])
        if isinstance(changes.get("text"), str):
            changes["text"] = _lf(changes["text"])
        unknown = sorted(set(changes) - set(protocol.UPDATABLE))
        if unknown:
            raise BadRequest(f"update() cannot change {', '.join(unknown)}; it changes {', '.join(protocol.UPDATABLE)}")
        body = protocol.update({"id": item_id, "set": changes})
        with self._lock:
            current = self._replica.stroke(body["id"])
        if current is not None:
            changed = {k: v for k, v in current.items() if body["set"].get(k, v) is not None}
            changed.update({k: v for k, v in body["set"].items() if v is not None})
            protocol.check_item(changed)
        key = self._submit("update", body, wait)
        return self._wait_key(key, timeout) if wait else None

    def move(
        self, ids: str | Iterable[str], dx: float, dy: float, *, wait: bool = True, timeout: float | None = None
    ) -> int | None:
        """Translate items by (dx, dy); with ``wait`` (default) returns the op's seq.

        Ids the note does not hold are skipped; :class:`~collab.errors.NotFound`
        if it holds none of them. A move is applied once even when the link
        drops before its ack: the re-join shows it was applied and it is not
        sent again.
        """
        body = protocol.move({"ids": _ids(ids), "dx": dx, "dy": dy})
        key = self._submit("move", body, wait)
        return self._wait_key(key, timeout) if wait else None

    def restore(self, ids: str | Iterable[str], *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Bring back removed or cleared items, as they were, in their original layer.

        Ids live or never seen are skipped; :class:`~collab.errors.NotFound`
        if none can be restored. With ``wait`` (default) returns the op's seq.
        """
        body = protocol.restore({"ids": _ids(ids)})
        key = self._submit("restore", body, wait)
        return self._wait_key(key, timeout) if wait else None

    def undo(self, *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Undo this client's newest own op that can still be undone; returns the seq of the undoing op.

        The undo is computed from the state just before the op (a stroke is
        undone by a remove, a remove or clear by restoring what it removed, a
        move by the opposite move, an update by the previous values). It
        runs after every op this client sent before it is settled (so
        ``draw(); undo()`` removes that stroke), and survives reconnects like
        any op. An undo that no longer applies (someone else removed the
        item since: the server answers ``not_found``) is skipped and the next
        older op is undone instead. Returns ``None`` when there was nothing
        to undo. Other peers' ops are never undone. ``wait=False`` queues it.
        """
        return self._undo_or_redo("undo", wait, timeout)

    def redo(self, *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Do again the op the last :meth:`undo` undid (the inverse of the undo); ``None`` if nothing to redo.

        A new op of this client (other than an undo or redo) empties the redo list.
        """
        return self._undo_or_redo("redo", wait, timeout)

    def _undo_or_redo(self, kind: str, wait: bool, timeout: float | None) -> int | None:
        with self._lock:
            self._check_usable()
            req = self._history.request(kind, wait)
            self._report(self._history.advance())
            self._cond.notify_all()
        self._wake()
        if not wait:
            return None
        with self._cond:
            self._cond.wait_for(lambda: req.done or self._fatal is not None or self._closed, timeout)
            if req.done:
                if req.error is not None:
                    raise req.error
                return req.seq
            if self._fatal is not None:
                raise self._fatal
            raise TimeoutError(
                f"note {self.note_id!r}: the {kind} was not acknowledged within {timeout}s; it stays queued "
                "and is sent when the server answers"
            )

    def profile(
        self, name: str | None = None, color: str | None = None, *, wait: bool = True, timeout: float | None = 10.0
    ) -> dict[str, Any] | None:
        """Change how this client appears to the others: its ``name`` (1-64 characters) and/or ``color`` (#rrggbb).

        Every note it joined gets a ``presence`` event. Kept for later
        connections too. With ``wait`` (default) returns this client's peer
        ``{"peer","name","color"}`` as the server acknowledged it (``None``
        while not connected: it applies when the client connects).
        """
        given = {k: v for k, v in (("name", name), ("color", color)) if v is not None}
        clean_name, clean_color = protocol.profile(given)
        payload = {k: v for k, v in (("name", clean_name), ("color", clean_color)) if v is not None}
        with self._lock:
            self._check_usable()
            self.auth.update(payload)
            token = next(self._tokens)
            req: dict[str, Any] = {"payload": payload, "sent": False, "done": False, "peer": None, "error": None}
            self._profiles[token] = req
            joined = self._replica.joined
        self._wake()
        if not wait or not joined:
            return None
        with self._cond:
            self._cond.wait_for(lambda: req["done"] or self._fatal is not None or not self._replica.joined, timeout)
            if req["error"] is not None:
                raise req["error"]
            return req["peer"] if req["done"] else None

    def cursor(self, x: float, y: float, *, laser: bool = False, view: Sequence[float] | None = None) -> None:
        """Show this peer's cursor at (x, y) to the others (volatile: dropped while offline).

        ``laser=True`` shows it as a laser pointer (a fading trail);
        ``view=(x, y, w, h)`` is the rectangle this peer sees (for following).
        """
        payload: dict[str, Any] = {"note": self.note_id, "x": x, "y": y, "laser": laser or None}
        if view is not None:
            payload["view"] = list(view)
        _, fields = protocol.cursor(payload)
        with self._lock:
            self._cursor = fields
        self._wake()

    def draft(
        self,
        points: Iterable[Point],
        color: str = "#000000",
        width: float = 2.0,
        *,
        id: str,
        tool: Tool = "pen",
        fill: str | None = None,
        text: str | None = None,
        size: float | None = None,
    ) -> None:
        """Show an unfinished item ``id`` to the others (volatile; add it with the same id when done)."""
        data: dict[str, Any] = {"id": id, "tool": tool, "color": color, "points": _points(points)}
        for key, value in (("width", width), ("fill", fill), ("text", text), ("size", size)):
            if value is not None:
                data[key] = value
        data = dict(protocol.stroke(data, event="draft"))
        with self._lock:
            self._drafts[id] = data
        self._wake()

    def _submit(self, kind: str, payload: dict[str, Any], waited: bool) -> int:
        with self._lock:
            self._check_usable()
            key = self._queue(kind, payload)
            self._history.track(key, kind, payload)
            if waited:
                self._waited.add(key)
            self._queue_call("change", ())
        self._wake()
        return key

    def _queue(self, kind: str, payload: dict[str, Any]) -> int:
        size = len(json.dumps(payload, separators=(",", ":"))) + 64
        return self._replica.submit(kind, payload, size)

    def _submit_inverse(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an op of an undo or redo (called by the history, lock held)."""
        key = self._queue(kind, payload)
        self._queue_call("change", ())
        self._inbox.put(("wake",))
        return key

    def _report(self, errors: list[CollabError]) -> None:
        for err in errors:
            self._errors.append(err)
            self._queue_call("error", (err,))

    def _check_usable(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._closed:
            raise CollabError(f"the client of note {self.note_id!r} is closed; make a new NoteClient")

    # -- waiting ---------------------------------------------------------------------------
    def wait_connected(self, timeout: float | None = 10.0) -> None:
        """Block until joined; raise :class:`ConnectionFailed` (or the server's refusal) on timeout."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._replica.joined or self._fatal is not None, timeout)
            if self._fatal is not None:
                raise self._fatal
            if not ok:
                raise ConnectionFailed(
                    f"could not join note {self.note_id!r} at {' or '.join(self.urls)} "
                    f"(namespace {self.namespace}) within {timeout}s: {self._last_failure}. "
                    "Is the server running there (collab serve)?",
                    self.urls,
                    self.namespace,
                    self._last_failure,
                )

    def wait_synced(self, timeout: float | None = None) -> None:
        """Block until every op of this client is acknowledged and applied.

        Raises the first refused op's error (a :class:`CollabError` subclass
        with its ``code``), the fatal error that stopped the client, or
        :class:`TimeoutError` after ``timeout`` seconds.
        """
        with self._cond:
            ok = self._cond.wait_for(
                lambda: (
                    (self._replica.synced and not self._history.asked)
                    or self._errors
                    or self._fatal is not None
                    or self._closed
                ),
                timeout,
            )
            if self._errors:
                raise self._errors.pop(0)
            if self._fatal is not None:
                raise self._fatal
            if not ok or not self._replica.synced or self._history.asked:
                left = len(self._replica.unfinished())
                where = "connected" if self._replica.joined else f"not connected ({self._last_failure})"
                raise TimeoutError(
                    f"note {self.note_id!r}: {left} op(s) not acknowledged within {timeout}s; {where}. "
                    "They stay queued and are sent when the server answers."
                )

    def wait_until(self, predicate: Callable[[NoteClient], bool], timeout: float | None = 10.0) -> None:
        """Block until ``predicate(client)`` is true (checked after every change); :class:`TimeoutError` else."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self) or self._fatal is not None, timeout):
                raise TimeoutError(f"condition not met within {timeout}s (note {self.note_id!r}, seq {self.seq})")
            if self._fatal is not None and not predicate(self):
                raise self._fatal

    def _wait_key(self, key: int, timeout: float | None) -> int | None:
        with self._cond:
            ok = self._cond.wait_for(lambda: key in self._results or self._fatal is not None, timeout)
            if key in self._results:
                self._waited.discard(key)
                seq, err = self._results.pop(key)
                if err is not None:
                    raise err
                return seq
            if self._fatal is not None:
                raise self._fatal
            assert not ok
            raise TimeoutError(
                f"note {self.note_id!r}: no acknowledgement within {timeout}s; the op stays queued "
                "and is sent when the server answers"
            )

    # -- closing -----------------------------------------------------------------------------
    def close(self, flush: bool = True, timeout: float = 10.0) -> None:
        """Disconnect. With ``flush``, first wait up to ``timeout`` s for queued ops.

        Raises :class:`TimeoutError` (after disconnecting) if ops were still
        unacknowledged — they are lost with this client.
        """
        error: BaseException | None = None
        if flush and not self._closed and self._fatal is None:
            try:
                self.wait_synced(timeout)
            except TimeoutError as exc:
                error = exc
            except CollabError:
                pass  # refusals were the caller's to collect; closing anyway
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._inbox.put(("close",))
        if threading.current_thread() is not self._engine:
            self._engine.join(5)
        self._calls.put(None)
        if threading.current_thread() is not self._dispatcher:
            self._dispatcher.join(5)
        if error is not None:
            raise TimeoutError(f"closed with ops unacknowledged: {error}") from None

    # -- the engine thread -----------------------------------------------------------------
    def _wake(self) -> None:
        self._inbox.put(("wake",))

    def _run(self) -> None:
        attempt = 0
        try:
            while not self._closed and self._fatal is None:
                if self._sio is None:
                    if self._ever_joined and not self.reconnect:
                        self._set_fatal(ConnectionFailed("the connection was lost and reconnect=False", self.urls))
                        break
                    if self._connect():
                        attempt = 0
                    else:
                        attempt += 1
                        delay = min(5.0, 0.25 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.0)
                        deadline = time.monotonic() + delay
                        while not self._closed and self._fatal is None and time.monotonic() < deadline:
                            self._pump(deadline - time.monotonic())  # draws wake it; the backoff holds
                        continue
                self._pump(0.1)
                self._tick()
        except Exception:
            log.exception("collab client engine crashed")
            self._set_fatal(InternalError("the client's engine thread crashed; see the log"))
        finally:
            self._drop("closed", reconnecting=False)

    def _pump(self, timeout: float) -> None:
        """Handle inbox items for up to ``timeout`` s (returns after the first batch)."""
        deadline = time.monotonic() + timeout
        while not self._closed:
            left = deadline - time.monotonic()
            try:
                item = self._inbox.get(timeout=max(0.0, left)) if left > 0 else self._inbox.get_nowait()
            except queue.Empty:
                return
            self._handle(item)
            while True:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                self._handle(item)
            return

    def _connect(self) -> bool:
        url = self.urls[self._url_index % len(self.urls)]
        self._url_index += 1
        gen = self._gen + 1
        refusal: list[Any] = []
        sio = _SioClient(reconnection=False, handle_sigint=False, request_timeout=5)
        ns = self.namespace

        def on_event(event: str, *args: Any) -> None:
            self._inbox.put(("event", gen, event, args[0] if args else None))

        def on_disconnect(*args: Any) -> None:
            self._inbox.put(("lost", gen, f"disconnected ({args[0] if args else 'no reason'})"))

        def on_connect_error(data: Any = None, *args: Any) -> None:
            refusal.append(data)

        sio.on("*", on_event, namespace=ns)
        sio.on("disconnect", on_disconnect, namespace=ns)
        sio.on("connect_error", on_connect_error, namespace=ns)
        with self._lock:
            self._gen = gen
        # sio.connect() can hang for the length of a long poll (~50 s) when the
        # link dies between the Engine.IO handshake and the namespace's answer
        # (its clean-up joins the stuck poll), so it runs in its own thread and
        # is abandoned after CONNECT_TIMEOUT.
        outcome: list[BaseException | None] = []

        def attempt() -> None:
            try:
                sio.connect(
                    with_note(url, self.note_id),
                    headers=dict(self.headers),
                    auth=dict(self.auth) or None,
                    transports=self.transports,
                    namespaces=[ns],
                    socketio_path=self.socketio_path,
                    wait_timeout=5,
                )
            except BaseException as exc:  # noqa: BLE001 - handed to the engine thread
                outcome.append(exc)
                return
            outcome.append(None)
            if self._gen != gen or self._closed:  # given up on meanwhile: do not linger connected
                self._abandon(sio)

        worker = threading.Thread(target=attempt, name="collab-connect", daemon=True)
        worker.start()
        worker.join(CONNECT_TIMEOUT)
        try:
            if not outcome:
                raise socketio.exceptions.ConnectionError(f"no answer within {CONNECT_TIMEOUT:g}s")
            if outcome[0] is not None:
                raise outcome[0]
        except Exception as exc:  # noqa: BLE001 - any failure to connect is retried
            with self._lock:
                self._gen += 1  # whatever that attempt does later is ignored
            data = refusal[-1] if refusal else None
            detail = str(exc)
            code = None
            if isinstance(data, dict):
                inner: dict[str, Any] = data["data"] if isinstance(data.get("data"), dict) else data
                code, detail = inner.get("code"), str(inner.get("message", detail))
            self._last_failure = f"{url} (namespace {ns}): {detail}"
            log.info("connect to %s failed: %s", url, detail)
            self._abandon(sio)
            if code in _PERMANENT:
                err = error_for_code(str(code), f"{url} (namespace {ns}) refused the connection: {detail}")
                self._set_fatal(err)
            return False
        self._sio = sio
        self.current_url = url
        self._outstanding.clear()
        self._last_rx = time.monotonic()
        log.info("connected to %s (namespace %s) via %s", url, ns, self.transport or sio.transport())
        self._send_join(fresh=True)
        return True

    def _emit(self, event: str, payload: dict[str, Any], token: Any = None) -> bool:
        sio, gen = self._sio, self._gen
        if sio is None:
            return False
        callback = None
        if token is not None:
            self._outstanding[token] = time.monotonic()

            def callback(*args: Any) -> None:
                self._inbox.put(("ack", gen, token, args[0] if args else None))

        try:
            sio.emit(event, payload, namespace=self.namespace, callback=callback)
        except Exception as exc:  # noqa: BLE001 - python-socketio raises several kinds while disconnected
            self._drop(f"send failed: {exc}")
            return False
        return True

    def _send_join(self, fresh: bool = False) -> None:
        with self._lock:
            payload = self._replica.join_request(fresh)
            if self._epoch is not None:
                payload["epoch"] = self._epoch  # never (re)create a note that was deleted meanwhile
        token = ("join", next(self._tokens), payload.get("since"), fresh, "epoch" in payload)
        self._emit("join", payload, token)

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind in ("wake", "close"):
            return
        gen = item[1]
        if gen != self._gen or self._sio is None:
            return  # from an abandoned connection
        self._last_rx = time.monotonic()
        if kind == "lost":
            self._drop(item[2])
        elif kind == "ack":
            self._on_ack(item[2], item[3])
        elif kind == "event":
            self._on_event(item[2], item[3])

    def _on_ack(self, token: Any, ack: Any) -> None:
        self._outstanding.pop(token, None)
        now = time.monotonic()
        if token[0] == "profile":
            self._on_profile_ack(token, ack)
            return
        if token[0] == "join":
            if isinstance(ack, dict) and ack.get("ok"):
                note: dict[str, Any] = ack["note"] if isinstance(ack.get("note"), dict) else {}
                with self._lock:
                    if isinstance(note.get("epoch"), str):
                        self._epoch = note["epoch"]
                    peers_before = self._replica.peers
                    effects = self._replica.apply_join_ack(ack, now, token[2])
                    first = not self._ever_joined
                    self._ever_joined = True
                    came_up, self._up = not self._up, True
                if token[3]:
                    info = {
                        "note": self.note_id,
                        "title": note.get("title"),
                        "epoch": note.get("epoch"),
                        "seq": ack.get("seq"),
                        "peer": ack.get("peer"),
                        "role": ack.get("role"),
                        "since": token[2],
                    }
                    self._queue_call("joined", (info,))
                self._process(effects)
                if self._replica.peers != peers_before:
                    self._queue_call("presence", (self.peers,))
                if came_up:
                    self._queue_call("status", (True, f"joined via {self.current_url}"))
                if first:
                    log.info("joined note %s at seq %d", self.note_id, self.seq)
                return
            err = ack.get("error") if isinstance(ack, dict) else None
            code = str(err.get("code")) if isinstance(err, dict) else "internal"
            message = str(err.get("message")) if isinstance(err, dict) else f"bad join ack {ack!r:.80}"
            with self._lock:
                self._replica.join_failed()
            self._last_failure = f"join refused: {code}: {message}"
            if code == "not_found" and token[4]:
                self._note_gone(f"note {self.note_id!r} was deleted: {message}")
            elif code in _PERMANENT:
                self._set_fatal(error_for_code(code, f"joining note {self.note_id!r}: {message}"))
            else:
                self._drop(self._last_failure)
            return
        with self._lock:
            effects = self._replica.apply_ack(token[1], ack, now)
        self._process(effects)

    def _on_event(self, event: str, data: Any) -> None:
        if not isinstance(data, dict) or data.get("note", self.note_id) != self.note_id:
            if event == "error" and isinstance(data, dict):
                self._on_server_error(data)
            return
        now = time.monotonic()
        if event in ops.KINDS:
            op = dict(data)
            op.setdefault("type", event)
            op.pop("note", None)
            with self._lock:
                effects = self._replica.apply_op(op, now)
            self._process(effects)
        elif event == "presence":
            with self._lock:
                self._replica.peers = list(data.get("peers") or [])
            self._queue_call("presence", (self.peers,))
        elif event in ("cursor", "draft"):
            self._queue_call(event, (data,))
        elif event == "renamed":
            with self._lock:
                self._replica.title = data.get("title")
            self._queue_call("renamed", (data.get("title"),))
        elif event == "deleted":
            self._note_gone(f"note {self.note_id!r} was deleted")
        elif event == "error":
            self._on_server_error(data)

    def _note_gone(self, message: str) -> None:
        """The note was deleted: empty the replica, tell ``deleted`` callbacks, fail every queued op."""
        with self._lock:
            self._replica.forget()
        self._queue_call("deleted", (self.note_id,))
        self._queue_call("change", ())
        self._set_fatal(NotFound(message))

    def _on_profile_ack(self, token: Any, ack: Any) -> None:
        with self._lock:
            req = self._profiles.pop(token[1], None)
            if req is None:
                return
            if isinstance(ack, dict) and ack.get("ok"):
                req["done"], req["peer"] = True, ack.get("peer")
            else:
                err = ack.get("error") if isinstance(ack, dict) else None
                code = str(err.get("code")) if isinstance(err, dict) else "internal"
                message = str(err.get("message")) if isinstance(err, dict) else f"bad profile ack {ack!r:.80}"
                req["done"], req["error"] = True, error_for_code(code, f"profile: {message}")
            self._cond.notify_all()

    def _on_server_error(self, data: dict[str, Any]) -> None:
        code, message = str(data.get("code", "internal")), str(data.get("message", ""))
        log.warning("server error %s: %s", code, message)
        if code == "forbidden":
            self._set_fatal(error_for_code(code, f"the server dropped this client: {message}"))

    def _process(self, effects: list[Any]) -> None:
        changed = False
        with self._lock:
            quiet = {e.key for e in effects if isinstance(e, OpFailed) and self._history.quiet(e.key)}
            self._report(self._history.feed(effects, self._replica.seq))
            for e in effects:
                if isinstance(e, OpApplied):
                    changed = True
                    self._queue_call("op", (e.op,))
                    if not e.own:
                        self._queue_call(e.op["type"], (e.op,))
                elif isinstance(e, StateReset):
                    changed = True
                    if self._callbacks.get("reset"):  # a copy of every item, only for a listener
                        self._queue_call("reset", ([dict(s) for s in e.strokes],))
                elif isinstance(e, OpDone):
                    changed = True
                    if e.key in self._waited:
                        self._results[e.key] = (e.seq, None)
                elif isinstance(e, OpFailed):
                    changed = True
                    if e.key in quiet:
                        continue  # an op of an undo or redo: its request answers for it
                    err = error_for_code(e.code, e.message)
                    if e.key in self._waited:
                        self._results[e.key] = (None, err)
                    else:
                        self._errors.append(err)
                        self._queue_call("error", (err,))
                elif isinstance(e, NeedRejoin) and self._replica.joined:
                    self._send_join()
            if changed:
                self._queue_call("change", ())
            self._cond.notify_all()

    def _tick(self) -> None:
        if self._sio is None:
            return
        now = time.monotonic()
        stuck = self._engineio_stuck(self._sio)
        if stuck:
            self._drop(stuck)
            return
        if self._outstanding:
            since = max(self._last_rx, min(self._outstanding.values()))
            if now - since > self.liveness:
                self._drop(f"no answer from {self.current_url} for {self.liveness:g}s")
                return
        elif now - self._last_rx > self.liveness / 2 and self._replica.joined:
            self._send_join()  # probe: also fills any gap
        with self._lock:
            self._process(self._replica.check(now))
            self._allowance = min(
                float(self.max_in_flight), self._allowance + (now - self._allowance_at) * self.max_rate
            )
            self._allowance_at = now
            batch = self._replica.sendable(now, self.max_in_flight, self.max_bytes, int(self._allowance))
            self._allowance -= len(batch)
            cursor, self._cursor = (self._cursor, None) if self._replica.joined else (None, self._cursor)
            drafts, self._drafts = (self._drafts, {}) if self._replica.joined else ({}, self._drafts)
            profiles = []
            if self._replica.joined:
                for token, req in self._profiles.items():
                    if not req["sent"]:
                        req["sent"] = True
                        profiles.append((token, req["payload"]))
        for o in batch:
            if not self._emit(o.kind, {"note": self.note_id, **o.payload}, ("op", o.key)):
                return
        for token, payload in profiles:
            self._emit("profile", dict(payload), ("profile", token))
        if cursor is not None:
            self._emit("cursor", {"note": self.note_id, **cursor})
        for d in drafts.values():
            self._emit("draft", {"note": self.note_id, **d})

    @staticmethod
    def _engineio_stuck(sio: socketio.Client) -> str | None:
        """A python-engineio client whose I/O threads ended while it still says "connected".

        The stock polling client can lose its stop marker when a connection is
        cut mid-batch and then sit like this until its long poll times out.
        """
        eio = getattr(sio, "eio", None)
        if eio is None or getattr(eio, "state", None) != "connected":
            return None
        writer, reader = getattr(eio, "write_loop_task", None), getattr(eio, "read_loop_task", None)
        if writer is None or (reader is not None and not reader.is_alive()):
            return "the engine.io transport stopped (its I/O loop ended)"
        return None

    def _drop(self, reason: str, reconnecting: bool = True) -> None:
        sio = self._sio
        if sio is None:
            return
        self._sio = None
        self._outstanding.clear()
        with self._lock:
            self._gen += 1
            self._replica.disconnected()
            self._up = False
            for req in self._profiles.values():
                req["sent"] = False  # sent again on the next connection (it is idempotent)
            self._cond.notify_all()
        self._last_failure = reason
        log.info("connection to %s dropped: %s", self.current_url, reason)
        self._queue_call("status", (False, reason))
        self._abandon(sio, wait=0.0 if reconnecting else GOODBYE_TIMEOUT)

    @staticmethod
    def _abandon(sio: socketio.Client, wait: float = 0.0) -> None:
        """Disconnect an old client, waiting at most ``wait`` s for it (its threads may hang on a dead link).

        A closing client waits a little, so that a script that exits right
        after :meth:`close` has told the server it left: over long-polling the
        server would otherwise keep it in the room until the ping timeout.
        """

        def stop() -> None:
            try:
                sio.disconnect()
            except Exception:  # noqa: BLE001 - best effort on a dead client
                pass

        thread = threading.Thread(target=stop, name="collab-abandon", daemon=True)
        thread.start()
        if wait > 0:
            thread.join(wait)

    def _set_fatal(self, err: CollabError) -> None:
        with self._lock:
            if self._fatal is None:
                self._fatal = err
                effects = self._replica.fail_all(err.code, err.message)
                for e in effects:
                    if isinstance(e, OpFailed) and e.key in self._waited:
                        self._results[e.key] = (None, err)
                self._history.abort(err)
                for req in self._profiles.values():
                    req["done"], req["error"] = True, err
                self._profiles.clear()
                self._queue_call("error", (err,))
            self._cond.notify_all()
        self._inbox.put(("wake",))

    # -- the callback thread -----------------------------------------------------------------
    def _queue_call(self, event: str, args: tuple[Any, ...]) -> None:
        if self._callbacks.get(event):
            self._calls.put((event, args))

    def _dispatch(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            event, args = item
            with self._lock:
                fns = list(self._callbacks.get(event, ()))
            for fn in fns:
                try:
                    fn(*args)
                except Exception:
                    log.exception("collab client: %s callback %r raised", event, fn)


class AsyncNoteClient:
    """The asyncio face of :class:`NoteClient`: awaitable waits, callbacks on the event loop.

    It shares everything with :class:`NoteClient` — the replica, the outbox,
    the engine thread that owns the connection — and only changes how you
    wait: blocking waits become awaitables (run in a worker thread so the
    loop never blocks) and callbacks (plain functions or coroutine
    functions) run on the loop that created the client::

        async with await AsyncNoteClient.connect("http://127.0.0.1:5000", "n") as note:
            note.draw([(0, 0), (5, 5)])
            await note.wait_synced(10)

    Options are those of :class:`NoteClient`.
    """

    def __init__(self, client: NoteClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self._loop = loop

    @classmethod
    async def connect(cls, url: str | Sequence[str], note: str, **options: Any) -> AsyncNoteClient:
        """Make the client; with ``wait=True`` (default) returns once joined."""
        loop = asyncio.get_running_loop()
        wait = options.pop("wait", True)
        timeout = options.get("timeout", 10.0)
        client = NoteClient(url, note, wait=False, **options)
        self = cls(client, loop)
        if wait:
            try:
                await asyncio.to_thread(client.wait_connected, timeout)
            except BaseException:
                client.close(flush=False)
                raise
        return self

    async def __aenter__(self) -> AsyncNoteClient:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.close(flush=exc_type is None)

    @property
    def note_id(self) -> str:
        """The note's id."""
        return self.client.note_id

    @property
    def strokes(self) -> list[dict[str, Any]]:
        """See :attr:`NoteClient.strokes`."""
        return self.client.strokes

    @property
    def pending(self) -> list[dict[str, Any]]:
        """See :attr:`NoteClient.pending`."""
        return self.client.pending

    @property
    def seq(self) -> int:
        """See :attr:`NoteClient.seq`."""
        return self.client.seq

    @property
    def peers(self) -> list[dict[str, Any]]:
        """See :attr:`NoteClient.peers`."""
        return self.client.peers

    @property
    def connected(self) -> bool:
        """See :attr:`NoteClient.connected`."""
        return self.client.connected

    @property
    def synced(self) -> bool:
        """See :attr:`NoteClient.synced`."""
        return self.client.synced

    def stroke(self, stroke_id: str) -> dict[str, Any] | None:
        """See :meth:`NoteClient.stroke`."""
        return self.client.stroke(stroke_id)

    def item(self, item_id: str) -> dict[str, Any] | None:
        """See :meth:`NoteClient.item`."""
        return self.client.item(item_id)

    @property
    def items(self) -> list[dict[str, Any]]:
        """See :attr:`NoteClient.items`."""
        return self.client.items

    @property
    def can_undo(self) -> bool:
        """See :attr:`NoteClient.can_undo`."""
        return self.client.can_undo

    @property
    def can_redo(self) -> bool:
        """See :attr:`NoteClient.can_redo`."""
        return self.client.can_redo

    def draw(
        self,
        points: Iterable[Point],
        color: str = "#000000",
        width: float = 2.0,
        tool: str = "pen",
        *,
        id: str | None = None,
    ) -> str:
        """Queue a stroke and return its id at once (await :meth:`wait_synced` for the ack)."""
        return self.client.draw(points, color, width, tool, id=id)

    def cursor(self, x: float, y: float, *, laser: bool = False, view: Sequence[float] | None = None) -> None:
        """See :meth:`NoteClient.cursor`."""
        self.client.cursor(x, y, laser=laser, view=view)

    def add(self, tool: Tool, points: Iterable[Point], **fields: Any) -> str:
        """Queue an item of any tool but image and return its id (see :meth:`NoteClient.add`)."""
        fields.pop("wait", None)
        return self.client.add(tool, points, **fields)

    async def add_image(
        self, image: str | bytes | os.PathLike[str], box: tuple[float, float, float, float] | None = None, **kw: Any
    ) -> str:
        """Upload a picture and place it (see :meth:`NoteClient.add_image`); the upload runs in a thread."""
        kw.pop("wait", None)
        return await asyncio.to_thread(self.client.add_image, image, box, **kw)

    def line(self, points: Iterable[Point], **fields: Any) -> str:
        """See :meth:`NoteClient.line` (queued; await :meth:`wait_synced` for the ack)."""
        return self.add("line", points, **fields)

    def arrow(self, points: Iterable[Point], **fields: Any) -> str:
        """See :meth:`NoteClient.arrow`."""
        return self.add("arrow", points, **fields)

    def rect(self, x0: float, y0: float, x1: float, y1: float, **fields: Any) -> str:
        """See :meth:`NoteClient.rect`."""
        return self.add("rect", [(x0, y0), (x1, y1)], **fields)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, **fields: Any) -> str:
        """See :meth:`NoteClient.ellipse`."""
        return self.add("ellipse", [(x0, y0), (x1, y1)], **fields)

    def text(self, x: float, y: float, text: str, size: float = 20, **fields: Any) -> str:
        """See :meth:`NoteClient.text`."""
        fields.pop("wait", None)
        return self.client.text(x, y, text, size, **fields)

    def sticky(self, x: float, y: float, text: str, fill: str = STICKY_FILL, **fields: Any) -> str:
        """See :meth:`NoteClient.sticky`."""
        fields.pop("wait", None)
        return self.client.sticky(x, y, text, fill, **fields)

    async def remove(self, stroke_id: str, *, timeout: float | None = None) -> int | None:
        """Remove a stroke and await its ack (see :meth:`NoteClient.remove`)."""
        return await asyncio.to_thread(self.client.remove, stroke_id, timeout=timeout)

    async def clear(self, *, timeout: float | None = None) -> int | None:
        """Clear the note and await the ack."""
        return await asyncio.to_thread(self.client.clear, timeout=timeout)

    async def update(self, item_id: str, /, *, timeout: float | None = None, **changes: Any) -> int | None:
        """Change fields of an item and await the ack (see :meth:`NoteClient.update`)."""
        return await asyncio.to_thread(functools.partial(self.client.update, item_id, timeout=timeout, **changes))

    async def move(self, ids: str | Iterable[str], dx: float, dy: float, *, timeout: float | None = None) -> int | None:
        """Move items and await the ack (see :meth:`NoteClient.move`)."""
        return await asyncio.to_thread(self.client.move, _ids(ids), dx, dy, timeout=timeout)

    async def restore(self, ids: str | Iterable[str], *, timeout: float | None = None) -> int | None:
        """Restore removed items and await the ack (see :meth:`NoteClient.restore`)."""
        return await asyncio.to_thread(self.client.restore, _ids(ids), timeout=timeout)

    async def undo(self, *, timeout: float | None = None) -> int | None:
        """Await :meth:`NoteClient.undo`."""
        return await asyncio.to_thread(self.client.undo, timeout=timeout)

    async def redo(self, *, timeout: float | None = None) -> int | None:
        """Await :meth:`NoteClient.redo`."""
        return await asyncio.to_thread(self.client.redo, timeout=timeout)

    async def profile(
        self, name: str | None = None, color: str | None = None, *, timeout: float | None = 10.0
    ) -> dict[str, Any] | None:
        """Await :meth:`NoteClient.profile`."""
        return await asyncio.to_thread(self.client.profile, name, color, timeout=timeout)

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Await :meth:`NoteClient.wait_synced`."""
        await asyncio.to_thread(self.client.wait_synced, timeout)

    async def wait_until(self, predicate: Callable[[NoteClient], bool], timeout: float | None = 10.0) -> None:
        """Await :meth:`NoteClient.wait_until` (the predicate gets the :class:`NoteClient`)."""
        await asyncio.to_thread(self.client.wait_until, predicate, timeout)

    def on(self, event: str, fn: Callback) -> Callback:
        """Run ``fn`` (a function or a coroutine function) on the event loop for ``event``."""

        def relay(*args: Any) -> None:
            if asyncio.iscoroutinefunction(fn):
                asyncio.run_coroutine_threadsafe(fn(*args), self._loop)
            else:
                self._loop.call_soon_threadsafe(fn, *args)

        self.client.on(event, relay)
        return fn

    async def close(self, flush: bool = True, timeout: float = 10.0) -> None:
        """Await :meth:`NoteClient.close`."""
        await asyncio.to_thread(self.client.close, flush, timeout)
