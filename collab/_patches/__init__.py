"""Every change collab makes to the libraries it runs on, in one place, each guarded.

One module per patched library (:mod:`.engineio`, :mod:`.socketio`,
:mod:`.geventwebsocket`, :mod:`.werkzeug`, :mod:`.flask_socketio`); each
declares its patches as :class:`Patch` objects saying what the patch fixes or
speeds up, the versions it was checked on, and a *fingerprint* of every
function it replaces or relies on.

Two kinds:

- a **fix** (:data:`FIX`) corrects something stock clients need (the JavaScript
  client's large POSTs, the Python client's poll limit, ...). It is installed
  wherever collab runs, ``init_app`` in a host's process included. If what it
  replaces is not what it was written against, collab refuses to start
  (:class:`PatchRefused`, a :class:`~collab.errors.ConfigError`) with a message
  that says which versions to install.
- a **speed-up** (:data:`SPEEDUP`) only makes collab's own server faster. It is
  installed by collab's own server alone (``python app.py``, ``collab serve``,
  ``wsgi.py``: :func:`install_speedups`), never by ``init_app``. If what it
  replaces changed, it is skipped with a warning and the stock code runs.

``COLLAB_PATCHES`` (environment) turns them off for bisecting: ``on`` (the
default), ``fixes`` (no speed-ups) or ``off`` (nothing; stock clients may then
fail as described in each fix).

A fingerprint is the SHA-256 of a function's (or class's) source with blank and
comment-only lines dropped and indentation stripped: independent of the Python
version, changed by any change of code. ``python scripts/patch-fingerprints.py``
prints those of the installed libraries, to check a new release and add it.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

log = logging.getLogger("collab.patches")

FIX = "fix"
SPEEDUP = "speed-up"

#: The library ranges collab's patches were checked on; pyproject.toml declares the same
#: (tests/unit/test_patches.py compares them).
TESTED = {
    "python-engineio": ">=4.11.0,<4.16",
    "python-socketio": ">=5.12.0,<5.19",
    "flask-socketio": ">=5.5.0,<5.8",
    "gevent-websocket": ">=0.10.1,<0.11",
    "simple-websocket": ">=1.0.0,<1.2",
}

MODES = ("on", "fixes", "off")

#: What :func:`current` answers for a target whose source cannot be read.
NO_SOURCE = "no source"


class PatchRefused(ConfigError):
    """A fix's target changed: collab cannot vouch for the library version installed."""


@dataclass(frozen=True)
class Patch:
    """One change to a library, and what it must find to be installed.

    ``targets`` maps ``"module:Qual.name"`` to the fingerprints of the versions the
    patch was written against; ``fixed_upstream`` to those of versions that already
    do what the patch does (the patch is then not needed and not installed).
    """

    name: str
    kind: str
    library: str
    what: str
    checked: str
    targets: Mapping[str, frozenset[str]]
    apply: Callable[..., Any]
    fixed_upstream: Mapping[str, frozenset[str]] = field(default_factory=dict)


#: name -> what became of it: "installed", "not needed", "skipped: ..." or "off".
STATUS: dict[str, str] = {}


def mode(environ: Mapping[str, str] | None = None) -> str:
    """``COLLAB_PATCHES``: ``on``, ``fixes`` or ``off``."""
    raw = (os.environ if environ is None else environ).get("COLLAB_PATCHES", "on").strip().lower() or "on"
    if raw in ("1", "true", "yes"):
        raw = "on"
    elif raw in ("0", "false", "no", "none"):
        raw = "off"
    if raw not in MODES:
        raise ConfigError(f"COLLAB_PATCHES must be on, fixes or off, got {raw!r} (unset it to install every patch)")
    return raw


def fingerprint(obj: Any) -> str:
    """The first 16 hex digits of the SHA-256 of ``obj``'s source, blank and comment lines dropped."""
    source = inspect.getsource(obj)
    lines = [line.strip() for line in source.splitlines()]
    text = "\n".join(line for line in lines if line and not line.startswith("#"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def resolve(target: str) -> Any:
    """The object a ``"module:Qual.name"`` target names (``AttributeError``/``ImportError`` if absent)."""
    module, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part)
        if isinstance(obj, (classmethod, staticmethod)):
            obj = obj.__func__
    return obj


#: A replacement collab installed -> the fingerprint of what it replaced, so that a
#: second ``init_app`` (or a patch sharing a target) judges the library, not collab.
_REPLACED: dict[Any, str] = {}


def current(target: str) -> str | None:
    """The target's fingerprint in this process (the library's, under collab's own replacements).

    ``None`` when it does not exist.
    """
    try:
        obj = resolve(target)
    except (ImportError, AttributeError):
        return None
    replaced = _REPLACED.get(obj)
    if replaced is not None:
        return replaced
    try:
        return fingerprint(obj)
    except (OSError, TypeError):  # no source: defined at run time, or not Python
        return NO_SOURCE


def _resolved(target: str) -> Any:
    try:
        return resolve(target)
    except (ImportError, AttributeError):
        return None


def version(library: str) -> str:
    """The installed version of a distribution, or ``"?"``."""
    from importlib import metadata

    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "?"


def check(patch: Patch) -> tuple[str, str]:
    """``("ok" | "not needed" | "changed", detail)`` for ``patch`` in this process."""
    upstream = [t for t, prints in patch.fixed_upstream.items() if current(t) in prints]
    if upstream and len(upstream) == len(patch.fixed_upstream):
        return "not needed", f"{patch.library} {version(patch.library)} does it already"
    for target, prints in patch.targets.items():
        now = current(target)
        if now not in prints:
            if now is None:
                state = "is missing"
            elif now == NO_SOURCE:
                state = "changed (its source cannot be read)"
            else:
                state = f"changed (fingerprint {now})"
            return "changed", f"{target} {state}"
    return "ok", ""


def install(patch: Patch, *args: Any) -> bool:
    """Install ``patch`` (``apply(*args)``) if its targets are what it was written against.

    Returns whether it is in place. A changed target skips a speed-up with a
    warning and refuses a fix (:class:`PatchRefused`).
    """
    wanted = mode()
    if wanted == "off" or (wanted == "fixes" and patch.kind == SPEEDUP):
        STATUS[patch.name] = "off"
        return False
    verdict, detail = check(patch)
    if verdict == "not needed":
        STATUS[patch.name] = "not needed"
        log.debug("patch %s not installed: %s", patch.name, detail)
        return False
    if verdict == "changed":
        found = f"{patch.library} {version(patch.library)}"
        wanted_range = TESTED.get(patch.library, "")
        if patch.kind == SPEEDUP:
            STATUS[patch.name] = f"skipped: {detail}"
            log.warning(
                "speed-up %s skipped: %s in %s (checked on %s); the stock code runs, slower "
                "(pip install '%s%s' to get it back)",
                patch.name,
                detail,
                found,
                patch.checked,
                patch.library,
                wanted_range,
            )
            return False
        STATUS[patch.name] = f"refused: {detail}"
        raise PatchRefused(
            f"{found} is not a version collab was tested with: {detail}, which collab's fix "
            f"{patch.name} ({patch.what}) was written against (checked on {patch.library} {patch.checked}) "
            f"(install a tested version: pip install '{patch.library}{wanted_range}'; "
            f"or set COLLAB_PATCHES=off to start without collab's patches)"
        )
    before = {target: (_resolved(target), current(target)) for target in patch.targets}
    patch.apply(*args)
    for target, (obj, print_) in before.items():
        now = _resolved(target)
        if now is not obj and now is not None and print_ is not None:
            _REPLACED[now] = print_
    STATUS[patch.name] = "installed"
    log.debug("patch %s installed (%s %s)", patch.name, patch.library, version(patch.library))
    return True


def all_patches() -> list[Patch]:
    """Every patch collab has, fixes first (importing nothing that needs gevent)."""
    from . import engineio, flask_socketio, geventwebsocket, socketio, werkzeug

    found = [
        *engineio.PATCHES,
        *werkzeug.PATCHES,
        *socketio.PATCHES,
        *geventwebsocket.PATCHES,
        *flask_socketio.PATCHES,
    ]
    return sorted(found, key=lambda p: p.kind != FIX)


def install_fixes(async_mode: str, eio_server: Any, max_decode_packets: int) -> None:
    """The fixes for one Engine.IO server in ``async_mode`` (``init_app`` calls this)."""
    from . import engineio, werkzeug

    install(engineio.DECODE_LIMIT, max_decode_packets)
    install(engineio.POLL_CAP)
    install(engineio.REFUSED_POST)
    if async_mode == "threading":
        install(werkzeug.END_CONNECTION)
    if async_mode == "gevent" and engineio.gevent_websocket_installed():
        install(engineio.WEBSOCKET_FALLBACK, eio_server)
    install(engineio.FAST_COMPRESSION, eio_server)


def install_speedups(async_mode: str) -> None:
    """The speed-ups of collab's own server (``python app.py``, ``collab serve``, ``wsgi.py``)."""
    from . import engineio, geventwebsocket, socketio

    install(socketio.BINARY_CHECK)
    if async_mode == "gevent":
        if geventwebsocket.available():
            install(geventwebsocket.XOR_MASK)
        install(engineio.TIMER_PINGS)
        install(engineio.COALESCING_WRITER)


def report() -> dict[str, str]:
    """What became of each patch so far (name -> status)."""
    return dict(STATUS)
