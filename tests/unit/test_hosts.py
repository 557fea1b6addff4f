"""collab.hosts: the Host allow-list, as pure functions."""

from __future__ import annotations

import pytest

from collab.hosts import allowed, host_name


@pytest.mark.parametrize(
    ("header", "name"),
    [("Notes.Example.com:8443", "notes.example.com"), ("[::1]:5000", "[::1]"), ("127.0.0.1", "127.0.0.1"), (None, "")],
)
def test_the_host_name_drops_the_port_and_case(header: str | None, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("notes.example.com", True),
        ("a.b.example.org", True),
        ("example.org", True),
        ("evilexample.org", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_patterns_match_exact_names_and_dotted_domains(header: str, ok: bool) -> None:
    assert allowed(header, ["notes.example.com", ".example.org"]) is ok


def test_no_patterns_or_a_star_allow_any_host() -> None:
    assert allowed("anything", None) and allowed("anything", ["*"])
