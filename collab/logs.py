"""Logging set-up for the server: readable lines, or one JSON object per line.

collab's own messages are ``key=value`` phrases (``connect sid=... ip=...``);
with ``--log-format json`` each record becomes
``{"ts", "level", "logger", "msg", ...}`` for log shippers. Secrets never
reach the logs: database URLs are logged with the password hidden and share
tokens are not logged at all.
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
