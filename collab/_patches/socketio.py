"""A patch to python-socketio's packet encoder.

Speed-up :data:`BINARY_CHECK`: ``socketio.packet.Packet.data_is_binary`` walks
every value in Python (every point of every stroke, ~40 us per broadcast, ~11 ms
for a join ack of 300 strokes). orjson refuses bytes, so data it can serialize
holds none; anything it refuses is walked the stock way: the same answers.

Checked on python-socketio 5.12.0 to 5.18.1.
"""

from __future__ import annotations

from typing import Any

from . import SPEEDUP, Patch

_stock_data_is_binary: Any = None
_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a listed dependency
    _orjson = None


def _fast_data_is_binary(cls: Any, data: Any) -> bool:
    """``socketio.packet.Packet.data_is_binary`` with a C-speed answer for plain JSON data."""
    if isinstance(data, (bytes, bytearray)):
        return True
    if _orjson is not None:
        try:
            _orjson.dumps(data)
            return False
        except TypeError:
            pass
    return _stock_data_is_binary(data)  # type: ignore[no-any-return]


def _install() -> None:
    global _stock_data_is_binary
    from socketio import packet as sio_packet

    current = sio_packet.Packet.__dict__["data_is_binary"]
    if getattr(current, "__func__", None) is _fast_data_is_binary:
        return
    _stock_data_is_binary = sio_packet.Packet.data_is_binary
    sio_packet.Packet.data_is_binary = classmethod(_fast_data_is_binary)  # type: ignore[method-assign, assignment]


BINARY_CHECK = Patch(
    name="socketio-binary-check",
    kind=SPEEDUP,
    library="python-socketio",
    what="the check for binary data in a packet at C speed (orjson)",
    checked="5.12.0-5.18.1",
    targets={"socketio.packet:Packet.data_is_binary": frozenset({"70af827d27f2c57d"})},
    apply=_install,
)

PATCHES = (BINARY_CHECK,)
