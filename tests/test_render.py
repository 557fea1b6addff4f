"""collab.render: the SVG and PNG exports, as pure functions."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

from PIL import Image

from collab import render

SVG_NS = "{http://www.w3.org/2000/svg}"


def stroke(sid: str, points: list[list[float]], color: str = "#e03131", width: float = 4, **kw: Any) -> dict[str, Any]:
    return {"type": "stroke", "seq": 1, "peer": "p", "id": sid, "color": color, "width": width, "points": points, **kw}


def paths(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG_NS}path"))


def test_svg_holds_every_stroke_with_colour_and_width() -> None:
    strokes = [
        stroke("a", [[0, 0], [50, 20], [100, 0]], "#1971c2", 6),
        stroke("b", [[10, 10]], "#2f9e44", 12.5),
        stroke("c", [[0, 40], [100, 40]], "#fab005", 20, tool="highlighter"),
    ]
    got = paths(render.to_svg(strokes))
    assert [(p.get("data-id"), p.get("stroke"), p.get("stroke-width")) for p in got] == [
        ("a", "#1971c2", "6"),
        ("b", "#2f9e44", "12.5"),
        ("c", "#fab005", "20"),
    ]
    assert got[2].get("stroke-opacity") == str(render.HIGHLIGHTER_ALPHA)
    assert got[0].get("stroke-opacity") is None
    assert got[0].get("d") == "M0 0Q50 20 75 10L100 0"
    assert got[1].get("d") == "M10 10L10 10"


def test_svg_viewbox_is_bounding_box_plus_margin() -> None:
    root = ET.fromstring(render.to_svg([stroke("a", [[10, 20], [110, 70]], width=10)]))
    m = render.MARGIN
    x, y, w, h = (float(v) for v in root.get("viewBox", "").split())
    assert (x, y, w, h) == (10 - 5 - m, 20 - 5 - m, 100 + 10 + 2 * m, 50 + 10 + 2 * m)
    rect = root.find(f"{SVG_NS}rect")
    assert rect is not None and rect.get("fill") == "#ffffff"


def test_svg_escapes_ids() -> None:
    evil = '"><script>alert(1)</script><x a="'
    svg = render.to_svg([stroke(evil, [[0, 0], [5, 5]])])
    assert "<script" not in svg
    assert paths(svg)[0].get("data-id") == evil


def test_empty_note_gives_small_blank_images() -> None:
    root = ET.fromstring(render.to_svg([]))
    assert (root.get("width"), root.get("height")) == tuple(str(v) for v in render.EMPTY_SIZE)
    img = Image.open(io.BytesIO(render.to_png([])))
    assert img.size == render.EMPTY_SIZE
    assert img.convert("RGB").getextrema() == ((255, 255), (255, 255), (255, 255))


def test_png_has_ink_where_the_strokes_are() -> None:
    strokes = [stroke("a", [[0, 0], [200, 0]], "#ff0000", 10), stroke("b", [[0, 100], [200, 100]], "#0000ff", 10)]
    img = Image.open(io.BytesIO(render.to_png(strokes))).convert("RGB")
    x0, y0, _, _ = render.bounds(strokes) or (0, 0, 0, 0)
    assert img.size == (200 + 10 + 32, 100 + 10 + 32)

    def at(x: float, y: float) -> tuple[int, int, int]:
        px = img.getpixel((round(x - x0), round(y - y0)))
        assert isinstance(px, tuple)
        return px[0], px[1], px[2]

    assert at(100, 0) == (255, 0, 0)
    assert at(100, 100) == (0, 0, 255)
    assert at(100, 50) == (255, 255, 255)  # between the strokes: paper
    assert at(-3, 0)[1] < 128  # round cap beyond the first point


def test_png_highlighter_is_translucent_and_scale_applies() -> None:
    strokes = [stroke("h", [[0, 0], [100, 0]], "#000000", 20, tool="highlighter")]
    img = Image.open(io.BytesIO(render.to_png(strokes, scale=2))).convert("RGB")
    assert img.size == ((100 + 20 + 32) * 2, (20 + 32) * 2)
    r, g, b = img.getpixel((img.width // 2, img.height // 2))  # type: ignore[misc]
    expected = round(255 * (1 - render.HIGHLIGHTER_ALPHA))
    assert abs(r - expected) <= 3 and r == g == b


def test_png_of_a_huge_drawing_is_capped() -> None:
    img = Image.open(io.BytesIO(render.to_png([stroke("a", [[-1e6, -1e6], [1e6, 1e6]], width=100)])))
    assert max(img.size) <= render.MAX_PNG_SIDE


def test_short_colours_and_single_points_render() -> None:
    img = Image.open(io.BytesIO(render.to_png([stroke("a", [[5, 5]], "#0f0", 30)]))).convert("RGB")
    assert img.getpixel((img.width // 2, img.height // 2)) == (0, 255, 0)


def test_flatten_follows_the_svg_curve() -> None:
    pts = render.flatten([(0, 0), (50, 20), (100, 0)])
    assert pts[0] == (0, 0) and pts[-1] == (100, 0)
    assert (75.0, 10.0) in pts  # the midpoint the Q segment ends on
    assert all(y >= 0 for _, y in pts)
