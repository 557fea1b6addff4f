"""Prometheus metrics of one app (its own registry, so two apps never mix figures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Metrics:
    """Counters, gauges and histograms exported at ``/metrics``."""

    def __init__(self, connections: Callable[[], float], rooms: Callable[[], float]) -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:  # pragma: no cover - a listed dependency
            raise ImportError("metrics need prometheus-client: pip install prometheus-client") from exc
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        r = self.registry
        prom.ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds
        prom.Gauge("collab_connections", "Open Socket.IO connections in the notes namespace", registry=r).set_function(
            connections
        )
        prom.Gauge("collab_rooms", "Notes with at least one member", registry=r).set_function(rooms)
        self.ops = prom.Counter("collab_ops", "Ops committed, by kind", ["kind"], registry=r)
        self.events = prom.Counter(
            "collab_events", "Client events handled, by event and outcome", ["event", "outcome"], registry=r
        )
        self.errors = prom.Counter("collab_errors", "Error acks and refusals, by contract code", ["code"], registry=r)
        self.batch = prom.Histogram(
            "collab_commit_batch_ops", "Ops per committed transaction", registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        )  # fmt: skip
        self.commit_seconds = prom.Histogram(
            "collab_commit_seconds", "Time to commit one batch", registry=r,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5),
        )  # fmt: skip
        self.broadcast_seconds = prom.Histogram(
            "collab_broadcast_seconds", "From an op's arrival to its broadcast being queued for the room", registry=r,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5),
        )  # fmt: skip
        self.kicked = prom.Counter(
            "collab_disconnects_forced", "Connections dropped by the server, by reason", ["reason"], registry=r
        )
        self.joins_paced = prom.Counter(
            "collab_joins_paced", "Join acks held back by COLLAB_RATE_JOIN_BYTES", registry=r
        )

    def count(self, name: str, documentation: str, total: Callable[[], float]) -> None:
        """Export ``total()``, a running total kept elsewhere, as the counter ``name``."""
        self.registry.register(_TotalCollector(name, documentation, total))

    def event(self, event: str, ack: Any) -> None:
        """Count one handled event from its ack."""
        if isinstance(ack, dict) and ack.get("ok") is False:
            code = ack.get("error", {}).get("code", "internal")
            self.events.labels(event, code).inc()
            self.errors.labels(code).inc()
        else:
            self.events.labels(event, "ok").inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST


class _TotalCollector:
    """A counter read from a function at scrape time (nothing to update per event)."""

    def __init__(self, name: str, documentation: str, total: Callable[[], float]) -> None:
        from prometheus_client.core import CounterMetricFamily

        self._family = CounterMetricFamily
        self._name, self._doc, self._total = name, documentation, total

    def describe(self) -> list[Any]:
        return [self._family(self._name, self._doc)]

    def collect(self) -> list[Any]:
        return [self._family(self._name, self._doc, value=self._total())]
