"""Property-based fuzzing of every Socket.IO event and HTTP route against one real server.

Hypothesis throws random and adversarial payloads at the server (wrong types,
huge numbers, NaN-like strings, deep nesting, astral and right-to-left text,
extra fields, almost-valid payloads with one field spoiled). The properties:

* a connect ``auth`` payload is accepted, or refused with a connect error carrying a
  contract code and a message;
* every event is answered, within a timeout, by ``{"ok": true, ...}`` or by
  ``{"ok": false, "error": {"code", "message"}}`` with a contract code other
  than ``internal`` (``internal`` would be a server bug);
* the client stays connected and the server keeps serving;
* a refused op leaves the note's state (seq and strokes) unchanged, and an
  accepted one advances the seq by exactly one (no gaps);
* every HTTP answer has a status below 500, ``/api/`` errors carry a JSON
  ``{"error": {"code", "message"}}`` body, and ``/healthz`` stays 200.

The limits are generous so the fuzzer is never rate-limited (``test_limits.py``
proves the limits themselves). Examples are bounded and derandomized, so a run
is repeatable and fits in well under a minute.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverproc import ServerProcess
from sioclient import NS, Peer, stroke

#: Codes a refusal may carry; ``internal`` is deliberately absent: it means a server bug.
REFUSAL_CODES = {"bad_request", "not_found", "not_joined", "forbidden", "too_large", "rate_limited"}
EVENTS = ("join", "leave", "stroke", "remove", "clear", "update", "move", "restore", "cursor", "draft", "profile")
OPS = ("stroke", "remove", "clear", "update", "move", "restore")
TRANSPORTS = ("websocket", "polling")
HOME = {t: f"fuzz-home-{t}" for t in TRANSPORTS}
ACK_TIMEOUT = 15.0
#: (event, "ok" or code) -> count, printed at the end (``pytest -s``) to show what the fuzzer reached.
OUTCOMES: Counter[tuple[str, str]] = Counter()

GENEROUS = {
    "COLLAB_RATE_OPS": "100000",
    "COLLAB_RATE_OPS_BURST": "100000",
    "COLLAB_RATE_VOLATILE": "100000",
    "COLLAB_RATE_VOLATILE_BURST": "100000",
    "COLLAB_FLOOD_LIMIT": "1000000",
    "COLLAB_RATE_JOINS": "100000",
    "COLLAB_RATE_JOINS_BURST": "100000",
    # a long-polling client refused at connect sometimes waits for its pending GET, which the
    # server answers at the latest with its next ping: keep that wait short
    "COLLAB_PING_INTERVAL": "4",
}


def fuzz_settings(max_examples: int) -> settings:
    """Bounded, repeatable runs; the fixtures are module-scoped on purpose (one server, reused clients)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- strategies -----------------------------------------------------------------------------

NASTY_STRINGS = [
    "NaN", "Infinity", "-Infinity", "-0", "1e999", "0x10", "", " ", "null", "true", "[]", "{}",
    "\u202eevil\u202c", "שלום", "مرحبا", "\U0001d54f🎨👩‍👩‍👧", "\x00", "\ud7ff", "a" * 65, "a" * 201,
    "../../etc/passwd", "%2e%2e", "<script>alert(1)</script>", "'; DROP TABLE notes;--", "#12345g", "#fff",
    "pen", "highlighter", "eraser", "__proto__", "constructor",
    # the contract's Unicode rule: lone surrogates, NUL and other controls are refused everywhere
    "\ud800", "a\udfffb", "\x00id", "a\x1b[31mred", "line\nbreak", "cr\rlf", "\x7f", "\u0085", "tab\tok",
]  # fmt: skip
TOOLS = ["pen", "highlighter", "line", "arrow", "rect", "ellipse", "text", "image", "laser"]
NASTY_NUMBERS = [
    2**70, -(2**70), 2**63, 2**64, -(2**63) - 1, 2**53 + 1, 0, -1, 1e308, -1e308, 5e-324, -0.0, 1e6, 1e6 + 1,
    0.49, 0.5, 100, 100.5, 10**400,
]  # fmt: skip

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(NASTY_NUMBERS),
    st.text(max_size=40),
    st.sampled_from(NASTY_STRINGS),
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(["note", "id", "points", "x"])), children,
                        max_size=6),
    ),
    max_leaves=40,
)  # fmt: skip


@st.composite
def deep_nesting(draw: st.DrawFn) -> Any:
    """A value nested hundreds of levels deep (lists or objects)."""
    depth = draw(st.integers(min_value=20, max_value=400))
    value: Any = draw(leaves)
    as_list = draw(st.booleans())
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


garbage = st.one_of(json_values, deep_nesting())
note_ids = st.from_regex(r"\Afz-[A-Za-z0-9_-]{1,20}\Z")
stroke_ids = st.one_of(st.sampled_from(["dup", "s1"]), st.text(min_size=1, max_size=64), st.uuids().map(str))
points = st.lists(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=2), min_size=1,
    max_size=50,
)  # fmt: skip


@st.composite
def valid_payload(draw: st.DrawFn, event: str, home: str, known: list[str]) -> dict[str, Any]:
    """A payload of ``event`` the contract accepts (for the home note, mostly)."""
    if event == "join":
        body: dict[str, Any] = {"note": draw(st.one_of(st.just(home), note_ids))}
        if draw(st.booleans()):
            body["since"] = draw(
                st.one_of(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=2**63 - 1))
            )
        return body
    if event == "leave":
        return {"note": draw(st.one_of(st.just(home), note_ids))}
    if event == "clear":
        return {"note": home}
    coord = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
    if event == "cursor":
        body = {"note": home, "x": draw(coord), "y": draw(coord)}
        if draw(st.booleans()):
            body["laser"] = draw(st.booleans())
        if draw(st.booleans()):
            body["view"] = [draw(coord), draw(coord), draw(st.floats(0, 1e6)), draw(st.floats(0, 1e6))]
        return body
    if event == "profile":
        return {"name": draw(st.one_of(st.text(min_size=1, max_size=64), st.sampled_from(NASTY_STRINGS))),
                "color": draw(st.sampled_from(["#12abef", "#000000", "#fff"]))}  # fmt: skip
    # always draw the same shape (known ids change between examples; hypothesis needs a stable strategy)
    use_known, index, other = draw(st.booleans()), draw(st.integers(0, 10_000)), draw(stroke_ids)
    some_id = known[index % len(known)] if use_known and known else other
    if event == "remove":
        return {"note": home, "id": some_id}
    if event == "update":
        changes = draw(st.dictionaries(
            st.sampled_from(["color", "width", "points", "fill", "text", "size", "tool", "id", "other"]),
            st.one_of(st.sampled_from(["#000", "#abcdef", None, "hi\nthere", 12, 0.5, 500]), points),
            max_size=4,
        ))  # fmt: skip
        return {"note": home, "id": some_id, "set": changes}
    if event in ("move", "restore"):
        ids = [some_id, *draw(st.lists(stroke_ids, max_size=3))]
        if event == "restore":
            return {"note": home, "ids": ids}
        return {"note": home, "ids": ids, "dx": draw(st.floats(-2e6, 2e6)), "dy": draw(st.floats(-2e6, 2e6))}
    tool = draw(st.sampled_from(TOOLS))
    body = {
        "note": home,
        "id": draw(stroke_ids),
        "color": draw(st.sampled_from(["#000", "#e03131", "#ABCDEF"])),
        "width": draw(st.floats(min_value=0.5, max_value=100)),
        "points": draw(points),
    }
    if draw(st.integers(0, 9)) == 0:
        body["points"] = [[1, 2]] * 5001  # one pair over COLLAB_MAX_POINTS: too_large
    if draw(st.booleans()):
        body["tool"] = tool
        if tool in ("rect", "ellipse", "image"):
            body["points"] = body["points"][:2] * (2 if len(body["points"]) == 1 else 1)
        if tool == "text":
            body["points"] = body["points"][:1]
            body["text"] = draw(st.one_of(st.text(min_size=1, max_size=200), st.sampled_from(NASTY_STRINGS)))
        if tool in ("rect", "ellipse", "text") and draw(st.booleans()):
            body["fill"] = draw(st.sampled_from(["#ffec99", "#fff", "yellow"]))
    return body


@st.composite
def payload_for(draw: st.DrawFn, event: str, home: str, known: list[str]) -> Any:
    """Random garbage, a valid payload, or a valid payload with one field spoiled, dropped or added."""
    kind = draw(st.sampled_from(["garbage", "valid", "spoil", "drop", "extra"]))
    if kind == "garbage":
        return draw(garbage)
    body = draw(valid_payload(event, home, known))
    if kind == "spoil":
        body[draw(st.sampled_from(sorted(body)))] = draw(garbage)
    elif kind == "drop":
        del body[draw(st.sampled_from(sorted(body)))]
    elif kind == "extra":
        body[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in body))] = draw(garbage)
    return body


# -- the server and its clients -----------------------------------------------------------------


class Fuzzer:
    """One connected client, the note it keeps joined, and the stroke ids accepted there."""

    def __init__(self, url: str, transport: str) -> None:
        self.url = url
        self.transport = transport
        self.home = HOME[transport]
        self.peer = Peer(url, transport, {"name": f"fuzz-{transport}"})
        self.known: list[str] = []
        self.examples = 0
        assert self.peer.call("join", {"note": self.home})["ok"]

    def state(self) -> tuple[int, list[tuple[int, str]]]:
        """The home note's seq and its strokes as (seq, id), over HTTP."""
        r = requests.get(f"{self.url}/api/notes/{self.home}", timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        return body["seq"], [(s["seq"], s["id"]) for s in body["strokes"]]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the whole module, with limits the fuzzer will not reach."""
    with ServerProcess(tmp_path_factory.mktemp("fuzz"), env=GENEROUS) as srv:
        yield srv


@pytest.fixture(scope="module")
def fuzzers(fuzz_server: ServerProcess) -> Iterator[dict[str, Fuzzer]]:
    """A WebSocket client and a long-polling client, reused across examples."""
    made = {t: Fuzzer(fuzz_server.url, t) for t in TRANSPORTS}
    yield made
    for f in made.values():
        f.peer.close()


def check_ack(ack: Any, event: str, payload: Any) -> None:
    """``{"ok": true, ...}`` or a refusal with a contract code (never ``internal``) and a message."""
    assert isinstance(ack, dict), f"{event} {payload!r:.200} was answered by {ack!r:.200}"
    if ack.get("ok") is True:
        return
    assert ack.get("ok") is False, ack
    error = ack.get("error")
    assert isinstance(error, dict) and set(error) >= {"code", "message"}, ack
    assert error["code"] in REFUSAL_CODES, f"server bug: {event} {payload!r:.300} -> {ack!r}"
    assert isinstance(error["message"], str) and error["message"].strip(), ack


def fuzz_one(f: Fuzzer, event: str, payload: Any) -> None:
    """Send one event and check the ack, the connection and the home note's state."""
    before = f.state()
    ack = f.peer.call(event, payload, timeout=ACK_TIMEOUT)
    check_ack(ack, event, payload)
    OUTCOMES[event, "ok" if ack["ok"] else ack["error"]["code"]] += 1
    assert f.peer.sio.connected, f"the server dropped the {f.transport} client after {event} {payload!r:.200}"
    after = f.state()
    targets_home = isinstance(payload, dict) and payload.get("note") == f.home
    if event in OPS and ack["ok"] and targets_home:
        if ack.get("duplicate"):
            assert after == before and ack["seq"] <= before[0]
        else:
            assert ack["seq"] == before[0] + 1 == after[0], f"seq gap: {before[0]} -> {ack} -> {after[0]}"
            if event == "stroke":
                f.known.append(payload["id"])
    else:
        assert after == before, f"{event} {payload!r:.200} acked {ack!r:.200} but changed the note"
    if event == "leave" and ack["ok"] and targets_home:
        assert f.peer.call("join", {"note": f.home})["ok"]  # keep the home note joined for the next example
    f.examples += 1


@pytest.mark.parametrize("transport", TRANSPORTS)
@fuzz_settings(200)
@given(data=st.data())
def test_events_with_adversarial_payloads(fuzzers: dict[str, Fuzzer], transport: str, data: st.DataObject) -> None:
    f = fuzzers[transport]
    event = data.draw(st.sampled_from(EVENTS), label="event")
    payload = data.draw(payload_for(event, f.home, f.known), label="payload")
    fuzz_one(f, event, payload)


@pytest.mark.parametrize("transport", TRANSPORTS)
@fuzz_settings(40)
@given(
    event=st.one_of(
        st.text(min_size=1, max_size=40).filter(lambda e: e not in (*EVENTS, "connect", "disconnect")),
        st.sampled_from(["message", "Stroke", "JOIN", "stroke ", "__proto__", "ping", "error", "presence"]),
    ),
    payload=garbage,
)
def test_unknown_events_are_refused(fuzzers: dict[str, Fuzzer], transport: str, event: str, payload: Any) -> None:
    f = fuzzers[transport]
    before = f.state()
    ack = f.peer.call(event, payload, timeout=ACK_TIMEOUT)
    check_ack(ack, event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert f.peer.sio.connected and f.state() == before


@pytest.mark.parametrize("transport", TRANSPORTS)
@fuzz_settings(40)
@given(
    name=st.one_of(json_values.filter(lambda v: not isinstance(v, str)), st.sampled_from(NASTY_STRINGS)),
    payload=garbage,
)
def test_event_names_of_every_json_type_are_refused(
    fuzzers: dict[str, Fuzzer], transport: str, name: Any, payload: Any
) -> None:
    """An event named by an object, array, number, boolean, null or a nasty string: bad_request, still connected."""
    import json

    f = fuzzers[transport]
    before = f.state()
    answers: list[Any] = []
    done = threading.Event()

    def answer(*args: Any) -> None:
        answers.append(args)
        done.set()

    ack_id = f.peer.sio._generate_ack_id(NS, answer)
    f.peer.sio.eio.send(f"2{NS},{ack_id}" + json.dumps([name, payload]))
    assert done.wait(ACK_TIMEOUT), f"no answer to an event named {name!r:.100}"
    (ack,) = answers[0]
    check_ack(ack, repr(name), payload)
    if not (isinstance(name, str) and name in EVENTS):
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert f.peer.sio.connected
    if not isinstance(name, str) or name not in OPS:
        assert f.state() == before


def _looks_like_packet_id(value: Any) -> bool:
    """A non-negative number: in ``40/notes,<auth>`` its digits read as a Socket.IO packet id.

    python-socketio's client writes such an auth so that the server's packet decoder takes it
    for an ack id (a packet without a payload, or "id field is too long"): a malformed packet
    at the Socket.IO layer, below collab, so it is left out here.
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


auths = st.one_of(
    st.none(),
    garbage.filter(lambda a: not _looks_like_packet_id(a)),
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.text(max_size=80), garbage),
            "color": st.one_of(st.sampled_from(["#12abEF", "#fff", "red", "#1234567"]), garbage),
            "token": st.one_of(st.text(max_size=60), st.just("x" * 5000), garbage),
            "extra": garbage,
        },
    ),
)


@fuzz_settings(60)
@given(transport=st.sampled_from(TRANSPORTS), auth=auths)
def test_connect_with_adversarial_auth(fuzz_server: ServerProcess, transport: str, auth: Any) -> None:
    """A connect ``auth`` payload is accepted, or refused with a contract code and a message."""
    sio = socketio.Client(reconnection=False)
    refusals: list[Any] = []
    sio.on("connect_error", refusals.append, namespace=NS)
    try:
        sio.connect(fuzz_server.url, namespaces=[NS], transports=[transport], auth=auth, wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        assert refusals, f"auth {auth!r:.200}: connection failed without a connect error"
        data = refusals[-1]
        assert isinstance(data, dict) and data.get("code") in REFUSAL_CODES, f"auth {auth!r:.200} -> {data!r}"
        assert isinstance(data.get("message"), str) and data["message"], data
        OUTCOMES["connect", data["code"]] += 1
    else:
        ack = sio.call("join", {"note": "fuzz-auth"}, namespace=NS, timeout=ACK_TIMEOUT)
        assert ack["ok"] is True, f"auth {auth!r:.200} connected but join answered {ack!r}"
        OUTCOMES["connect", "ok"] += 1
    finally:
        sio.disconnect()


def test_server_still_serves_after_fuzzing(fuzz_server: ServerProcess, fuzzers: dict[str, Fuzzer]) -> None:
    """Both fuzzing clients still work, a newcomer gets consistent state, seqs were gapless."""
    for f in fuzzers.values():
        assert f.peer.sio.connected
        seq, _ = f.state()
        ack = f.peer.call("stroke", stroke(f.home, "after-" + uuid.uuid4().hex))
        assert ack == {"ok": True, "seq": seq + 1}
        fresh = Peer(fuzz_server.url, f.transport)
        joined = fresh.call("join", {"note": f.home, "since": 0})
        assert [op["seq"] for op in joined["ops"]] == list(range(1, seq + 2))  # gapless, each op once
        fresh.close()
    assert requests.get(fuzz_server.url + "/healthz", timeout=5).status_code == 200
    print("\nfuzzed event outcomes:", dict(sorted(OUTCOMES.items())))


# -- HTTP -------------------------------------------------------------------------------------------

HTTP_NOTE = "fuzz-http"
METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD")
CONTENT_TYPES = (
    None, "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/xml", "application/json; charset=utf-16", "*/*", "",
)  # fmt: skip
odd_ids = st.one_of(
    st.just(HTTP_NOTE),
    note_ids,
    st.sampled_from(
        ["..", "%2e%2e", "%00", "a%2Fb", "a.b.c", ".svg", "x.svg.png", "x.exe", "a" * 65, "\U0001d54f", "%F0%9F%8E%A8"]
    ),
    st.text(min_size=1, max_size=30).map(lambda s: quote(s, safe="")),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=10),
)
paths = st.one_of(
    st.sampled_from(["/api/notes", "/api/notes/", "/healthz", "/metrics", "/api", "/api/notes//share"]),
    st.tuples(odd_ids, st.sampled_from(["", ".svg", ".png", "/share", "/share/x", ".json"])).map(
        lambda t: f"/api/notes/{t[0]}{t[1]}"
    ),
)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    garbage,
    st.fixed_dictionaries({"title": garbage}),
    st.fixed_dictionaries({"role": st.one_of(st.sampled_from(["view", "edit", "admin"]), garbage)}),
    st.sampled_from(['{"title": "x"', '{"title": NaN}', '{"title": 1e999}', "[", '"\\ud800"', "\xff\xfe"]),
)


def _encode(body: Any) -> bytes | None:
    import json

    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str) and body[:1] in ("{", "[", '"', "\xff"):
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def http_note(fuzz_server: ServerProcess) -> str:
    """A note with a few strokes for the exports to draw."""
    p = Peer(fuzz_server.url)
    p.call("join", {"note": HTTP_NOTE})
    for i in range(3):
        assert p.call("stroke", stroke(HTTP_NOTE, f"h{i}", tool="highlighter" if i else "pen"))["ok"]
    p.close()
    return HTTP_NOTE


@fuzz_settings(400)
@given(
    method=st.sampled_from(METHODS),
    path=paths,
    body=bodies,
    ctype=st.sampled_from(CONTENT_TYPES),
    origin=st.sampled_from([None, "same", "https://evil.example", "null"]),
    token=st.one_of(st.none(), st.text(max_size=40).map(lambda s: quote(s, safe=""))),
)
def test_http_routes_with_adversarial_requests(
    fuzz_server: ServerProcess,
    http_note: str,
    method: str,
    path: str,
    body: Any,
    ctype: str | None,
    origin: str | None,
    token: str | None,
) -> None:
    headers: dict[str, str] = {}
    if ctype is not None:
        headers["Content-Type"] = ctype
    if origin is not None:
        headers["Origin"] = fuzz_server.url if origin == "same" else origin
    if token is not None:
        headers["X-Collab-Token"] = token
    if HTTP_NOTE in path and method == "DELETE":
        method = "GET"  # keep the exported note around for later examples
    r = requests.request(method, fuzz_server.url + path, data=_encode(body), headers=headers, timeout=15)
    assert r.status_code < 500, f"{method} {path} {body!r:.200} -> {r.status_code} {r.text[:300]}"
    if path.startswith("/api/") and r.status_code >= 400 and method != "HEAD":
        err = r.json().get("error")
        assert isinstance(err, dict), r.text
        assert err.get("code") in REFUSAL_CODES, f"{method} {path} -> {r.status_code} {r.text[:300]}"
        assert isinstance(err.get("message"), str) and err["message"], r.text
    health = requests.get(fuzz_server.url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"ok": True}


def test_http_note_survived(fuzz_server: ServerProcess, http_note: str) -> None:
    """The note the HTTP fuzzer aimed at still exports and lists its strokes."""
    r = requests.get(f"{fuzz_server.url}/api/notes/{http_note}", timeout=10)
    assert r.status_code == 200 and [s["id"] for s in r.json()["strokes"]] == ["h0", "h1", "h2"]
    for ext in (".svg", ".png"):
        assert requests.get(f"{fuzz_server.url}/api/notes/{http_note}{ext}", timeout=10).status_code == 200
