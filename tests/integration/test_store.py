"""The store against real SQLite and PostgreSQL: seqs, idempotency, catch-up, compaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from collab.errors import ConfigError, NotFound, StoreUnavailable, TooLarge
from collab.model import OpRequest
from collab.store import open_store
from collab.store.base import Store


def stroke(sid: str, x: float = 0) -> dict:
    return {"id": sid, "color": "#123456", "width": 2, "points": [[x, 0], [x + 1, 1]], "tool": "pen"}


def op(note: str, kind: str = "stroke", sid: str | None = None, peer: str = "p1") -> OpRequest:
    if kind == "stroke":
        return OpRequest(note, "stroke", peer, body=stroke(sid or "s"))
    return OpRequest(note, kind, peer, body={"id": sid} if sid is not None else {})


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    sqlite = f"sqlite:///{tmp_path / 'store.db'}"
    url = sqlite if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = open_store(url, oplog_keep=20, max_strokes=50)
    yield s
    s.close()


def apply(store: Store, *reqs: OpRequest) -> list[OpRequest]:
    store.apply(list(reqs))
    return list(reqs)


def test_join_creates_note_titled_with_its_id(store: Store) -> None:
    assert store.join("n1", None, None) is None
    st = store.join("n1", None, "n1")
    assert st is not None
    assert (st.note.id, st.note.title, st.note.seq, st.strokes, st.reset) == ("n1", "n1", 0, [], False)


def test_seqs_are_gapless_and_ops_roundtrip(store: Store) -> None:
    store.create("n", "N")
    a, b, c = apply(store, op("n", sid="a"), op("n", sid="b"), op("n", sid="c"))
    assert [r.op["seq"] for r in (a, b, c)] == [1, 2, 3]  # type: ignore[index]
    (rm,) = apply(store, op("n", "remove", "b"))
    assert rm.op == {"type": "remove", "seq": 4, "id": "b", "peer": "p1"}
    info, strokes = store.strokes("n")  # type: ignore[misc]
    assert info.seq == 4 and info.strokes == 2
    assert [s["id"] for s in strokes] == ["a", "c"]
    assert strokes[0] == {"type": "stroke", "seq": 1, "peer": "p1", **stroke("a")}


def test_duplicate_id_returns_original_seq_even_after_removal(store: Store) -> None:
    store.create("n", "N")
    apply(store, op("n", sid="a"))
    apply(store, op("n", "remove", "a"))
    (dup,) = apply(store, op("n", sid="a", peer="other"))
    assert dup.duplicate and dup.op["seq"] == 1  # type: ignore[index]
    info, strokes = store.strokes("n")  # type: ignore[misc]
    assert strokes == [] and info.seq == 2


def test_duplicate_within_one_batch(store: Store) -> None:
    store.create("n", "N")
    first, again = apply(store, op("n", sid="a"), op("n", sid="a"))
    assert first.op["seq"] == 1 and not first.duplicate  # type: ignore[index]
    assert again.op["seq"] == 1 and again.duplicate  # type: ignore[index]


def test_errors_do_not_consume_seqs(store: Store) -> None:
    store.create("n", "N")
    bad_remove, missing_note, good = apply(store, op("n", "remove", "zz"), op("nope", sid="x"), op("n", sid="a"))
    assert isinstance(bad_remove.error, NotFound)
    assert isinstance(missing_note.error, NotFound)
    assert good.op["seq"] == 1  # type: ignore[index]


def test_clear_on_empty_note_is_an_op(store: Store) -> None:
    store.create("n", "N")
    (c,) = apply(store, op("n", "clear"))
    assert c.op == {"type": "clear", "seq": 1, "peer": "p1"}
    apply(store, op("n", sid="a"), op("n", sid="b"))
    apply(store, op("n", "clear"))
    info, strokes = store.strokes("n")  # type: ignore[misc]
    assert strokes == [] and info.strokes == 0 and info.seq == 4
    (rm,) = apply(store, op("n", "remove", "a"))
    assert isinstance(rm.error, NotFound)


def test_join_since_serves_ops_then_reset_after_compaction(store: Store) -> None:
    store.create("n", "N")
    apply(store, op("n", sid="a"), op("n", sid="b"), op("n", "remove", "a"), op("n", "clear"))
    st = store.join("n", 1, None)
    assert st is not None and st.strokes is None
    assert [(o["type"], o["seq"]) for o in st.ops] == [("stroke", 2), ("remove", 3), ("clear", 4)]  # type: ignore[union-attr]
    assert st.ops[0]["points"] == stroke("b")["points"]  # type: ignore[index]
    assert store.join("n", 4, None).ops == []  # type: ignore[union-attr]
    future = store.join("n", 99, None)
    assert future.reset and future.strokes == [] and future.ops is None  # type: ignore[union-attr]
    # oplog_keep=20: after 40 more ops the early log is compacted away
    apply(store, *[op("n", sid=f"x{i}") for i in range(40)])
    info = store.get("n")
    assert info is not None and info.seq == 44 and info.log_start > 2
    old = store.join("n", 1, None)
    assert old.reset and len(old.strokes) == 40  # type: ignore[union-attr, arg-type]
    recent = store.join("n", info.log_start - 1, None)
    assert not recent.reset and recent.ops[-1]["seq"] == 44  # type: ignore[union-attr, index]


def test_stroke_limit_per_note(store: Store) -> None:
    store.create("n", "N")
    reqs = apply(store, *[op("n", sid=f"s{i}") for i in range(51)])
    assert isinstance(reqs[-1].error, TooLarge)
    assert reqs[-2].op["seq"] == 50  # type: ignore[index]


def test_list_rename_delete(store: Store) -> None:
    store.create("a", "A")
    store.create("b", "B")
    assert store.create("a", "again") is None
    apply(store, op("a", sid="s"))
    assert [n.id for n in store.list()] == ["a", "b"]
    assert store.rename("b", "Bee").title == "Bee"  # type: ignore[union-attr]
    assert store.rename("zz", "x") is None
    assert store.count() == 2
    assert store.delete("a") and not store.delete("a")
    assert store.get("a") is None and store.join("a", None, None) is None
    # a re-created note starts again at seq 1
    store.create("a", "A")
    (r,) = apply(store, op("a", sid="s"))
    assert r.op["seq"] == 1 and not r.duplicate  # type: ignore[index]


def test_concurrent_writers_get_gapless_seqs(store: Store) -> None:
    """Several threads (standing in for processes on PostgreSQL) write one note at once."""
    store.create("n", "N")
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        for i in range(10):
            (r,) = apply(store, op("n", sid=f"w{w}-{i}"))
            with lock:
                seqs.append(r.op["seq"])  # type: ignore[index]

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 41))


def test_bad_urls_say_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sqlite:///"):
        open_store("mysql://x/y")
    with pytest.raises(ConfigError, match="in-memory"):
        open_store("sqlite://")


def test_unreachable_database_is_store_unavailable() -> None:
    with pytest.raises(ConfigError, match="cannot open"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with s.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.close()
    assert StoreUnavailable.http_status == 503


def test_schema_creation_by_many_at_once(pg_url: str) -> None:
    """Processes starting together on a fresh database: one creates the schema, the rest wait for it."""
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait()
        try:
            open_store(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _seq_in_main_file(db: Path, tmp_path: Path, note: str) -> int | None:
    """The note's seq as the main database file alone holds it (no WAL): what checkpoints wrote."""
    import shutil
    import sqlite3

    copy = tmp_path / "main-file-only.db"
    shutil.copyfile(db, copy)
    con = sqlite3.connect(copy)
    try:
        row = con.execute("SELECT seq FROM collab_notes WHERE id = ?", (note,)).fetchone()
    except sqlite3.OperationalError:  # not even the schema has been checkpointed yet
        return None
    finally:
        con.close()
    return None if row is None else int(row[0])


def test_sqlite_commits_leave_checkpoints_to_maintain(tmp_path: Path) -> None:
    db = tmp_path / "ck.db"
    s = open_store(f"sqlite:///{db}")
    try:
        s.create("n", "N")
        s.maintain()
        assert _seq_in_main_file(db, tmp_path, "n") == 0
        for i in range(50):  # far below the auto-checkpoint backstop: commits do not checkpoint
            apply(s, op("n", sid=f"s{i}"))
        assert _seq_in_main_file(db, tmp_path, "n") == 0
        s.maintain()
        assert _seq_in_main_file(db, tmp_path, "n") == 50
    finally:
        s.close()


def test_committer_runs_store_maintenance(tmp_path: Path) -> None:
    """The server's committer checkpoints SQLite by itself, about once a second."""
    import time

    import engineio

    from collab.committer import Committer
    from collab.runtime import Runtime

    db = tmp_path / "ck.db"
    s = open_store(f"sqlite:///{db}")
    committer = Committer(s, Runtime(engineio.Server(async_mode="threading")))
    committer.maintain_interval = 0.1
    try:
        s.create("n", "N")
        req = committer.submit(op("n", sid="a"))
        assert req.op is not None and req.op["seq"] == 1
        deadline = time.monotonic() + 5
        while _seq_in_main_file(db, tmp_path, "n") != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _seq_in_main_file(db, tmp_path, "n") == 1
    finally:
        committer.close()
        s.close()


def test_a_committer_barrier_is_passed_only_once_every_op_queued_before_it_is_stored(tmp_path: Path) -> None:
    """A join waits on it, so its catch-up holds the ops a dead connection of its client sent."""
    import time

    import engineio

    from collab.committer import Committer
    from collab.runtime import Runtime

    s = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    committer = Committer(s, Runtime(engineio.Server(async_mode="threading")))
    apply_now = s.apply

    def slow_apply(batch: list[OpRequest]) -> None:
        time.sleep(0.3)  # a batch still being written when the join arrives
        apply_now(batch)

    s.apply = slow_apply  # type: ignore[method-assign]
    try:
        s.create("n", "N")
        assert committer.barrier() is None  # nothing queued: nothing to wait for
        reqs = [op("n", sid=f"s{i}") for i in range(3)]
        handles = [committer.enqueue(r) for r in reqs]
        barrier = committer.barrier()
        assert barrier is not None and barrier.wait(10)
        assert [r.op["seq"] for r in reqs if r.op] == [1, 2, 3]
        assert all(h.is_set() for h in handles)
        st = s.join("n", 0, None)
        assert st is not None and st.note.seq == 3
        assert committer.barrier() is None  # all settled again
    finally:
        committer.close()
        s.close()


def test_a_failing_statement_refuses_the_batch_as_store_unavailable(store: Store) -> None:
    """Errors the driver raises on the commit's raw cursor are reported like SQLAlchemy's."""
    store.create("n", "N")
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("DROP TABLE collab_log")  # the batch's op insert fails
    (req,) = apply(store, op("n", sid="a"))
    assert req.op is None and isinstance(req.error, StoreUnavailable)


def test_sqlite_commits_share_one_connection_and_recover_from_a_lock(tmp_path: Path) -> None:
    """The committer's SQLite connection is kept between batches; an error replaces it."""
    import sqlite3

    s = open_store(f"sqlite:///{tmp_path / 'held.db'}", sqlite_busy_timeout=0.2)
    try:
        s.create("n", "N")
        apply(s, op("n", sid="a"))
        first = s._writers[0].dbapi_connection  # type: ignore[attr-defined]
        (req,) = apply(s, op("n", sid="b"))
        assert req.op is not None and req.op["seq"] == 2
        assert [w.dbapi_connection for w in s._writers] == [first]  # type: ignore[attr-defined]
        other = sqlite3.connect(str(tmp_path / "held.db"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        (req,) = apply(s, op("n", sid="c"))
        assert req.op is None and isinstance(req.error, StoreUnavailable)
        assert s._writers == []  # type: ignore[attr-defined]  # dropped
        other.execute("ROLLBACK")
        other.close()
        (req,) = apply(s, op("n", sid="c"))  # a fresh connection; nothing was lost or skipped
        assert req.op is not None and req.op["seq"] == 3
        state = s.join("n", None, None)
        assert state is not None and [x["id"] for x in state.strokes] == ["a", "b", "c"]
    finally:
        s.close()


def test_a_kept_postgresql_connection_closed_by_the_server_costs_no_batch(pg_url: str) -> None:
    """The committer keeps its connection between batches, without a ping: one the server
    closed in between (a restart, an idle timeout) is replaced and the batch still commits."""
    s = open_store(pg_url)
    try:
        s.create("n", "N")
        apply(s, op("n", sid="a"))
        pid = s._writers[0].dbapi_connection.info.backend_pid  # type: ignore[attr-defined]
        (req,) = apply(s, op("n", sid="b"))
        assert req.op is not None and req.op["seq"] == 2
        assert s._writers[0].dbapi_connection.info.backend_pid == pid  # type: ignore[attr-defined]  # kept
        with s.engine.connect() as conn:  # type: ignore[attr-defined]
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar() is True
        (req,) = apply(s, op("n", sid="c"))
        assert req.error is None and req.op is not None and req.op["seq"] == 3
        assert s._writers[0].dbapi_connection.info.backend_pid != pid  # type: ignore[attr-defined]
        state = s.join("n", None, None)
        assert state is not None and [x["id"] for x in state.strokes] == ["a", "b", "c"]
    finally:
        s.close()


def test_a_second_postgresql_writer_goes_back_to_the_pool_as_psycopg_made_it(pg_url: str) -> None:
    """The committer's connection runs in autocommit (its statements begin and commit the
    transaction); one it does not keep must not hand that mode to the pool's other users,
    whose writes (note creation, renames) rely on psycopg's transactions."""
    s = open_store(pg_url)
    try:
        s.create("n", "N")
        apply(s, op("n", sid="a"))
        busy = s._writers.pop()  # type: ignore[attr-defined]  # as if another thread were writing with it
        (req,) = apply(s, op("n", sid="b"))  # on a connection of its own, then kept
        assert req.op is not None and req.op["seq"] == 2
        s._keep_writer(busy)  # type: ignore[attr-defined]  # one writer is kept already: back to the pool
        idle = [s.engine.raw_connection() for _ in range(s.engine.pool.checkedin())]  # type: ignore[attr-defined]
        try:
            assert busy.dbapi_connection is None  # returned
            assert idle and all(c.driver_connection.autocommit is False for c in idle)
        finally:
            for c in idle:
                c.close()
        (req,) = apply(s, op("n", sid="c"))
        assert req.op is not None and req.op["seq"] == 3
    finally:
        s.close()


def test_one_op_the_database_refuses_fails_alone_and_its_batch_commits(store: Store) -> None:
    """Validation keeps such values out; should one get through, its neighbours are not failed with it."""
    store.create("n", "N")
    store.create("m", "M")
    poison = "bad\ud800\x00"  # a lone surrogate (SQLite cannot bind it) and NUL (PostgreSQL text refuses it)
    reqs = apply(store, op("n", sid="a"), op("m", sid=poison), op("m", sid="b"), op("n", sid="c"))
    assert [r.op["seq"] if r.op else r.error.code for r in reqs] == [1, "internal", 1, 2]  # type: ignore[union-attr]
    st = store.join("m", None, None)
    assert st is not None and [s["id"] for s in st.strokes] == ["b"]  # type: ignore[union-attr]


def test_a_batch_says_which_of_its_notes_another_process_has_members_in(store: Store) -> None:
    for n in ("here", "there", "both"):
        store.create(n, n)
    untracked = apply(store, op("here", sid="u"))
    assert untracked[0].elsewhere, "a store not told which process it serves publishes everything"
    store.track_members("a.0")
    store.update_members("a.0", ["here", "both"], [])
    store.update_members("b.0", ["there", "both"], [])
    here, there, both = apply(store, op("here", sid="h"), op("there", sid="t"), op("both", sid="b"))
    assert (here.elsewhere, there.elsewhere, both.elsewhere) == (False, True, True)
    assert store.member_processes() == {"a.0", "b.0"}
    store.update_members("b.0", [], ["both"])
    store.update_members("b.0", ["there"], [])  # recording twice is recording once
    there, both = apply(store, op("there", sid="t2"), op("both", sid="b2"))
    assert (there.elsewhere, both.elsewhere) == (True, False)
    store.forget_members(["b.0"])
    assert store.member_processes() == {"a.0"}
    (there,) = apply(store, op("there", sid="t3"))
    assert not there.elsewhere
    store.track_members("a.1")  # a new id: the old one's records count as another process's
    (here,) = apply(store, op("here", sid="h2"))
    assert here.elsewhere


def test_recording_a_member_waits_for_a_batch_of_its_note_in_flight(pg_url: str) -> None:
    """A batch that read the records before the new one committed must commit before the join reads."""
    s, batch = open_store(pg_url), open_store(pg_url)
    try:
        s.create("busy", "Busy")
        with batch.engine.connect() as other:  # another process's batch, holding the note's row
            other.exec_driver_sql("SELECT seq FROM collab_notes WHERE id = 'busy' FOR UPDATE")
            done = threading.Event()
            t = threading.Thread(target=lambda: (s.update_members("b.0", ["busy"], []), done.set()))
            t.start()
            assert not done.wait(0.5), "the record returned while a batch of its note was in flight"
            rows = other.exec_driver_sql("SELECT proc FROM collab_members WHERE note_id = 'busy'").all()
            assert [r[0] for r in rows] == ["b.0"], "the record itself is committed first"
            other.commit()
            assert done.wait(10)
            t.join()
    finally:
        s.close()
        batch.close()
