"""The standalone app factory: ``collab.create_app(config)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from . import config as _config
from .extension import Collab
from .views import http_error


def create_app(config: Mapping[str, Any] | None = None, *, from_env: bool = True) -> Flask:
    """A Flask app serving collab at the root, with its own Socket.IO server.

    Settings come from :data:`collab.config.DEFAULTS`, then ``COLLAB_*``
    environment variables (unless ``from_env=False``), then ``config``.
    """
    app = Flask("collab", static_folder=None, template_folder=None)
    if from_env:
        app.config.update(_config.from_env())
    if config:
        app.config.update(config)
    if app.config.get("COLLAB_SECRET_KEY") and not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = app.config["COLLAB_SECRET_KEY"]
    Collab(app)

    @app.errorhandler(HTTPException)
    def _json_errors(exc: HTTPException) -> Any:
        # Routing errors (unknown path, wrong method) under the API are JSON too.
        if "/api/" in request.path or request.path.endswith("/healthz"):
            return http_error(exc)
        return exc

    return app
