"""Share links: signed, expiring tokens that grant a role in one note.

A token is ``itsdangerous``-signed ``{"n": note, "r": role}`` with a timestamp.
It cannot be forged without the secret, is refused for any other note, and
expires after ``COLLAB_SHARE_MAX_AGE`` seconds. Pure logic, no I/O.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from .roles import ROLES


class ShareLinks:
    """Make and check share tokens with one secret."""

    def __init__(self, secret: str | bytes, max_age: int | None) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="collab.share.v1")
        self.max_age = max_age

    def make(self, note: str, role: str) -> str:
        """A token granting ``role`` (``"edit"`` or ``"view"``) in ``note``."""
        if role not in ROLES:
            raise ValueError(f"role must be 'edit' or 'view', not {role!r}")
        return self._s.dumps({"n": note, "r": role})

    def link(self, token: str | None) -> tuple[str, str, float] | None:
        """``(note, role, issued)`` of a genuine token, however old; ``None`` if forged or malformed."""
        if not token:
            return None
        try:
            data, issued = self._s.loads(token, max_age=None, return_timestamp=True)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str) or data.get("r") not in ROLES:
            return None
        return data["n"], str(data["r"]), issued.timestamp()

    def expires(self, issued: float) -> float | None:
        """When a link issued at ``issued`` (a Unix time) stops granting its role."""
        return None if self.max_age is None else issued + self.max_age

    def role(self, token: str | None, note: str | None) -> str | None:
        """The role ``token`` grants in ``note``; ``None`` if forged, expired or for another note."""
        if not token or note is None:
            return None
        try:
            data: Any = self._s.loads(token, max_age=self.max_age)
        except BadSignature:  # includes SignatureExpired
            return None
        if not isinstance(data, dict) or data.get("n") != note or data.get("r") not in ROLES:
            return None
        return str(data["r"])
