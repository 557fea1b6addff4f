"""``COLLAB_ALLOWED_HOSTS``: which ``Host`` names requests and sockets may use (pure).

Like Django's ``ALLOWED_HOSTS``: on a plain-HTTP deployment, a DNS name an
attacker rebinds to the server's address would otherwise be served as the
server's own origin. Entries are host names without the port: ``notes.example.com``
matches exactly, ``.example.com`` that domain and every subdomain, ``*`` anything.
Unset (the default), every host is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence


def host_name(header: str | None) -> str:
    """The host name of a ``Host`` header, lower-cased, without its port (IPv6 literals keep their brackets)."""
    host = (header or "").strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed(header: str | None, patterns: Sequence[str] | None) -> bool:
    """Whether a request with this ``Host`` header may be served."""
    if not patterns:
        return True
    host = host_name(header)
    if not host:
        return False
    for pattern in patterns:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith(".") and (host.endswith(pattern) or host == pattern[1:]):
            return True
    return False
