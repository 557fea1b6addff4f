"""Draw a note's items as SVG or PNG: pure functions, no I/O.

Every tool of the wire contract v2 is drawn as a whiteboard page draws it, in
world coordinates, in the items' order (seq order), on white:

- ``pen`` (the default) and ``highlighter``: one path through the points,
  smoothed with quadratic curves through the midpoints of consecutive points
  (as ``static/js/draw.js`` does), stroked with the item's ``color`` and
  ``width``, round caps and joins; a highlighter at :data:`HIGHLIGHTER_ALPHA`
  opacity.
- ``line`` and ``arrow``: a polyline of straight segments through the points,
  round caps and joins; an arrow also gets a head at its last point, two short
  lines :func:`arrow_head` places along the last segment.
- ``rect`` and ``ellipse``: the box of the two corner points (in any order),
  its outline stroked with ``width`` (centred on the box's edge, square corners
  for a rect), filled with ``fill`` when there is one; the ellipse inscribed in
  the box.
- ``text``: the lines of ``text`` (split on ``"\\n"``) from the top-left corner
  at its one point, font size ``size`` (:data:`DEFAULT_TEXT_SIZE` when absent),
  :data:`LINE_HEIGHT` times the size apart, in ``color``; with a ``fill`` (a
  sticky note) on a rectangle of that colour :data:`STICKY_PADDING` times the
  size larger on every side. No font metrics are available without I/O, so the
  text's box is *estimated*: :data:`CHAR_WIDTH` times the size per character of
  the longest line, one line height per line (:func:`text_box`). The sticky
  rectangle and the bounds use that box; glyphs wider than the estimate (CJK,
  a run of ``W``) may reach past it.
- ``image``: the picture's file from the ``images`` argument (file id to the
  file's bytes; PNG, JPEG, GIF or WebP), stretched to the box of the two corner
  points; without it, or when it does not decode, a light grey placeholder box
  with a thin border.

An item of any other tool, or without the points its tool needs, is skipped.
The image covers the items' bounding box (:func:`bounds`: stroke half-widths,
arrow heads, text boxes and sticky padding included) plus :data:`MARGIN`. An
empty note gives a small blank image. A caller can refuse notes with more than
``max_points`` points (:func:`count_points`, :data:`MAX_EXPORT_POINTS`): they
raise :class:`collab.errors.TooLarge` before anything is drawn.

The PNG is drawn with Pillow, :data:`SUPERSAMPLE` times larger then scaled down
when that fits, directly at the output's scale (``to_png(width=...)`` makes a
thumbnail without drawing the full size first; zoomed out, points of a freehand
stroke less than a pixel apart are dropped). Its text is Pillow's default font
at the size; the SVG's is ``sans-serif``, so the two differ a little in shape.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageColor, ImageDraw, ImageFont

from collab.errors import BadRequest, TooLarge

#: Opacity of a highlighter stroke (the page uses the same value).
HIGHLIGHTER_ALPHA = 0.4
#: Space around the items' bounding box, in drawing units.
MARGIN = 16.0
#: Size of the image of an empty note.
EMPTY_SIZE = (200, 150)
#: Longest side of a PNG in pixels; larger drawings are scaled down to fit.
MAX_PNG_SIDE = 4096
#: Allowed values of ``to_png(width=...)``, in pixels.
MIN_PNG_WIDTH, MAX_PNG_WIDTH = 16, 4096
#: Drawn this many times larger, then scaled down, for smooth edges (when it fits).
SUPERSAMPLE = 2
#: A sensible ``max_points`` for the exports (the server's ``COLLAB_MAX_EXPORT_POINTS`` default).
MAX_EXPORT_POINTS = 2_000_000
#: The tools this module draws; items of any other tool are skipped.
TOOLS = ("pen", "highlighter", "line", "arrow", "rect", "ellipse", "text", "image")
#: An arrow head's length is the larger of this and :data:`ARROW_HEAD_WIDTHS` times the width.
ARROW_HEAD_MIN = 10.0
ARROW_HEAD_WIDTHS = 3.0
#: Angle between an arrow head's lines and the shaft, in degrees.
ARROW_HEAD_ANGLE = 30.0
#: Font size of a text item without ``size``.
DEFAULT_TEXT_SIZE = 20.0
#: Distance between the tops of consecutive text lines, times the font size.
LINE_HEIGHT = 1.25
#: Estimated advance of one character, times the font size (for the text's box only).
CHAR_WIDTH = 0.6
#: Space between a sticky note's text box and the edge of its rectangle, times the font size.
STICKY_PADDING = 0.5
#: The image placeholder: fill, border colour and border width (drawing units).
IMAGE_FILL = "#f1f3f5"
IMAGE_BORDER = "#adb5bd"
IMAGE_BORDER_WIDTH = 1.0

Point = tuple[float, float]
Box = tuple[float, float, float, float]

_FREEHAND = ("pen", "highlighter")
_BOXED = ("rect", "ellipse", "image")
# Characters XML 1.0 does not allow (and CR, which would not survive parsing): never written.
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
# What a broken or hostile image file can make Pillow raise.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def _tool(item: Mapping[str, Any]) -> str:
    tool = item.get("tool") or "pen"
    return tool if isinstance(tool, str) else ""


def _points(item: Mapping[str, Any]) -> list[Point]:
    return [(float(p[0]), float(p[1])) for p in item.get("points") or []]


def _width(item: Mapping[str, Any]) -> float:
    return float(item.get("width") or 1.0)


def _size(item: Mapping[str, Any]) -> float:
    return float(item.get("size") or DEFAULT_TEXT_SIZE)


def _box(a: Point, b: Point) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))


def _grow(box: Box, d: float) -> Box:
    return (box[0] - d, box[1] - d, box[2] + d, box[3] + d)


def _extent(pts: Sequence[Point], half: float) -> Box:
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)


def count_points(items: Iterable[Mapping[str, Any]]) -> int:
    """How many points the items hold in all (what ``max_points`` limits)."""
    return sum(len(item.get("points") or ()) for item in items)


def _check_points(items: Sequence[Mapping[str, Any]], max_points: int | None) -> None:
    if max_points is None:
        return
    n = count_points(items)
    if n > max_points:
        raise TooLarge(
            f"this note has {n:,} points, more than the export limit of {max_points:,}: "
            "export a smaller part of it, or raise COLLAB_MAX_EXPORT_POINTS"
        )


def arrow_head(points: Sequence[Point], width: float) -> tuple[Point, Point] | None:
    """The far ends of an arrow head's two lines (both start at the last point), or ``None``.

    They point back along the last segment of non-zero length, :data:`ARROW_HEAD_ANGLE`
    degrees to either side, ``max(ARROW_HEAD_MIN, ARROW_HEAD_WIDTHS * width)`` long.
    ``None`` when all the points are the same (no direction).
    """
    if not points:
        return None
    tx, ty = points[-1]
    for i in range(len(points) - 2, -1, -1):
        px, py = points[i]
        if (px, py) != (tx, ty):
            break
    else:
        return None
    direction = math.atan2(ty - py, tx - px)
    length = max(ARROW_HEAD_MIN, ARROW_HEAD_WIDTHS * width)
    spread = math.radians(ARROW_HEAD_ANGLE)
    left, right = direction + spread, direction - spread
    return (
        (tx - length * math.cos(left), ty - length * math.sin(left)),
        (tx - length * math.cos(right), ty - length * math.sin(right)),
    )


def text_lines(item: Mapping[str, Any]) -> list[str]:
    """A text item's lines (split on ``"\\n"``; characters XML cannot carry removed)."""
    text = item.get("text")
    if not isinstance(text, str) or not text:
        return []
    return _NOT_XML.sub("", text.replace("\r\n", "\n")).split("\n")


def text_box(item: Mapping[str, Any]) -> Box | None:
    """The estimated box of a text item's text (no sticky padding), or ``None`` without text or point.

    Its top-left is the item's point; it is :data:`CHAR_WIDTH` ``* size`` wide per
    character of the longest line and :data:`LINE_HEIGHT` ``* size`` high per line.
    """
    lines = text_lines(item)
    pts = item.get("points") or []
    if not lines or not pts:
        return None
    x, y = float(pts[0][0]), float(pts[0][1])
    size = _size(item)
    return (x, y, x + CHAR_WIDTH * size * max(len(line) for line in lines), y + LINE_HEIGHT * size * len(lines))


def _sticky_box(item: Mapping[str, Any], box: Box) -> Box:
    return _grow(box, STICKY_PADDING * _size(item))


def item_bounds(item: Mapping[str, Any]) -> Box | None:
    """``(x0, y0, x1, y1)`` of one item's ink (no margin), or ``None`` when it draws nothing."""
    tool = _tool(item)
    if tool in _FREEHAND or tool == "line" or tool == "arrow":
        pts = _points(item)
        if not pts or (tool not in _FREEHAND and len(pts) < 2):
            return None
        half = _width(item) / 2
        box = _extent(pts, half)
        if tool == "arrow":
            head = arrow_head(pts, _width(item))
            if head is not None:
                hb = _extent(head, half)
                box = (min(box[0], hb[0]), min(box[1], hb[1]), max(box[2], hb[2]), max(box[3], hb[3]))
        return box
    if tool in _BOXED:
        pts = _points(item)
        if len(pts) < 2:
            return None
        half = (IMAGE_BORDER_WIDTH if tool == "image" else _width(item)) / 2
        return _grow(_box(pts[0], pts[1]), half)
    if tool == "text":
        tb = text_box(item)
        if tb is not None and item.get("fill"):
            tb = _sticky_box(item, tb)
        return tb
    return None


def bounds(items: Iterable[Mapping[str, Any]]) -> Box | None:
    """``(x0, y0, x1, y1)`` of the items' ink plus :data:`MARGIN`, or ``None`` when there is none."""
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for item in items:
        b = item_bounds(item)
        if b is None:
            continue
        x0, y0 = min(x0, b[0]), min(y0, b[1])
        x1, y1 = max(x1, b[2]), max(y1, b[3])
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


def polyline_data(points: Sequence[Point]) -> str:
    """SVG path data of straight segments through ``points`` (one point: a dot)."""
    if not points:
        return ""
    pts = list(points) if len(points) > 1 else [points[0], points[0]]
    return "M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in pts)


def _image_mime(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return _MIME.get(im.format or "")
    except _DECODE_ERRORS:
        return None


def _svg_item(item: Mapping[str, Any], images: Mapping[str, bytes] | None) -> str | None:
    tool = _tool(item)
    if tool not in TOOLS:
        return None
    ident = f"data-id={quoteattr(str(item.get('id', '')))}"
    # Colours are validated (#rgb / #rrggbb) by the protocol; quote them anyway, and the id.
    color = quoteattr(str(item.get("color", "#000000")))
    fill = item.get("fill")
    fill_attr = f" fill={quoteattr(str(fill))}" if fill else ""
    if tool in _FREEHAND or tool == "line" or tool == "arrow":
        pts = _points(item)
        if not pts or (tool not in _FREEHAND and len(pts) < 2):
            return None
        attrs = [ident, f"stroke={color}", f'stroke-width="{_num(_width(item))}"']
        if tool == "highlighter":
            attrs.append(f'stroke-opacity="{HIGHLIGHTER_ALPHA}"')
        if tool in _FREEHAND:
            return f'<path {" ".join(attrs)} d="{path_data(pts)}"/>'
        d = polyline_data(pts)
        if tool == "arrow":
            head = arrow_head(pts, _width(item))
            if head is not None:
                d += "M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in (head[0], pts[-1], head[1]))
        return f'<path {" ".join(attrs)} data-tool="{tool}" d="{d}"/>'
    if tool in _BOXED:
        pts = _points(item)
        if len(pts) < 2:
            return None
        x0, y0, x1, y1 = _box(pts[0], pts[1])
        geo = f'x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}"'
        if tool == "image":
            fid = item.get("file")
            data = images.get(fid) if images is not None and isinstance(fid, str) else None
            mime = _image_mime(data) if data else None
            if data and mime:
                href = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
                return f'<image {ident} data-tool="image" {geo} preserveAspectRatio="none" href="{href}"/>'
            return (
                f'<rect {ident} data-tool="image" {geo} fill="{IMAGE_FILL}" stroke="{IMAGE_BORDER}" '
                f'stroke-width="{_num(IMAGE_BORDER_WIDTH)}" stroke-linejoin="miter"/>'
            )
        stroke = f'stroke={color} stroke-width="{_num(_width(item))}"'
        if x1 == x0 or y1 == y0:  # a flat box: SVG would not draw a zero-sized shape
            return f'<path {ident} data-tool="{tool}" {stroke} d="{polyline_data([(x0, y0), (x1, y1)])}"/>'
        if tool == "rect":
            return f'<rect {ident} data-tool="rect" {geo} {stroke}{fill_attr} stroke-linejoin="miter"/>'
        return (
            f'<ellipse {ident} data-tool="ellipse" cx="{_num((x0 + x1) / 2)}" cy="{_num((y0 + y1) / 2)}" '
            f'rx="{_num((x1 - x0) / 2)}" ry="{_num((y1 - y0) / 2)}" {stroke}{fill_attr}/>'
        )
    # text
    tb = text_box(item)
    if tb is None:
        return None
    lines = text_lines(item)
    x, y = tb[0], tb[1]
    size = _size(item)
    spans = "".join(
        f'<tspan x="{_num(x)}" y="{_num(y + i * LINE_HEIGHT * size + size)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    text = f'<text font-family="sans-serif" font-size="{_num(size)}" fill={color} xml:space="preserve">{spans}</text>'
    if not fill:
        return f'<g {ident} data-tool="text">{text}</g>'
    sx0, sy0, sx1, sy1 = _sticky_box(item, tb)
    sticky = f'<rect x="{_num(sx0)}" y="{_num(sy0)}" width="{_num(sx1 - sx0)}" height="{_num(sy1 - sy0)}"{fill_attr}/>'
    return f'<g {ident} data-tool="text">{sticky}{text}</g>'


def to_svg(
    items: Sequence[Mapping[str, Any]],
    *,
    max_points: int | None = None,
    images: Mapping[str, bytes] | None = None,
) -> str:
    """The note as a standalone SVG document (items in the given order, i.e. seq order).

    Each item is one element carrying ``data-id`` (a text item a ``<g>``); the new
    tools also carry ``data-tool``. ``images`` maps an image item's ``file`` id to the
    file's bytes, embedded as a data URI (missing ids draw the placeholder). More than
    ``max_points`` points (when given) raise :class:`~collab.errors.TooLarge`.
    """
    _check_points(items, max_points)
    box = bounds(items)
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
    for item in items:
        el = _svg_item(item, images)
        if el is not None:
            out.append(el)
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


def _decimate(points: list[Point], tol: float) -> list[Point]:
    """``points`` without those closer than ``tol`` (on both axes) to the last point kept; ends kept."""
    if len(points) <= 2:
        return points
    out = [points[0]]
    lx, ly = points[0]
    for i in range(1, len(points) - 1):
        x, y = points[i]
        if abs(x - lx) >= tol or abs(y - ly) >= tol:
            out.append((x, y))
            lx, ly = x, y
    out.append(points[-1])
    return out


@lru_cache(maxsize=256)
def _rgb(color: str) -> tuple[int, int, int]:
    try:
        r, g, b = ImageColor.getrgb(color)[:3]
    except ValueError:
        return (0, 0, 0)
    return (r, g, b)


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def _draw_line(draw: ImageDraw.ImageDraw, pts: list[Point], width: float, fill: Any) -> None:
    r = max(width / 2, 0.5)
    if len(pts) > 1:
        draw.line(pts, fill=fill, width=max(1, round(width)), joint="curve")
    for x, y in (pts[0], pts[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


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


def _draw_box(
    draw: ImageDraw.ImageDraw, tool: str, box: Box, width: float, ink: tuple[int, int, int], fill: Any
) -> None:
    """A rect or ellipse outline ``width`` pixels wide, centred on the box's edge (Pillow draws inside)."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 0.5 or y1 - y0 < 0.5:  # flat: draw the stroke along it
        _draw_line(draw, [(x0, y0), (x1, y1)], width, ink)
        return
    shape = draw.rectangle if tool != "ellipse" else draw.ellipse
    if fill is not None:
        shape(box, fill=fill)
    shape(_grow(box, width / 2), outline=ink, width=max(1, round(width)))


def _paste_image(img: Image.Image, box: Box, data: bytes) -> bool:
    """Draw the picture ``data`` stretched to the pixel ``box``; ``False`` when it does not decode."""
    left, top = round(box[0]), round(box[1])
    size = (max(1, round(box[2]) - left), max(1, round(box[3]) - top))
    try:
        with Image.open(io.BytesIO(data)) as src:
            if src.format not in _MIME:
                return False
            src.draft("RGB", size)  # JPEG: decode at a reduced size when the box is small
            pic = src.convert("RGBA").resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    except _DECODE_ERRORS:
        return False
    img.paste(pic, (left, top), pic)
    return True


def _draw_text(
    draw: ImageDraw.ImageDraw, item: Mapping[str, Any], at: Point, s: float, ink: tuple[int, int, int]
) -> None:
    size = _size(item)
    font = _font(max(1, round(size * s)))
    x, y = at
    for i, line in enumerate(text_lines(item)):
        if not line:
            continue
        top = y + i * LINE_HEIGHT * size * s
        if isinstance(font, ImageFont.FreeTypeFont):
            draw.text((x, top + size * s), line, fill=ink, font=font, anchor="ls")
        else:  # Pillow without FreeType: a fixed bitmap font, drawn from the line's top
            draw.text((x, top), line, fill=ink, font=font)


def _draw_item(
    img: Image.Image,
    draw: ImageDraw.ImageDraw,
    item: Mapping[str, Any],
    origin: Point,
    s: float,
    images: Mapping[str, bytes] | None,
) -> None:
    tool = _tool(item)
    ox, oy = origin

    def px(p: Point) -> Point:
        return ((p[0] - ox) * s, (p[1] - oy) * s)

    if tool in _FREEHAND:
        raw = _points(item)
        if not raw:
            return
        if s < 1:  # zoomed out (a thumbnail): points less than a pixel apart add nothing but time
            raw = _decimate(raw, 1 / s)
        pts = [((x - ox) * s, (y - oy) * s) for x, y in flatten(raw, step=2.0 / s)]
        width = _width(item) * s
        rgb = _rgb(str(item.get("color", "#000000")))
        if tool == "highlighter":
            _highlight(img, pts, width, rgb)
        else:
            _draw_line(draw, pts, width, rgb)
    elif tool == "line" or tool == "arrow":
        raw = _points(item)
        if len(raw) < 2:
            return
        rgb = _rgb(str(item.get("color", "#000000")))
        width = _width(item) * s
        _draw_line(draw, [px(p) for p in raw], width, rgb)
        head = arrow_head(raw, _width(item)) if tool == "arrow" else None
        if head is not None:
            _draw_line(draw, [px(head[0]), px(raw[-1]), px(head[1])], width, rgb)
    elif tool in _BOXED:
        raw = _points(item)
        if len(raw) < 2:
            return
        bx0, by0, bx1, by1 = _box(raw[0], raw[1])
        box = (*px((bx0, by0)), *px((bx1, by1)))
        if tool == "image":
            fid = item.get("file")
            data = images.get(fid) if images is not None and isinstance(fid, str) else None
            if data and _paste_image(img, box, data):
                return
            _draw_box(draw, "rect", box, IMAGE_BORDER_WIDTH * s, _rgb(IMAGE_BORDER), _rgb(IMAGE_FILL))
            return
        fill = item.get("fill")
        ink = _rgb(str(item.get("color", "#000000")))
        _draw_box(draw, tool, box, _width(item) * s, ink, _rgb(str(fill)) if fill else None)
    elif tool == "text":
        tb = text_box(item)
        if tb is None:
            return
        fill = item.get("fill")
        if fill:
            sx0, sy0, sx1, sy1 = _sticky_box(item, tb)
            draw.rectangle((*px((sx0, sy0)), *px((sx1, sy1))), fill=_rgb(str(fill)))
        _draw_text(draw, item, px((tb[0], tb[1])), s, _rgb(str(item.get("color", "#000000"))))


def to_png(
    items: Sequence[Mapping[str, Any]],
    scale: float = 1.0,
    *,
    width: int | None = None,
    max_points: int | None = None,
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """The note as PNG bytes, ``scale`` pixels per drawing unit (reduced to fit :data:`MAX_PNG_SIDE`).

    With ``width`` (:data:`MIN_PNG_WIDTH` to :data:`MAX_PNG_WIDTH`, else
    :class:`~collab.errors.BadRequest`) ``scale`` is ignored: the image is exactly
    ``width`` pixels wide, its height following the aspect ratio (at least 1 pixel),
    drawn directly at that scale. A note so tall that the height would pass
    :data:`MAX_PNG_SIDE` is drawn smaller to fit, centred between white bands, the
    width still exact. ``images`` and ``max_points`` as in :func:`to_svg`.
    """
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, int) or not MIN_PNG_WIDTH <= width <= MAX_PNG_WIDTH
    ):
        raise BadRequest(f"width must be a whole number of pixels from {MIN_PNG_WIDTH} to {MAX_PNG_WIDTH}")
    _check_points(items, max_points)
    box = bounds(items)
    if box is None:
        ew, eh = EMPTY_SIZE
        size = EMPTY_SIZE if width is None else (width, max(1, round(eh * width / ew)))
        img = Image.new("RGB", size, "white")
    else:
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0
        if width is None:
            scale = min(scale, MAX_PNG_SIDE / max(bw, bh))
            size = (max(1, math.ceil(bw * scale)), max(1, math.ceil(bh * scale)))
        else:
            scale = width / bw
            height = max(1, round(bh * scale))
            if height > MAX_PNG_SIDE:
                height, scale = MAX_PNG_SIDE, MAX_PNG_SIDE / bh
                x0 -= (width / scale - bw) / 2  # centre the narrower drawing
            size = (width, height)
        ss = SUPERSAMPLE if max(size) * SUPERSAMPLE <= MAX_PNG_SIDE else 1
        s = scale * ss
        img = Image.new("RGB", (size[0] * ss, size[1] * ss), "white")
        draw = ImageDraw.Draw(img)
        for item in items:
            _draw_item(img, draw, item, (x0, y0), s, images)
        if ss > 1:
            img = img.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()
