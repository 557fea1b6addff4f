"""Shared fixtures: a real server per module, fresh note ids, service checks.

Tests that need PostgreSQL or Redis skip when the service is absent, unless
``COLLAB_REQUIRE_ALL=1`` (set by CI), where the missing service fails them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from serverproc import ServerProcess

PG_URL = os.environ.get("COLLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COLLAB_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRE_ALL = os.environ.get("COLLAB_REQUIRE_ALL") == "1"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    """Skip (or, under COLLAB_REQUIRE_ALL=1, fail) when a service does not answer."""
    if _answers(host, port):
        return
    msg = f"{name} does not answer on {host}:{port}"
    if REQUIRE_ALL:
        pytest.fail(f"{msg} and COLLAB_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(f"{msg} (start it, or run under CI which requires it)")  # COLLAB_REQUIRE_ALL turns this into a failure


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API leaves an asyncio loop running in the
    main thread for the rest of the session, where a later ``asyncio.run()`` would fail."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL of a fresh, empty PostgreSQL database of its own (dropped afterwards)."""
    need_service("PostgreSQL", "127.0.0.1", 5432)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from collab.store.sql import normalize_url

    admin_url = make_url(normalize_url(PG_URL))
    name = "collab_t_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    need_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server (gevent, SQLite) for the whole test module."""
    with ServerProcess(tmp_path_factory.mktemp("server")) as srv:
        yield srv


@pytest.fixture
def note_id() -> str:
    """A fresh note id nobody else uses."""
    return "t-" + uuid.uuid4().hex[:16]


@pytest.fixture
def tmp_server_dir(tmp_path: Path) -> Path:
    return tmp_path
