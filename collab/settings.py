"""The realtime layer's settings, typed and read once from the ``COLLAB_*`` config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .ops import Limits


@dataclass(frozen=True, slots=True)
class RealtimeSettings:
    """What the namespace and its handlers need of the configuration (see docs/configuration.md)."""

    limits: Limits
    auto_create: bool
    max_notes: int | None
    max_notes_joined: int
    rate_ops: float
    rate_ops_burst: float
    rate_volatile: float
    rate_volatile_burst: float
    rate_joins: float
    rate_joins_burst: float
    #: Bytes of join acks per second per connection (0: unpaced), and the burst.
    rate_join_bytes: float
    rate_join_bytes_burst: float
    flood_limit: int
    flood_window: float
    max_connections_per_ip: int
    trust_proxy: bool
    max_queued_packets: int
    max_queued_bytes: int
    max_in_flight: int
    store_timeout: float
    allowed_hosts: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RealtimeSettings:
        """Read the keys from an app's resolved config (every key present: see :data:`collab.config.DEFAULTS`)."""
        return cls(
            limits=Limits(max_points=int(config["COLLAB_MAX_POINTS"])),
            auto_create=bool(config["COLLAB_AUTO_CREATE"]),
            max_notes=config["COLLAB_MAX_NOTES"],
            max_notes_joined=int(config["COLLAB_MAX_NOTES_JOINED"]),
            rate_ops=float(config["COLLAB_RATE_OPS"]),
            rate_ops_burst=float(config["COLLAB_RATE_OPS_BURST"]),
            rate_volatile=float(config["COLLAB_RATE_VOLATILE"]),
            rate_volatile_burst=float(config["COLLAB_RATE_VOLATILE_BURST"]),
            rate_joins=float(config["COLLAB_RATE_JOINS"]),
            rate_joins_burst=float(config["COLLAB_RATE_JOINS_BURST"]),
            rate_join_bytes=float(config["COLLAB_RATE_JOIN_BYTES"] or 0),
            rate_join_bytes_burst=float(config["COLLAB_RATE_JOIN_BYTES_BURST"] or 0),
            flood_limit=int(config["COLLAB_FLOOD_LIMIT"]),
            flood_window=float(config["COLLAB_FLOOD_WINDOW"]),
            max_connections_per_ip=int(config["COLLAB_MAX_CONNECTIONS_PER_IP"] or 0),
            trust_proxy=bool(config["COLLAB_TRUST_PROXY"]),
            max_queued_packets=int(config["COLLAB_MAX_QUEUED_PACKETS"] or 0),
            max_queued_bytes=int(config["COLLAB_MAX_QUEUED_BYTES"] or 0),
            max_in_flight=int(config["COLLAB_MAX_OPS_IN_FLIGHT"]),
            store_timeout=float(config["COLLAB_STORE_TIMEOUT"]),
            allowed_hosts=tuple(config["COLLAB_ALLOWED_HOSTS"]) if config.get("COLLAB_ALLOWED_HOSTS") else None,
        )
