"""collab: a real-time collaboration server for shared notes you draw on together.

Standalone::

    from collab import create_app
    app = create_app({"COLLAB_DATABASE": "sqlite:///notes.db"})

Embedded in an existing Flask site::

    from collab import Collab
    collab = Collab()
    collab.init_app(app, socketio=socketio)

Names are imported lazily, so ``collab.server`` can monkey-patch for gevent or
eventlet before Flask and the standard library's threading are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Collab", "CollabError", "__version__", "create_app"]

if TYPE_CHECKING:
    from .errors import CollabError
    from .extension import Collab
    from .factory import create_app


def __getattr__(name: str) -> Any:
    if name == "Collab":
        from .extension import Collab

        return Collab
    if name == "create_app":
        from .factory import create_app

        return create_app
    if name == "CollabError":
        from .errors import CollabError

        return CollabError
    raise AttributeError(f"module 'collab' has no attribute {name!r}")
