"""An existing Flask site with whiteboards from collab mounted at ``/whiteboard``.

The site has its own pages (a home page, log in / log out with Flask-Login), its
own Socket.IO server and its own ``chat`` event on the default namespace ``/``.
Collab is added with a few lines (see "collab" below): logged-in users may draw,
everyone else may look; notes whose id starts with ``private-`` are hidden from
visitors unless they hold a share link. The site logs collab's signals and shows
the last ones at ``/activity``.

Run it (gevent, as in production)::

    python examples/host_site/app.py --port 5001
    # open http://127.0.0.1:5001/ : log in as alice / alice-pw or bob / bob-pw

``create_app(config)`` builds the site without serving it (tests use it).
"""

from __future__ import annotations

if __name__ == "__main__":
    # gevent must patch the standard library before anything else imports it.
    from gevent import monkey

    monkey.patch_all()

import argparse
import collections
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from flask import Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_socketio import SocketIO, emit

HERE = Path(__file__).resolve().parent
try:
    import collab as _collab_pkg  # noqa: F401
except ModuleNotFoundError:  # a checkout without `pip install -e .`: use the repository's package
    sys.path.insert(0, str(HERE.parents[1]))

from collab import Collab, signals  # noqa: E402
from collab.config import from_env  # noqa: E402
from collab.logs import RedactSecrets  # noqa: E402

log = logging.getLogger("host_site")


# -- the site's own users (a real site has a database) ---------------------------------------------
class User(UserMixin):
    """A user of the host site."""

    def __init__(self, user_id: str, name: str, password: str) -> None:
        self.id = user_id
        self.name = name
        self.password = password


USERS = {u.id: u for u in (User("alice", "Alice", "alice-pw"), User("bob", "Bob", "bob-pw"))}

login_manager = LoginManager()
login_manager.login_view = "login"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login: the user stored in the session cookie."""
    return USERS.get(user_id)


# -- collab: the few lines that add whiteboards ------------------------------------------------------
def login_url() -> str:
    """Where collab's pages send a visitor to log in (``COLLAB_LOGIN_URL``), and back here afterwards."""
    return url_for("login", next=request.full_path if request.query_string else request.path)


collab = Collab(url_prefix="/whiteboard", login_url=login_url)


class Visitor:
    """Who a collab connection or request is: a user id (or None) and a share token (or None)."""

    def __init__(self, user: str | None, token: str | None) -> None:
        self.user = user
        self.token = token


@collab.identify
def identify(auth: dict[str, Any] | None) -> Visitor:
    """Flask-Login's user; for a socket ``auth`` is its connect payload, for HTTP it is None."""
    user = current_user.get_id() if current_user.is_authenticated else None
    if auth is not None:
        token = auth.get("token")
    else:
        token = request.headers.get("X-Collab-Token") or request.args.get("share")
    return Visitor(user, token)


@collab.authorize
def authorize(who: Visitor, note: str | None) -> str | None:
    """Logged-in users edit; others view, except ``private-*`` notes (a share link opens them)."""
    if who.user is not None:
        return "edit"
    if note is not None:
        shared = collab.share_role(who.token, note)
        if shared is not None:
            return shared
        if note.startswith("private-"):
            return None
    return "view"


def _local_path(target: str) -> bool:
    """Whether ``next`` is a path on this site: ``/x``, never ``//host``, ``/\\host`` or ``/\t/host``.

    Browsers drop tabs and newlines from URLs and read backslashes as slashes, so
    ``/%09/evil.example`` is ``//evil.example`` to them.
    """
    from urllib.parse import urlsplit

    if not target.startswith("/") or not target.isprintable() or "\\" in target or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# -- signals: the site logs what happens on its whiteboards ------------------------------------------
def _watch_signals(app: Flask) -> None:
    """Keep the last collab events in ``app.extensions["host_site.activity"]`` (shown at /activity)."""
    activity: collections.deque[dict[str, Any]] = collections.deque(maxlen=500)
    app.extensions["host_site.activity"] = activity

    def created(sender: Flask, note: Any, **extra: Any) -> None:
        activity.append({"event": "note_created", "note": note.id, "title": note.title})

    def deleted(sender: Flask, note: str, **extra: Any) -> None:
        activity.append({"event": "note_deleted", "note": note})

    def applied(sender: Flask, note: str, op: dict[str, Any], **extra: Any) -> None:
        activity.append({"event": "op_applied", "note": note, "type": op["type"], "seq": op["seq"]})

    def joined(sender: Flask, note: str, peer: dict[str, Any], role: str, **extra: Any) -> None:
        activity.append({"event": "member_joined", "note": note, "peer": peer["peer"], "role": role})

    def left(sender: Flask, note: str, peer: dict[str, Any], **extra: Any) -> None:
        activity.append({"event": "member_left", "note": note, "peer": peer["peer"]})

    # weak=False: these receivers are local functions; blinker would otherwise drop them.
    signals.note_created.connect(created, sender=app, weak=False)
    signals.note_deleted.connect(deleted, sender=app, weak=False)
    signals.op_applied.connect(applied, sender=app, weak=False)
    signals.member_joined.connect(joined, sender=app, weak=False)
    signals.member_left.connect(left, sender=app, weak=False)


# -- the site -----------------------------------------------------------------------------------------
def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The host site; ``config`` overrides its settings (``SOCKETIO_ASYNC_MODE``: gevent by default)."""
    app = Flask(__name__, root_path=str(HERE))
    app.config.update(
        SECRET_KEY=os.environ.get("HOST_SITE_SECRET_KEY") or secrets.token_hex(32),
        SOCKETIO_ASYNC_MODE="gevent",
        COLLAB_DATABASE="sqlite:///host_site.db",
    )
    app.config.update(config or {})
    login_manager.init_app(app)

    # The site's own Socket.IO server, with the site's own settings.
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    # In threading mode, async_handlers=False keeps each connection's events in order (docs/embedding.md).
    socketio = SocketIO(app, async_mode=mode, async_handlers=mode != "threading")
    collab.init_app(app, socketio=socketio)  # whiteboards at /whiteboard, sockets on /notes
    _watch_signals(app)

    @app.before_request
    def staff_only_metrics() -> Any:
        # collab's Prometheus metrics are for the site's own people, not the public.
        if request.endpoint == "collab.metrics" and not current_user.is_authenticated:
            abort(404)
        return None

    @app.get("/")
    def home() -> str:
        return render_template("home.html")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "POST":
            user = USERS.get(request.form.get("username", ""))
            if user is not None and secrets.compare_digest(user.password, request.form.get("password", "")):
                login_user(user)
                target = request.args.get("next", "")
                return redirect(target if _local_path(target) else url_for("home"))
            flash("Wrong user name or password.")
        return render_template("login.html", users=USERS.values())

    @app.post("/logout")
    def logout() -> Any:
        logout_user()
        return redirect(url_for("home"))

    @app.get("/activity")
    @login_required
    def activity() -> Any:
        return jsonify(list(app.extensions["host_site.activity"]))

    @app.get("/me")
    def me() -> Any:
        return jsonify({"user": current_user.get_id() if current_user.is_authenticated else None})

    # The site's own real-time feature: a chat on the default namespace "/".
    @socketio.on("chat")
    def chat(data: Any) -> dict[str, Any]:
        text = str((data or {}).get("text", "")).strip()[:500] if isinstance(data, dict) else ""
        if not text:
            return {"ok": False, "error": "empty message"}
        who = current_user.name if current_user.is_authenticated else "guest"
        emit("chat", {"user": who, "text": text}, broadcast=True)
        return {"ok": True}

    return app


def main(argv: list[str] | None = None) -> int:
    """``python examples/host_site/app.py [--host H] [--port P] [--database URL]``."""
    p = argparse.ArgumentParser(description="An example Flask site with collab whiteboards at /whiteboard.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--database", default="sqlite:///host_site.db", help="collab's store (SQLAlchemy URL)")
    p.add_argument("--log-level", default="info")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:  # gevent-websocket logs request lines: share tokens included
        handler.addFilter(RedactSecrets())
    app = create_app({**from_env(), "COLLAB_DATABASE": args.database})
    socketio: SocketIO = app.extensions["socketio"]

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if socketio.async_mode == "gevent":
        import gevent

        # gevent runs signal handlers in a greenlet of their own: raise in the main one, quietly
        main_greenlet = gevent.getcurrent()
        gevent.signal_handler(signal.SIGTERM, main_greenlet.throw, KeyboardInterrupt)
    else:
        signal.signal(signal.SIGTERM, stop)
    print(f"host site: http://{args.host}:{args.port}/ (whiteboards at /whiteboard/)", file=sys.stderr, flush=True)
    try:
        socketio.run(app, host=args.host, port=args.port, log_output=False)
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["collab"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
