"""Unit tests of the sans-io replica: ordering, duplicates, gaps, the outbox."""

from __future__ import annotations

from collab.replica import NeedRejoin, NoteReplica, OpApplied, OpDone, OpFailed, StateReset


def stroke_op(seq: int, sid: str, peer: str = "other") -> dict:
    return {"type": "stroke", "seq": seq, "peer": peer, "id": sid, "color": "#000", "width": 2, "points": [[0, 0]]}


def join_ack(seq: int, peer: str = "me", **extra) -> dict:
    ack = {"ok": True, "note": {"id": "n", "title": "n"}, "seq": seq, "peer": peer, "peers": [], "role": "edit"}
    if "ops" not in extra:
        ack["strokes"] = []
    ack.update(extra)
    return ack


def joined(seq: int = 0, strokes: list | None = None) -> NoteReplica:
    r = NoteReplica("n")
    r.join_request()
    r.apply_join_ack(join_ack(seq, strokes=strokes or []), 0.0)
    return r


def ids(r: NoteReplica) -> list[str]:
    return [s["id"] for s in r.strokes]


def test_full_join_keeps_only_early_ops_above_the_ack_seq():
    r = NoteReplica("n")
    assert r.join_request() == {"note": "n"}
    # Ops broadcast before the ack arrives: seq 3 is in the ack's state, seq 4 is not.
    assert r.apply_op(stroke_op(4, "d"), 0.0) == []
    assert r.apply_op(stroke_op(3, "c"), 0.0) == []
    effects = r.apply_join_ack(join_ack(3, strokes=[stroke_op(1, "a"), stroke_op(3, "c")]), 0.0)
    assert isinstance(effects[0], StateReset)
    assert ids(r) == ["a", "c", "d"] and r.seq == 4
    assert r.join_request() == {"note": "n", "since": 4}


def test_ops_apply_in_seq_order_and_duplicates_are_ignored():
    r = joined()
    assert r.apply_op(stroke_op(2, "b"), 0.0) == []  # waits for 1
    assert r.gap
    applied = r.apply_op(stroke_op(1, "a"), 0.1)
    assert [e.op["seq"] for e in applied if isinstance(e, OpApplied)] == [1, 2]
    assert r.apply_op(stroke_op(1, "a"), 0.2) == []
    assert ids(r) == ["a", "b"] and not r.gap
    r.apply_op({"type": "remove", "seq": 3, "id": "a", "peer": "x"}, 0.3)
    assert ids(r) == ["b"]
    r.apply_op({"type": "clear", "seq": 4, "peer": "x"}, 0.3)
    assert r.strokes == [] and r.seq == 4


def test_a_gap_that_does_not_fill_asks_for_a_rejoin_since_the_last_seq():
    r = joined(seq=5)
    r.apply_op(stroke_op(7, "g"), 10.0)
    assert r.check(10.5) == []
    assert r.check(11.0) == [NeedRejoin(5)]
    assert r.check(11.2) == []  # not again before another grace period
    # The re-join's ops fill the gap.
    effects = r.apply_join_ack(join_ack(7, ops=[stroke_op(6, "f"), stroke_op(7, "g")]), 11.3, since=5)
    assert [e.op["id"] for e in effects if isinstance(e, OpApplied)] == ["f", "g"]
    assert r.seq == 7 and not r.gap and r.check(20.0) == []


def test_own_stroke_is_sent_after_join_and_applied_from_its_ack():
    r = NoteReplica("n")
    key = r.submit("stroke", {"id": "s1", "color": "#000", "width": 2, "points": [[1, 1]], "tool": "pen"})
    assert r.sendable(0.0, 10, 10_000) == []  # not joined yet
    assert [p["id"] for p in r.pending] == ["s1"]
    r.join_request()
    r.apply_join_ack(join_ack(2, strokes=[stroke_op(1, "a"), stroke_op(2, "b")]), 0.0)
    sent = r.sendable(0.0, 10, 10_000)
    assert [o.key for o in sent] == [key] and not r.synced
    effects = r.apply_ack(key, {"ok": True, "seq": 3}, 0.0)
    assert OpDone(key, 3) in effects
    assert any(isinstance(e, OpApplied) and e.own for e in effects)
    assert ids(r) == ["a", "b", "s1"] and r.pending == [] and r.synced


def test_unacked_ops_are_resent_after_a_reconnect_unless_the_rejoin_shows_them():
    r = joined(seq=0)
    k1 = r.submit("stroke", {"id": "s1", "color": "#000", "width": 2, "points": [[1, 1]], "tool": "pen"})
    k2 = r.submit("stroke", {"id": "s2", "color": "#000", "width": 2, "points": [[2, 2]], "tool": "pen"})
    assert len(r.sendable(0.0, 10, 10_000)) == 2
    r.disconnected()  # both acks lost; s1 had reached the server
    assert r.sendable(0.0, 10, 10_000) == []
    assert r.join_request() == {"note": "n", "since": 0}
    effects = r.apply_join_ack(join_ack(1, peer="me2", ops=[stroke_op(1, "s1", peer="me")]), 1.0, since=0)
    assert OpDone(k1, 1) in effects
    resent = r.sendable(1.0, 10, 10_000)
    assert [o.key for o in resent] == [k2]
    r.apply_ack(k2, {"ok": True, "seq": 2}, 1.0)
    assert ids(r) == ["s1", "s2"] and r.synced


def test_duplicate_ack_reports_the_original_seq():
    r = joined()
    k = r.submit("stroke", {"id": "s1", "color": "#000", "width": 2, "points": [[1, 1]], "tool": "pen"})
    r.sendable(0.0, 10, 10_000)
    r.disconnected()
    r.join_request()
    r.apply_join_ack(join_ack(0, peer="me2", ops=[]), 0.0, since=0)
    r.sendable(0.0, 10, 10_000)
    effects = r.apply_ack(k, {"ok": True, "seq": 1, "duplicate": True}, 0.0)
    assert OpDone(k, 1, True) in effects
    assert ids(r) == ["s1"] and r.synced


def test_remove_retried_after_reconnect_counts_not_found_as_done():
    r = joined(strokes=[stroke_op(1, "a")], seq=1)
    k = r.submit("remove", {"id": "a"})
    r.sendable(0.0, 10, 10_000)
    r.disconnected()
    r.join_request()
    r.apply_join_ack(join_ack(1, peer="me2", ops=[]), 0.0, since=1)
    r.sendable(0.0, 10, 10_000)
    assert r.apply_ack(k, {"ok": False, "error": {"code": "not_found", "message": "no"}}, 0.0) == [OpDone(k, None)]


def test_first_not_found_fails_and_retryable_errors_back_off():
    r = joined()
    k = r.submit("remove", {"id": "nope"})
    r.sendable(0.0, 10, 10_000)
    assert r.apply_ack(k, {"ok": False, "error": {"code": "not_found", "message": "no"}}, 0.0) == [
        OpFailed(k, "not_found", "no")
    ]
    k2 = r.submit("stroke", {"id": "s", "color": "#000", "width": 2, "points": [[1, 1]], "tool": "pen"})
    r.sendable(0.0, 10, 10_000)
    assert r.apply_ack(k2, {"ok": False, "error": {"code": "rate_limited", "message": "slow"}}, 0.0) == []
    assert r.sendable(0.0, 10, 10_000) == []  # backing off
    assert [o.key for o in r.sendable(10.0, 10, 10_000)] == [k2]


def test_clear_confirmed_by_the_rejoin_is_not_sent_twice():
    r = joined(strokes=[stroke_op(1, "a")], seq=1)
    k = r.submit("clear", {})
    r.sendable(0.0, 10, 10_000)
    r.disconnected()
    r.join_request()
    effects = r.apply_join_ack(join_ack(2, peer="me2", ops=[{"type": "clear", "seq": 2, "peer": "me"}]), 0, since=1)
    assert OpDone(k, 2) in effects
    assert r.sendable(0.0, 10, 10_000) == [] and r.strokes == []


def test_window_limits_ops_and_bytes_in_flight():
    r = joined()
    for i in range(5):
        r.submit("stroke", {"id": f"s{i}", "color": "#000", "width": 2, "points": [[i, i]], "tool": "pen"}, size=100)
    assert len(r.sendable(0.0, 3, 10_000)) == 3
    assert r.sendable(0.0, 3, 10_000) == []
    r2 = joined()
    for i in range(5):
        r2.submit("stroke", {"id": f"s{i}", "color": "#000", "width": 2, "points": [[i, i]], "tool": "pen"}, size=100)
    assert len(r2.sendable(0.0, 10, 250)) == 2


def test_a_note_that_went_back_replaces_the_state():
    r = joined(strokes=[stroke_op(1, "a"), stroke_op(2, "b")], seq=2)
    payload = r.join_request(fresh=False)
    assert payload == {"note": "n", "since": 2}
    # Deleted and re-created meanwhile: the server's seq is below ours.
    effects = r.apply_join_ack(join_ack(1, strokes=[stroke_op(1, "z")], reset=True), 0, since=2)
    assert isinstance(effects[0], StateReset) and ids(r) == ["z"] and r.seq == 1


def test_a_stale_reset_does_not_undo_newer_ops():
    r = joined(seq=0)
    r.join_request(fresh=False)
    r.apply_op(stroke_op(1, "a"), 0)
    r.apply_op(stroke_op(2, "b"), 0)
    r.apply_join_ack(join_ack(1, strokes=[stroke_op(1, "a")], reset=True), 0, since=0)
    assert ids(r) == ["a", "b"] and r.seq == 2


def test_since_start_follows_the_stream_without_a_base():
    r = NoteReplica("n", since=10)
    assert r.join_request() == {"note": "n", "since": 10}
    effects = r.apply_join_ack(join_ack(11, ops=[stroke_op(11, "k")]), 0, since=10)
    assert [e.op["seq"] for e in effects if isinstance(e, OpApplied)] == [11]
