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
