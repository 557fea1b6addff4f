"""Socket.IO over a bare WebSocket, for the clients that must cost the benchmark nothing.

Two clients of collab's ``/notes`` namespace that skip python-socketio:

- :class:`Joiner` joins one note again and again over ``websocket-client`` and waits for
  each ack by its packet prefix, without decoding its JSON (so its own CPU stays small
  beside the server's: it measures the server's work for a big join, not a client's);
- :class:`DeafClient` writes a WebSocket upgrade and its events on a plain socket and
  never reads anything: whatever the server sends it piles up in the server.

The Engine.IO v4 / Socket.IO v5 packets: ``40/notes,`` connects the namespace,
``42/notes,<id>["join",{...}]`` is an event with ack id, ``43/notes,<id>[...]`` its ack,
``2``/``3`` are ping and pong.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
from typing import Any

NAMESPACE = "/notes"
PATH = "/socket.io/?EIO=4&transport=websocket"


def join_packet(ack_id: int, note: str) -> str:
    """The Socket.IO text of ``join {note}`` with ack id ``ack_id``."""
    return f"42{NAMESPACE},{ack_id}" + json.dumps(["join", {"note": note}], separators=(",", ":"))


def ws_frame(text: str) -> bytes:
    """One masked WebSocket text frame (a client's frames must be masked)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Joiner(threading.Thread):
    """Joins ``note`` back to back between :meth:`begin` and :meth:`finish`; ``times`` are the joins' seconds.

    Not started, it is a plain connection: :meth:`join_once` joins once (then :meth:`close`).
    """

    def __init__(self, base_url: str, note: str) -> None:
        super().__init__(daemon=True)
        import websocket  # websocket-client, a python-socketio[client] dependency

        self.note = note
        self.ws = websocket.create_connection(
            base_url.replace("http://", "ws://") + PATH, timeout=120, skip_utf8_validation=True
        )
        self._recv_until("0")  # Engine.IO open
        self.ws.send(f"40{NAMESPACE},")
        self._recv_until(f"40{NAMESPACE},")
        self.times: list[float] = []
        self.failures = 0
        self._ack_id = 0
        #: size of the last join ack, in bytes of its Socket.IO packet
        self.ack_bytes = 0
        self.error: str | None = None
        self._begun = threading.Event()
        self._done = threading.Event()

    def _recv_until(self, prefix: str) -> str:
        while True:
            msg = self.ws.recv()
            if msg == "2":
                self.ws.send("3")
            elif isinstance(msg, str) and msg.startswith(prefix):
                return msg

    def begin(self) -> None:
        """Start joining (the thread must have been started)."""
        self._begun.set()

    def finish(self) -> None:
        """Stop after the join in progress."""
        self._done.set()
        self._begun.set()

    def join_once(self) -> bool:
        """One join, timed into ``times``; True when its ack is ``ok`` (the thread's loop, or called directly)."""
        self._ack_id += 1
        prefix = f"43{NAMESPACE},{self._ack_id}["
        t0 = time.perf_counter()
        self.ws.send(join_packet(self._ack_id, self.note))
        ack = self._recv_until(prefix)
        self.times.append(time.perf_counter() - t0)
        self.ack_bytes = len(ack.encode())
        ok = ack.startswith(prefix + '{"ok":true')
        self.failures += not ok
        return ok

    def run(self) -> None:
        self._begun.wait()
        try:
            while not self._done.is_set():
                self.join_once()
        except Exception as exc:  # noqa: BLE001 - reported in the record
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.close()

    def close(self) -> None:
        """Close the WebSocket."""
        self.ws.close()


class DeafClient:
    """A raw client that connects, sends ``joins`` joins of ``note`` and never reads its socket."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.sock.sendall(ws_frame(f"40{NAMESPACE},"))

    def send_joins(self, note: str, joins: int) -> None:
        """Ask for ``joins`` joins of ``note`` (each answered with the whole note)."""
        self.sock.sendall(b"".join(ws_frame(join_packet(i + 1, note)) for i in range(joins)))

    def receive_buffer_bytes(self) -> int:
        """Bytes the kernel holds for this socket, unread (``SIOCINQ``)."""
        import fcntl
        import termios

        buf = fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])

    def close(self) -> None:
        """Close without reading."""
        self.sock.close()


def describe(joiner: Joiner) -> dict[str, Any]:
    """What a :class:`Joiner` did: joins, failures, seconds per join (p50, max)."""
    t = sorted(joiner.times)
    return {
        "joins": len(t),
        "failures": joiner.failures,
        "error": joiner.error,
        "join_ms_p50": t[len(t) // 2] * 1000 if t else None,
        "join_ms_max": t[-1] * 1000 if t else None,
    }
