"""Draw a note's strokes as SVG or PNG: pure functions, no I/O.

The drawing matches the page's canvas (``static/js/draw.js``): each stroke is one
path through its points, smoothed with quadratic curves through the midpoints of
consecutive points, stroked with the stroke's colour and width, round caps and
joins; a highlighter stroke is drawn at :data:`HIGHLIGHTER_ALPHA` opacity. The
image covers the strokes' bounding box (half the width included) plus
:data:`MARGIN`, on white. An empty note gives a small blank image.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from PIL import Image, ImageColor, ImageDraw

#: Opacity of a highlighter stroke (the page uses the same value).
HIGHLIGHTER_ALPHA = 0.4
#: Space around the strokes' bounding box, in drawing units.
MARGIN = 16.0
#: Size of the image of an empty note.
EMPTY_SIZE = (200, 150)
#: Longest side of a PNG in pixels; larger drawings are scaled down to fit.
MAX_PNG_SIDE = 4096
#: Drawn this many times larger, then scaled down, for smooth edges (when it fits).
SUPERSAMPLE = 2

Point = tuple[float, float]
Box = tuple[float, float, float, float]


def _points(stroke: dict[str, Any]) -> list[Point]:
    return [(float(p[0]), float(p[1])) for p in stroke.get("points") or []]


def _width(stroke: dict[str, Any]) -> float:
    return float(stroke.get("width") or 1.0)


def bounds(strokes: Iterable[dict[str, Any]]) -> Box | None:
    """``(x0, y0, x1, y1)`` of the strokes' ink plus :data:`MARGIN`, or ``None`` when there is none."""
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for s in strokes:
        half = _width(s) / 2
        for x, y in _points(s):
            x0, y0 = min(x0, x - half), min(y0, y - half)
            x1, y1 = max(x1, x + half), max(y1, y + half)
    if x0 == math.inf:
        return None
    return (x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN)


def _num(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def path_data(points: Sequence[Point]) -> str:
    """SVG path data of the smoothed line through ``points`` (the canvas draws the same curve)."""
    if not points:
        return ""
    (x, y), n = points[0], len(points)
    parts = [f"M{_num(x)} {_num(y)}"]
    if n == 1:
        parts.append(f"L{_num(x)} {_num(y)}")  # a dot: round caps of a zero-length segment
    for i in range(1, n - 1):
        (cx, cy), (nx, ny) = points[i], points[i + 1]
        parts.append(f"Q{_num(cx)} {_num(cy)} {_num((cx + nx) / 2)} {_num((cy + ny) / 2)}")
    if n >= 2:
        lx, ly = points[-1]
        parts.append(f"L{_num(lx)} {_num(ly)}")
    return "".join(parts)


def to_svg(strokes: list[dict[str, Any]]) -> str:
    """The note as a standalone SVG document (strokes in the given order, i.e. seq order)."""
    box = bounds(strokes)
    if box is None:
        ew, eh = EMPTY_SIZE
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{ew}" height="{eh}" viewBox="0 0 {ew} {eh}">'
            f'<rect width="{ew}" height="{eh}" fill="#ffffff"/></svg>\n'
        )
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}" height="{_num(h)}" '
        f'viewBox="{_num(x0)} {_num(y0)} {_num(w)} {_num(h)}">',
        f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(w)}" height="{_num(h)}" fill="#ffffff"/>',
        '<g fill="none" stroke-linecap="round" stroke-linejoin="round">',
    ]
    for s in strokes:
        pts = _points(s)
        if not pts:
            continue
        # The colour is validated (#rgb / #rrggbb) by the protocol; quote it anyway, and the id.
        attrs = [
            f"data-id={quoteattr(str(s.get('id', '')))}",
            f"stroke={quoteattr(str(s.get('color', '#000000')))}",
            f'stroke-width="{_num(_width(s))}"',
        ]
        if s.get("tool") == "highlighter":
            attrs.append(f'stroke-opacity="{HIGHLIGHTER_ALPHA}"')
        out.append(f'<path {" ".join(attrs)} d="{path_data(pts)}"/>')
    out.append("</g></svg>\n")
    return "\n".join(out)


def flatten(points: Sequence[Point], step: float = 2.0) -> list[Point]:
    """The smoothed curve of :func:`path_data` as a polyline (segments about ``step`` long)."""
    n = len(points)
    if n <= 2:
        return list(points)
    out: list[Point] = [points[0]]
    cur = points[0]
    for i in range(1, n - 1):
        ctrl, nxt = points[i], points[i + 1]
        end = ((ctrl[0] + nxt[0]) / 2, (ctrl[1] + nxt[1]) / 2)
        length = math.dist(cur, ctrl) + math.dist(ctrl, end)
        k = max(1, min(16, math.ceil(length / step)))
        for j in range(1, k + 1):
            t = j / k
            a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
            out.append((a * cur[0] + b * ctrl[0] + c * end[0], a * cur[1] + b * ctrl[1] + c * end[1]))
        cur = end
    out.append(points[-1])
    return out


def _draw_line(draw: ImageDraw.ImageDraw, pts: list[Point], width: float, fill: Any) -> None:
    r = max(width / 2, 0.5)
    if len(pts) > 1:
        draw.line(pts, fill=fill, width=max(1, round(width)), joint="curve")
    for x, y in (pts[0], pts[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def to_png(strokes: list[dict[str, Any]], scale: float = 1.0) -> bytes:
    """The note as PNG bytes, ``scale`` pixels per drawing unit (reduced to fit :data:`MAX_PNG_SIDE`)."""
    box = bounds(strokes)
    if box is None:
        img = Image.new("RGB", EMPTY_SIZE, "white")
    else:
        x0, y0, x1, y1 = box
        scale = min(scale, MAX_PNG_SIDE / max(x1 - x0, y1 - y0))
        size = (max(1, math.ceil((x1 - x0) * scale)), max(1, math.ceil((y1 - y0) * scale)))
        ss = SUPERSAMPLE if max(size) * SUPERSAMPLE <= MAX_PNG_SIDE else 1
        s = scale * ss
        img = Image.new("RGB", (size[0] * ss, size[1] * ss), "white")
        draw = ImageDraw.Draw(img)
        for stroke in strokes:
            raw = _points(stroke)
            if not raw:
                continue
            pts = [((x - x0) * s, (y - y0) * s) for x, y in flatten(raw, step=2.0 / s)]
            width = _width(stroke) * s
            rgb = ImageColor.getrgb(str(stroke.get("color", "#000000")))[:3]
            if stroke.get("tool") == "highlighter":
                _highlight(img, pts, width, rgb)
            else:
                _draw_line(draw, pts, width, rgb)
        if ss > 1:
            img = img.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _highlight(img: Image.Image, pts: list[Point], width: float, rgb: tuple[int, ...]) -> None:
    """One translucent stroke: drawn whole into a mask, so its own overlaps do not darken."""
    pad = width / 2 + 2
    left = max(0, math.floor(min(p[0] for p in pts) - pad))
    top = max(0, math.floor(min(p[1] for p in pts) - pad))
    right = min(img.width, math.ceil(max(p[0] for p in pts) + pad))
    bottom = min(img.height, math.ceil(max(p[1] for p in pts) + pad))
    if right <= left or bottom <= top:
        return
    mask = Image.new("L", (right - left, bottom - top), 0)
    _draw_line(ImageDraw.Draw(mask), [(x - left, y - top) for x, y in pts], width, round(255 * HIGHLIGHTER_ALPHA))
    img.paste(rgb, (left, top, right, bottom), mask)
