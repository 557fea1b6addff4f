"""collab's python-socketio client: its packets are parsed by collab's JSON codec, and nobody else's are."""

from __future__ import annotations

import json
import types

import engineio.packet
import pytest
import socketio.packet

from collab import _json
from collab._sioclient import Client


def test_the_client_parses_its_packets_with_collabs_codec() -> None:
    client = Client(reconnection=False, handle_sigint=False)
    assert client.packet_class.json is _json
    pkt = client.packet_class(encoded_packet='3/notes,7[{"ok":true,"n":123456789012345678901234567890}]')
    assert pkt.data == [{"ok": True, "n": 123456789012345678901234567890}]


def test_other_clients_and_servers_in_the_process_keep_their_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = types.SimpleNamespace(loads=json.loads, dumps=json.dumps)  # what someone else chose
    monkeypatch.setattr(socketio.packet.Packet, "json", theirs)
    monkeypatch.setattr(engineio.packet.Packet, "json", theirs)
    Client(reconnection=False, handle_sigint=False)
    assert socketio.packet.Packet.json is theirs and engineio.packet.Packet.json is theirs


BIG = [{"id": f"s{i}", "points": [[i, 0.5]] * 8} for i in range(2500)]


@pytest.mark.parametrize(
    "head",
    ["3/notes,7", "37", "3", "2/notes,", "3/notes?token=ab,12", "51-/notes,4", "3/a[b,7"],
)
def test_a_big_packet_decodes_as_python_socketio_decodes_it(head: str) -> None:
    text = head + json.dumps(["state", {"ok": True, "strokes": BIG}])
    assert len(text) >= _json.BIG_TEXT
    ours = Client(reconnection=False, handle_sigint=False).packet_class(encoded_packet=text)
    stock = socketio.packet.Packet(encoded_packet=text)
    assert (ours.packet_type, ours.namespace, ours.id, ours.attachment_count, ours.data) == (
        stock.packet_type,
        stock.namespace,
        stock.id,
        stock.attachment_count,
        stock.data,
    )
