"""Signals a host application can subscribe to (blinker, as Flask uses).

Each is sent with the Flask app as sender::

    from collab import signals

    @signals.op_applied.connect_via(app)
    def log_op(app, note, op, **extra):
        ...

- ``note_created(note=NoteInfo)``: a note was created (by a join or the API).
- ``note_deleted(note=str)``: a note was deleted.
- ``op_applied(note=str, op=dict)``: an op was committed (stroke, remove, clear).
- ``member_joined(note=str, peer=dict, role=str)`` / ``member_left(note=str, peer=dict)``.

Receivers run in the server's task that caused the event; keep them short, and
do not block (spawn a task for slow work).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

note_created = _signals.signal("collab.note-created")
note_deleted = _signals.signal("collab.note-deleted")
op_applied = _signals.signal("collab.op-applied")
member_joined = _signals.signal("collab.member-joined")
member_left = _signals.signal("collab.member-left")

BY_NAME = {
    "note_created": note_created,
    "note_deleted": note_deleted,
    "op_applied": op_applied,
    "member_joined": member_joined,
    "member_left": member_left,
}
