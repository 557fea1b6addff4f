"""The ``collab`` command line: serve, list, export, import, watch and replay notes.

``python -m collab --help`` (or ``collab --help`` once pip-installed) lists the
commands; ``docs/cli.md`` describes them. Exit codes: 0 success, 1 a runtime
failure (server unreachable, note not found, op refused), 2 a usage error,
130 interrupted (Ctrl+C). Errors go to stderr as ``collab: <message>``.

Only the standard library is imported at the top: ``collab serve`` must let
the server monkey-patch for gevent/eventlet before anything else loads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

EXPORT_FORMATS = ("json", "svg", "png")
IMPORT_FORMATS = ("json", "svg")


class CliError(Exception):
    """A failure to report as ``collab: <message>`` with exit code 1."""


# -- helpers ---------------------------------------------------------------------------------
def _base(url: str) -> str:
    url = url.rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


def _http(method: str, url: str, timeout: float, **kwargs: Any) -> Any:
    import requests

    try:
        r = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise CliError(f"cannot reach {url}: {exc.__class__.__name__}; is the server running (collab serve)?") from None
    if r.status_code >= 400:
        try:
            err = r.json()["error"]
            detail = f"{err['code']}: {err['message']}"
        except (ValueError, KeyError, TypeError):
            detail = r.text.strip()[:200] or r.reason
        raise CliError(f"{method} {url} answered {r.status_code} ({detail})")
    return r


def _note_url(base: str, note: str, suffix: str = "") -> str:
    from urllib.parse import quote

    return f"{base}/api/notes/{quote(note, safe='')}{suffix}"


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


def _client(args: argparse.Namespace, note: str, **kwargs: Any) -> Any:
    from .client import NoteClient

    transports = [args.transport] if getattr(args, "transport", None) else None
    return NoteClient(
        _base(args.url),
        note,
        name=getattr(args, "name", None) or "collab-cli",
        token=getattr(args, "token", None),
        transports=transports,
        timeout=args.timeout,
        **kwargs,
    )


# -- commands ---------------------------------------------------------------------------------
def cmd_notes(args: argparse.Namespace) -> int:
    rows = _http("GET", f"{_base(args.url)}/api/notes", args.timeout).json()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no notes yet", file=sys.stderr)
        return 0
    wid = max(2, *(len(r["id"]) for r in rows))
    wt = min(40, max(5, *(len(r["title"]) for r in rows)))
    print(f"{'ID':<{wid}}  {'TITLE':<{wt}}  {'STROKES':>7}  {'SEQ':>7}  UPDATED")
    for r in rows:
        title = r["title"] if len(r["title"]) <= wt else r["title"][: wt - 1] + "…"
        print(f"{r['id']:<{wid}}  {title:<{wt}}  {r['strokes']:>7}  {r['seq']:>7}  {r['updated']}")
    return 0


def _format_of(path: str, given: str | None, allowed: Sequence[str], what: str) -> str:
    fmt = given or (Path(path).suffix.lower().lstrip(".") if path != "-" else "json")
    if fmt not in allowed:
        raise CliError(f"cannot tell the {what} format of {path!r}: use a .{'/.'.join(allowed)} name or --format")
    return fmt


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _format_of(args.output, args.format, EXPORT_FORMATS, "export")
    base = _base(args.url)
    if fmt == "json":
        data = _http("GET", _note_url(base, args.note), args.timeout).json()
        body = (json.dumps(data, indent=2) + "\n").encode()
    else:
        body = _http("GET", _note_url(base, args.note, f".{fmt}"), args.timeout).content
    if args.output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        Path(args.output).write_bytes(body)
        print(f"exported note {args.note!r} as {fmt} to {args.output} ({len(body)} bytes)", file=sys.stderr)
    return 0


def load_strokes(raw: bytes, fmt: str, source: str, fresh_ids: bool = False) -> list[dict[str, Any]]:
    """Strokes to import from a JSON export (or a bare list) or an SVG file, with ids.

    Ids: those in the file are kept (a collab JSON or SVG export); strokes
    without one get an id derived from the file's content and position, so
    importing the same file again changes nothing. ``fresh_ids`` makes new
    random ids instead (to import the same drawing twice).
    """
    from . import protocol
    from .errors import CollabError

    if fmt == "json":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CliError(f"{source} is not valid JSON: {exc}") from None
        items = data.get("strokes") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise CliError(f"{source}: expected a note export {{'strokes': [...]}} or a list of strokes")
    else:
        from .svgimport import SvgError, strokes_from_svg

        try:
            items = strokes_from_svg(raw)
        except SvgError as exc:
            raise CliError(f"{source}: {exc}") from None
    digest = hashlib.sha256(raw).hexdigest()[:12]
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CliError(f"{source}: stroke #{i + 1} is not an object")
        stroke = {k: item[k] for k in ("id", "color", "width", "points", "tool") if k in item}
        if fresh_ids:
            stroke["id"] = os.urandom(8).hex()
        else:
            stroke.setdefault("id", f"imp-{digest}-{i}")
        try:
            out.append(dict(protocol.stroke(stroke)))
        except CollabError as exc:
            raise CliError(f"{source}: stroke #{i + 1}: {exc.message}") from None
    return out


def cmd_import(args: argparse.Namespace) -> int:
    fmt = _format_of(args.file, args.format, IMPORT_FORMATS, "import")
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    strokes = load_strokes(raw, fmt, args.file, args.fresh_ids)
    if not strokes:
        raise CliError(f"{args.file} holds no strokes to import")
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = Progress(len(strokes), f"importing into {args.note}", show)
    with _client(args, args.note) as note:
        for s in strokes:
            note.draw(s["points"], s["color"], s["width"], s["tool"], id=s["id"])
        deadline = time.monotonic() + max(args.timeout, len(strokes) / 50)
        while True:
            done = len(strokes) - min(len(strokes), note.backlog)
            bar.update(done)
            try:
                note.wait_synced(timeout=0.2)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise CliError(
                        f"only {done} of {len(strokes)} strokes were acknowledged in time; run the import again "
                        "(strokes already imported are skipped)"
                    ) from None
        bar.finish(len(strokes))
        print(
            f"imported {len(strokes)} strokes into note {args.note!r} "
            f"(now {len(note.strokes)} strokes, seq {note.seq})",
            file=sys.stderr,
        )
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    out_lock = threading.Lock()
    stop = threading.Event()

    def emit(obj: dict[str, Any]) -> None:
        with out_lock:
            try:
                sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # `collab watch ... | head`: end quietly, like other Unix tools
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                stop.set()

    note = _client(args, args.note, since=args.since, wait=False)
    try:
        note.on("op", lambda op: emit({"note": args.note, **op}))
        note.on(
            "reset", lambda strokes: emit({"note": args.note, "type": "reset", "seq": note.seq, "strokes": strokes})
        )
        deleted: list[str] = []

        def on_deleted(n: str) -> None:
            deleted.append(n)
            stop.set()

        note.on("deleted", on_deleted)
        note.on(
            "status",
            lambda up, detail: detail == "closed" or print(f"collab: {'connected' if up else detail}", file=sys.stderr),
        )
        note.wait_connected(args.timeout)
        while not stop.wait(0.2):
            pass
        if deleted:
            raise CliError(f"note {args.note!r} was deleted")
        return 0
    finally:
        note.close(flush=False)


def _history(args: argparse.Namespace) -> tuple[list[dict[str, Any]], int]:
    """Every op of the source note (or its strokes as ops, if the history was compacted)."""
    ops: list[dict[str, Any]] = []
    got = threading.Event()

    def on_op(op: dict[str, Any]) -> None:
        ops.append(op)

    def on_reset(strokes: list[dict[str, Any]]) -> None:
        ops.clear()
        ops.extend({"type": "stroke", **s} for s in strokes)

    src = _client(args, args.note, since=0, wait=False)
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
        raise CliError("replay into another note: --into must differ from the source note")
    if args.speed < 0:
        raise CliError("--speed must be >= 0 (0: as fast as possible)")
    ops, seq = _history(args)
    if not ops:
        print(f"note {args.note!r} has no history to replay", file=sys.stderr)
        return 0
    prefix = os.urandom(3).hex() + "-"
    ids: dict[str, str] = {}
    print(
        f"replaying {len(ops)} ops of note {args.note!r} into {target!r}: {_base(args.url)}/n/{target}",
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
                pts = op["points"]
                if args.speed > 0:
                    _animate(note, op, new_id, args.speed)
                note.draw(pts, op["color"], op["width"], op.get("tool", "pen"), id=new_id)
            elif kind == "remove" and str(op.get("id")) in ids:
                note.remove(ids[str(op["id"])], wait=False)
            elif kind == "clear":
                note.clear(wait=False)
            if args.speed > 0:
                time.sleep(0.3 / args.speed)
            bar.update(i + 1)
        note.wait_synced(max(args.timeout, len(ops) / 50))
        bar.finish(len(ops))
        print(f"replayed {len(ops)} ops (source seq {seq}) into note {target!r}", file=sys.stderr)
    return 0


def _animate(note: Any, op: dict[str, Any], new_id: str, speed: float) -> None:
    """Show a stroke being drawn (drafts growing at ~60 points/s, divided by ``speed``)."""
    pts = op["points"]
    per_point = 1 / 60 / speed
    step = max(1, int(0.05 / per_point))  # about 20 drafts a second at most
    for k in range(step, len(pts), step):
        note.draft(pts[:k], op["color"], op["width"], id=new_id)
        time.sleep(per_point * step)


def cmd_serve(rest: Sequence[str]) -> int:
    from .server import serve

    return serve(list(rest), prog="collab serve")


# -- parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="collab",
        description="Shared notes you draw on together: run the server, or work with notes on one.",
        epilog="Run 'collab COMMAND --help' for a command's options. Docs: docs/cli.md",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("serve", help="run the server (same options as app.py; 'collab serve --help')", add_help=False)

    def common(sp: argparse.ArgumentParser, note: bool = True) -> None:
        sp.add_argument("url", metavar="URL", help="the server, e.g. http://127.0.0.1:5000")
        if note:
            sp.add_argument("note", metavar="NOTE", help="the note id")
        sp.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server [30]")

    def live(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--transport", choices=("websocket", "polling"), help="force one transport")
        sp.add_argument("--name", help="the name other members see")
        sp.add_argument("--token", help="an access token, if the server wants one")

    def progress(sp: argparse.ArgumentParser) -> None:
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
        g.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")

    sp = sub.add_parser("notes", help="list the notes on a server")
    common(sp, note=False)
    sp.add_argument("--json", action="store_true", help="print the JSON rows")
    sp.set_defaults(func=cmd_notes)

    sp = sub.add_parser("export", help="save a note as PNG, SVG or JSON")
    common(sp)
    sp.add_argument("-o", "--output", required=True, help="file.png|svg|json, or - for stdout")
    sp.add_argument("--format", choices=EXPORT_FORMATS, help="override the format the file name implies")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("import", help="add the strokes of a JSON export or an SVG file to a note")
    common(sp)
    sp.add_argument("file", metavar="FILE", help="file.json|svg, or - for stdin (JSON unless --format)")
    sp.add_argument("--format", choices=IMPORT_FORMATS, help="override the format the file name implies")
    sp.add_argument("--fresh-ids", action="store_true", help="new stroke ids (import the same file again)")
    live(sp)
    progress(sp)
    sp.set_defaults(func=cmd_import)

    sp = sub.add_parser("watch", help="print a note's ops as JSON lines as they happen")
    common(sp)
    sp.add_argument("--since", type=int, metavar="N", help="first print every op after seq N (0: all history)")
    live(sp)
    sp.set_defaults(func=cmd_watch)

    sp = sub.add_parser("replay", help="redraw a note's history into another note")
    common(sp)
    sp.add_argument("--into", metavar="TARGET", help="the note to draw into [NOTE-replay]")
    sp.add_argument("--speed", type=float, default=1.0, help="times the natural pace; 0: at once [1]")
    live(sp)
    progress(sp)
    sp.set_defaults(func=cmd_replay)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (and exits with it when run as a script)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    code = _main(args_list)
    if argv is None:
        sys.exit(code)
    return code


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "serve":
        try:
            return cmd_serve(argv[1:])
        except KeyboardInterrupt:
            return 130
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("collab: interrupted", file=sys.stderr)
        return 130
    except CliError as exc:
        print(f"collab: {exc}", file=sys.stderr)
        return 1
    except (TimeoutError, OSError) as exc:
        print(f"collab: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from .errors import CollabError

        if isinstance(exc, CollabError):
            print(f"collab: {exc.code}: {exc.message}", file=sys.stderr)
            return 1
        raise
