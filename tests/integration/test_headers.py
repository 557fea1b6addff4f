"""collab._headers: the request-header parser collab's gevent server uses instead of the email package.

Unit tests compare it with :func:`http.client.parse_headers` (what gevent uses by itself);
the server tests send raw HTTP to the real server: odd but valid headers are served,
invalid ones get 400, and a kept-alive connection serves request after request.
"""

from __future__ import annotations

import io
import json
import socket
from http.client import HTTPException, parse_headers

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collab._headers import MAX_HEADERS, MAX_LINE, Headers

from serverproc import ServerProcess

_TCHAR = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-!#$%&'*+.^`|~"  # RFC 9110 token
_TOKEN = st.text(alphabet=_TCHAR, min_size=1, max_size=20)
_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)


def _read(block: bytes) -> tuple[Headers, bytes]:
    fp = io.BytesIO(block)
    return Headers.read(fp), fp.read()


@given(st.lists(st.tuples(_TOKEN, _VALUE), max_size=12))
def test_agrees_with_the_standard_library(fields: list[tuple[str, str]]) -> None:
    block = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in fields) + b"\r\nrest"
    ours, rest = _read(block)
    theirs = parse_headers(io.BytesIO(block))
    assert rest == b"rest" and ours.status == ""
    for name, _ in fields:
        for spelled in (name, name.lower(), name.upper()):
            expected = theirs.get(spelled)
            assert ours.get(spelled) == (expected.strip() if expected is not None else None)
    assert [(k, v.strip()) for k, v in theirs.items()] == ours.items()
    assert list(ours.headers) == [f"{k}: {v.strip()}\r\n" for k, v in fields]


def test_first_of_repeated_fields_deletion_folding_and_content_type() -> None:
    h, rest = _read(
        b"Host: x\r\nCookie: a=1\r\ncookie: b=2\r\nX-Folded: one\r\n \t two\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
    )
    assert rest == b"abc"
    assert h.get("COOKIE") == "a=1" and h.getheader("x-folded") == "one two"
    assert h.typeheader == "text/plain" and "content-length" in h
    del h["Content-Length"]
    assert h.get("content-length") is None and "Content-Length" not in h
    assert h.get("missing", "dflt") == "dflt"
    assert list(h.headers) == ["Host: x\r\n", "Cookie: a=1\r\n", "cookie: b=2\r\n", "X-Folded: one two\r\n",
                               "Content-Type: text/plain\r\n"]  # fmt: skip


def test_bare_newlines_and_end_of_input_end_the_block() -> None:
    h, rest = _read(b"A: 1\nB: 2\n\nbody")
    assert (h.get("a"), h.get("b"), rest) == ("1", "2", b"body")
    h, rest = _read(b"A: 1\r\n")  # the client stopped sending: what came is kept, as http.client does
    assert (h.get("a"), rest) == ("1", b"")


def test_limits_and_malformed_lines() -> None:
    assert _read(b"X: " + b"a" * MAX_LINE + b"\r\n\r\n")[0].status == "Line too long"
    with pytest.raises(HTTPException, match="more than 100 headers"):
        _read(b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n")
    assert _read(b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS - 1)) + b"\r\n")[0].status == ""
    for bad in (b"no colon here\r\n\r\n", b": no name\r\n\r\n", b"Space : x\r\n\r\n", b" folded first\r\n\r\n"):
        with pytest.raises(ValueError):
            _read(bad)


# -- the real server ------------------------------------------------------------------------


def _exchange(server: ServerProcess, raw: bytes, responses: int = 1) -> list[tuple[int, bytes]]:
    """Send ``raw`` on one connection; read ``responses`` responses (status, body)."""
    host, port = server.url.removeprefix("http://").split(":")
    out: list[tuple[int, bytes]] = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        fp = sock.makefile("rb")
        for _ in range(responses):
            status_line = fp.readline()
            if not status_line:
                break
            status = int(status_line.split()[1])
            length = 0
            while (line := fp.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            out.append((status, fp.read(length)))
    return out


def test_server_serves_odd_but_valid_headers_on_a_kept_alive_connection(server: ServerProcess) -> None:
    handshake = (
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nhost: x\r\nACCEPT: */*\r\n"
        b"X-Folded: a\r\n b\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"
    )
    listing = b"GET /api/notes HTTP/1.1\r\nHost: x\r\n\r\n"
    post = (
        b"POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
        b'{"title": "hd"}'
    )
    (s1, b1), (s2, b2), (s3, b3) = _exchange(server, handshake + listing + post, responses=3)
    assert s1 == 200 and b1.startswith(b"0{") and "sid" in json.loads(b1[1:])
    assert s2 == 200 and isinstance(json.loads(b2), list)
    assert s3 == 201 and json.loads(b3)["title"] == "hd"


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/notes HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
        b"GET /api/notes HTTP/1.1\r\n folded first\r\nHost: x\r\n\r\n",
        b"GET /api/notes HTTP/1.1\r\nX: " + b"a" * (MAX_LINE + 10) + b"\r\n\r\n",
        b"GET /api/notes HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 5)) + b"\r\n",
    ],
    ids=["no-colon", "folded-first", "line-too-long", "too-many"],
)
def test_server_answers_400_to_invalid_headers_and_keeps_serving(server: ServerProcess, head: bytes) -> None:
    assert [s for s, _ in _exchange(server, head)] == [400]
    assert _exchange(server, b"GET /api/notes HTTP/1.1\r\nHost: x\r\n\r\n")[0][0] == 200
