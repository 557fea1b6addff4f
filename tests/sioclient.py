"""A thin test peer over python-socketio's client: records every event it receives.

It is collab's ``Client`` (``collab._sioclient``): the stock client with the fix
that lets a long-polling client tell the server it leaves when it closes while
a POST is in flight; without it such a close waits 25 s and the server keeps
the peer until its ping timeout.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from collab._sioclient import Client

NS = "/notes"
EVENTS = (
    "stroke",
    "remove",
    "clear",
    "update",
    "move",
    "restore",
    "presence",
    "cursor",
    "draft",
    "deleted",
    "renamed",
    "error",
)


def wait_on(cv: threading.Condition, predicate: Callable[[], bool], timeout: float = 15) -> bool:
    """Wait until ``predicate()`` (checked under ``cv``, re-checked when notified); False on timeout."""
    deadline = time.monotonic() + timeout
    with cv:
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            cv.wait(min(left, 0.2))
    return True


class Peer:
    """One connected client; ``got[event]`` lists the payloads received."""

    def __init__(self, url: str, transport: str = "websocket", auth: dict[str, Any] | None = None) -> None:
        self.sio = Client(reconnection=False)
        self.got: dict[str, list[Any]] = defaultdict(list)
        self._cv = threading.Condition()
        for ev in EVENTS:
            self.sio.on(ev, self._recorder(ev), namespace=NS)
        self.sio.connect(url, namespaces=[NS], transports=[transport], auth=auth, wait_timeout=10)

    def _recorder(self, ev: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self._cv:
                self.got[ev].append(data)
                self._cv.notify_all()

        return record

    @property
    def sid(self) -> str:
        return self.sio.get_sid(NS)  # type: ignore[no-any-return]

    def call(self, event: str, data: Any = None, timeout: float = 15) -> Any:
        return self.sio.call(event, data, namespace=NS, timeout=timeout)

    def emit(self, event: str, data: Any = None, callback: Callable[..., Any] | None = None) -> None:
        self.sio.emit(event, data, namespace=NS, callback=callback)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 15) -> bool:
        return wait_on(self._cv, predicate, timeout)

    def close(self) -> None:
        self.sio.disconnect()


def stroke(note: str, sid: str, **extra: Any) -> dict[str, Any]:
    data = {"note": note, "id": sid, "color": "#e03131", "width": 3, "points": [[0, 0], [10, 20.5]]}
    data.update(extra)
    return data
