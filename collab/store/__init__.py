"""Storage backends, chosen by the URL's scheme.

``sqlite:///path/to/file.db`` (the default, WAL mode) and
``postgresql://user@host/db`` (psycopg 3) are served by
:class:`~collab.store.sql.SQLStore`. Drivers are imported lazily, so a missing
one fails with a message that says what to install.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import Store

__all__ = ["Store", "open_store"]


def open_store(url: str, **options: Any) -> Store:
    """Open the store a SQLAlchemy-style URL names."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres"):
        from .sql import SQLStore

        return SQLStore(url, **options)
    raise ConfigError(
        f"unsupported database URL {url.split('@')[-1]!r}: use sqlite:///path/to/file.db "
        "or postgresql://user@host/dbname"
    )
