"""Validation of the wire contract: pure functions, no I/O, no Flask.

Each ``parse_*`` function takes a payload exactly as it came off the wire
(anything JSON can carry) and returns clean Python values, or raises
:class:`~collab.errors.BadRequest` / :class:`~collab.errors.TooLarge` with a
message that names the field and says what is allowed. Unknown fields are
ignored, as the contract says.
"""

from __future__ import annotations

import math
import re
from typing import Any, TypedDict

from .errors import BadRequest, TooLarge

NOTE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
COLOR_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
PEER_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}\Z")

MAX_STROKE_ID = 64
MAX_TITLE = 200
MAX_NAME = 64
MAX_TOKEN = 4096
MIN_WIDTH = 0.5
MAX_WIDTH = 100.0
MAX_COORD = 1e6
#: The contract's ceiling on points per stroke; ``COLLAB_MAX_POINTS`` may lower it.
MAX_POINTS = 5000
TOOLS = ("pen", "highlighter")


class Stroke(TypedDict):
    """A validated stroke as it is stored (no ``seq``/``peer``: the server adds those)."""

    id: str
    color: str
    width: float
    points: list[list[float]]
    tool: str


def _require_object(payload: Any, event: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadRequest(f"{event}: the payload must be a JSON object, got {_type_name(payload)}")
    return payload


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_number(value: Any) -> bool:
    """True for a finite int or float (booleans are not numbers here)."""
    t = type(value)
    if t is int:
        return True
    return t is float and math.isfinite(value)


def note_id(value: Any, field: str = "note") -> str:
    """A note id: 1-64 characters of ``[A-Za-z0-9_-]``."""
    if not isinstance(value, str) or not NOTE_ID_RE.match(value):
        raise BadRequest(f"{field} must be 1-64 characters of letters, digits, '_' or '-'; got {value!r:.80}")
    return value


def stroke_id(value: Any, field: str = "id") -> str:
    """A client-chosen stroke id: a string of 1-64 characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_STROKE_ID:
        raise BadRequest(f"{field} must be a string of 1-{MAX_STROKE_ID} characters")
    return value


def title(value: Any) -> str:
    """A note title: 1-200 characters once surrounding white space is stripped."""
    if not isinstance(value, str):
        raise BadRequest(f"title must be a string, got {_type_name(value)}")
    value = value.strip()
    if not 1 <= len(value) <= MAX_TITLE:
        raise BadRequest(f"title must be 1-{MAX_TITLE} characters (after trimming spaces)")
    return value


def _color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR_RE.match(value):
        raise BadRequest(f"color must be '#rgb' or '#rrggbb', got {value!r:.40}")
    return value


def _width(value: Any) -> float:
    if not is_number(value) or not MIN_WIDTH <= value <= MAX_WIDTH:
        raise BadRequest(f"width must be a number from {MIN_WIDTH} to {MAX_WIDTH:g}")
    return value  # type: ignore[no-any-return]


def _points(value: Any, max_points: int) -> list[list[float]]:
    if not isinstance(value, list) or not value:
        raise BadRequest("points must be a non-empty array of [x, y] pairs")
    if len(value) > max_points:
        raise TooLarge(f"a stroke may have at most {max_points} points, got {len(value)}; split it")
    out: list[list[float]] = []
    append = out.append
    for i, pair in enumerate(value):
        if type(pair) is not list or len(pair) != 2:
            raise BadRequest(f"points[{i}] must be an [x, y] pair of numbers")
        x, y = pair
        if not (is_number(x) and is_number(y)) or abs(x) > MAX_COORD or abs(y) > MAX_COORD:
            raise BadRequest(f"points[{i}] must hold finite numbers with |x|, |y| <= 1e6")
        append(pair)
    return out


def stroke(payload: Any, max_points: int = MAX_POINTS, event: str = "stroke") -> Stroke:
    """Validate a stroke; unknown fields are dropped, ``tool`` defaults to ``"pen"``."""
    p = _require_object(payload, event)
    tool = p.get("tool", "pen")
    if tool is None:
        tool = "pen"
    if tool not in TOOLS:
        raise BadRequest(f"tool must be one of {', '.join(TOOLS)}")
    return {
        "id": stroke_id(p.get("id")),
        "color": _color(p.get("color")),
        "width": _width(p.get("width")),
        "points": _points(p.get("points"), max_points),
        "tool": tool,
    }


def target_note(payload: Any, event: str) -> str:
    """The ``note`` field every client event carries."""
    return note_id(_require_object(payload, event).get("note"))


def join(payload: Any) -> tuple[str, int | None]:
    """``{"note", "since"?}`` → (note, since or None)."""
    p = _require_object(payload, "join")
    since = p.get("since")
    if since is not None and (type(since) is not int or since < 0):
        raise BadRequest("since must be an integer >= 0 (the last seq you applied)")
    return note_id(p.get("note")), since


def remove(payload: Any) -> tuple[str, str]:
    """``{"note", "id"}`` → (note, stroke id)."""
    p = _require_object(payload, "remove")
    return note_id(p.get("note")), stroke_id(p.get("id"))


def cursor(payload: Any) -> tuple[str, float, float]:
    """``{"note", "x", "y"}`` → (note, x, y)."""
    p = _require_object(payload, "cursor")
    x: Any = p.get("x")
    y: Any = p.get("y")
    if not (is_number(x) and is_number(y)) or abs(x) > MAX_COORD or abs(y) > MAX_COORD:
        raise BadRequest("cursor x and y must be finite numbers with |x|, |y| <= 1e6")
    return note_id(p.get("note")), x, y


def draft(payload: Any, max_points: int = MAX_POINTS) -> tuple[str, dict[str, Any]]:
    """An unfinished stroke, validated like a stroke → (note, draft without note)."""
    p = _require_object(payload, "draft")
    note = note_id(p.get("note"))
    return note, dict(stroke(p, max_points, event="draft"))


class Auth(TypedDict):
    """The parsed connect ``auth`` payload."""

    name: str | None
    color: str | None
    token: str | None


def auth(payload: Any) -> Auth:
    """The optional connect payload ``{"name", "color", "token"}``; ``None`` is fine."""
    if payload is None:
        return {"name": None, "color": None, "token": None}
    p = _require_object(payload, "connect auth")
    name = p.get("name")
    if name is not None:
        if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
            raise BadRequest(f"auth.name must be a string of at most {MAX_NAME} characters")
        name = name.strip() or None
    color = p.get("color")
    if color is not None and (not isinstance(color, str) or not PEER_COLOR_RE.match(color)):
        raise BadRequest("auth.color must be '#rrggbb'")
    token = p.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
        raise BadRequest(f"auth.token must be a string of at most {MAX_TOKEN} characters")
    return {"name": name, "color": color, "token": token}


def ok(**fields: Any) -> dict[str, Any]:
    """A successful acknowledgement ``{"ok": true, ...}``."""
    return {"ok": True, **fields}
