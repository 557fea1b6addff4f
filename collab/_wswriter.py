"""Engine.IO's WebSocket transport, rebuilt for fan-out: direct writes, coalesced frames.

python-engineio's writer greenlet sends every queued packet with its own
``ws.send``: one frame built, one ``send`` system call per packet, which under
load was the largest single cost of a fan-out (a third of the server's time at
18,000 deliveries/s). This writer takes everything the connection has queued
(up to :data:`MAX_FRAMES`), joins the frames and writes them with one
``sendall``. A broadcast's Engine.IO packet is one object shared by every
recipient, so its frame is built once and reused for all of them.

A packet sent to a connection whose queue is empty and whose writer is idle
does not go through the queue at all: :func:`_send` writes its frame straight
to the socket with one non-blocking ``send`` from the sending greenlet (for a
broadcast, the committer's), which saves a queue round trip and a greenlet
switch per recipient. Whatever the kernel does not take at once (a slow
reader), and every packet while earlier ones wait, goes through the queue as
before, so order is kept and a slow reader never blocks its room.

A big frame (a join of a big note is megabytes) is written in slices of
:data:`SLICE` bytes, yielding to the event loop between them. A local reader
that keeps up lets the kernel take megabytes in one ``send``, which held the
loop for several milliseconds per join; in slices, everyone else's small
writes go out between them and a big join delays them by one slice at most.

A connection has a writer task only while something waits in its queue: the
task starts when a packet is queued and ends when the queue is empty (python-
engineio keeps one asleep per connection for its whole life: a greenlet, its
stacks and a timer, ~9 KB of an idle connection's memory). Every path that
queues a packet or a close starts it.

Installed by collab's own gevent server only, through the guarded patch
:data:`collab._patches.engineio.COALESCING_WRITER` (never by ``init_app``).
Only the gevent-websocket transport is replaced (the default under gevent);
any other WebSocket object goes to the stock handler. Apart from the writer the
handler is python-engineio 4.x's own (the upgrade handshake, the reader loop,
the close), so behaviour on the wire is unchanged: the same frames, in the same
order, only fewer system calls.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

from engineio import exceptions, packet

from .packets import EncodedMessage

#: The most frames joined into one write (bounds the size of one write).
MAX_FRAMES = 256

#: The most bytes of one ``send`` system call; bigger writes are sliced, the loop runs between slices.
SLICE = 64 * 1024

#: Set by the patch that installs this writer (:data:`collab._patches.engineio.COALESCING_WRITER`):
#: whether it is in place, and the stock methods it falls back to.
active = False
_stock_handler: Any = None
_stock_send: Any = None
_stock_close: Any = None
#: A frame's bytes: a whole frame, or a view of what is left of one.
Frame = bytes | memoryview
_HEAD16 = struct.Struct("!BBH")
_HEAD64 = struct.Struct("!BBQ")


class _Direct:
    """A WebSocket connection's socket, its writer task (None while idle) and whether it is mid-write."""

    __slots__ = ("busy", "sock", "start_writer", "task")

    def __init__(self, sock: Any, start_writer: Any) -> None:
        self.sock = sock
        self.busy = False
        self.task: Any = None
        self.start_writer = start_writer

    def ensure_writer(self) -> Any:
        """Start the writer task unless it runs; it drains the queue and ends when the queue is empty."""
        if self.task is None:
            self.task = self.start_writer()
        return self.task


class _Raw:
    """Frame bytes already built: the part of a direct write the kernel did not take."""

    __slots__ = ("data",)

    def __init__(self, data: Frame) -> None:
        self.data = data


def frame(pkt: Any) -> Frame:
    """The WebSocket frame (unmasked, final) carrying an Engine.IO packet; cached on the packet."""
    if type(pkt) is _Raw:
        return pkt.data
    cached: bytes | None = pkt.__dict__.get("_collab_frame")
    if cached is not None:
        return cached
    parts: tuple[bytes, ...]
    if type(pkt) is EncodedMessage:  # text already encoded (a join's ack): framed without a copy in between
        parts, first = (pkt.head, pkt.data), 0x81
    else:
        data = pkt.encode()
        if isinstance(data, str):
            parts, first = (data.encode("utf-8"),), 0x81  # FIN + text
        else:
            parts, first = (bytes(data),), 0x82  # FIN + binary
    n = sum(map(len, parts))
    if n < 126:
        head = bytes((first, n))
    elif n < 65536:
        head = _HEAD16.pack(first, 126, n)
    else:
        head = _HEAD64.pack(first, 127, n)
    out = b"".join((head, *parts))
    pkt._collab_frame = out
    return out


#: While writes are held back (:func:`hold`): connection -> frames, in send order.
_held: dict[Any, list[Frame]] | None = None


def _release() -> None:
    """Write each connection's held-back frames at once; stop holding."""
    global _held
    held, _held = _held, None
    if held:
        for sock, frames in held.items():
            _write(sock, b"".join(frames), None)  # one frame: join returns it as is


def hold() -> None:
    """Hold back direct writes until the event loop has run the tasks made ready meanwhile.

    The committer calls this before it broadcasts a commit batch and answers
    the batch's senders: deferred acks are sent by the committer right after
    the broadcasts, waiting senders send theirs from their own tasks, which run
    after the committer; either way a connection that gets both broadcasts and
    its own acks gets them in one ``send``. The release is a loop callback that queues itself
    once more, so it runs after the wake-ups queued in the meantime; it never
    waits for I/O or a timer. Order per connection is kept: once a connection
    has held-back frames, everything sent to it until the release is held too,
    and packets that would have gone through the queue still do. Needs gevent
    (the only mode that installs this writer); idempotent while a hold is open, and a no-op
    while the writer is not installed (``init_app`` in a host's process).
    """
    global _held
    if _held is not None or not active:
        return
    from gevent import get_hub

    loop = get_hub().loop
    _held = {}
    loop.run_callback(lambda: loop.run_callback(_release))


def _write(self: Any, data: Frame, pkt: Any) -> None:
    """Write ``data`` without waiting; queue what the kernel does not take (``pkt`` if nothing was sent)."""
    direct: _Direct | None = self.__dict__.get("_collab_direct")
    if direct is None:  # the connection ended meanwhile
        return
    if direct.busy or self.queue.qsize():  # the writer took over meanwhile
        self.queue.put(_Raw(data))
        direct.ensure_writer()
        return
    try:
        # gevent: timeout 0.0 never waits. One slice at most: the writer task sends the rest.
        sent = direct.sock.send(data if len(data) <= SLICE else memoryview(data)[:SLICE], 0, 0.0)
    except BlockingIOError:
        sent = 0
    except OSError:  # a dead socket: the writer meets the error too and ends the connection
        sent = 0
    if sent < len(data):
        self.queue.put(pkt if sent == 0 and pkt is not None else _Raw(memoryview(data)[sent:]))
        direct.ensure_writer()


def _write_all(write: Any, frames: list[Frame]) -> None:
    """Write ``frames`` with ``write`` (a blocking ``sendall``): joined, in slices of :data:`SLICE` bytes.

    Small frames are joined into one write; a big one is written slice by slice
    without copying it, with a pass of the event loop between writes.
    """
    if len(frames) == 1 and len(frames[0]) <= SLICE:
        write(frames[0])
        return
    from gevent import sleep  # the writer runs only under collab's gevent server

    batch: list[Frame] = []
    size = 0
    for data in frames:
        if size + len(data) > SLICE and batch:
            write(b"".join(batch))
            sleep(0)
            batch, size = [], 0
        if len(data) <= SLICE:
            batch.append(data)
            size += len(data)
            continue
        view = memoryview(data)
        for i in range(0, len(view), SLICE):
            write(view[i : i + SLICE])
            sleep(0)
    if batch:
        write(b"".join(batch))


def _send(self: Any, pkt: Any) -> None:
    """``engineio.socket.Socket.send``: write at once when nothing is waiting, else queue (see the module)."""
    held = None if _held is None else _held.get(self)
    if held is None:
        direct: _Direct | None = self.__dict__.get("_collab_direct")
        if direct is None:
            return _stock_send(self, pkt)  # type: ignore[no-any-return]
        if direct.busy or self.queue.qsize():
            _stock_send(self, pkt)
            direct.ensure_writer()
            return None
    if not self.check_ping_timeout():
        return None
    if self.server.logger.isEnabledFor(logging.INFO):
        self.server.logger.info("%s: Sending packet %s directly", self.sid, packet.packet_names[pkt.packet_type])
    if held is not None:
        held.append(frame(pkt))
    elif _held is not None:
        _held[self] = [frame(pkt)]
    else:
        _write(self, frame(pkt), pkt)
    return None


def _take(sock: Any) -> tuple[list[Any], bool]:
    """Everything queued for ``sock`` (up to :data:`MAX_FRAMES`), and whether the end (None) was reached."""
    queue = sock.queue
    queue_empty = sock.server.get_queue_empty_exception()
    packets: list[Any] = []
    while len(packets) < MAX_FRAMES:
        try:
            pkt = queue.get(block=False)
        except queue_empty:
            break
        queue.task_done()
        if pkt is None:
            return packets, True
        packets.append(pkt)
    return packets, False


def _close(self: Any, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
    """``engineio.socket.Socket.close`` that starts the writer to carry out the close it queued."""
    direct: _Direct | None = self.__dict__.get("_collab_direct")
    if direct is None:
        return _stock_close(self, wait, abort, reason)  # type: ignore[no-any-return]
    _stock_close(self, False, abort, reason)  # queues CLOSE (unless written at once) and the end
    direct.ensure_writer()
    if wait:
        self.queue.join()
    return None


def _coalescing_handler(self: Any, ws: Any) -> Any:
    """``engineio.socket.Socket._websocket_handler`` with the coalescing writer (see the module)."""
    raw: Any = getattr(ws, "_sock", None)
    gsock = getattr(getattr(raw, "handler", None), "socket", None)
    if getattr(raw, "raw_write", None) is None or not hasattr(raw, "receive") or gsock is None:
        return _stock_handler(self, ws)
    limit = self.server.max_http_buffer_size

    def websocket_wait() -> Any:
        data = raw.receive()
        if data and len(data) > limit:
            raise ValueError("packet is too large")
        return data

    if self.connected:
        # the socket was already connected (long-polling), so this is an upgrade
        self.upgrading = True  # hold packet sends during the upgrade
        pkt = packet.Packet(encoded_packet=websocket_wait())
        if pkt.packet_type != packet.PING or pkt.data != "probe":
            self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
            self.upgrading = False
            return []
        ws.send(packet.Packet(packet.PONG, data="probe").encode())
        self.queue.put(packet.Packet(packet.NOOP))  # end poll
        pkt = packet.Packet(encoded_packet=websocket_wait())
        if pkt.packet_type != packet.UPGRADE:
            self.upgraded = False
            self.server.logger.info("%s: Failed websocket upgrade, expected UPGRADE packet", self.sid)
            self.upgrading = False
            return []
        self.upgraded = True
        self.upgrading = False
    else:
        self.connected = True
        self.upgraded = True

    def writer() -> None:
        """Write what is queued, then end: a connection with nothing queued has no writer task."""
        try:
            while True:
                packets, end = _take(self)
                if packets:
                    direct.busy = True
                    try:
                        _write_all(raw.raw_write, [frame(p) for p in packets])
                    except (OSError, TypeError, AttributeError):  # a dead socket; raw_write is None once closed
                        while not end and packets:  # drop the rest: nobody waits on the queue forever
                            packets, end = _take(self)
                        end = True
                    finally:
                        direct.busy = False
                if end:
                    try:
                        ws.close()
                    except (OSError, AttributeError):  # already torn down by the reader
                        pass
                    return
                if not packets:
                    return
        finally:
            direct.task = None

    direct = _Direct(gsock, lambda: self.server.start_background_task(writer))
    self._collab_direct = direct
    if self.queue.qsize():  # sent before the upgrade completed (the OPEN packet of a new connection)
        direct.ensure_writer()
    self.server.logger.info("%s: Upgrade to websocket successful", self.sid)

    while True:
        try:
            p = websocket_wait()
        except Exception as exc:  # noqa: BLE001 - as python-engineio: any read error ends the connection
            if not self.closed:
                self.server.logger.info('%s: Unexpected error "%s", closing connection', self.sid, exc)
            break
        if p is None:  # connection closed by the client
            break
        try:
            self.receive(packet.Packet(encoded_packet=p))
        except exceptions.UnknownPacketError:
            pass
        except exceptions.SocketIsClosedError:
            self.server.logger.info("Receive error -- socket is closed")
            break
        except Exception:
            self.server.logger.exception("Unknown receive error")
            break

    self._collab_direct = None  # from now on every packet goes through the queue
    self.queue.put(None)  # the writer writes what is queued, closes the WebSocket and ends
    direct.ensure_writer().join()
    self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
    return []
