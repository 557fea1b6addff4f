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
#: Every tool of the contract, v1's first. ``image`` is refused until the files API exists.
TOOLS = ("pen", "highlighter", "line", "arrow", "rect", "ellipse", "text", "image")
#: Tools this server accepts in a ``stroke``.
ACCEPTED_TOOLS = ("pen", "highlighter", "line", "arrow", "rect", "ellipse", "text")
MAX_TEXT = 10_000
MIN_SIZE = 4.0
MAX_SIZE = 400.0
DEFAULT_SIZE = 20
MAX_MOVE_IDS = 1000
MAX_RESTORE_IDS = 10_000
MAX_EPOCH = 64

#: (fewest, most) points by tool; ``None``: up to the server's COLLAB_MAX_POINTS.
POINT_COUNTS: dict[str, tuple[int, int | None]] = {
    "pen": (1, None),
    "highlighter": (1, None),
    "line": (2, None),
    "arrow": (2, None),
    "rect": (2, 2),
    "ellipse": (2, 2),
    "image": (2, 2),
    "text": (1, 1),
}
#: The optional fields each tool may carry beyond id, tool, color, points (``width`` included).
TOOL_FIELDS: dict[str, frozenset[str]] = {
    "pen": frozenset({"width"}),
    "highlighter": frozenset({"width"}),
    "line": frozenset({"width"}),
    "arrow": frozenset({"width"}),
    "rect": frozenset({"width", "fill"}),
    "ellipse": frozenset({"width", "fill"}),
    "text": frozenset({"fill", "text", "size"}),
    "image": frozenset({"file"}),
}
#: Tools whose ``width`` is optional, and ignored (not stored) when sent.
WIDTHLESS = frozenset({"text", "image"})
#: The item fields of the contract's table that a tool may not use.
ITEM_FIELDS = ("width", "fill", "text", "size", "file")

# The contract's Unicode rule: no lone surrogate, no Cc character but tab; LF only in text.
_BAD_CHARS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_TEXT_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class Stroke(TypedDict, total=False):
    """A validated item as it is stored (no ``seq``/``peer``: the server adds those).

    ``id``, ``tool``, ``color`` and ``points`` are always there; the other
    fields only for the tools that use them (see :data:`TOOL_FIELDS`).
    """

    id: str
    tool: str
    color: str
    width: float
    points: list[list[float]]
    fill: str
    text: str
    size: float
    file: str


def clean_text(value: str, field: str, *, newlines: bool = False) -> str:
    """``value`` if it keeps the contract's Unicode rule, else :class:`BadRequest` naming ``field``."""
    bad = (_BAD_TEXT_CHARS if newlines else _BAD_CHARS).search(value)
    if bad is not None:
        ch = bad.group()
        what = "a lone surrogate" if "\ud800" <= ch <= "\udfff" else f"the control character U+{ord(ch):04X}"
        allowed = " (only newlines and tabs are allowed; send CRLF as LF)" if newlines else ""
        raise BadRequest(f"{field} holds {what} at position {bad.start()}{allowed}")
    return value


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
    return clean_text(value, field)


def title(value: Any) -> str:
    """A note title: 1-200 characters once surrounding white space is stripped."""
    if not isinstance(value, str):
        raise BadRequest(f"title must be a string, got {_type_name(value)}")
    value = value.strip()
    if not 1 <= len(value) <= MAX_TITLE:
        raise BadRequest(f"title must be 1-{MAX_TITLE} characters (after trimming spaces)")
    return clean_text(value, "title")


def _color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR_RE.match(value):
        raise BadRequest(f"color must be '#rgb' or '#rrggbb', got {value!r:.40}")
    return value


def _width(value: Any) -> float:
    if not is_number(value) or not MIN_WIDTH <= value <= MAX_WIDTH:
        raise BadRequest(f"width must be a number from {MIN_WIDTH} to {MAX_WIDTH:g}")
    return value  # type: ignore[no-any-return]


def _points(
    value: Any, max_points: int, fewest: int = 1, most: int | None = None, tool: str = "pen"
) -> list[list[float]]:
    if not isinstance(value, list) or not value:
        raise BadRequest("points must be a non-empty array of [x, y] pairs")
    n = len(value)
    if n > max_points and (most is None or most >= max_points):
        raise TooLarge(f"an item may have at most {max_points} points, got {n}; split it")
    if n < fewest or (most is not None and n > most):
        count = f"exactly {most}" if fewest == most else f"at least {fewest}"
        raise BadRequest(f"a {tool} item takes {count} points, got {n}")
    for i, pair in enumerate(value):
        if type(pair) is not list or len(pair) != 2:
            raise BadRequest(f"points[{i}] must be an [x, y] pair of numbers")
        x, y = pair
        if not (is_number(x) and is_number(y)) or abs(x) > MAX_COORD or abs(y) > MAX_COORD:
            raise BadRequest(f"points[{i}] must hold finite numbers with |x|, |y| <= 1e6")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise BadRequest(f"text must be a string of 1-{MAX_TEXT:,} characters")
    return clean_text(value, "text", newlines=True)


def _size(value: Any) -> float:
    if not is_number(value) or not MIN_SIZE <= value <= MAX_SIZE:
        raise BadRequest(f"size must be a number from {MIN_SIZE:g} to {MAX_SIZE:g}")
    return value  # type: ignore[no-any-return]


def _file(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise BadRequest("file must be the id of a file uploaded to this note")
    return clean_text(value, "file")


#: How each optional item field is checked (``points`` depends on the tool: see :func:`check_item`).
_FIELD_CHECKS: dict[str, Any] = {"color": _color, "width": _width, "fill": _color, "text": _text, "size": _size}


def _tool(value: Any, images: bool) -> str:
    if value is None:
        return "pen"
    if value not in ACCEPTED_TOOLS and not (images and value == "image"):
        if value == "image":
            raise BadRequest("image items need the files API, which this server does not offer yet")
        raise BadRequest(f"tool must be one of {', '.join(ACCEPTED_TOOLS)}; got {value!r:.40}")
    return value  # type: ignore[no-any-return]


def stroke(payload: Any, max_points: int = MAX_POINTS, event: str = "stroke", images: bool = False) -> Stroke:
    """Validate an item of any tool; returns it with only the fields its tool stores.

    Unknown fields are dropped, null fields count as absent, ``tool`` defaults
    to ``"pen"``, a text's ``size`` to :data:`DEFAULT_SIZE`; a ``width`` sent on
    a text or image item is ignored. A field of the contract's table that the
    tool does not use is :class:`BadRequest`. ``images``: whether ``image``
    items are accepted (only where the files API can check their file).
    """
    p = _require_object(payload, event)
    tool = _tool(p.get("tool"), images)
    fewest, most = POINT_COUNTS[tool]
    item: Stroke = {
        "id": stroke_id(p.get("id")),
        "tool": tool,
        "color": _color(p.get("color")),
        "points": _points(p.get("points"), max_points, fewest, most, tool),
    }
    allowed = TOOL_FIELDS[tool]
    for name in ITEM_FIELDS:
        value = p.get(name)
        if value is None:
            continue
        if name not in allowed:
            if name == "width" and tool in WIDTHLESS:
                continue  # allowed and ignored
            raise BadRequest(f"a {tool} item has no {name}")
        item[name] = _file(value) if name == "file" else _FIELD_CHECKS[name](value)  # type: ignore[literal-required]
    if tool in WIDTHLESS:
        if tool == "text":
            if "text" not in item:
                raise BadRequest("a text item needs text (1-10,000 characters)")
            item.setdefault("size", DEFAULT_SIZE)
        elif "file" not in item:
            raise BadRequest("an image item needs the file id of an uploaded image")
    elif "width" not in item:
        raise BadRequest(f"width must be a number from {MIN_WIDTH} to {MAX_WIDTH:g}")
    return item


#: The keys ``update`` may set; ``id``, ``tool`` and ``file`` may never change.
UPDATABLE = ("color", "width", "points", "fill", "text", "size")
_FROZEN = ("id", "tool", "file")


def update_set(value: Any, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """The ``set`` of an ``update``: known keys only, each checked on its own.

    Whether the item as changed keeps its tool's rules is checked against the
    item (:func:`check_item`), which only the note's state knows.
    """
    if not isinstance(value, dict):
        raise BadRequest(f"set must be an object of the fields to change, got {_type_name(value)}")
    for key in _FROZEN:
        if key in value:
            raise BadRequest(f"an update may not change {key}; remove the item and add a new one")
    out: dict[str, Any] = {}
    for key in UPDATABLE:
        if key not in value:
            continue
        v = value[key]
        if key == "fill" and v is None:
            out[key] = None  # removes the fill
        elif key == "points":
            out[key] = _points(v, max_points)
        elif v is None:
            raise BadRequest(f"set.{key} may not be null (only fill may: it removes the fill)")
        else:
            out[key] = _FIELD_CHECKS[key](v)
    if not out:
        raise BadRequest(f"set names nothing to change: give one or more of {', '.join(UPDATABLE)}")
    return out


def check_item(item: dict[str, Any], max_points: int = MAX_POINTS) -> None:
    """Raise :class:`BadRequest` unless a changed item keeps its tool's rules."""
    tool = item.get("tool", "pen")
    allowed = TOOL_FIELDS.get(tool, frozenset())
    for name in ITEM_FIELDS:
        if name in item and name not in allowed:
            raise BadRequest(f"a {tool} item has no {name}")
    fewest, most = POINT_COUNTS.get(tool, (1, None))
    _points(item.get("points"), max_points, fewest, most, tool)


def id_list(value: Any, field: str, most: int) -> list[str]:
    """A non-empty list of item ids, at most ``most``, duplicates dropped (first kept)."""
    if not isinstance(value, list) or not value:
        raise BadRequest(f"{field} must be a non-empty array of item ids")
    if len(value) > most:
        raise TooLarge(f"{field} may name at most {most:,} ids, got {len(value):,}; split it")
    return list(dict.fromkeys(stroke_id(v, f"{field}[{i}]") for i, v in enumerate(value)))


def move(payload: Any) -> dict[str, Any]:
    """``{"ids", "dx", "dy"}`` of a ``move`` (finite offsets within the drawing's range)."""
    p = _require_object(payload, "move")
    ids = id_list(p.get("ids"), "ids", MAX_MOVE_IDS)
    dx: Any = p.get("dx")
    dy: Any = p.get("dy")
    if not (is_number(dx) and is_number(dy)) or abs(dx) > 2 * MAX_COORD or abs(dy) > 2 * MAX_COORD:
        raise BadRequest("dx and dy must be finite numbers (the moved points must stay within 1e6)")
    return {"ids": ids, "dx": dx, "dy": dy}


def restore(payload: Any) -> dict[str, Any]:
    """``{"ids"}`` of a ``restore``."""
    p = _require_object(payload, "restore")
    return {"ids": id_list(p.get("ids"), "ids", MAX_RESTORE_IDS)}


def update(payload: Any, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """``{"id", "set"}`` of an ``update``."""
    p = _require_object(payload, "update")
    return {"id": stroke_id(p.get("id")), "set": update_set(p.get("set"), max_points)}


def target_note(payload: Any, event: str) -> str:
    """The ``note`` field every client event carries."""
    return note_id(_require_object(payload, event).get("note"))


def join(payload: Any) -> tuple[str, int | None, str | None]:
    """``{"note", "since"?, "epoch"?}`` → (note, since or None, epoch or None)."""
    p = _require_object(payload, "join")
    since = p.get("since")
    if since is not None and (type(since) is not int or since < 0):
        raise BadRequest("since must be an integer >= 0 (the last seq you applied)")
    epoch = p.get("epoch")
    if epoch is not None and (not isinstance(epoch, str) or not 1 <= len(epoch) <= MAX_EPOCH):
        raise BadRequest("epoch must be the string a join ack's note.epoch gave you")
    if epoch is not None:
        clean_text(epoch, "epoch")
    return note_id(p.get("note")), since, epoch


def remove(payload: Any) -> tuple[str, str]:
    """``{"note", "id"}`` → (note, stroke id)."""
    p = _require_object(payload, "remove")
    return note_id(p.get("note")), stroke_id(p.get("id"))


def _coord(value: Any) -> bool:
    return is_number(value) and abs(value) <= MAX_COORD


def cursor(payload: Any) -> tuple[str, dict[str, Any]]:
    """``{"note", "x", "y", "laser"?, "view"?}`` → (note, the fields to relay)."""
    p = _require_object(payload, "cursor")
    x: Any = p.get("x")
    y: Any = p.get("y")
    if not (_coord(x) and _coord(y)):
        raise BadRequest("cursor x and y must be finite numbers with |x|, |y| <= 1e6")
    out: dict[str, Any] = {"x": x, "y": y}
    laser = p.get("laser")
    if laser is not None:
        if type(laser) is not bool:
            raise BadRequest("laser must be true or false")
        if laser:
            out["laser"] = True
    view = p.get("view")
    if view is not None:
        ok = type(view) is list and len(view) == 4 and all(_coord(v) for v in view)
        if not ok or view[2] < 0 or view[3] < 0:
            raise BadRequest("view must be [x, y, w, h]: finite numbers within 1e6, w and h >= 0")
        out["view"] = view
    return note_id(p.get("note")), out


def draft(payload: Any, max_points: int = MAX_POINTS) -> tuple[str, dict[str, Any]]:
    """An unfinished item, validated like one → (note, draft without note)."""
    p = _require_object(payload, "draft")
    note = note_id(p.get("note"))
    return note, dict(stroke(p, max_points, event="draft"))


def name(value: Any, field: str) -> str | None:
    """A display name: 1-64 characters once trimmed (``None`` for absent or blank)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_NAME:
        raise BadRequest(f"{field} must be a string of at most {MAX_NAME} characters")
    return clean_text(value.strip(), field) or None


def peer_color(value: Any, field: str) -> str | None:
    """A peer's colour ``#rrggbb`` (``None`` when absent)."""
    if value is not None and (not isinstance(value, str) or not PEER_COLOR_RE.match(value)):
        raise BadRequest(f"{field} must be '#rrggbb'")
    return value  # type: ignore[no-any-return]


def profile(payload: Any) -> tuple[str | None, str | None]:
    """``{"name"?, "color"?}`` of a ``profile`` → (name, colour); at least one is needed."""
    p = _require_object(payload, "profile")
    got = name(p.get("name"), "name"), peer_color(p.get("color"), "color")
    if got == (None, None):
        raise BadRequest('profile needs a "name" (1-64 characters) or a "color" (#rrggbb)')
    return got


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
    name_ = name(p.get("name"), "auth.name")
    color = peer_color(p.get("color"), "auth.color")
    token = p.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
        raise BadRequest(f"auth.token must be a string of at most {MAX_TOKEN} characters")
    return {"name": name_, "color": color, "token": token}


def ok(**fields: Any) -> dict[str, Any]:
    """A successful acknowledgement ``{"ok": true, ...}``."""
    return {"ok": True, **fields}
