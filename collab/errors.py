"""One exception tree for collab, each class carrying an error code of the contract.

Every error a client can see has one of the codes of the protocol (docs/protocol.md):
``bad_request``, ``not_found``, ``not_joined``, ``forbidden``, ``too_large``,
``rate_limited`` and ``internal``. Raise the matching subclass anywhere below
the transport; the namespace and the HTTP views turn it into an ack or a JSON
error body, so the wire format lives in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

#: Every error code of the contract, in the order docs/protocol.md lists them.
ERROR_CODES: tuple[str, ...] = (
    "bad_request",
    "not_found",
    "not_joined",
    "forbidden",
    "too_large",
    "rate_limited",
    "internal",
)


class CollabError(Exception):
    """Base of every error collab raises on purpose.

    ``code`` is one of :data:`ERROR_CODES`; ``http_status`` is what the HTTP
    API answers with; ``message`` says what went wrong and, where it can, how
    to fix it.
    """

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The ``{"code", "message"}`` object the wire carries."""
        return {"code": self.code, "message": self.message}

    def to_ack(self) -> dict[str, Any]:
        """The failed acknowledgement ``{"ok": false, "error": {...}}``."""
        return {"ok": False, "error": self.to_dict()}


class BadRequest(CollabError):
    """The payload is malformed: wrong type, out of range, unknown event."""

    code = "bad_request"
    http_status = 400


class UnsupportedMediaType(BadRequest):
    """An HTTP body that is not JSON (HTTP 415)."""

    http_status = 415


class NotFound(CollabError):
    """The note, or the stroke a ``remove`` names, does not exist."""

    code = "not_found"
    http_status = 404


class NotJoined(CollabError):
    """An event named a note this connection has not joined."""

    code = "not_joined"
    http_status = 409


class Forbidden(CollabError):
    """The caller may not do this (a view-only member drawing, a refused join)."""

    code = "forbidden"
    http_status = 403


class TooLarge(CollabError):
    """A size limit was hit (points per stroke, strokes per note, body size)."""

    code = "too_large"
    http_status = 413


class RateLimited(CollabError):
    """The caller sends faster than its allowance."""

    code = "rate_limited"
    http_status = 429


class InternalError(CollabError):
    """Something failed on the server's side; the op was not stored."""

    code = "internal"
    http_status = 500


class StoreUnavailable(InternalError):
    """The database did not answer or refused the transaction."""

    http_status = 503


class ConfigError(Exception):
    """The server was configured in a way that cannot work (raised at start-up)."""


_BY_CODE: dict[str, type[CollabError]] = {
    cls.code: cls for cls in (BadRequest, NotFound, NotJoined, Forbidden, TooLarge, RateLimited)
}
_BY_CODE["internal"] = InternalError


def error_for_code(code: str, message: str) -> CollabError:
    """Build the exception class that matches a wire error ``code``."""
    return _BY_CODE.get(code, InternalError)(message)
