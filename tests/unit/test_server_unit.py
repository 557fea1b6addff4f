"""Start-up helpers of ``python app.py`` (collab.server)."""

from __future__ import annotations

import gc
import socket

from collab.server import freeze_startup_objects, listener


def test_listener_sets_nodelay_for_every_accepted_socket() -> None:
    srv = listener("127.0.0.1", 0)
    try:
        client = socket.create_connection(srv.getsockname())
        conn, _ = srv.accept()
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        conn.close()
        client.close()
    finally:
        srv.close()


def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # objects made after start-up are still collected
    finally:
        gc.unfreeze()
