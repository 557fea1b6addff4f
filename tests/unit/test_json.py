"""collab's JSON codec for Socket.IO packets: orjson's speed, the standard library's exact integers."""

from __future__ import annotations

import gc
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collab import _json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@given(JSON_VALUES)
def test_loads_agrees_with_the_standard_library(value: object) -> None:
    text = json.dumps(value)
    assert _json.loads(text) == json.loads(text)
    assert _json.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("wrap", [str, str.encode, lambda t: bytearray(t.encode())])
def test_integers_beyond_64_bits_stay_exact_whatever_the_input_type(wrap) -> None:
    text = f'{{"since": {2**70}, "points": [[1.5, 2]], "x": -{10**25}}}'
    got = _json.loads(wrap(text))
    assert got == {"since": 2**70, "points": [[1.5, 2]], "x": -(10**25)}
    assert type(got["since"]) is int and type(got["x"]) is int


@pytest.mark.parametrize(
    ("text", "huge"),
    [
        ("[12345678901234567890]", True),  # 20 digits: the exact parser
        ("[1234567890123456789]", False),  # 19 digits fit in 64 bits
        ('["id-99999999999999999999"]', True),  # digits in a string: harmless, same result
        ("[0.12345678901234567890]", True),
        ("[-9223372036854775809]", True),  # one below -2**63: orjson would give a float
        ("[-9223372036854775808]", True),  # fits, but the check is by shape: exact either way
        ("[18446744073709551615]", True),
        ("[1.5, 22, 333]", False),
        ("", False),
    ],
)
def test_the_huge_integer_check_looks_for_twenty_digits_in_a_row(text: str, huge: bool) -> None:
    assert _json._may_hold_huge_int(text) is huge
    assert _json._may_hold_huge_int(text.encode()) is huge


@pytest.mark.parametrize("offset", [-25, -20, -19, -10, -1, 0, 1])
def test_a_huge_integer_across_a_window_of_the_check_is_found(offset: int) -> None:
    start = _json._WINDOW + offset  # the integer's first character, near where a window ends
    text = "[" + "1," * ((start - 1) // 2) + " " * ((start - 1) % 2) + str(2**70) + "]"
    assert text.index(str(2**70)) == start
    assert _json._may_hold_huge_int(text) and _json._may_hold_huge_int(text.encode())
    assert _json.loads(text)[-1] == 2**70


@pytest.mark.parametrize("n", [2**64 - 1, 2**64, 2**63, -(2**63), -(2**63) - 1, -(10**19) + 1, -(10**19), 10**19])
def test_integers_at_the_64_bit_edges_stay_exact(n: int) -> None:
    got = _json.loads(f"[{n}]")
    assert got == [n] and type(got[0]) is int


def test_a_lone_surrogate_does_not_break_the_check() -> None:
    assert _json.loads('"\ud800"') == "\ud800"  # the standard library accepts what orjson refuses


def _many_lists(items: int) -> str:
    return json.dumps({"strokes": [{"id": f"s{i}", "points": [[i, 1.5]] * 16} for i in range(items)]})


def test_a_big_text_is_parsed_without_a_garbage_collection_and_collection_resumes_after() -> None:
    text = _many_lists(4000)
    assert len(text) >= _json.BIG_TEXT
    runs: list[str] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        runs.append(phase)

    gc.collect()
    gc.callbacks.append(watch)
    try:
        parsed = _json.loads(text)
        during = len(runs)  # an int: allocating it cannot start a collection
        assert gc.isenabled()
        _json.loads(_many_lists(20))  # a small text: parsed as usual, the collector running as it likes
    finally:
        gc.callbacks.remove(watch)
    assert during == 0, "tens of thousands of lists were allocated with the collector paused"
    assert parsed == json.loads(text)


def test_a_big_texts_result_goes_straight_to_the_oldest_generation() -> None:
    thresholds = gc.get_threshold()
    gc.set_threshold(10**9)  # no collection moves anything while we look
    try:
        parsed = _json.loads(_many_lists(4000))
        young = {id(o) for o in gc.get_objects(generation=0)} | {id(o) for o in gc.get_objects(generation=1)}
        old = {id(o) for o in gc.get_objects(generation=2)}
    finally:
        gc.set_threshold(*thresholds)
    for container in (parsed, parsed["strokes"], parsed["strokes"][-1]["points"]):
        assert id(container) not in young and id(container) in old


def test_a_caller_that_paused_the_collector_finds_it_still_paused() -> None:
    gc.disable()
    try:
        _json.loads(_many_lists(4000))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_big_text_with_a_huge_integer_keeps_it_exact() -> None:
    text = _many_lists(4000)[:-1] + ', "n": 123456789012345678901234567890}'
    assert _json.loads(text)["n"] == 123456789012345678901234567890
