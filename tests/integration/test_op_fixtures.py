"""The shared op fixtures (``tests/fixtures/ops``) against the store and the Python replicas.

The same files drive ``static/js/replica.js`` under Node (``tests/unit/test_replica_js.py``):
each step is a client event and the op the server must make of it (or its
refusal); replaying the ops must give the fixture's final state. The store runs
the events on real SQLite and PostgreSQL, one op per batch and all in one batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collab import ops
from collab.errors import CollabError
from collab.files import Upload
from collab.model import OpRequest
from collab.replica import NoteReplica
from collab.store import open_store
from collab.store.base import Store

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "ops").glob("*.json"))
LIMITS = ops.Limits()


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def travelling(fixture: dict[str, Any]) -> list[dict[str, Any]]:
    return [s["op"] for s in fixture["steps"] if "op" in s]


@pytest.fixture(params=FIXTURES, ids=[p.stem for p in FIXTURES])
def fixture(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_the_python_state_replays_every_fixture_to_its_state(fixture: dict[str, Any]) -> None:
    assert ops.NoteState.replay(travelling(fixture)).listing() == fixture["state"]


def test_the_client_replica_applies_every_fixture_in_any_order(fixture: dict[str, Any]) -> None:
    ops_ = travelling(fixture)
    for order in (ops_, list(reversed(ops_))):
        replica = NoteReplica("n")
        replica.join_request()
        replica.apply_join_ack({"ok": True, "seq": 0, "strokes": [], "peer": "me"}, 0.0)
        for op in order:
            replica.apply_op({"note": "n", **op}, 0.0)
            replica.apply_op({"note": "n", **op}, 0.0)  # a second delivery changes nothing
        assert replica.seq == len(ops_)
        assert replica.strokes == fixture["state"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'ops.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = open_store(url)
    yield s
    s.close()


def request_of(step: dict[str, Any]) -> OpRequest | CollabError:
    kind = ops.KINDS[step["event"]]
    try:
        return OpRequest("n", step["event"], step["peer"], body=kind.parse(step["payload"], LIMITS))
    except CollabError as exc:
        return exc


def check(step: dict[str, Any], got: OpRequest | CollabError) -> None:
    if isinstance(got, CollabError):
        assert step.get("error") == got.code, (step, got)
        return
    if "error" in step:
        assert got.error is not None and got.error.code == step["error"], (step, got.op, got.error)
    elif "duplicate_of" in step:
        assert got.duplicate and got.op is not None and got.op["seq"] == step["duplicate_of"], step
    else:
        assert got.error is None and got.op == step["op"], (step, got.op, got.error)


@pytest.mark.parametrize("batched", [False, True], ids=["op-by-op", "one-batch"])
def test_the_store_makes_each_fixtures_ops_and_state(store: Store, fixture: dict[str, Any], batched: bool) -> None:
    store.create("n", "N")
    for name in {s["payload"]["file"] for s in fixture["steps"] if isinstance(s["payload"].get("file"), str)}:
        store.put_file("n", Upload(name, "image/png", 1, 1, 1), b"\x89PNG")  # the files its image items name
    reqs = [request_of(s) for s in fixture["steps"]]
    if batched:
        store.apply([r for r in reqs if isinstance(r, OpRequest)])
    else:
        for r in reqs:
            if isinstance(r, OpRequest):
                store.apply([r])
    for step, got in zip(fixture["steps"], reqs, strict=True):
        check(step, got)
    joined = store.join("n", None, None)
    assert joined is not None and joined.strokes == fixture["state"]
    caught_up = store.join("n", 0, None)
    assert caught_up is not None and caught_up.ops == travelling(fixture)  # the log keeps every op whole
    seq = len(travelling(fixture))
    for at in range(seq + 1):  # history: the state after every seq
        got_at = store.state_at("n", at)  # type: ignore[attr-defined]
        assert got_at is not None
        assert got_at[1] == ops.NoteState.replay(travelling(fixture)[:at]).listing()
