"""No secrets in the logs: the database password, share tokens and the signing secret never appear.

The server runs on PostgreSQL with a password in its database URL (trust
authentication ignores it, but it is in the URL the server was given), mints a
share link, and is then used with that token over the socket and over HTTP,
including refusals of many kinds. Afterwards not one log line may contain the
password, the token (or its signature) or the secret the tokens are signed with.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import socketio
from sqlalchemy.engine import make_url

from collab.store import open_store

from serverproc import ServerProcess, free_port
from sioclient import NS, Peer, stroke

PASSWORD = "SuperSecretPw123"


def with_password(url: str) -> str:
    """``url`` with :data:`PASSWORD` as its password."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def exercise(srv: ServerProcess, note: str) -> str:
    """Use the server with a share token, make it refuse things; return the token."""
    url = srv.url
    owner = Peer(url, auth={"name": "owner"})
    assert owner.call("join", {"note": note})["ok"]
    assert owner.call("stroke", stroke(note, "s1"))["ok"]
    minted = requests.post(f"{url}/api/notes/{note}/share", json={"role": "edit"}, timeout=10)
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]

    # the token over the socket: accepted, then refusals of every kind
    guest = Peer(url, auth={"name": "guest", "token": token})
    assert guest.call("join", {"note": note})["role"] == "edit"
    assert guest.call("stroke", stroke(note, "s2"))["ok"]
    assert guest.call("stroke", {"note": note, "id": "s3"})["error"]["code"] == "bad_request"
    assert guest.call("remove", {"note": note, "id": "nope"})["error"]["code"] == "not_found"
    assert guest.call("clear", {"note": "not-joined"})["error"]["code"] == "not_joined"
    assert guest.call("no-such-event", {"token": token})["error"]["code"] == "bad_request"
    guest.close()
    # a tampered token and a malformed auth: connections refused
    for auth in ({"token": token[:-3] + "xyz"}, {"token": token, "color": "red"}, {"token": token * 200}):
        sio = socketio.Client(reconnection=False)
        try:
            sio.connect(url, namespaces=[NS], transports=["websocket"], auth=auth, wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            pass
        finally:
            sio.disconnect()

    # the token over HTTP: header, query string of the page, refusals
    hdr = {"X-Collab-Token": token}
    assert requests.get(f"{url}/api/notes/{note}", headers=hdr, timeout=10).status_code == 200
    assert requests.get(f"{url}/n/{note}", params={"share": token}, timeout=10).status_code == 200
    assert requests.get(f"{url}/api/notes/{note}.svg", params={"share": token}, timeout=10).status_code == 200
    refused = [
        requests.patch(f"{url}/api/notes/{note}", data="title=x", headers={**hdr, "Content-Type": "text/plain"}),
        requests.patch(f"{url}/api/notes/{note}", json={"title": 5}, headers=hdr),
        requests.post(f"{url}/api/notes/{note}/share", json={"role": "x"}, headers=hdr),
        requests.delete(f"{url}/api/notes/{note}", headers={**hdr, "Origin": "https://evil.example"}),
        requests.get(f"{url}/api/notes/nope-{note}", headers=hdr),
    ]
    assert all(400 <= r.status_code < 500 for r in refused), [r.status_code for r in refused]
    owner.close()
    return token


@pytest.mark.parametrize(
    ("level", "fmt"),
    [
        ("info", "text"),
        ("info", "json"),
        ("debug", "text"),
    ],
)
def test_no_password_token_or_secret_in_logs(tmp_path: Path, pg_url: str, note_id: str, level: str, fmt: str) -> None:
    database = with_password(pg_url)
    srv = ServerProcess(
        tmp_path, database=database, env={"COLLAB_TEST_LOG_LEVEL": level}, args=["--log-format", fmt]
    ).start()
    try:
        token = exercise(srv, note_id)
    finally:
        srv.stop()
    store = open_store(pg_url)
    secret = store.secret()
    store.close()
    log = srv.log_path.read_text(errors="replace")
    assert "refused" in log and "connect sid=" in log  # the log did record the refusals and connections
    signature = token.rsplit(".", 1)[-1]
    for name, value in (("password", PASSWORD), ("token", token), ("token signature", signature), ("secret", secret)):
        assert value not in log, f"the {name} appears in the {level} log:\n" + "\n".join(
            line for line in log.splitlines() if value in line
        )


def test_unreachable_database_error_hides_the_password(tmp_path: Path) -> None:
    """A server that cannot reach its database says so without printing the URL's password."""
    database = f"postgresql://collab:{PASSWORD}@127.0.0.1:{free_port()}/collab"
    srv = ServerProcess(tmp_path, database=database, args=["--log-format", "json"])
    with pytest.raises(RuntimeError, match="exited"):
        srv.start(timeout=60)
    log = srv.log_path.read_text(errors="replace")
    assert "127.0.0.1" in log or "connect" in log.lower(), log  # it did explain what failed
    assert PASSWORD not in log, log
