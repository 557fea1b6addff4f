"""collab.handlers without Socket.IO: cheap checks come first, then validation, refusals carry codes."""

from __future__ import annotations

from typing import Any

import pytest

from collab import handlers, ops
from collab.config import DEFAULTS
from collab.errors import CollabError
from collab.handlers import Connection
from collab.settings import RealtimeSettings

SETTINGS = RealtimeSettings.from_config(DEFAULTS)


def conn(**notes: str) -> Connection:
    c = Connection.open("sid1", {"peer": "sid1", "name": "A", "color": "#112233"}, SETTINGS, 0.0)
    c.notes.update(notes)
    return c


def code_of(fn: Any, *args: Any) -> str:
    with pytest.raises(CollabError) as caught:
        fn(*args)
    return caught.value.code


def test_an_op_on_a_note_not_joined_is_refused_before_its_payload_is_read() -> None:
    huge = {"note": "n", "id": "x", "color": "#000", "width": 1, "points": [[0, 0]] * 100_000}
    assert code_of(handlers.op_request, conn(), ops.KINDS["stroke"], huge, SETTINGS, 0.0) == "not_joined"
    assert code_of(handlers.op_request, conn(n="view"), ops.KINDS["stroke"], huge, SETTINGS, 0.0) == "forbidden"


def test_an_editor_gets_an_op_request_with_the_parsed_body() -> None:
    data = {"note": "n", "ids": ["a", "a", "b"], "dx": 1, "dy": 2}
    req = handlers.op_request(conn(n="edit"), ops.KINDS["move"], data, SETTINGS, 5.0)
    assert (req.note, req.kind, req.peer, req.received) == ("n", "move", "sid1", 5.0)
    assert req.body == {"ids": ["a", "b"], "dx": 1, "dy": 2}


def test_an_editor_past_the_rate_is_rate_limited() -> None:
    c = conn(n="edit")
    c.ops.tokens = 0
    assert code_of(handlers.op_request, c, ops.KINDS["clear"], {"note": "n"}, SETTINGS, 0.0) == "rate_limited"


def test_a_room_closed_elsewhere_means_not_joined_and_forgets_the_note() -> None:
    c = conn(n="edit")
    c.in_room = lambda note: False
    assert code_of(handlers.op_request, c, ops.KINDS["clear"], {"note": "n"}, SETTINGS, 0.0) == "not_joined"
    assert c.notes == {}


@pytest.mark.parametrize(
    ("role", "data", "create"),
    [
        ("edit", {"note": "n"}, "n"),
        ("view", {"note": "n"}, None),  # a viewer never creates
        ("edit", {"note": "n", "epoch": "e1"}, None),  # a join naming an epoch never creates
    ],
)
def test_only_an_editors_join_without_an_epoch_may_create(role: str, data: dict[str, Any], create: str | None) -> None:
    assert handlers.join_plan(conn(), data, role, SETTINGS).create == create


def test_a_join_without_a_role_is_forbidden() -> None:
    assert code_of(handlers.join_plan, conn(), {"note": "n"}, None, SETTINGS) == "forbidden"


def test_a_draft_from_a_viewer_is_forbidden_before_it_is_validated() -> None:
    huge = {"note": "n", "id": "d", "color": "#000", "width": 1, "points": "not even a list"}
    assert code_of(handlers.draft, conn(n="view"), huge, SETTINGS, 0.0) == "forbidden"
    assert code_of(handlers.draft, conn(), huge, SETTINGS, 0.0) == "not_joined"
    assert code_of(handlers.draft, conn(n="edit"), huge, SETTINGS, 0.0) == "bad_request"


def test_a_cursor_relays_only_what_the_contract_names() -> None:
    note, relay = handlers.cursor(conn(n="view"), {"note": "n", "x": 1, "y": 2, "laser": False, "junk": 1}, 0.0)
    assert (note, relay) == ("n", {"note": "n", "peer": "sid1", "x": 1, "y": 2})


def test_a_profile_keeps_what_it_does_not_change() -> None:
    c = conn()
    assert handlers.profile(c, {"color": "#abcdef"}, 0.0) == {"peer": "sid1", "name": "A", "color": "#abcdef"}
    assert c.peer["color"] == "#abcdef"
