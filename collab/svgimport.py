"""Turn an SVG drawing into collab strokes (standard library only).

:func:`strokes_from_svg` reads ``<path d>`` (M, L, H, V, C, S, Q, T, A, Z in
absolute and relative forms; curves and arcs are sampled into points),
``<polyline>``, ``<polygon>``, ``<line>``, ``<rect>``, ``<circle>`` and
``<ellipse>``, with their ``stroke``/``stroke-width``/``stroke-opacity``
(attribute, ``style`` or inherited from a ``<g>``) and ``transform`` (matrix,
translate, scale, rotate, skewX, skewY). Each subpath becomes one stroke; a stroke longer than the
contract's 5000 points is split.

An SVG exported by collab itself (``GET /api/notes/<id>.svg``, its paths carry
``data-id``) comes back exactly: the original points, ids, colours, widths
and tools.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from .protocol import MAX_COORD, MAX_POINTS, MAX_WIDTH, MIN_WIDTH

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
    for key in ("stroke", "stroke-width", "stroke-opacity", "fill", "opacity"):
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
    tokens = _tokens(d or "")
    subpaths: list[list[Point]] = []
    cur: list[Point] = []
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
                    subpaths.append(cur)
                    cur = []
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
                subpaths.append(cur)
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
            x, y = end
            ctrl = c1
        elif c == "A":
            rx, ry, rot, large, sweep, px, py = nums(7)
            if large not in (0.0, 1.0) or sweep not in (0.0, 1.0):
                raise SvgError(f"an arc's flags must be 0 or 1, not {large:g} and {sweep:g}: {d[:60]!r}")
            end = (ox + px, oy + py)
            cur.extend(_arc((x, y), rx, ry, rot, large == 1.0, sweep == 1.0, end))
            x, y = end
        if not cur:
            cur = [(x, y)]
        last_ctrl, last_cmd = ctrl, cmd
    if cur:
        subpaths.append(cur)
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


def _shape_points(el: ET.Element, tag: str) -> list[list[Point]]:
    def f(name: str, default: float = 0.0) -> float:
        raw = el.get(name)
        try:
            return float(re.findall(_NUM, raw)[0]) if raw else default
        except (IndexError, ValueError):
            return default

    if tag == "path":
        return path_points(el.get("d") or "")
    if tag in ("polyline", "polygon"):
        v = [float(n) for n in re.findall(_NUM, el.get("points") or "")]
        pts = [(v[k], v[k + 1]) for k in range(0, len(v) - 1, 2)]
        if tag == "polygon" and pts:
            pts.append(pts[0])
        return [pts] if pts else []
    if tag == "line":
        return [[(f("x1"), f("y1")), (f("x2"), f("y2"))]]
    if tag == "rect":
        x, y, w, h = f("x"), f("y"), f("width"), f("height")
        return [[(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]] if w > 0 and h > 0 else []
    if tag in ("circle", "ellipse"):
        cx, cy = f("cx"), f("cy")
        rx = f("r") if tag == "circle" else f("rx")
        ry = f("r") if tag == "circle" else f("ry")
        if rx <= 0 or ry <= 0:
            return []
        n = max(16, min(128, math.ceil(2 * math.pi * max(rx, ry) / 4)))
        return [
            [(cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n + 1)]
        ]
    return []


def _width(style: dict[str, str], scale: float, default: float) -> float:
    try:
        w = float(re.findall(_NUM, style.get("stroke-width", ""))[0]) * scale
    except (IndexError, ValueError):
        w = default * scale
    return min(MAX_WIDTH, max(MIN_WIDTH, round(w, 2)))


def _clean(pts: list[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in pts:
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        p = [round(max(-MAX_COORD, min(MAX_COORD, x)), 2), round(max(-MAX_COORD, min(MAX_COORD, y)), 2)]
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
    for child in el:
        yield from _walk(child, m, style)


def strokes_from_svg(
    text: str | bytes, *, default_color: str = "#000000", default_width: float = 2.0
) -> list[dict[str, Any]]:
    """The strokes an SVG document draws, in document order (without ids unless collab exported it)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise SvgError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "svg":
        raise SvgError(f"the root element is <{_local(root.tag)}>, not <svg>")
    strokes: list[dict[str, Any]] = []
    for el, tag, m, style in _walk(root, IDENTITY, {}):
        if tag not in ("path", "polyline", "polygon", "line", "rect", "circle", "ellipse"):
            continue
        exact = _collab_path_points(el.get("d") or "") if tag == "path" and el.get("data-id") is not None else None
        subpaths = [exact] if exact is not None else _shape_points(el, tag)
        color = parse_color(style.get("stroke"))
        if color is None:
            # No stroke: a filled shape is drawn as its outline in the fill colour;
            # a white or unfilled one (a background) is skipped.
            fill = style.get("fill")
            if fill is not None:
                color = parse_color(fill)
                if color is None or color.lower() in ("#ffffff", "#fff"):
                    continue
            color = color or default_color
        scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) or 1.0
        width = _width(style, scale, default_width)
        try:
            opacity = float(style.get("stroke-opacity", style.get("opacity", "1")))
        except ValueError:
            opacity = 1.0
        tool = "highlighter" if opacity < 0.99 else "pen"
        for sub in subpaths:
            pts = _clean([_apply(m, p) for p in sub])
            if not pts:
                continue
            for start in range(0, len(pts), MAX_POINTS - 1):
                chunk = pts[start : start + MAX_POINTS]
                if start and len(chunk) < 2:
                    break
                stroke: dict[str, Any] = {"color": color, "width": width, "points": chunk, "tool": tool}
                if exact is not None and len(pts) <= MAX_POINTS:
                    stroke["id"] = str(el.get("data-id"))
                strokes.append(stroke)
    return strokes
