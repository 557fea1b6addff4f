"""Configuration keys, their defaults, and reading them from the environment.

Every key is prefixed ``COLLAB_``; :data:`DEFAULTS` is the one place their
defaults are set. ``docs/configuration.md`` describes each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    # storage
    "COLLAB_DATABASE": "sqlite:///collab.db",
    "COLLAB_SQLITE_SYNCHRONOUS": "NORMAL",
    "COLLAB_SQLITE_BUSY_TIMEOUT": 5.0,
    "COLLAB_OPLOG_KEEP": 10_000,
    "COLLAB_STORE_TIMEOUT": 15.0,
    "COLLAB_DB_THREADS": 4,
    "COLLAB_JOIN_CACHE_BYTES": 64_000_000,
    # transport
    "COLLAB_NAMESPACE": "/notes",
    "COLLAB_URL_PREFIX": "",
    "COLLAB_ASYNC_MODE": "gevent",
    "COLLAB_MESSAGE_QUEUE": None,
    "COLLAB_MESSAGE_QUEUE_CHANNEL": "flask-socketio",
    "COLLAB_PRESENCE_URL": None,
    "COLLAB_CORS_ORIGINS": None,
    "COLLAB_ALLOWED_HOSTS": None,
    "COLLAB_PING_INTERVAL": 25.0,
    "COLLAB_PING_TIMEOUT": 20.0,
    "COLLAB_MAX_MESSAGE_BYTES": 1_000_000,
    "COLLAB_MAX_DECODE_PACKETS": 1024,
    # notes
    "COLLAB_AUTO_CREATE": True,
    "COLLAB_MAX_POINTS": 5000,
    "COLLAB_MAX_STROKES_PER_NOTE": 100_000,
    "COLLAB_MAX_NOTES_JOINED": 32,
    "COLLAB_MAX_EXPORT_POINTS": 2_000_000,
    "COLLAB_MAX_FILE_BYTES": 10_000_000,
    "COLLAB_MAX_NOTE_FILE_BYTES": 100_000_000,
    "COLLAB_MAX_IMAGE_PIXELS": 40_000_000,
    "COLLAB_EXPORT_WORKERS": 2,
    "COLLAB_EXPORT_CACHE_BYTES": 64_000_000,
    # limits
    "COLLAB_RATE_OPS": 200.0,
    "COLLAB_RATE_OPS_BURST": 1000,
    "COLLAB_RATE_VOLATILE": 60.0,
    "COLLAB_RATE_VOLATILE_BURST": 120,
    "COLLAB_RATE_JOINS": 5.0,
    "COLLAB_RATE_JOINS_BURST": 30,
    "COLLAB_RATE_JOIN_BYTES": 16_000_000,
    "COLLAB_RATE_JOIN_BYTES_BURST": 64_000_000,
    "COLLAB_FLOOD_LIMIT": 200,
    "COLLAB_FLOOD_WINDOW": 10.0,
    "COLLAB_MAX_CONNECTIONS_PER_IP": 256,
    "COLLAB_TRUST_PROXY": False,
    "COLLAB_HEADER_TIMEOUT": 10.0,
    "COLLAB_IDLE_TIMEOUT": 75.0,
    "COLLAB_MAX_SOCKETS_PER_IP": 512,
    "COLLAB_MAX_QUEUED_PACKETS": 2000,
    "COLLAB_MAX_QUEUED_BYTES": 32_000_000,
    "COLLAB_MAX_OPS_IN_FLIGHT": 64,
    "COLLAB_FAST_POLLING": True,
    "COLLAB_METRICS": True,
    # access
    "COLLAB_SECRET_KEY": None,
    "COLLAB_DEFAULT_ROLE": "edit",
    "COLLAB_SHARE_MAX_AGE": 30 * 24 * 3600,
    "COLLAB_MAX_NOTES": None,
    # pages
    "COLLAB_LOGIN_URL": None,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(key: str, raw: str) -> Any:
    default = DEFAULTS.get(key)
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"{key} must be true or false, got {raw!r}")
    if isinstance(default, int) or key == "COLLAB_MAX_NOTES":
        if raw.strip().lower() in ("", "none"):
            return None
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if key == "COLLAB_ALLOWED_HOSTS":
        return [h.strip().lower() for h in raw.split(",") if h.strip()] or None
    if key == "COLLAB_CORS_ORIGINS":
        return [o.strip() for o in raw.split(",") if o.strip()] if raw.strip() != "*" else "*"
    return raw or None


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``COLLAB_*`` keys set in the environment, converted to their types."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key in DEFAULTS:
        if key in environ:
            try:
                out[key] = _coerce(key, environ[key])
            except ValueError as exc:
                from .errors import ConfigError

                raise ConfigError(f"environment variable {key}: {exc}") from exc
    return out
