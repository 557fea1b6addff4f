"""Roles, in one place: who may look at a note and who may change it.

A connection or request has, per note, the role ``"edit"``, ``"view"`` or
none (``None``). The access hooks (:mod:`collab.extension`), share links
(:mod:`collab.access`), the realtime handlers and the HTTP views all ask here.
"""

from __future__ import annotations

from typing import Final

from .errors import Forbidden

EDIT: Final = "edit"
VIEW: Final = "view"
#: Every role a note may grant, strongest first.
ROLES: tuple[str, ...] = (EDIT, VIEW)


def may_edit(role: str | None) -> bool:
    """Whether ``role`` may change a note (ops, drafts, rename, delete, share links)."""
    return role == EDIT


def may_view(role: str | None) -> bool:
    """Whether ``role`` may see a note (join, export, list)."""
    return role in ROLES


def require_edit(role: str | None, note: str | None) -> None:
    """:class:`~collab.errors.Forbidden` unless ``role`` may change ``note``."""
    if not may_edit(role):
        if role is not None and note is not None:
            raise Forbidden(f"you may view note {note!r} but not change it")
        raise Forbidden("you may not do this to this note" if note else "you may not do this")


def require_view(role: str | None, note: str | None) -> None:
    """:class:`~collab.errors.Forbidden` unless ``role`` may see ``note``."""
    if not may_view(role):
        raise Forbidden(f"you may not open note {note!r}" if note else "you may not do this")
