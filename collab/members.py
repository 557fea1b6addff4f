"""Where this process has members, recorded in the store, so that a batch crosses only where it must.

With several processes on collab's Redis queue, a committed batch is
published for the other processes to emit. Most notes have all their members
on one process (with note-affine routing, every note does), and then the
message is work for nothing: encoded, sent, received and dropped by every
other process. So each process records in the store the notes it has members
in, and a batch's commit reads those records with its own rows: the batch is
published only when another process has members of its note.

Nothing is lost by it. A join records its note before it reads, through the
committer, in order with the records of leaving; and the store makes that
record wait for every batch that read the records before it was there
(:meth:`~collab.store.base.Store.update_members`). Such a batch has committed
before the join reads, so its ops are in the catch-up; every later batch sees
the record and is published.

A record is taken back once its note's last member here has left (at the next
:meth:`Members.sweep`). A process that dies leaves its records behind: the
others then publish to nobody until :meth:`Members.reap` sees in shared
presence that it is gone. A process whose heartbeat lapsed (Redis was away
long enough for the others to count it dead) records its notes again under a
new id (:meth:`Members.renew`), since the others may be deleting the old one's.

A process that records nothing (an earlier collab, or a host's own
python-socketio Redis manager) says so in its heartbeat; while one is alive,
every batch is published as before (:meth:`Members.follow`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .errors import CollabError
from .model import MemberChange

log = logging.getLogger("collab.socket")


class Members:
    """The notes this process has members in, as recorded in the store (one per namespace)."""

    def __init__(self, store: Any, committer: Any, runtime: Any, base: str, has_members: Callable[[str], bool]) -> None:
        self._store = store
        self._committer = committer
        self._runtime = runtime
        self._base = base
        self._incarnation = 0
        self._has_members = has_members
        #: note id -> the record of entering it, queued or written
        self._entered: dict[str, MemberChange] = {}
        self._lock = threading.Lock()  # the threading mode: join and sweep from different threads
        #: This process's id in the store's records.
        self.proc = f"{base}.0"
        self._skipping = False  # until follow() knows every process records its members

    def enter(self, note: str) -> MemberChange:
        """The record that this process has members in ``note``, queued now unless it already is.

        Call it once the connection is in the note's room, and read the note
        only once the record's ``done`` is set without ``error``.
        """
        with self._lock:
            change = self._entered.get(note)
            if change is None or change.error is not None:
                change = self._entered[note] = self._committer.track(self.proc, note, True)
            return change

    def follow(self, everyone_records: bool) -> None:
        """Publish only where members are while ``everyone_records``; else publish every batch.

        A process of an earlier collab, or one on python-socketio's own Redis
        manager, records nothing and would miss the ops it was not sent.
        """
        with self._lock:
            if everyone_records != self._skipping:
                self._skipping = everyone_records
                self._store.track_members(self.proc if everyone_records else None)
                log.info("members: %s", "batches cross only where members are" if everyone_records
                         else "a process that does not record its members is alive: every batch crosses")  # fmt: skip

    def sweep(self) -> None:
        """Take back the records of the notes nobody here is in any more."""
        with self._lock:
            for note, change in list(self._entered.items()):
                if change.done.is_set() and not self._has_members(note):
                    del self._entered[note]
                    self._committer.track(self.proc, note, False)

    def renew(self) -> None:
        """Record every note again under a new id, and take back the old id's records.

        For a process whose heartbeat lapsed: the others may have counted it
        dead, and be deleting the records of its old id.
        """
        with self._lock:
            old = self.proc
            self._incarnation += 1
            self.proc = f"{self._base}.{self._incarnation}"
            if self._skipping:
                self._store.track_members(self.proc)
            for note in self._entered:
                self._entered[note] = self._committer.track(self.proc, note, True)
                self._committer.track(old, note, False)
        log.warning("members: this process's heartbeat had lapsed; its notes are recorded again as %s", self.proc)

    def reap(self, alive: Callable[[set[str]], set[str]]) -> None:
        """Forget the records of the processes that ``alive`` (shared presence) no longer counts alive."""
        procs = self._runtime.blocking(self._store.member_processes)
        bases = {proc.rsplit(".", 1)[0] for proc in procs}
        living = alive(bases)
        dead = sorted(proc for proc in procs if proc.rsplit(".", 1)[0] not in living)
        if dead:
            self._runtime.blocking(self._store.forget_members, dead)
            log.info("members: forgot the records of %d processes that are gone", len(dead))

    def close(self) -> None:
        """Take back every record of this process (at shutdown)."""
        with self._lock:
            self._entered.clear()
        try:
            self._store.forget_members([self.proc])
        except CollabError as exc:  # the others forget them once this process's heartbeat expires
            log.warning("members: taking back this process's records failed: %s", exc)
