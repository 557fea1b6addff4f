"""The ``collab`` command line: serve, list, export, import, watch, replay and back up notes.

``python -m collab --help`` (or ``collab --help`` once pip-installed) lists the
commands; ``docs/cli.md`` describes them. Exit codes: 0 success, 1 a runtime
failure (server unreachable, note missing, op refused), 2 a usage error, 130
interrupted (Ctrl+C). Errors go to stderr as one line, ``collab: <what went
wrong> (<how to fix it>)``, never a traceback.

Only the standard library is imported at the top: ``collab serve`` must let
the server monkey-patch for gevent/eventlet before anything else loads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import select
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from . import __version__

EXPORT_FORMATS = ("json", "svg", "png")
IMPORT_FORMATS = ("json", "svg", "png", "jpg", "jpeg", "webp", "gif")
#: Import formats that are pictures: placed as one image item.
PICTURES = ("png", "jpg", "jpeg", "webp", "gif")
#: Item fields an import keeps (the contract's table; ``file`` needs an upload: images are skipped).
ITEM_FIELDS = ("id", "tool", "color", "width", "points", "fill", "text", "size")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Rows asked for per page of the note list (``collab notes`` follows every page).
NOTES_PAGE = 1000


class CliError(Exception):
    """A failure reported as ``collab: <what> (<fix>)``, exiting with ``code`` (1: a runtime failure)."""

    code = EXIT_FAILURE

    def __init__(self, what: str, fix: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.what} ({self.fix})" if self.fix else self.what


class UsageError(CliError):
    """A command line that cannot be run as given (exit code 2)."""

    code = EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``collab: <message> (see 'collab ... --help')``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"see '{self.prog} --help'")


# -- talking to a server ---------------------------------------------------------------------
def _base(url: str) -> str:
    url = url.rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


def _server(args: argparse.Namespace) -> str:
    """The server URL: the URL argument, else ``COLLAB_URL``."""
    url = getattr(args, "url", None) or os.environ.get("COLLAB_URL")
    if not url:
        raise UsageError("no server URL given", "pass it before the other arguments, or set COLLAB_URL")
    return _base(url)


def _headers(args: argparse.Namespace, http: bool) -> dict[str, str]:
    """The extra headers of ``--header`` and ``--cookie`` (and, on HTTP, ``--token`` as ``X-Collab-Token``)."""
    out: dict[str, str] = {}
    for raw in getattr(args, "header", None) or ():
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError(f"--header {raw!r} is not 'Name: value'", "e.g. --header 'Authorization: Bearer abc'")
        out[name.strip()] = value.strip()
    cookies = []
    for raw in getattr(args, "cookie", None) or ():
        name, sep, _ = raw.partition("=")
        if not sep or not name.strip() or ";" in raw:
            raise UsageError(f"--cookie {raw!r} is not 'name=value'", "give one cookie per --cookie, e.g. session=abc")
        cookies.append(raw.strip())
    if cookies:
        out["Cookie"] = "; ".join(([out["Cookie"]] if "Cookie" in out else []) + cookies)
    token = getattr(args, "token", None)
    if http and token:
        out["X-Collab-Token"] = token
    return out


class Http:
    """The server's HTTP API with the command's headers, cookies and token; errors as :class:`CliError`."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.base = _server(args)
        self.timeout = args.timeout
        self.headers = _headers(args, http=True)

    def request(self, method: str, path: str, *, missing: Callable[[], CliError] | None = None, **kwargs: Any) -> Any:
        import requests

        url = self.base + path
        try:
            r = requests.request(method, url, timeout=self.timeout, headers=self.headers, **kwargs)
        except requests.RequestException as exc:
            raise CliError(
                f"cannot reach {url}: {exc.__class__.__name__}",
                "is the server running? start one with 'collab serve', or check the URL",
            ) from None
        if r.status_code < 400:
            return r
        try:
            err = r.json()["error"]
            code, message = str(err["code"]), str(err["message"])
        except (ValueError, KeyError, TypeError):
            code, message = str(r.status_code), r.text.strip()[:200] or r.reason
        if r.status_code == 404 and missing is not None:
            raise missing()
        if r.status_code in (401, 403):
            raise CliError(
                f"{method} {url} was refused ({r.status_code} {code}: {message})",
                "pass a share link's token with --token, or the site's login with --cookie or --header",
            )
        raise CliError(f"{method} {url} answered {r.status_code} ({code}: {message})", "see the server's log")

    def note(self, note: str, suffix: str = "", **kwargs: Any) -> Any:
        """``GET /api/notes/<note><suffix>``; a missing note is a :class:`CliError` saying so."""
        from urllib.parse import quote

        def missing() -> CliError:
            return CliError(
                f"note {note!r} does not exist on {self.base}", f"list the notes with 'collab notes {self.base}'"
            )

        return self.request("GET", f"/api/notes/{quote(note, safe='')}{suffix}", missing=missing, **kwargs)


def _note_arg(value: str) -> str:
    from . import protocol
    from .errors import CollabError

    try:
        return protocol.note_id(value, "NOTE")
    except CollabError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _client(args: argparse.Namespace, note: str, **kwargs: Any) -> Any:
    from .client import NoteClient

    transports = [args.transport] if getattr(args, "transport", None) else None
    return NoteClient(
        _server(args),
        note,
        name=getattr(args, "name", None) or "collab-cli",
        token=getattr(args, "token", None),
        headers=_headers(args, http=False),
        transports=transports,
        timeout=args.timeout,
        **kwargs,
    )


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal, or forced)."""

    def __init__(self, total: int, label: str, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._last = -1.0

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        frac = min(1.0, done / self.total)
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} {frac:4.0%}")
        self.stream.flush()

    def finish(self, done: int) -> None:
        if self.enabled:
            self.update(done, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _wait_acked(note: Any, total: int, timeout: float, bar: Progress, what: str) -> None:
    """Wait until ``note`` has every op acknowledged, updating ``bar``; :class:`CliError` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        done = total - min(total, note.backlog)
        bar.update(done)
        try:
            note.wait_synced(timeout=0.2)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise CliError(
                    f"only {done} of {total} {what} were acknowledged within {timeout:g}s",
                    "run the command again (what arrived is not added twice), or give a longer --timeout",
                ) from None


# -- commands ---------------------------------------------------------------------------------
def cmd_notes(args: argparse.Namespace) -> int:
    http = Http(args)
    rows: list[dict[str, Any]] = []
    path: str | None = f"/api/notes?limit={NOTES_PAGE}"
    while path:
        r = http.request("GET", path)
        rows.extend(r.json())
        nxt = r.links.get("next", {}).get("url")
        path = None
        if nxt:  # an opaque cursor: followed as it is
            from urllib.parse import urlsplit

            parts = urlsplit(nxt)
            path = (parts.path + (f"?{parts.query}" if parts.query else "")).removeprefix(
                urlsplit(http.base).path.rstrip("/")
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no notes yet", file=sys.stderr)
        return 0
    wid = max(2, *(len(r["id"]) for r in rows))
    wt = min(40, max(5, *(len(r["title"]) for r in rows)))
    print(f"{'ID':<{wid}}  {'TITLE':<{wt}}  {'ITEMS':>7}  {'SEQ':>7}  UPDATED")
    for r in rows:
        title = r["title"] if len(r["title"]) <= wt else r["title"][: wt - 1] + "…"
        print(f"{r['id']:<{wid}}  {title:<{wt}}  {r['strokes']:>7}  {r['seq']:>7}  {r['updated']}")
    return 0


def _format_of(path: str, given: str | None, allowed: Sequence[str], what: str) -> str:
    fmt = given or (Path(path).suffix.lower().lstrip(".") if path != "-" else "json")
    if fmt not in allowed:
        raise UsageError(
            f"cannot tell the {what} format of {path!r}", f"use a .{'/.'.join(allowed)} file name or --format"
        )
    return fmt


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _format_of(args.output, args.format, EXPORT_FORMATS, "export")
    http = Http(args)
    params = {"at": str(args.at)} if args.at is not None else {}

    def missing() -> CliError:
        if args.at is None:
            return CliError(
                f"note {args.note!r} does not exist on {http.base}", f"list the notes with 'collab notes {http.base}'"
            )
        return CliError(
            f"note {args.note!r} has no state at seq {args.at} on {http.base}",
            "check that the note exists; --at must be at most its seq, and history older than the "
            "server keeps (COLLAB_OPLOG_KEEP) is gone",
        )

    suffix = "" if fmt == "json" else f".{fmt}"
    from urllib.parse import quote

    r = http.request("GET", f"/api/notes/{quote(args.note, safe='')}{suffix}", missing=missing, params=params)
    body = (json.dumps(r.json(), indent=2) + "\n").encode() if fmt == "json" else r.content
    if args.output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        try:
            Path(args.output).write_bytes(body)
        except OSError as exc:
            raise CliError(
                f"cannot write {args.output}: {exc.strerror}", "check the path and its permissions"
            ) from None
        at = f" at seq {args.at}" if args.at is not None else ""
        print(f"exported note {args.note!r}{at} as {fmt} to {args.output} ({len(body)} bytes)", file=sys.stderr)
    return 0


def load_items(raw: bytes, fmt: str, source: str, fresh_ids: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Items to import from a JSON export (or a bare list) or an SVG file, with ids; and how many images were skipped.

    Ids: those in the file are kept (a collab JSON or SVG export); items
    without one get an id derived from the file's content and position, so
    importing the same file again changes nothing. ``fresh_ids`` makes new
    random ids instead (to import the same drawing twice). Image items are
    skipped: their file would have to be uploaded to the note first.
    """
    from . import protocol
    from .errors import CollabError

    if fmt == "json":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CliError(
                f"{source} is not valid JSON: {exc}", "give a file 'collab export -o x.json' wrote"
            ) from None
        items = data.get("strokes") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise CliError(f"{source} holds no items", 'give a note export {"strokes": [...]} or a list of items')
    else:
        from .svgimport import SvgError, items_from_svg

        try:
            items = items_from_svg(raw)
        except SvgError as exc:
            raise CliError(f"{source}: {exc}", "give an SVG file") from None
    digest = hashlib.sha256(raw).hexdigest()[:12]
    out: list[dict[str, Any]] = []
    images = 0
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CliError(f"{source}: item #{i + 1} is not an object", "fix the file")
        if item.get("tool") == "image":
            images += 1
            continue
        clean = {k: item[k] for k in ITEM_FIELDS if item.get(k) is not None}
        if fresh_ids:
            clean["id"] = os.urandom(8).hex()
        else:
            clean.setdefault("id", f"imp-{digest}-{i}")
        try:
            out.append(dict(protocol.stroke(clean)))
        except CollabError as exc:
            raise CliError(f"{source}: item #{i + 1}: {exc.message}", "fix the file; nothing was imported") from None
    return out, images


def load_strokes(raw: bytes, fmt: str, source: str, fresh_ids: bool = False) -> list[dict[str, Any]]:
    """The items :func:`load_items` reads, without the count of skipped images."""
    return load_items(raw, fmt, source, fresh_ids)[0]


def _send_item(note: Any, item: dict[str, Any], item_id: str) -> None:
    note.add(
        item.get("tool", "pen"),
        item["points"],
        color=item["color"],
        width=item.get("width"),
        fill=item.get("fill"),
        text=item.get("text"),
        size=item.get("size"),
        id=item_id,
    )


def cmd_import(args: argparse.Namespace) -> int:
    fmt = _format_of(args.file, args.format, IMPORT_FORMATS, "import")
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}", "check the path") from None
    if fmt in PICTURES:
        return _import_picture(args, raw)
    items, images = load_items(raw, fmt, args.file, args.fresh_ids)
    skipped = f", {images} image{'s' if images != 1 else ''} skipped (images are not imported)" if images else ""
    if not items:
        raise CliError(f"{args.file} holds no items to import{skipped}", "give a collab export or an SVG drawing")
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = Progress(len(items), f"importing into {args.note}", show)
    with _client(args, args.note) as note:
        joined_at = note.seq
        for item in items:
            _send_item(note, item, item["id"])
        _wait_acked(note, len(items), max(args.timeout, len(items) / 50), bar, "items")
        bar.finish(len(items))
        ids = {item["id"] for item in items}
        new = sum(1 for s in note.items if s["id"] in ids and s["seq"] > joined_at)
        print(
            f"imported {new} items, {len(items) - new} already there{skipped} "
            f"(note {args.note!r} now has {len(note.items)} items, seq {note.seq})",
            file=sys.stderr,
        )
    return 0


def _import_picture(args: argparse.Namespace, raw: bytes) -> int:
    """``collab import NOTE picture.png``: upload the picture and place it at its natural size."""
    from .errors import CollabError

    with _client(args, args.note) as note:
        joined_at = note.seq
        try:
            item_id = note.add_image(raw, id=f"img-{hashlib.sha256(raw).hexdigest()[:16]}")
        except CollabError as exc:
            raise CliError(f"{args.file}: {exc.message}", "give a PNG, JPEG, WebP or GIF image") from None
        _wait_acked(note, 1, args.timeout, Progress(1, "placing", False), "items")
        placed = note.item(item_id)
        new = placed is not None and placed["seq"] > joined_at
        print(f"imported {int(new)} image, {int(not new)} already there (note {args.note!r}, seq {note.seq})",
              file=sys.stderr)  # fmt: skip
    return 0


def _reader_gone(stream: IO[str]) -> bool:
    """True when ``stream`` is a pipe whose reader went away (``collab watch | head -1`` after head ended)."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLERR | select.POLLHUP)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll() (Windows) or no file descriptor
        return False


def cmd_watch(args: argparse.Namespace) -> int:
    http = Http(args)
    info = http.note(args.note).json()  # never creates: a missing note ends here
    since = args.since if args.since is not None else int(info.get("seq", 0))
    out_lock = threading.Lock()
    stop = threading.Event()
    gone = threading.Event()

    def emit(obj: dict[str, Any]) -> None:
        with out_lock:
            if gone.is_set():
                return
            try:
                sys.stdout.write(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):  # `collab watch ... | head`: end quietly, like other Unix tools
                gone.set()
                stop.set()

    joined: list[dict[str, Any]] = []

    def on_joined(j: dict[str, Any]) -> None:
        if not joined:
            joined.append(j)
            emit({"note": args.note, "type": "joined", "seq": j["seq"], "title": j["title"], "epoch": j["epoch"]})

    note = _client(args, args.note, since=since, epoch=info.get("epoch"), wait=False)
    try:
        note.on("joined", on_joined)
        note.on("op", lambda op: emit({"note": args.note, **op}))
        note.on(
            "reset", lambda strokes: emit({"note": args.note, "type": "reset", "seq": note.seq, "strokes": strokes})
        )
        deleted: list[str] = []

        def on_deleted(n: str) -> None:
            deleted.append(n)
            stop.set()

        note.on("deleted", on_deleted)
        note.on("error", lambda err: stop.set() if note.stopped is not None else None)
        lost: list[str] = []

        def on_status(up: bool, detail: str) -> None:
            if not up and detail != "closed":
                lost.append(detail)
                print(f"collab: connection lost: {detail} (reconnecting)", file=sys.stderr)
            elif up and lost:
                print("collab: reconnected", file=sys.stderr)

        note.on("status", on_status)
        note.wait_connected(args.timeout)
        while not stop.wait(0.1):
            if _reader_gone(sys.stdout):
                gone.set()
                break
        if gone.is_set():
            try:  # nobody reads: let the interpreter's final flush go nowhere
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except OSError:
                pass
            return 0
        if deleted:
            raise CliError(f"note {args.note!r} was deleted while watching", "there is nothing more to watch")
        if note.stopped is not None:
            raise note.stopped
        return 0
    finally:
        note.close(flush=False)


def _history(args: argparse.Namespace) -> tuple[list[dict[str, Any]], int]:
    """Every op of the source note (or its items as ops, if the history was compacted)."""
    info = Http(args).note(args.note).json()  # the source must exist: reading it never creates it
    ops: list[dict[str, Any]] = []
    got = threading.Event()

    def on_op(op: dict[str, Any]) -> None:
        ops.append(op)

    def on_reset(strokes: list[dict[str, Any]]) -> None:
        ops.clear()
        ops.extend({"type": "stroke", **s} for s in strokes)

    src = _client(args, args.note, since=0, epoch=info.get("epoch"), wait=False)
    try:
        src.on("op", on_op)
        src.on("reset", on_reset)
        src.on("change", lambda: got.set())
        src.wait_connected(args.timeout)
        seq = src.seq
        deadline = time.monotonic() + args.timeout
        while seq and not (ops and ops[-1].get("seq", 0) >= seq) and time.monotonic() < deadline:
            got.wait(0.05)
            got.clear()
        return list(ops), seq
    finally:
        src.close(flush=False)


def cmd_replay(args: argparse.Namespace) -> int:
    target = args.into or f"{args.note}-replay"[:64]
    if target == args.note:
        raise UsageError("replay into another note", "--into must differ from the source note")
    if args.speed < 0:
        raise UsageError(f"--speed {args.speed:g} is negative", "give a speed >= 0 (0: as fast as possible)")
    ops, seq = _history(args)
    if not ops:
        print(f"note {args.note!r} has no history to replay", file=sys.stderr)
        return 0
    prefix = os.urandom(3).hex() + "-"
    ids: dict[str, str] = {}

    def mapped(old: Sequence[Any]) -> list[str]:
        return [ids[str(i)] for i in old if str(i) in ids]

    print(
        f"replaying {len(ops)} ops of note {args.note!r} into {target!r}: {_server(args)}/n/{target}",
        file=sys.stderr,
    )
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = Progress(len(ops), "replaying", show)
    with _client(args, target) as note:
        for i, op in enumerate(ops):
            kind = op.get("type")
            if kind == "stroke":
                new_id = (prefix + str(op["id"]))[:64]
                ids[str(op["id"])] = new_id
                if args.speed > 0 and op.get("tool", "pen") in ("pen", "highlighter", "line", "arrow"):
                    _animate(note, op, new_id, args.speed)
                _send_item(note, op, new_id)
            elif kind == "remove" and mapped([op.get("id")]):
                note.remove(mapped([op["id"]])[0], wait=False)
            elif kind == "clear":
                note.clear(wait=False)
            elif kind == "update" and mapped([op.get("id")]):
                note.update(mapped([op["id"]])[0], wait=False, **op["set"])
            elif kind == "move" and mapped(op.get("ids") or []):
                note.move(mapped(op["ids"]), op["dx"], op["dy"], wait=False)
            elif kind == "restore" and mapped([it.get("id") for it in op.get("items") or []]):
                note.restore(mapped([it.get("id") for it in op["items"]]), wait=False)
            if args.speed > 0:
                time.sleep(0.3 / args.speed)
            bar.update(i + 1)
        _wait_acked(note, len(ops), max(args.timeout, len(ops) / 50), bar, "ops")
        bar.finish(len(ops))
        print(f"replayed {len(ops)} ops (source seq {seq}) into note {target!r}", file=sys.stderr)
    return 0


def _animate(note: Any, op: dict[str, Any], new_id: str, speed: float) -> None:
    """Show a stroke being drawn (drafts growing at ~60 points/s, divided by ``speed``)."""
    pts = op["points"]
    tool = op.get("tool", "pen")
    fewest = 2 if tool in ("line", "arrow") else 1
    per_point = 1 / 60 / speed
    step = max(1, int(0.05 / per_point))  # about 20 drafts a second at most
    for k in range(max(step, fewest), len(pts), step):
        note.draft(pts[:k], op["color"], op.get("width", 2.0), id=new_id, tool=tool)
        time.sleep(per_point * step)


def _sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///`` URL (as SQLAlchemy reads it: ``sqlite:////abs`` is absolute)."""
    from urllib.parse import unquote, urlsplit

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        raise UsageError(
            "backup copies SQLite databases only",
            "for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file notes.dump 'DATABASE_URL', "
            "and pg_restore to bring it back",
        )
    if scheme.split("+")[0] != "sqlite":
        raise UsageError(f"--database {url!r} is not a sqlite:/// URL", "e.g. --database sqlite:///notes.db")
    path = unquote(urlsplit(url).path)[1:] if url.lower().startswith(scheme + ":///") else ""
    if not path or path == ":memory:":
        raise UsageError(f"--database {url!r} names no database file", "e.g. --database sqlite:///notes.db")
    return path.split("?", 1)[0]


def cmd_backup(args: argparse.Namespace) -> int:
    import sqlite3

    url = args.database or os.environ.get("COLLAB_DATABASE")
    if not url:
        raise UsageError("no database given", "pass --database sqlite:///notes.db or set COLLAB_DATABASE")
    source = _sqlite_path(url)
    dest = Path(args.path)
    if not Path(source).is_file():
        raise CliError(f"{source} does not exist", f"check --database {url!r}")
    if dest.exists() and not args.force:
        raise CliError(f"{dest} already exists", "remove it, pick another path or pass --force")
    if dest.resolve() == Path(source).resolve():
        raise UsageError("the backup would overwrite the database itself", "pick another path")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    started = time.monotonic()
    try:
        src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True, timeout=30)
        try:
            out = sqlite3.connect(tmp)
            try:
                # One step: the copy is the database as one committed transaction left it,
                # while the server goes on writing (WAL readers do not block writers).
                src.backup(out)
                check = out.execute("PRAGMA quick_check").fetchone()[0]
                tables = {r[0] for r in out.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                notes = (
                    out.execute("SELECT COUNT(*) FROM collab_notes").fetchone()[0] if "collab_notes" in tables else None
                )
            finally:
                out.close()
        finally:
            src.close()
        if check != "ok":
            raise CliError(
                f"the copy of {source} fails SQLite's check: {check}", "the source may be damaged; see the server's log"
            )
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise CliError(
            f"backing up {source} failed: {exc}", "check the paths and that the file is a SQLite database"
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    what = f", {notes} note{'s' if notes != 1 else ''}" if notes is not None else ", not a collab database"
    size = dest.stat().st_size
    print(
        f"backed up {source} to {dest} ({size} bytes{what}) in {time.monotonic() - started:.2f}s",
        file=sys.stderr,
    )
    return 0


def cmd_serve(rest: Sequence[str]) -> int:
    from .server import serve

    return serve(list(rest), prog="collab serve")


# -- parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="collab",
        description="Shared notes you draw on together: run the server, or work with notes on one.",
        epilog="Run 'collab COMMAND --help' for a command's options. Docs: docs/cli.md",
    )
    p.add_argument("--version", action="version", version=f"collab {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("serve", help="run the server (same options as app.py; 'collab serve --help')", add_help=False)

    def server(sp: argparse.ArgumentParser, note: bool = True) -> None:
        sp.add_argument("url", metavar="URL", nargs="?", help="the server, e.g. http://127.0.0.1:5000 [$COLLAB_URL]")
        if note:
            sp.add_argument("note", metavar="NOTE", type=_note_arg, help="the note id")
        sp.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server [30]")
        sp.add_argument("--token", help="a share link's token (the part after ?share=)")
        sp.add_argument(
            "--header", action="append", metavar="'NAME: VALUE'", help="an HTTP header to send (repeatable)"
        )
        sp.add_argument("--cookie", action="append", metavar="NAME=VALUE", help="a cookie to send (repeatable)")

    def live(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--transport", choices=("websocket", "polling"), help="force one transport")
        sp.add_argument("--name", help="the name other members see")

    def progress(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
        g.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")

    def seq(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a seq (an integer >= 0)") from None
        if n < 0:
            raise argparse.ArgumentTypeError(f"{value!r} is not a seq (an integer >= 0)")
        return n

    sp = sub.add_parser("notes", help="list the notes on a server")
    server(sp, note=False)
    sp.add_argument("--json", action="store_true", help="print the JSON rows")
    sp.set_defaults(func=cmd_notes)

    sp = sub.add_parser("export", help="save a note as PNG, SVG or JSON")
    server(sp)
    sp.add_argument("-o", "--output", required=True, help="file.png|svg|json, or - for stdout")
    sp.add_argument("--format", choices=EXPORT_FORMATS, help="override the format the file name implies")
    sp.add_argument("--at", type=seq, metavar="SEQ", help="the note as it was just after op SEQ")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("import", help="add the items of a JSON export or an SVG file to a note")
    server(sp)
    sp.add_argument(
        "file",
        metavar="FILE",
        help="file.json|svg, a picture (png, jpg, webp, gif), or - (stdin, JSON unless --format)",
    )
    sp.add_argument("--format", choices=IMPORT_FORMATS, help="override the format the file name implies")
    sp.add_argument("--fresh-ids", action="store_true", help="new item ids (import the same file again)")
    live(sp)
    progress(sp)
    sp.set_defaults(func=cmd_import)

    sp = sub.add_parser("watch", help="print a note's ops as JSON lines as they happen")
    server(sp)
    sp.add_argument("--since", type=seq, metavar="N", help="first print every op after seq N (0: all history)")
    live(sp)
    sp.set_defaults(func=cmd_watch)

    sp = sub.add_parser("replay", help="redraw a note's history into another note")
    server(sp)
    sp.add_argument("--into", metavar="TARGET", type=_note_arg, help="the note to draw into [NOTE-replay]")
    sp.add_argument("--speed", type=float, default=1.0, help="times the natural pace; 0: at once [1]")
    live(sp)
    progress(sp)
    sp.set_defaults(func=cmd_replay)

    sp = sub.add_parser("backup", help="copy a SQLite database safely while the server runs")
    sp.add_argument("path", metavar="PATH", help="the file to write the copy to")
    sp.add_argument("--database", metavar="URL", help="the server's database, sqlite:///FILE [$COLLAB_DATABASE]")
    sp.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    sp.set_defaults(func=cmd_backup)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (and exits with it when run as a script)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    code = _main(args_list)
    if argv is None:
        sys.exit(code)
    return code


def _fail(err: Any) -> int:
    print(f"collab: {err}", file=sys.stderr)
    return int(getattr(err, "code", EXIT_FAILURE)) if isinstance(err, CliError) else EXIT_FAILURE


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "serve":
        try:
            return cmd_serve(argv[1:])
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    try:
        args = build_parser().parse_args(argv)
    except CliError as exc:
        return _fail(exc)
    except SystemExit as exc:  # --help, --version
        return int(exc.code) if isinstance(exc.code, int) else EXIT_OK
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("collab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CliError as exc:
        return _fail(exc)
    except Exception as exc:
        if os.environ.get("COLLAB_DEBUG"):
            raise
        return _fail(_explain(exc, args))


def _explain(exc: Exception, args: argparse.Namespace) -> CliError:
    """An exception from the client or the system as one line with a fix."""
    from .client import ConnectionFailed
    from .errors import CollabError

    if isinstance(exc, ConnectionFailed):
        reason = exc.reason
        for url in exc.urls:
            reason = reason.removeprefix(f"{url} (namespace {exc.namespace}): ")
        errno = re.search(r"\[Errno [^\]]+\] [^\"')]+", reason)  # requests' long chain, reduced to its cause
        if errno is not None:
            reason = errno.group()
        return CliError(
            f"cannot connect to {' or '.join(exc.urls)} (namespace {exc.namespace}): {reason}",
            "is the server running? start one with 'collab serve', or check the URL and --transport",
        )
    if isinstance(exc, CollabError):
        fixes = {
            "forbidden": "pass a share link's token with --token, or the site's login with --cookie or --header",
            "not_found": "check the note id with 'collab notes'",
            "too_large": "the server's limits refuse it; split the input or ask the server's admin",
            "rate_limited": "try again in a moment",
            "bad_request": "the server refused the input; fix it",
        }
        return CliError(f"{exc.code}: {exc.message}", fixes.get(exc.code, "see the server's log"))
    if isinstance(exc, TimeoutError):
        return CliError(str(exc), "try again, or give a longer --timeout")
    if isinstance(exc, OSError):
        return CliError(f"{exc.__class__.__name__}: {exc}", "check the paths and the network")
    return CliError(
        f"unexpected {exc.__class__.__name__}: {exc}",
        "this is a bug: run again with COLLAB_DEBUG=1 for the traceback and report it",
    )
