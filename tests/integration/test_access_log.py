"""collab's own server writes an access log (``collab.access``, info), share tokens redacted; a switch turns it off.

Also the debug-line helpers for joins and ops (``collab.logs.log_join`` / ``log_op``):
ids, seqs and sizes, client strings escaped, never a payload or a token.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import requests

from collab.logs import access_line, escape, log_join, log_op

from serverproc import ServerProcess
from sioclient import Peer

TOKEN = "s3cr3t.t0ken-value"


def access_lines(srv: ServerProcess) -> list[str]:
    return [line for line in srv.log_path.read_text().splitlines() if " collab.access " in line]


def exercise(srv: ServerProcess, transport: str = "polling") -> None:
    assert requests.get(f"{srv.url}/api/notes", params={"share": TOKEN, "x": "1"}, timeout=10).status_code == 200
    peer = Peer(srv.url, transport)
    assert peer.call("join", {"note": "logged"})["ok"]
    peer.close()


@pytest.mark.parametrize("mode", ["gevent", "threading"])
def test_every_request_is_one_line_with_share_tokens_redacted(tmp_path: Path, mode: str) -> None:
    srv = ServerProcess(tmp_path, async_mode=mode).start()
    try:
        exercise(srv)
    finally:
        srv.stop()
    lines = access_lines(srv)
    assert TOKEN not in srv.log_path.read_text()
    api = [line for line in lines if "/api/notes?" in line]
    assert len(api) == 1, lines
    assert re.search(
        r'collab\.access 127\.0\.0\.1 "GET /api/notes\?share=\[redacted\]&x=1 HTTP/1\.1" 200 (\d+|-) \d+\.\d{3}s$',
        api[0],
    )
    polls = [line for line in lines if "/socket.io/?" in line]
    assert len(polls) >= 3, lines  # the handshake, the namespace connect, polls (fast path included)
    assert all(re.search(r'" (200|400) ([1-9]\d*|-) \d+\.\d{3}s$', line) for line in polls), polls  # '-': Werkzeug


def test_a_websocket_connection_is_one_line_when_it_ends(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path).start()
    try:
        exercise(srv, "websocket")
    finally:
        srv.stop()
    upgrades = [line for line in access_lines(srv) if "transport=websocket" in line]
    assert len(upgrades) == 1 and '" 101 ' in upgrades[0], access_lines(srv)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_access_log_can_be_turned_off(tmp_path: Path, how: str) -> None:
    if how == "option":
        srv = ServerProcess(tmp_path, args=["--no-access-log"])
    else:
        srv = ServerProcess(tmp_path, env={"COLLAB_ACCESS_LOG": "false"})
    srv.start()
    try:
        exercise(srv)
    finally:
        srv.stop()
    assert access_lines(srv) == []
    assert "connect sid=" in srv.log_path.read_text()  # the other logs are still there


# -- the line formats ---------------------------------------------------------------------------


def test_access_line_escapes_the_request_line_and_redacts_tokens() -> None:
    line = access_line(("10.0.0.7", 5555), 'GET /n/a"b\x1b[31m?share=abc&v=1 HTTP/1.1', b"404 NOT FOUND", None, 0.01234)
    assert line == '10.0.0.7 "GET /n/a\\"b\\x1b[31m?share=[redacted]&v=1 HTTP/1.1" 404 - 0.012s'


def test_escape_keeps_one_printable_line() -> None:
    assert escape('a"b\\c\nd\x00é') == 'a\\"b\\\\c\\nd\\x00é'
    assert escape("x" * 200, 10) == "x" * 10 + "..."


def test_join_and_op_lines_carry_ids_seqs_and_sizes_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="collab"):
        log_join("SID1", 'team\n"plan"', "edit", since=3, seq=12, ops=9)
        log_op("SID1", "team", "stroke", op_id="s-1\r\n", seq=13, points=42, size=910)
        log_op("SID2", "team", "remove", op_id="s-9", code="not_found")
    assert [r.getMessage() for r in caplog.records] == [
        'join sid=SID1 note="team\\n\\"plan\\"" role=edit since=3 seq=12 ops=9',
        'op sid=SID1 note="team" kind=stroke id="s-1\\r\\n" seq=13 points=42 bytes=910',
        'op sid=SID2 note="team" kind=remove id="s-9" refused=not_found',
    ]


def test_join_and_op_lines_cost_nothing_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="collab"):
        log_join("SID1", "team", "edit")
        log_op("SID1", "team", "stroke", seq=1)
    assert caplog.records == []
