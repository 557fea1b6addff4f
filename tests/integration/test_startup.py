"""Start-up failures: one line ``collab: <what went wrong> (<how to fix it>)``, no traceback, and the exit code.

2 a usage error (a bad option or environment value), 3 a configuration that cannot
work (a database that cannot be opened, a refused library version), 1 the machine's
state (the port is in use). README.md, "Exit codes", documents them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from serverproc import ROOT, free_port


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None, code: str | None = None) -> tuple[int, str]:
    """Run ``python app.py ARGS`` (or ``code``) in ``tmp_path``; its exit code and stderr."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, str(ROOT / "app.py"), *args]
    proc = subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_bad_port_in_the_environment_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, env={"COLLAB_PORT": "abc"})
    assert code == 2
    assert one_line(err) == "collab: COLLAB_PORT must be a port number, got 'abc' (use a number such as 5000)"


def test_a_bad_port_option_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, "--port", "70000")
    assert code == 2
    assert one_line(err) == "collab: --port must be a port number, got '70000' (use a number such as 5000)"


def test_an_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, "--bogus")
    assert code == 2
    assert one_line(err) == "collab: unrecognized arguments: --bogus (see app.py --help)"


def test_a_bad_choice_in_the_environment_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, env={"COLLAB_ASYNC_MODE": "asyncio"})
    assert code == 2
    assert one_line(err) == (
        "collab: COLLAB_ASYNC_MODE must be one of gevent, eventlet, threading, got 'asyncio' "
        "(set COLLAB_ASYNC_MODE=gevent or unset it)"
    )


def test_a_bad_setting_value_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, env={"COLLAB_MAX_POINTS": "many"})
    assert code == 2
    assert one_line(err) == (
        "collab: environment variable COLLAB_MAX_POINTS: invalid literal for int() with base 10: 'many' "
        "(fix or unset it; see docs/configuration.md)"
    )


def test_a_bad_access_log_switch_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, env={"COLLAB_ACCESS_LOG": "maybe"})
    assert code == 2
    assert one_line(err) == (
        "collab: COLLAB_ACCESS_LOG must be true or false, got 'maybe' (set COLLAB_ACCESS_LOG=false or unset it)"
    )


def test_a_bad_patches_switch_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, env={"COLLAB_PATCHES": "some"})
    assert code == 2
    assert one_line(err) == (
        "collab: COLLAB_PATCHES must be on, fixes or off, got 'some' (unset it to install every patch)"
    )


def test_an_unsupported_database_url_is_a_usage_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, "--database", "mysql://db/collab", "--port", str(free_port()))
    assert code == 2
    assert one_line(err) == (
        "collab: unsupported database URL 'mysql://db/collab' (use sqlite:///path/to/file.db or postgresql://user@host/dbname)"
    )


def test_a_database_that_cannot_be_opened_is_a_configuration_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/dir/collab.db"
    code, err = start(tmp_path, "--database", url, "--port", str(free_port()))
    assert code == 3
    assert one_line(err) == (
        f"collab: cannot open the database {url}: OperationalError: (sqlite3.OperationalError) unable to open "
        "database file (check that the file's directory exists and is writable, or that the database server "
        "runs and accepts this URL's user; --database or COLLAB_DATABASE)"
    )


def test_a_message_queue_with_sqlite_is_a_configuration_error(tmp_path: Path) -> None:
    code, err = start(tmp_path, "--message-queue", "redis://127.0.0.1:6379/0", "--port", str(free_port()))
    assert code == 3
    assert one_line(err) == (
        "collab: a message queue means several server processes, and they must share one database: "
        "set COLLAB_DATABASE=postgresql://... (a SQLite file cannot be shared safely)"
    )


def test_a_port_in_use_is_a_runtime_error_and_nothing_claims_to_serve(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = start(tmp_path, "--port", str(port))
    assert code == 1
    assert one_line(err) == (
        f"collab: cannot listen on 127.0.0.1:{port}: the port is in use "
        "(stop the other server, or choose another port with --port or COLLAB_PORT)"
    )
    assert not (tmp_path / "collab.db").exists()  # refused before anything was opened


def test_a_refused_library_version_is_a_configuration_error(tmp_path: Path) -> None:
    """A fix whose target changed (here: engineio's poll replaced before start-up) refuses to start."""
    code = (
        "import sys; from engineio import socket as s; s.Socket.poll = lambda self: []; "
        "from collab.server import main; sys.argv[0] = 'app.py'; main(sys.argv[1:])"
    )
    status, err = start(tmp_path, "--port", str(free_port()), "--async-mode", "threading", code=code)
    assert status == 3
    line = one_line(err)
    assert line.startswith("collab: python-engineio ") and "is not a version collab was tested with" in line
    assert "engineio.socket:Socket.poll changed (its source cannot be read)" in line
    assert line.endswith(
        "(install a tested version: pip install 'python-engineio>=4.11.0,<4.16'; "
        "or set COLLAB_PATCHES=off to start without collab's patches)"
    )


@pytest.mark.slow
def test_gunicorn_reports_a_database_that_cannot_be_opened_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_")}
    env["COLLAB_DATABASE"] = f"sqlite:///{tmp_path}/missing/dir/collab.db"
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--bind", f"127.0.0.1:{free_port()}"]
    proc = subprocess.run(
        [*cmd, "--chdir", str(ROOT), "wsgi:app"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 3, proc.stderr  # gunicorn: a worker that failed to boot
    assert "Traceback" not in proc.stderr
    assert "collab: cannot open the database" in proc.stderr
