"""The JSON module collab gives Socket.IO for its packets: orjson when installed.

Flask's JSON provider (Flask-SocketIO's default) builds a decoder per call and
needs an app context; packets are plain data, so a plain fast codec serves.
Anything orjson refuses (integers beyond 64 bits, say) is parsed by the
standard library instead, so validation, not the parser, answers it.
"""

from __future__ import annotations

import json as _std
import re
from typing import Any

_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a listed dependency
    _orjson = None

JSONDecodeError = _std.JSONDecodeError


def dumps(obj: Any, **_: Any) -> str:
    """Compact JSON text of ``obj`` (keyword arguments such as ``separators`` are ignored)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj).decode()
        except TypeError:
            pass
    return _std.dumps(obj, separators=(",", ":"))


#: orjson reads integers beyond 64 bits as floats; the standard library keeps them exact.
_HUGE_INT = re.compile(r"[0-9]{20}")
_HUGE_INT_BYTES = re.compile(rb"[0-9]{20}")


def loads(s: str | bytes, **_: Any) -> Any:
    """Parse JSON text (integers stay integers, however large)."""
    huge = (_HUGE_INT if isinstance(s, str) else _HUGE_INT_BYTES).search(s)  # type: ignore[arg-type]
    if _orjson is not None and huge is None:
        try:
            return _orjson.loads(s)
        except _orjson.JSONDecodeError:
            pass
    return _std.loads(s)
