"""python-socketio's client with a fix for saying goodbye over long-polling.

The stock Engine.IO client (python-engineio 4.15) loses a polling client's last
packets when ``disconnect()`` is called while a POST is still in flight:
``disconnect()`` queues the Socket.IO DISCONNECT and Engine.IO CLOSE packets and
marks the client "disconnecting"; the writer thread, back from its POST, sees
the client is no longer "connected" and ends without sending them. The server
is never told, so the client stays in its rooms (a ghost in presence) until the
ping timeout, 45 s later, and ``disconnect()`` itself waits for the pending long
poll, up to the 25 s ping interval. A script that sends and then closes at once
hits it often.

:class:`Client` is ``socketio.Client`` with an Engine.IO client whose writer,
once it ends while the client is disconnecting over long-polling, sends that
goodbye in one last POST. Only the goodbye: events still queued are given up,
as the stock client gives them up, since a caller that resends them on its next
connection (:class:`collab.client.NoteClient` does) would see them applied twice.

It also sends the connection's extra headers (``headers=`` of ``connect``) with
every long-polling request, not only the handshake: the stock client forgets
them after the first GET, so a host site or proxy that checks its login cookie
or an ``Authorization`` header on each request refused every later poll. A
``Cookie`` header is merged with the cookies the server set.

Its Socket.IO packets are parsed by :mod:`collab._json` (orjson, with the
garbage collector paused for a big text such as a join's state), through a
packet class of its own, so no other client or server in the process changes.
"""

from __future__ import annotations

import re
from typing import Any

import engineio
import engineio.packet
import socketio
from engineio.payload import Payload
from socketio import packet

from . import _json

__all__ = ["Client"]


class _EngineIOClient(engineio.Client):  # type: ignore[misc]
    """``engineio.Client`` whose polling writer sends the queued goodbye it would drop, and whose
    polling requests all carry the connection's extra headers."""

    _every_request: dict[str, str] | None = None

    def connect(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        transports: Any = None,
        engineio_path: str = "engine.io",
    ) -> Any:
        self._every_request = dict(headers or {})
        return super().connect(url, headers=headers, transports=transports, engineio_path=engineio_path)

    def _send_request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        extra = self._every_request
        if extra:
            merged = {**extra, **(headers or {})}
            key = next((k for k in merged if k.lower() == "cookie"), None)
            jar = getattr(self.http, "cookies", None)
            if key is not None and jar:
                # an explicit Cookie header would hide the session's own cookies (a sticky-session one)
                merged[key] = "; ".join([merged[key], *(f"{c.name}={c.value}" for c in jar)])
            headers = merged
        return super()._send_request(method, url, headers=headers, body=body, timeout=timeout)

    def _write_loop(self) -> None:
        super()._write_loop()
        if self.state == "disconnecting" and self.current_transport == "polling":
            self._send_leftovers()

    def _send_leftovers(self) -> None:
        """POST the goodbye queued before the stop marker: the DISCONNECT and CLOSE packets only.

        Events and acks still queued are dropped, as the stock client drops
        them: a caller that disconnects without waiting has given them up,
        and :class:`collab.client.NoteClient` sends its unacknowledged ops
        again on its next connection, so delivering them here as well would
        apply a ``move`` twice.
        """
        packets: list[Any] = []
        while True:
            try:
                pkt = self.queue.get(block=False)
            except self.queue_empty:
                break
            self.queue.task_done()
            if pkt is None:
                break
            if _is_goodbye(pkt):
                packets.append(pkt)
        if packets:
            self.logger.info("Sending the goodbye queued before the disconnect")
            self._send_request(
                "POST",
                self.base_url,
                body=Payload(packets=packets).encode(),
                headers={"Content-Type": "text/plain"},
                timeout=self.request_timeout,
            )


def _is_goodbye(pkt: Any) -> bool:
    """An Engine.IO CLOSE, or a MESSAGE holding a Socket.IO DISCONNECT (its text starts with ``1``)."""
    if pkt.packet_type == engineio.packet.CLOSE:
        return True
    data = pkt.data
    return bool(pkt.packet_type == engineio.packet.MESSAGE and isinstance(data, str) and data[:1] == "1")


#: A Socket.IO packet's header (type, attachments, namespace, ack id) before its JSON: ``43/notes,12``.
_HEADER = re.compile(r"\d(?:\d{1,10}-)?(?:/[^,\[{]*,)?\d*")


class _Packet(packet.Packet):  # type: ignore[misc]
    """Socket.IO packets parsed and written by :mod:`collab._json`.

    A big one (a join's state) is cut once, between its header and its JSON:
    python-socketio's parser takes the header off in three slices, each a copy
    of the whole text, megabytes each.
    """

    json = _json

    def decode(self, encoded_packet: Any) -> Any:
        ep = encoded_packet
        if isinstance(ep, str) and len(ep) >= _json.BIG_TEXT:
            head = _HEADER.match(ep, 0, 128)
            if head is not None and ep[head.end() : head.end() + 1] in ("[", "{"):
                attachments = super().decode(ep[: head.end()])
                self.data = self.json.loads(ep[head.end() :])
                return attachments
        return super().decode(ep)


class Client(socketio.Client):  # type: ignore[misc]
    """``socketio.Client`` that tells the server it leaves, also over long-polling, and parses
    packets fast (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", _Packet)
        # websocket-client checks a fragmented text message's UTF-8 byte by byte in Python
        # (without wsaccel); the message is decoded as UTF-8 right after, which checks it again in C
        kwargs["websocket_extra_options"] = {"skip_utf8_validation": True, **kwargs.get("websocket_extra_options", {})}
        super().__init__(*args, **kwargs)

    def _engineio_client_class(self) -> type[engineio.Client]:
        return _EngineIOClient
