"""Every shell command of README.md, docs/embedding.md and docs/deploy.md, run in a fresh virtualenv.

The checkout's files are copied to a directory of their own (a clone, without .git),
``python -m venv`` makes an empty virtualenv (no system site-packages), and the README's
first command installs into it with pip (pip's cache makes that quick). Then each
documented command runs as written, with only these substitutions: a free port for the
documented one, a temporary directory for ``/var/lib/collab``, the copy for
``/path/to/collab``, the test PostgreSQL database for ``postgresql://user@db/collab`` and
``127.0.0.1`` for ``0.0.0.0``. A server must answer ``/healthz`` and take a Socket.IO
connection over WebSocket and long-polling, and stop cleanly on SIGTERM.

The wheel's recipes run from a second fresh virtualenv, outside the copy. Commands
that need services of their own (several processes behind nginx) or are the developers'
tools are listed in :data:`ELSEWHERE` with the test or CI step that runs them;
:func:`test_every_documented_command_is_checked` fails on a documented command that is
in neither list, so a new recipe cannot go untested.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import socketio

from serverproc import ROOT, free_port

pytestmark = pytest.mark.slow

DOCS = ("README.md", "docs/embedding.md", "docs/deploy.md")

#: Documented commands checked elsewhere, and where.
ELSEWHERE = {
    "bash scripts/setup-dev.sh && python3 -m pytest": ".ci/run runs it as CI's test command",
    "bash scripts/setup-dev.sh": ".ci/run",
    "python3 -m pytest": ".ci/run",
    "python3 -m pytest tests/integration/test_socket.py -k polling": "a developer's example; it runs in CI",
    "python3 -m pytest tests/unit": "the fast layer; it runs in CI as part of the whole suite",
    "python3 -m ruff check . && python3 -m ruff format --check . && python3 -m mypy": ".ci/run",
    "python -m pytest tests/integration/test_embedding.py tests/integration/test_embedding_inproc.py "  # one command
    "tests/e2e/test_example_site.py -q": ("these tests run in CI"),
    "export COLLAB_DATABASE=postgresql://collab@127.0.0.1/collab": "several processes: tests/integration/test_nginx.py",
    "export COLLAB_MESSAGE_QUEUE=redis://127.0.0.1:6379/0": "several processes: tests/integration/test_nginx.py",
    "deploy/run-cluster.sh 3 5001": "several processes behind nginx: tests/integration/test_nginx.py",
    'nginx -c "$PWD/deploy/nginx.conf"': "several processes behind nginx: tests/integration/test_nginx.py",
}


def documented_commands() -> list[tuple[str, str]]:
    """``(doc, command)`` for every command line of a ``sh`` block (continuations joined, comments cut)."""
    found = []
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#\s.*$", "", line).strip()
                line = re.sub(r"\s+", " ", line)
                if line and not line.startswith("#"):
                    found.append((doc, line))
    return found


# -- the virtualenvs ------------------------------------------------------------------------------


@dataclass
class Env:
    """A fresh virtualenv and the directory commands run in."""

    venv: Path
    cwd: Path
    tmp: Path

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COLLAB_", "VIRTUAL_ENV", "PYTHON"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        return env

    def run(self, command: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command],
            cwd=cwd or self.cwd,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def copy_checkout(dest: Path) -> Path:
    """The checkout's files as a clone has them (tracked and new, not ignored), without .git."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        src = ROOT / name.decode()
        if src.is_file() and not name.startswith(b"bench/node_modules"):
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The copy, with the README's install command run in a fresh venv."""
    base = tmp_path_factory.mktemp("docs-clone")
    env = Env(fresh_venv(base / "venv"), copy_checkout(base / "collab"), base)
    done = env.run("pip install -r requirements.txt -e .")
    assert done.returncode == 0, done.stderr[-3000:]
    yield env


@pytest.fixture(scope="module")
def wheel(clone: Env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """A second fresh venv with the package installed from the copy (not editable), run elsewhere."""
    base = tmp_path_factory.mktemp("docs-wheel")
    (base / "work").mkdir()
    env = Env(fresh_venv(base / "venv"), base / "work", base)
    done = env.run(f'pip install "{clone.cwd}[server]" flask-login')
    assert done.returncode == 0, done.stderr[-3000:]
    yield env


# -- running a documented server ------------------------------------------------------------------


def substitute(command: str, env: Env, port: int, clone_dir: Path, pg: str | None = None) -> str:
    (env.tmp / "var-lib-collab").mkdir(exist_ok=True)
    out = command.replace("/var/lib/collab/", f"{env.tmp}/var-lib-collab/")
    out = out.replace("/path/to/collab", str(clone_dir))
    out = re.sub(r"127\.0\.0\.1:50\d\d", f"127.0.0.1:{port}", out)
    out = re.sub(r"--port \d+", f"--port {port}", out)
    out = out.replace("--host 0.0.0.0", "--host 127.0.0.1")
    if pg is not None:
        out = out.replace("postgresql://user@db/collab", pg)
    return out


def serve_and_check(env: Env, command: str, port: int, prefix: str = "", cwd: Path | None = None) -> str:
    """Start ``command``, check it serves, SIGTERM it; its output."""
    log = env.tmp / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", command if "&&" in command else re.sub(r"^((?:\w+=\S+\s+)*)", r"\1exec ", command)],
            cwd=cwd or env.cwd,
            env=env.environ(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                assert proc.poll() is None, f"{command} exited {proc.returncode}:\n{log.read_text()[-3000:]}"
                try:
                    if requests.get(f"{url}{prefix}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail(f"{command} did not serve:\n{log.read_text()[-3000:]}")
            for transport in ("websocket", "polling"):
                sio = socketio.Client(reconnection=False)
                try:
                    sio.connect(url, namespaces=["/notes"], transports=[transport], wait_timeout=10)
                    assert sio.transport() == transport
                    ack = sio.call("join", {"note": "docs-check"}, namespace="/notes", timeout=10)
                    # answered: collab's own server creates the note; the example refuses visitors that
                    assert ack["ok"] or (prefix and ack["error"]["code"] == "not_found"), ack
                finally:
                    sio.disconnect()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert proc.returncode in (0, -signal.SIGTERM), f"{command} exited {proc.returncode}:\n{text[-3000:]}"
    return text


def cli(clone: Env, port: int) -> None:
    """The README's command-line examples, against the README's server."""
    url = "http://127.0.0.1:5000"
    (clone.tmp / "drawing.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0 L40 30 L80 10" stroke="#1971c2"/></svg>'
    )
    log = clone.tmp / "cli-server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["python", "app.py", "--port", str(port), "--database", f"sqlite:///{clone.tmp}/cli.db"],
            cwd=clone.cwd,
            env=clone.environ(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            here = url.replace("5000", str(port))
            for command in (
                f"collab import {here} standup drawing.svg",
                f"collab notes {here}",
                f"collab export {here} standup -o standup.png",
            ):
                done = clone.run(command, timeout=60, cwd=clone.tmp)
                assert done.returncode == 0, f"{command}: {done.stderr}"
            assert (clone.tmp / "standup.png").read_bytes()[:4] == b"\x89PNG"
            watch = clone.run(f"timeout 3 collab watch {here} standup", timeout=30, cwd=clone.tmp)
            assert watch.returncode == 124, watch.stderr  # still watching when stopped
        finally:
            proc.terminate()
            proc.wait(30)


# -- what each documented command is checked by ------------------------------------------------------


GWS = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
DB = "COLLAB_DATABASE=sqlite:////var/lib/collab/collab.db"
EXAMPLE = "--pythonpath examples/host_site 'app:create_app()'"

#: Documented command -> how it is checked: "clone" (served from the copy's venv), "wheel"
#: (served from the wheel's venv, outside the copy), "example" (the wheel's venv, in the copy,
#: under /whiteboard), "cli" (the README's command-line examples, all at once), "installed"
#: (the fixtures run it).
CHECKS: dict[str, str] = {
    "pip install -r requirements.txt -e . && python app.py": "clone",
    "pip install -r requirements.txt -e .": "installed",
    "python app.py --host 0.0.0.0 --port 8000 --database postgresql://user@db/collab --async-mode gevent": "clone",
    "collab notes http://127.0.0.1:5000": "cli",
    "collab export http://127.0.0.1:5000 standup -o standup.png": "installed",  # by "collab notes"
    "collab import http://127.0.0.1:5000 standup drawing.svg": "installed",  # by "collab notes"
    "collab watch http://127.0.0.1:5000 standup": "installed",  # by "collab notes"
    f"{DB} gunicorn -k gevent -w 1 --bind 127.0.0.1:5000 wsgi:app": "clone",
    f"{DB} gunicorn -k {GWS} -w 1 --bind 127.0.0.1:5000 wsgi:app": "clone",
    f"gunicorn -k {GWS} -w 1 --bind 127.0.0.1:5000 wsgi:app": "clone",
    'pip install "/path/to/collab[server]"': "installed",
    "pip install flask-login": "installed",
    "gunicorn -k gevent -w 1 --bind 127.0.0.1:5000 'collab.server:wsgi_app()'": "wheel",
    "gunicorn -k gevent -w 1 --bind 127.0.0.1:5000 'collab:create_app()'": "wheel",
    f"{DB} gunicorn -k gevent -w 1 --bind 127.0.0.1:5000 'collab.server:wsgi_app()'": "wheel",
    f"{DB} gunicorn -k gevent -w 1 --bind 127.0.0.1:5000 'collab:create_app()'": "wheel",
    "python examples/host_site/app.py --port 5001": "example",
    f"gunicorn -k {GWS} -w 1 --bind 127.0.0.1:5001 {EXAMPLE}": "example",
}


def check(command: str, clone: Env, wheel: Env, port: int, pg: str | None) -> None:
    how = CHECKS[command]
    if how == "clone":
        if command.endswith("&& python app.py"):
            command += " --port 5000"
        serve_and_check(clone, substitute(command, clone, port, clone.cwd, pg), port)
    elif how == "wheel":
        serve_and_check(wheel, substitute(command, wheel, port, clone.cwd), port)
    elif how == "example":
        serve_and_check(wheel, substitute(command, wheel, port, clone.cwd), port, "/whiteboard", cwd=clone.cwd)
    elif how == "cli":
        cli(clone, port)


def test_every_documented_command_is_checked() -> None:
    unknown = [(doc, cmd) for doc, cmd in documented_commands() if cmd not in CHECKS and cmd not in ELSEWHERE]
    assert not unknown, "documented commands nobody runs (add them to CHECKS or ELSEWHERE):\n" + "\n".join(
        f"{doc}: {cmd}" for doc, cmd in unknown
    )


def test_the_install_makes_collab_importable_and_its_command_available(clone: Env) -> None:
    done = clone.run("cd / && python -c 'import collab, sys; print(collab.__version__)' && collab --help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0.") and "usage: collab" in done.stdout
    freeze = clone.run("pip freeze").stdout.lower()
    assert "packaging==" in freeze and "gunicorn==" in freeze  # gunicorn's gevent workers import packaging


def test_the_wheel_brings_the_server_extra_and_no_checkout(wheel: Env) -> None:
    done = wheel.run("python -c 'import collab, gunicorn, packaging, sys; print(collab.__file__)'")
    assert done.returncode == 0, done.stderr
    assert "site-packages" in done.stdout
    assert not (wheel.cwd / "wsgi.py").exists()


@pytest.mark.parametrize(
    "command", sorted({cmd for _, cmd in documented_commands() if CHECKS.get(cmd, "installed") != "installed"})
)
def test_documented_command_works_in_a_fresh_venv(
    command: str, clone: Env, wheel: Env, request: pytest.FixtureRequest
) -> None:
    pg = request.getfixturevalue("pg_url") if "postgresql://user@db" in command else None
    check(command, clone, wheel, free_port(), pg)
