"""Start-up helpers of ``python app.py`` (collab.server)."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from collab.server import freeze_startup_objects, keep_big_buffers, listener, prefer_psycopg_c_wait

ROOT = Path(__file__).resolve().parents[2]


def test_listener_sets_nodelay_for_every_accepted_socket() -> None:
    srv = listener("127.0.0.1", 0)
    try:
        client = socket.create_connection(srv.getsockname())
        conn, _ = srv.accept()
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        conn.close()
        client.close()
    finally:
        srv.close()


def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # objects made after start-up are still collected
    finally:
        gc.unfreeze()


def test_under_gevent_psycopg_waits_with_its_c_function_in_collab_server() -> None:
    """collab's own server queries PostgreSQL from threads only: the gevent-aware wait is pure overhead there."""
    pytest.importorskip("psycopg")
    code = (
        "import os, sys\n"
        "from collab.server import patch_for\n"
        "patch_for('gevent')\n"
        "import psycopg.waiting as w\n"
        "print(os.environ.get('PSYCOPG_WAIT_FUNC'), getattr(w, 'wait_c', None) is not None and w.wait is w.wait_c)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PSYCOPG_WAIT_FUNC"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    chosen, in_use = out.stdout.split()
    if chosen == "None":  # no C implementation at psycopg's version, or psycopg older than 3.2
        assert in_use == "False"
    else:
        assert (chosen, in_use) == ("wait_c", "True")


def test_an_explicit_psycopg_wait_func_is_kept() -> None:
    env = {"PSYCOPG_WAIT_FUNC": "wait_poll"}
    assert prefer_psycopg_c_wait(env) is False and env == {"PSYCOPG_WAIT_FUNC": "wait_poll"}


def test_big_buffers_are_kept_for_reuse_on_glibc_unless_the_environment_says_otherwise() -> None:
    import platform

    if platform.libc_ver()[0] != "glibc":
        assert keep_big_buffers({}) is False  # musl, macOS: nothing to set
        return
    assert keep_big_buffers({}) is True  # mallopt accepted both settings
    assert keep_big_buffers({"MALLOC_TRIM_THRESHOLD_": "1000000"}) is False  # glibc read the user's already
