"""Every ``python`` block of docs/client.md runs against a real server (in order, sharing names)."""

from __future__ import annotations

import re

import pytest

from serverproc import ROOT

DOC = ROOT / "docs" / "client.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 5


@pytest.fixture(scope="module")
def namespace() -> dict:
    return {"__name__": "docs_client"}


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(server, namespace, index):
    code = BLOCKS[index].replace("http://127.0.0.1:5000", server.url)
    exec(compile(code, f"{DOC.name} example {index + 1}", "exec"), namespace)
