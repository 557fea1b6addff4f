"""The WebSocket writer: frames byte for byte what gevent-websocket would send; held-back writes."""

from __future__ import annotations

import logging

import pytest
from engineio import packet
from geventwebsocket.websocket import Header

from collab import _wswriter
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
