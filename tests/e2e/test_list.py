"""The note list in Chromium, with the app mounted under a URL prefix (/whiteboard)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pagekit import Console, Opener, draw, shot, wait_connected, wait_for

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

PREFIX = "/whiteboard"
EVIL = '<img src=x id="pwned">& "quotes" </title><script>window.pwned=1</script>'


class PrefixedServer(ServerProcess):
    """The server with COLLAB_URL_PREFIX; ``url`` includes the prefix (so /healthz is found under it)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with PrefixedServer(tmp_path_factory.mktemp("prefixed"), env={"COLLAB_URL_PREFIX": PREFIX}) as srv:
        yield srv


def test_create_draw_rename_delete(prefixed: ServerProcess, opener: Opener, console: Console, artifacts: Path) -> None:
    base = prefixed.url
    api = base + "/api/notes"
    older = requests.post(api, json={"title": "Older note " + uuid.uuid4().hex[:6]}, timeout=10).json()
    page = opener.page(base + "/", "Ada", wait=False)
    page.wait_for_selector(f"li.card[data-note='{older['id']}']")

    # Create a note whose title is markup: it is shown as text, everywhere.
    page.click("#new-note")
    page.fill("dialog[open] input", EVIL)
    page.click("dialog[open] button[value=ok]")
    page.wait_for_url(f"{base}/n/*")
    wait_connected(page)
    note = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#title") == EVIL
    draw(page, [(300, 300), (500, 340)])
    wait_connected(page)

    page.click("#home")
    page.wait_for_selector(f"li.card[data-note='{note}'] img")
    cards = page.locator("li.card")
    assert cards.first.get_attribute("data-note") == note  # newest first
    first = cards.first
    assert first.locator(".card-title").inner_text() == EVIL
    assert "1 item" in first.locator(".card-meta").inner_text()
    wait_for(
        page, "() => { const i = document.querySelector('li.card img'); return i.complete && i.naturalWidth > 0; }"
    )
    assert page.locator("#pwned").count() == 0 and page.evaluate("window.pwned") is None
    shot(page, artifacts, "list")

    # Rename.
    first.locator("[data-action=rename]").click()
    page.fill("dialog[open] input", "Floor plan")
    page.click("dialog[open] button[value=ok]")
    page.wait_for_selector(f"li.card[data-note='{note}'] .card-title:text-is('Floor plan')")
    assert requests.get(f"{api}/{note}", timeout=10).json()["title"] == "Floor plan"

    # Delete asks first; cancelling keeps the note.
    card = page.locator(f"li.card[data-note='{note}']")
    card.locator("[data-action=delete]").click()
    page.click("dialog[open] button[value=cancel]")
    assert requests.get(f"{api}/{note}", timeout=10).status_code == 200
    card.locator("[data-action=delete]").click()
    assert "Floor plan" in page.inner_text("dialog[open] h2")
    page.click("dialog[open] button[value=ok]")
    page.wait_for_selector(f"li.card[data-note='{note}']", state="detached")
    assert requests.get(f"{api}/{note}", timeout=10).status_code == 404
    assert page.locator(f"li.card[data-note='{older['id']}']").count() == 1
    console.assert_clean()


def test_a_deleted_note_shows_a_message_instead_of_the_board(
    prefixed: ServerProcess, opener: Opener, console: Console
) -> None:
    base = prefixed.url
    note = requests.post(base + "/api/notes", json={"title": "Doomed"}, timeout=10).json()["id"]
    page = opener.page(f"{base}/n/{note}", "Bob")
    assert page.inner_text("#title") == "Doomed"
    requests.patch(f"{base}/api/notes/{note}", json={"title": "Renamed elsewhere"}, timeout=10).raise_for_status()
    wait_for(page, "() => document.getElementById('title').textContent === 'Renamed elsewhere'")
    requests.delete(f"{base}/api/notes/{note}", timeout=10).raise_for_status()
    page.wait_for_selector("#gone:has-text('This note was deleted')")
    assert not page.is_visible("#stage") and not page.is_visible("#toolbar")
    page.click("#gone a:has-text('All notes')")
    page.wait_for_url(base + "/", timeout=15_000)
    assert requests.get(f"{base}/api/notes/{note}", timeout=10).status_code == 404  # not re-created by a re-join
    console.assert_clean()
