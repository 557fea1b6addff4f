"""The JSON HTTP API of the contract against the real server."""

from __future__ import annotations

import datetime as dt

import requests

from serverproc import ServerProcess
from sioclient import Peer, stroke


def test_create_list_read_rename_delete(server: ServerProcess) -> None:
    api = server.url + "/api/notes"
    r = requests.post(api, json={"title": "  Plans  "}, timeout=5)
    assert r.status_code == 201
    note = r.json()
    assert set(note) == {"id", "title", "seq", "strokes", "updated"}
    assert note["title"] == "Plans" and note["seq"] == 0 and note["strokes"] == 0
    assert dt.datetime.fromisoformat(note["updated"].replace("Z", "+00:00")).tzinfo is not None
    untitled = requests.post(api, timeout=5).json()
    assert untitled["title"] == "Untitled" and untitled["id"] != note["id"]
    listing = requests.get(api, timeout=5).json()
    assert [n["id"] for n in listing[:2]] == [untitled["id"], note["id"]]  # newest first
    p = Peer(server.url)
    p.call("join", {"note": note["id"]})
    p.call("stroke", stroke(note["id"], "s1"))
    p.close()
    listing = requests.get(api, timeout=5).json()
    assert listing[0]["id"] == note["id"] and listing[0]["strokes"] == 1 and listing[0]["seq"] == 1
    got = requests.get(f"{api}/{note['id']}", timeout=5).json()
    assert got["id"] == note["id"] and got["seq"] == 1 and got["strokes"][0]["id"] == "s1"
    assert got["strokes"][0]["seq"] == 1 and "peer" in got["strokes"][0]
    renamed = requests.patch(f"{api}/{note['id']}", json={"title": "Later"}, timeout=5)
    assert renamed.status_code == 200 and renamed.json()["title"] == "Later"
    assert requests.delete(f"{api}/{note['id']}", timeout=5).status_code == 204
    assert requests.get(f"{api}/{note['id']}", timeout=5).status_code == 404
    assert requests.delete(f"{api}/{note['id']}", timeout=5).status_code == 404


def test_errors_are_json_with_codes(server: ServerProcess) -> None:
    api = server.url + "/api/notes"

    def err(resp: requests.Response, status: int, code: str) -> None:
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        assert resp.json()["error"]["code"] == code and resp.json()["error"]["message"]

    err(requests.post(api, data="{nope", headers={"content-type": "application/json"}, timeout=5), 400, "bad_request")
    err(requests.post(api, data="title=x", headers={"content-type": "text/plain"}, timeout=5), 415, "bad_request")
    err(requests.post(api, json=["a"], timeout=5), 400, "bad_request")
    err(requests.post(api, json={"title": ""}, timeout=5), 400, "bad_request")
    err(requests.post(api, json={"title": "x" * 201}, timeout=5), 400, "bad_request")
    err(requests.post(api, json={"title": 5}, timeout=5), 400, "bad_request")
    err(requests.get(api + "/missing-note", timeout=5), 404, "not_found")
    err(requests.get(api + "/bad%20id", timeout=5), 404, "not_found")
    err(requests.get(api + "/x.gif", timeout=5), 404, "not_found")
    err(requests.patch(api + "/missing-note", json={"title": "x"}, timeout=5), 404, "not_found")
    err(requests.patch(api + "/missing-note", json={}, timeout=5), 400, "bad_request")
    err(requests.put(api, json={}, timeout=5), 405, "bad_request")
    err(requests.get(server.url + "/api/nothing-here", timeout=5), 404, "not_found")


def test_healthz(server: ServerProcess) -> None:
    r = requests.get(server.url + "/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_page_writes_behind_a_tls_proxy_pass_the_origin_check(server: ServerProcess) -> None:
    """The browser's origin is https://public-host; the proxy says so in X-Forwarded-*."""
    headers = {
        "Origin": "https://notes.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "notes.example.org",
    }
    r = requests.post(server.url + "/api/notes", json={"title": "behind TLS"}, headers=headers, timeout=5)
    assert r.status_code == 201
    forged = {**headers, "Origin": "https://evil.example"}
    assert requests.post(server.url + "/api/notes", json={}, headers=forged, timeout=5).status_code == 403


def test_http_bodies_are_capped(tmp_path) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_MAX_MESSAGE_BYTES": "2000"}) as srv:
        r = requests.post(srv.url + "/api/notes", json={"title": "x" * 5000}, timeout=5)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert requests.post(srv.url + "/api/notes", json={"title": "fits"}, timeout=5).status_code == 201


def test_metrics_include_process_figures(server: ServerProcess) -> None:
    text = requests.get(server.url + "/metrics", timeout=5).text
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text
