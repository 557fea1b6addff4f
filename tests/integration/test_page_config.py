"""What the server tells its pages about the visitor: ``loginUrl`` (``COLLAB_LOGIN_URL``) and
``canCreate`` (the rule ``POST /api/notes`` applies), in one process with Flask's test client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from test_embedding_inproc import example, login

from collab import Collab
from collab.config import from_env
from collab.errors import ConfigError


def config_of(html: str) -> dict[str, Any]:
    m = re.search(r'<script id="collab-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page has no collab-config block"
    return dict(json.loads(m.group(1)))


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        app.extensions["collab"].close()


def plain(apps: list[Flask], tmp_path: Path, ext: Collab | None = None, **config: Any) -> Flask:
    app = Flask("plain")
    app.config.update(COLLAB_DATABASE=f"sqlite:///{tmp_path / 'c.db'}", COLLAB_ASYNC_MODE="threading", **config)
    (ext or Collab()).init_app(app)
    apps.append(app)
    return app


def test_by_default_pages_know_no_login_url_and_offer_new_note(apps: list[Flask], tmp_path: Path) -> None:
    web = plain(apps, tmp_path).test_client()
    for path in ("/", "/n/some-note"):
        cfg = config_of(web.get(path).get_data(as_text=True))
        assert cfg["loginUrl"] is None and cfg["canCreate"] is True
    assert 'id="new-note"' in web.get("/").get_data(as_text=True)
    assert web.post("/api/notes", json={}).status_code == 201


def test_a_visitor_who_may_not_create_is_offered_no_new_note(apps: list[Flask], tmp_path: Path) -> None:
    web = plain(apps, tmp_path, COLLAB_DEFAULT_ROLE="view").test_client()
    html = web.get("/").get_data(as_text=True)
    assert config_of(html)["canCreate"] is False
    assert 'id="new-note"' not in html and "Log in to create" not in html  # no login URL known
    assert web.post("/api/notes", json={}).status_code == 403  # the same rule as the API


def test_the_login_url_key_is_rendered_and_offered_instead_of_new_note(apps: list[Flask], tmp_path: Path) -> None:
    web = plain(apps, tmp_path, COLLAB_DEFAULT_ROLE="view", COLLAB_LOGIN_URL="/sso/login").test_client()
    html = web.get("/").get_data(as_text=True)
    assert config_of(html)["loginUrl"] == "/sso/login"
    assert re.search(r'<a id="log-in-to-create"[^>]*href="/sso/login"[^>]*>Log in to create</a>', html)
    assert config_of(web.get("/n/x").get_data(as_text=True))["loginUrl"] == "/sso/login"


def test_a_login_url_function_is_asked_for_each_page(apps: list[Flask], tmp_path: Path) -> None:
    def login_url() -> str:
        return "/login?" + json.dumps(request.path)

    web = plain(apps, tmp_path, ext=Collab(login_url=login_url, url_prefix="/wb")).test_client()
    assert config_of(web.get("/wb/n/team").get_data(as_text=True))["loginUrl"] == '/login?"/wb/n/team"'
    assert config_of(web.get("/wb/").get_data(as_text=True))["loginUrl"] == '/login?"/wb/"'


def test_a_login_url_that_is_no_url_is_a_configuration_error(apps: list[Flask], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COLLAB_LOGIN_URL"):
        plain(apps, tmp_path, COLLAB_LOGIN_URL=42)
    app = plain(apps, tmp_path / "..", ext=Collab(login_url=lambda: 42))
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(ConfigError, match="returned int"):
        app.test_client().get("/")


def test_the_login_url_is_read_from_the_environment() -> None:
    assert from_env({"COLLAB_LOGIN_URL": "https://sso.example/login"}) == {
        "COLLAB_LOGIN_URL": "https://sso.example/login"
    }
    assert from_env({"COLLAB_LOGIN_URL": ""}) == {"COLLAB_LOGIN_URL": None}


def test_the_example_site_offers_new_note_to_users_and_a_login_link_to_visitors(
    apps: list[Flask], tmp_path: Path
) -> None:
    app = example().create_app(
        {"SOCKETIO_ASYNC_MODE": "threading", "COLLAB_DATABASE": f"sqlite:///{tmp_path / 'h.db'}"}
    )
    app.config["TESTING"] = True
    apps.append(app)
    web = app.test_client()
    html = web.get("/whiteboard/").get_data(as_text=True)
    cfg = config_of(html)
    assert cfg["canCreate"] is False and cfg["loginUrl"] == "/login?next=/whiteboard/"
    assert 'id="new-note"' not in html and 'id="log-in-to-create"' in html
    assert web.post("/whiteboard/api/notes", json={}).status_code == 403
    note = config_of(web.get("/whiteboard/n/private-x?share=abc").get_data(as_text=True))
    assert note["loginUrl"] == "/login?next=/whiteboard/n/private-x?share%3Dabc"
    login(web)
    html = web.get("/whiteboard/").get_data(as_text=True)
    assert config_of(html)["canCreate"] is True and 'id="new-note"' in html
    assert web.post("/whiteboard/api/notes", json={}).status_code == 201
