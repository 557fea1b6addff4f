"""The JSON module collab gives Socket.IO for its packets: orjson when installed.

Flask's JSON provider (Flask-SocketIO's default) builds a decoder per call and
needs an app context; packets are plain data, so a plain fast codec serves.
Anything orjson refuses (integers beyond 64 bits, say) is parsed by the
standard library instead, so validation, not the parser, answers it.
"""

from __future__ import annotations

import gc
import json as _std
from typing import Any

_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a listed dependency
    _orjson = None

JSONDecodeError = _std.JSONDecodeError
#: Whether :func:`dumps` splices ``orjson.Fragment`` values (stored JSON sent without decoding).
splices = _orjson is not None and hasattr(_orjson, "Fragment")


def dumps(obj: Any, **_: Any) -> str:
    """Compact JSON text of ``obj`` (keyword arguments such as ``separators`` are ignored)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj).decode()
        except TypeError:
            pass
    return _std.dumps(obj, separators=(",", ":"))


def dumps_bytes(obj: Any) -> bytes:
    """:func:`dumps` as UTF-8 bytes, without a text in between (``TypeError`` for what JSON cannot hold)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj)  # type: ignore[no-any-return]
        except TypeError:
            pass
    return _std.dumps(obj, separators=(",", ":")).encode()


#: orjson reads integers outside [-2**63, 2**64) as floats; the standard library keeps
#: them exact. Such an integer has 20 digits in a row, or a minus and 19. Each digit is
#: turned into "0" by one C-speed translate and the two shapes are looked for (1.0 us
#: for a 32-point stroke; a regular-expression search took 5.3 us, more than orjson's
#: whole parse). Anything else that matches (a long id, a long fraction) only takes the
#: slower, equally correct path.
_DIGITS_TO_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20
_MINUS_NINETEEN_DIGITS = b"-" + b"0" * 19


#: :func:`_may_hold_huge_int` looks at a long text in windows of this many characters, overlapping
#: by 19, so that it never allocates two more copies of a text of megabytes.
_WINDOW = 64 * 1024


def _may_hold_huge_int(s: str | bytes | bytearray) -> bool:
    """Whether ``s`` may hold an integer orjson cannot keep exact (see above)."""
    for start in range(0, max(1, len(s)), _WINDOW):
        part = s[max(0, start - 19) : start + _WINDOW]
        raw = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part  # never raises
        zeros = raw.translate(_DIGITS_TO_ZEROS)
        if _TWENTY_DIGITS in zeros or _MINUS_NINETEEN_DIGITS in zeros:
            return True
    return False


#: Texts at least this long are parsed with the cyclic garbage collector paused (see :func:`loads`).
BIG_TEXT = 256 * 1024


def loads(s: str | bytes | bytearray, **_: Any) -> Any:
    """Parse JSON text (integers stay integers, however large).

    A big text (a join's state: hundreds of thousands of lists) is parsed with the
    cyclic garbage collector paused: every container the parser allocates would
    otherwise count toward the collector's thresholds, and the collector would walk
    the growing, cycle-free result again and again, most of the parse's time. The
    result is then put straight into the oldest generation (``gc.freeze()`` then
    ``gc.unfreeze()``, which moves without walking), so the young collections that
    follow do not walk it either. Both are process-wide and only delay collection:
    at worst another thread's young garbage waits for the next full collection.
    """
    if len(s) < BIG_TEXT or not gc.isenabled():
        return _parse(s)
    gc.disable()
    try:
        parsed = _parse(s)
        gc.freeze()
        gc.unfreeze()
        return parsed
    finally:
        gc.enable()


def _parse(s: str | bytes | bytearray) -> Any:
    if _orjson is not None and not _may_hold_huge_int(s):
        try:
            return _orjson.loads(s)
        except _orjson.JSONDecodeError:
            pass
    return _std.loads(s)
