"""Exports off the event loop: a bound on concurrent drawing (503), a cache that a new op invalidates."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from collab.exports import Busy, Exports

from serverproc import ServerProcess, fill
from sioclient import Peer, stroke


def test_an_export_is_drawn_once_then_served_from_the_cache() -> None:
    drawn: list[int] = []
    ex = Exports(workers=1, cache_bytes=1000)

    def draw() -> tuple[str, bytes]:
        drawn.append(1)
        return "t1", b"png"

    assert ex.render("t1", draw, lambda fn: fn()) == ("t1", b"png")
    assert ex.render("t1", draw, lambda fn: fn()) == ("t1", b"png")
    assert drawn == [1]


def test_a_drawing_that_moved_on_is_kept_under_the_tag_of_what_it_shows() -> None:
    ex = Exports(workers=1, cache_bytes=1000)
    assert ex.render("old", lambda: ("new", b"x"), lambda fn: fn()) == ("new", b"x")
    assert ex.get("old") is None and ex.get("new") == b"x"


def test_past_the_workers_an_export_is_refused_busy_and_big_ones_are_not_cached() -> None:
    ex = Exports(workers=1, cache_bytes=40)
    inside = threading.Event()
    release = threading.Event()

    def slow() -> tuple[str, bytes]:
        inside.set()
        release.wait(5)
        return "a", b"x" * 20  # more than a quarter of the cache: not kept

    t = threading.Thread(target=lambda: ex.render("a", slow, lambda fn: fn()))
    t.start()
    assert inside.wait(5)
    with pytest.raises(Busy):
        ex.render("b", lambda: ("b", b"y"), lambda fn: fn())
    release.set()
    t.join(5)
    assert ex.get("a") is None
    assert ex.render("b", lambda: ("b", b"y"), lambda fn: fn()) == ("b", b"y")  # the worker is free again


def test_the_server_answers_503_with_retry_after_when_its_export_workers_are_busy(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_EXPORT_WORKERS": "1"}) as srv:
        fill(srv, "big", 1500)
        url = f"{srv.url}/api/notes/big.png"
        answers: list[requests.Response] = []

        def get(width: int) -> None:
            answers.append(requests.get(url, params={"width": width}, timeout=60))

        threads = [threading.Thread(target=get, args=(w,)) for w in (1600, 1601, 1602)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in answers)
        assert 200 in statuses and 503 in statuses, statuses
        busy = next(r for r in answers if r.status_code == 503)
        assert busy.headers["Retry-After"] == "2" and busy.json()["error"]["code"] == "internal"


def test_a_new_op_gives_a_new_export_and_the_old_one_stays_cached_under_its_seq(server: ServerProcess) -> None:
    p = Peer(server.url)
    try:
        assert p.call("join", {"note": "cached"})["ok"]
        p.call("stroke", stroke("cached", "first"))
        url = f"{server.url}/api/notes/cached.svg"
        one = requests.get(url, timeout=5)
        p.call("stroke", stroke("cached", "second"))
        two = requests.get(url, timeout=5)
        assert one.headers["ETag"] != two.headers["ETag"]
        assert 'data-id="second"' not in one.text and 'data-id="second"' in two.text
        back = requests.get(url, params={"at": 1}, timeout=5)
        assert back.headers["ETag"] == one.headers["ETag"] and back.text == one.text
    finally:
        p.close()
