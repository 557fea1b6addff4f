"""SQLAlchemy Core store for SQLite (WAL) and PostgreSQL.

Everything but the commit of a batch of ops goes through Core; that hot path
runs plain SQL on a DBAPI cursor (see ``_prepare``): on PostgreSQL inside Core's
transaction, on SQLite on the committer's own kept connection (``_apply_held``).

Schema (created on first start; ``collab_meta.schema_version`` records it, see
``docs/storage.md`` for how it migrates):

- ``collab_notes``: one row a note, holding the last assigned ``seq``. Writers
  lock the row (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
  SQLite) before assigning seqs, so several processes sharing one PostgreSQL
  still hand out 1, 2, 3... with no gap: the seq and the op commit together.
- ``collab_strokes``: every stroke id the note ever had. ``alive`` is false once
  removed or cleared; the row stays so that the id stays taken (an idempotent
  re-send returns the original seq and never revives a removed stroke).
- ``collab_ops``: the op log that ``join since`` serves; stroke ops point at
  their stroke row instead of copying the points. Old entries are compacted
  away past ``oplog_keep``; ``collab_notes.log_start`` says where it begins.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import _json
from ..errors import ConfigError, NotFound, StoreUnavailable, TooLarge
from ..model import JoinState, NoteInfo, OpRequest
from .base import Store

log = logging.getLogger("collab.store")

SCHEMA_VERSION = 1
#: SQLite: WAL pages after which a commit checkpoints by itself (SQLite's default is 1,000);
#: the server checkpoints in the background long before (see SQLStore.maintain).
WAL_AUTOCHECKPOINT_PAGES = 10_000
#: PostgreSQL advisory lock key that serializes schema creation and migrations.
_SCHEMA_LOCK = 0x636F6C6C6162  # "collab"

metadata = MetaData()

notes_t = Table(
    "collab_notes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("log_start", BigInteger, nullable=False),
    Column("stroke_count", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("collab_notes_updated", "updated_at"),
)

strokes_t = Table(
    "collab_strokes",
    metadata,
    Column("note_id", String(64), primary_key=True),
    Column("stroke_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("peer", String(64), nullable=False),
    Column("alive", Boolean, nullable=False),
    # {"color", "width", "points", "tool"} as compact JSON
    Column("data", Text, nullable=False),
    Index("collab_strokes_live", "note_id", "alive", "seq"),
)

ops_t = Table(
    "collab_ops",
    metadata,
    Column("note_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("stroke_id", String(64), nullable=True),
    Column("peer", String(64), nullable=False),
    Column("at", Float, nullable=False),
)

meta_t = Table(
    "collab_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

_dumps = _json.dumps


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for a bare ``postgresql://`` URL."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _note_info(row: Any) -> NoteInfo:
    return NoteInfo(
        id=row.id,
        title=row.title,
        seq=row.seq,
        strokes=row.stroke_count,
        created=row.created_at,
        updated=row.updated_at,
        log_start=row.log_start,
    )


def _stroke_out(stroke_id: str, seq: int, peer: str, data: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "stroke", "seq": seq, "peer": peer, "id": stroke_id}
    out.update(_json.loads(data))
    return out


class SQLStore(Store):
    """A :class:`~collab.store.base.Store` on SQLite or PostgreSQL via SQLAlchemy Core."""

    def __init__(
        self,
        url: str,
        *,
        oplog_keep: int = 10_000,
        max_strokes: int | None = None,
        sqlite_synchronous: str = "NORMAL",
        sqlite_busy_timeout: float = 5.0,
        pool_size: int = 5,
    ) -> None:
        url = normalize_url(url)
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a poor message
            raise ConfigError(f"cannot parse database URL: {exc}") from exc
        self.url = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        self.oplog_keep = oplog_keep
        self.max_strokes = max_strokes
        self.busy_timeout = sqlite_busy_timeout
        self.engine = self._make_engine(parsed, sqlite_synchronous, pool_size)
        #: SQLite: the committer's connection, kept from one batch to the next (see :meth:`_apply_held`).
        #: A list because ``pop`` and ``append`` are atomic: a second concurrent writer opens its own.
        self._writers: list[Any] = []
        #: What a failed database call raises: SQLAlchemy's errors, and the driver's on the raw cursor.
        self._db_errors: tuple[type[Exception], ...] = (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)
        self._prepare()
        self.shared = self.dialect == "postgresql"
        try:
            self._create_schema()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(f"cannot open the database {self.url}: {exc.__class__.__name__}: {exc}") from exc

    # -- set-up -------------------------------------------------------------
    def _make_engine(self, url: Any, synchronous: str, pool_size: int) -> Engine:
        if self.dialect == "sqlite":
            db = url.database
            if not db or db == ":memory:" or url.query.get("mode") == "memory":
                raise ConfigError(
                    "an in-memory SQLite database cannot be shared by the server's threads; "
                    "use a file, e.g. sqlite:///collab.db"
                )
            if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise ConfigError("COLLAB_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": self.busy_timeout},
                pool_size=pool_size,
                max_overflow=10,
                pool_use_lifo=True,
            )

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                # Let SQLAlchemy's "begin" event below decide when transactions start.
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
                cur.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                # the server checkpoints in the background (maintain); this only bounds the WAL
                # of a process that never calls maintain
                cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Connection) -> None:
                # Writers take the write lock up front: no lock upgrade, no SQLITE_BUSY mid-batch.
                write = conn.get_execution_options().get("collab_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        if self.dialect == "postgresql":
            try:
                import psycopg  # noqa: F401
            except ImportError as exc:
                raise ConfigError("PostgreSQL needs the psycopg driver: pip install 'psycopg[binary]'") from exc
            return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
        raise ConfigError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")

    def _create_schema(self) -> None:
        with self._write() as conn:
            if self.dialect == "postgresql":
                # several processes starting at once on a fresh database: one creates, the others wait
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
            metadata.create_all(conn)
            row = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "schema_version")).first()
            if row is None:
                conn.execute(insert(meta_t).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row.value) > SCHEMA_VERSION:
                raise ConfigError(
                    f"the database has schema version {row.value}, newer than this collab "
                    f"({SCHEMA_VERSION}); upgrade collab"
                )

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(collab_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # one snapshot for the note row and its strokes
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    # -- writes -------------------------------------------------------------
    def apply(self, batch: Sequence[OpRequest]) -> None:
        try:
            if self.dialect == "sqlite":
                outcome = self._apply_held(batch)
            else:
                with self._write() as conn:
                    outcome = self._apply(conn, batch)
        except self._db_errors as exc:  # the hot path's raw cursor raises the driver's own errors
            log.error("store: batch of %d ops failed: %s", len(batch), exc)
            for req in batch:
                req.op, req.duplicate = None, False
                req.error = StoreUnavailable("the database refused the write; the op was not stored, retry")
            return
        for req, (op, dup, err) in zip(batch, outcome, strict=True):
            req.op, req.duplicate, req.error = op, dup, err

    def _apply_held(self, batch: Sequence[OpRequest]) -> list[tuple[Any, bool, Any]]:
        """SQLite: commit ``batch`` on the committer's own connection, kept between batches.

        Every commit on one connection keeps that connection's page cache warm:
        taken from the pool in turn, each connection re-read the pages the others
        had changed (five ``pread`` calls per op at S1). It also skips the pool
        checkout, begin event and reset of a SQLAlchemy ``Connection`` (~40 us per
        commit, GIL held). A driver error drops the connection; the next batch
        opens a fresh one.
        """
        try:
            raw = self._writers.pop()
        except IndexError:  # the first batch, or another thread is writing right now
            raw = self.engine.raw_connection()  # autocommit: transactions are ours (_on_connect)
        try:
            cur = raw.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")  # take the write lock up front, like _write
                try:
                    out = self._apply_on(cur, batch, time.time())
                    cur.execute("COMMIT")
                except BaseException:
                    raw.rollback()
                    raise
            finally:
                cur.close()
        except self._db_errors:
            raw.invalidate()  # the next batch opens a fresh connection
            raise
        except BaseException:
            self._keep_writer(raw)  # rolled back: still good
            raise
        self._keep_writer(raw)
        return out

    def _keep_writer(self, raw: Any) -> None:
        if self._writers:  # one idle writer is enough; the pool takes the others back
            raw.close()
        else:
            self._writers.append(raw)

    def _prepare(self) -> None:
        """The hot path's SQL, written once for the driver's placeholder style.

        :meth:`_apply_on` runs these on a DBAPI cursor (SQLite: the kept
        connection of :meth:`_apply_held`; PostgreSQL: that of a Core connection,
        inside its transaction): plain SQL that both accept, without the ~40 us
        of statement machinery per execute that Core adds (a batch of one op
        went from ~480 to ~200 us).
        """
        ph = "?" if self.dialect == "sqlite" else "%s"
        self._ph = ph
        lock = " FOR UPDATE" if self.dialect == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE already
        six = ", ".join([ph] * 6)
        self._q_lock = "SELECT id, seq, stroke_count, log_start FROM collab_notes WHERE id IN ({}) ORDER BY id" + lock
        self._q_known = (
            "SELECT note_id, stroke_id, seq, peer FROM collab_strokes WHERE note_id IN ({}) AND stroke_id IN ({})"
        )
        self._u_remove = (
            f"UPDATE collab_strokes SET alive = {ph} WHERE note_id = {ph} AND stroke_id = {ph} AND alive = {ph}"
        )
        self._u_clear = f"UPDATE collab_strokes SET alive = {ph} WHERE note_id = {ph} AND alive = {ph}"
        self._i_stroke = f"INSERT INTO collab_strokes (note_id, stroke_id, seq, peer, alive, data) VALUES ({six})"
        self._i_op = f"INSERT INTO collab_ops (note_id, seq, kind, stroke_id, peer, at) VALUES ({six})"
        self._u_note = f"UPDATE collab_notes SET seq = {ph}, stroke_count = {ph}, updated_at = {ph} WHERE id = {ph}"
        self._d_ops = f"DELETE FROM collab_ops WHERE note_id = {ph} AND seq < {ph}"
        self._u_log_start = f"UPDATE collab_notes SET log_start = {ph} WHERE id = {ph}"

    def _in(self, values: Sequence[Any]) -> str:
        return ", ".join([self._ph] * len(values))

    def _apply(self, conn: Connection, batch: Sequence[OpRequest]) -> list[tuple[Any, bool, Any]]:
        """PostgreSQL: :meth:`_apply_on` on the cursor of ``conn``, inside its transaction."""
        cur = conn.connection.cursor()
        try:
            return self._apply_on(cur, batch, time.time())
        finally:
            cur.close()

    def _apply_on(self, cur: Any, batch: Sequence[OpRequest], now: float) -> list[tuple[Any, bool, Any]]:
        """Assign seqs in order; a constant number of statements per batch, whatever its size.

        Strokes of the batch are inserted together at the end; until then the
        batch's own strokes live in ``mine`` (so a remove or clear later in the
        batch sees them), and strokes already stored are looked up once for the batch.
        """
        ids = sorted({r.note for r in batch})
        cur.execute(self._q_lock.format(self._in(ids)), ids)
        # note id -> [seq, stroke_count, log_start, first seq of this batch]
        state: dict[str, list[int]] = {r[0]: [r[1], r[2], r[3], r[1]] for r in cur.fetchall()}
        # stroke ids the batch's notes already hold: one query for the whole batch
        # (notes x ids is a superset of the pairs wanted; the extra matches are harmless)
        wanted = {(r.note, r.stroke["id"]) for r in batch if r.kind == "stroke" and r.note in state}  # type: ignore[index]
        stored: dict[tuple[str, str], tuple[int, str]] = {}
        if wanted:
            notes = sorted({n for n, _ in wanted})
            sids = sorted({i for _, i in wanted})
            cur.execute(self._q_known.format(self._in(notes), self._in(sids)), [*notes, *sids])
            for note_id, stroke_id, seq, peer in cur.fetchall():
                stored[(note_id, stroke_id)] = (seq, peer)
        mine: dict[tuple[str, str], list[Any]] = {}  # strokes added by this batch: (note, id) -> row
        new_ops: list[tuple[Any, ...]] = []
        out: list[tuple[Any, bool, Any]] = []
        for req in batch:
            st = state.get(req.note)
            if st is None:
                out.append((None, False, NotFound(f"note {req.note!r} does not exist (it was deleted?)")))
                continue
            if req.kind == "stroke":
                stroke = req.stroke
                assert stroke is not None
                key = (req.note, stroke["id"])
                row = mine.get(key)
                known = (row[2], row[3]) if row is not None else stored.get(key)
                if known is not None:
                    out.append(({"type": "stroke", "seq": known[0], "peer": known[1]}, True, None))
                    continue
                if self.max_strokes is not None and st[1] >= self.max_strokes:
                    out.append((None, False, TooLarge(f"the note holds its limit of {self.max_strokes} strokes")))
                    continue
                st[0] += 1
                st[1] += 1
                data = {
                    "color": stroke["color"],
                    "width": stroke["width"],
                    "points": stroke["points"],
                    "tool": stroke["tool"],
                }
                # note_id, stroke_id, seq, peer, alive, data
                mine[key] = [req.note, stroke["id"], st[0], req.peer, True, _dumps(data)]
                new_ops.append((req.note, st[0], "stroke", stroke["id"], req.peer, now))
                out.append(({"type": "stroke", "seq": st[0], "peer": req.peer, **stroke}, False, None))
            elif req.kind == "remove":
                row = mine.get((req.note, req.stroke_id))  # type: ignore[arg-type]
                if row is not None:
                    hit = row[4]
                    row[4] = False
                else:
                    cur.execute(self._u_remove, (False, req.note, req.stroke_id, True))
                    hit = cur.rowcount > 0
                if not hit:
                    out.append((None, False, NotFound(f"the note holds no stroke with id {req.stroke_id!r}")))
                    continue
                st[0] += 1
                st[1] -= 1
                new_ops.append((req.note, st[0], "remove", req.stroke_id, req.peer, now))
                out.append(({"type": "remove", "seq": st[0], "id": req.stroke_id, "peer": req.peer}, False, None))
            elif req.kind == "clear":
                cur.execute(self._u_clear, (False, req.note, True))  # strokes stored before this batch
                for (note_id, _), row in mine.items():  # and the batch's own, added before the clear
                    if note_id == req.note:
                        row[4] = False
                st[0] += 1
                st[1] = 0
                new_ops.append((req.note, st[0], "clear", None, req.peer, now))
                out.append(({"type": "clear", "seq": st[0], "peer": req.peer}, False, None))
            else:  # pragma: no cover - the namespace only builds the three kinds
                raise ValueError(f"unknown op kind {req.kind!r}")
        if mine:
            cur.executemany(self._i_stroke, list(mine.values()))
        if new_ops:
            cur.executemany(self._i_op, new_ops)
        changed = [(note_id, st) for note_id, st in state.items() if st[0] != st[3]]
        if changed:
            cur.executemany(self._u_note, [(st[0], st[1], now, n) for n, st in changed])
        for note_id, (seq, _, log_start, _) in changed:
            new_start = self._compact_to(seq, log_start)
            if new_start != log_start:
                cur.execute(self._d_ops, (note_id, new_start))
                cur.execute(self._u_log_start, (new_start, note_id))
        return out

    def _compact_to(self, seq: int, log_start: int) -> int:
        """Where the log should start: keep ``oplog_keep`` ops, compact in chunks."""
        keep = self.oplog_keep
        if keep <= 0 or seq - log_start + 1 <= keep + max(1, keep // 10):
            return log_start
        return seq - keep + 1

    def create(self, note_id: str, title: str) -> NoteInfo | None:
        now = time.time()
        try:
            with self._write() as conn:
                conn.execute(
                    insert(notes_t).values(
                        id=note_id, title=title, seq=0, log_start=1, stroke_count=0, created_at=now, updated_at=now
                    )
                )
        except IntegrityError:
            return None
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the database refused to create the note: {exc.__class__.__name__}") from exc
        return NoteInfo(note_id, title, 0, 0, now, now, 1)

    def rename(self, note_id: str, title: str) -> NoteInfo | None:
        with self._guard(), self._write() as conn:
            conn.execute(update(notes_t).where(notes_t.c.id == note_id).values(title=title, updated_at=time.time()))
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
        return _note_info(row) if row is not None else None

    def delete(self, note_id: str) -> bool:
        with self._guard(), self._write() as conn:
            gone = conn.execute(delete(notes_t).where(notes_t.c.id == note_id)).rowcount
            conn.execute(delete(ops_t).where(ops_t.c.note_id == note_id))
            conn.execute(delete(strokes_t).where(strokes_t.c.note_id == note_id))
        return bool(gone)

    # -- reads --------------------------------------------------------------
    def join(self, note_id: str, since: int | None, create_title: str | None) -> JoinState | None:
        with self._guard():
            state = self._read_join(note_id, since)
            if state is None and create_title is not None:
                created = self.create(note_id, create_title) is not None  # a concurrent creator may win
                state = self._read_join(note_id, since)
                if state is not None and created:
                    state = dataclasses.replace(state, created=True)
            return state

    def _read_join(self, note_id: str, since: int | None) -> JoinState | None:
        with self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
            if row is None:
                return None
            info = _note_info(row)
            if since is not None and since <= info.seq and since + 1 >= info.log_start:
                return JoinState(info, None, self._ops_since(conn, note_id, since))
            return JoinState(info, self._live_strokes(conn, note_id), None, reset=since is not None)

    def _live_strokes(self, conn: Connection, note_id: str) -> list[dict[str, Any]]:
        s = strokes_t.c
        rows = conn.execute(
            select(s.stroke_id, s.seq, s.peer, s.data).where(s.note_id == note_id, s.alive.is_(True)).order_by(s.seq)
        )
        return [_stroke_out(r.stroke_id, r.seq, r.peer, r.data) for r in rows]

    def _ops_since(self, conn: Connection, note_id: str, since: int) -> list[dict[str, Any]]:
        o, s = ops_t.c, strokes_t.c
        rows = conn.execute(
            select(o.seq, o.kind, o.stroke_id, o.peer, s.data)
            .select_from(
                ops_t.outerjoin(
                    strokes_t, (s.note_id == o.note_id) & (s.stroke_id == o.stroke_id) & (o.kind == "stroke")
                )
            )
            .where(o.note_id == note_id, o.seq > since)
            .order_by(o.seq)
        )
        out: list[dict[str, Any]] = []
        for r in rows:
            if r.kind == "stroke":
                out.append(_stroke_out(r.stroke_id, r.seq, r.peer, r.data))
            elif r.kind == "remove":
                out.append({"type": "remove", "seq": r.seq, "id": r.stroke_id, "peer": r.peer})
            else:
                out.append({"type": "clear", "seq": r.seq, "peer": r.peer})
        return out

    def get(self, note_id: str) -> NoteInfo | None:
        with self._guard(), self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
        return _note_info(row) if row is not None else None

    def strokes(self, note_id: str) -> tuple[NoteInfo, list[dict]] | None:
        with self._guard(), self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
            if row is None:
                return None
            return _note_info(row), self._live_strokes(conn, note_id)

    def list(self, limit: int | None = None) -> list[NoteInfo]:
        query = select(notes_t).order_by(notes_t.c.updated_at.desc(), notes_t.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._guard(), self._read() as conn:
            return [_note_info(r) for r in conn.execute(query)]

    def count(self) -> int:
        with self._guard(), self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(notes_t)).scalar_one())

    def secret(self) -> str:
        with self._guard():
            for _ in range(2):
                with self._read() as conn:
                    row = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "secret")).first()
                if row is not None:
                    return str(row.value)
                try:
                    with self._write() as conn:
                        conn.execute(insert(meta_t).values(key="secret", value=secrets.token_urlsafe(32)))
                except IntegrityError:  # another process made it first: read theirs
                    continue
        raise StoreUnavailable("could not read or create the signing secret")  # pragma: no cover

    def ping(self) -> None:
        with self._guard(), self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def maintain(self) -> None:
        """SQLite: copy committed WAL pages into the database file (a PASSIVE checkpoint).

        With SQLite's default, the commit that takes the WAL past 1,000 pages
        runs the checkpoint itself, fsync included, and every op queued behind
        it waits: that was most of S1's latency tail. Run here, in a thread of
        its own, the checkpoint waits for no writer and no writer waits for it.
        """
        if self.dialect == "sqlite":
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        raw = self.engine.raw_connection()  # autocommit (see _on_connect): a checkpoint runs outside transactions
        try:
            cur = raw.cursor()
            try:
                cur.execute(f"PRAGMA wal_checkpoint({mode})")
            finally:
                cur.close()
        finally:
            raw.close()

    def close(self) -> None:
        while self._writers:
            self._writers.pop().close()  # back to the pool, which dispose() empties
        if self.dialect == "sqlite":
            try:  # leave a small WAL behind
                self._checkpoint("TRUNCATE")
            except self._db_errors as exc:
                log.warning("store: final checkpoint failed: %s", exc)
        self.engine.dispose()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn driver errors into :class:`StoreUnavailable` (HTTP 503, ack ``internal``)."""
        try:
            yield
        except SQLAlchemyError as exc:
            log.error("store: %s", exc)
            raise StoreUnavailable(
                f"the database is unavailable ({exc.__class__.__name__}); try again shortly"
            ) from exc
