"""A Python client for collab notes, built on the python-socketio client.

::

    from collab.client import NoteClient

    with NoteClient("http://127.0.0.1:5000", "my-note", name="plotter") as note:
        sid = note.draw([(0, 0), (10, 20)], color="#e03131", width=3)
        note.on_stroke(lambda op: print("someone drew", op["id"]))
        note.wait_synced(timeout=10)
        print(len(note.strokes), "strokes at seq", note.seq)

How it stays reliable (``docs/client.md`` says more):

- The note's state is a replica kept by :class:`collab.replica.NoteReplica`:
  ops are applied in ``seq`` order, duplicates are ignored, gaps are filled
  by re-joining with ``since``.
- :meth:`NoteClient.draw` never loses a stroke: it queues the stroke; the
  client sends it when joined and re-sends it, with the same id, after a
  reconnect until the server acknowledges it.
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
import itertools
import json
import logging
import queue
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import socketio
from engineio.payload import Payload

from . import protocol
from ._sioclient import Client as _SioClient
from .errors import CollabError, InternalError, NotFound, error_for_code
from .replica import NeedRejoin, NoteReplica, OpApplied, OpDone, OpFailed, StateReset

__all__ = ["AsyncNoteClient", "ConnectionFailed", "NoteClient"]

log = logging.getLogger("collab.client")

#: Seconds one connection attempt may take before it is abandoned.
CONNECT_TIMEOUT = 12.0
#: Seconds a closing client waits for the server to have been told it leaves.
GOODBYE_TIMEOUT = 2.0
#: Connect-time refusals that trying again will not fix.
_PERMANENT = frozenset({"bad_request", "forbidden", "not_found", "too_large"})
#: Events a callback may be registered for with :meth:`NoteClient.on`.
EVENTS = (
    "op",
    "stroke",
    "remove",
    "clear",
    "reset",
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


class ConnectionFailed(CollabError):
    """No connection could be made; the message names the URLs and namespace tried."""

    code = "internal"

    def __init__(self, message: str, urls: Sequence[str] = (), namespace: str = "") -> None:
        super().__init__(message)
        self.urls = list(urls)
        self.namespace = namespace


def _raise_decode_limit() -> None:
    # The server answers a poll with at most 16 packets, the stock client's own
    # limit; other servers may send more, so accept up to 1024 per payload.
    if Payload.max_decode_packets < 1024:
        Payload.max_decode_packets = 1024


def new_stroke_id() -> str:
    """A fresh random stroke id (16 hex digits)."""
    return secrets.token_hex(8)


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
    :param headers: extra HTTP headers for the connection.
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
        wait: bool = True,
        timeout: float = 10.0,
        reconnect: bool = True,
        liveness: float = 5.0,
        max_in_flight: int = 64,
        max_rate: float = 150.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        protocol.note_id(note)
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

        self._replica = NoteReplica(note, since=since)
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
        self._cursor: tuple[float, float] | None = None
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
        """Joined, no gap, and every op of this client acknowledged and applied."""
        with self._lock:
            return self._replica.synced

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

        ``op`` (every op applied, own ones too), ``stroke``/``remove``/``clear``
        (ops of *other* peers), ``reset`` (state replaced: strokes), ``change``
        (no argument: ``strokes`` or ``pending`` changed), ``presence``
        (peers), ``cursor``/``draft`` (the event's payload), ``renamed``
        (title), ``deleted`` (note id), ``status`` (connected: bool, detail:
        str), ``error`` (a :class:`CollabError` nobody waited for).
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

    # -- ops ------------------------------------------------------------------------------
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
            "points": [[p[0], p[1]] for p in points],
            "tool": tool,
        }
        clean = dict(protocol.stroke(stroke))
        key = self._submit("stroke", clean, wait)
        if wait:
            self._wait_key(key, timeout)
        return str(clean["id"])

    def remove(self, stroke_id: str, *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Remove a stroke by id; with ``wait`` (default) returns the op's seq.

        Raises :class:`~collab.errors.NotFound` when the note does not hold it.
        A remove retried after a reconnect whose first try had worked counts
        as done.
        """
        key = self._submit("remove", {"id": protocol.stroke_id(stroke_id)}, wait)
        return self._wait_key(key, timeout) if wait else None

    def clear(self, *, wait: bool = True, timeout: float | None = None) -> int | None:
        """Remove every stroke; with ``wait`` (default) returns the op's seq.

        If the connection drops before the ack and the re-join cannot show
        whether the clear was applied (history compacted), it is sent again.
        """
        key = self._submit("clear", {}, wait)
        return self._wait_key(key, timeout) if wait else None

    def cursor(self, x: float, y: float) -> None:
        """Show this peer's cursor at (x, y) to the others (volatile: dropped while offline)."""
        with self._lock:
            self._cursor = (x, y)
        self._wake()

    def draft(self, points: Iterable[Point], color: str = "#000000", width: float = 2.0, *, id: str) -> None:
        """Show an unfinished stroke ``id`` to the others (volatile; send :meth:`draw` with the same id when done)."""
        data = {"id": id, "color": color, "width": width, "points": [[p[0], p[1]] for p in points]}
        with self._lock:
            self._drafts[id] = data
        self._wake()

    def _submit(self, kind: str, payload: dict[str, Any], waited: bool) -> int:
        size = len(json.dumps(payload, separators=(",", ":"))) + 64
        with self._lock:
            self._check_usable()
            key = self._replica.submit(kind, payload, size)
            if waited:
                self._waited.add(key)
            self._queue_call("change", ())
        self._wake()
        return key

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
                )

    def wait_synced(self, timeout: float | None = None) -> None:
        """Block until every op of this client is acknowledged and applied.

        Raises the first refused op's error (a :class:`CollabError` subclass
        with its ``code``), the fatal error that stopped the client, or
        :class:`TimeoutError` after ``timeout`` seconds.
        """
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self._replica.synced or self._errors or self._fatal is not None or self._closed, timeout
            )
            if self._errors:
                raise self._errors.pop(0)
            if self._fatal is not None:
                raise self._fatal
            if not ok or not self._replica.synced:
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
                    url,
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
        self._emit("join", payload, ("join", next(self._tokens), payload.get("since")))

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
        if token[0] == "join":
            if isinstance(ack, dict) and ack.get("ok"):
                with self._lock:
                    peers_before = self._replica.peers
                    effects = self._replica.apply_join_ack(ack, now, token[2])
                    first = not self._ever_joined
                    self._ever_joined = True
                    came_up, self._up = not self._up, True
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
            if code in _PERMANENT:
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
        if event in ("stroke", "remove", "clear"):
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
            with self._lock:
                self._replica.forget()
            self._queue_call("deleted", (self.note_id,))
            self._queue_call("change", ())
            self._set_fatal(NotFound(f"note {self.note_id!r} was deleted"))
        elif event == "error":
            self._on_server_error(data)

    def _on_server_error(self, data: dict[str, Any]) -> None:
        code, message = str(data.get("code", "internal")), str(data.get("message", ""))
        log.warning("server error %s: %s", code, message)
        if code == "forbidden":
            self._set_fatal(error_for_code(code, f"the server dropped this client: {message}"))

    def _process(self, effects: list[Any]) -> None:
        changed = False
        with self._lock:
            for e in effects:
                if isinstance(e, OpApplied):
                    changed = True
                    self._queue_call("op", (e.op,))
                    if not e.own:
                        self._queue_call(e.op["type"], (e.op,))
                elif isinstance(e, StateReset):
                    changed = True
                    self._queue_call("reset", ([dict(s) for s in e.strokes],))
                elif isinstance(e, OpDone):
                    changed = True
                    if e.key in self._waited:
                        self._results[e.key] = (e.seq, None)
                elif isinstance(e, OpFailed):
                    changed = True
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
        for o in batch:
            if not self._emit(o.kind, {"note": self.note_id, **o.payload}, ("op", o.key)):
                return
        if cursor is not None:
            self._emit("cursor", {"note": self.note_id, "x": cursor[0], "y": cursor[1]})
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

    def cursor(self, x: float, y: float) -> None:
        """See :meth:`NoteClient.cursor`."""
        self.client.cursor(x, y)

    async def remove(self, stroke_id: str, *, timeout: float | None = None) -> int | None:
        """Remove a stroke and await its ack (see :meth:`NoteClient.remove`)."""
        return await asyncio.to_thread(self.client.remove, stroke_id, timeout=timeout)

    async def clear(self, *, timeout: float | None = None) -> int | None:
        """Clear the note and await the ack."""
        return await asyncio.to_thread(self.client.clear, timeout=timeout)

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
