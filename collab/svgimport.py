"""Turn an SVG drawing into collab items (standard library only).

:func:`items_from_svg` reads ``<path d>`` (M, L, H, V, C, S, Q, T, A, Z in
absolute and relative forms; curves and arcs are sampled into points),
``<polyline>``, ``<polygon>``, ``<line>``, ``<rect>``, ``<circle>``,
``<ellipse>`` and ``<text>``, with their ``stroke``/``stroke-width``/
``stroke-opacity``/``fill``/``font-size`` (attribute, ``style`` or inherited
from a ``<g>``) and ``transform`` (matrix, translate, scale, rotate, skewX,
skewY). Corners are kept: a ``<rect>`` is a ``rect`` item, an ``<ellipse>``
or ``<circle>`` an ``ellipse``, polygons, polylines, lines and paths of
straight segments are ``line`` items; curved subpaths are ``pen`` strokes
(each subpath one item; one longer than the contract's 5000 points is
split); a ``<text>`` is a ``text`` item.

An SVG exported by collab itself (``GET /api/notes/<id>.svg``: its elements
carry ``data-id`` and, for the tools beyond pen and highlighter,
``data-tool``) comes back as the same items: the tools, ids, colours, widths,
fills and texts, and the original points of strokes.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from .protocol import DEFAULT_SIZE, MAX_COORD, MAX_POINTS, MAX_SIZE, MAX_TEXT, MAX_WIDTH, MIN_SIZE, MIN_WIDTH

Point = tuple[float, float]
Matrix = tuple[float, float, float, float, float, float]  # a b c d e f, as SVG's matrix()

IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([MmLlHhVvCcSsQqTtAaZz])|({_NUM})")
_FLAG = re.compile(r"[\s,]*([01])")
_NAMED = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#ff0000",
    "green": "#008000",
    "lime": "#00ff00",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "orange": "#ffa500",
    "purple": "#800080",
    "gray": "#808080",
    "grey": "#808080",
    "brown": "#a52a2a",
    "pink": "#ffc0cb",
    "cyan": "#00ffff",
    "magenta": "#ff00ff",
    "navy": "#000080",
    "teal": "#008080",
    "maroon": "#800000",
    "olive": "#808000",
    "silver": "#c0c0c0",
}


class SvgError(ValueError):
    """The file is not an SVG this importer can read."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + c * b2,
        b * a2 + d * b2,
        a * c2 + c * d2,
        b * c2 + d * d2,
        a * e2 + c * f2 + e,
        b * e2 + d * f2 + f,
    )


def parse_transform(text: str | None) -> Matrix:
    """An SVG ``transform`` attribute as one matrix."""
    m = IDENTITY
    for name, args in re.findall(r"(\w+)\s*\(([^)]*)\)", text or ""):
        v = [float(x) for x in re.findall(_NUM, args)]
        t: Matrix = IDENTITY
        if name == "matrix" and len(v) == 6:
            t = (v[0], v[1], v[2], v[3], v[4], v[5])
        elif name == "translate" and v:
            t = (1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0.0)
        elif name == "scale" and v:
            t = (v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0)
        elif name == "rotate" and v:
            r = math.radians(v[0])
            cos, sin = math.cos(r), math.sin(r)
            t = (cos, sin, -sin, cos, 0, 0)
            if len(v) == 3:
                t = _multiply(_multiply((1, 0, 0, 1, v[1], v[2]), t), (1, 0, 0, 1, -v[1], -v[2]))
        elif name == "skewX" and v:
            t = (1, 0, math.tan(math.radians(v[0])), 1, 0, 0)
        elif name == "skewY" and v:
            t = (1, math.tan(math.radians(v[0])), 0, 1, 0, 0)
        m = _multiply(m, t)
    return m


def _apply(m: Matrix, p: Point) -> Point:
    a, b, c, d, e, f = m
    x, y = p
    return (a * x + c * y + e, b * x + d * y + f)


def parse_color(value: str | None) -> str | None:
    """``#rgb``/``#rrggbb``, ``rgb(r, g, b)`` or a common colour name → ``#rrggbb``; ``None`` for none/unknown."""
    if not value:
        return None
    v = value.strip()
    if re.fullmatch(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})", v):
        return v
    v = v.lower()
    m = re.fullmatch(r"rgba?\(\s*([\d.]+%?)\s*,\s*([\d.]+%?)\s*,\s*([\d.]+%?).*\)", v)
    if m:
        out = []
        for part in m.groups():
            n = float(part[:-1]) * 2.55 if part.endswith("%") else float(part)
            out.append(max(0, min(255, round(n))))
        return "#" + "".join(f"{n:02x}" for n in out)
    return _NAMED.get(v)


def _style(el: ET.Element, inherited: dict[str, str]) -> dict[str, str]:
    style = dict(inherited)
    for key in ("stroke", "stroke-width", "stroke-opacity", "fill", "opacity", "font-size"):
        if el.get(key) is not None:
            style[key] = str(el.get(key))
    for decl in (el.get("style") or "").split(";"):
        if ":" in decl:
            k, v = decl.split(":", 1)
            style[k.strip()] = v.strip()
    return style


def _bezier(p0: Point, ctrl: list[Point], p3: Point) -> list[Point]:
    """Sample a quadratic (one control point) or cubic (two) Bézier, without its start point."""
    pts = [p0, *ctrl, p3]
    length = sum(math.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1))
    n = max(4, min(64, math.ceil(length / 4)))
    out = []
    for i in range(1, n + 1):
        t = i / n
        if len(ctrl) == 1:
            (x0, y0), (x1, y1), (x2, y2) = pts
            u = 1 - t
            out.append((u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2))
        else:
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
            u = 1 - t
            out.append(
                (
                    u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                    u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
                )
            )
    return out


def _arc(p0: Point, rx: float, ry: float, rotation: float, large: bool, sweep: bool, p1: Point) -> list[Point]:
    """Sample an SVG elliptical arc from ``p0`` to ``p1``, without its start point.

    Follows the SVG spec's endpoint-to-center conversion (SVG 1.1, appendix F.6.5):
    an arc between equal points is left out, a zero radius makes a straight
    line, and radii too small to reach ``p1`` are scaled up until they do.
    """
    if p0 == p1:
        return []
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0:
        return [p1]
    phi = math.radians(rotation % 360)
    cos_p, sin_p = math.cos(phi), math.sin(phi)
    dx, dy = (p0[0] - p1[0]) / 2, (p0[1] - p1[1]) / 2
    x1, y1 = cos_p * dx + sin_p * dy, -sin_p * dx + cos_p * dy  # p0 in the ellipse's own axes
    scale = (x1 / rx) ** 2 + (y1 / ry) ** 2
    if scale > 1:
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    num = (rx * ry) ** 2 - (rx * y1) ** 2 - (ry * x1) ** 2
    den = (rx * y1) ** 2 + (ry * x1) ** 2
    coef = math.sqrt(max(0.0, num / den)) * (-1 if large == sweep else 1)
    cx1, cy1 = coef * rx * y1 / ry, -coef * ry * x1 / rx
    cx = cos_p * cx1 - sin_p * cy1 + (p0[0] + p1[0]) / 2
    cy = sin_p * cx1 + cos_p * cy1 + (p0[1] + p1[1]) / 2
    start = math.atan2((y1 - cy1) / ry, (x1 - cx1) / rx)
    delta = math.atan2((-y1 - cy1) / ry, (-x1 - cx1) / rx) - start
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    n = max(4, min(128, math.ceil(abs(delta) * max(rx, ry) / 4)))
    out = []
    for i in range(1, n):
        t = start + delta * i / n
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        out.append((cos_p * ex - sin_p * ey + cx, sin_p * ex + cos_p * ey + cy))
    out.append(p1)  # exactly the end point, whatever the rounding
    return out


def _tokens(d: str) -> list[str | float]:
    """Path data as commands and numbers; an arc's two flags may be written without separators.

    ``a25 25 0 1050 0`` is a valid arc (flags 1 and 0, then 50): the grammar
    makes each flag a single ``0`` or ``1``, which a plain number scan would
    read as ``1050``. Characters that are neither are skipped, as before.
    """
    out: list[str | float] = []
    pos, arc_arg = 0, -1  # arc_arg: index of the next argument of an A/a command, or -1
    while True:
        if arc_arg in (3, 4):
            m = _FLAG.match(d, pos)
            if m is not None:
                out.append(float(m.group(1)))
                pos, arc_arg = m.end(), arc_arg + 1
                continue
        m = _TOKEN.search(d, pos)
        if m is None:
            return out
        pos = m.end()
        cmd, num = m.group(1), m.group(2)
        if cmd:
            out.append(cmd)
            arc_arg = 0 if cmd in "Aa" else -1
        else:
            out.append(float(num))
            if arc_arg >= 0:
                arc_arg = (arc_arg + 1) % 7


def path_points(d: str) -> list[list[Point]]:
    """The subpaths of SVG path data, each as a list of points (curves sampled)."""
    return [pts for pts, _ in path_subpaths(d)]


def path_subpaths(d: str) -> list[tuple[list[Point], bool]]:
    """The subpaths of SVG path data: each one's points (curves sampled) and whether it has a curve."""
    tokens = _tokens(d or "")
    subpaths: list[tuple[list[Point], bool]] = []
    cur: list[Point] = []
    curved = False
    x = y = sx = sy = 0.0
    last_ctrl: Point | None = None
    last_cmd = ""
    i, cmd = 0, ""

    def nums(k: int) -> list[float]:
        nonlocal i
        vals = tokens[i : i + k]
        if len(vals) < k or not all(isinstance(v, float) for v in vals):
            raise SvgError(f"path data ends early or has a stray command near token {i}: {d[:60]!r}")
        i += k
        return [float(v) for v in vals]

    while i < len(tokens):
        tok = tokens[i]
        if isinstance(tok, str):
            cmd = tok
            i += 1
            if cmd in "Zz":
                if cur:
                    cur.append((sx, sy))
                    subpaths.append((cur, curved))
                    cur, curved = [], False
                x, y = sx, sy
                last_ctrl, last_cmd = None, cmd
                continue
        elif not cmd or cmd in "Zz":
            raise SvgError(f"path data has a number where a command belongs: {d[:60]!r}")
        rel = cmd.islower()
        c = cmd.upper()
        ox, oy = (x, y) if rel else (0.0, 0.0)
        ctrl: Point | None = None
        if c == "M":
            px, py = nums(2)
            if cur:
                subpaths.append((cur, curved))
            curved = False
            x, y = ox + px, oy + py
            sx, sy = x, y
            cur = [(x, y)]
            cmd = "l" if rel else "L"  # further pairs are line-tos
        elif c == "L":
            px, py = nums(2)
            x, y = ox + px, oy + py
            cur.append((x, y))
        elif c == "H":
            (px,) = nums(1)
            x = ox + px
            cur.append((x, y))
        elif c == "V":
            (py,) = nums(1)
            y = oy + py
            cur.append((x, y))
        elif c in "CS":
            if c == "C":
                x1, y1, x2, y2, px, py = nums(6)
                c1 = (ox + x1, oy + y1)
            else:
                x2, y2, px, py = nums(4)
                c1 = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_ctrl and last_cmd in "CcSs" else (x, y)
            c2 = (ox + x2, oy + y2)
            end = (ox + px, oy + py)
            cur.extend(_bezier((x, y), [c1, c2], end))
            curved = True
            x, y = end
            ctrl = c2
        elif c in "QT":
            if c == "Q":
                x1, y1, px, py = nums(4)
                c1 = (ox + x1, oy + y1)
            else:
                px, py = nums(2)
                c1 = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_ctrl and last_cmd in "QqTt" else (x, y)
            end = (ox + px, oy + py)
            cur.extend(_bezier((x, y), [c1], end))
            curved = True
            x, y = end
            ctrl = c1
        elif c == "A":
            rx, ry, rot, large, sweep, px, py = nums(7)
            if large not in (0.0, 1.0) or sweep not in (0.0, 1.0):
                raise SvgError(f"an arc's flags must be 0 or 1, not {large:g} and {sweep:g}: {d[:60]!r}")
            end = (ox + px, oy + py)
            arc = _arc((x, y), rx, ry, rot, large == 1.0, sweep == 1.0, end)
            cur.extend(arc)
            curved = curved or len(arc) > 1
            x, y = end
        if not cur:
            cur = [(x, y)]
        last_ctrl, last_cmd = ctrl, cmd
    if cur:
        subpaths.append((cur, curved))
    return subpaths


def _collab_path_points(d: str) -> list[Point] | None:
    """Exact points of a path collab exported (``M p0 (Q pi mid)* L pn``), or ``None``."""
    cmds = re.findall(r"[A-Za-z]", d)
    if not cmds or cmds[0] != "M" or any(c not in "MQL" for c in cmds) or cmds.count("M") != 1:
        return None
    groups = re.findall(rf"([MQL])((?:\s*{_NUM})+)", d)
    pts: list[Point] = []
    for cmd, args in groups:
        v = [float(n) for n in re.findall(_NUM, args)]
        if (cmd == "Q" and len(v) == 4) or (cmd in "ML" and len(v) == 2):
            pts.append((v[0], v[1]))
        else:
            return None
    if len(pts) == 2 and pts[0] == pts[1]:
        return pts[:1]
    return pts


def _number(raw: str | None, default: float = 0.0) -> float:
    try:
        return float(re.findall(_NUM, raw)[0]) if raw else default
    except (IndexError, ValueError):
        return default


def _length(raw: str | None) -> float | None:
    """A CSS length such as ``24``, ``24px``, ``18pt`` or ``1.5em`` in px, or ``None``."""
    m = re.fullmatch(rf"\s*({_NUM})\s*(px|pt|em|rem)?\s*", raw or "")
    if m is None:
        return None
    value = float(m.group(1))
    return value * {"pt": 4 / 3, "em": 16.0, "rem": 16.0}.get(m.group(2) or "", 1.0)


def _shape_points(el: ET.Element, tag: str) -> list[tuple[list[Point], bool]]:
    """The outline of a shape as subpaths of points, each with whether it is curved."""

    def f(name: str, default: float = 0.0) -> float:
        return _number(el.get(name), default)

    if tag == "path":
        return path_subpaths(el.get("d") or "")
    if tag in ("polyline", "polygon"):
        v = [float(n) for n in re.findall(_NUM, el.get("points") or "")]
        pts = [(v[k], v[k + 1]) for k in range(0, len(v) - 1, 2)]
        if tag == "polygon" and pts:
            pts.append(pts[0])
        return [(pts, False)] if pts else []
    if tag == "line":
        return [([(f("x1"), f("y1")), (f("x2"), f("y2"))], False)]
    if tag == "rect":
        x, y, w, h = f("x"), f("y"), f("width"), f("height")
        return [([(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)], False)] if w > 0 and h > 0 else []
    if tag in ("circle", "ellipse"):
        cx, cy = f("cx"), f("cy")
        rx = f("r") if tag == "circle" else f("rx")
        ry = f("r") if tag == "circle" else f("ry")
        if rx <= 0 or ry <= 0:
            return []
        n = max(16, min(128, math.ceil(2 * math.pi * max(rx, ry) / 4)))
        pts = [(cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n + 1)]
        return [(pts, True)]
    return []


def _box(el: ET.Element, tag: str) -> tuple[Point, Point] | None:
    """The box of a ``<rect>``, ``<circle>`` or ``<ellipse>`` as two corners, or ``None`` when it is empty."""
    f = _number
    if tag == "rect":
        x, y, w, h = f(el.get("x")), f(el.get("y")), f(el.get("width")), f(el.get("height"))
        return ((x, y), (x + w, y + h)) if w > 0 and h > 0 else None
    cx, cy = f(el.get("cx")), f(el.get("cy"))
    rx = f(el.get("r")) if tag == "circle" else f(el.get("rx"))
    ry = f(el.get("r")) if tag == "circle" else f(el.get("ry"))
    return ((cx - rx, cy - ry), (cx + rx, cy + ry)) if rx > 0 and ry > 0 else None


def _width(style: dict[str, str], scale: float, default: float) -> float:
    try:
        w = float(re.findall(_NUM, style.get("stroke-width", ""))[0]) * scale
    except (IndexError, ValueError):
        w = default * scale
    return min(MAX_WIDTH, max(MIN_WIDTH, round(w, 2)))


def _coord(v: float) -> float:
    return round(max(-MAX_COORD, min(MAX_COORD, v)), 2)


def _clean(pts: list[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in pts:
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        p = [_coord(x), _coord(y)]
        if not out or out[-1] != p:
            out.append(p)
    return out


def _walk(el: ET.Element, m: Matrix, style: dict[str, str]) -> Iterator[tuple[ET.Element, str, Matrix, dict[str, str]]]:
    tag = _local(el.tag)
    if tag in ("defs", "clipPath", "mask", "symbol", "marker", "pattern", "style", "script", "title", "desc"):
        return
    m = _multiply(m, parse_transform(el.get("transform")))
    style = _style(el, style)
    yield el, tag, m, style
    if tag == "text" or (tag == "g" and el.get("data-tool") == "text"):
        return  # read whole by _text_item
    for child in el:
        yield from _walk(child, m, style)


def _text_lines(el: ET.Element) -> list[str]:
    """The lines of a ``<text>``: a ``<tspan>`` placed with ``y`` or ``dy`` starts a line (collab's export
    puts each line in one), others run on in the line they are in."""
    preserve = el.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    lines = [el.text or ""]
    for child in el:
        if _local(child.tag) == "tspan":
            text = "".join(child.itertext())
            if child.get("y") is not None or child.get("dy") is not None:
                lines.append(text)
            else:
                lines[-1] += text
        lines[-1] += child.tail or ""
    if not preserve:
        lines = [" ".join(line.split()) for line in lines]
    if len(lines) > 1 and not lines[0].strip():
        lines.pop(0)  # the white space before the first placed tspan
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _text_item(el: ET.Element, m: Matrix, style: dict[str, str], default_color: str) -> dict[str, Any] | None:
    """A ``text`` item from a ``<text>``, or from collab's ``<g data-tool="text">`` (a sticky has a ``<rect>``)."""
    fill = None
    if _local(el.tag) == "g":
        texts = [c for c in el if _local(c.tag) == "text"]
        rects = [c for c in el if _local(c.tag) == "rect"]
        if not texts:
            return None
        if rects:
            fill = parse_color(_style(rects[0], {}).get("fill"))
        style = _style(texts[0], style)
        el = texts[0]
    lines = _text_lines(el)
    text = "\n".join(lines)[:MAX_TEXT]
    if not text.strip():
        return None
    scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) or 1.0
    given = _length(style.get("font-size"))
    size = DEFAULT_SIZE if given is None else min(MAX_SIZE, max(MIN_SIZE, round(given * scale, 2)))
    first = next((c for c in el if _local(c.tag) == "tspan" and c.get("y") is not None), None)
    anchor = first if first is not None and not (el.text or "").strip() else el
    x = _number(anchor.get("x"), _number(el.get("x")))
    y = _number(anchor.get("y"), _number(el.get("y")))
    # SVG places a line's baseline at y; collab's point is the box's top-left, a size above
    tx, ty = _apply(m, (x, y))
    point = [_coord(tx), _coord(ty - size)]
    color = parse_color(style.get("fill")) or parse_color(style.get("stroke")) or default_color
    item: dict[str, Any] = {"tool": "text", "color": color, "points": [point], "text": text, "size": size}
    if fill is not None:
        item["fill"] = fill
    return item


_SHAPES = ("path", "polyline", "polygon", "line", "rect", "circle", "ellipse", "text", "g")
_AXIS_ALIGNED = 1e-9


def items_from_svg(
    text: str | bytes, *, default_color: str = "#000000", default_width: float = 2.0
) -> list[dict[str, Any]]:
    """The items an SVG document draws, in document order (without ids unless collab exported it).

    ``<rect>`` gives a ``rect`` item, ``<ellipse>`` and ``<circle>`` an
    ``ellipse`` (their ``fill`` kept), ``<polygon>``, ``<polyline>``,
    ``<line>`` and paths made only of straight segments ``line`` items (a
    closed shape repeats its first point), curved paths ``pen`` strokes and
    ``<text>`` a ``text`` item (with its ``font-size`` when given). A shape
    turned or skewed by a ``transform`` keeps its outline instead (a rect as
    a closed ``line``, an ellipse as a ``pen``). Translucent lines and paths
    are ``highlighter``. Elements of collab's own export (``data-tool``,
    ``data-id``) come back as the tools and ids they were.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise SvgError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "svg":
        raise SvgError(f"the root element is <{_local(root.tag)}>, not <svg>")
    items: list[dict[str, Any]] = []
    for el, tag, m, style in _walk(root, IDENTITY, {}):
        if tag not in _SHAPES:
            continue
        data_tool, data_id = el.get("data-tool"), el.get("data-id")
        if data_tool == "image" or (tag == "g" and data_tool != "text"):
            continue  # an image needs its file uploaded: not imported
        found: list[dict[str, Any]]
        if tag == "text" or tag == "g":
            item = _text_item(el, m, style, default_color)
            found = [item] if item is not None else []
        else:
            found = _shape_items(el, tag, m, style, default_color, default_width)
        if data_id is not None and len(found) == 1:
            found[0]["id"] = data_id
        items.extend(found)
    return items


#: The name this module had when it made pen strokes only.
strokes_from_svg = items_from_svg


def _colors(style: dict[str, str], default_color: str) -> tuple[str, str | None] | None:
    """(ink, fill) of a shape; ``None`` for a background (no stroke, white or no fill)."""
    fill = parse_color(style.get("fill")) if style.get("fill") not in (None, "none") else None
    color = parse_color(style.get("stroke"))
    if color is None:
        # No stroke: a filled shape is drawn in its fill colour; a white or unfilled one (a background) is skipped.
        if style.get("fill") is not None:
            if fill is None or fill.lower() in ("#ffffff", "#fff"):
                return None
            color = fill
        color = color or default_color
    return color, fill


def _shape_items(
    el: ET.Element, tag: str, m: Matrix, style: dict[str, str], default_color: str, default_width: float
) -> list[dict[str, Any]]:
    colors = _colors(style, default_color)
    if colors is None:
        return []
    color, fill = colors
    scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) or 1.0
    width = _width(style, scale, default_width)
    try:
        opacity = float(style.get("stroke-opacity", style.get("opacity", "1")))
    except ValueError:
        opacity = 1.0
    translucent = opacity < 0.99
    data_tool = el.get("data-tool")
    axis_aligned = abs(m[1]) < _AXIS_ALIGNED and abs(m[2]) < _AXIS_ALIGNED
    box_tool = {"rect": "rect", "circle": "ellipse", "ellipse": "ellipse"}.get(tag)
    if box_tool is not None and axis_aligned and data_tool in (None, box_tool):
        box = _box(el, tag)
        if box is None:
            return []
        (x0, y0), (x1, y1) = (_apply(m, p) for p in box)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            return []
        item: dict[str, Any] = {
            "tool": box_tool,
            "color": color,
            "width": width,
            "points": [[_coord(min(x0, x1)), _coord(min(y0, y1))], [_coord(max(x0, x1)), _coord(max(y0, y1))]],
        }
        if fill is not None:
            item["fill"] = fill
        return [item]
    if tag == "path" and data_tool in ("rect", "ellipse"):
        # collab draws a flat box (no width or no height) as a path between its corners
        ends = [_apply(m, p) for p in (path_points(el.get("d") or "") or [[]])[0]]
        if len(ends) >= 2:
            corners = [[_coord(x), _coord(y)] for x, y in (ends[0], ends[-1])]
            return [{"tool": data_tool, "color": color, "width": width, "points": corners}]
    exact = _collab_path_points(el.get("d") or "") if tag == "path" and el.get("data-id") and not data_tool else None
    subpaths: list[tuple[list[Point], bool]]
    if exact is not None:
        subpaths = [(exact, True)]
    elif tag == "path" and data_tool in ("line", "arrow"):
        subpaths = path_subpaths(el.get("d") or "")[:1]  # an arrow's head is a second subpath
    else:
        subpaths = _shape_points(el, tag)
    out: list[dict[str, Any]] = []
    for sub, curved in subpaths:
        pts = _clean([_apply(m, p) for p in sub])
        if not pts:
            continue
        if translucent:
            tool = "highlighter"
        elif data_tool in ("line", "arrow") and len(pts) >= 2:
            tool = data_tool
        elif exact is None and not curved and len(pts) >= 2:
            tool = "line"
        else:
            tool = "pen"
        for start in range(0, len(pts), MAX_POINTS - 1):
            chunk = pts[start : start + MAX_POINTS]
            if start and len(chunk) < 2:
                break
            out.append({"color": color, "width": width, "points": chunk, "tool": tool})
    return out
