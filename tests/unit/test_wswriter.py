"""The WebSocket writer: frames byte for byte what gevent-websocket would send; held-back writes."""

from __future__ import annotations

import itertools
import logging

import pytest
from engineio import packet
from geventwebsocket.websocket import Header

from collab import _wswriter, watchdogs
from collab._wswriter import _Direct, _Raw, _send, frame, hold


@pytest.mark.parametrize("size", [0, 1, 124, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_matches_gevent_websocket(size: int) -> None:
    pkt = packet.Packet(packet.MESSAGE, data="é" * (size // 2) + "x" * (size % 2))
    payload = pkt.encode().encode("utf-8")
    expected = bytes(Header.encode_header(True, 0x1, b"", len(payload), 0)) + payload
    assert frame(pkt) == expected
    assert frame(pkt) is frame(pkt)  # built once, shared by every recipient


def test_binary_frame_matches_gevent_websocket() -> None:
    pkt = packet.Packet(packet.MESSAGE, data=b"\x00\x01binary" * 40)
    payload = pkt.encode()
    assert frame(pkt) == bytes(Header.encode_header(True, 0x2, b"", len(payload), 0)) + payload


def test_rest_of_a_partial_write_is_sent_as_is() -> None:
    assert frame(_Raw(b"\x81\x05hello")) == b"\x81\x05hello"


class _Kernel:
    """A socket that takes everything and records each ``send`` call."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def send(self, data: bytes, flags: int = 0, timeout: float | None = None) -> int:
        self.sends.append(bytes(data))
        return len(data)


class _Conn:
    """The parts of an ``engineio.socket.Socket`` the direct path uses."""

    def __init__(self, kernel: _Kernel) -> None:
        self._collab_direct = _Direct(kernel, lambda: pytest.fail("nothing should be queued"))
        self.queue = type("Q", (), {"qsize": staticmethod(lambda: 0)})()
        self.server = type("S", (), {"logger": logging.getLogger("test.wswriter")})()

    def check_ping_timeout(self) -> bool:
        return True


def test_hold_joins_a_batch_with_the_acks_its_senders_send_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A member that gets a broadcast and, from its own task, its ack gets both in one send."""
    gevent = pytest.importorskip("gevent")
    monkeypatch.setattr(_wswriter, "active", True)  # as collab's own server has it
    from gevent.event import Event

    kernel = _Kernel()
    conn = _Conn(kernel)
    committed = Event()
    op = packet.Packet(packet.MESSAGE, data='2["stroke",{"seq":1}]')
    ack = packet.Packet(packet.MESSAGE, data='31[{"ok":true,"seq":2}]')

    def sender() -> None:  # the member's own event task, woken by the commit
        committed.wait()
        _send(conn, ack)

    task = gevent.spawn(sender)
    gevent.sleep(0)  # the sender waits for its commit
    hold()  # what the committer does before it broadcasts a batch...
    _send(conn, op)
    committed.set()  # ...and wakes the batch's senders
    assert kernel.sends == []  # held back
    task.join(timeout=5)
    gevent.sleep(0)
    assert kernel.sends == [frame(op) + frame(ack)]  # in order, one system call
    _send(conn, op)  # no hold open any more: written at once
    assert kernel.sends[-1] == frame(op) and len(kernel.sends) == 2


def test_hold_is_a_no_op_while_the_writer_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a host's process (init_app installs no speed-up) the namespace's hold() changes nothing."""
    monkeypatch.setattr(_wswriter, "active", False)
    hold()
    assert _wswriter._held is None


class _Queue:
    """An Engine.IO socket's queue, as far as the direct path uses it."""

    def __init__(self) -> None:
        self.items: list = []
        self.queue = self.items  # what watchdogs.queued_bytes reads, as in gevent's queue

    def qsize(self) -> int:
        return len(self.items)

    def put(self, item: object) -> None:
        self.items.append(item)


def test_a_big_direct_write_sends_one_slice_and_queues_the_rest_without_copying() -> None:
    kernel = _Kernel()
    conn = _Conn(kernel)
    conn.queue = _Queue()
    started = []
    conn._collab_direct.start_writer = lambda: started.append(1) or "task"
    data = bytes(range(256)) * (3 * _wswriter.SLICE // 256 + 7)
    _wswriter._write(conn, data, None)
    assert kernel.sends == [data[: _wswriter.SLICE]]
    (rest,) = conn.queue.items
    assert isinstance(rest.data, memoryview) and rest.data.obj is data  # a view, not a copy
    assert bytes(frame(rest)) == data[_wswriter.SLICE :] and started == [1]
    # The byte bound on a connection's queue counts that rest too.
    assert watchdogs.queued_bytes(conn) == len(data) - _wswriter.SLICE


def test_the_writer_writes_a_big_frame_in_slices_and_lets_others_run_between_them() -> None:
    """A join of a big note is megabytes: written whole, it kept the loop from everyone else's sends."""
    gevent = pytest.importorskip("gevent")
    writes: list[tuple[int, int]] = []  # (bytes written, how often the other task had run by then)
    ran = [0]

    def other() -> None:
        while True:
            ran[0] += 1
            gevent.sleep(0)

    task = gevent.spawn(other)
    gevent.sleep(0)
    big = b"x" * (2 * _wswriter.SLICE + 10)
    small = [b"a" * 10, b"b" * 20]
    try:
        _wswriter._write_all(lambda data: writes.append((len(data), ran[0])), [*small, big, b"c" * 5])
    finally:
        task.kill()
    S = _wswriter.SLICE
    assert [n for n, _ in writes] == [30, S, S, 10, 5]  # small frames joined, the big one sliced
    seen = [r for _, r in writes]
    assert all(b > a for a, b in itertools.pairwise(seen))  # the loop ran between writes


def test_a_small_write_is_one_system_call() -> None:
    writes: list[bytes] = []
    _wswriter._write_all(writes.append, [b"\x81\x02hi"])
    assert writes == [b"\x81\x02hi"]
