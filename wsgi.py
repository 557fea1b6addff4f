"""WSGI entry point of a checkout, for production servers.

    gunicorn -k gevent -w 1 --bind 127.0.0.1:5000 wsgi:app

``app`` is :func:`collab.server.wsgi_app`'s: :func:`collab.create_app` with settings
from ``COLLAB_*`` environment variables (docs/configuration.md), gevent's
monkey-patching if the server did not apply it, and collab's speed-ups, as
``python app.py`` has them. Without a checkout (the wheel), the same app is
``gunicorn ... 'collab.server:wsgi_app()'``.
"""

from collab.server import wsgi_app

app = wsgi_app()
