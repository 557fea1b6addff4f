"""SQLAlchemy Core store for SQLite (WAL) and PostgreSQL: the only module that writes SQL.

Everything but the commit of a batch of ops goes through Core; that hot path
runs plain SQL on a DBAPI cursor (see ``_prepare``): on PostgreSQL inside Core's
transaction, on SQLite on the committer's own kept connection (``_apply_held``).
What differs between the two databases is a :class:`~collab.store.dialects.Dialect`.

Schema version 2 (created on first start, or migrated from version 1 in one
transaction; ``collab_meta.schema_version`` records it, ``docs/storage.md``
says how to upgrade and go back):

- ``collab_notes``: one row a note, holding the last assigned ``seq`` and the
  note's ``epoch``. Writers lock the row (``SELECT ... FOR UPDATE`` on
  PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) before assigning seqs, so several
  processes sharing one PostgreSQL still hand out 1, 2, 3... with no gap.
- ``collab_items``: every item id the note ever had, its content as the encoded
  JSON a join sends. ``alive`` is false once removed or cleared; the row keeps
  its content, so ``restore`` brings it back and the id stays taken.
- ``collab_log``: the op log, each op as it travels (encoded JSON), which
  ``join since`` and history (``?at=``) serve. Old entries are compacted away
  past ``oplog_keep``; ``collab_notes.log_start`` says where it begins.
- ``collab_files``: uploaded images by note (the images feature).
- ``collab_members``: which server process has members in which note, so that
  a batch is published to the others only where one of them has (see
  :meth:`SQLStore.track_members`). Kept by the processes themselves; a
  database without it gets it on start, and an older collab ignores it.

What each op kind means is :mod:`collab.ops`; this module only loads the rows
a batch touches, lets the kinds decide and apply, and writes back what changed.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from collections import OrderedDict
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from .. import _json, ops
from ..errors import CollabError, ConfigError, NotFound, StoreUnavailable, TooLarge
from ..model import JoinState, NoteInfo, OpRequest
from .base import Store, decode_cursor
from .dialects import WAL_AUTOCHECKPOINT_PAGES, Query, WriteRows, dialect_for

__all__ = ["SCHEMA_VERSION", "WAL_AUTOCHECKPOINT_PAGES", "SQLStore", "normalize_url"]

log = logging.getLogger("collab.store")

SCHEMA_VERSION = 2
#: Most values bound in one ``IN (...)`` list (SQLite allows 32,766 variables a statement).
_IN_CHUNK = 500

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
    Column("epoch", String(64), nullable=False, server_default=""),
    Index("collab_notes_updated", "updated_at"),
)

items_t = Table(
    "collab_items",
    metadata,
    Column("note_id", String(64), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("peer", String(64), nullable=False),
    Column("alive", Boolean, nullable=False),
    # the item as a join lists it: {"type": "stroke", "seq", "peer", "id", ...fields}, compact JSON
    Column("data", Text, nullable=False),
    Index("collab_items_live", "note_id", "alive", "seq"),
)

log_t = Table(
    "collab_log",
    metadata,
    Column("note_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("peer", String(64), nullable=False),
    Column("at", Float, nullable=False),
    # the op as it travels, without "note", compact JSON
    Column("data", Text, nullable=False),
)

files_t = Table(
    "collab_files",
    metadata,
    Column("note_id", String(64), primary_key=True),
    Column("file_id", String(64), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

members_t = Table(
    "collab_members",
    metadata,
    Column("note_id", String(64), primary_key=True),
    Column("proc", String(64), primary_key=True),
)

meta_t = Table(
    "collab_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

_dumps = _json.dumps
_loads = _json.loads

_Fragment: Any
try:
    from orjson import Fragment as _Fragment
except ImportError:  # pragma: no cover - orjson is a listed dependency
    _Fragment = None


def _encoded(data: str, as_fragment: bool) -> Any:
    """A stored JSON value for an ack: spliced as it is (orjson), or decoded."""
    return _Fragment(data) if as_fragment and _Fragment is not None else _loads(data)


def new_epoch() -> str:
    """A fresh epoch: names one incarnation of a note id."""
    return secrets.token_urlsafe(9)


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
        epoch=row.epoch,
    )


class _LRU:
    """Strings by key, least recently used dropped first past ``max_bytes`` (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: str) -> None:
        if len(value) > self.max_bytes // 2:
            return  # one note may not take the cache for itself
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)


@dataclasses.dataclass(slots=True)
class _Row:
    """One item row a batch loaded or made: whether it is in the table, and whether it changed."""

    stored: bool
    dirty: bool = False


class SQLStore(Store):
    """A :class:`~collab.store.base.Store` on SQLite or PostgreSQL via SQLAlchemy Core."""

    def __init__(
        self,
        url: str,
        *,
        oplog_keep: int = 10_000,
        max_strokes: int | None = None,
        max_points: int = 5000,
        sqlite_synchronous: str = "NORMAL",
        sqlite_busy_timeout: float = 5.0,
        pool_size: int = 5,
        join_cache_bytes: int = 64_000_000,
    ) -> None:
        url = normalize_url(url)
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a poor message
            raise ConfigError(f"cannot parse database URL: {exc}") from exc
        self.url = parsed.render_as_string(hide_password=True)
        self.d = dialect_for(parsed.get_backend_name())
        self.dialect = self.d.name
        self.shared = self.d.shared
        self.oplog_keep = oplog_keep
        self.max_strokes = max_strokes
        self.limits = ops.Limits(max_points=max_points)
        options = {
            "sqlite_synchronous": sqlite_synchronous,
            "sqlite_busy_timeout": sqlite_busy_timeout,
            "pool_size": pool_size,
        }
        self.engine = self.d.engine(parsed, options)
        #: SQLite: the committer's connection, kept from one batch to the next (see :meth:`_apply_held`).
        #: A list because ``pop`` and ``append`` are atomic: a second concurrent writer opens its own.
        self._writers: list[Any] = []
        #: The process id whose ``collab_members`` rows are its own (see :meth:`track_members`).
        self._members_of: str | None = None
        #: Encoded states of recently joined notes (see :meth:`_encoded_state`).
        self._joins = _LRU(join_cache_bytes)
        #: What a failed database call raises: SQLAlchemy's errors, and the driver's on the raw cursor.
        self._db_errors: tuple[type[Exception], ...] = (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)
        self._prepare()
        try:
            self._create_schema()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(f"cannot open the database {self.url}: {exc.__class__.__name__}: {exc}") from exc

    # -- set-up -------------------------------------------------------------
    def _create_schema(self) -> None:
        with self._write() as conn:
            self.d.lock_schema(conn)  # several processes starting at once: one creates, the others wait
            metadata.create_all(conn)
            row = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "schema_version")).first()
            if row is None:
                conn.execute(insert(meta_t).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            version = int(row.value)
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the database has schema version {version}, newer than this collab "
                    f"({SCHEMA_VERSION}); upgrade collab"
                )
            if version == 1:
                try:
                    self._migrate_from_1(conn)
                except (ValueError, TypeError, KeyError) as exc:  # a row v1 could not have written
                    raise ConfigError(
                        f"cannot upgrade the database {self.url} from schema 1: {exc.__class__.__name__}: {exc}; "
                        "it was left as it was (restore a backup, or fix the row and start again)"
                    ) from exc

    def _migrate_from_1(self, conn: Connection) -> None:
        """Schema 1 → 2, inside the caller's transaction: items and log keep whole JSON, notes get epochs.

        Version 1 kept strokes' fields without their id, seq and peer, and an op
        log without payloads (a stroke op pointed at its stroke row; strokes
        never changed then, so the row is the payload).
        """
        started = time.monotonic()
        cols = {c["name"] for c in _inspect_columns(conn, "collab_notes")}
        if "epoch" not in cols:
            conn.exec_driver_sql("ALTER TABLE collab_notes ADD COLUMN epoch VARCHAR(64) NOT NULL DEFAULT ''")
        for (note_id,) in conn.execute(select(notes_t.c.id)).all():
            conn.execute(update(notes_t).where(notes_t.c.id == note_id).values(epoch=new_epoch()))
        strokes = conn.exec_driver_sql(
            "SELECT note_id, stroke_id, seq, peer, alive, data FROM collab_strokes ORDER BY note_id, seq"
        ).all()
        bodies: dict[tuple[str, str], str] = {}
        rows = []
        for note_id, stroke_id, seq, peer, alive, data in strokes:
            item = {"type": "stroke", "seq": seq, "peer": peer, "id": stroke_id, **_loads(data)}
            encoded = _dumps(item)
            bodies[(note_id, stroke_id)] = encoded
            rows.append(
                {
                    "note_id": note_id,
                    "item_id": stroke_id,
                    "seq": seq,
                    "peer": peer,
                    "alive": bool(alive),
                    "data": encoded,
                }
            )
        if rows:
            conn.execute(insert(items_t), rows)
        log_rows = []
        for note_id, seq, kind, stroke_id, peer, at in conn.exec_driver_sql(
            "SELECT note_id, seq, kind, stroke_id, peer, at FROM collab_ops ORDER BY note_id, seq"
        ):
            if kind == "stroke":
                data = bodies.get((note_id, stroke_id))
                if data is None:
                    continue  # cannot happen in a v1 database: ops and strokes were deleted together
            elif kind == "remove":
                data = _dumps({"type": "remove", "seq": seq, "peer": peer, "id": stroke_id})
            else:
                data = _dumps({"type": "clear", "seq": seq, "peer": peer})
            log_rows.append({"note_id": note_id, "seq": seq, "kind": kind, "peer": peer, "at": at, "data": data})
        if log_rows:
            conn.execute(insert(log_t), log_rows)
        conn.exec_driver_sql("DROP TABLE collab_ops")
        conn.exec_driver_sql("DROP TABLE collab_strokes")
        conn.execute(update(meta_t).where(meta_t.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
        log.warning(
            "store: upgraded the database %s from schema 1 to %d (%d items, %d ops) in %.2f s; "
            "a backup taken before this start is the way back (docs/storage.md)",
            self.url,
            SCHEMA_VERSION,
            len(rows),
            len(log_rows),
            time.monotonic() - started,
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
            options = self.d.read_options()
            if options:
                conn = conn.execution_options(**options)
            with conn.begin():
                yield conn

    # -- writes -------------------------------------------------------------
    def apply(self, batch: Sequence[OpRequest]) -> None:
        try:
            outcome, elsewhere = self._apply_held(batch)
        except Exception as exc:  # noqa: BLE001 - the driver's own errors too (raw cursor), and bad values
            if len(batch) > 1 and not self._outage(exc):
                # one op the database refuses must not fail its neighbours: commit them one by one
                log.warning("store: a batch of %d ops failed (%s); committing them one by one", len(batch), exc)
                for req in batch:
                    self.apply([req])
                return
            log.error("store: %s of %d ops failed: %s: %s", "batch" if len(batch) > 1 else "op", len(batch),
                      exc.__class__.__name__, exc)  # fmt: skip
            for req in batch:
                req.op, req.duplicate = None, False
                req.error = StoreUnavailable("the database refused the write; the op was not stored, retry")
            return
        for req, (op, dup, err) in zip(batch, outcome, strict=True):
            req.op, req.duplicate, req.error = op, dup, err
            req.elsewhere = elsewhere is None or req.note in elsewhere

    def _outage(self, exc: Exception) -> bool:
        """Whether ``exc`` says the database is unreachable or busy (then every op would fail alike)."""
        dbapi = self.engine.dialect.loaded_dbapi
        outages = (OperationalError, InterfaceError, dbapi.OperationalError, dbapi.InterfaceError)
        return isinstance(exc, outages)

    def _apply_held(self, batch: Sequence[OpRequest]) -> tuple[list[tuple[Any, bool, Any]], set[str] | None]:
        """Commit ``batch`` on the committer's own connection, kept between batches.

        It skips the pool checkout, begin event and reset of a SQLAlchemy
        ``Connection`` (~40 us per commit, GIL held) and, on PostgreSQL, the
        pool's ping: a round trip per batch. On SQLite, every commit on one
        connection keeps that connection's page cache warm (taken from the pool
        in turn, each connection re-read the pages the others had changed).

        A driver error drops the connection. When a kept connection fails before
        the commit was sent (the database restarted, or closed an idle session),
        nothing was written, so the batch runs once more on a fresh connection.
        """
        while True:
            try:
                raw, kept = self._writers.pop(), True
            except IndexError:  # the first batch, or another thread is writing right now
                raw, kept = self.engine.raw_connection(), False
            committing = False
            try:
                cur = self.d.cursor(raw)
                try:
                    try:
                        out, rows, after, elsewhere = self._apply_on(cur, batch, time.time())
                        committing = True
                        self.d.write(raw, cur, self._writes, rows, after)
                    except BaseException:
                        raw.rollback()
                        raise
                finally:
                    cur.close()
            except self._db_errors as exc:
                stale = kept and not committing and self._disconnected(exc, raw)
                raw.invalidate()  # the next batch opens a fresh connection
                if stale:
                    log.warning("store: the kept connection was closed (%s); the batch runs on a fresh one", exc)
                    continue
                raise
            except BaseException:
                self._keep_writer(raw)  # rolled back: still good
                raise
            self._keep_writer(raw)
            return out, elsewhere

    def _disconnected(self, exc: Exception, raw: Any) -> bool:
        """Whether ``exc``, raised on the raw connection ``raw``, says that the connection is gone."""
        error = getattr(exc, "orig", None) or exc  # the driver's error inside SQLAlchemy's
        return bool(self.engine.dialect.is_disconnect(error, raw.dbapi_connection, None))  # type: ignore[arg-type]

    def _keep_writer(self, raw: Any) -> None:
        if self._writers:  # one idle writer is enough; the pool takes the others back
            self.d.release(raw)
            raw.close()
        else:
            self._writers.append(raw)

    def _prepare(self) -> None:
        """The hot path's SQL, written once for the driver's placeholder style.

        :meth:`_apply_on` runs these on a DBAPI cursor: plain SQL that both
        databases accept, without the ~40 us of statement machinery per execute
        that Core adds.
        """
        ph = self.d.placeholder
        self._ph = ph
        six = ", ".join([ph] * 6)
        self._q_lock = (
            "SELECT id, seq, stroke_count, log_start FROM collab_notes WHERE id IN ({}) ORDER BY id" + self.d.lock_rows
        )
        self._q_rows = (
            "SELECT note_id, item_id, alive, data FROM collab_items WHERE note_id IN ({}) AND item_id IN ({})"
        )
        self._q_files = "SELECT note_id, file_id FROM collab_files WHERE note_id IN ({}) AND file_id IN ({})"
        self._u_clear = f"UPDATE collab_items SET alive = {ph} WHERE note_id = {ph} AND alive = {ph}"
        self._i_item = f"INSERT INTO collab_items (note_id, item_id, seq, peer, alive, data) VALUES ({six})"
        self._u_item = f"UPDATE collab_items SET alive = {ph}, data = {ph} WHERE note_id = {ph} AND item_id = {ph}"
        self._i_op = f"INSERT INTO collab_log (note_id, seq, kind, peer, at, data) VALUES ({six})"
        self._u_note = f"UPDATE collab_notes SET seq = {ph}, stroke_count = {ph}, updated_at = {ph} WHERE id = {ph}"
        self._writes = (self._i_item, self._u_item, self._i_op, self._u_note)
        self._q_members = "SELECT DISTINCT note_id, proc FROM collab_members WHERE note_id IN ({})"
        self._d_ops = f"DELETE FROM collab_log WHERE note_id = {ph} AND seq < {ph}"
        self._u_log_start = f"UPDATE collab_notes SET log_start = {ph} WHERE id = {ph}"

    def _in(self, values: Sequence[Any]) -> str:
        return ", ".join([self._ph] * len(values))

    def _reads(self, batch: Sequence[OpRequest], note_ids: list[str]) -> list[Query]:
        """The queries of a batch's rows: its notes' (locked), then the files and items it names.

        They name every note of the batch, existing or not, and notes x ids is
        a superset of the pairs wanted; :meth:`_loaded` drops the extra rows.
        Long id lists are chunked.
        """
        queries: list[Query] = [(self._q_lock.format(self._in(note_ids)), note_ids)]
        images = {(r.note, r.body["file"]) for r in batch if "file" in r.body}
        if images:  # image items may name only files uploaded to their note
            image_notes, file_ids = sorted({n for n, _ in images}), sorted({f for _, f in images})
            queries.append((self._q_files.format(self._in(image_notes), self._in(file_ids)), [*image_notes, *file_ids]))
        ids = sorted({i for req in batch for i in ops.KINDS[req.kind].ids(req.body)})
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i : i + _IN_CHUNK]
            queries.append((self._q_rows.format(self._in(note_ids), self._in(chunk)), [*note_ids, *chunk]))
        return queries

    def _loaded(
        self, batch: Sequence[OpRequest], notes: set[str], results: list[list[Any]]
    ) -> dict[str, tuple[ops.NoteState, dict]]:
        """The rows :meth:`_reads` found (``results``, after the notes' own), per existing note.

        Each note gets a partial :class:`~collab.ops.NoteState` of the items
        and files its ops name, and the rows it holds.
        """
        out: dict[str, tuple[ops.NoteState, dict]] = {n: (ops.NoteState(), {}) for n in notes}
        image_notes = {r.note for r in batch if "file" in r.body}
        if image_notes:  # the files query came first
            files: dict[str, set[str]] = {n: set() for n in image_notes & notes}
            for note_id, file_id in results[0]:
                if note_id in files:
                    files[note_id].add(file_id)
            for note_id, ids in files.items():
                out[note_id][0].files = ids
            results = results[1:]
        for chunk in results:
            for note_id, item_id, alive, data in chunk:
                if note_id not in out:
                    continue
                state, rows = out[note_id]
                (state.items if alive else state.removed)[item_id] = _loads(data)
                rows[item_id] = _Row(stored=True)
        return out

    def _apply_on(
        self, cur: Any, batch: Sequence[OpRequest], now: float
    ) -> tuple[list[tuple[Any, bool, Any]], WriteRows, list[Query], set[str] | None]:
        """Decide every op of the batch in seq order: what to answer, the rows to write, statements to run after,
        and the batch's notes that another process has members in (``None`` unless :meth:`track_members`).

        The rows the batch names are read at once (:meth:`_reads`, in the
        transaction the dialect begins) into a working
        :class:`~collab.ops.NoteState` per note; each op is decided and applied
        there by its :mod:`~collab.ops` kind, and the rows that changed are
        written back together (the dialect's ``write``). A clear also marks the
        rows it did not load (one UPDATE). A constant number of statements per
        batch for strokes, whatever its size.
        """
        ids = sorted({r.note for r in batch})
        queries = self._reads(batch, ids)
        own, elsewhere = self._members_of, None
        if own is not None:  # after the lock: a process registering waits for it (update_members)
            queries.append((self._q_members.format(self._in(ids)), ids))
        results = self.d.read(cur, queries)
        if own is not None:
            elsewhere = {note for note, proc in results.pop() if proc != own}
        # note id -> [seq, live count, log_start, first seq of this batch]
        state: dict[str, list[int]] = {r[0]: [r[1], r[2], r[3], r[1]] for r in results[0]}
        work = self._loaded(batch, set(state), results[1:])
        encoded: dict[tuple[str, str], str] = {}  # (note, item id) -> the item's JSON, when known already
        new_ops: list[tuple[Any, ...]] = []
        out: list[tuple[Any, bool, Any]] = []
        limits = self.limits
        for req in batch:
            st = state.get(req.note)
            if st is None:
                out.append((None, False, NotFound(f"note {req.note!r} does not exist (it was deleted?)")))
                continue
            note, rows = work[req.note]
            kind = ops.KINDS[req.kind]
            try:
                op = kind.decide(note, req.body, st[0] + 1, req.peer, limits)
            except ops.Duplicate as dup:
                out.append(({"type": req.kind, "seq": dup.seq, "peer": dup.peer}, True, None))
                continue
            except CollabError as exc:
                out.append((None, False, exc))
                continue
            added = kind.added(op)
            if added and self.max_strokes is not None and st[1] + added > self.max_strokes:
                out.append((None, False, TooLarge(f"the note holds its limit of {self.max_strokes} items")))
                continue
            live = len(note.items)
            if kind.clears_all:
                cur.execute(self._u_clear, (False, req.note, True))  # rows stored before this batch
                for row in rows.values():
                    row.dirty = True  # and those loaded or made by it: written back below
            kind.apply(note, op)
            st[0] += 1
            st[1] = 0 if kind.clears_all else st[1] + len(note.items) - live
            data = _dumps(op)
            for item_id in kind.touched(op):
                if req.kind != "stroke":
                    encoded.pop((req.note, item_id), None)  # changed since its stroke op
                row = rows.get(item_id)
                if row is None:
                    rows[item_id] = row = _Row(stored=False)
                row.dirty = True
            if req.kind == "stroke":
                encoded[(req.note, op["id"])] = data  # a new item's JSON is its stroke op's
            new_ops.append((req.note, op["seq"], req.kind, req.peer, now, data))
            out.append((op, False, None))
        inserts, updates = [], []
        for note_id, (note, rows) in work.items():
            for item_id, row in rows.items():
                if not row.dirty:
                    continue
                alive = item_id in note.items
                item = note.items[item_id] if alive else note.removed[item_id]
                data = encoded.get((note_id, item_id)) or _dumps(item)
                if row.stored:
                    updates.append((alive, data, note_id, item_id))
                else:
                    inserts.append((note_id, item_id, item["seq"], item["peer"], alive, data))
        changed = [(note_id, st) for note_id, st in state.items() if st[0] != st[3]]
        after: list[Query] = []
        for note_id, (seq, _, log_start, _) in changed:
            new_start = self._compact_to(seq, log_start)
            if new_start != log_start:
                after.append((self._d_ops, (note_id, new_start)))
                after.append((self._u_log_start, (new_start, note_id)))
        notes = [(st[0], st[1], now, n) for n, st in changed]
        return out, (inserts, updates, new_ops, notes), after, elsewhere

    def _compact_to(self, seq: int, log_start: int) -> int:
        """Where the log should start: keep ``oplog_keep`` ops, compact in chunks."""
        keep = self.oplog_keep
        if keep <= 0 or seq - log_start + 1 <= keep + max(1, keep // 10):
            return log_start
        return seq - keep + 1

    # -- which process has members where ---------------------------------------
    def track_members(self, proc: str | None) -> None:
        """From now on, tell each committed op whether a process other than ``proc`` has members of its note.

        :meth:`apply` sets :attr:`~collab.model.OpRequest.elsewhere` from the
        ``collab_members`` rows it reads with the batch's own: no extra round
        trip. ``None`` stops it (every op is then ``elsewhere``).
        """
        self._members_of = proc

    def update_members(self, proc: str, entered: Sequence[str], left: Sequence[str]) -> None:
        """Record that process ``proc`` now has members in the notes ``entered``, and none in ``left``.

        When it returns, every batch of those notes, on any process, has either
        seen the new rows (and publishes) or committed already: a join that
        reads after this misses nothing. The rows are written in a transaction
        of their own and the note rows locked in a second one, which waits for
        the batches that read the members before the rows were there.
        """
        ph = self._ph
        with self._guard():
            for i in range(0, len(left), _IN_CHUNK):
                chunk = left[i : i + _IN_CHUNK]
                with self._write() as conn:
                    conn.execute(delete(members_t).where(members_t.c.proc == proc, members_t.c.note_id.in_(chunk)))
            if not entered:
                return
            with self._write() as conn:
                conn.exec_driver_sql(
                    f"INSERT INTO collab_members (note_id, proc) VALUES ({ph}, {ph}) ON CONFLICT DO NOTHING",
                    [(note_id, proc) for note_id in entered],
                )
            notes = sorted(set(entered))
            for i in range(0, len(notes), _IN_CHUNK):
                chunk = notes[i : i + _IN_CHUNK]
                with self._write() as conn:
                    conn.exec_driver_sql(self._q_lock.format(self._in(chunk)), tuple(chunk))

    def member_processes(self) -> set[str]:
        """The ids of every process with rows in ``collab_members``."""
        with self._guard(), self._read() as conn:
            return set(conn.execute(select(members_t.c.proc).distinct()).scalars())

    def forget_members(self, procs: Sequence[str]) -> None:
        """Delete the rows of processes that are gone."""
        if procs:
            with self._guard(), self._write() as conn:
                conn.execute(delete(members_t).where(members_t.c.proc.in_(list(procs))))

    def create(self, note_id: str, title: str, max_notes: int | None = None) -> NoteInfo | None:
        now = time.time()
        epoch = new_epoch()
        try:
            with self._write() as conn:
                if max_notes is not None:
                    self.d.lock_schema(conn)  # processes sharing the database count one at a time
                    count = conn.execute(select(func.count()).select_from(notes_t)).scalar_one()
                    if count >= max_notes:
                        raise TooLarge(f"this server holds its limit of {max_notes} notes; delete some first")
                conn.execute(
                    insert(notes_t).values(
                        id=note_id,
                        title=title,
                        seq=0,
                        log_start=1,
                        stroke_count=0,
                        created_at=now,
                        updated_at=now,
                        epoch=epoch,
                    )
                )
        except IntegrityError:
            return None
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the database refused to create the note: {exc.__class__.__name__}") from exc
        return NoteInfo(note_id, title, 0, 0, now, now, 1, epoch)

    def rename(self, note_id: str, title: str) -> NoteInfo | None:
        with self._guard(), self._write() as conn:
            conn.execute(update(notes_t).where(notes_t.c.id == note_id).values(title=title, updated_at=time.time()))
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
        return _note_info(row) if row is not None else None

    def delete(self, note_id: str) -> bool:
        with self._guard(), self._write() as conn:
            gone = conn.execute(delete(notes_t).where(notes_t.c.id == note_id)).rowcount
            conn.execute(delete(log_t).where(log_t.c.note_id == note_id))
            conn.execute(delete(items_t).where(items_t.c.note_id == note_id))
            conn.execute(delete(files_t).where(files_t.c.note_id == note_id))
        return bool(gone)

    # -- files ------------------------------------------------------------------
    def put_file(self, note_id: str, upload: Any, data: bytes, max_note_bytes: int | None = None) -> bool:
        """Keep an uploaded image (see :mod:`collab.files`); False when the note already has it.

        ``NotFound`` for a missing note; ``TooLarge`` when the note's files would pass ``max_note_bytes``.
        """
        f = files_t.c
        with self._guard(), self._write() as conn:
            if conn.execute(select(notes_t.c.id).where(notes_t.c.id == note_id)).first() is None:
                raise NotFound(f"note {note_id!r} does not exist")
            if conn.execute(select(f.file_id).where(f.note_id == note_id, f.file_id == upload.file)).first():
                return False
            if max_note_bytes is not None:
                used = conn.execute(
                    select(func.coalesce(func.sum(f.bytes), 0)).where(f.note_id == note_id)
                ).scalar_one()
                if used + upload.bytes > max_note_bytes:
                    raise TooLarge(
                        f"the note's files would take {used + upload.bytes:,} bytes; at most {max_note_bytes:,} "
                        "(COLLAB_MAX_NOTE_FILE_BYTES)"
                    )
            conn.execute(
                insert(files_t).values(
                    note_id=note_id,
                    file_id=upload.file,
                    type=upload.type,
                    bytes=upload.bytes,
                    width=upload.width,
                    height=upload.height,
                    created_at=time.time(),
                    data=data,
                )
            )
        return True

    def get_file(self, note_id: str, file_id: str) -> tuple[str, bytes] | None:
        """``(type, bytes)`` of a file of the note, or ``None``."""
        f = files_t.c
        with self._guard(), self._read() as conn:
            row = conn.execute(select(f.type, f.data).where(f.note_id == note_id, f.file_id == file_id)).first()
        return (row.type, bytes(row.data)) if row is not None else None

    def file_bytes(self, note_id: str, file_ids: Sequence[str]) -> dict[str, bytes]:
        """The bytes of the listed files of a note that exist (for exports)."""
        f = files_t.c
        if not file_ids:
            return {}
        with self._guard(), self._read() as conn:
            rows = conn.execute(select(f.file_id, f.data).where(f.note_id == note_id, f.file_id.in_(list(file_ids))))
            return {r.file_id: bytes(r.data) for r in rows}

    # -- reads --------------------------------------------------------------
    def join(
        self,
        note_id: str,
        since: int | None,
        create_title: str | None,
        *,
        epoch: str | None = None,
        max_notes: int | None = None,
        encoded: bool = False,
    ) -> JoinState | None:
        with self._guard():
            state = self._read_join(note_id, since, encoded)
            if epoch is not None:
                return state if state is not None and state.note.epoch == epoch else None
            if state is None and create_title is not None:
                created = self.create(note_id, create_title, max_notes) is not None  # a concurrent creator may win
                state = self._read_join(note_id, since, encoded)
                if state is not None and created:
                    state = dataclasses.replace(state, created=True)
            return state

    def _read_join(self, note_id: str, since: int | None, encoded: bool) -> JoinState | None:
        with self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
            if row is None:
                return None
            info = _note_info(row)
            if since is not None and since <= info.seq and since + 1 >= info.log_start:
                texts = self._log_texts(conn, note_id, since, None)
                return JoinState(info, None, [_encoded(t, encoded) for t in texts], size=sum(map(len, texts)))
            if encoded and _Fragment is not None:
                text = self._encoded_state(conn, info)
                return JoinState(info, _Fragment(text), None, reset=since is not None, size=len(text))
            texts = self._live_texts(conn, note_id)
            items = [_encoded(t, encoded) for t in texts]
            return JoinState(info, items, None, reset=since is not None, size=sum(map(len, texts)))

    def _encoded_state(self, conn: Connection, info: NoteInfo) -> str:
        """The note's items as one JSON array, reused while its seq stays the same.

        The note's epoch and seq name its state exactly (every change is an op),
        so back-to-back joins of a big note read and join its rows once.
        """
        key = (info.id, info.epoch, info.seq)
        text: str | None = self._joins.get(key)
        if text is None:
            text = "[" + ",".join(self._live_texts(conn, info.id)) + "]"
            self._joins.put(key, text)
        return text

    def _live_texts(self, conn: Connection, note_id: str) -> list[str]:
        """The stored JSON of the note's live items, in layer order."""
        i = items_t.c
        rows = conn.execute(select(i.data).where(i.note_id == note_id, i.alive.is_(True)).order_by(i.seq))
        return [r.data for r in rows]

    def _live_items(self, conn: Connection, note_id: str, encoded: bool = False) -> list[Any]:
        return [_encoded(t, encoded) for t in self._live_texts(conn, note_id)]

    def _log_texts(self, conn: Connection, note_id: str, since: int, upto: int | None) -> list[str]:
        """The stored JSON of the ops after ``since`` (up to ``upto``), in seq order."""
        o = log_t.c
        query = select(o.data).where(o.note_id == note_id, o.seq > since)
        if upto is not None:
            query = query.where(o.seq <= upto)
        return [r.data for r in conn.execute(query.order_by(o.seq))]

    def _ops_between(self, conn: Connection, note_id: str, since: int, upto: int | None, encoded: bool) -> list[Any]:
        return [_encoded(t, encoded) for t in self._log_texts(conn, note_id, since, upto)]

    def get(self, note_id: str) -> NoteInfo | None:
        with self._guard(), self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
        return _note_info(row) if row is not None else None

    def strokes(self, note_id: str) -> tuple[NoteInfo, list[dict]] | None:
        with self._guard(), self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
            if row is None:
                return None
            return _note_info(row), self._live_items(conn, note_id)

    def state_at(self, note_id: str, at: int) -> tuple[NoteInfo, list[dict]] | None:
        """The note as it stood just after op ``at``: replayed from the log (:mod:`collab.ops`).

        ``None`` for a note that does not exist; :class:`~collab.errors.NotFound`
        when ``at`` is past the note's seq or its history was compacted away.
        """
        with self._guard(), self._read() as conn:
            row = conn.execute(select(notes_t).where(notes_t.c.id == note_id)).first()
            if row is None:
                return None
            info = _note_info(row)
            if at > info.seq:
                raise NotFound(f"note {note_id!r} has no seq {at} yet (its last is {info.seq})")
            if at == info.seq:
                return info, self._live_items(conn, note_id)
            if info.log_start > 1:
                raise NotFound(
                    f"the history of note {note_id!r} before seq {info.log_start} was compacted away "
                    "(COLLAB_OPLOG_KEEP)"
                )
            history = ops.NoteState.replay(self._ops_between(conn, note_id, 0, at, False))
        return dataclasses.replace(info, seq=at, strokes=len(history.items)), history.listing()

    def list(self, limit: int | None = None, after: str | None = None) -> list[NoteInfo]:
        n = notes_t.c
        query = select(notes_t).order_by(n.updated_at.desc(), n.id)
        if after is not None:
            updated, note_id = decode_cursor(after)
            query = query.where(or_(n.updated_at < updated, and_(n.updated_at == updated, n.id > note_id)))
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
        self.d.maintain(self)

    def checkpoint(self, mode: str) -> None:
        """SQLite: ``PRAGMA wal_checkpoint(mode)`` outside any transaction."""
        raw = self.engine.raw_connection()  # autocommit (see the dialect): a checkpoint runs outside transactions
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
            raw = self._writers.pop()
            self.d.release(raw)  # as the driver made it: close()'s own reads may check it out
            raw.close()  # back to the pool, which dispose() empties
        try:
            self.d.close(self)
        except self._db_errors as exc:
            log.warning("store: closing: %s", exc)
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


def _inspect_columns(conn: Connection, table: str) -> list[dict[str, Any]]:
    from sqlalchemy import inspect

    return inspect(conn).get_columns(table)  # type: ignore[return-value]
