"""What differs between the databases the SQL store runs on, one class each.

:class:`~collab.store.sql.SQLStore` writes the same SQL for every database;
a :class:`Dialect` says how to open its engine, how a writer locks what it
changes, whether several processes may share it, and what housekeeping it
wants. A new database is one subclass here and one entry in :data:`DIALECTS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine

from .. import _json
from ..errors import ConfigError

#: SQLite: WAL pages after which a commit checkpoints by itself (SQLite's default is 1,000);
#: the server checkpoints in the background long before (see SQLiteDialect.maintain).
WAL_AUTOCHECKPOINT_PAGES = 10_000
#: A statement and its parameters.
Query = tuple[str, Sequence[Any]]
#: The store's four write statements (new items, changed items, ops, note rows), and their rows.
WriteSQL = tuple[str, str, str, str]
WriteRows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]

#: PostgreSQL advisory lock key that serializes schema creation, migrations and note creation.
SCHEMA_LOCK = 0x636F6C6C6162  # "collab"


class Dialect:
    """The base: settings every dialect gives, with the plain SQL defaults."""

    name: ClassVar[str]
    #: DBAPI placeholder of the hot path's raw SQL.
    placeholder: ClassVar[str] = "?"
    #: Appended to the note-row SELECT that starts a batch, to lock those rows.
    lock_rows: ClassVar[str] = ""
    #: Whether several server processes may share one database.
    shared: ClassVar[bool] = False

    def engine(self, url: URL, options: dict[str, Any]) -> Engine:
        """Open the engine for ``url``; ``options`` are the store's settings."""
        raise NotImplementedError

    def cursor(self, raw: Any) -> Any:
        """The committer's DBAPI cursor on its raw pooled connection ``raw``."""
        return raw.cursor()

    def release(self, raw: Any) -> None:
        """Undo what :meth:`cursor` changed on ``raw`` before it goes back to the pool."""

    def read(self, cur: Any, queries: Sequence[Query]) -> list[list[Any]]:
        """Start the write transaction, then run a batch's reads in order: each one's rows.

        The default runs :meth:`begin` and then each query on its own.
        """
        self.begin(cur)
        out = []
        for statement, params in queries:
            cur.execute(statement, params)
            out.append(cur.fetchall())
        return out

    def write(self, raw: Any, cur: Any, sql: WriteSQL, rows: WriteRows, after: Sequence[Query]) -> None:
        """Write a batch's rows, run the statements ``after``, and commit.

        ``sql`` holds the store's four statements for one row each: new items,
        changed items, ops, note rows; ``rows`` holds their parameter rows, in
        that order. The default runs them with ``executemany``, then
        :meth:`commit`.
        """
        for statement, params in zip(sql, rows, strict=True):
            if params:
                cur.executemany(statement, params)
        for statement, args in after:
            cur.execute(statement, args)
        self.commit(raw, cur)

    def begin(self, cur: Any) -> None:
        """Start a write transaction on the committer's DBAPI cursor (the default :meth:`read` calls it)."""

    def commit(self, raw: Any, cur: Any) -> None:
        """Commit the committer's transaction (the default :meth:`write` calls it)."""
        raw.commit()

    def lock_schema(self, conn: Connection) -> None:
        """Serialize schema changes and note creation between processes (inside ``conn``'s transaction)."""

    def read_options(self) -> dict[str, Any]:
        """Execution options of a read that must see one snapshot."""
        return {}

    def maintain(self, store: Any) -> None:
        """Housekeeping run off the event loop about once a second."""

    def close(self, store: Any) -> None:
        """Before the engine is disposed."""


class SQLiteDialect(Dialect):
    """SQLite in WAL mode: one process, writers serialized by ``BEGIN IMMEDIATE``."""

    name = "sqlite"

    def begin(self, cur: Any) -> None:
        cur.execute("BEGIN IMMEDIATE")  # take the write lock up front (the connection is in autocommit)

    def commit(self, raw: Any, cur: Any) -> None:
        cur.execute("COMMIT")

    def engine(self, url: URL, options: dict[str, Any]) -> Engine:
        db = url.database
        if not db or db == ":memory:" or url.query.get("mode") == "memory":
            raise ConfigError(
                "an in-memory SQLite database cannot be shared by the server's threads; use a file, e.g. sqlite:///collab.db"
            )
        synchronous = str(options["sqlite_synchronous"]).upper()
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError("COLLAB_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        busy = float(options["sqlite_busy_timeout"])
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy},
            pool_size=options["pool_size"],
            max_overflow=10,
            pool_use_lifo=True,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below decide when transactions start.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
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

    def maintain(self, store: Any) -> None:
        """Copy committed WAL pages into the database file (a PASSIVE checkpoint).

        With SQLite's default, the commit that takes the WAL past 1,000 pages
        runs the checkpoint itself, fsync included, and every op queued behind
        it waits. Run here, in a thread of its own, the checkpoint waits for no
        writer and no writer waits for it.
        """
        store.checkpoint("PASSIVE")

    def close(self, store: Any) -> None:
        store.checkpoint("TRUNCATE")  # leave a small WAL behind


#: PostgreSQL: a batch's writes as one statement (see PostgresDialect.write). Each
#: parameter is a JSON array of rows, each row an array of column values. The item rows
#: inserted and those updated are never the same rows.
PG_WRITE_BATCH = """
WITH new_items AS (
    INSERT INTO collab_items (note_id, item_id, seq, peer, alive, data)
    SELECT r->>0, r->>1, (r->>2)::bigint, r->>3, (r->>4)::boolean, r->>5 FROM json_array_elements(%s::json) AS r
), changed_items AS (
    UPDATE collab_items AS i SET alive = (r->>0)::boolean, data = r->>1
    FROM json_array_elements(%s::json) AS r
    WHERE i.note_id = r->>2 AND i.item_id = r->>3
), new_ops AS (
    INSERT INTO collab_log (note_id, seq, kind, peer, at, data)
    SELECT r->>0, (r->>1)::bigint, r->>2, r->>3, (r->>4)::float8, r->>5 FROM json_array_elements(%s::json) AS r
)
UPDATE collab_notes AS n SET seq = (r->>0)::bigint, stroke_count = (r->>1)::integer, updated_at = (r->>2)::float8
FROM json_array_elements(%s::json) AS r
WHERE n.id = r->>3
"""


class PostgresDialect(Dialect):
    """PostgreSQL (psycopg 3): shared by several processes, rows locked ``FOR UPDATE``."""

    name = "postgresql"
    placeholder = "%s"
    lock_rows = " FOR UPDATE"
    shared = True

    def engine(self, url: URL, options: dict[str, Any]) -> Engine:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ConfigError("PostgreSQL needs the psycopg driver: pip install 'psycopg[binary]'") from exc
        return create_engine(url, pool_size=options["pool_size"], max_overflow=10, pool_pre_ping=True)

    def lock_schema(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})

    def cursor(self, raw: Any) -> Any:
        """A client-side binding cursor in autocommit: several statements travel in one message.

        A batch then costs two round trips to the server, reads then writes
        (see :meth:`read` and :meth:`write`), where a cursor of prepared
        statements costs five: BEGIN, each statement, COMMIT. Values are
        quoted by libpq (``PQescapeLiteral``), and the write's rows travel as
        JSON texts.
        """
        from psycopg import ClientCursor

        conn = raw.driver_connection
        if not conn.autocommit:
            conn.autocommit = True  # the transaction is begun and committed in the statements
        return ClientCursor(conn)

    def release(self, raw: Any) -> None:
        raw.driver_connection.autocommit = False  # the pool's other users expect psycopg's default

    def read(self, cur: Any, queries: Sequence[Query]) -> list[list[Any]]:
        """``BEGIN`` and every read of the batch as one message; each read's rows."""
        cur.execute("; ".join(("BEGIN", *(q for q, _ in queries))), [p for _, params in queries for p in params])
        out = []
        for _ in queries:
            cur.nextset()  # the first result is BEGIN's
            out.append(cur.fetchall())
        return out

    def write(self, raw: Any, cur: Any, sql: WriteSQL, rows: WriteRows, after: Sequence[Query]) -> None:
        """The batch's rows in one statement, :data:`PG_WRITE_BATCH`, then ``after`` and ``COMMIT``: one message.

        psycopg's ``executemany`` runs the Python of a statement, and a wait on
        the socket, for every row (a batch of five strokes in five notes made
        fifteen), and its array parameters escape each text in Python. Each
        table's rows go as one JSON text, encoded and parsed in C.
        """
        statements = (PG_WRITE_BATCH, *(q for q, _ in after), "COMMIT")
        params = [*(_json.dumps(r) for r in rows), *(p for _, args in after for p in args)]
        cur.execute("; ".join(statements), params)

    def read_options(self) -> dict[str, Any]:
        return {"isolation_level": "REPEATABLE READ"}  # the note row and its items in one snapshot


#: Dialects by SQLAlchemy backend name.
DIALECTS: dict[str, type[Dialect]] = {"sqlite": SQLiteDialect, "postgresql": PostgresDialect}


def dialect_for(backend: str) -> Dialect:
    """The dialect of a SQLAlchemy backend name, or :class:`ConfigError`."""
    cls = DIALECTS.get(backend)
    if cls is None:
        raise ConfigError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return cls()
