"""A patch to gevent-websocket's frame (un)masking.

Speed-up :data:`XOR_MASK`: gevent-websocket unmasks every received frame with a
Python loop per byte; one big-integer XOR does the same in C. (UTF-8 validation
is sped up by installing ``wsaccel``, which gevent-websocket picks up by itself.)

Checked on gevent-websocket 0.10.1 (its last release).
"""

from __future__ import annotations

from typing import Any

from . import SPEEDUP, Patch


def available() -> bool:
    """Whether gevent-websocket is installed."""
    try:
        import geventwebsocket.websocket  # noqa: F401
    except ImportError:
        return False
    return True


def _xor_mask(self: Any, payload: bytes | bytearray) -> bytearray:
    """gevent-websocket's (un)masking, as one big-integer XOR instead of a loop per byte."""
    n = self.length
    if n == 0:
        return bytearray()
    mask = (bytes(self.mask) * (n // 4 + 1))[:n]
    return bytearray((int.from_bytes(payload[:n], "little") ^ int.from_bytes(mask, "little")).to_bytes(n, "little"))


def _install() -> None:
    from geventwebsocket.websocket import Header

    if Header.mask_payload is not _xor_mask:
        Header.mask_payload = _xor_mask  # type: ignore[method-assign]
        Header.unmask_payload = _xor_mask  # type: ignore[method-assign]


XOR_MASK = Patch(
    name="geventwebsocket-xor-mask",
    kind=SPEEDUP,
    library="gevent-websocket",
    what="WebSocket frames unmasked with one XOR instead of a Python loop per byte",
    checked="0.10.1",
    targets={
        "geventwebsocket.websocket:Header.mask_payload": frozenset({"72d3b8a5ac7880a1"}),
        "geventwebsocket.websocket:Header.unmask_payload": frozenset({"72d3b8a5ac7880a1"}),
    },
    apply=_install,
)

PATCHES = (XOR_MASK,)
