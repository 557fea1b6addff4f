"""Presence shared through Redis, without a server: reaping the dead, and a process that comes back."""

from __future__ import annotations

import time
import uuid

from collab.presence_redis import RedisPresence


def registries(redis_url: str) -> tuple[RedisPresence, RedisPresence]:
    prefix = "collab-test-" + uuid.uuid4().hex[:8]
    return RedisPresence(redis_url, prefix=prefix), RedisPresence(redis_url, prefix=prefix)


def peer(n: int) -> dict[str, str]:
    return {"peer": f"p{n}", "name": f"P{n}", "color": "#1971c2"}


def test_a_dead_process_with_thousands_of_members_is_reaped_in_full(redis_url: str) -> None:
    a, b = registries(redis_url)
    a.heartbeat(), b.heartbeat()
    a.add("n1", peer(0))
    # more ids than one Lua unpack() takes (~8,000), written as add() writes them (add() reads the list each time)
    a.r.hset(a._k_note("n1"), mapping={f"p{n}": a._entry(peer(n)) for n in range(1, 9000)})
    b.add("n1", peer(-1))
    b._alive_cache.clear()
    a.r.delete(a._k_proc(a.proc))  # its heartbeat expired
    assert b.reap() == [("n1", [peer(-1)])]
    assert a.r.hlen(a._k_note("n1")) == 1
    assert a.proc not in a.r.smembers(a._k_procs())


def test_a_process_back_before_the_reaper_deletes_keeps_its_members(redis_url: str) -> None:
    a, b = registries(redis_url)
    a.heartbeat(), b.heartbeat()
    a.add("n1", peer(1))
    b._alive_cache[a.proc] = (False, time.monotonic())  # b saw a dead a moment ago; a has beaten since
    assert b.reap() == []
    b._alive_cache.clear()
    assert [p["peer"] for p in b.peers("n1")] == ["p1"]
    assert a.proc in a.r.smembers(a._k_procs()) and a.r.sismember(a._k_proc_notes(a.proc), "n1")


def test_a_process_whose_heartbeat_lapsed_lists_its_members_again(redis_url: str) -> None:
    a, b = registries(redis_url)
    a.heartbeat(), b.heartbeat()
    a.add("n1", peer(1)), a.add("n2", peer(2)), b.add("n1", peer(3))
    a.r.delete(a._k_proc(a.proc))
    b._alive_cache.clear()  # readers cache liveness for half a beat
    assert sorted(note for note, _ in b.reap()) == ["n1", "n2"]
    assert a.heartbeat() is True  # its mark had expired
    back = dict(a.restore())
    assert [p["peer"] for p in back["n1"]] == ["p3", "p1"] and [p["peer"] for p in back["n2"]] == ["p2"]
    assert a.restore() == []  # nothing was missing this time
    a.r.delete(a._k_proc(a.proc))  # and when it dies for good, it is reaped again
    b._alive_cache.clear()
    assert sorted(note for note, _ in b.reap()) == ["n1", "n2"]
