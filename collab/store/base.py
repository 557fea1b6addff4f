"""The storage interface: every backend implements :class:`Store`.

A store is synchronous and thread-safe for reads; writes arrive only through
:meth:`Store.apply`, which the committer calls from one thread of execution at
a time, with a batch of ops to commit in one transaction (group commit). The
store is the only module that talks SQL.
"""

from __future__ import annotations

import abc
import base64
from collections.abc import Sequence
from typing import Any

from .. import _json
from ..errors import BadRequest
from ..model import JoinState, NoteInfo, OpRequest


def encode_cursor(info: NoteInfo) -> str:
    """The opaque ``after`` cursor of a list page that ends with ``info``."""
    raw = _json.dumps([info.updated, info.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The (updated, id) position a cursor names; :class:`BadRequest` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated, note_id = _json.loads(raw)
        if not isinstance(updated, (int, float)) or not isinstance(note_id, str):
            raise ValueError
        return float(updated), note_id
    except (ValueError, TypeError):
        raise BadRequest("after is not a cursor this server made: follow the Link header as it is") from None


class Store(abc.ABC):
    """Durable notes, their items and op logs."""

    #: The URL the store was opened with, with any password hidden.
    url: str = ""
    #: True when several server processes may share this store safely.
    shared: bool = False

    @abc.abstractmethod
    def apply(self, batch: Sequence[OpRequest]) -> None:
        """Assign seqs to ``batch`` in order and commit it in one transaction.

        On return every request has either ``op`` set (and ``duplicate`` when a
        stroke id was already in the note) or ``error`` set. Nothing in the
        batch is reported as applied unless the transaction committed.
        """

    @abc.abstractmethod
    def join(
        self,
        note_id: str,
        since: int | None,
        create_title: str | None,
        *,
        epoch: str | None = None,
        max_notes: int | None = None,
        encoded: bool = False,
    ) -> JoinState | None:
        """Read a note for a join; create it first when ``create_title`` is given.

        Returns ``None`` for a note that does not exist (and was not created),
        or, when ``epoch`` is given, that exists with another epoch (then
        nothing is created). With ``since`` it returns the ops after ``since``,
        or the items with ``reset=True`` when the log cannot serve them.
        Creation past ``max_notes`` notes raises ``TooLarge``. ``encoded``:
        items and ops as ``orjson.Fragment`` of their stored JSON, spliced into
        the ack without decoding.
        """

    @abc.abstractmethod
    def get(self, note_id: str) -> NoteInfo | None:
        """One note's row, or ``None``."""

    @abc.abstractmethod
    def strokes(self, note_id: str) -> tuple[NoteInfo, list[dict]] | None:
        """A note and its current strokes (seq order), read in one snapshot."""

    @abc.abstractmethod
    def state_at(self, note_id: str, at: int) -> tuple[NoteInfo, list[dict]] | None:
        """The note just after op ``at`` (``NotFound`` past its seq or before its log), or ``None``."""

    @abc.abstractmethod
    def list(self, limit: int | None = None, after: str | None = None) -> list[NoteInfo]:
        """Notes, most recently updated first (ties by id); ``after``: a cursor from :meth:`cursor`."""

    def cursor(self, info: NoteInfo) -> str:
        """The opaque cursor of a list page that ends with ``info``."""
        return encode_cursor(info)

    @abc.abstractmethod
    def count(self) -> int:
        """How many notes there are."""

    @abc.abstractmethod
    def create(self, note_id: str, title: str, max_notes: int | None = None) -> NoteInfo | None:
        """Create an empty note; ``None`` if the id is taken, ``TooLarge`` past ``max_notes`` notes."""

    @abc.abstractmethod
    def rename(self, note_id: str, title: str) -> NoteInfo | None:
        """Change a note's title; ``None`` if there is no such note."""

    @abc.abstractmethod
    def delete(self, note_id: str) -> bool:
        """Delete a note with its strokes and ops; False if there was none."""

    @abc.abstractmethod
    def put_file(self, note_id: str, upload: Any, data: bytes, max_note_bytes: int | None = None) -> bool:
        """Keep an uploaded file of a note (:class:`collab.files.Upload`); False if it was there already."""

    @abc.abstractmethod
    def get_file(self, note_id: str, file_id: str) -> tuple[str, bytes] | None:
        """``(type, bytes)`` of a note's file, or ``None``."""

    @abc.abstractmethod
    def file_bytes(self, note_id: str, file_ids: Sequence[str]) -> dict[str, bytes]:
        """The bytes of those of ``file_ids`` the note holds."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise :class:`~collab.errors.StoreUnavailable` unless the database answers."""

    @abc.abstractmethod
    def secret(self) -> str:
        """A random secret made on first use and kept in the database (signs share links)."""

    # -- which process has members where (optional: then every batch is published) --
    def track_members(self, proc: str | None) -> None:  # noqa: B027 - optional hook
        """Set each committed op's ``elsewhere``: whether a process other than ``proc`` has members of its note.

        Several server processes publish a batch only to where it must cross.
        A store that does not track members leaves ``elsewhere`` True.
        """

    def update_members(self, proc: str, entered: Sequence[str], left: Sequence[str]) -> None:  # noqa: B027
        """Record that process ``proc`` has members in the notes ``entered`` and none in ``left``.

        When it returns, every later batch of those notes sees the record, and
        every earlier one has committed, so a join that reads after it misses
        no op that was not published.
        """

    def member_processes(self) -> set[str]:
        """The ids of the processes with members recorded by :meth:`update_members`."""
        return set()

    def forget_members(self, procs: Sequence[str]) -> None:  # noqa: B027 - optional hook
        """Delete what :meth:`update_members` recorded for processes that are gone."""

    def maintain(self) -> None:  # noqa: B027 - optional hook
        """Housekeeping the server runs off the event loop about once a second (optional).

        It runs beside commits, in a thread of its own, so work done here is
        work a commit no longer has to do.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
