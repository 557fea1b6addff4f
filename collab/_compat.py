"""Moved: collab's patches to its libraries live in :mod:`collab._patches`, each guarded.

These names remain for code that imported them; each installs the same patch
through its guard (:func:`collab._patches.install`).
"""

from __future__ import annotations

from typing import Any

from . import _patches
from ._patches import engineio as _engineio
from ._patches import geventwebsocket as _geventwebsocket
from ._patches import socketio as _socketio
from ._patches import werkzeug as _werkzeug

POLL_RESPONSE_PACKETS = _engineio.POLL_RESPONSE_PACKETS


def patch_engineio(max_decode_packets: int) -> None:
    """The decode limit, the poll cap and the refused-POST close (fixes)."""
    _patches.install(_engineio.DECODE_LIMIT, max_decode_packets)
    _patches.install(_engineio.POLL_CAP)
    _patches.install(_engineio.REFUSED_POST)


def websocket_fallback(eio_server: Any) -> None:
    """simple-websocket where the server lacks gevent-websocket's handler (fix)."""
    _patches.install(_engineio.WEBSOCKET_FALLBACK, eio_server)


def end_werkzeug_websocket_connections() -> None:
    """Under Werkzeug, end a finished WebSocket's connection (fix)."""
    _patches.install(_werkzeug.END_CONNECTION)


def speed_up_gevent_websocket() -> None:
    """One-XOR (un)masking in gevent-websocket (speed-up)."""
    if _geventwebsocket.available():
        _patches.install(_geventwebsocket.XOR_MASK)


def lighter_pings() -> None:
    """Pings on timers (speed-up)."""
    _patches.install(_engineio.TIMER_PINGS)


def faster_binary_check() -> None:
    """orjson's answer to python-socketio's binary check (speed-up)."""
    _patches.install(_socketio.BINARY_CHECK)
