"""The page's replica (static/js/replica.js) under Node, and the shape of the shared op fixtures.

``tests/fixtures/ops/*.json`` are the one source of truth for three implementations:
the server (payload → op or error), the Python replica and the JS replica (ops → state).
The Node tests (``tests/js/``) replay them against the JS replica; here they are
checked for their format, so a fixture edited by hand cannot drift silently.

Node is needed for the first test: it skips when ``node`` is absent, unless
``COLLAB_REQUIRE_ALL=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
JS_TESTS = ROOT / "tests" / "js"
FIXTURES = ROOT / "tests" / "fixtures" / "ops"
REQUIRE_ALL = os.environ.get("COLLAB_REQUIRE_ALL") == "1"
MIN_NODE = 18  # node:test with describe/test, structuredClone

EVENTS = {"stroke", "remove", "clear", "update", "move", "restore"}
ERRORS = {"not_found", "bad_request"}
TOOLS = {"pen", "highlighter", "line", "arrow", "rect", "ellipse", "text", "image"}
FILL_TOOLS = {"rect", "ellipse", "text"}
NO_WIDTH = {"text", "image"}
SETTABLE = {"color", "width", "points", "fill", "text", "size"}
COLOR_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")


def _need_node() -> str:
    """The path of a usable ``node``; skip (fail under COLLAB_REQUIRE_ALL=1) without one."""
    node = shutil.which("node")
    msg = "node is not installed (Node 20 runs tests/js/)"
    if node:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        m = re.match(r"v(\d+)\.", out)
        if m and int(m.group(1)) >= MIN_NODE:
            return node
        msg = f"node {out or '(no version)'} is older than v{MIN_NODE} (Node 20 runs tests/js/)"
    if REQUIRE_ALL:
        pytest.fail(f"{msg} and COLLAB_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(msg)  # COLLAB_REQUIRE_ALL=1 turns this into a failure


def test_js_replica_under_node() -> None:
    """``node --test`` over tests/js/: the JS replica against every fixture, and its own rules."""
    node = _need_node()
    # The files are listed rather than the folder given: Node 20 searches a folder
    # (`node --test tests/js/`), Node 21+ takes only files or globs.
    files = sorted(str(p.relative_to(ROOT)) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, f"no *.test.mjs in {JS_TESTS}"
    done = subprocess.run(
        [node, "--test", "--test-reporter=spec", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    assert done.returncode == 0, (
        f"`node --test {' '.join(files)}` exited {done.returncode}:\n{done.stdout[-20000:]}\n{done.stderr[-4000:]}"
    )


# -- the fixtures' format -------------------------------------------------------------------------
def _fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def test_there_are_10_to_15_fixtures() -> None:
    names = [p.name for p in _fixture_files()]
    assert 10 <= len(names) <= 15, names
    assert all(p.suffix == ".json" for p in FIXTURES.iterdir() if p.is_file()), "only .json files belong there"


def _exact_numbers(value: Any, where: str) -> None:
    """Every number is a multiple of 1/8, so sums of them are exact in binary floats."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        assert (value * 8) == int(value * 8), f"{where}: {value} is not a multiple of 1/8"
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _exact_numbers(v, f"{where}[{i}]")
        return
    assert isinstance(value, dict), f"{where}: unexpected {type(value).__name__}"
    for k, v in value.items():
        _exact_numbers(v, f"{where}.{k}")


def _points(value: Any, where: str) -> None:
    assert isinstance(value, list) and value, f"{where}: points must be a non-empty list"
    for p in value:
        assert isinstance(p, list) and len(p) == 2, f"{where}: {p!r} is not an [x, y] pair"
        assert all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p), f"{where}: {p!r}"


def _check_item(item: Any, where: str) -> None:
    """An item as the replicas hold it: exactly the fields of its tool."""
    assert isinstance(item, dict), f"{where}: an item is an object"
    tool = item.get("tool")
    assert tool in TOOLS, f"{where}: tool {tool!r}"
    required = {"type", "seq", "peer", "id", "tool", "color", "points"}
    if tool not in NO_WIDTH:
        required.add("width")
    if tool == "text":
        required |= {"text", "size"}
    if tool == "image":
        required.add("file")
    allowed = required | ({"fill"} if tool in FILL_TOOLS else set())
    keys = set(item)
    assert required <= keys <= allowed, (
        f"{where}: {tool} item has {sorted(keys)}; needs {sorted(required)}, allows {sorted(allowed)}"
    )
    assert item["type"] == "stroke", where
    assert isinstance(item["seq"], int) and item["seq"] >= 1, where
    assert isinstance(item["peer"], str) and isinstance(item["id"], str) and item["id"], where
    assert COLOR_RE.match(item["color"]), f"{where}: color {item['color']!r}"
    if "fill" in item:
        assert COLOR_RE.match(item["fill"]), f"{where}: fill {item['fill']!r}"
    _points(item["points"], where)
    if tool == "rect":
        assert len(item["points"]) == 2, f"{where}: a rect has 2 points"
    if tool == "text":
        assert len(item["points"]) == 1, f"{where}: a text has 1 point"
        assert isinstance(item["text"], str) and isinstance(item["size"], (int, float)), where


def _check_op(op: Any, step: dict[str, Any], where: str) -> None:
    assert isinstance(op, dict), f"{where}: op must be an object"
    assert op.get("type") == step["event"], f"{where}: op type {op.get('type')!r} for event {step['event']!r}"
    assert op.get("peer") == step["peer"], f"{where}: op peer {op.get('peer')!r} for step peer {step['peer']!r}"
    assert "note" not in op, f"{where}: ops are written without note"
    kind = op["type"]
    keys = set(op)
    if kind == "stroke":
        _check_item(op, where)
        assert op["id"] == step["payload"].get("id"), where
    elif kind == "remove":
        assert keys == {"type", "seq", "peer", "id"}, f"{where}: {sorted(keys)}"
        assert op["id"] == step["payload"].get("id"), where
    elif kind == "clear":
        assert keys == {"type", "seq", "peer"}, f"{where}: {sorted(keys)}"
    elif kind == "update":
        assert keys == {"type", "seq", "peer", "id", "set"}, f"{where}: {sorted(keys)}"
        assert isinstance(op["set"], dict) and op["set"] and set(op["set"]) <= SETTABLE, f"{where}: set {op['set']!r}"
        sent = step["payload"].get("set", {})
        assert op["set"] == {k: v for k, v in sent.items() if k in SETTABLE}, (
            f"{where}: set is the recognised keys as sent"
        )
    elif kind == "move":
        assert keys == {"type", "seq", "peer", "ids", "dx", "dy"}, f"{where}: {sorted(keys)}"
        ids = op["ids"]
        assert isinstance(ids, list) and ids and len(set(ids)) == len(ids), f"{where}: ids {ids!r}"
        sent = step["payload"]["ids"]
        assert [i for i in dict.fromkeys(sent) if i in ids] == ids, f"{where}: ids keep the payload's order"
        assert (op["dx"], op["dy"]) == (step["payload"]["dx"], step["payload"]["dy"]), where
    elif kind == "restore":
        assert keys == {"type", "seq", "peer", "items"}, f"{where}: {sorted(keys)}"
        items = op["items"]
        assert isinstance(items, list) and items, f"{where}: items"
        for i, item in enumerate(items):
            _check_item(item, f"{where}.items[{i}]")
            assert item["seq"] < op["seq"], f"{where}.items[{i}]: a restored item keeps its original (earlier) seq"
        got = [it["id"] for it in items]
        assert len(set(got)) == len(got), f"{where}: duplicate ids in items"
        sent = step["payload"]["ids"]
        assert [i for i in dict.fromkeys(sent) if i in got] == got, f"{where}: items keep the payload's order"


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.stem)
def test_fixture_format(path: Path) -> None:
    """Each file: a description, steps (a payload and exactly one of op/error/duplicate_of),
    ops numbered 1, 2, 3… without gaps, and a final state in layer order."""
    fx = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(fx, dict) and set(fx) == {"description", "steps", "state"}, f"top-level keys {sorted(fx)}"
    assert isinstance(fx["description"], str) and fx["description"].strip(), "a description sentence"
    assert isinstance(fx["steps"], list) and fx["steps"], "steps"
    _exact_numbers(fx, path.name)

    next_seq = 1
    stroke_seqs: dict[str, int] = {}  # id → seq of the op that added it
    for n, step in enumerate(fx["steps"], 1):
        where = f"{path.name} step {n}"
        assert isinstance(step, dict), where
        assert {"peer", "event", "payload"} <= set(step), f"{where}: needs peer, event, payload"
        outcome = set(step) & {"op", "error", "duplicate_of"}
        assert len(outcome) == 1, f"{where}: exactly one of op/error/duplicate_of, got {sorted(outcome)}"
        assert set(step) == {"peer", "event", "payload"} | outcome, f"{where}: unexpected keys {sorted(step)}"
        assert isinstance(step["peer"], str) and step["peer"], where
        assert step["event"] in EVENTS, f"{where}: event {step['event']!r}"
        assert isinstance(step["payload"], dict) and "note" not in step["payload"], f"{where}: payload without note"
        if "op" in step:
            _check_op(step["op"], step, where)
            assert step["op"]["seq"] == next_seq, f"{where}: seq {step['op']['seq']}, expected {next_seq}"
            next_seq += 1
            if step["event"] == "stroke":
                stroke_seqs[step["op"]["id"]] = step["op"]["seq"]
        elif "error" in step:
            assert step["error"] in ERRORS, f"{where}: error {step['error']!r}"
            assert step["event"] != "clear", f"{where}: clear is never refused"
        else:
            assert step["event"] == "stroke", f"{where}: duplicate_of belongs to stroke steps"
            sid = step["payload"].get("id")
            assert stroke_seqs.get(sid) == step["duplicate_of"], (
                f"{where}: duplicate_of {step['duplicate_of']} but {sid!r} was added at {stroke_seqs.get(sid)}"
            )

    state = fx["state"]
    assert isinstance(state, list), "state"
    for i, item in enumerate(state):
        _check_item(item, f"{path.name} state[{i}]")
        assert item["seq"] < next_seq, f"{path.name} state[{i}]: seq {item['seq']} was never used"
        assert stroke_seqs.get(item["id"]) == item["seq"], (
            f"{path.name} state[{i}]: seq is that of the op that added it"
        )
    seqs = [it["seq"] for it in state]
    assert seqs == sorted(set(seqs)), f"{path.name}: state not in layer order: {seqs}"
    assert len({it["id"] for it in state}) == len(state), f"{path.name}: duplicate ids in state"
