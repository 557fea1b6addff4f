"""HTTP: the JSON API of the contract, the two pages and the exports, in one blueprint."""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from . import exports, files, hosts, protocol, roles
from .errors import BadRequest, CollabError, ConfigError, Forbidden, NotFound, TooLarge, UnsupportedMediaType

_ROOT = Path(__file__).resolve().parent


def _asset_dir(name: str) -> str:
    """``collab/<name>`` in an installed wheel, ``<repo>/<name>`` in a checkout."""
    inside = _ROOT / name
    return str(inside if inside.is_dir() else _ROOT.parent / name)


def make_blueprint(url_prefix: str) -> Blueprint:
    """The blueprint of one app (a fresh one per app, so prefixes may differ)."""
    bp = Blueprint(
        "collab",
        __name__,
        url_prefix=url_prefix or None,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        static_url_path="/collab-static",
    )
    bp.add_url_rule("/", "index", index)
    bp.add_url_rule("/n/<note>", "note_page", note_page)
    bp.add_url_rule("/api/notes", "list_notes", list_notes, methods=["GET"])
    bp.add_url_rule("/api/notes", "create_note", create_note, methods=["POST"])
    bp.add_url_rule("/api/notes/<name>", "get_note", get_note, methods=["GET"])
    bp.add_url_rule("/api/notes/<name>", "rename_note", rename_note, methods=["PATCH"])
    bp.add_url_rule("/api/notes/<name>", "delete_note", delete_note, methods=["DELETE"])
    bp.add_url_rule("/api/notes/<name>/share", "share_note", share_note, methods=["POST"])
    bp.add_url_rule("/api/notes/<name>/files", "upload_file", upload_file, methods=["POST"])
    bp.add_url_rule("/api/notes/<name>/files/<file>", "get_file", get_file, methods=["GET"])
    bp.add_url_rule("/healthz", "healthz", healthz)
    bp.add_url_rule("/metrics", "metrics", metrics)
    bp.before_request(allowed_host)
    bp.before_request(same_origin_writes)
    bp.before_request(cap_body_size)
    bp.after_request(security_headers)
    bp.register_error_handler(CollabError, collab_error)
    bp.register_error_handler(HTTPException, http_error)
    return bp


def _state() -> Any:
    return current_app.extensions["collab"]


def error_body(code: str, message: str, status: int) -> tuple[Response, int]:
    """``{"error": {"code", "message"}}`` with ``status``."""
    return jsonify({"error": {"code": code, "message": message}}), status


def collab_error(exc: CollabError) -> tuple[Response, int]:
    """A :class:`CollabError` as a JSON error response (``Retry-After`` where it says when to)."""
    resp, status = error_body(exc.code, exc.message, exc.http_status)
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        resp.headers["Retry-After"] = str(retry)
    return resp, status


_HTTP_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "too_large", 429: "rate_limited"}


def http_error(exc: HTTPException) -> tuple[Response, int]:
    """Werkzeug's HTTP errors (405, 415, ...) as JSON bodies."""
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal")
    return error_body(code, exc.description or exc.name, status)


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def same_origin_writes() -> None:
    """Refuse cross-site writes: a browser sends ``Origin``; it must be this site or allowed.

    With JSON-only bodies (415 otherwise) this is collab's CSRF defence: a form on
    another site can neither send JSON nor pass this check.
    """
    if request.method not in WRITE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin is None or origin == request.host_url.rstrip("/"):
        return
    # Behind a TLS proxy the browser's origin is https://public-host while this server
    # sees http://: the proxy says so in X-Forwarded-*. A cross-site page cannot set these
    # headers (they need a CORS preflight, which collab never grants), so they are safe here.
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or request.host
    if proto and origin == f"{proto}://{host}":
        return
    allowed = _state().config["COLLAB_CORS_ORIGINS"]
    if allowed == "*" or (isinstance(allowed, (list, tuple)) and origin in allowed) or origin == allowed:
        return
    raise Forbidden(f"cross-site request from {origin} refused; add it to COLLAB_CORS_ORIGINS to allow it")


def allowed_host() -> None:
    """Requests whose ``Host`` is not in ``COLLAB_ALLOWED_HOSTS`` (when set) are refused with 400."""
    patterns = _state().config["COLLAB_ALLOWED_HOSTS"]
    if patterns and not hosts.allowed(request.host, patterns):
        raise BadRequest(f"host {request.host!r:.80} is not served here; add it to COLLAB_ALLOWED_HOSTS")


def cap_body_size() -> None:
    """Bodies of collab's routes are at most ``COLLAB_MAX_MESSAGE_BYTES`` (413 ``too_large`` beyond).

    Set per request, so a host application's own routes keep their own limit.
    """
    config = _state().config
    uploading = request.endpoint == "collab.upload_file"
    limit = int(config["COLLAB_MAX_FILE_BYTES" if uploading else "COLLAB_MAX_MESSAGE_BYTES"])
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        key = "COLLAB_MAX_FILE_BYTES" if uploading else "COLLAB_MAX_MESSAGE_BYTES"
        raise TooLarge(f"the body is larger than {limit} bytes ({key})")


def _json_body(required: bool) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("send a JSON object body with Content-Type: application/json")
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("the body must be JSON: set Content-Type: application/json")
    try:
        data = request.get_json(force=True)
    except (HTTPException, ValueError, RecursionError):  # RecursionError: nested past the parser's limit
        raise BadRequest("the body is not valid JSON (or nests too deep)") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _note_id(name: str) -> str:
    try:
        return protocol.note_id(name)
    except BadRequest as exc:
        raise NotFound(f"no note {name!r}: {exc.message}") from None


def _require(role_needed: str, note: str | None) -> None:
    role = _state().authorize_http(note)
    if role_needed == roles.EDIT:
        roles.require_edit(role, note)
    else:
        roles.require_view(role, note)


def _creator_role() -> str | None:
    """This visitor's role for creating a note (``note`` is ``None``): the rule ``POST /api/notes``
    applies, and the list page asks to offer *New note* or not."""
    return _state().authorize_http(None)


# -- pages ---------------------------------------------------------------------------
def _may_create() -> bool:
    """Whether the list may offer *New note*: the API would accept it.

    A hook that refuses by raising, or answers what is no role, says no here (the API
    answers those as errors; the page still renders).
    """
    try:
        return roles.may_edit(_creator_role())
    except (CollabError, ConfigError):
        return False


def _login_url() -> str | None:
    """``COLLAB_LOGIN_URL``: a URL, or a function returning one for this request (e.g. with ``?next=``)."""
    value = _state().config["COLLAB_LOGIN_URL"]
    if callable(value):
        value = value()
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"COLLAB_LOGIN_URL returned {type(value).__name__}; return a URL string or None")
    return value or None


def _page_config(note: str | None) -> dict[str, Any]:
    state = _state()
    return {
        "loginUrl": _login_url(),
        "canCreate": _may_create(),
        "note": note,
        "namespace": state.namespace_name,
        "socketioPath": state.socketio_path(),
        "api": url_for("collab.list_notes"),
        "home": url_for("collab.index"),
        "notePage": url_for("collab.note_page", note="__NOTE__"),
        "static": url_for("collab.static", filename=""),
    }


def index() -> str:
    """``GET /``: the note list."""
    return render_template("collab/index.html", collab_config=_page_config(None))


def note_page(note: str) -> str:
    """``GET /n/<note>``: the drawing page."""
    _note_id(note)
    return render_template("collab/note.html", note_id=note, collab_config=_page_config(note))


# -- API --------------------------------------------------------------------------------
#: ``GET /api/notes``: rows a page holds by default, and at most.
LIST_DEFAULT, LIST_MAX = 100, 1000


def _int_arg(name: str, low: int, high: int | None = None) -> int | None:
    """An integer query argument within [low, high], ``None`` when absent, else 400 ``bad_request``."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"{name} must be an integer >= {low}" + (f" and <= {high}" if high is not None else ""))
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{name} must be from {low} to {high}" if high is not None else f"{name} must be >= {low}")
    return value


def list_notes() -> Response:
    """``GET /api/notes``: the most recently updated notes first, a page at a time (``Link: rel="next"``)."""
    _require("view", None)
    state = _state()
    limit = _int_arg("limit", 1, LIST_MAX) or LIST_DEFAULT
    after = request.args.get("after")
    rows = state.blocking(functools.partial(state.store.list, limit + 1, after))
    page, more = rows[:limit], len(rows) > limit
    rows = []
    for n in page:
        role = state.authorize_http(n.id)
        if role is not None:  # a note the visitor may not open is not listed
            rows.append({**n.as_row(), "role": role})  # collab's own field: the list offers edits to editors only
    resp = jsonify(rows)
    if more:
        nxt = url_for("collab.list_notes", limit=limit, after=state.store.cursor(page[-1]))
        resp.headers["Link"] = f'<{nxt}>; rel="next"'
    return resp


def create_note() -> tuple[Response, int]:
    """``POST /api/notes``: a fresh note with a random id."""
    body = _json_body(required=False)
    title = protocol.title(body["title"]) if "title" in body else "Untitled"
    roles.require_edit(_creator_role(), None)
    state = _state()
    limit = state.config.get("COLLAB_MAX_NOTES")
    for _ in range(5):
        info = state.blocking(state.store.create, secrets.token_urlsafe(9), title, limit)
        if info is not None:
            state.signal("note_created", note=info)
            return jsonify(info.as_row()), 201
    raise CollabError("could not find a free note id")  # pragma: no cover - 72 random bits


#: Export formats: what ``GET /api/notes/<note>.<ext>`` answers with.
EXPORTS = {"svg": "image/svg+xml", "png": "image/png"}


def get_note(name: str) -> Response:
    """``GET /api/notes/<note>`` (and ``.svg`` / ``.png`` exports); ``?at=`` for history, ``?width=`` for PNG."""
    stem, dot, ext = name.partition(".")
    note = _note_id(stem)
    if dot and ext not in EXPORTS:
        raise NotFound(f"no export format {ext!r}: use .svg or .png")
    at = _int_arg("at", 0)
    width = _int_arg("width", 16, 4096) if ext == "png" else None
    _require("view", note)
    state = _state()
    if not ext:
        read = (
            functools.partial(state.store.strokes, note)
            if at is None
            else functools.partial(state.store.state_at, note, at)
        )
        got = state.blocking(read)
        if got is None:
            raise NotFound(f"note {note!r} does not exist")
        info, strokes = got
        return jsonify({"id": info.id, "title": info.title, "seq": info.seq, "epoch": info.epoch, "strokes": strokes})
    info = state.blocking(state.store.get, note)
    if info is None:
        raise NotFound(f"note {note!r} does not exist")
    tag = _etag(info, at, ext, width)
    if request.if_none_match.contains(tag):
        resp = Response(status=304)
        resp.set_etag(tag)
        return resp
    from . import render

    max_points = state.config["COLLAB_MAX_EXPORT_POINTS"]

    def draw() -> tuple[str, bytes | str]:
        got = state.store.strokes(note) if at is None else state.store.state_at(note, at)
        if got is None:
            raise NotFound(f"note {note!r} does not exist")
        drawn = _etag(got[0], at, ext, width)  # the note may have moved on since its tag was made
        wanted = sorted({i["file"] for i in got[1] if i.get("tool") == "image" and isinstance(i.get("file"), str)})
        images = state.store.file_bytes(note, wanted) if wanted else None
        if ext == "svg":
            return drawn, render.to_svg(got[1], max_points=max_points, images=images)
        return drawn, render.to_png(got[1], width=width, max_points=max_points, images=images)

    tag, body = state.exports.render(tag, draw, state.blocking)
    resp = Response(body, mimetype=EXPORTS[ext])
    resp.headers["Content-Disposition"] = exports.content_disposition(info.title, info.id, ext)
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-cache"  # revalidate: the note may change any time
    return resp


def _etag(info: Any, at: int | None, ext: str, width: int | None) -> str:
    """What an export shows depends on the note's incarnation, the seq drawn, the format and width only."""
    return exports.etag(info.id, info.epoch, info.seq if at is None else at, ext, width)


def rename_note(name: str) -> Response:
    """``PATCH /api/notes/<note>``: ``{"title"}``."""
    note = _note_id(name)
    body = _json_body(required=True)
    if "title" not in body:
        raise BadRequest('send {"title": "..."}')
    title = protocol.title(body["title"])
    _require("edit", note)
    state = _state()
    info = state.blocking(state.store.rename, note, title)
    if info is None:
        raise NotFound(f"note {note!r} does not exist")
    state.namespace.note_renamed(note, info.title)
    return jsonify(info.as_row())


def delete_note(name: str) -> tuple[str, int]:
    """``DELETE /api/notes/<note>``: 204; members get ``deleted``."""
    note = _note_id(name)
    _require("edit", note)
    state = _state()
    if not state.blocking(state.store.delete, note):
        raise NotFound(f"note {note!r} does not exist")
    state.namespace.note_deleted(note)
    state.signal("note_deleted", note=note)
    return "", 204


def share_note(name: str) -> tuple[Response, int]:
    """``POST /api/notes/<note>/share`` ``{"role": "view"|"edit"}``: a signed share link (editors only)."""
    note = _note_id(name)
    body = _json_body(required=False)
    role = body.get("role", roles.VIEW)
    if role not in roles.ROLES:
        raise BadRequest("role must be 'view' or 'edit'")
    _require("edit", note)
    state = _state()
    if state.blocking(state.store.get, note) is None:
        raise NotFound(f"note {note!r} does not exist")
    token = state.share.make(note, role)
    url = url_for("collab.note_page", note=note, share=token, _external=True)
    return jsonify({"note": note, "role": role, "token": token, "url": url}), 201


def upload_file(name: str) -> tuple[Response, int]:
    """``POST /api/notes/<note>/files``: an image's raw bytes → 201 ``{"file", "type", "bytes", "width", "height"}``."""
    note = _note_id(name)
    _require("edit", note)
    state = _state()
    config = state.config
    data = request.get_data(cache=False)
    upload = state.blocking(
        files.check,
        data,
        request.content_type,
        int(config["COLLAB_MAX_FILE_BYTES"]),
        int(config["COLLAB_MAX_IMAGE_PIXELS"]),
    )
    state.blocking(state.store.put_file, note, upload, data, config["COLLAB_MAX_NOTE_FILE_BYTES"])
    resp = jsonify(upload.as_json())
    resp.headers["Location"] = url_for("collab.get_file", name=note, file=upload.file)
    return resp, 201


#: A served file may run nothing and embed nothing, whatever a browser takes it for.
FILE_CSP = "default-src 'none'; sandbox"


def get_file(name: str, file: str) -> Response:
    """``GET /api/notes/<note>/files/<file>``: the bytes, immutable, with the type they were stored with."""
    note = _note_id(name)
    try:
        file = files.file_id(file)
    except BadRequest as exc:
        raise NotFound(f"no file {file!r:.80} in note {note!r}: {exc.message}") from None
    _require("view", note)
    state = _state()
    if request.if_none_match.contains(file):
        resp = Response(status=304)
    else:
        got = state.blocking(state.store.get_file, note, file)
        if got is None:
            raise NotFound(f"note {note!r} holds no file {file!r}")
        resp = Response(got[1], mimetype=got[0])
    resp.set_etag(file)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    resp.headers["Content-Security-Policy"] = FILE_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


#: The pages load only their own scripts; the JSON config block is data, not script.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)


def security_headers(resp: Response) -> Response:
    """Headers every collab response carries; pages also get a CSP."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return resp


def metrics() -> Response:
    """``GET /metrics``: Prometheus text format (``COLLAB_METRICS=false`` turns it off)."""
    state = _state()
    if state.metrics is None:
        raise NotFound("metrics are turned off (COLLAB_METRICS)")
    body, ctype = state.metrics.render()
    return Response(body, content_type=ctype)


def healthz() -> tuple[Response, int]:
    """``GET /healthz``: 200 when the server and its store answer, else 503."""
    state = _state()
    try:
        state.blocking(state.store.ping)
    except CollabError as exc:
        return jsonify({"ok": False, "error": exc.to_dict()}), 503
    return jsonify({"ok": True}), 200
