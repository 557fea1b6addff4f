"""The WebSocket writer's frames are byte for byte what gevent-websocket would send."""

from __future__ import annotations

import pytest
from engineio import packet
from geventwebsocket.websocket import Header

from collab._wswriter import _Raw, frame


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
