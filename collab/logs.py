"""Logging set-up for the server: readable lines, or one JSON object per line.

collab's own messages are ``key=value`` phrases (``connect sid=... ip=...``);
with ``--log-format json`` each record becomes
``{"ts", "level", "logger", "msg", ...}`` for log shippers. Secrets never
reach the logs: database URLs are logged with the password hidden and share
tokens are not logged at all.

collab's own server writes an access log (logger ``collab.access``, info level,
:func:`access_line`); :func:`log_join` and :func:`log_op` are the debug lines of
joins and ops, for the namespace to call. Every client-supplied string goes through
:func:`escape` (no control characters, no line breaks, bounded length) and
:func:`redact`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

_PLAIN = "%(asctime)s %(levelname)s %(name)s %(message)s"


#: What a secret looks like in a log line: a share link's query, a token field of a
#: logged packet, the token header. The value is replaced, the key kept.
_SECRETS = (
    re.compile(r"(share=)[^&\s\"']+"),
    re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""),
    re.compile(r"(x-collab-token['\"]?\s*[:=]\s*['\"]?)[^\s'\",]+", re.IGNORECASE),
)


#: The longest client-supplied string a log line carries (longer ones end in "...").
MAX_FIELD = 120


def _escape_char(ch: str) -> str:
    if ch == '"':
        return '\\"'
    if ch == "\\":
        return "\\\\"
    if ch.isprintable():
        return ch
    return ch.encode("unicode_escape").decode("ascii")


def escape(value: object, limit: int = MAX_FIELD) -> str:
    """``value`` as one printable line: control characters, quotes and backslashes escaped, cut at ``limit``."""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    out = "".join(map(_escape_char, text[:limit] if cut else text))
    return out + "..." if cut else out


def access_line(client: object, requestline: str, status: object, length: int | None, seconds: float) -> str:
    """One access-log line: ``ADDRESS "REQUEST LINE" STATUS BYTES SECONDSs``.

    ``client`` is a ``(host, port)`` address or a host; ``status`` as the server keeps it
    (``b"200 OK"``, ``"200 OK"`` or ``200``): only its code is written. The request line is
    escaped and its share tokens redacted.
    """
    host = client[0] if isinstance(client, tuple) and client else client or "-"
    if isinstance(status, bytes):
        status = status.decode("latin-1", "replace")
    code = str(status).split(" ", 1)[0] if status else "-"
    request = redact(escape(requestline or "", 2000))
    size = "-" if length is None else str(length)
    return f'{escape(host, 64)} "{request}" {escape(code, 16)} {size} {seconds:.3f}s'


_events = logging.getLogger("collab")


def log_join(
    sid: str,
    note: object,
    role: object,
    *,
    since: int | None = None,
    seq: int | None = None,
    strokes: int | None = None,
    ops: int | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """Debug line for an answered join: ``join sid=... note="..." role=edit since=0 seq=12 strokes=40``.

    Ids and counts only: never the note's content, the connect payload or a token.
    ``since`` is the client's catch-up point, ``seq`` the note's seq in the ack,
    ``strokes`` (a full snapshot) or ``ops`` (a catch-up) what the ack carried.
    """
    log = logger or _events
    if not log.isEnabledFor(logging.DEBUG):
        return
    parts = [f"join sid={escape(sid, 64)}", f'note="{escape(note)}"', f"role={escape(role, 16)}"]
    for name, value in (("since", since), ("seq", seq), ("strokes", strokes), ("ops", ops)):
        if value is not None:
            parts.append(f"{name}={int(value)}")
    log.debug("%s", " ".join(parts))


def log_op(
    sid: str,
    note: object,
    kind: object,
    *,
    seq: int | None = None,
    op_id: object = None,
    points: int | None = None,
    size: int | None = None,
    code: str | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """Debug line for an op: ``op sid=... note="..." kind=stroke id="s1" seq=13 points=42 bytes=910``.

    ``seq`` once committed, ``code`` the error code when it was refused. Sizes only
    (``points``, ``size`` in bytes of the payload as received): never the payload itself.
    """
    log = logger or _events
    if not log.isEnabledFor(logging.DEBUG):
        return
    parts = [f"op sid={escape(sid, 64)}", f'note="{escape(note)}"', f"kind={escape(kind, 32)}"]
    if op_id is not None:
        parts.append(f'id="{escape(op_id, 64)}"')
    for name, value in (("seq", seq), ("points", points), ("bytes", size)):
        if value is not None:
            parts.append(f"{name}={int(value)}")
    if code is not None:
        parts.append(f"refused={escape(code, 32)}")
    log.debug("%s", " ".join(parts))


def events_debug() -> bool:
    """Whether :func:`log_join` and :func:`log_op` would write anything (a cheap check for hot paths)."""
    return _events.isEnabledFor(logging.DEBUG)


def redact(text: str) -> str:
    """``text`` with share tokens replaced by ``[redacted]``."""
    for pattern in _SECRETS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites records of any logger (transport libraries too) so that no token is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup(level: str = "info", fmt: str = "text") -> None:
    """Configure the root logger for the server process (``fmt``: ``text`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(_PLAIN))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # per-packet chatter of the transport libraries only at debug level
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.DEBUG
    for name in ("engineio", "socketio", "geventwebsocket.handler", "werkzeug"):
        logging.getLogger(name).setLevel(quiet)
