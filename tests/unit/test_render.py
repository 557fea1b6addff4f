"""collab.render: the SVG and PNG exports, as pure functions."""

from __future__ import annotations

import base64
import io
import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from PIL import Image, ImageColor

from collab import render
from collab.errors import BadRequest, TooLarge

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


# --- the tools of wire contract v2 -------------------------------------------------------------------------


def item(iid: str, tool: str, points: list[list[float]], color: str = "#000000", **kw: Any) -> dict[str, Any]:
    """An item as the server stores it (extra keys included, which the renderer must ignore)."""
    return {"type": "stroke", "seq": 1, "peer": "p", "id": iid, "tool": tool, "color": color, "points": points, **kw}


def png(items: list[dict[str, Any]], **kw: Any) -> Image.Image:
    return Image.open(io.BytesIO(render.to_png(items, **kw))).convert("RGB")


def pixel_at(items: list[dict[str, Any]], scale: float = 1) -> Any:
    """A function giving the RGB colour of the PNG (at ``scale``) at a world point."""
    img = png(items, scale=scale)
    x0, y0, _, _ = render.bounds(items) or (0, 0, 0, 0)

    def at(x: float, y: float) -> tuple[int, int, int]:
        px = img.getpixel((math.floor((x - x0) * scale), math.floor((y - y0) * scale)))
        assert isinstance(px, tuple)
        return px[0], px[1], px[2]

    return at


def by_id(svg: str) -> dict[str, ET.Element]:
    return {el.get("data-id", ""): el for el in ET.fromstring(svg).iter() if el.get("data-id") is not None}


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 3) -> bool:
    return all(abs(u - v) <= tol for u, v in zip(a, b, strict=True))


WHITE = (255, 255, 255)


def test_a_line_is_drawn_with_straight_segments_not_smoothed() -> None:
    line = item("l", "line", [[0, 0], [50, 50], [100, 0]], "#0000ff", width=4)
    el = by_id(render.to_svg([line]))["l"]
    assert el.tag == f"{SVG_NS}path" and el.get("d") == "M0 0L50 50L100 0"
    assert (el.get("stroke"), el.get("stroke-width"), el.get("data-tool")) == ("#0000ff", "4", "line")
    at = pixel_at([line])
    assert close(at(50, 49), (0, 0, 255), 12)  # the corner itself: a smoothed curve would stay near y=25
    assert at(50, 25) == WHITE


def test_an_arrow_has_a_head_at_its_last_point() -> None:
    arrow = item("a", "arrow", [[0, 0], [100, 0]], "#ff0000", width=4)
    head = render.arrow_head([(0, 0), (100, 0)], 4)
    assert head is not None
    length = max(10, 3 * 4)
    for (x, y), sign in zip(head, (-1, 1), strict=True):
        assert math.isclose(x, 100 - length * math.cos(math.radians(30)))
        assert math.isclose(y, sign * length * math.sin(math.radians(30)))
    d = by_id(render.to_svg([arrow]))["a"].get("d")
    assert d == "M0 0L100 0M89.61 -6L100 0L89.61 6"
    at = pixel_at([arrow], scale=2)
    assert at(94.8, 3) == (255, 0, 0) and at(94.8, -3) == (255, 0, 0)  # halfway along each line of the head
    assert at(50, 5) == WHITE  # no head at the start


def test_an_arrow_head_points_along_the_last_segment() -> None:
    head = render.arrow_head([(0, 0), (100, 0), (100, 100), (100, 100)], 10)  # a repeated last point is skipped
    assert head is not None
    (ax, ay), (bx, by) = head  # pointing down: the lines go back up, one to each side
    assert math.isclose(ay, 100 - 30 * math.cos(math.radians(30))) and math.isclose(by, ay)
    assert math.isclose(min(ax, bx), 85) and math.isclose(max(ax, bx), 115)
    assert render.arrow_head([(5, 5), (5, 5)], 2) is None  # no direction, no head


def test_the_bounds_hold_an_arrow_head() -> None:
    arrow = item("a", "arrow", [[0, 0], [100, 0]], width=20)  # head 60 long, its lines reach 30 up and down
    m = render.MARGIN
    x0, y0, x1, y1 = render.bounds([arrow]) or (0, 0, 0, 0)
    assert (y0, y1) == (-30 - 10 - m, 30 + 10 + m)
    assert (x0, x1) == (-10 - m, 100 + 10 + m)


def test_a_filled_rect_is_its_fill_inside_and_white_outside() -> None:
    rect = item("r", "rect", [[120, 80], [20, 20]], "#0000ff", width=4, fill="#ff0")  # corners in any order
    el = by_id(render.to_svg([rect]))["r"]
    assert el.tag == f"{SVG_NS}rect"
    assert {k: el.get(k) for k in ("x", "y", "width", "height", "fill", "stroke", "stroke-width")} == {
        "x": "20",
        "y": "20",
        "width": "100",
        "height": "60",
        "fill": "#ff0",
        "stroke": "#0000ff",
        "stroke-width": "4",
    }
    at = pixel_at([rect])
    assert at(70, 50) == (255, 255, 0)
    assert close(at(20, 50), (0, 0, 255), 12) and close(at(70, 80), (0, 0, 255), 12)  # the outline, centred on the edge
    assert at(10, 50) == WHITE and at(70, 90) == WHITE
    assert render.bounds([rect]) == (18 - render.MARGIN, 18 - render.MARGIN, 122 + render.MARGIN, 82 + render.MARGIN)


def test_a_rect_without_fill_is_hollow() -> None:
    rect = item("r", "rect", [[0, 0], [100, 60]], "#0000ff", width=2)
    assert by_id(render.to_svg([rect]))["r"].get("fill") is None  # the group's fill="none" applies
    at = pixel_at([rect])
    assert at(50, 30) == WHITE and close(at(0, 30), (0, 0, 255), 12)


def test_an_ellipse_is_inscribed_in_its_box() -> None:
    ellipse = item("e", "ellipse", [[0, 0], [200, 100]], "#00ff00", width=6, fill="#0000ff")
    el = by_id(render.to_svg([ellipse]))["e"]
    assert el.tag == f"{SVG_NS}ellipse"
    assert [el.get(k) for k in ("cx", "cy", "rx", "ry", "fill")] == ["100", "50", "100", "50", "#0000ff"]
    at = pixel_at([ellipse])
    assert at(100, 50) == (0, 0, 255)
    assert all(close(at(x, y), (0, 255, 0), 12) for x, y in ((0, 50), (100, 0), (199, 50), (100, 99)))
    assert at(8, 8) == WHITE  # a corner of the box is outside the ellipse


def test_a_flat_box_still_draws_its_outline() -> None:
    flat = item("r", "rect", [[0, 10], [100, 10]], "#ff0000", width=6)
    el = by_id(render.to_svg([flat]))["r"]
    assert el.tag == f"{SVG_NS}path" and el.get("d") == "M0 10L100 10"
    assert pixel_at([flat])(50, 10) == (255, 0, 0)


def test_text_lines_become_tspans_one_line_height_apart() -> None:
    text = item("t", "text", [[5, 7]], "#1971c2", text="ab\n\ncd", size=10)
    g = by_id(render.to_svg([text]))["t"]
    el = g.find(f"{SVG_NS}text")
    assert el is not None and (el.get("font-size"), el.get("fill")) == ("10", "#1971c2")
    spans = el.findall(f"{SVG_NS}tspan")
    assert [(s.text, s.get("x"), s.get("y")) for s in spans] == [
        ("ab", "5", "17"),  # the baseline one font size below the line's top
        (None, "5", "29.5"),
        ("cd", "5", "42"),
    ]
    assert g.find(f"{SVG_NS}rect") is None  # no fill: no sticky


def test_text_size_defaults_to_20_and_its_box_is_estimated() -> None:
    text = item("t", "text", [[10, 20]], text="abcd\nxy")
    assert render.text_box(text) == (10, 20, 10 + 4 * 0.6 * 20, 20 + 2 * 1.25 * 20)
    m = render.MARGIN
    assert render.bounds([text]) == (10 - m, 20 - m, 10 + 48 + m, 20 + 50 + m)


def test_text_is_escaped_and_never_becomes_markup() -> None:
    evil = '<script>alert("x")</script>&"\'\x00\x1b]]>'
    svg = render.to_svg([item('"><script>', "text", [[0, 0]], text=evil), item("f", "text", [[0, 50]], text="&amp;")])
    assert "<script" not in svg
    els = by_id(svg)  # well-formed XML despite NUL and ESC, which XML cannot carry: they are dropped
    span = els['"><script>'].find(f".//{SVG_NS}tspan")
    assert span is not None and span.text == '<script>alert("x")</script>&"\']]>'
    amp = els["f"].find(f".//{SVG_NS}tspan")
    assert amp is not None and amp.text == "&amp;"
    assert list(ET.fromstring(svg).iter(f"{SVG_NS}script")) == []


def test_text_pixels_are_dark_inside_the_text_box_and_white_around_it() -> None:
    text = item("t", "text", [[0, 0]], "#000000", text="HHHH\nHHHH", size=40)
    img = png([text])
    m = round(render.MARGIN)
    x1, y1 = m + round(4 * 0.6 * 40), m + round(2 * 1.25 * 40)
    inside = img.crop((m, m, x1, y1)).convert("L")
    hist = inside.histogram()
    assert sum(hist[:60]) > 0  # ink as dark as the text's black
    assert sum(hist[:128]) > 0.1 * inside.width * inside.height  # real glyphs, not a stray pixel
    assert img.crop((0, 0, img.width, m - 2)).convert("L").getextrema() == (255, 255)  # above the text: paper


def test_a_sticky_notes_background_is_its_fill_padded_around_the_text() -> None:
    sticky = item("s", "text", [[0, 0]], "#000000", text="hi there", size=20, fill="#ffec99")
    pad = 0.5 * 20
    m = render.MARGIN
    assert render.bounds([sticky]) == (-pad - m, -pad - m, 8 * 12 + pad + m, 25 + pad + m)
    at = pixel_at([sticky])
    assert at(-5, -5) == (255, 236, 153) and at(8 * 12 + 5, 30) == (255, 236, 153)  # the padding
    assert at(-pad - 4, 0) == WHITE
    img = png([sticky])
    glyphs = img.crop((round(m + pad), round(m + pad), round(m + pad + 96), round(m + pad + 25))).convert("L")
    assert sum(glyphs.histogram()[:80]) > 20  # dark text on the note
    g = by_id(render.to_svg([sticky]))["s"]
    rect, text = list(g)
    assert rect.tag == f"{SVG_NS}rect" and rect.get("fill") == "#ffec99"
    assert [rect.get(k) for k in ("x", "y", "width", "height")] == ["-10", "-10", "116", "45"]
    assert text.tag == f"{SVG_NS}text"


def test_a_highlighter_over_a_fill_is_translucent() -> None:
    items = [
        item("r", "rect", [[0, 0], [100, 100]], "#0000ff", width=2, fill="#0000ff"),
        item("h", "highlighter", [[0, 50], [100, 50]], "#ff0000", width=20),
    ]
    a = render.HIGHLIGHTER_ALPHA
    assert close(pixel_at(items)(50, 50), (round(255 * a), 0, round(255 * (1 - a))))


def test_an_image_without_its_file_is_a_grey_placeholder() -> None:
    image = {"id": "i", "tool": "image", "file": "f1", "points": [[0, 0], [100, 50]], "seq": 3}  # no colour or width
    el = by_id(render.to_svg([image]))["i"]
    assert el.tag == f"{SVG_NS}rect" and el.get("fill") == render.IMAGE_FILL
    assert el.get("stroke") == render.IMAGE_BORDER
    at = pixel_at([image])
    grey = ImageColor.getrgb(render.IMAGE_FILL)
    assert at(50, 25) == grey and at(-5, 25) == WHITE
    assert at(50, 0) != grey and min(at(50, 0)) < 220  # the thin border


def _two_colour_png() -> bytes:
    pic = Image.new("RGB", (8, 4), (255, 0, 0))
    pic.paste((0, 0, 255), (4, 0, 8, 4))
    buf = io.BytesIO()
    pic.save(buf, "PNG")
    return buf.getvalue()


def test_an_image_with_its_file_is_drawn_from_its_pixels() -> None:
    data = _two_colour_png()
    image = item("i", "image", [[100, 50], [0, 0]], file="f1")
    at_ = Image.open(io.BytesIO(render.to_png([image], images={"f1": data}))).convert("RGB")
    m = round(render.MARGIN + 0.5)
    assert close(at_.getpixel((m + 15, m + 25)), (255, 0, 0), 8)  # type: ignore[arg-type]
    assert close(at_.getpixel((m + 85, m + 25)), (0, 0, 255), 8)  # type: ignore[arg-type]
    el = by_id(render.to_svg([image], images={"f1": data}))["i"]
    assert el.tag == f"{SVG_NS}image"
    assert [el.get(k) for k in ("x", "y", "width", "height", "preserveAspectRatio")] == ["0", "0", "100", "50", "none"]
    href = el.get("href") or ""
    assert href.startswith("data:image/png;base64,") and base64.b64decode(href.split(",", 1)[1]) == data


def test_an_image_whose_file_does_not_decode_is_the_placeholder() -> None:
    image = item("i", "image", [[0, 0], [100, 50]], file="f1")
    images = {"f1": b"<svg onload=alert(1)>not a picture"}
    assert by_id(render.to_svg([image], images=images))["i"].tag == f"{SVG_NS}rect"
    assert png([image], images=images).getpixel((66, 41)) == ImageColor.getrgb(render.IMAGE_FILL)


def test_unknown_tools_and_incomplete_items_are_skipped() -> None:
    items = [
        item("u", "laser", [[0, 0], [1000, 1000]]),
        item("n", None, [[0, 0], [10, 0]], width=2),  # type: ignore[arg-type]  # no tool: a pen
        item("r", "rect", [[5, 5]], width=2),
        item("t", "text", [[5, 5]], text=""),
        item("l", "line", [[5, 5]], width=2),
        item("e", "ellipse", [], width=2),
    ]
    assert set(by_id(render.to_svg(items))) == {"n"}
    assert png(items).size == (10 + 2 + 32, 2 + 32)
    root = ET.fromstring(render.to_svg([items[0]]))
    assert (root.get("width"), root.get("height")) == tuple(str(v) for v in render.EMPTY_SIZE)
    assert png([items[0]]).size == render.EMPTY_SIZE


def test_every_tool_in_one_note_gives_one_element_per_item() -> None:
    items = [
        item("p", "pen", [[0, 0], [40, 60], [80, 0]], width=4),
        item("h", "highlighter", [[0, 100], [200, 100]], "#fab005", width=20),
        item("l", "line", [[100, 0], [150, 50]], width=3),
        item("a", "arrow", [[220, 0], [300, 80]], width=4),
        item("r", "rect", [[300, 150], [220, 120]], width=6, fill="#d3f9d8"),
        item("e", "ellipse", [[0, 150], [120, 220]], width=3),
        item("t", "text", [[0, 250]], text="Hello\nworld", size=24),
        item("s", "text", [[260, 250]], text="sticky", fill="#ffec99"),
        item("i", "image", [[150, 150], [200, 200]], file="f"),
    ]
    svg = render.to_svg(items)
    group = ET.fromstring(svg).find(f"{SVG_NS}g")
    assert group is not None and [el.get("data-id") for el in group] == [i["id"] for i in items]
    img = png(items)
    box = render.bounds(items)
    assert box is not None and img.size == (math.ceil(box[2] - box[0]), math.ceil(box[3] - box[1]))


def test_png_width_gives_exactly_that_many_pixels() -> None:
    strokes = [stroke("a", [[0, 0], [200, 0]], "#ff0000", 10), stroke("b", [[0, 100], [200, 100]], "#0000ff", 10)]
    img = png(strokes, width=121)  # the note is 242 x 142 drawing units
    assert img.size == (121, round(142 / 2))
    assert close(img.getpixel((60, round((5 + 16) / 2))), (255, 0, 0), 10)  # type: ignore[arg-type]
    assert png([], width=16).size == (16, 12)
    assert png(strokes, width=4096).width == 4096
    assert png([stroke("dot", [[0, 0]], width=1)], width=16).size == (16, 16)


def test_png_width_of_a_very_tall_note_keeps_the_width_and_caps_the_height() -> None:
    tall = [stroke("a", [[0, 0], [0, 100_000]], "#000000", 10)]
    img = png(tall, width=200)
    assert img.size == (200, render.MAX_PNG_SIDE)
    assert img.getpixel((100, 2000))[0] < 128  # type: ignore[index]  # centred
    assert img.getpixel((2, 2000)) == WHITE


def test_png_width_is_drawn_at_that_scale_not_shrunk_from_full_size(monkeypatch: Any) -> None:
    sizes: list[tuple[int, int]] = []
    new = Image.new

    def spy(mode: str, size: tuple[int, int], *args: Any, **kw: Any) -> Image.Image:
        sizes.append(tuple(size))  # type: ignore[arg-type]
        return new(mode, size, *args, **kw)

    monkeypatch.setattr(Image, "new", spy)
    huge = [
        stroke("a", [[0, 0], [50_000, 30_000]], width=100),
        item("t", "text", [[0, 0]], text="big", size=400, fill="#ffec99"),
        item("r", "rect", [[0, 0], [40_000, 20_000]], width=100, fill="#00ff00"),
    ]
    img = png(huge, width=64)
    assert img.width == 64
    assert sizes and max(max(s) for s in sizes) <= 64 * render.SUPERSAMPLE


def test_png_width_out_of_range_is_a_bad_request() -> None:
    for bad in (15, 4097, 0, -5):
        with pytest.raises(BadRequest, match="16 to 4096"):
            render.to_png([], width=bad)


def test_scale_still_applies_to_the_new_tools() -> None:
    rect = item("r", "rect", [[0, 0], [100, 50]], width=2)
    assert png([rect], scale=0.5).size == (math.ceil((102 + 32) / 2), math.ceil((52 + 32) / 2))


def test_count_points_counts_every_items_points() -> None:
    items = [
        stroke("a", [[0, 0], [1, 1], [2, 2]]),
        item("t", "text", [[0, 0]], text="x"),
        item("r", "rect", [[0, 0], [5, 5]], width=1),
        {"id": "z", "tool": "pen"},
    ]
    assert render.count_points(items) == 6
    assert render.count_points([]) == 0
    assert render.MAX_EXPORT_POINTS == 2_000_000


def test_more_points_than_max_points_raise_too_large() -> None:
    items = [stroke("a", [[i, 0] for i in range(60)]), stroke("b", [[i, 5] for i in range(50)])]
    assert ET.fromstring(render.to_svg(items, max_points=110)) is not None  # at the limit: fine
    assert render.to_png(items, max_points=110, width=32)
    for export in (render.to_svg, render.to_png):
        with pytest.raises(TooLarge) as exc:
            export(items, max_points=100)
        message = exc.value.message
        assert "110" in message and "100" in message and "COLLAB_MAX_EXPORT_POINTS" in message
        assert "smaller part" in message
        assert exc.value.code == "too_large"
