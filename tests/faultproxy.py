"""A threaded TCP proxy on 127.0.0.1 that can cut every live connection at once.

    with FaultProxy("127.0.0.1", server_port) as proxy:
        client.connect(proxy.url)
        proxy.cut_all()                 # abrupt: RST both sides, mid-batch or not
        proxy.freeze(); proxy.thaw()    # a black hole: bytes vanish, sockets stay open
        proxy.start_chaos(seed=7, min_gap=0.3, max_gap=1.5)   # cuts at random moments
        proxy.stop_chaos()

Used by the client fault tests; loopback only, bounded by the test's own loops.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
from typing import Any


def _abort(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a cut cable or a killed process would look."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    """Forward 127.0.0.1:<port> to ``target``; ``cut_all()`` kills every live connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._stopped = threading.Event()
        self._frozen = threading.Event()
        self._chaos_stop = threading.Event()
        self._chaos: threading.Thread | None = None
        self.cuts = 0
        self.connections = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _abort(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _drops(self, src: socket.socket, pair: tuple[socket.socket, socket.socket]) -> bool:
        """Whether bytes read from ``src`` vanish instead of being passed on (frozen: all of them)."""
        return self._frozen.is_set()

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self._drops(src, pair):
                    continue  # a black hole: the bytes vanish, nobody is told
                dst.sendall(data)
        except OSError:
            pass
        # One side ended: end the other (half-close is not needed by HTTP/WS here).
        with self._lock:
            alive = pair in self._pairs
            self._pairs.discard(pair)
        if alive:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass

    def cut_all(self) -> int:
        """Abort every live connection (both sockets, RST); returns how many were cut."""
        with self._lock:
            pairs = list(self._pairs)
            self._pairs.clear()
            self.cuts += 1 if pairs else 0
        for a, b in pairs:
            _abort(a)
            _abort(b)
        return len(pairs)

    def freeze(self) -> None:
        """Silently drop every byte in both directions (connections stay open): a dead link."""
        self._frozen.set()

    def thaw(self) -> None:
        """Forward again (connections that lost bytes meanwhile are broken for good)."""
        self._frozen.clear()

    def start_chaos(self, seed: int, min_gap: float = 0.3, max_gap: float = 1.5) -> None:
        """Cut all connections at random moments (a fixed ``seed`` makes the gaps repeatable)."""
        rng = random.Random(seed)
        self._chaos_stop.clear()

        def run() -> None:
            while not self._chaos_stop.wait(rng.uniform(min_gap, max_gap)):
                self.cut_all()

        self._chaos = threading.Thread(target=run, name="faultproxy-chaos", daemon=True)
        self._chaos.start()

    def stop_chaos(self) -> None:
        self._chaos_stop.set()
        if self._chaos is not None:
            self._chaos.join(5)
            self._chaos = None

    def close(self) -> None:
        self.stop_chaos()
        self._stopped.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        try:
            self._listener.close()
        except OSError:
            pass
        self.cut_all()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
