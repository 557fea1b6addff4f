"""Socket.IO packets for collab's own server: odd client input becomes a refusable event, never a traceback.

python-socketio decodes a packet and hands ``data[0]`` to the dispatcher as the
event name. JSON it cannot parse (nested past the parser's limit, an integer
of thousands of digits) or an event whose name is not a string (an object, a
number, an empty array) would raise deep inside it and drop the connection
with a traceback. :class:`CollabPacket`, given as python-socketio's
``serializer`` (its documented extension point), turns such an EVENT into the
event :data:`MALFORMED` with a message; the namespace answers it ``bad_request``
like any unknown event, ack id and all.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

#: The event name a malformed EVENT packet is given (no client can send it: it is not valid text to send).
MALFORMED = "\x00malformed"


class CollabPacket(packet.Packet):
    """A :class:`socketio.packet.Packet` whose malformed EVENTs decode to ``[MALFORMED, message]``."""

    def decode(self, encoded_packet: Any) -> int:
        try:
            count: int = super().decode(encoded_packet)
        except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            if self.packet_type != packet.EVENT:
                raise
            self.data = [MALFORMED, f"the event is not JSON this server reads ({str(exc)[:120]})"]
            return 0
        if self.packet_type == packet.EVENT and not (
            type(self.data) is list and self.data and type(self.data[0]) is str and self.data[0] != MALFORMED
        ):
            self.data = [MALFORMED, "an event is a JSON array whose first element is its name, a string"]
        return count
