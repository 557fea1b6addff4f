"""A database made by collab 0.1.0 (schema 1) is upgraded on start, on SQLite and PostgreSQL.

The fixtures under ``tests/fixtures/v1`` were made by the v1 server itself;
the real server of today starts on them and clients use what they held.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, inspect, text

from collab.ops import NoteState
from collab.store.sql import normalize_url

from serverproc import ServerProcess
from sioclient import Peer, stroke

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "v1"
#: What the v1 fixture holds (see tests/fixtures/v1/README.md).
ALPHA_LIVE = ["a0", "a2", "a3", "a4", "h1"]


def sqlite_v1(tmp_path: Path) -> str:
    db = tmp_path / "v1.db"
    con = sqlite3.connect(db)
    con.executescript((V1 / "sqlite.sql").read_text())
    con.close()
    return f"sqlite:///{db}"


def postgres_v1(pg_url: str) -> str:
    if shutil.which("psql") is None:
        msg = "psql is not installed (PostgreSQL's client loads the v1 dump)"
        if os.environ.get("COLLAB_REQUIRE_ALL") == "1":
            pytest.fail(msg + " and COLLAB_REQUIRE_ALL=1", pytrace=False)
        pytest.skip(msg)  # COLLAB_REQUIRE_ALL turns this into a failure
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(V1 / "postgresql.sql")],
        check=True,
        capture_output=True,
    )
    return pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def v1_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_v1(tmp_path)
    return postgres_v1(request.getfixturevalue("pg_url"))


def test_a_v1_database_is_upgraded_on_start_and_keeps_everything(tmp_path: Path, v1_database: str) -> None:
    with ServerProcess(tmp_path, database=v1_database) as srv:
        assert "upgraded the database" in srv.log_path.read_text()
        notes = {n["id"]: n for n in requests.get(f"{srv.url}/api/notes", timeout=5).json()}
        assert notes["alpha"]["title"] == "Alpha — v1 ✓" and notes["alpha"]["seq"] == 7
        assert notes["alpha"]["strokes"] == 5 and notes["beta"]["strokes"] == 1
        p = Peer(srv.url)
        try:
            alpha = p.call("join", {"note": "alpha"})
            assert [s["id"] for s in alpha["strokes"]] == ALPHA_LIVE
            assert alpha["note"]["epoch"]
            h1 = alpha["strokes"][-1]
            assert h1["tool"] == "highlighter" and h1["seq"] == 6 and h1["width"] == 20 and h1["peer"]
            # the whole v1 log replays to the same state, every op with its payload
            ops = p.call("join", {"note": "alpha", "since": 0})["ops"]
            assert [o["seq"] for o in ops] == list(range(1, 8))
            assert NoteState.replay(ops).listing() == alpha["strokes"]
            # what v1 removed or cleared can be restored, as it was
            assert p.call("restore", {"note": "alpha", "ids": ["a1"]}) == {"ok": True, "seq": 8, "ids": ["a1"]}
            beta = p.call("join", {"note": "beta"})
            assert p.call("restore", {"note": "beta", "ids": ["b0"]})["ids"] == ["b0"]
            assert p.call("stroke", stroke("beta", "b1"))["duplicate"] is True  # ids stay taken
            assert p.call("stroke", stroke("beta", "b2"))["seq"] == beta["seq"] + 2
            history = requests.get(f"{srv.url}/api/notes/beta", params={"at": 1}, timeout=5).json()
            assert [s["id"] for s in history["strokes"]] == ["b0"]
        finally:
            p.close()
    with ServerProcess(tmp_path, database=v1_database) as srv:  # a second start changes nothing
        assert "upgraded the database" not in srv.log_path.read_text()
    engine = create_engine(normalize_url(v1_database))
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"collab_items", "collab_log", "collab_files"} <= tables
        assert not {"collab_strokes", "collab_ops"} & tables
        with engine.connect() as conn:
            version = conn.execute(text("SELECT value FROM collab_meta WHERE key = 'schema_version'")).scalar()
        assert version == "2"
    finally:
        engine.dispose()


def test_a_failed_upgrade_leaves_the_v1_database_as_it_was(tmp_path: Path) -> None:
    """The upgrade is one transaction: break it half-way and nothing of it stays."""
    url = sqlite_v1(tmp_path)
    db = url.removeprefix("sqlite:///")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO collab_strokes VALUES ('alpha', 'bad', 99, 'p', 1, 'not json')")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError), ServerProcess(tmp_path, database=url):
        pass
    con = sqlite3.connect(db)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"collab_strokes", "collab_ops"} <= tables and "collab_items" not in tables
        assert con.execute("SELECT value FROM collab_meta WHERE key = 'schema_version'").fetchone() == ("1",)
    finally:
        con.close()
