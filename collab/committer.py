"""Group commit: one writer assigns seqs and commits many ops per transaction.

Handlers :meth:`Committer.enqueue` an :class:`~collab.model.OpRequest` with a
handle and either wait on it (:meth:`Committer.submit`) or leave it to answer
later (the namespace's deferred acks). A single background task drains whatever
has queued up, hands the batch to the store (in a real thread, one
transaction), and only then sets each handle (a waiter wakes up, a deferred ack
is sent), so an op is never acknowledged before it is committed. Requests are taken in
FIFO order, so one connection's ops keep the order in which it sent them.

After each committed batch the ``on_commit`` callback (the namespace's
broadcaster) runs in the committer's task, in seq order. It must not submit to
the committer or take a lock that a submitter holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .errors import CollabError, InternalError, StoreUnavailable
from .model import MemberChange, OpRequest
from .runtime import Runtime
from .store.base import Store

log = logging.getLogger("collab.committer")

_STOP = object()


class Committer:
    """The single writer of one store in one process."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        on_commit: Callable[[Sequence[OpRequest]], None] | None = None,
        max_batch: int = 512,
        timeout: float = 15.0,
        metrics: Any = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.on_commit = on_commit
        self.max_batch = max_batch
        self.timeout = timeout
        self.metrics = metrics
        self._queue = runtime.queue()
        #: Seconds between two runs of ``store.maintain``.
        self.maintain_interval = 1.0
        self._task: Any = None
        self._closed = False
        #: How many transactions and ops went through (for metrics and benchmarks).
        self.batches = 0
        self.ops = 0
        #: Requests queued and not yet settled (committed or refused, and broadcast).
        self._unsettled = 0
        self._count_lock = threading.Lock()  # handlers are threads in the threading mode

    def start(self) -> None:
        """Start the writer task and the store's housekeeping (idempotent)."""
        if self._task is None:
            self._task = self.runtime.spawn(self._run)
            self.runtime.spawn(self._maintain)

    def _maintain(self) -> None:
        """Run ``store.maintain`` in a worker thread about once a second until closed."""
        while not self._closed:
            self.runtime.sleep(self.maintain_interval)
            if self._closed:
                return
            try:
                self.runtime.blocking(self.store.maintain)
            except Exception:  # housekeeping must never stop: log and try again next time
                log.exception("committer: store housekeeping failed")

    def submit(self, req: OpRequest) -> OpRequest:
        """Queue ``req`` and wait until it is committed or refused (see :meth:`wait`)."""
        return self.wait(req, self.enqueue(req))

    def enqueue(self, req: OpRequest, done: Any = None) -> Any:
        """Queue ``req`` without waiting; returns the handle :meth:`wait` takes.

        ``done`` may be any object with ``set()``, called (in the committer's
        task) once ``req`` is committed or refused and its batch broadcast;
        by default a new event of the async mode. Never yields to other tasks,
        so requests queued one after the other from one connection are
        committed in that order.
        """
        if done is None:
            done = self.runtime.event()
        if self._closed:
            req.error = StoreUnavailable("the server is shutting down; retry on another connection")
            done.set()
            return done
        self.start()
        with self._count_lock:
            self._unsettled += 1
        self._queue.put((req, done))
        return done

    def barrier(self) -> Any:
        """A handle set once every request queued before this call is settled and broadcast.

        A join waits on it before it reads, so that an op this process took
        from a connection that then died is in the new connection's catch-up:
        otherwise its client, not seeing it, would send a ``move`` again and
        see it applied twice. ``None`` when nothing is queued (nothing to wait for).
        """
        if not self._unsettled or self._closed:
            return None
        done = self.runtime.event()
        self._queue.put((None, done))
        return done

    def track(self, proc: str, note: str, present: bool) -> MemberChange:
        """Queue a record that process ``proc`` has members in ``note`` (``present``), or none.

        Records are written in the order they were queued, before the ops
        queued with them; its ``done`` is set once it is written, or refused
        (``error``). Like :meth:`barrier`, it is set only after every request
        queued before it is settled.
        """
        change = MemberChange(proc, note, present, self.runtime.event())
        if self._closed:
            change.error = StoreUnavailable("the server is shutting down; retry on another connection")
            change.done.set()
            return change
        self.start()
        self._queue.put((change, change.done))
        return change

    def wait(self, req: OpRequest, done: Any) -> OpRequest:
        """Wait until ``req`` is committed or refused; then ``req.op`` or ``req.error`` is set.

        A store that does not answer within ``timeout`` seconds gives
        ``internal``: the op may still commit later, which an idempotent
        stroke re-send then reports with its original seq.
        """
        if not done.wait(self.timeout):
            req.error = self.timed_out()
        return req

    def timed_out(self) -> StoreUnavailable:
        """The error of an op the store has not settled within ``timeout`` seconds."""
        return StoreUnavailable(f"the store did not answer within {self.timeout:g}s; the op may not be stored, retry")

    def _run(self) -> None:
        queue_empty = self.runtime.queue_empty
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            items = [first]
            stop = False
            while len(items) < self.max_batch:
                try:
                    nxt = self._queue.get(block=False)
                except queue_empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                items.append(nxt)
            batch = [req for req, _ in items if isinstance(req, OpRequest)]  # else a barrier (None) or a record
            changes = [c for c, _ in items if isinstance(c, MemberChange)]
            if changes:
                self._record(changes)
            if batch:
                self._commit(batch)
            with self._count_lock:
                self._unsettled -= len(batch)
            for _, done in items:
                done.set()
            if stop:
                return

    def _record(self, changes: list[MemberChange]) -> None:
        """Write member records, the last one of each (process, note) winning, in one call per process."""
        final: dict[str, dict[str, bool]] = {}
        for change in changes:
            final.setdefault(change.proc, {})[change.note] = change.present
        for proc, notes in final.items():
            entered = [note for note, present in notes.items() if present]
            left = [note for note, present in notes.items() if not present]
            error: CollabError | None = None
            try:
                self.runtime.blocking(self.store.update_members, proc, entered, left)
            except CollabError as exc:
                log.warning("committer: recording where process %s has members failed: %s", proc, exc)
                error = exc
            except Exception:  # a bug in the store: refuse the joins, keep serving
                log.exception("committer: recording where process %s has members failed", proc)
                error = InternalError("the server failed to record the join; retry")
            if error is not None:
                for change in changes:
                    if change.proc == proc:
                        change.error = error

    def _commit(self, batch: list[OpRequest]) -> None:
        """Store one batch in one transaction, then broadcast it."""
        started = time.perf_counter()
        try:
            self.runtime.blocking(self.store.apply, batch)
        except Exception:  # a bug in the store: refuse the batch, keep serving
            log.exception("committer: batch of %d failed", len(batch))
            for req in batch:
                req.op = None
                req.error = InternalError("the server failed to store the op; it was not applied")
        self.batches += 1
        self.ops += len(batch)
        if self.metrics is not None:
            self.metrics.commit_seconds.observe(time.perf_counter() - started)
            self.metrics.batch.observe(len(batch))
        if self.on_commit is not None:
            try:
                self.on_commit(batch)
            except Exception:
                log.exception("committer: broadcasting a batch failed")

    def close(self) -> None:
        """Finish what is queued, then stop the writer task."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._queue.put(_STOP)
            join = getattr(self._task, "join", None)
            if join is not None:
                try:
                    join(self.timeout)
                except TypeError:  # eventlet's GreenThread.wait has no timeout
                    join()
