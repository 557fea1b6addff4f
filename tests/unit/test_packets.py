"""Acks encoded straight to bytes travel exactly as python-socketio would send them."""

from __future__ import annotations

import orjson
import pytest
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from collab import _json, watchdogs
from collab._wswriter import frame
from collab.packets import CollabPacket, encoded_ack

STORED = b'[{"id":"s","points":[[1,2.5]],"title":"\xc3\xa9t\xc3\xa9"}]'  # items as the store keeps them
JOIN = {"ok": True, "seq": 7, "strokes": orjson.Fragment(STORED)}


def stock(namespace: str | None, ack_id: int, args: list) -> eio_packet.Packet:
    """The Engine.IO packet python-socketio's own path sends for this ack."""
    CollabPacket.json = _json
    text = CollabPacket(sio_packet.ACK, namespace=namespace, id=ack_id, data=args).encode()
    return eio_packet.Packet(eio_packet.MESSAGE, data=text)


@pytest.mark.parametrize("namespace", ["/", None, "/collab", "/ünï"])
@pytest.mark.parametrize("args", [[JOIN], [{"ok": False, "error": {"code": "bad_request"}}], [], [None]])
def test_an_encoded_ack_has_the_text_and_frame_of_python_socketios_ack(namespace: str | None, args: list) -> None:
    mine = encoded_ack(namespace, 12345, args)
    assert mine is not None
    theirs = stock(namespace, 12345, args)
    assert mine.encode() == theirs.encode()
    assert frame(mine) == frame(theirs)


def test_an_encoded_ack_is_counted_by_the_slow_reader_watchdog_by_its_size() -> None:
    class Sock:
        class queue:  # stands in for gevent's queue object
            queue = [encoded_ack("/", 1, [{"big": "x" * 100_000}])]

            @staticmethod
            def qsize() -> int:
                return 1

    assert 100_000 < watchdogs.queued_bytes(Sock) < 100_100


def test_an_ack_holding_bytes_is_left_to_python_socketio() -> None:
    assert encoded_ack("/", 1, [{"file": b"\x89PNG"}]) is None
