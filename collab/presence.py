"""Who is in which note: the presence registry of one process.

Pure bookkeeping, no I/O and no emits; the namespace announces changes. Its
lock is never held while anything is sent (a send can run a disconnect handler
synchronously, which calls back in here).
"""

from __future__ import annotations

import threading
from typing import Any

Peer = dict[str, str]

#: Colours handed to peers that did not choose one (readable on white).
PALETTE = (
    "#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5", "#0c8599",
    "#e8590c", "#5c940d", "#3b5bdb", "#c2255c", "#087f5b", "#6741d9",
)  # fmt: skip


def default_color(peer_id: str) -> str:
    """A palette colour chosen from the peer id (stable for one connection)."""
    return PALETTE[sum(peer_id.encode()) % len(PALETTE)]


class Presence:
    """note id → {peer id → peer}, in join order (this process only)."""

    #: True when the peer lists span several processes (see :mod:`collab.presence_redis`).
    shared = False
    #: Seconds between :meth:`heartbeat` calls a shared registry needs.
    beat = 2.0

    def __init__(self) -> None:
        self._notes: dict[str, dict[str, Peer]] = {}
        self._lock = threading.Lock()

    def add(self, note: str, peer: Peer) -> tuple[list[Peer], bool]:
        """Add ``peer`` to ``note``: (the peers now, whether that changed anything)."""
        with self._lock:
            members = self._notes.setdefault(note, {})
            changed = peer["peer"] not in members
            members[peer["peer"]] = peer
            return list(members.values()), changed

    def update(self, note: str, peer: Peer) -> list[Peer]:
        """Change a member's name or colour, keeping its place in the list: the peers now."""
        with self._lock:
            members = self._notes.setdefault(note, {})
            members[peer["peer"]] = peer
            return list(members.values())

    def remove(self, note: str, peer_id: str) -> list[Peer] | None:
        """Remove a peer; the peers left, or ``None`` if it was not there."""
        with self._lock:
            members = self._notes.get(note)
            if members is None or members.pop(peer_id, None) is None:
                return None
            if not members:
                del self._notes[note]
            return list(members.values())

    def peers(self, note: str) -> list[Peer]:
        """The peers in ``note``, in join order."""
        with self._lock:
            return list(self._notes.get(note, {}).values())

    def drop(self, note: str) -> None:
        """Forget a note (it was deleted)."""
        with self._lock:
            self._notes.pop(note, None)

    def counts(self) -> dict[str, Any]:
        """Rooms and members, for metrics."""
        with self._lock:
            return {"rooms": len(self._notes), "members": sum(len(m) for m in self._notes.values())}

    def heartbeat(self) -> bool:
        """Tell other processes this one is alive (shared registries only).

        True when it had not been told for so long that they may have counted
        this process dead (its liveness lapsed).
        """
        return False

    def all_record_members(self) -> bool:
        """Whether every other live process records where its members are (:mod:`collab.members`)."""
        return True

    def alive(self, procs: set[str]) -> set[str]:
        """Those of the process ids ``procs`` that are alive (a registry of one process cannot tell: all)."""
        return set(procs)

    def reap(self) -> list[tuple[str, list[Peer]]]:
        """Forget members of dead processes: (note, peers now) for each note changed."""
        return []

    def restore(self) -> list[tuple[str, list[Peer]]]:
        """List this process's members again after its liveness lapsed: (note, peers now) for each note changed.

        Other processes may have counted it dead meanwhile and reaped its members.
        """
        return []

    def close(self) -> None:
        """Remove this process's members (shared registries only)."""
