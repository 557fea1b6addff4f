"""The docs' examples run against a real server.

Every ``python`` block of docs/client.md runs in order, sharing its names.
Every ``console`` block of docs/cli.md runs line by line: a ``$ `` line is a
command (``collab`` is ``python -m collab``; ``export NAME=value`` sets the
environment of the later lines), the lines after it are its output (stdout
and stderr), where a line ``...`` stands for any lines and ``...`` inside a
line for any text; runs of spaces compare as one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from serverproc import ROOT, ServerProcess

DOC = ROOT / "docs" / "client.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
CLI_DOC = ROOT / "docs" / "cli.md"
CONSOLE = re.findall(r"^```console\n(.*?)^```", CLI_DOC.read_text(), flags=re.S | re.M)
#: What the console examples import: a rectangle, an ellipse and a text.
DRAWING = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">'
    '<rect x="10" y="10" width="120" height="80" stroke="#1971c2" stroke-width="3" fill="#ffec99"/>'
    '<ellipse cx="200" cy="60" rx="50" ry="30" stroke="#e03131" fill="none"/>'
    '<text x="20" y="150" font-size="24" fill="#212529">Agenda</text>'
    "</svg>"
)


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 5
    assert CONSOLE


@pytest.fixture(scope="module")
def namespace() -> dict:
    return {"__name__": "docs_client"}


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(server, namespace, index):
    code = BLOCKS[index].replace("http://127.0.0.1:5000", server.url)
    exec(compile(code, f"{DOC.name} example {index + 1}", "exec"), namespace)


def _commands(block: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def _squeeze(line: str) -> str:
    return " ".join(line.split())


def _pattern(expected: list[str]) -> str:
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(r"[^\n]*?".join(re.escape(p) for p in _squeeze(line).split("...")) + r"\n")
    return "".join(parts)


def _run(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    shim = f'collab() {{ "{sys.executable}" -m collab "$@"; }}\n'
    return subprocess.run(
        ["bash", "-c", shim + command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("index", range(len(CONSOLE)))
def test_cli_doc_example_runs(server: ServerProcess, tmp_path: Path, index: int) -> None:
    (tmp_path / "drawing.svg").write_text(DRAWING)
    env = {k: v for k, v in os.environ.items() if k not in ("COLLAB_URL", "COLLAB_DATABASE")}
    env["PYTHONPATH"] = str(ROOT)

    def local(text: str) -> str:
        return text.replace("http://127.0.0.1:5000", server.url).replace("sqlite:///notes.db", server.database)

    for command, expected in _commands(CONSOLE[index]):
        command = local(command)
        m = re.fullmatch(r"export (\w+)=(\S+)", command)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        r = _run(command, env, tmp_path)
        want = [local(line) for line in expected]
        failing = bool(want) and want[0].startswith("collab: ")
        assert (r.returncode != 0) == failing, f"$ {command}\n{r.stdout}"
        if want:
            got = "".join(_squeeze(line) + "\n" for line in r.stdout.splitlines())
            assert re.fullmatch(_pattern(want), got), (
                f"$ {command}\nexpected:\n" + "\n".join(want) + f"\ngot:\n{r.stdout}"
            )
