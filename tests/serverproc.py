"""Start the real collab server in a subprocess on a free port, for tests.

with ServerProcess(tmp_path, async_mode="gevent") as srv:
    client.connect(srv.url, namespaces=["/notes"])
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python app.py`` on a free port; ``url``, ``stop()``, ``kill()``, ``restart()``."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        async_mode: str = "gevent",
        database: str | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        args: list[str] | None = None,
        prefix: str = "",
    ) -> None:
        self.tmp_path = Path(tmp_path)
        self.async_mode = async_mode
        self.database = database or f"sqlite:///{self.tmp_path / 'collab.db'}"
        self.env = dict(env or {})
        self.port = port or free_port()
        self.args = list(args or [])
        #: ``COLLAB_URL_PREFIX`` of the server; ``/healthz`` lives under it.
        self.prefix = prefix.rstrip("/")
        if self.prefix:
            self.env.setdefault("COLLAB_URL_PREFIX", self.prefix)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.tmp_path / f"server-{self.port}.log"
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts the server (subclasses start other apps)."""
        return [
            sys.executable,
            str(ROOT / "app.py"),
            "--port", str(self.port),
            "--database", self.database,
            "--async-mode", self.async_mode,
            "--log-level", os.environ.get("COLLAB_TEST_LOG_LEVEL", "info"),
            *self.args,
        ]  # fmt: skip

    @property
    def health_path(self) -> str:
        """The path answering 200 once the server is ready."""
        return self.prefix + "/healthz"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        cmd = self.command()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(cmd, cwd=self.tmp_path, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + self.health_path, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not answer {self.health_path} within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        if self._log:
            self._log.close()
        return code

    def kill(self) -> None:
        """SIGKILL: no goodbye, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        if self._log:
            self._log.close()

    def restart(self) -> ServerProcess:
        """Start again on the same port and database."""
        return self.start()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def fill(srv: ServerProcess, note: str, strokes: int, points: int = 32) -> None:
    """Add ``strokes`` items to ``note`` straight through the store (fast)."""
    from collab.model import OpRequest
    from collab.store import open_store

    store = open_store(srv.database)
    try:
        store.create(note, note)
        pts = [[i * 10.25, i * 3.5] for i in range(points)]
        body = {"tool": "pen", "color": "#123456", "width": 2, "points": pts}
        reqs = [OpRequest(note, "stroke", "filler", body={"id": f"s{i}", **body}) for i in range(strokes)]
        store.apply(reqs)
    finally:
        store.close()


#: The example host site (examples/host_site) and the share-link secret tests give it.
EXAMPLE = ROOT / "examples" / "host_site" / "app.py"
EXAMPLE_SECRET = "test-embedding-share-secret"


class HostSite(ServerProcess):
    """``python examples/host_site/app.py`` on a free port (the example site, gevent)."""

    def command(self) -> list[str]:
        return [sys.executable, str(EXAMPLE), "--port", str(self.port), "--database", self.database]

    health_path = "/whiteboard/healthz"

    def __init__(self, tmp_path: Path, **kwargs: Any) -> None:
        super().__init__(tmp_path, **kwargs)
        self.env.setdefault("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.env.setdefault("COLLAB_EXAMPLE_SECRET_KEY", EXAMPLE_SECRET)
