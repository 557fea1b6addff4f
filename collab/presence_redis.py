"""Presence shared by several server processes, kept in Redis.

Socket.IO's participant lists are per process, so the peer list of a note is
kept in a Redis hash every process reads and writes:

- ``<prefix>:presence:<note>``: hash, peer id → JSON peer (with its process id and join time);
- ``<prefix>:proc:<id>``: a key each live process refreshes every ``beat`` seconds (TTL ``3 * beat``),
  ``members`` for a process that records where its members are (:mod:`collab.members`), else ``1``;
- ``<prefix>:proc-notes:<id>``: the notes where that process has members;
- ``<prefix>:procs``: every process id seen.

A process that dies stops refreshing its key. Readers ignore its entries at
once; :meth:`RedisPresence.reap` (run by every process, one wins per dead
process) deletes them and says which notes changed, so the namespace can
announce the new peer lists. A process that was only stalled (its key expired,
then it beat again) writes its members back with :meth:`RedisPresence.restore`;
the reaper deletes only while the key is still absent, in one script, so a
process back before the reaper is done keeps what it restored. If Redis does
not answer, presence degrades to this process's own members (logged), and
drawing goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from .presence import Peer, Presence

log = logging.getLogger("collab.presence")

#: KEYS: the process's liveness key, a presence hash; ARGV: peer ids. Deletes them unless the process is alive.
_FORGET_PEERS = """
if redis.call('exists', KEYS[1]) == 1 then return -1 end
return redis.call('hdel', KEYS[2], unpack(ARGV))
"""
#: KEYS: the liveness key, its proc-notes set, the procs set; ARGV: the process id. Forgets it unless it is alive.
_FORGET_PROC = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('del', KEYS[2])
redis.call('srem', KEYS[3], ARGV[1])
return 1
"""


class RedisPresence(Presence):
    """A :class:`~collab.presence.Presence` whose peer lists span every process."""

    shared = True

    def __init__(self, url: str, prefix: str = "collab", beat: float = 2.0) -> None:
        super().__init__()
        try:
            import redis
        except ImportError as exc:
            raise ImportError("shared presence needs the redis package: pip install redis") from exc
        self._redis_error: type[Exception] = redis.RedisError
        self.r: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True)
        self.proc = uuid.uuid4().hex[:12]
        self.prefix = prefix
        self.beat = beat
        self._alive_cache: dict[str, tuple[bool, float]] = {}
        self._cache_lock = threading.Lock()
        self._order = 0.0
        self._beaten = False  # a first heartbeat finds no mark to have lapsed
        #: Set by the namespace when this process records where its members are (collab.members).
        self.records_members = False
        self._forget_peers = self.r.register_script(_FORGET_PEERS)
        self._forget_proc = self.r.register_script(_FORGET_PROC)

    # -- keys -----------------------------------------------------------------
    def _k_note(self, note: str) -> str:
        return f"{self.prefix}:presence:{note}"

    def _k_proc(self, proc: str) -> str:
        return f"{self.prefix}:proc:{proc}"

    def _k_proc_notes(self, proc: str) -> str:
        return f"{self.prefix}:proc-notes:{proc}"

    def _k_procs(self) -> str:
        return f"{self.prefix}:procs"

    def _k_reap(self, proc: str) -> str:
        return f"{self.prefix}:reap:{proc}"

    # -- liveness -----------------------------------------------------------------
    def heartbeat(self) -> bool:
        """Mark this process alive (call every ``beat`` seconds); True if its mark had expired meanwhile."""
        try:
            pipe = self.r.pipeline()
            pipe.exists(self._k_proc(self.proc))
            mark = "members" if self.records_members else "1"
            pipe.set(self._k_proc(self.proc), mark, ex=max(1, int(self.beat * 3)))
            pipe.sadd(self._k_procs(), self.proc)
            existed = pipe.execute()[0]
        except self._redis_error as exc:
            log.warning("presence: Redis heartbeat failed: %s", exc)
            return False
        lapsed = self._beaten and not existed
        self._beaten = True
        return lapsed

    def alive(self, procs: set[str]) -> set[str]:
        """Those of ``procs`` whose heartbeat has not expired (answers are cached for half a beat)."""
        return self._alive(procs)

    def all_record_members(self) -> bool:
        """Whether every other live process records where its members are (False when Redis cannot tell)."""
        try:
            others = sorted(set(self.r.smembers(self._k_procs())) - {self.proc})
            marks = self.r.mget([self._k_proc(p) for p in others]) if others else []
        except self._redis_error as exc:
            log.warning("presence: cannot tell which processes record their members: %s", exc)
            return False
        return all(mark in (None, "members") for mark in marks)  # None: expired, that process is gone

    def _alive(self, procs: set[str]) -> set[str]:
        now = time.monotonic()
        alive = {self.proc} & procs
        unknown = []
        with self._cache_lock:
            for p in procs - alive:
                hit = self._alive_cache.get(p)
                if hit is not None and now - hit[1] < self.beat / 2:
                    if hit[0]:
                        alive.add(p)
                else:
                    unknown.append(p)
        if unknown:
            pipe = self.r.pipeline()
            for p in unknown:
                pipe.exists(self._k_proc(p))
            answers = pipe.execute()
            with self._cache_lock:
                for p, yes in zip(unknown, answers, strict=True):
                    self._alive_cache[p] = (bool(yes), now)
                    if yes:
                        alive.add(p)
        return alive

    def _read(self, note: str) -> list[Peer]:
        raw = self.r.hgetall(self._k_note(note))
        entries = [json.loads(v) for v in raw.values()]
        alive = self._alive({e.get("proc", "") for e in entries})
        live = [e for e in entries if e.get("proc") in alive]
        live.sort(key=lambda e: e.get("t", 0))
        return [{"peer": e["peer"], "name": e["name"], "color": e["color"]} for e in live]

    # -- the Presence interface ------------------------------------------------------
    def _entry(self, peer: Peer) -> str:
        self._order = max(time.time(), self._order + 1e-6)
        return json.dumps({**peer, "proc": self.proc, "t": self._order})

    def add(self, note: str, peer: Peer) -> tuple[list[Peer], bool]:
        local, changed = super().add(note, peer)
        try:
            pipe = self.r.pipeline()
            pipe.hsetnx(self._k_note(note), peer["peer"], self._entry(peer))
            pipe.sadd(self._k_proc_notes(self.proc), note)
            added, _ = pipe.execute()
            return self._read(note), bool(added)
        except self._redis_error as exc:
            log.warning("presence: Redis unavailable, showing this process's members only: %s", exc)
            return local, changed

    def update(self, note: str, peer: Peer) -> list[Peer]:
        local = super().update(note, peer)
        try:
            old = self.r.hget(self._k_note(note), peer["peer"])
            order = json.loads(old)["t"] if old else self._order
            self.r.hset(self._k_note(note), peer["peer"], json.dumps({**peer, "proc": self.proc, "t": order}))
            return self._read(note)
        except self._redis_error as exc:
            log.warning("presence: Redis unavailable, showing this process's members only: %s", exc)
            return local

    def remove(self, note: str, peer_id: str) -> list[Peer] | None:
        local = super().remove(note, peer_id)
        try:
            if not self.r.hdel(self._k_note(note), peer_id):
                return None
            return self._read(note)
        except self._redis_error as exc:
            log.warning("presence: Redis unavailable: %s", exc)
            return local

    def peers(self, note: str) -> list[Peer]:
        try:
            return self._read(note)
        except self._redis_error as exc:
            log.warning("presence: Redis unavailable: %s", exc)
            return super().peers(note)

    def drop(self, note: str) -> None:
        super().drop(note)
        try:
            self.r.delete(self._k_note(note))
        except self._redis_error as exc:
            log.warning("presence: Redis unavailable: %s", exc)

    def reap(self) -> list[tuple[str, list[Peer]]]:
        """Remove the members of dead processes; returns (note, peers now) for each note changed."""
        changed: list[tuple[str, list[Peer]]] = []
        try:
            procs = set(self.r.smembers(self._k_procs()))
            dead = procs - self._alive(procs)
            for proc in dead:
                # one process reaps each dead one
                if not self.r.set(self._k_reap(proc), self.proc, nx=True, ex=30):
                    continue
                live = self._k_proc(proc)
                for note in self.r.smembers(self._k_proc_notes(proc)):
                    key = self._k_note(note)
                    gone = [pid for pid, v in self.r.hgetall(key).items() if json.loads(v).get("proc") == proc]
                    forgot = [
                        self._forget_peers(keys=[live, key], args=gone[i : i + 1000]) for i in range(0, len(gone), 1000)
                    ]
                    if any(n > 0 for n in forgot):  # in scripts of 1,000 ids: Lua's unpack() has a limit
                        changed.append((note, self._read(note)))
                if self._forget_proc(keys=[live, self._k_proc_notes(proc), self._k_procs()], args=[proc]):
                    log.info("presence: reaped dead process %s (%d notes)", proc, len(changed))
                else:
                    log.info("presence: process %s came back while it was being reaped", proc)
        except self._redis_error as exc:
            log.warning("presence: reaping failed: %s", exc)
        return changed

    def restore(self) -> list[tuple[str, list[Peer]]]:
        """Write this process's members back into the shared lists (after :meth:`heartbeat` said it lapsed).

        Entries still there are left as they are (``HSETNX``); a note is
        returned only when one of its members had been reaped.
        """
        with self._lock:
            mine = {note: list(members.values()) for note, members in self._notes.items()}
        changed: list[tuple[str, list[Peer]]] = []
        try:
            self.r.delete(self._k_reap(self.proc))  # a later death must be reaped too
            for note, peers in mine.items():
                pipe = self.r.pipeline()
                for peer in peers:
                    pipe.hsetnx(self._k_note(note), peer["peer"], self._entry(peer))
                pipe.sadd(self._k_proc_notes(self.proc), note)
                if any(pipe.execute()[:-1]):
                    changed.append((note, self._read(note)))
        except self._redis_error as exc:
            log.warning("presence: restoring this process's members failed: %s", exc)
        if changed:
            log.info("presence: heartbeat had lapsed; listed this process's members again in %d notes", len(changed))
        return changed

    def close(self) -> None:
        """Remove this process's members and mark it gone (clean shutdown)."""
        try:
            for note in self.r.smembers(self._k_proc_notes(self.proc)):
                key = self._k_note(note)
                mine = [pid for pid, v in self.r.hgetall(key).items() if json.loads(v).get("proc") == self.proc]
                if mine:
                    self.r.hdel(key, *mine)
            pipe = self.r.pipeline()
            pipe.delete(self._k_proc_notes(self.proc), self._k_proc(self.proc))
            pipe.srem(self._k_procs(), self.proc)
            pipe.execute()
        except self._redis_error as exc:
            log.warning("presence: cleanup on close failed: %s", exc)

    def info(self) -> dict[str, Any]:
        """For logs: which process this is."""
        return {"proc": self.proc, "prefix": self.prefix}
